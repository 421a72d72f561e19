"""Scheduled backups and retention on a producing node: with a 1 s interval
and keepLast 3, the scheduler starts ordinary jobs (visible through
check-backup), and after several of them exactly the newest three
successful backups remain; a failed backup older than them is removed,
and entries that are not cairn backups are left alone."""
import json
import os
import re
import shutil
import tempfile
import time

import cairnlib


class BackupScheduleTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-backup-schedule-")
        self.backups = os.path.join(self.tmp, "backups")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_schedule_with_keep_last_three(self):
        old_failed = str(int(time.time() * 1000) - 3600 * 1000)
        os.makedirs(os.path.join(self.backups, old_failed))
        with open(os.path.join(self.backups, old_failed, "status"), "w") as f:
            f.write("backup-failed\n")
        os.makedirs(os.path.join(self.backups, "operator-notes"))
        node = cairnlib.Node(["--enable-backup-api", "--backup-directory", self.backups, "--block-rate", "20",
                              "--backup-schedule-interval", "1s", "--backup-schedule-pact",
                              "--backup-retention-keep-last", "3"], database_directory=os.path.join(self.tmp, "db"))
        with node:
            self.assertTrue(node.wait_for_log(r"scheduled backups every 1 s \(with Pact\)", 5))
            started = []
            deadline = time.monotonic() + 120
            while len(started) < 6 and time.monotonic() < deadline:
                started = re.findall(r"scheduled backup (\d+) started", node.log)
                time.sleep(0.2)
            self.assertGreaterEqual(len(started), 6, node.log)
            self.assertIn(node.get("/check-backup/" + started[-1]).text, ("backup-in-progress", "backup-done"))
            self.assertEqual(node.stop(), 0)
        started = re.findall(r"scheduled backup (\d+) started", node.log)
        self.assertRegex(node.log, r"retention: \d+ backups removed after backup \d+")
        entries = [e for e in self.list() if e["status"] == "backup-done"]
        kept = [e["id"] for e in entries]
        self.assertEqual(len(kept), 3, entries)
        self.assertTrue(set(kept) <= set(started), (kept, started))
        # The three kept are the newest successful ones: every older backup is gone.
        self.assertFalse([i for i in started if int(i) < int(kept[0]) and os.path.exists(os.path.join(self.backups, i))])
        self.assertTrue(all(e["pactIncluded"] for e in entries))
        self.assertFalse(os.path.exists(os.path.join(self.backups, old_failed)))
        self.assertTrue(os.path.isdir(os.path.join(self.backups, "operator-notes")))

    def list(self):
        r = cairnlib.backup_cli(["list", "--backup-directory", self.backups, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)


if __name__ == "__main__":
    cairnlib.main()
