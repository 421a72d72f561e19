"""cairn backup list and delete: list shows every backup with its time,
status, size, Pact flag and cut height (text and JSON) and nothing that is
not a backup; delete removes one finished backup, refuses a job in progress
while the node that owns the directory runs, removes a crashed job's
leftovers once no node holds the directory, and validates ids."""
import json
import os
import re
import shutil
import tempfile

import cairnlib


class BackupCliTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-backup-cli-")
        self.backups = os.path.join(self.tmp, "backups")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def listing(self):
        r = cairnlib.backup_cli(["list", "--backup-directory", self.backups, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def delete(self, backup_id):
        return cairnlib.backup_cli(["delete", "--backup-directory", self.backups, backup_id])

    def fake_job(self, name, status):
        os.makedirs(os.path.join(self.backups, name))
        with open(os.path.join(self.backups, name, "status"), "w") as f:
            f.write(status + "\n")

    def test_list_and_delete(self):
        node = cairnlib.Node(["--enable-backup-api", "--backup-directory", self.backups, "--block-rate", "max"],
                             database_directory=os.path.join(self.tmp, "db"))
        with node:
            cairnlib.wait_cut_height(node, 100)
            with_pact, _ = cairnlib.make_backup(node, pact=True)
            without_pact, _ = cairnlib.make_backup(node, pact=False)
            os.makedirs(os.path.join(self.backups, "not-a-backup"))
            os.makedirs(os.path.join(self.backups, "bad name!"))
            # A job in progress in the directory of a running node is running.
            self.fake_job("99999999999999", "backup-in-progress")
            entries = self.listing()
            self.assertEqual([e["id"] for e in entries], [with_pact, without_pact, "99999999999999"])
            running = entries[2]
            self.assertTrue(running["running"])
            r = self.delete("99999999999999")
            self.assertEqual(r.returncode, 1)
            self.assertIn("is running", r.stderr)
            node.stop()
        first, second = entries[0], entries[1]
        self.assertEqual(first["status"], "backup-done")
        self.assertTrue(first["pactIncluded"])
        self.assertFalse(second["pactIncluded"])
        for entry in (first, second):
            with open(os.path.join(self.backups, entry["id"], "manifest.json")) as f:
                files = json.load(f)["files"]
            self.assertEqual(entry["bytes"], sum(e["size"] for e in files))
            self.assertEqual(any("/sqlite/" in e["path"] for e in files), entry["pactIncluded"])
        self.assertGreater(first["cutHeight"], 100)
        self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        r = cairnlib.backup_cli(["list", "--backup-directory", self.backups])
        self.assertEqual(r.returncode, 0)
        line = [l for l in r.stdout.splitlines() if l.startswith(with_pact)][0]
        self.assertRegex(line, r"^%s +\S+Z +backup-done +[\d.]+ MB +pact +%d$" % (with_pact, first["cutHeight"]))
        # The node is gone: its job is a crashed job's leftovers, no longer running.
        self.assertFalse(self.listing()[2]["running"])
        self.assertEqual(self.delete("99999999999999").returncode, 0)
        r = self.delete(with_pact)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["id"] for e in self.listing()], [without_pact])
        self.assertFalse([n for n in os.listdir(self.backups) if n.startswith(".deleting")])
        self.assertTrue(os.path.isdir(os.path.join(self.backups, "not-a-backup")))
        r = self.delete(with_pact)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no backup", r.stderr)
        for bad in ("../db", "a/b", "bad name!"):
            r = self.delete(bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("is not a backup id", r.stderr)
        self.assertTrue(os.path.isdir(os.path.join(self.tmp, "db")))

    def test_usage(self):
        # without --backup-directory, list asks a running node (test_backup_client.py)
        self.assertEqual(cairnlib.backup_cli(["list", "--backup-directory", self.backups, "extra"]).returncode, 2)
        self.assertEqual(cairnlib.backup_cli(["list", "--backup-directory"]).returncode, 2)
        self.assertEqual(cairnlib.backup_cli(["delete", "--backup-directory", self.backups]).returncode, 2)
        r = cairnlib.backup_cli(["list", "--backup-directory", os.path.join(self.tmp, "none")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open backup directory", r.stderr)
        r = cairnlib.backup_cli(["list", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(re.search(r"cairn backup list --backup-directory DIR", r.stdout))


if __name__ == "__main__":
    cairnlib.main()
