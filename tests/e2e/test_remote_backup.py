"""Backups copied to an S3-compatible store (s3rver on loopback), end to end: a
producing node uploads every backup once sealed; a second backup sends only
its new table files and its whole files (the byte count the management API
reports is exactly that); the awscli, an independent client, lists and
downloads what cairn stored and every object hashes to the remote manifest's
SHA-256; `list --remote` shows both backups; `verify s3://...` (streamed and
--full) passes; `restore s3://...` gives a node whose /cut is the manifest's
cut and whose coin tables equal the source backup's."""
import json
import os
import re
import shutil
import tempfile
import time

import cairnlib
import s3lib

TOKEN = "t0ken-for-the-management-api"
DB = "development"
PREFIX = "node"


class RemoteBackupTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cairn-e2e-remote-")
        cls.s3 = s3lib.S3Server().start()
        cls.backups = os.path.join(cls.tmp, "backups")
        cls.config = cls.s3.write_config(cls.tmp, cls.backups, PREFIX)
        tokens = cairnlib.write_token_file(os.path.join(cls.tmp, "tokens"), TOKEN + "\n")
        os.environ.update(cls.s3.env())
        node = cairnlib.Node(["--config-file", cls.config, "--enable-backup-api", "--enable-management-api",
                              "--management-token-file", tokens, "--block-rate", "max", "--enable-metrics"],
                             database_directory=os.path.join(cls.tmp, "db"))
        cls.details = {}
        with node:
            cairnlib.wait_cut_height(node, 250)
            cls.first, state = cairnlib.make_backup(node, pact=True)
            assert state == "backup-done", state
            cairnlib.wait_cut_height(node, cls.local_manifest(cls.first)["cut"]["height"] + 60)
            cls.second, state = cairnlib.make_backup(node, pact=True)
            assert state == "backup-done", state
            for backup_id in (cls.first, cls.second):
                r = node.request("GET", "/v2/%s/backups/%s" % (DB, backup_id), headers={"X-Auth-Token": TOKEN})
                assert r.status == 200, r
                cls.details[backup_id] = r.json()
            r = node.request("GET", "/metrics", headers={"X-Auth-Token": TOKEN})
            assert r.status == 200, r
            cls.metrics = r.text
            assert node.stop() == 0
            cls.node_log = node.log

    @classmethod
    def tearDownClass(cls):
        cls.s3.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def local_manifest(cls, backup_id):
        with open(os.path.join(cls.backups, backup_id, "manifest.json")) as f:
            return json.load(f)

    def remote_manifest(self, backup_id):
        path = os.path.join(self.tmp, "manifest-%s.json" % backup_id)
        self.s3.get("%s/backups/%s/manifest.json" % (PREFIX, backup_id), path)
        with open(path) as f:
            return json.load(f)

    def test_uploaded_by_the_job_with_counters(self):
        for backup_id in (self.first, self.second):
            d = self.details[backup_id]
            self.assertEqual(d["state"], "completed", d)
            self.assertGreater(d["upload_bytes"], 0, d)
            self.assertGreater(d["upload_bandwidth_bps"], 0, d)
            self.assertRegex(self.node_log, r"remote: backup %s uploaded to s3://%s/%s" % (
                backup_id, s3lib.BUCKET, PREFIX))

    def test_upload_metrics(self):
        sent = sum(self.details[b]["upload_bytes"] for b in (self.first, self.second))
        self.assertRegex(self.metrics, r"(?m)^cairn_backup_upload_bytes_total %d$" % sent)
        self.assertRegex(self.metrics, r"(?m)^cairn_backup_upload_failures_total 0$")
        newest = re.search(r'(?m)^cairn_backup_newest_restorable_timestamp_seconds\{location="remote"\} (\S+)$',
                           self.metrics)
        self.assertIsNotNone(newest, self.metrics)
        self.assertAlmostEqual(float(newest.group(1)), int(self.second) / 1000.0, delta=1.0)

    def test_upload_paced_by_backup_rate_limit(self):
        # backup.rateLimit paces uploads when the remote sets no rate of its own
        rate = max(self.details[self.first]["upload_bytes"] // 3, 100000)
        config = os.path.join(self.tmp, "paced.yaml")
        with open(config, "w") as f:
            f.write("backup:\n  directory: %s\n  rateLimit: %d\n  remote:\n    url: %s\n    endpoint: %s\n"
                    "    region: us-east-1\n" % (self.backups, rate, self.s3.url("paced"), self.s3.endpoint))
        started = time.monotonic()
        r = cairnlib.backup_cli(["upload", self.first, "--config-file", config])
        elapsed = time.monotonic() - started
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        sent = int(re.search(r"MB sent \((\d+) bytes\)", r.stdout).group(1))
        self.assertGreater(sent, 2 * rate)
        # a token bucket may send one second's worth at once, never more
        self.assertGreaterEqual(elapsed, sent / rate - 1.0)

    def test_second_upload_sends_only_new_objects(self):
        first, second = self.remote_manifest(self.first), self.remote_manifest(self.second)
        old_keys = {o["key"] for o in first["objects"]}
        new_bytes = sum(o["size"] for o in second["objects"] if o["key"] not in old_keys)
        shared = [o for o in second["objects"] if o["key"] in old_keys]
        self.assertTrue(shared, "the second backup shares no table file with the first")
        self.assertTrue(all(o["key"].startswith("objects/sha256/") for o in shared), shared)
        self.assertEqual(self.details[self.second]["upload_bytes"], new_bytes)
        self.assertEqual(self.details[self.first]["upload_bytes"], first["bytes"])
        self.assertLess(new_bytes, second["bytes"])
        # table files by content, everything else whole under the backup's prefix
        for o in second["objects"]:
            if o["path"].endswith(".sst"):
                self.assertEqual(o["key"], "objects/sha256/%s/%s" % (o["sha256"][:2], o["sha256"]))
            else:
                self.assertEqual(o["key"], "backups/%s/files/%s" % (self.second, o["path"]))
        # the remote manifest names exactly the local manifest's files, with their checksums where listed
        local = self.local_manifest(self.second)
        self.assertEqual(second["backup"], local)
        listed = {f["path"]: f for f in local["files"]}
        self.assertEqual(set(listed), {o["path"] for o in second["objects"]})
        for o in second["objects"]:
            self.assertEqual(o["size"], listed[o["path"]]["size"])
            if listed[o["path"]].get("sha256"):
                self.assertEqual(o["sha256"], listed[o["path"]]["sha256"])
        # no upload marker left
        self.assertFalse([k for k in self.s3.keys(PREFIX + "/uploads/")])

    def test_independent_client_reads_what_was_stored(self):
        target = os.path.join(self.tmp, "aws-copy")
        self.s3.aws(["s3", "cp", "--recursive", "--quiet", self.s3.url(PREFIX), target])
        for backup_id in (self.first, self.second):
            manifest = self.remote_manifest(backup_id)
            for o in manifest["objects"]:
                path = os.path.join(target, o["key"])
                self.assertEqual(os.path.getsize(path), o["size"], o["key"])
                self.assertEqual(s3lib.sha256_file(path), o["sha256"], o["key"])

    def test_list_remote(self):
        r = cairnlib.backup_cli(["list", "--remote", "--config-file", self.config, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = {b["id"]: b for b in json.loads(r.stdout)}
        self.assertEqual(set(listed), {self.first, self.second})
        for backup_id in (self.first, self.second):
            local = self.local_manifest(backup_id)
            self.assertEqual(listed[backup_id]["status"], "backup-done")
            self.assertEqual(listed[backup_id]["cutHeight"], local["cut"]["height"])
            self.assertTrue(listed[backup_id]["pactIncluded"])
        r = cairnlib.backup_cli(["list", "--remote", "--config-file", self.config])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^ID +TIME \(UTC\) +STATUS +SIZE +PACT +CUT HEIGHT\n")
        self.assertIn(self.second, r.stdout)

    def test_verify_from_the_store(self):
        url = self.s3.url("%s/%s" % (PREFIX, self.second))
        r = cairnlib.backup_cli(["verify", url, "--config-file", self.config])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r": ok: \d+ objects, [0-9.]+ MB read and checksummed")
        r = cairnlib.backup_cli(["verify", url, "--full", "--config-file", self.config])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r": ok: .* headers validated, .* 20 Pact files, cut height %d" %
                         self.local_manifest(self.second)["cut"]["height"])
        r = cairnlib.backup_cli(["verify", self.s3.url("%s/1234" % PREFIX), "--config-file", self.config])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no complete backup 1234", r.stderr)

    def test_restore_from_the_store(self):
        manifest = self.local_manifest(self.second)
        target = os.path.join(self.tmp, "restored")
        r = cairnlib.backup_cli(["restore", self.s3.url("%s/%s" % (PREFIX, self.second)), "--config-file",
                                 self.config, "--database-directory", target])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"restored .* into %s: \d+ objects" % target)
        self.assertFalse(os.path.exists(target + ".fetching"))
        self.assertFalse(os.path.exists(target + ".restoring"))
        for chain in manifest["cut"]["hashes"]:
            name = "pact-v1-chain-%s.sqlite" % chain
            source = cairnlib.coin_rows(os.path.join(self.backups, self.second, "0", "sqlite", name), in_backup=True)
            self.assertTrue(source, chain)
            self.assertEqual(cairnlib.coin_rows(os.path.join(target, "0", "sqlite", name)), source, chain)
        self.assertStartsAtCut(target, manifest["cut"]["hashes"], manifest["cut"]["height"])

    def test_refusals(self):
        r = cairnlib.backup_cli(["verify", "s3://", "--config-file", self.config])
        self.assertEqual(r.returncode, 2)
        r = cairnlib.backup_cli(["delete", "--remote", self.second, "--config-file", self.config])
        self.assertEqual(r.returncode, 1)
        self.assertIn("newest complete backup", r.stderr)
        r = cairnlib.backup_cli(["upload", self.second, "--config-file", self.config])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("complete there already", r.stdout)
        # misconfiguration is refused at start with the key and the reason
        bad = os.path.join(self.tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("backup:\n  directory: %s\n  remote:\n    url: http://not-s3\n" % self.backups)
        r = cairnlib.run_cairn(["node", "--config-file", bad, "--service-port", "0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("backup.remote.url", r.stderr)
        env = dict(self.s3.env())
        del env["AWS_ACCESS_KEY_ID"]
        r = cairnlib.run_cairn(["node", "--config-file", self.config, "--service-port", "0"], env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no credentials", r.stderr)
        with open(bad, "w") as f:
            f.write("backup:\n  directory: %s\n  remote:\n    url: s3://bucket/p\n    upload: sometimes\n" % self.backups)
        r = cairnlib.run_cairn(["node", "--config-file", bad, "--service-port", "0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("backup.remote.upload", r.stderr)


if __name__ == "__main__":
    cairnlib.main()
