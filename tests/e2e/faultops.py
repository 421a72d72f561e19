"""faultops: the operations of the fault campaign (faultlib.Campaign),
one class each, and their table OPERATIONS.

An operation has a `name`, the call `families` its faults come from
(faultlib.FAULTS), the `stacks` (functions of the node) to aim them at, or
none for a command run whole under fiu-run, and run(campaign, fault) ->
(surfaced, outcome); after every run it checks what docs/backups.md
promises of that operation under faults.  A new operation is one more
class and one more entry in OPERATIONS.
"""

import errno
import json
import os
import re
import shutil
import subprocess
import time

import faultlib
import s3lib

FILE_FAMILIES = ("open", "read", "write", "short-write", "short-read", "fsync", "rename", "unlink", "readdir",
                 "close")


class Backup:
    """make-backup (with or without Pact) while the node produces; faults
    aimed at the job: its launch, its thread (armed at once or a random
    moment into the job), the checkpoint, the Pact copies and roll-backs,
    the file copies and hashes, the manifest, status and record writes, and
    the removal of a failed job's data."""
    name = "backup"
    # no openat: the job opens its files with open(); openat reads the
    # statuses and records of other backups (retention, list, delete, the
    # archive), faulted in those operations
    families = FILE_FAMILIES + ("mkdir", "copy_file_range")
    # the functions of the job that make calls of each family (a fault
    # aimed at one that makes none is armed and never reached)
    reach = {
        "open": ("cairn_backup_start", "cairn_backup__job_run", "cairn_chaindb_checkpoint",
                 "cairn_pactdb_snapshot_copy", "cairn_pactdb_rollback_above", "cairn_backup__hash_file",
                 "cairn_backup__mark", "cairn_backup__record_save", "cairn_backup__job_enter"),
        "read": ("cairn_backup__job_run", "cairn_backup__hash_file", "cairn_pactdb_snapshot_copy",
                 "cairn_pactdb_rollback_above", "cairn_chaindb_checkpoint"),
        "write": ("cairn_backup_start", "cairn_backup__job_run", "cairn_chaindb_checkpoint",
                  "cairn_pactdb_snapshot_copy", "cairn_pactdb_rollback_above", "cairn_backup__manifest_write",
                  "cairn_backup__mark", "cairn_backup__record_save", "cairn_backup__job_enter"),
        "fsync": ("cairn_backup_start", "cairn_backup__job_run", "cairn_chaindb_checkpoint",
                  "cairn_pactdb_snapshot_copy", "cairn_pactdb_rollback_above", "cairn_backup__manifest_write",
                  "cairn_backup__mark", "cairn_backup__job_enter"),
        "rename": ("cairn_backup_start", "cairn_backup__job_run", "cairn_chaindb_checkpoint",
                   "cairn_backup__manifest_write", "cairn_backup__mark", "cairn_backup__record_save",
                   "cairn_backup__job_enter"),
        "unlink": ("cairn_backup__job_run", "cairn_pactdb_snapshot_copy", "cairn_chaindb_checkpoint"),
        "readdir": ("cairn_backup__list_files", "cairn_backup__job_run", "cairn_chaindb_checkpoint"),
        "close": ("cairn_backup__job_run", "cairn_backup__hash_file", "cairn_backup__mark",
                  "cairn_pactdb_snapshot_copy", "cairn_chaindb_checkpoint"),
        # the job's directory (mkdirat, at its launch) and 0/, 0/sqlite
        "mkdir": ("cairn_backup_start", "cairn_backup__job_run"),
        "copy_file_range": ("cairn_pactdb_snapshot_copy",),
    }
    reach["short-read"] = reach["read"]
    reach["short-write"] = reach["write"]
    stacks = tuple(sorted({f for v in reach.values() for f in v}))
    # armed a random moment after the job started (else: before the request)
    delayed = ("cairn_backup__job_run", "cairn_pactdb_snapshot_copy")
    # a second fault, in the removal of a failed job's data
    cleanup = (faultlib.Fault("unlink", "posix/io/dir/unlink", errno.EIO, 1, "cairn_backup__discard"),
               faultlib.Fault("readdir", "posix/io/dir/readdir", errno.EIO, 1, "cairn_backup__discard"),
               faultlib.Fault("rmdir", "cairn/posix/rmdir", errno.EIO, 1, "cairn_backup__discard"))

    request = "make-backup"

    def start(self, c, fault, arm):
        """Starts a job with `fault` armed (before the request, or a random
        moment after it for the faults aimed into the running job); returns
        (response, backup id or None)."""
        delay = fault.stack in self.delayed and c.rng.random() < 0.5
        if not delay:
            arm()
        r, backup_id = self.post(c)
        if delay:
            time.sleep(c.rng.random() * 0.06)
            arm()
        return r, backup_id

    def post(self, c):
        pact = c.rng.random() < 0.7
        r = c.request("POST", "/make-backup" + ("?backupPact" if pact else ""))
        return r, (r.text if r.status == 200 else None)

    def check(self, c, backup_id, fault):
        return c.check_job(backup_id, fault)

    def run(self, c, fault):
        c.wait_idle()

        def action(arm):
            r, backup_id = self.start(c, fault, arm)
            if backup_id is None:
                if fault.err is not None and not faultlib.names_file_and_errno(r.text):
                    c.fail("%s under %r: %r names no file and errno" % (self.request, fault, r))
                return True, "refused"
            result = self.check(c, backup_id, fault)
            c.wait_idle()
            return result
        return c.node_run(fault, action)


class ManageBackup(Backup):
    """The management API's POST; its record reads completed or failed, as
    check-backup reads done or failed."""
    name = "manage-backup"
    request = "management POST"

    def post(self, c):
        body = json.dumps({"state": "start_requested", "backupPact": c.rng.random() < 0.5})
        r = c.manage("POST", "/v2/%s/backups" % faultlib.DB, body)
        return r, (r.json()["id"] if r.status in (200, 201) else None)

    def check(self, c, backup_id, fault):
        surfaced, outcome = c.check_job(backup_id, fault)
        c.wait_idle()
        d = c.manage("GET", "/v2/%s/backups/%s" % (faultlib.DB, backup_id))
        if d.status != 200:
            c.fail("detail of %s: %r" % (backup_id, d))
        state = d.json()["state"]
        expected = ("completed", "completed_with_errors") if outcome == "done" else ("failed",)
        if state not in expected:
            c.fail("backup %s reads %s through check-backup but %s through the management API"
                   % (backup_id, outcome, state))
        return surfaced or state == "completed_with_errors", outcome


class LiveStores(Backup):
    """Faults in the live node's commit path while a backup runs: the
    storage guard restarts the node in place; it serves and produces again,
    and the backup is done and verifies, or failed cleanly."""
    name = "live-stores"
    families = ("write", "short-write")
    reach = {}
    stacks = ("cairn_commit_block",)
    delayed = ()
    cleanup = ()


class Retention:
    """Retention (keepLast) after a backup without Pact; faults aimed at
    cairn_backup_retention_apply: the backup stays complete (the job reads
    completed_with_errors when retention failed), the newest is never
    removed, and whatever lists as done verifies."""
    name = "retention"
    families = ("open", "read", "unlink", "readdir", "fsync", "rename", "close", "openat", "renameat", "unlinkat",
                "rmdir")
    stacks = ("cairn_backup_retention_apply",)

    def run(self, c, fault):
        c.wait_idle()

        def action(arm):
            arm()
            r = c.request("POST", "/make-backup")
            if r.status != 200:
                c.fail("make-backup: %r" % r)
            backup_id = r.text
            c.wait_idle()
            d = c.manage("GET", "/v2/%s/backups/%s" % (faultlib.DB, backup_id)).json()
            if d["state"] not in ("completed", "completed_with_errors"):
                c.fail("backup %s under %r in retention: %s" % (backup_id, fault, d["state"]))
            listed = c.check_directory()
            if not any(b["id"] == backup_id for b in listed):
                c.fail("retention removed the newest backup %s" % backup_id)
            if d["state"] == "completed_with_errors":
                errors = c.manage("GET", "/v2/%s/backups/%s/errors" % (faultlib.DB, backup_id))
                if errors.status == 200 and fault.err is not None and not faultlib.names_file_and_errno(errors.text):
                    c.fail("retention error under %r names no file and errno: %s" % (fault, errors.text))
                return True, "completed_with_errors"
            return False, "completed"
        return c.node_run(fault, action)


class Download:
    """The management API's archive link, streamed while faults hit the
    archive reader: a complete archive extracts and verifies; a stream cut
    short never extracts to a backup that reads done without verifying."""
    name = "download"
    families = ("open", "read", "short-read", "close", "readdir", "openat")
    stacks = ("cairn_backup_archive_open", "cairn_backup_archive_read")

    def run(self, c, fault):
        backup_id = c.newest_done()
        link = c.archive_link(backup_id)
        archive = c.scratch_path("archive") + ".tar.zst"

        def action(arm):
            arm()
            try:
                got = c.node.get(link, timeout=60)
                body, status, complete = got.body, got.status, True
            except Exception:  # noqa: BLE001 - a stream cut short: what this checks
                body, status, complete = b"", 200, False
            with open(archive, "wb") as f:
                f.write(body)
            out = c.scratch_path("extract")
            os.makedirs(out)
            x = subprocess.run(["tar", "--zstd", "-xf", archive, "-C", out], capture_output=True, text=True)
            extracted = os.path.join(out, backup_id)
            state = ""
            try:
                with open(os.path.join(extracted, "status")) as f:
                    state = f.read().strip()
            except OSError:
                pass
            ok = status == 200 and complete and x.returncode == 0
            if ok and state != "backup-done":
                c.fail("a complete download of %s under %r extracts to status %r" % (backup_id, fault, state))
            if state == "backup-done":
                v = c.cli(["backup", "verify", extracted], timeout=300)
                if v.returncode != 0:
                    c.fail("a download of %s under %r extracts to a done backup that does not verify:\n%s"
                           % (backup_id, fault, v.stdout))
            shutil.rmtree(out, ignore_errors=True)
            os.remove(archive)
            return (not ok), ("complete" if ok else "cut-short")
        return c.node_run(fault, action)


class Verify:
    """`cairn backup verify` under faults: ok only when every check ran;
    otherwise a problem or an error naming the file and the errno."""
    name = "verify"
    families = ("open", "read", "short-read", "readdir", "close", "openat")  # verify writes nothing
    stacks = ()

    def run(self, c, fault):
        backup_id = c.newest_done(pact=c.rng.random() < 0.5)
        r = c.cli(["backup", "verify", c.path(backup_id)] + (["--quick"] if c.rng.random() < 0.3 else []), fault)
        out = r.stdout + r.stderr
        if r.returncode == 0:
            if not re.search(r": ok: ", r.stdout):
                c.fail("verify exited 0 without ok under %r:\n%s" % (fault, out))
            return False, "ok"
        if fault.err is not None and not faultlib.names_file_and_errno(out):
            c.fail("verify under %r failed without naming a file and errno:\n%s" % (fault, out))
        # the backup itself is unharmed: verify writes nothing
        c.verified.pop(backup_id, None)
        c.verify(backup_id)
        return True, "failed"


class Restore:
    """`cairn backup restore` under faults into a fresh directory: it ends
    with the whole restore, or with an error and no directory that looks
    complete; a second run without faults then succeeds."""
    name = "restore"
    families = ("open", "read", "short-read", "write", "short-write", "fsync", "rename", "readdir", "unlink",
                "close", "mkdir", "copy_file_range", "syncfs", "openat", "rmdir")
    stacks = ()

    def run(self, c, fault):
        backup_id = c.newest_done(pact=c.rng.random() < 0.5)
        target = c.scratch_path("restored")
        flags = ["--no-verify"] if c.rng.random() < 0.6 else []
        r = c.cli(["backup", "restore", c.path(backup_id), "--database-directory", target] + flags, fault)
        out = r.stdout + r.stderr
        try:
            if r.returncode == 0:
                self.check_restored(c, backup_id, target, fault)
                return False, "restored"
            if fault.err is not None and not faultlib.names_file_and_errno(out):
                c.fail("restore under %r failed without naming a file and errno:\n%s" % (fault, out))
            if os.path.exists(target):
                c.fail("a failed restore under %r left %s:\n%s\n%s" % (fault, os.listdir(target), out,
                                                                      os.listdir(os.path.dirname(target))))
            again = c.cli(["backup", "restore", c.path(backup_id), "--database-directory", target, "--no-verify"])
            if again.returncode != 0:
                c.fail("restore after a failed one (%r): %s" % (fault, again.stdout + again.stderr))
            self.check_restored(c, backup_id, target, fault)
            return True, "failed"
        finally:
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(target + ".restoring", ignore_errors=True)

    def check_restored(self, c, backup_id, target, fault):
        """Every file of the backup is in the restored directory, byte for byte."""
        with open(c.path(backup_id, "manifest.json")) as f:
            manifest = json.load(f)
        for entry in manifest["files"]:
            a, b = c.path(backup_id, entry["path"]), os.path.join(target, entry["path"])
            if not os.path.isfile(b) or os.path.getsize(b) != entry["size"]:
                c.fail("restore under %r succeeded but %s is missing or of another size" % (fault, entry["path"]))
            with open(a, "rb") as fa, open(b, "rb") as fb:
                if fa.read() != fb.read():
                    c.fail("restore under %r succeeded but %s differs" % (fault, entry["path"]))


class Delete:
    """`cairn backup delete` under faults: the backup is gone, or it still
    lists as done and verifies, or it no longer lists at all (renamed
    aside); the next delete clears what is left."""
    name = "delete"
    families = ("open", "read", "fsync", "readdir", "unlink", "close", "openat", "renameat", "unlinkat", "rmdir")
    stacks = ()

    def run(self, c, fault):
        backup_id = c.done_backup(pact=False)
        r = c.cli(["backup", "delete", "--backup-directory", c.backups, backup_id], fault)
        listed = {b["id"]: b for b in c.check_directory()}
        if r.returncode == 0:
            if backup_id in listed or os.path.exists(c.path(backup_id)):
                c.fail("delete of %s under %r succeeded but it is still there" % (backup_id, fault))
            return False, "deleted"
        out = r.stdout + r.stderr
        if fault.err is not None and not faultlib.names_file_and_errno(out):
            c.fail("delete under %r failed without naming a file and errno:\n%s" % (fault, out))
        if backup_id in listed:
            if listed[backup_id]["status"] != "backup-done":
                c.fail("a failed delete under %r left %s as %s" % (fault, backup_id, listed[backup_id]["status"]))
            again = c.cli(["backup", "delete", "--backup-directory", c.backups, backup_id])
            if again.returncode != 0:
                c.fail("delete after a failed one: %s" % again.stderr)
        leftovers = [n for n in os.listdir(c.backups) if n.startswith(".deleting-")]
        if leftovers:
            # the next delete removes them
            other = c.done_backup(pact=False)
            again = c.cli(["backup", "delete", "--backup-directory", c.backups, other])
            if again.returncode != 0 or any(n.startswith(".deleting-") for n in os.listdir(c.backups)):
                c.fail("leftovers of an interrupted delete stay: %s" % os.listdir(c.backups))
        return True, "failed"


class List:
    """`cairn backup list` under faults: the listing, or an error."""
    name = "list"
    families = ("open", "read", "readdir", "close", "short-read", "openat")
    stacks = ()

    def run(self, c, fault):
        r = c.cli(["backup", "list", "--backup-directory", c.backups, "--json"], fault)
        if r.returncode == 0:
            json.loads(r.stdout)
            return False, "listed"
        if fault.err is not None and not faultlib.names_file_and_errno(r.stdout + r.stderr):
            c.fail("list under %r failed without naming a file and errno:\n%s" % (fault, r.stderr))
        return True, "failed"


class Upload:
    """`cairn backup upload` to a local S3-compatible server (s3rver on
    loopback) under faults in the command's own calls, on files and sockets
    alike: it ends with the backup complete in the store, or with an error;
    a remote manifest that exists names a complete backup (it is written
    last); an upload without faults then completes it, and a streamed
    remote verify passes."""
    name = "upload"
    families = ("open", "read", "short-read", "write", "short-write", "close", "readdir", "fsync", "rename",
                "openat")
    stacks = ()

    def store(self, c):
        """The server, and a fresh prefix each run, so that every run sends
        the whole backup (into an emptied prefix, most calls would be HEADs)."""
        if getattr(c, "s3", None) is None:
            c.s3 = s3lib.S3Server().start()
            c.t.addCleanup(c.s3.close)
            os.environ.update(c.s3.env())
        self.prefix = os.path.basename(c.scratch_path("upload"))
        c.s3_config = c.s3.write_config(c.tmp, c.backups, self.prefix)
        return c.s3

    def remote_verify(self, c, backup_id, fault, when):
        r = c.cli(["backup", "verify", c.s3.url("%s/%s" % (self.prefix, backup_id)), "--config-file",
                   c.s3_config], timeout=300)
        if r.returncode != 0:
            c.fail("backup %s in the store does not verify %s an upload under %r:\n%s%s"
                   % (backup_id, when, fault, r.stdout, r.stderr))

    def run(self, c, fault):
        s3 = self.store(c)
        backup_id = c.newest_done(pact=c.rng.random() < 0.5)
        r = c.cli(["backup", "upload", backup_id, "--config-file", c.s3_config], fault)
        if r.returncode != 0:
            if not r.stderr.strip():
                c.fail("upload under %r failed without a reason" % fault)
            if "%s/backups/%s/manifest.json" % (self.prefix, backup_id) in s3.keys(self.prefix):
                self.remote_verify(c, backup_id, fault, "after a failed")
            again = c.cli(["backup", "upload", backup_id, "--config-file", c.s3_config])
            if again.returncode != 0:
                c.fail("upload after a failed one (%r): %s" % (fault, again.stdout + again.stderr))
        self.remote_verify(c, backup_id, fault, "after")
        return r.returncode != 0, "failed" if r.returncode != 0 else "uploaded"


# Every operation that writes or reads a backup.  An operation is one entry:
# a class with `name`, the call `families` its faults come from, the
# `stacks` (functions of the node) to aim them at, or none for a command run
# whole under fiu-run, and run(campaign, fault) -> (surfaced, outcome).
OPERATIONS = {op.name: op for op in (Backup(), ManageBackup(), LiveStores(), Retention(), Download(), Verify(),
                                     Restore(), Delete(), List(), Upload())}
