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
  - remote copies: the node uploads every backup to a local s3rver
    (tests/e2e/s3lib.py; backup.remote.upload always, remote retention
    keepLast REMOTE_KEEP_LAST) and the client thread also runs `cairn
    backup upload ID` on a random done backup as a separate process, one
    in four of them SIGKILLed at a random moment.  After each kill every
    remote manifest's objects are in the bucket with the listed size, and
    no remote backup once seen complete is gone unless at least
    REMOTE_KEEP_LAST newer ones were seen complete (remote retention); an
    upload that failed must concern a backup no longer done locally; on
    every REMOTE_VERIFY_EVERY-th kill and the last, `cairn backup verify
    s3://...` streams a random complete remote backup through SHA-256.
The counts are printed at the end: kills, backups done, verified,
restored, downloads, uploads, remote checks, failures found.
CAIRN_CRASH_SEED replays a run.
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
import s3lib

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
REMOTE_KEEP_LAST = 6
REMOTE_PREFIX = "crash"
REMOTE_VERIFY_EVERY = int(os.environ.get("CAIRN_CRASH_REMOTE_VERIFY_EVERY", "10"))
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
    "upload": (0,),                # the process's start only; its exit is judged after the kill
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
        self.remote_verify_due = False
        self.counts = {"kills": 0, "backups done": 0, "verified": 0, "restored": 0, "verified in full": 0, "restores killed": 0, "downloads": 0,
                       "uploads started": 0, "uploads killed": 0, "uploads done": 0, "uploads failed": 0,
                       "remote checks": 0, "remote manifests checked": 0, "remote verified": 0,
                       "torn manifests (test store) refused": 0,
                       "calls": 0, "failures found": 0}
        self.failures = []
        self.config = None       # the node's configuration file naming the remote
        self.upload = None       # (id, Popen) of the running `cairn backup upload`, at most one
        self.finished_uploads = []   # (id, exit status, output) to judge after the next restart
        self.present = set()         # ids done on disk at the last check
        self.remote_seen = set()     # ids whose remote manifest was ever seen
        self.remote_manifests = {}   # id -> remote manifest (never rewritten once stored)

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
        kind = self.rng.choice(["start", "start", "stop", "delete", "list", "list", "detail", "download", "upload"])
        if kind == "upload":
            return kind, self.start_upload()
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

    def start_upload(self):
        """Starts `cairn backup upload ID` on a random backup done at the last check (and not deleted
        since) unless one runs (0: started or skipped)."""
        with self.lock:
            done = sorted(self.present - self.deleted)
            if self.upload is not None or not done:
                return 0
            backup_id = self.rng.choice(done)
            out = open(os.path.join(self.tmp, "upload.log"), "w")
            p = subprocess.Popen([cairnlib.cairn_bin(), "backup", "upload", backup_id, "--config-file", self.config,
                                  "--log-level", "warn"], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            out.close()
            self.upload = (backup_id, p)
            self.counts["uploads started"] += 1
        return 0

    def end_upload(self):
        """After the node's kill: SIGKILLs the running upload (one in four) or waits for it."""
        if self.upload is None:
            return
        backup_id, p = self.upload
        self.upload = None
        if p.poll() is None and self.rng.random() < 0.25:
            time.sleep(self.rng.uniform(0.0, 0.3))
            p.kill()
            if p.wait() == -9:
                self.counts["uploads killed"] += 1
                return
        try:
            status = p.wait(120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.fail("upload of %s still ran after 120 s" % backup_id)
            return
        with open(os.path.join(self.tmp, "upload.log")) as f:
            self.finished_uploads.append((backup_id, status, f.read()[-2000:]))

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
        self.tokens = cairnlib.write_token_file(os.path.join(self.tmp, "tokens"), TOKEN + "\n")
        self.s3 = s3lib.S3Server().start()
        self.saved_env = dict(os.environ)
        os.environ.update(self.s3.env())

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved_env)
        self.s3.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_crash_harness(self):
        rng = random.Random(SEED)
        print("crash harness: seed %d, %d kills" % (SEED, KILLS), flush=True)
        h = Harness(rng, self.tmp)
        h.config = self.s3.write_config(self.tmp, h.backups, prefix=REMOTE_PREFIX, extra=(
            "upload: always\nparallelism: 4\nretention:\n  keepLast: %d" % REMOTE_KEEP_LAST))
        common = ["--drain-seconds", "0", "--backup-directory", h.backups, "--enable-backup-api",
                  "--enable-management-api", "--management-token-file", self.tokens]
        live = common + ["--block-rate", "max", "--backup-schedule-interval", "1s", "--backup-schedule-pact",
                         "--backup-retention-keep-last", str(KEEP_LAST), "--config-file", h.config]
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
                h.end_upload()
                previous = self.check_after_restart(h, node, check, previous, kill)
            elapsed = time.monotonic() - began
        except BaseException:
            print(node.log[-20000:])
            raise
        finally:
            node.close()
            if h.upload is not None:
                h.upload[1].kill()
                h.upload[1].wait()
        print("crash harness: %s in %.0f s (seed %d)" % (
            ", ".join("%s %d" % kv for kv in h.counts.items()), elapsed, SEED), flush=True)
        self.assertEqual(h.failures, [])
        self.assertEqual(h.counts["kills"], KILLS)
        self.assertGreater(h.counts["backups done"], 0)
        self.assertGreater(h.counts["restored"], 0)
        self.assertGreater(h.counts["remote manifests checked"], 0)
        self.assertGreater(h.counts["remote verified"], 0)

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
        self.judge_uploads(h, present, kill)
        with h.lock:
            h.present = present
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
        self.check_remote(h, kill)
        if TRACE:
            print("kill %d: height %d, restart checks %.1f s, %d quick verifies %.1f s, restore %.1f s" % (
                kill, sum(height for height, _ in cut.values()), t1 - t0, len(present), t2 - t1,
                time.monotonic() - t2), flush=True)
        return cut

    # -- remote copies --

    def judge_uploads(self, h, present, kill):
        """A finished `cairn backup upload` succeeded, or its backup is no longer done here (deleted by
        the harness or by retention meanwhile)."""
        for backup_id, status, output in h.finished_uploads:
            if status == 0:
                h.counts["uploads done"] += 1
                continue
            h.counts["uploads failed"] += 1
            if backup_id in present and backup_id not in h.deleted:
                h.fail("kill %d: upload of done backup %s exited with %d: %s" % (kill, backup_id, status, output))
        h.finished_uploads = []

    def check_remote(self, h, kill):
        """Every remote manifest's objects are stored with the listed size; no remote backup once seen
        complete is gone unless remote retention may have removed it; now and then a streamed verify."""
        keys = self.s3.keys(REMOTE_PREFIX + "/")
        base = REMOTE_PREFIX + "/backups/"
        complete = sorted(k[len(base):-len("/manifest.json")] for k in keys
                          if k.startswith(base) and k.endswith("/manifest.json"))
        torn = set()
        for backup_id in complete:
            manifest = h.remote_manifests.get(backup_id)
            if manifest is None:
                path = os.path.join(self.tmp, "remote-manifest.json")
                self.s3.get("%s%s/manifest.json" % (base, backup_id), path)
                try:
                    with open(path) as f:
                        manifest = h.remote_manifests[backup_id] = json.load(f)
                except ValueError:
                    # s3rver writes an object in place: a PUT cut short by a kill can leave a torn
                    # manifest listed, which a real store never shows.  cairn must not take it
                    # for a complete backup.
                    self.check_torn_manifest(h, backup_id, kill)
                    torn.add(backup_id)
                    continue
            wrong = [(o["key"], o["size"], keys.get(REMOTE_PREFIX + "/" + o["key"])) for o in manifest["objects"]
                     if keys.get(REMOTE_PREFIX + "/" + o["key"]) != o["size"]]
            if wrong:
                h.fail("kill %d: remote backup %s names missing or short objects (key, size, stored): %r" % (
                    kill, backup_id, wrong[:5]))
            h.counts["remote manifests checked"] += 1
        complete = [b for b in complete if b not in torn]
        h.remote_seen.update(complete)
        for backup_id in sorted(h.remote_seen - set(complete)):
            newer = sum(1 for other in h.remote_seen if int(other) > int(backup_id))
            if newer < REMOTE_KEEP_LAST:
                h.fail("kill %d: remote backup %s vanished (%d newer seen complete)" % (kill, backup_id, newer))
            h.remote_manifests.pop(backup_id, None)
        h.counts["remote checks"] += 1
        # due on every REMOTE_VERIFY_EVERY-th kill and the last, deferred while the store holds none
        h.remote_verify_due |= kill % REMOTE_VERIFY_EVERY == REMOTE_VERIFY_EVERY - 1 or kill == KILLS - 1
        if h.remote_verify_due and complete:
            h.remote_verify_due = False
            backup_id = h.rng.choice(complete)
            r = cairnlib.backup_cli(["verify", self.s3.url("%s/%s" % (REMOTE_PREFIX, backup_id)), "--config-file",
                                     h.config, "--log-level", "warn"])
            if r.returncode != 0:
                h.fail("kill %d: remote backup %s does not verify: %s" % (kill, backup_id, r.stdout + r.stderr))
            else:
                h.counts["remote verified"] += 1

    def check_torn_manifest(self, h, backup_id, kill):
        r = cairnlib.backup_cli(["list", "--remote", "--json", "--config-file", h.config, "--log-level", "error"])
        if r.returncode != 0:
            h.fail("kill %d: list --remote with a torn manifest in the store: %s" % (kill, r.stderr))
            return
        listed = {b["id"]: b for b in json.loads(r.stdout)}
        if listed.get(backup_id, {}).get("status") == "backup-done":
            h.fail("kill %d: a torn remote manifest of %s is listed as complete" % (kill, backup_id))
        h.counts["torn manifests (test store) refused"] += 1

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


if __name__ == "__main__":
    cairnlib.main()
