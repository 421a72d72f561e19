"""faultlib: injected I/O faults against the real binary, with libfiu.

libfiu (Debian: libfiu0, fiu-utils) preloads wrappers of the POSIX calls
(fiu_posix_preload.so) into a real process; each wrapper asks a named
failure point whether to fail and, if so, returns the call's error value
with errno set to the point's `failinfo` (or, for the `/reduce` points,
passes a smaller count on: a short read or write).  cairn writes no shim
of its own.  Facts this harness relies on (libfiu 1.1):

- `fiu-run -x -f PREFIX cmd` runs cmd with the wrappers and a remote
  control on the named pipes PREFIX-<pid>.in/.out; failure points are armed
  and disarmed there while the process runs (the node starts clean; faults
  are armed only around the operation under test).
- `enable_stack_by_name name=P,func_name=F,pos_in_stack=-1` fails P only
  while function F is on the calling thread's stack (libfiu resolves F with
  dlsym, hence the program is linked with its symbols exported).  That aims
  a fault at one subsystem (the backup job, retention, the archive stream)
  instead of, say, the eventfd a thread uses to wake another, which no real
  disk fault can reach.
- `onetime` disarms a point after its first failure, so a run injects one
  fault; with `enable_random ...,probability=1/N,onetime` that fault lands
  on a random call, the N-th on average, of that function on that stack:
  libfiu has no call counter, and this is how runs reach past the first
  call.  Without `onetime`, a low probability gives random faults
  throughout the operation.
- Wrapped and used by cairn: open, read, pread, write, pwrite, fsync,
  fdatasync, rename, unlink, opendir, fdopendir, readdir, close.  Not
  wrapped by libfiu 1.1: mkdir, mkdirat, openat, renameat, unlinkat,
  rmdir, copy_file_range, syncfs; cairn calls those through failure
  points of its own, placed in its code with libfiu (src/util/fault.h:
  "cairn/posix/<call>", compiled in with the build option
  CAIRN_FAULT_POINTS, which the test build and the soak turn on).  They
  are armed by name like the preload's (the program and the preload
  share one libfiu), and `failinfo` is the errno the call fails with.
  Still not covered (docs/backups.md): the hard links of RocksDB
  checkpoints (linkat inside librocksdb) and stat/fstatat.

A Campaign runs operations (faultops.OPERATIONS: one entry per operation,
so a new one is one more entry) against faults (FAULTS: call families,
each with its failure points and errnos) and checks, after every run,
what docs/backups.md promises under faults.
"""

import ctypes
import errno
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import cairnlib

FIU_RUN = shutil.which("fiu-run")
SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fiu-lsan.supp")

# call family -> (failure points, errnos to inject; None: a short read or write)
FAULTS = {
    "open": (("posix/io/oc/open",), (errno.ENOSPC, errno.EIO, errno.EINTR, errno.EMFILE)),
    "read": (("posix/io/rw/read", "posix/io/rw/pread"), (errno.EIO, errno.EINTR)),
    "write": (("posix/io/rw/write", "posix/io/rw/pwrite"), (errno.ENOSPC, errno.EIO, errno.EINTR)),
    "short-write": (("posix/io/rw/write/reduce", "posix/io/rw/pwrite/reduce"), (None,)),
    "short-read": (("posix/io/rw/read/reduce", "posix/io/rw/pread/reduce"), (None,)),
    "fsync": (("posix/io/sync/fsync", "posix/io/sync/fdatasync"), (errno.EIO, errno.ENOSPC)),
    "rename": (("posix/io/dir/rename",), (errno.ENOSPC, errno.EIO)),
    "unlink": (("posix/io/dir/unlink",), (errno.EIO, errno.EBUSY)),
    "readdir": (("posix/io/dir/opendir", "posix/io/dir/fdopendir", "posix/io/dir/readdir"), (errno.EIO,)),
    "close": (("posix/io/oc/close",), (errno.EIO,)),
    # cairn's own failure points (src/util/fault.h, built with CAIRN_FAULT_POINTS)
    "mkdir": (("cairn/posix/mkdir", "cairn/posix/mkdirat"), (errno.ENOSPC, errno.EDQUOT, errno.EIO)),
    "openat": (("cairn/posix/openat",), (errno.EIO, errno.EMFILE)),
    "copy_file_range": (("cairn/posix/copy_file_range",), (errno.ENOSPC, errno.EDQUOT, errno.EIO)),
    "renameat": (("cairn/posix/renameat",), (errno.EIO, errno.ENOSPC)),
    "unlinkat": (("cairn/posix/unlinkat",), (errno.EIO, errno.EBUSY)),
    "rmdir": (("cairn/posix/rmdir",), (errno.EIO, errno.EBUSY)),
    "syncfs": (("cairn/posix/syncfs",), (errno.EIO, errno.ENOSPC)),
}
# calls no fault reaches: inside librocksdb (a checkpoint's hard links), or
# reading metadata only
NOT_WRAPPED = ("linkat", "fstatat", "stat")

STRERRORS = sorted({os.strerror(e) for e in range(1, 134)} - {"Success"}, key=len, reverse=True)
SANITIZER = re.compile(r"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|"
                       r"Assertion .* failed|Segmentation fault)")
TOKEN = "fault-campaign-token-0123456789"
DB = "development"


def fault_points_built(binary=None):
    """True when the binary has cairn's own failure points compiled in
    (CAIRN_FAULT_POINTS): their names are strings in it.  Without them an
    armed "cairn/posix/..." point is accepted by libfiu and never reached."""
    with open(binary or cairnlib.cairn_bin(), "rb") as f:
        return b"cairn/posix/" in f.read()


def fiu_env():
    """The environment of a process under fiu-run.  symbolize=0: the
    sanitizers' symbolizer is a child process that inherits LD_PRELOAD and
    the armed faults, and a fault in it hangs the report (addresses and
    modules are still printed; the suppression matches the module)."""
    env = dict(os.environ)
    env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % SUPPRESSIONS
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "symbolize=0"
    return env


class Fault:
    """One armed failure point: `point` fails with `err` (None: short call),
    on the calls made with `stack` on the stack (None: anywhere), once at a
    random call (1/probability-th on average) or, `random`, with that
    probability on every call until disarmed."""

    def __init__(self, family, point, err, probability, stack=None, recurring=False):
        self.family, self.point, self.err = family, point, err
        self.probability, self.stack, self.recurring = probability, stack, recurring
        self.also = None  # a second fault armed with this one (the cleanup after a failure)

    def command(self):
        params = ["name=" + self.point]
        if self.err is not None:
            params.append("failinfo=%d" % self.err)
        if not self.recurring:
            params.append("onetime")
        if self.stack:
            # libfiu 1.1 has no probability for stack points: one in N is
            # reached by arming at the first call (N=1) only
            return "enable_stack_by_name " + ",".join(params + ["func_name=" + self.stack, "pos_in_stack=-1"])
        if self.probability >= 1:
            return "enable " + ",".join(params)
        return "enable_random " + ",".join(params + ["probability=%g" % self.probability])

    @property
    def errname(self):
        return errno.errorcode[self.err] if self.err is not None else "short"

    def __repr__(self):
        where = (" in " + self.stack) if self.stack else ""
        how = "p=%g%s" % (self.probability, " recurring" if self.recurring else "")
        also = (" + " + repr(self.also)) if self.also else ""
        return "%s %s %s%s (%s)%s" % (self.family, self.point, self.errname, where, how, also)


class FaultyNode(cairnlib.Node):
    """A node under fiu-run whose failure points are armed over libfiu's
    remote control."""

    def __init__(self, args, database_directory):
        self.ctl_dir = tempfile.mkdtemp(prefix="cairn-fiu-")
        prefix = os.path.join(self.ctl_dir, "ctl")
        # --log-level warn: an INFO line is a write(2) to stderr, which would
        # take a fault meant for the job's files (and lose the line)
        super().__init__(args + ["--log-level", "warn"], database_directory=database_directory,
                         port=cairnlib.free_port(), wait_listening=False,
                         wrapper=[FIU_RUN, "-x", "-f", prefix], env=fiu_env())
        self.prefix = prefix

    def start(self, args=None):
        super().start(args)
        self.host, self.port = self.interface, self.requested_port
        r = self.wait_health(200, cairnlib.START_TIMEOUT)
        if r is None or r.status != 200:
            self.close()
            raise AssertionError("cairn did not start under fiu-run:\n" + self.log)
        return self

    def control(self, command, timeout=10.0):
        """Sends one remote-control command; returns libfiu's reply (0: done).

        libfiu's remote-control thread reads commands from <prefix>.in until
        the writer closes it and answers each on <prefix>.out, then opens
        both again.  A second command written before it has seen the first
        writer close goes to the same open pipe, and its answer to an .out
        nobody reads yet: the answer is lost (EPIPE) and a reader waiting
        for it would wait forever.  So the reply pipe is opened (without
        blocking) before the command is written, and both ends have
        deadlines."""
        base = "%s-%d" % (self.prefix, self.process.pid)
        deadline = time.monotonic() + timeout
        out = os.open(base + ".out", os.O_RDONLY | os.O_NONBLOCK)
        try:
            while True:
                try:
                    fd = os.open(base + ".in", os.O_WRONLY | os.O_NONBLOCK)
                    break
                except OSError as e:
                    if e.errno != errno.ENXIO or time.monotonic() > deadline:  # ENXIO: no reader yet
                        raise
                    time.sleep(0.001)
            try:
                os.write(fd, (command + "\n").encode())
            finally:
                os.close(fd)
            reply = b""
            while not reply.endswith(b"\n"):
                try:
                    chunk = os.read(out, 64)
                except BlockingIOError:
                    chunk = b""
                reply += chunk
                if not chunk:
                    if time.monotonic() > deadline:
                        raise AssertionError("libfiu's remote control did not answer %r" % command)
                    time.sleep(0.001)
            return int(reply.strip() or b"-1")
        finally:
            os.close(out)

    def arm(self, fault):
        for f in (fault, fault.also):
            if f is not None:
                reply = self.control(f.command())
                if reply != 0:
                    raise AssertionError("libfiu refused %r: %d" % (f.command(), reply))

    def disarm(self, fault):
        for f in (fault, fault.also):
            if f is not None:
                self.control("disable name=" + f.point)

    def stop(self, sig=15, timeout=10.0):
        """fiu-run's remote-control thread starts before cairn's main blocks
        SIGTERM and SIGINT (which it reads from a signalfd), so a signal
        sent to the process would be delivered to that thread and kill the
        process; it is sent to the main thread instead (tgkill)."""
        if self.process.poll() is None:
            sys_tgkill = {"x86_64": 234, "aarch64": 131}[os.uname().machine]
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall(sys_tgkill, self.process.pid, self.process.pid, sig)
        return self.wait(timeout)

    def close(self):
        super().close()
        shutil.rmtree(self.ctl_dir, ignore_errors=True)


# SQLite keeps no errno for some failures: PRAGMA integrity_check reports a
# page it could not read as a row of text ("Page 22: unable to get the page.
# error code=8458"), and a failed write to a WAL leaves sqlite3_system_errno
# at 0; cairn then names SQLite's extended code, which says which call failed.
SQLITE_CAUSE = re.compile(r"unable to get the page\. error code=\d+|SQLite extended code \d+")


def names_file_and_errno(text):
    """True when an error message names a path and an operating-system reason."""
    return bool(re.search(r"/[^\s']+", text)) and (any(s in text for s in STRERRORS) or bool(SQLITE_CAUSE.search(text)))


class Stats:
    def __init__(self):
        self.runs = 0
        self.surfaced = 0      # the fault showed: the operation failed, or the node logged it
        self.absorbed = 0      # the operation succeeded: retried (EINTR, short calls) or not reached
        self.retried = 0       # of those, EINTR and short calls, which cairn retries by design
        self.by_op = {}
        self.by_family = {}
        self.outcomes = {}

    def add(self, op, fault, surfaced, outcome):
        self.runs += 1
        if surfaced:
            self.surfaced += 1
        else:
            self.absorbed += 1
            if fault.err in (None, errno.EINTR):
                self.retried += 1
        for table, key in ((self.by_op, op), (self.by_family, fault.family)):
            runs, shown = table.get(key, (0, 0))
            table[key] = (runs + 1, shown + (1 if surfaced else 0))
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def report(self, seconds):
        lines = ["fault campaign: %d runs in %.0f s, one armed fault each (or a random series); %d surfaced as "
                 "a clean error, %d absorbed (%d of them EINTR or short calls, retried; the rest not reached "
                 "or harmless)" % (self.runs, seconds, self.surfaced, self.absorbed, self.retried)]
        lines.append("  by operation: " + ", ".join("%s %d/%d" % (k, v[1], v[0]) for k, v in sorted(self.by_op.items())))
        lines.append("  by call: " + ", ".join("%s %d/%d" % (k, v[1], v[0]) for k, v in sorted(self.by_family.items())))
        lines.append("  outcomes: " + ", ".join("%s %d" % kv for kv in sorted(self.outcomes.items())))
        return "\n".join(lines)


class Campaign:
    """A producing node under fiu-run with the backup and management APIs
    and a retention policy, a supply of done backups, and the checks."""

    def __init__(self, test, tmp, seed, block_rate="5", keep_last=3, node_args=()):
        self.t = test
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.db = os.path.join(tmp, "db")
        self.backups = os.path.join(tmp, "backups")
        self.tokens = cairnlib.write_token_file(os.path.join(tmp, "tokens"), TOKEN + "\n")
        self.node = FaultyNode(["--enable-backup-api", "--backup-directory", self.backups,
                                "--enable-management-api", "--management-token-file", self.tokens,
                                "--block-rate", block_rate, "--backup-retention-keep-last", str(keep_last)]
                               + list(node_args), self.db)
        self.verified = {}  # backup id -> True once `cairn backup verify` passed
        # a build without CAIRN_FAULT_POINTS (build/) draws only the preload's families
        self.points = fault_points_built()
        self.stats = Stats()
        self.scratch = 0

    # -- helpers --

    def fail(self, message):
        self.t.fail("%s\n---- node log (tail) ----\n%s" % (message, "\n".join(self.node.log.splitlines()[-60:])))

    def request(self, method, path, headers=None, body=None, timeout=30):
        """A request to the node, again while its port is closed: a store
        failure restarts the node in place, which closes the listener and
        its connections for a moment."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.node.request(method, path, headers=headers, body=body, timeout=timeout)
            except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                # a connection the closing service dropped: a GET is safe to
                # repeat, and a repeated make-backup at worst starts a job of
                # its own, which the run then checks like any other
                if time.monotonic() > deadline or self.node.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def manage(self, method, path, body=None):
        headers = {"X-Auth-Token": TOKEN}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.request(method, path, headers=headers, body=body)

    def path(self, *parts):
        return os.path.join(self.backups, *parts)

    def scratch_path(self, name):
        self.scratch += 1
        return os.path.join(self.tmp, "%s-%d" % (name, self.scratch))

    def cli(self, args, fault=None, timeout=120):
        """`cairn ARGS` (under fiu-run with `fault` armed from the start when given)."""
        cmd = [cairnlib.cairn_bin()] + list(args)
        if fault is not None:
            cmd = [FIU_RUN, "-x", "-f", "", "-c", fault.command()] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=fiu_env())
        out = r.stdout + r.stderr
        if SANITIZER.search(out) or r.returncode < 0:
            self.t.fail("cairn %s under %r: exit %d\n%s" % (" ".join(args), fault, r.returncode, out))
        return r

    def state(self, backup_id):
        r = self.request("GET", "/check-backup/" + backup_id)
        if r.status != 200:
            self.fail("check-backup/%s: %r" % (backup_id, r))
        return r.text

    def wait_final(self, backup_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.state(backup_id)
            if s != "backup-in-progress":
                return s
            time.sleep(0.02)
        self.fail("backup %s still in progress after %d s" % (backup_id, timeout))

    def wait_idle(self, timeout=60):
        """No job running (retention included): the newest job's record is final."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.manage("GET", "/v2/%s/backups?limit=1" % DB)
            if r.status == 200:
                jobs = r.json()["backups"]
                if not jobs or jobs[0]["state"] not in ("queued", "preparing", "in_progress", "start_requested",
                                                         "stop_requested", "running"):
                    return
            time.sleep(0.02)
        self.fail("a job is still running after %d s" % timeout)

    def healthy(self, timeout=60):
        """After the faults stop the node serves (a restart in place after a
        store failure included)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self.node.wait_health(200, max(0.1, deadline - time.monotonic()))
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                r = None
            if (r is not None and r.status == 200) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if r is None or r.status != 200:
            self.fail("the node does not serve after the faults: %r" % r)
        if self.node.process.poll() is not None:
            self.fail("the node exited: %d" % self.node.process.returncode)

    def reason_of(self, backup_id):
        """The recorded failure reason of a failed job (failure file, the
        failure beside it, or its record)."""
        for p in (self.path(backup_id, "failure"), self.path(".failed-" + backup_id)):
            try:
                with open(p) as f:
                    return f.read().strip()
            except OSError:
                pass
        try:
            with open(self.path(backup_id, "job.json")) as f:
                record = json.load(f)
            return "; ".join(e.get("description", "") for e in record.get("errors", []))
        except (OSError, ValueError):
            return ""

    def verify(self, backup_id):
        """A backup that reads done passes a full verify (once per backup)."""
        if self.verified.get(backup_id):
            return
        r = self.cli(["backup", "verify", self.path(backup_id)], timeout=300)
        if r.returncode != 0:
            self.fail("backup %s reads backup-done but does not verify:\n%s%s" % (backup_id, r.stdout, r.stderr))
        self.verified[backup_id] = True

    def check_job(self, backup_id, fault):
        """The end state of a job run under `fault`; returns (surfaced, outcome)."""
        state = self.wait_final(backup_id)
        if state == "backup-done":
            self.verify(backup_id)
            return False, "done"
        if state != "backup-failed":
            self.fail("backup %s: unexpected state %r" % (backup_id, state))
        root = self.path(backup_id)
        if os.path.isdir(root):
            left = sorted(set(os.listdir(root)) - {"status", "failure", "job.json"})
            left = [n for n in left if ".tmp." not in n]
            if left:
                self.fail("failed backup %s under %r kept its partial data: %s" % (backup_id, fault, left))
        reason = self.reason_of(backup_id)
        if not reason:
            self.fail("failed backup %s under %r records no reason" % (backup_id, fault))
        if fault.err is not None and not names_file_and_errno(reason) and "stopped" not in reason:
            self.fail("failed backup %s under %r: the reason names no file and errno: %r" % (backup_id, fault, reason))
        return True, "failed"

    def check_directory(self):
        """Every backup that reads done verifies; the newest done one exists."""
        r = self.cli(["backup", "list", "--backup-directory", self.backups, "--json"])
        if r.returncode != 0:
            self.fail("backup list: %s" % r.stderr)
        listed = json.loads(r.stdout)
        for b in listed:
            if b["status"] == "backup-done":
                self.verify(b["id"])
        return listed

    def archive_link(self, backup_id):
        """The path and query of the management API's archive link to a backup."""
        r = self.manage("GET", "/api/databases/%s/backups/%s/archive" % (DB, backup_id))
        if r.status != 200:
            self.fail("archive link: %r" % r)
        url = urllib.parse.urlsplit(r.json()["download_url"])
        return url.path + "?" + url.query

    def done_backup(self, pact=False):
        """A fresh backup made without faults (for the CLI operations)."""
        self.wait_idle()
        r = self.request("POST", "/make-backup" + ("?backupPact" if pact else ""))
        if r.status != 200:
            self.fail("make-backup without faults: %r" % r)
        backup_id, state = r.text, self.wait_final(r.text)
        if state != "backup-done":
            self.fail("a backup without faults ended %s: %s" % (state, self.reason_of(backup_id)))
        self.wait_idle()
        return backup_id

    def newest_done(self, pact=None):
        listed = self.check_directory()
        done = [b for b in listed if b["status"] == "backup-done" and (pact is None or b["pactIncluded"] == pact)]
        return done[-1]["id"] if done else self.done_backup(pact=bool(pact))

    def node_run(self, fault, action):
        """Runs action(arm) with `fault` armed in the node from the moment
        action calls arm() (at once, or after starting the operation);
        disarms; a fault the node logged counts as surfaced.  Returns
        action's (surfaced, outcome)."""
        mark = self.node.log_mark()
        armed = []

        def arm():
            self.node.arm(fault)
            armed.append(True)
        try:
            surfaced, outcome = action(arm)
        finally:
            self.node.disarm(fault)
        if not armed:
            raise AssertionError("the operation never armed %r" % fault)
        if not surfaced and fault.err is not None:
            text = "\n".join(self.node.log.splitlines()[mark:])
            surfaced = os.strerror(fault.err) in text
        self.healthy()
        return surfaced, outcome

    # -- the campaign --

    def start(self):
        self.node.start()
        cairnlib.wait_cut_height(self.node, 60)
        self.done_backup(pact=True)

    def pick_fault(self, op):
        families = op.families if self.points else [f for f in op.families if not FAULTS[f][0][0].startswith("cairn/")]
        family = self.rng.choice(families)
        points, errnos = FAULTS[family]
        point = self.rng.choice(points)
        err = self.rng.choice(errnos)
        reach = getattr(op, "reach", {})
        stacks = reach.get(family) or op.stacks
        stack = self.rng.choice(stacks) if stacks else None
        recurring = self.rng.random() < 0.15
        if recurring:
            probability = self.rng.choice((0.02, 0.05))
        elif stack:
            probability = 1
        else:
            probability = self.rng.choice((1, 0.3, 0.1, 0.03))
        fault = Fault(family, point, err, probability, stack, recurring and not stack)
        cleanup = [f for f in getattr(op, "cleanup", ()) if f.point != point]
        if cleanup and err is not None and self.rng.random() < 0.25:
            fault.also = self.rng.choice(cleanup)
        return fault

    def run(self, ops, seconds, min_runs=0):
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < seconds or self.stats.runs < min_runs:
            op = ops[i % len(ops)]
            i += 1
            fault = self.pick_fault(op)
            try:
                surfaced, outcome = op.run(self, fault)
            except AssertionError:
                raise
            except Exception as e:  # noqa: BLE001 - a harness error names its run
                self.fail("%s under %r: %s: %s" % (op.name, fault, type(e).__name__, e))
            self.stats.add(op.name, fault, surfaced, "%s:%s" % (op.name, outcome))
        return time.monotonic() - t0

    def finish(self):
        """The node stops cleanly; the stores agree at the cut; every done backup verifies."""
        self.wait_idle()
        self.healthy()
        height = cairnlib.wait_cut_height(self.node, self.node.get_json("/cut")["height"] + 5, timeout=60)["height"]
        cut = cairnlib.cut_tips(self.node.get_json("/cut"))
        status = self.node.stop(timeout=30)
        if status != 0 or SANITIZER.search(self.node.log):
            self.fail("the node ended with %d after the campaign" % status)
        self.check_directory()
        plain = cairnlib.Node(["--block-rate", "0"], database_directory=self.db)
        with plain:
            stored = cairnlib.cut_tips(plain.get_json("/cut"))
            self.t.assertEqual(plain.stop(), 0, plain.log)
        for chain, (h, _) in cut.items():
            self.t.assertGreaterEqual(stored[chain][0], h)
        self.t.assertEqual(cairnlib.pact_tips(self.db), stored)
        return height
