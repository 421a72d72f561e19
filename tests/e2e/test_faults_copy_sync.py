"""A backup copy syncs every chunk it writes (cairn_fs_sync_written: a
chunk is 4 MB, or what backup.rateLimit lets through at a time).  One
failing fdatasync among them, deterministically: the job fails naming the
copy and the errno, its data is removed, and the next backup is done and
verifies.

The node runs with a low backup.rateLimit so that its small Pact files are
copied in several chunks; the fault is aimed at cairn_fs_sync_written, so
only those syncs fail, not the final fsync of a copy or SQLite's own."""
import errno
import os
import unittest

import faultcase
from faultlib import Fault

RATE = 524288  # bytes per second: chunks of 64 KB


class CopySyncFaultTest(faultcase.FaultTestCase):
    TMP_PREFIX = "cairn-e2e-fault-copy-sync-"
    NODE_ARGS = ("--backup-rate-limit", str(RATE))

    def test_a_failed_chunk_sync_fails_the_job(self):
        c = self.campaign
        c.wait_idle()
        fault = Fault("fsync", "posix/io/sync/fdatasync", errno.EIO, 1, "cairn_fs_sync_written")
        backup_id, state = self.backup_with(fault)
        self.assertEqual(state, "backup-failed", c.reason_of(backup_id))
        reason = c.reason_of(backup_id)
        self.assertRegex(reason, r"fsync %s/0/sqlite/pact-v1-chain-\d+\.sqlite\.partial: %s"
                         % (c.path(backup_id), os.strerror(errno.EIO)))
        self.assertEqual(sorted(os.listdir(c.path(backup_id))), ["failure", "job.json", "status"])
        c.verify(c.done_backup(pact=True))


if __name__ == "__main__":
    unittest.main()
