"""Backups of a producing node, end to end: a backup with Pact is one cut
(the checkpoint, every Pact copy and a node started from the backup all
agree with the manifest), concurrent make-backup requests share one job,
a full backup file system fails the job while the node keeps producing,
and a SIGKILL during a Pact backup leaves it failed, never in progress,
with the live stores intact."""
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import cairnlib

STATES = ("backup-done", "backup-in-progress", "backup-failed")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BackupNodeTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-backup-node-")
        self.db = os.path.join(self.tmp, "db")
        self.backups = os.path.join(self.tmp, "backups")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, rate="max", database=None, backups=None, extra=()):
        return cairnlib.Node(["--enable-backup-api", "--backup-directory", backups or self.backups,
                              "--block-rate", rate] + list(extra),
                             database_directory=database or self.db)

    def cut(self, node):
        r = node.get("/cut")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_cut_height(self, node, height, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cut = self.cut(node)
            if cut["height"] >= height:
                return cut
            time.sleep(0.05)
        self.fail("the cut did not reach height %d" % height)

    def make_backup(self, node, query="?backupPact"):
        r = node.request("POST", "/make-backup" + query)
        self.assertEqual(r.status, 200, r)
        return r.text

    def state(self, node, backup_id):
        r = node.get("/check-backup/" + backup_id)
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.text, STATES)
        return r.text

    def final_state(self, node, backup_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state(node, backup_id)
            if state != "backup-in-progress":
                return state
            time.sleep(0.01)
        self.fail("backup %s still in progress after %d s" % (backup_id, timeout))

    def manifest(self, backup_id):
        with open(os.path.join(self.backups, backup_id, "manifest.json")) as f:
            return json.load(f)

    def expect_files_as_listed(self, backup_id, manifest):
        root = os.path.join(self.backups, backup_id)
        for entry in manifest["files"]:
            path = os.path.join(root, entry["path"])
            self.assertEqual(os.path.getsize(path), entry["size"], entry)
            if entry.get("linked"):
                self.assertTrue(path.endswith(".sst"), entry)
                continue
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), entry["sha256"], entry)

    def expect_pact_at_cut(self, database, hashes):
        """Every Pact file is intact and its last block is the cut's block."""
        for chain, block in hashes.items():
            path = os.path.join(database, "0", "sqlite", "pact-v1-chain-%s.sqlite" % chain)
            conn = sqlite3.connect(path)
            try:
                self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                height, block_hash = conn.execute(
                    "SELECT blockheight, hash FROM BlockHistory ORDER BY blockheight DESC LIMIT 1").fetchone()
            finally:
                conn.close()
            self.assertEqual(height, block["height"], chain)
            self.assertEqual(bytes(block_hash), b64url_decode(block["hash"]), chain)

    def test_backup_with_pact_is_one_cut_a_node_restores(self):
        with self.node() as node:
            self.wait_cut_height(node, 200)
            backup_id = self.make_backup(node)
            self.assertEqual(self.final_state(node, backup_id), "backup-done")
            manifest = self.manifest(backup_id)
            # The node went on producing past the backup's cut.
            self.wait_cut_height(node, manifest["cut"]["height"] + 20)
            self.assertTrue(node.wait_for_log(r"backup %s: consistency point: .* 20 Pact files committed after the "
                                              r"commit lock: waited \d+\.\d ms" % backup_id, 1))
        self.assertTrue(manifest["pactIncluded"])
        self.assertEqual(manifest["id"], backup_id)
        self.expect_files_as_listed(backup_id, manifest)
        hashes = manifest["cut"]["hashes"]
        self.assertEqual(len(hashes), 20)
        copy = os.path.join(self.backups, backup_id)
        self.expect_pact_at_cut(copy, hashes)
        with self.node(rate="0", database=copy, backups=os.path.join(self.tmp, "backups2")) as restored:
            cut = self.cut(restored)
            self.assertEqual(cut["hashes"], hashes)
            self.assertEqual(cut["height"], manifest["cut"]["height"])
            self.assertEqual(restored.stop(), 0)
        self.expect_pact_at_cut(copy, hashes)

    def test_concurrent_requests_share_one_job(self):
        with self.node() as node:
            self.wait_cut_height(node, 200)
            for _ in range(10):
                first = self.make_backup(node)
                with concurrent.futures.ThreadPoolExecutor(16) as pool:
                    ids = list(pool.map(lambda _: self.make_backup(node), range(32)))
                if self.state(node, first) == "backup-in-progress":
                    # every request above was answered while the job ran
                    self.assertEqual(set(ids), {first})
                    self.final_state(node, first)
                    break
                self.final_state(node, ids[-1])
            else:
                self.fail("no backup lasted long enough to observe concurrent requests")

    def test_full_backup_file_system_fails_the_job_not_the_node(self):
        os.makedirs(self.backups)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "cairn-e2e", self.backups],
                                 capture_output=True)
        if mounted.returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root): %s" % mounted.stderr.decode().strip())
        try:
            with self.node() as node:
                self.wait_cut_height(node, 100)
                backup_id = self.make_backup(node)
                self.assertEqual(self.final_state(node, backup_id), "backup-failed")
                with open(os.path.join(self.backups, backup_id, "failure")) as f:
                    # the system's words, or SQLite's followed by the job's
                    self.assertRegex(f.read(), r"No space left on device|the backup file system is full")
                self.assertFalse(os.path.exists(os.path.join(self.backups, backup_id, "0")))
                self.assertTrue(node.wait_for_log(r"ERROR backup: backup %s failed: .*(No space left|is full)" % backup_id, 1))
                height = self.cut(node)["height"]
                self.wait_cut_height(node, height + 20)
                self.assertEqual(node.get("/health-check").status, 200)
                self.assertEqual(node.stop(), 0)
        finally:
            subprocess.run(["umount", self.backups], capture_output=True)

    def test_sigkill_during_pact_backup(self):
        interrupted = None
        for attempt in range(5):
            with self.node() as node:
                self.wait_cut_height(node, 300 * (attempt + 1))
                backup_id = self.make_backup(node)
                self.assertTrue(node.wait_for_log(r"backup %s: consistency point" % backup_id, 30), node.log)
                node.process.send_signal(signal.SIGKILL)
                node.wait()
            with self.node(rate="0") as node:
                state = self.state(node, backup_id)
                self.assertIn(state, ("backup-failed", "backup-done"))
                cut = self.cut(node)
                self.assertEqual(node.stop(), 0)
            if state == "backup-failed":
                interrupted = backup_id
                break
        self.assertIsNotNone(interrupted, "every job finished before the SIGKILL reached it")
        root = os.path.join(self.backups, interrupted)
        with open(os.path.join(root, "failure")) as f:
            self.assertEqual(f.read(), "interrupted\n")
        self.assertEqual(sorted(os.listdir(root)), ["failure", "job.json", "status"])
        with open(os.path.join(root, "job.json")) as f:
            record = json.load(f)
        self.assertEqual(record["state"], "failed")
        self.assertEqual(record["events"][-1]["type"], "backup_failed")
        self.assertEqual(record["errors"][-1]["type"], "interrupted")
        # The live stores are intact: the node reopened them at a cut, and
        # every Pact file agrees with it.
        self.expect_pact_at_cut(self.db, cut["hashes"])


if __name__ == "__main__":
    cairnlib.main()
