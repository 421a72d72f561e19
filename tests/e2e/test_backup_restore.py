"""cairn backup restore, end to end on a producing node: backups with and
without Pact restore into new directories where a node starts at exactly
the manifest's cut, with every chain's coin table equal to the source's
state at that cut (copied with Pact, rebuilt from the chain without); and
restores killed with SIGKILL at random points never leave a directory that
looks complete, and a rerun succeeds."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time

import cairnlib

KILLS = 12


class BackupRestoreTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cairn-e2e-backup-restore-")
        cls.backups = os.path.join(cls.tmp, "backups")
        cls.source = os.path.join(cls.tmp, "db")
        node = cairnlib.Node(["--enable-backup-api", "--backup-directory", cls.backups, "--block-rate", "max"],
                             database_directory=cls.source)
        with node:
            cairnlib.wait_cut_height(node, 300)
            cls.pact_id, pact_state = cairnlib.make_backup(node, pact=True)
            cairnlib.wait_cut_height(node, cls.manifest(cls.pact_id)["cut"]["height"] + 40)
            cls.chain_id, chain_state = cairnlib.make_backup(node, pact=False)
            cairnlib.wait_cut_height(node, cls.manifest(cls.chain_id)["cut"]["height"] + 40)
            assert node.stop() == 0
        assert pact_state == chain_state == "backup-done", (pact_state, chain_state)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def manifest(cls, backup_id):
        with open(os.path.join(cls.backups, backup_id, "manifest.json")) as f:
            return json.load(f)

    def restore(self, backup_id, target, *flags):
        return cairnlib.backup_cli(["restore", os.path.join(self.backups, backup_id), "--database-directory",
                                    target] + list(flags))

    def start_restored(self, target, manifest):
        """Starts a node on `target` without producing; checks its cut is the manifest's; stops it."""
        return self.assertStartsAtCut(target, manifest["cut"]["hashes"], manifest["cut"]["height"])

    def pact_file(self, directory, chain):
        return os.path.join(directory, "0", "sqlite", "pact-v1-chain-%s.sqlite" % chain)

    def test_round_trip_with_pact(self):
        manifest = self.manifest(self.pact_id)
        target = os.path.join(self.tmp, "restored-pact")
        r = self.restore(self.pact_id, target)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r": ok: .* headers validated")
        self.assertRegex(r.stdout, r"restored .* into %s: \d+ files" % target)
        self.start_restored(target, manifest)
        for chain in manifest["cut"]["hashes"]:
            source = cairnlib.coin_rows(self.pact_file(os.path.join(self.backups, self.pact_id), chain), in_backup=True)
            self.assertTrue(source, chain)
            self.assertEqual(cairnlib.coin_rows(self.pact_file(target, chain)), source, chain)
        # Copies, not links: no inode is shared with the backup.
        table = [e["path"] for e in manifest["files"] if e["path"].endswith(".sst")][0]
        self.assertEqual(os.stat(os.path.join(target, table)).st_nlink, 1)

    def test_round_trip_without_pact_rebuilds_the_state(self):
        manifest = self.manifest(self.chain_id)
        self.assertFalse(manifest["pactIncluded"])
        target = os.path.join(self.tmp, "restored-chain")
        r = self.restore(self.chain_id, target)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(target, "0", "sqlite")))
        log = self.start_restored(target, manifest)
        self.assertRegex(log, r"Pact state rebuilt from height 0 to \d+")
        for chain, block in manifest["cut"]["hashes"].items():
            source = self.pact_file(self.source, chain)
            expected = cairnlib.coin_rows(source, cairnlib.ending_txid(source, block["height"]))
            self.assertTrue(expected, chain)
            self.assertEqual(cairnlib.coin_rows(self.pact_file(target, chain)), expected, chain)

    def test_refusals(self):
        target = os.path.join(self.tmp, "occupied")
        os.makedirs(target)
        with open(os.path.join(target, "keep"), "w") as f:
            f.write("operator data")
        r = self.restore(self.chain_id, target, "--no-verify")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not empty", r.stderr)
        node = cairnlib.Node(["--block-rate", "0"], database_directory=os.path.join(self.tmp, "running"))
        with node:
            r = self.restore(self.chain_id, node.database_directory, "--force", "--no-verify")
            self.assertEqual(r.returncode, 1)
            self.assertIn("in use by a running node", r.stderr)
        r = self.restore(self.chain_id, target, "--force", "--no-verify")
        self.assertEqual(r.returncode, 0, r.stderr)
        moved = [n for n in os.listdir(self.tmp) if n.startswith("occupied.replaced-")]
        self.assertEqual(len(moved), 1)
        self.assertIn(moved[0], r.stdout)
        with open(os.path.join(self.tmp, moved[0], "keep")) as f:
            self.assertEqual(f.read(), "operator data")

    def looks_complete(self, target, manifest):
        return all(os.path.exists(os.path.join(target, e["path"])) and
                   os.path.getsize(os.path.join(target, e["path"])) == e["size"] for e in manifest["files"])

    def wait_for_staging(self, process, target, timeout=60.0):
        """Spins until `target`.restoring exists or `process` has exited."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(target + ".restoring") and process.poll() is None:
            self.assertLess(time.monotonic(), deadline, "the restore never created its staging directory")
            time.sleep(0.0002)

    def test_sigkill_during_restore(self):
        manifest = self.manifest(self.pact_id)
        backup = os.path.join(self.backups, self.pact_id)
        target = os.path.join(self.tmp, "killed")
        # Without verification the run is the copy itself, so the kills land in it.
        command = [cairnlib.cairn_bin(), "backup", "restore", backup, "--database-directory", target, "--force",
                   "--no-verify"]
        started = time.monotonic()
        r = subprocess.run(command, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        duration = time.monotonic() - started
        copying = float(re.search(r" in ([0-9.]+) s ", r.stdout).group(1))
        shutil.rmtree(target)
        rng = random.Random(int(os.environ.get("CAIRN_TEST_SEED", "6")))
        staged = 0
        for i in range(KILLS):
            # Even kills land anywhere in the run (start-up and publishing included) and leave their
            # leftovers to the next run; odd kills start clean and land in the copy: after the
            # staging directory appears, within the copy's measured length.
            if i % 2 == 1:
                shutil.rmtree(target + ".restoring", ignore_errors=True)
            p = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if i % 2 == 0:
                time.sleep(rng.uniform(0, duration * 1.1))
            else:
                self.wait_for_staging(p, target)
                time.sleep(rng.uniform(0, copying * 0.5))
            p.send_signal(signal.SIGKILL)
            p.wait()
            staged += i % 2 == 1 and os.path.exists(target + ".restoring")
            if os.path.exists(target):
                # Present only once complete: every file at its size, and a node starts on it.
                self.assertTrue(self.looks_complete(target, manifest), "kill %d left an incomplete %s" % (i, target))
                shutil.rmtree(target)
        for name in os.listdir(self.tmp):
            if name.startswith("killed.replaced-"):
                shutil.rmtree(os.path.join(self.tmp, name))
        r = subprocess.run(command[:-1], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(target + ".restoring"))
        self.start_restored(target, manifest)
        self.assertGreater(staged, 0, "no kill landed while a restore was copying (copy %.3f s of %.3f s)"
                           % (copying, duration))

if __name__ == "__main__":
    cairnlib.main()
