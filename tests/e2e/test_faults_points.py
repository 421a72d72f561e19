"""Faults at cairn's own failure points (src/util/fault.h): the calls
libfiu 1.1's POSIX preload does not wrap (mkdir, mkdirat, openat,
renameat, unlinkat, rmdir, copy_file_range, syncfs), each failed once,
deterministically, and the operation's promise under faults
(docs/backups.md, "What is guaranteed under faults") checked:

- mkdirat of a new job's directory: make-backup answers 500 naming the
  directory and the errno, nothing is left behind, the next backup works;
- mkdir of a job's 0/: the job fails with that reason, its data removed;
- copy_file_range during a Pact copy: the job fails naming the file and
  the errno, its data removed;
- syncfs in a restore: exit 1 with the reason, nothing that looks
  complete left, a second restore succeeds;
- renameat, unlinkat and rmdir in `cairn backup delete`: an error naming
  the file; the backup still listed and verifiable, or finished by the
  next delete;
- openat of a backup's status in `cairn backup list`: an error naming it;
- openat of a backup's directory for the archive link: 500 naming it and
  the errno, not 404 "no backup" (it said so before);
- rmdir of a fetched backup's 0/sqlite (a backup without Pact) in a
  restore from a remote: exit 1 naming it and the errno (the failure was
  ignored before, and the fetched copy then failed its verify with
  "0/sqlite: not listed in the manifest").

Each test asserts on the errno's text, so it fails when the point is
gone or the error is lost on the way.  Needs a build with
CAIRN_FAULT_POINTS (the test build, build-test/)."""
import errno
import os
import shutil
import unittest

import faultcase
import faultops
import s3lib
from faultlib import Fault

ENOSPC, EDQUOT, EIO, EBUSY = (os.strerror(e) for e in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EBUSY))


class FaultPointTest(faultcase.FaultTestCase):
    TMP_PREFIX = "cairn-e2e-fault-points-"
    NEEDS_FAULT_POINTS = True

    def entries(self):
        return sorted(os.listdir(self.campaign.backups))

    def failed_job(self, fault, query):
        """Starts a backup with `fault` armed; returns its id and reason once it failed."""
        c = self.campaign
        c.wait_idle()
        backup_id, state = self.backup_with(fault, query)
        self.assertEqual(state, "backup-failed", c.reason_of(backup_id))
        # the data is removed: what is left says why it failed
        self.assertEqual(sorted(os.listdir(c.path(backup_id))), ["failure", "job.json", "status"])
        return backup_id, c.reason_of(backup_id)

    def test_mkdirat_of_a_job_directory(self):
        c = self.campaign
        c.wait_idle()
        before = self.entries()
        fault = Fault("mkdir", "cairn/posix/mkdirat", errno.ENOSPC, 1, "cairn_backup_start")
        self.node.arm(fault)
        try:
            r = c.request("POST", "/make-backup")
        finally:
            self.node.disarm(fault)
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.text, r"cannot create backup '%s/\d+': %s" % (c.backups, ENOSPC))
        self.assertEqual(self.entries(), before)  # nothing left behind
        c.done_backup(pact=False)

    def test_mkdir_of_a_job_data_directory(self):
        backup_id, reason = self.failed_job(
            Fault("mkdir", "cairn/posix/mkdir", errno.EDQUOT, 1, "cairn_backup__job_run"), "")
        self.assertIn("cannot create directory '%s/0': %s" % (self.campaign.path(backup_id), EDQUOT), reason)
        self.campaign.done_backup(pact=True)

    def test_copy_file_range_in_a_pact_copy(self):
        _, reason = self.failed_job(
            Fault("copy_file_range", "cairn/posix/copy_file_range", errno.EIO, 1, "cairn_pactdb_snapshot_copy"),
            "?backupPact")
        self.assertRegex(reason, r"copy '?/[^ ]+pact-v1-chain-\d+\.sqlite[^ ]*: %s" % EIO)
        self.campaign.done_backup(pact=True)

    def test_syncfs_in_a_restore(self):
        c = self.campaign
        backup_id = c.newest_done(pact=True)
        target = os.path.join(self.tmp, "restored-syncfs")
        args = ["backup", "restore", c.path(backup_id), "--database-directory", target, "--no-verify"]
        r = self.cli(args, Fault("syncfs", "cairn/posix/syncfs", errno.EIO, 1))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("syncfs '%s.restoring': %s" % (target, EIO), r.stderr)
        self.assertFalse(os.path.exists(target))
        self.assertEqual([n for n in os.listdir(self.tmp) if n.startswith("restored-syncfs")], [])
        again = self.cli(args)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        faultops.Restore().check_restored(c, backup_id, target, "syncfs")
        shutil.rmtree(target)

    def delete(self, backup_id, fault=None):
        return self.cli(["backup", "delete", "--backup-directory", self.campaign.backups, backup_id], fault)

    def failed_delete(self, call, err):
        """Deletes a fresh backup with `call` failing once with `err`: the
        delete exits 1.  Returns the backup's id and the error output."""
        backup_id = self.campaign.done_backup(pact=False)
        r = self.delete(backup_id, Fault(call, "cairn/posix/" + call, err, 1))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        return backup_id, r.stderr

    def next_delete_finishes(self):
        """The next delete removes what a failed one left aside."""
        self.assertEqual(self.delete(self.campaign.done_backup(pact=False)).returncode, 0)
        self.assertEqual([n for n in self.entries() if n.startswith(".deleting-")], [])

    def test_renameat_in_a_delete(self):
        c = self.campaign
        backup_id, stderr = self.failed_delete("renameat", errno.EIO)
        self.assertIn("cannot remove backup '%s/%s': %s" % (c.backups, backup_id, EIO), stderr)
        listed = {b["id"]: b["status"] for b in c.check_directory()}  # verifies what reads done
        self.assertEqual(listed.get(backup_id), "backup-done")
        self.assertEqual(self.delete(backup_id).returncode, 0)
        self.assertNotIn(backup_id, self.entries())

    def test_unlinkat_in_a_delete(self):
        c = self.campaign
        backup_id, stderr = self.failed_delete("unlinkat", errno.EBUSY)
        self.assertIn("cannot remove '%s/.failed-%s': %s" % (c.backups, backup_id, EBUSY), stderr)
        # renamed aside: no longer listed, and the next delete removes what is left
        self.assertNotIn(backup_id, [b["id"] for b in c.check_directory()])
        self.assertIn(".deleting-" + backup_id, self.entries())
        self.next_delete_finishes()

    def test_rmdir_in_a_tree_removal(self):
        c = self.campaign
        backup_id, stderr = self.failed_delete("rmdir", errno.EBUSY)
        self.assertRegex(stderr, r"cannot remove directory '%s/\.deleting-%s/[^']+': %s"
                         % (c.backups, backup_id, EBUSY))
        self.assertNotIn(backup_id, [b["id"] for b in c.check_directory()])
        self.next_delete_finishes()

    def test_openat_of_a_status_in_a_list(self):
        c = self.campaign
        c.done_backup(pact=False)
        r = self.cli(["backup", "list", "--backup-directory", c.backups, "--json"],
                     Fault("openat", "cairn/posix/openat", errno.EIO, 1, "cairn_backup__read_status_at"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # an error, never a listing without that backup
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr, r"'%s': cannot open backup '\d+': %s" % (c.backups, EIO))

    def test_openat_of_a_backup_for_its_archive(self):
        c = self.campaign
        backup_id = c.done_backup(pact=False)
        # the first openat of the archive's opening: the backup's directory
        got = self.get_with(Fault("openat", "cairn/posix/openat", errno.EIO, 1, "cairn_backup_archive_open"),
                            c.archive_link(backup_id))
        self.assertEqual(got.status, 500, got)
        self.assertIn("cannot open '%s/%s': %s" % (c.backups, backup_id, EIO), got.text)

    def test_rmdir_in_a_fetch_from_a_remote(self):
        c = self.campaign
        backup_id = c.done_backup(pact=False)
        s3 = s3lib.S3Server().start()
        self.addCleanup(s3.close)
        os.environ.update(s3.env())
        config = s3.write_config(self.tmp, c.backups, "points")
        up = self.cli(["backup", "upload", backup_id, "--config-file", config])
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        target = os.path.join(self.tmp, "restored-remote")
        args = ["backup", "restore", s3.url("points/%s" % backup_id), "--config-file", config,
                "--database-directory", target]
        r = self.cli(args, Fault("rmdir", "cairn/posix/rmdir", errno.EIO, 1))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"cannot remove directory '%s\.fetching/0/sqlite': %s" % (target, EIO))
        self.assertFalse(os.path.exists(target))
        again = self.cli(args)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        faultops.Restore().check_restored(c, backup_id, target, "rmdir")
        shutil.rmtree(target)


if __name__ == "__main__":
    unittest.main(verbosity=2)
