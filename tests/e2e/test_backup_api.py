"""The backup endpoints over real HTTP: enabled and disabled, backupPact
parsing, hostile ids, ids across restarts, jobs interrupted by an earlier
process, and one node per backup directory.  (Backups of a producing node
are in test_backup_node.py.)"""
import os
import re
import shutil
import tempfile
import time

import cairnlib

STATES = ("backup-done", "backup-in-progress", "backup-failed")
PREFIX = "/chainweb/0.0/development"


class BackupApiTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-backup-")
        self.backups = os.path.join(self.tmp, "backups")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, extra=(), database=None):
        args = ["--enable-backup-api", "--backup-directory", self.backups, "--block-rate", "0"]
        return cairnlib.Node(args + list(extra),
                             database_directory=database or os.path.join(self.tmp, "db"))

    def make_backup(self, node, query=""):
        r = node.request("POST", "/make-backup" + query)
        self.assertEqual(r.status, 200, r)
        self.assertCairnHeaders(r)
        self.assertTrue(r.header("content-type").startswith("text/plain"), r)
        self.assertRegex(r.text, r"^\d{13}$")
        return r.text

    def final_state(self, node, backup_id):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = node.get("/check-backup/" + backup_id)
            self.assertEqual(r.status, 200, r)
            self.assertIn(r.text, STATES)
            if r.text != "backup-in-progress":
                return r.text
            time.sleep(0.02)
        self.fail("backup %s still in progress after 60 s" % backup_id)

    def test_disabled_api_answers_404(self):
        with cairnlib.Node(["--backup-directory", self.backups, "--block-rate", "0"]) as node:
            for path in ("/make-backup", PREFIX + "/make-backup"):
                r = node.request("POST", path)
                self.assertEqual(r.status, 404, r)
                self.assertCairnHeaders(r)
            for path in ("/check-backup/1648665437000", PREFIX + "/check-backup/1648665437000"):
                self.assertEqual(node.get(path).status, 404)

    def test_make_and_check_at_both_paths(self):
        with self.node() as node:
            first = self.make_backup(node)
            self.final_state(node, first)
            second = node.request("POST", PREFIX + "/make-backup?backupPact=false").text
            self.assertGreater(int(second), int(first))
            self.final_state(node, second)
            r = node.get(PREFIX + "/check-backup/" + first)
            self.assertEqual(r.status, 200)
            self.assertCairnHeaders(r)
            self.assertIn(r.text, ("backup-done", "backup-failed"))
            self.assertEqual(node.get("/make-backup").status, 405)
            self.assertEqual(node.request("POST", "/check-backup/" + first).status, 405)

    def test_backup_pact_values(self):
        with self.node() as node:
            for query in ("", "?backupPact", "?backupPact=true", "?backupPact=1", "?backupPact=false",
                          "?backupPact=0"):
                self.final_state(node, self.make_backup(node, query))
            for query in ("?backupPact=", "?backupPact=yes", "?backupPact=TRUE", "?backupPact=2",
                          "?backupPact=%00"):
                r = node.request("POST", "/make-backup" + query)
                self.assertEqual(r.status, 400, (query, r))
                self.assertCairnHeaders(r)
                self.assertTrue(r.text.endswith("\n") and r.text.count("\n") == 1, r)

    def test_hostile_ids_reach_nothing_outside(self):
        sentinel = os.path.join(self.tmp, "etc")
        os.makedirs(sentinel)
        with open(os.path.join(sentinel, "status"), "w") as f:
            f.write("backup-done\n")
        with self.node() as node:
            os.symlink(sentinel, os.path.join(self.backups, "evil"))
            not_found = ["..%2F..%2Fetc", "..%2Fetc", "%2Fetc%2Fpasswd", "%2E%2E%2Fetc", "..", "evil",
                         "7" * 65, "caf%C3%A9", "%E2%80%AE1648665437000", "a%2Fb", "nonexistent"]
            for backup_id in not_found:
                for prefix in ("", PREFIX):
                    r = node.get(prefix + "/check-backup/" + backup_id)
                    self.assertEqual(r.status, 404, (backup_id, r))
                    self.assertEqual(r.text, "no such backup\n")
                    self.assertCairnHeaders(r)
            # Rejected by the request-target rules before any handler runs.
            for raw in (b"GET /check-backup/%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                        b"GET /check-backup/caf\xc3\xa9 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"):
                self.assertEqual(node.raw_request(raw).status, 400, raw)
            self.assertEqual(node.get("/check-backup/" + "7" * 64).status, 404)
            self.assertEqual(node.get("/check-backup/").status, 404)
            self.assertEqual(node.get("/check-backup/a/b").status, 404)
        with open(os.path.join(sentinel, "status")) as f:
            self.assertEqual(f.read(), "backup-done\n")

    def test_ids_increase_across_restarts(self):
        with self.node() as node:
            first = self.make_backup(node)
            self.final_state(node, first)
        with self.node() as node:
            second = self.make_backup(node)
            self.assertGreater(int(second), int(first))
            self.assertIn(self.final_state(node, first), ("backup-done", "backup-failed"))

    def test_interrupted_job_is_failed_at_start(self):
        stale = os.path.join(self.backups, "1700000000000")
        os.makedirs(os.path.join(stale, "0", "rocksDb"))
        with open(os.path.join(stale, "status"), "w") as f:
            f.write("backup-in-progress\n")
        with self.node() as node:
            r = node.get("/check-backup/1700000000000")
            self.assertEqual((r.status, r.text), (200, "backup-failed"))
            self.assertTrue(node.wait_for_log(r"WARN  backup: backup 1700000000000 was interrupted", 5))
        with open(os.path.join(stale, "failure")) as f:
            self.assertEqual(f.read(), "interrupted\n")
        self.assertFalse(os.path.exists(os.path.join(stale, "0")))

    def test_one_node_per_backup_directory(self):
        with self.node() as node:
            second = self.node(database=os.path.join(self.tmp, "db2"))
            second.wait_listening = False
            with second:
                self.assertEqual(second.wait(30), 1)
                self.assertRegex(second.log, re.escape(self.backups) + r" is in use")
            self.assertEqual(node.get("/health-check").status, 200)

    def test_exposed_backup_api_is_warned_about(self):
        with self.node(extra=["--service-interface", "0.0.0.0"]) as node:
            self.assertIsNotNone(node.wait_for_log(r"WARN  http: the backup API \(make-backup, check-backup, no tokens\) "
                                                   r"is reachable on 0\.0\.0\.0"), node.log)
        with self.node() as node:
            self.assertNotIn("is reachable on", node.log)

    def test_removed_backup_directory_is_created_again_and_stays_locked(self):
        with self.node() as node:
            first = node.request("POST", "/make-backup").text
            self.wait_done(node, first)
            shutil.rmtree(self.backups)
            self.assertTrue(node.wait_for_log(r"WARN  backup: backup directory .* was removed or replaced; "
                                              r"creating it again and taking its lock", 10), node.log)
            second = self.node(database=os.path.join(self.tmp, "db2"))
            second.wait_listening = False
            with second:
                self.assertEqual(second.wait(30), 1)
                self.assertRegex(second.log, re.escape(self.backups) + r" is in use")
            r = node.request("POST", "/make-backup")
            self.assertEqual(r.status, 200, r)
            self.wait_done(node, r.text)
            self.assertEqual(node.get("/check-backup/" + first).status, 404)

    def wait_done(self, node, backup_id):
        deadline = time.monotonic() + 60
        while node.get("/check-backup/" + backup_id).text == "backup-in-progress" and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(node.get("/check-backup/" + backup_id).text, "backup-done")


if __name__ == "__main__":
    cairnlib.main()
