"""End-to-end: the crash-test harness, in the manner of RocksDB's db_crashtest.

A node runs at --block-rate max with scheduled backups every second
(with Pact, keepLast 4) while a client thread makes random management
calls: start (with or without Pact), stop, delete, list, detail and
download.  The node is SIGKILLed at a random moment, CAIRN_CRASH_KILLS
times (50 by default: the CI-sized run; set more for a soak run, as
`tests/soak/crash` does).  After each kill a check node starts on the same
directories without production and without a schedule, and:
  - no job is left in progress (management API listing and `cairn backup
    list` of the directory), and no failed one keeps its data;
  - the cut never moves backwards, and after a clean stop every Pact
    database's last BlockHistory row is the recovered cut's block of its
    chain (ChainDB and PactDB agree at the cut);
  - every backup ever seen done (check-backup `backup-done`, or `completed`
    / `completed_with_errors` in a listing) still verifies with
    `cairn backup verify --quick`, unless the harness deleted it or
    retention may have removed it (at least keepLast newer backups were
    seen done): any other disappearance is a failure;
  - on every fifth kill and the last (CAIRN_CRASH_RESTORE_EVERY; on the
    next kill after when there is none), one done backup with Pact chosen
    at random is restored into a new directory (every other restore
    verifies the backup in full first; the others are checked file by
    file against the manifest), and a node started on it at --block-rate 0
    (which validates every restored block) serves a /cut equal to the
    manifest's cut; half of these restores are first SIGKILLed at a random
    moment, which must leave the target as it was (or wholly restored),
    and are then run again;
  - remote copies (only when CAIRN_CRASH_S3_ENDPOINT is set, see
    check_remote): no remote manifest names a missing object.
The counts are printed at the end: kills, backups done, verified,
restored, downloads, failures found.  CAIRN_CRASH_SEED replays a run.
"""
import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

import cairnlib

KILLS = int(os.environ.get("CAIRN_CRASH_KILLS", "50"))
SEED = int(os.environ.get("CAIRN_CRASH_SEED", str(int(time.time()))))
TRACE = os.environ.get("CAIRN_CRASH_TRACE") is not None
KEEP_LAST = 4
# The restore check runs on every RESTORE_EVERY-th kill and the last (5 in
# the CI-sized run, 1 in soak runs): a restored node validates every stored
# block from genesis when it starts, so its cost grows with the chain that
# --block-rate max builds, and checking every kill would take the CI run
# past its time.
RESTORE_EVERY = int(os.environ.get("CAIRN_CRASH_RESTORE_EVERY", "5"))
TOKEN = "crash-harness-token"
DB = "development"
PATCH_TYPE = "application/json-patch+json"
STOP = json.dumps([{"op": "replace", "path": "/state", "value": "stop_requested"}])
DONE_STATES = ("completed", "completed_with_errors")
RUNNING_STATES = ("queued", "preparing", "in_progress", "stop_requested")
# Answers a random call may get while the node runs.  A kill may cut any
# call: connection errors are expected and ignored.
EXPECTED = {
    "start": (200, 201),
    "stop": (204, 404, 409),       # 409: no longer running
    "delete": (204, 404, 409),     # 409: still running
    "list": (200,),
    "detail": (200, 404),          # 404: deleted meanwhile
    "link": (200, 404, 409),       # 409: not restorable
    "download": (200, 403, 404, 409),
}


class Harness:
    """State shared by the chaos thread and the checks."""

    def __init__(self, rng, tmp):
        self.rng = rng
        self.tmp = tmp
        self.backups = os.path.join(tmp, "backups")
        self.lock = threading.Lock()
        self.started = set()
        self.done = set()        # ids ever seen done
        self.deleted = set()     # ids the harness asked to delete (the answer may have been lost)
        self.restore_due = False
        self.counts = {"kills": 0, "backups done": 0, "verified": 0, "restored": 0, "verified in full": 0, "restores killed": 0, "downloads": 0,
                       "calls": 0, "failures found": 0}
        self.failures = []

    def fail(self, what):
        with self.lock:
            self.failures.append(what)
            self.counts["failures found"] += 1
        print("FAILURE:", what, flush=True)

    def saw_done(self, backup_id):
        with self.lock:
            if backup_id not in self.done:
                self.done.add(backup_id)
                self.counts["backups done"] += 1

    # -- calls --

    def call(self, node, method, path, body=None, headers=None, timeout=5.0):
        h = {"X-Auth-Token": TOKEN}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return node.request(method, path, headers=h, body=body, timeout=timeout)

    def listing(self, node):
        r = self.call(node, "GET", "/v2/%s/backups?limit=1000" % DB)
        if r.status != 200:
            raise AssertionError("list: %r" % r)
        backups = r.json()["backups"]
        for b in backups:
            if b["state"] in DONE_STATES:
                self.saw_done(b["id"])
        return backups

    def random_call(self, node):
        """One random management call; returns (kind, status)."""
        known = sorted(self.started | self.done)
        target = self.rng.choice(known) if known else "0"
        kind = self.rng.choice(["start", "start", "stop", "delete", "list", "list", "detail", "download"])
        if kind == "start":
            body = json.dumps({"state": "start_requested", "backupPact": self.rng.random() < 0.7})
            r = self.call(node, "POST", "/v2/%s/backups" % DB, body)
            if r.status in (200, 201):
                with self.lock:
                    self.started.add(r.json()["id"])
        elif kind == "stop":
            r = self.call(node, "PATCH", "/v2/%s/backups/%s" % (DB, target), STOP, {"Content-Type": PATCH_TYPE})
        elif kind == "delete":
            with self.lock:
                self.deleted.add(target)
            r = self.call(node, "DELETE", "/v2/%s/backups/%s" % (DB, target))
        elif kind == "list":
            self.listing(node)
            return kind, 200
        elif kind == "detail":
            r = self.call(node, "GET", "/v2/%s/backups/%s" % (DB, target))
            if r.status == 200 and r.json()["state"] in DONE_STATES:
                self.saw_done(target)
        else:
            r = node.request("GET", "/api/databases/%s/backups/%s/archive" % (DB, target),
                             headers={"Authorization": "Bearer " + TOKEN})
            if r.status != 200:
                kind = "link"
            else:
                url = urllib.parse.urlsplit(r.json()["download_url"])
                r = node.get(url.path + "?" + url.query, timeout=10.0)
                if r.status == 200:
                    self.check_download(target, r.body)
        self.last_text = r.body[:300].decode("utf-8", "replace")
        return kind, r.status

    def check_download(self, backup_id, body):
        """A complete archive extracts and verifies (quick)."""
        with self.lock:
            self.counts["downloads"] += 1
        out = tempfile.mkdtemp(prefix="download-", dir=self.tmp)
        try:
            archive = os.path.join(out, "a.tar.zst")
            with open(archive, "wb") as f:
                f.write(body)
            x = subprocess.run(["tar", "--zstd", "-xf", archive, "-C", out], capture_output=True, text=True)
            if x.returncode != 0:
                self.fail("download of %s does not extract: %s" % (backup_id, x.stderr.strip()))
                return
            v = cairnlib.backup_cli(["verify", "--quick", os.path.join(out, backup_id)])
            if v.returncode != 0:
                self.fail("download of %s does not verify: %s" % (backup_id, v.stdout + v.stderr))
        finally:
            shutil.rmtree(out, ignore_errors=True)


class Chaos(threading.Thread):
    """Random management calls until stopped or the node dies."""

    def __init__(self, harness, node):
        super().__init__(daemon=True)
        self.harness, self.node = harness, node
        self.stopping = threading.Event()

    def run(self):
        h = self.harness
        while not self.stopping.is_set():
            try:
                kind, status = h.random_call(self.node)
            except (OSError, ValueError, AssertionError, KeyError, Exception) as e:  # the node may die mid-call
                if self.node.process.poll() is None and not self.stopping.is_set() and not is_connection_error(e):
                    h.fail("random call while the node ran: %r" % e)
                continue
            with h.lock:
                h.counts["calls"] += 1
            if status not in EXPECTED[kind] and self.node.process.poll() is None:
                h.fail("%s answered %d: %s" % (kind, status, getattr(h, "last_text", "")))
            self.stopping.wait(h.rng.uniform(0.0, 0.15))


def is_connection_error(e):
    import http.client
    return isinstance(e, (ConnectionError, TimeoutError, http.client.HTTPException, OSError))


class CrashHarnessTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-crash-")
        self.tokens = os.path.join(self.tmp, "tokens")
        with open(self.tokens, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(self.tokens, 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_crash_harness(self):
        rng = random.Random(SEED)
        print("crash harness: seed %d, %d kills" % (SEED, KILLS), flush=True)
        h = Harness(rng, self.tmp)
        common = ["--drain-seconds", "0", "--backup-directory", h.backups, "--enable-backup-api",
                  "--enable-management-api", "--management-token-file", self.tokens]
        live = common + ["--block-rate", "max", "--backup-schedule-interval", "1s", "--backup-schedule-pact",
                         "--backup-retention-keep-last", str(KEEP_LAST)] + remote_args()
        check = common + ["--block-rate", "0"]
        node = cairnlib.Node(database_directory=os.path.join(self.tmp, "db"))
        previous = {}
        began = time.monotonic()
        try:
            for kill in range(KILLS):
                node.start(live)
                chaos = Chaos(h, node)
                chaos.start()
                # mostly short lives, which kill backups midway; one in five long enough
                # for backups to finish on a chain grown large
                time.sleep(rng.uniform(0.2, 1.2) if rng.random() < 0.8 else rng.uniform(1.2, 2.4))
                node.kill()
                h.counts["kills"] += 1
                chaos.stopping.set()
                chaos.join(30)
                previous = self.check_after_restart(h, node, check, previous, kill)
            elapsed = time.monotonic() - began
        except BaseException:
            print(node.log[-20000:])
            raise
        finally:
            node.close()
        print("crash harness: %s in %.0f s (seed %d)" % (
            ", ".join("%s %d" % kv for kv in h.counts.items()), elapsed, SEED), flush=True)
        self.assertEqual(h.failures, [])
        self.assertEqual(h.counts["kills"], KILLS)
        self.assertGreater(h.counts["backups done"], 0)
        self.assertGreater(h.counts["restored"], 0)

    def check_after_restart(self, h, node, check_args, previous, kill):
        t0 = time.monotonic()
        mark = node.log_mark()
        node.start(check_args)
        # no job is left in progress
        running = [(b["id"], b["state"]) for b in h.listing(node) if b["state"] in RUNNING_STATES]
        if running:
            h.fail("kill %d: jobs left running after a restart: %r" % (kill, running))
        cut = cairnlib.cut_tips(node.get_json("/cut"))
        for chain, (height, _) in previous.items():
            if cut[chain][0] < height:
                h.fail("kill %d: chain %d went back from %d to %d" % (kill, chain, height, cut[chain][0]))
        status = node.stop()
        if status != 0:
            h.fail("kill %d: the check node exited with %d:\n%s" % (kill, status, "\n".join(
                node.log.splitlines()[mark:])))
        pact = cairnlib.pact_tips(node.database_directory)
        if pact != cut:
            diff = {c: (cut.get(c), pact.get(c)) for c in set(cut) | set(pact) if cut.get(c) != pact.get(c)}
            h.fail("kill %d: ChainDB and PactDB disagree at the cut: %r" % (kill, diff))
        listed = self.cli_list(h)
        for b in listed:
            if b["status"] == "backup-in-progress":
                h.fail("kill %d: backup %s is in progress on disk after a restart" % (kill, b["id"]))
            if b["status"] == "backup-done":
                h.saw_done(b["id"])
            if b["status"] == "backup-failed" and os.path.lexists(os.path.join(h.backups, b["id"], "0")):
                h.fail("kill %d: failed backup %s still holds data after a restart" % (kill, b["id"]))
        present = {b["id"] for b in listed if b["status"] == "backup-done"}
        # A backup without Pact restores too, but its node rebuilds every Pact state
        # from genesis when it starts: the restore check picks among those with Pact.
        with_pact = sorted(b["id"] for b in listed if b["status"] == "backup-done" and b.get("pactIncluded"))
        t1 = time.monotonic()
        self.check_done_backups(h, present, kill)
        t2 = time.monotonic()
        # due on every RESTORE_EVERY-th kill, and deferred while no backup with Pact is there
        h.restore_due |= kill % RESTORE_EVERY == RESTORE_EVERY - 1 or kill == KILLS - 1
        if TRACE and h.restore_due:
            print("kill %d: restore due; done %r, with Pact %r" % (kill, sorted(present), with_pact), flush=True)
        if with_pact and h.restore_due:
            h.restore_due = False
            self.check_restore(h, h.rng.choice(with_pact), kill)
        check_remote(h, kill)
        if TRACE:
            print("kill %d: height %d, restart checks %.1f s, %d quick verifies %.1f s, restore %.1f s" % (
                kill, sum(height for height, _ in cut.values()), t1 - t0, len(present), t2 - t1,
                time.monotonic() - t2), flush=True)
        return cut

    def cli_list(self, h):
        r = cairnlib.backup_cli(["list", "--backup-directory", h.backups, "--json", "--log-level", "warn"])
        if r.returncode != 0:
            raise AssertionError("backup list: %s" % r.stderr)
        return json.loads(r.stdout)

    def check_done_backups(self, h, present, kill):
        for backup_id in sorted(h.done):
            if backup_id in present:
                v = cairnlib.backup_cli(["verify", "--quick", "--log-level", "warn",
                                         os.path.join(h.backups, backup_id)])
                if v.returncode != 0:
                    h.fail("kill %d: done backup %s no longer verifies: %s" % (kill, backup_id, v.stdout + v.stderr))
                else:
                    h.counts["verified"] += 1
                continue
            newer = sum(1 for other in h.done if int(other) > int(backup_id))
            if backup_id not in h.deleted and newer < KEEP_LAST:
                h.fail("kill %d: done backup %s vanished (not deleted, %d newer done)" % (kill, backup_id, newer))

    def check_restore(self, h, backup_id, kill):
        """Restores (with a full verify) and compares the restored node's cut with the manifest's."""
        source = os.path.join(h.backups, backup_id)
        with open(os.path.join(source, "manifest.json")) as f:
            manifest = json.load(f)
        target = tempfile.mkdtemp(prefix="restored-", dir=self.tmp)
        try:
            if h.rng.random() < 0.5 and self.interrupted_restore(h, source, target, manifest):
                pass  # the killed restore had published its result: the node below checks it too
            else:
                # every other restore verifies in full first; the others copy (--no-verify) and
                # their files are checked against the manifest here
                full = h.counts["restored"] % 2 == 0
                r = cairnlib.backup_cli(["restore", source, "--database-directory", target, "--log-level", "warn"]
                                        + ([] if full else ["--no-verify"]))
                if r.returncode != 0:
                    h.fail("kill %d: backup %s does not restore: %s" % (kill, backup_id, r.stdout + r.stderr))
                    return
                wrong = [] if full else wrong_files(target, manifest)
                if wrong:
                    h.fail("kill %d: backup %s restored with wrong files: %r" % (kill, backup_id, wrong[:5]))
                h.counts["verified in full"] += full
            if os.path.lexists(target + ".restoring"):
                h.fail("kill %d: %s.restoring left after a restore" % (kill, target))
            restored = cairnlib.Node(["--block-rate", "0", "--drain-seconds", "0"], database_directory=target)
            with restored:
                served = cairnlib.cut_tips(restored.get_json("/cut"))
            if served != cairnlib.cut_tips(manifest["cut"]):
                h.fail("kill %d: backup %s restored to cut %r, its manifest says %r" % (
                    kill, backup_id, served, manifest["cut"]))
            else:
                h.counts["restored"] += 1
        finally:
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(target + ".restoring", ignore_errors=True)

    def interrupted_restore(self, h, source, target, manifest):
        """SIGKILLs a restore (--no-verify, into the empty `target`) at a random moment.  The
        target must then be as it was (empty: returns False, the restore is to be run again,
        which clears the leftovers) or the whole restore, every listed file with its size
        and SHA-256 (returns True; the kill may land after the publishing rename, before
        the process exits)."""
        p = subprocess.Popen([cairnlib.cairn_bin(), "backup", "restore", source, "--database-directory", target,
                              "--no-verify", "--log-level", "warn"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(h.rng.uniform(0.0, 0.25))
        p.kill()
        status = p.wait()
        h.counts["restores killed"] += 1
        entries = sorted(os.listdir(target))
        if not entries:
            return False
        wrong = wrong_files(target, manifest)
        if wrong:
            h.fail("a killed restore (exit status %d) left %s partly restored: %r" % (status, target, wrong[:5]))
        return True


def wrong_files(target, manifest):
    """The manifest's files that a restored directory lacks, or holds with another size or SHA-256."""
    wrong = []
    for f in manifest["files"]:
        path = os.path.join(target, f["path"])
        if not os.path.isfile(path) or os.path.getsize(path) != f["size"]:
            wrong.append(f["path"])
        elif "sha256" in f:
            with open(path, "rb") as data:
                if hashlib.sha256(data.read()).hexdigest() != f["sha256"]:
                    wrong.append(f["path"])
    return wrong


# -- remote copies (optional) --

def remote_args():
    """Extra node flags that enable remote copies, from CAIRN_CRASH_REMOTE_ARGS (split on spaces)."""
    return os.environ.get("CAIRN_CRASH_REMOTE_ARGS", "").split()


def check_remote(h, kill):
    """Skipped unless CAIRN_CRASH_S3_ENDPOINT names a local S3 server (with CAIRN_CRASH_S3_BUCKET,
    CAIRN_CRASH_S3_PREFIX, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).  Every object
    PREFIX/ID/manifest.json must have each of its files at PREFIX/ID/PATH."""
    endpoint = os.environ.get("CAIRN_CRASH_S3_ENDPOINT")
    if not endpoint:
        return
    import botocore.session
    session = botocore.session.get_session()
    s3 = session.create_client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = os.environ["CAIRN_CRASH_S3_BUCKET"]
    prefix = os.environ.get("CAIRN_CRASH_S3_PREFIX", "").strip("/")
    keys = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(o["Key"] for o in page.get("Contents", []))
    for key in sorted(k for k in keys if k.endswith("/manifest.json")):
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        base = key[:-len("manifest.json")]
        missing = [f["path"] for f in manifest["files"] if base + f["path"] not in keys]
        if missing:
            h.fail("kill %d: remote manifest %s names missing objects: %r" % (kill, key, missing[:5]))


if __name__ == "__main__":
    cairnlib.main()
