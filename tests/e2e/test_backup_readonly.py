"""End-to-end: a backup whose directory turns read-only while it is written.

The test makes the job's directory read-only with a read-only bind mount of
it onto itself (which binds even root, unlike file modes; so it needs root
and is skipped otherwise).  The job fails, and its failure cannot be
written into its own directory:

- the failure is recorded beside it, so HTTP (check-backup), `cairn backup
  list` and `cairn backup delete` tell one story: failed, not running;
- a restart of the node logs the job it cannot clean up and starts;
- once the directory is writable again, `cairn backup delete` removes the
  backup and the record of its failure.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import cairnlib


class BackupReadOnlyTest(cairnlib.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("a read-only bind mount needs root")
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-readonly-")
        self.backups = os.path.join(self.tmp, "backups")
        self.mounted = None

    def tearDown(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.mounted], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self):
        return cairnlib.Node(["--enable-backup-api", "--backup-directory", self.backups, "--block-rate", "max",
                              "--backup-rate-limit", "200000", "--backup-parallelism", "1"],
                             database_directory=os.path.join(self.tmp, "db"))

    def make_read_only(self, path):
        r = subprocess.run(["mount", "--bind", path, path], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot bind-mount: " + r.stderr.strip())
        self.mounted = path
        for _ in range(50):  # the remount is refused while the mount is in use for a moment
            r = subprocess.run(["mount", "-o", "remount,ro,bind", path], capture_output=True, text=True)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        self.skipTest("cannot remount read-only: " + r.stderr.strip())

    def listing(self):
        r = cairnlib.backup_cli(["list", "--backup-directory", self.backups, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return {e["id"]: e for e in json.loads(r.stdout)}

    def test_failure_recorded_beside_a_read_only_job(self):
        node = self.node()
        with node:
            cairnlib.wait_cut_height(node, 200)
            backup_id = node.request("POST", "/make-backup?backupPact").text
            job = os.path.join(self.backups, backup_id)
            deadline = time.monotonic() + 30
            while not os.path.isdir(os.path.join(job, "0", "sqlite")) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.make_read_only(job)
            deadline = time.monotonic() + 60
            while node.get("/check-backup/" + backup_id).text == "backup-in-progress" and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(node.get("/check-backup/" + backup_id).text, "backup-failed", node.log)
            self.assertTrue(os.path.isfile(os.path.join(self.backups, ".failed-" + backup_id)), node.log)
            with open(os.path.join(job, "status")) as f:
                self.assertEqual(f.read(), "backup-in-progress\n")  # the directory could not be written
            entry = self.listing()[backup_id]
            self.assertEqual(entry["status"], "backup-failed")
            self.assertFalse(entry["running"])
            self.assertEqual(node.stop(), 0)
        with node:  # a restart starts, the job still reads failed
            self.assertEqual(node.get("/check-backup/" + backup_id).text, "backup-failed")
            self.assertEqual(node.stop(), 0)
        subprocess.run(["umount", self.mounted], check=True)
        self.mounted = None
        r = cairnlib.backup_cli(["delete", "--backup-directory", self.backups, backup_id])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(job))
        self.assertFalse(os.path.exists(os.path.join(self.backups, ".failed-" + backup_id)))


if __name__ == "__main__":
    cairnlib.main()
