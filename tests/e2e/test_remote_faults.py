"""Remote copies under faults, against s3rver on loopback: the store stopped in
the middle of an upload (the job ends completed_with_errors with an upload
error, and `cairn backup upload` later completes it); the node SIGKILLed
during an upload (no remote manifest for the incomplete backup, and a retry
completes it); a corrupted object in the store (verify names it, restore
refuses and leaves no target); remote retention and `delete --remote` keep
every object the remaining backups share and remove the others."""
import json
import os
import signal
import subprocess
import time

import cairnlib
import s3lib

TOKEN = "t0ken-for-the-management-api"
DB = "development"
SLOW = "rateLimit: 1000000\nparallelism: 2"  # a few MB take seconds to send


class RemoteFaultTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = s3lib.S3Server().start()
        os.environ.update(cls.s3.env())

    @classmethod
    def tearDownClass(cls):
        cls.s3.close()

    def setUp(self):
        self.make_backup_files("remote-faults", TOKEN + "\n")

    def node(self, prefix, extra=""):
        self.prefix = prefix
        # the commands run without the node's speed limit
        self.config = self.s3.write_config(self.tmp, self.backups, prefix)
        node_config = self.s3.write_config(self.tmp, self.backups, prefix, extra, name="node.yaml")
        return cairnlib.Node(["--config-file", node_config, "--enable-backup-api", "--enable-management-api",
                              "--management-token-file", self.tokens, "--block-rate", "max"],
                             database_directory=os.path.join(self.tmp, "db"))

    def uploaded_backup(self, prefix):
        """The id of a Pact backup a node made and uploaded under `prefix`."""
        with self.node(prefix) as node:
            cairnlib.wait_cut_height(node, 200)
            backup_id, state = cairnlib.make_backup(node, pact=True)
            self.assertEqual(state, "backup-done")
            self.assertEqual(node.stop(), 0)
        return backup_id

    def call(self, node, path):
        r = node.request("GET", "/v2/%s/backups/%s" % (DB, path), headers={"X-Auth-Token": TOKEN})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def start_backup(self, node):
        r = node.request("POST", "/make-backup?backupPact")
        self.assertEqual(r.status, 200, r)
        return r.text

    def wait_detail(self, node, backup_id, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.call(node, backup_id)
            if predicate(d):
                return d
            time.sleep(0.05)
        self.fail("backup %s: %r" % (backup_id, d))

    def wait_stored(self, count, timeout=60):
        """Waits until the store holds `count` objects of the upload (its marker and files)."""
        deadline = time.monotonic() + timeout
        while self.s3.stored_count(self.prefix) < count:
            self.assertLess(time.monotonic(), deadline, "the upload stored nothing")
            time.sleep(0.02)

    def manifest_key(self, backup_id):
        return "%s/backups/%s/manifest.json" % (self.prefix, backup_id)

    def cli(self, *args):
        return cairnlib.backup_cli(list(args) + ["--config-file", self.config])

    def remote_manifest(self, backup_id):
        path = os.path.join(self.tmp, "m.json")
        self.s3.get(self.manifest_key(backup_id), path)
        with open(path) as f:
            return json.load(f)

    def test_store_stopped_during_upload_then_upload_completes(self):
        with self.node("stopped", SLOW) as node:
            cairnlib.wait_cut_height(node, 300)
            backup_id = self.start_backup(node)
            self.wait_stored(6)
            self.s3.stop()
            try:
                d = self.wait_detail(node, backup_id, lambda d: d["state"] not in (
                    "queued", "preparing", "in_progress"), timeout=120)
            finally:
                self.s3.start()
            self.assertEqual(d["state"], "completed_with_errors", d)
            self.assertTrue(d["restorable"], d)
            errors = self.call(node, backup_id + "/errors")["list"]
            self.assertEqual([e["type"] for e in errors], ["upload"], errors)
            self.assertIn("s3://%s/stopped" % s3lib.BUCKET, errors[0]["description"])
            self.assertEqual(node.get("/check-backup/" + backup_id).text, "backup-done")
            self.assertNotIn(self.manifest_key(backup_id), self.s3.keys(self.prefix))
            # by hand, while the node runs: only what is missing is sent
            r = self.cli("upload", backup_id)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"MB sent \(\d+ bytes\); [1-9]\d* objects, [0-9.]+ MB already stored")
            self.assertEqual(node.stop(), 0)
        r = cairnlib.backup_cli(["verify", self.s3.url("stopped/" + backup_id), "--config-file", self.config])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_sigkill_during_upload_then_retry(self):
        node = self.node("killed", SLOW)
        with node:
            cairnlib.wait_cut_height(node, 300)
            backup_id = self.start_backup(node)
            self.wait_stored(6)
            node.kill()
            keys = self.s3.keys(self.prefix)
            self.assertIn("killed/uploads/" + backup_id, keys)
            self.assertNotIn(self.manifest_key(backup_id), keys)
            r = self.cli("list", "--remote", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            listed = {b["id"]: b for b in json.loads(r.stdout)}
            self.assertEqual(listed[backup_id]["status"], "backup-in-progress", listed)
            self.assertIsNone(listed[backup_id]["cutHeight"])
            r = cairnlib.backup_cli(["restore", self.s3.url("killed/" + backup_id), "--config-file", self.config,
                                     "--database-directory", os.path.join(self.tmp, "never")])
            self.assertEqual(r.returncode, 1)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "never")))
            node.start()  # the sealed local backup stays
            self.assertEqual(node.get("/check-backup/" + backup_id).text, "backup-done")
            self.assertEqual(node.stop(), 0)
        r = self.cli("upload", backup_id)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        keys = self.s3.keys(self.prefix)
        self.assertIn(self.manifest_key(backup_id), keys)
        self.assertNotIn("killed/uploads/" + backup_id, keys)
        r = cairnlib.backup_cli(["verify", self.s3.url("killed/" + backup_id), "--full", "--config-file",
                                 self.config])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_stop_request_and_shutdown_cancel_an_upload(self):
        with self.node("cancelled", SLOW) as node:
            cairnlib.wait_cut_height(node, 300)
            backup_id = self.start_backup(node)
            self.wait_stored(3)
            r = node.request("PATCH", "/v2/%s/backups/%s" % (DB, backup_id), headers={
                "X-Auth-Token": TOKEN, "Content-Type": "application/json-patch+json"},
                body='[{"op": "replace", "path": "/state", "value": "stop_requested"}]')
            self.assertEqual(r.status, 204, r)
            d = self.wait_detail(node, backup_id, lambda d: d["state"] not in ("in_progress", "stop_requested"),
                                 timeout=10)
            self.assertEqual(d["state"], "completed_with_errors", d)
            self.assertTrue(d["restorable"], d)
            self.assertNotIn(self.manifest_key(backup_id), self.s3.keys(self.prefix))
            # the node's shutdown cancels the next one within its drain
            second = self.start_backup(node)
            self.wait_detail(node, second, lambda d: d["upload_bytes"] > 0)
            started = time.monotonic()
            self.assertEqual(node.stop(), 0)
            self.assertLess(time.monotonic() - started, 8)
        self.assertNotIn(self.manifest_key(second), self.s3.keys(self.prefix))

    def test_corrupted_object(self):
        backup_id = self.uploaded_backup("corrupt")
        manifest = self.remote_manifest(backup_id)
        victim = [o for o in manifest["objects"] if o["path"].endswith(".sst")][0]
        stored = self.s3.object_path("corrupt/" + victim["key"])
        self.assertTrue(os.path.exists(stored), stored)
        with open(stored, "r+b") as f:
            f.seek(victim["size"] // 2)
            byte = f.read(1)
            f.seek(victim["size"] // 2)
            f.write(bytes([byte[0] ^ 0xFF]))
        url = self.s3.url("corrupt/" + backup_id)
        r = self.cli("verify", url)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(victim["key"], r.stdout)
        self.assertIn("FAILED", r.stdout)
        target = os.path.join(self.tmp, "restored")
        r = self.cli("restore", url, "--database-directory", target)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(victim["key"], r.stderr)
        self.assertFalse(os.path.exists(target))

    def test_restore_killed_then_rerun(self):
        backup_id = self.uploaded_backup("restore")
        slow = self.s3.write_config(self.tmp, self.backups, "restore", SLOW, name="slow.yaml")
        target = os.path.join(self.tmp, "restored")
        url = self.s3.url("restore/" + backup_id)
        command = [cairnlib.cairn_bin(), "backup", "restore", url, "--config-file", slow, "--database-directory",
                   target]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=self.s3.env())
        sqlite = os.path.join(target + ".fetching", "0", "sqlite")
        deadline = time.monotonic() + 60
        while not (os.path.isdir(sqlite) and len(os.listdir(sqlite)) >= 3) and process.poll() is None:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.assertIsNone(process.poll(), "the restore ended before it could be killed")
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.assertFalse(os.path.exists(target))
        self.assertFalse(os.path.exists(os.path.join(target + ".fetching", "status")))
        r = self.cli("restore", url, "--database-directory", target)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"[1-9]\d* objects kept from an interrupted download")
        with open(os.path.join(self.backups, backup_id, "manifest.json")) as f:
            for entry in json.load(f)["files"]:
                self.assertEqual(os.path.getsize(os.path.join(target, entry["path"])), entry["size"], entry)
        self.assertFalse(os.path.exists(target + ".fetching"))

    def test_retention_keeps_shared_objects(self):
        with self.node("retained", "retention:\n  keepLast: 2") as node:
            ids = []
            for height in (150, 250, 350):
                cairnlib.wait_cut_height(node, height)
                backup_id, state = cairnlib.make_backup(node, pact=True)
                self.assertEqual(state, "backup-done")
                ids.append(backup_id)
            self.assertEqual(node.stop(), 0)
        keys = self.s3.keys(self.prefix)
        self.assertNotIn(self.manifest_key(ids[0]), keys)
        self.assertFalse([k for k in keys if k.startswith("retained/backups/%s/" % ids[0])])
        remaining = [self.remote_manifest(i) for i in ids[1:]]
        needed = {"retained/" + o["key"] for m in remaining for o in m["objects"]}
        self.assertTrue(needed <= set(keys), needed - set(keys))
        content = {k for k in keys if k.startswith("retained/objects/")}
        self.assertEqual(content, {k for k in needed if k.startswith("retained/objects/")})
        # deleting the older of the two keeps what the newest shares with it
        r = self.cli("delete", "--remote", ids[1])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        keys = self.s3.keys(self.prefix)
        newest = {"retained/" + o["key"] for o in remaining[1]["objects"]}
        self.assertTrue(newest <= set(keys), newest - set(keys))
        self.assertEqual({k for k in keys if k.startswith("retained/objects/")},
                         {k for k in newest if k.startswith("retained/objects/")})
        self.assertEqual({k for k in keys if "/manifest.json" in k}, {self.manifest_key(ids[2])})
        r = self.cli("delete", "--remote", ids[2])
        self.assertEqual(r.returncode, 1)
        self.assertIn("newest complete backup", r.stderr)


if __name__ == "__main__":
    cairnlib.main()
