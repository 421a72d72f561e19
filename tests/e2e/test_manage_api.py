"""The backup management API (Rackspace Cloud Backup v2 and Scalingo shapes)
on the real binary over loopback: tokens, starting through both APIs, live
counters of a rate-limited Pact backup, stopping it, events surviving a
restart, list paging, delete, scheduled jobs skipped while one runs and
while the cut stands still, completed_with_errors when retention fails,
and the download link: the archive extracts with tar --zstd and verifies,
forged, other-backup and expired links get 403 and no data, and a client
that hangs up after 1 MB leaves the node serving."""
import json
import os
import socket
import struct
import subprocess
import time
import urllib.parse

import cairnlib

TOKEN = "t0ken-for-the-management-api"
DB = "development"
PATCH_TYPE = "application/json-patch+json"
STOP = json.dumps([{"op": "replace", "path": "/state", "value": "stop_requested"}])


class ManageApiTest(cairnlib.TestCase):
    def setUp(self):
        self.make_backup_files("manage", "another-operator-token\n" + TOKEN + "\n")

    def call(self, node, method, path, body=None, headers=None, token=TOKEN):
        h = {"X-Auth-Token": token} if token else {}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return node.request(method, path, headers=h, body=body)

    def start(self, node, pact=True):
        r = self.call(node, "POST", "/v2/%s/backups" % DB, json.dumps({"state": "start_requested", "backupPact": pact}))
        self.assertIn(r.status, (200, 201), r)
        return r

    def detail(self, node, backup_id):
        r = self.call(node, "GET", "/v2/%s/backups/%s" % (DB, backup_id))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_state(self, node, backup_id, states, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.detail(node, backup_id)
            if d["state"] in states:
                return d
            time.sleep(0.05)
        self.fail("backup %s never reached %s: %r" % (backup_id, states, d))

    def check_backup(self, node, backup_id):
        return node.get("/chainweb/0.0/%s/check-backup/%s" % (DB, backup_id)).text

    def test_tokens(self):
        with self.management_node() as node:
            path = "/v2/%s/backups" % DB
            for token in (None, "wrong-token-of-the-same-length!", "short"):
                r = self.call(node, "GET", path, token=token)
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
                self.assertTrue(r.text.endswith("\n") and r.text.count("\n") == 1, r.text)
            self.assertEqual(self.call(node, "GET", path).status, 200)
            r = node.request("GET", "/api/databases/%s/backups" % DB, headers={"Authorization": "Bearer " + TOKEN})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"database_backups": []})
            self.assertEqual(self.call(node, "GET", "/v2/another-db/backups").status, 404)
            self.assertRegex(node.log, r"WARN .*127\.0\.0\.1")
            # the seed endpoints need no token
            self.assertEqual(node.get("/health-check").status, 200)
        os.chmod(self.tokens, 0o644)
        r = subprocess.run([cairnlib.cairn_bin(), "node", "--database-directory", os.path.join(self.tmp, "db2"),
                            "--backup-directory", self.backups, "--enable-management-api",
                            "--management-token-file", self.tokens], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("managementApi.tokenFile", r.stderr)

    def test_bad_bodies(self):
        with self.management_node() as node:
            path = "/v2/%s/backups" % DB
            for body, field in (('{"state": "start_requested", "backupPact": "yes"}', "backupPact"),
                                ('{"state": "start_requested", "extra": 1}', "extra"),
                                ('{"state": "stop_requested"}', "state"),
                                ('{"state": ', None)):
                r = self.call(node, "POST", path, body)
                self.assertEqual(r.status, 400, (body, r))
                if field:
                    self.assertIn(field, r.text)
            r = self.call(node, "POST", path, "x" * (65 * 1024))
            self.assertEqual(r.status, 413, r)
            self.assertEqual(self.call(node, "GET", path + "/../../etc").status, 404)

    def test_live_counters_stop_and_events_after_restart(self):
        node = self.management_node("--backup-rate-limit", "200000", "--backup-parallelism", "1")
        with node:
            node.wait_for_cut(lambda cut: cut["height"] >= 40)
            r = self.start(node)
            self.assertEqual(r.status, 201, r)
            first = r.json()
            backup_id = first["id"]
            self.assertEqual(r.header("Location"), "http://%s/v2/%s/backups/%s" % (node.address, DB, backup_id))
            # while it runs, starting again answers the running job
            again = self.call(node, "POST", "/api/databases/%s/backups" % DB, token=None,
                              headers={"Authorization": "Bearer " + TOKEN})
            self.assertEqual(again.status, 200, again)
            self.assertEqual(again.json()["database_backup"]["id"], backup_id)
            # a loaded machine may answer before the job's thread left "queued"
            self.assertIn(again.json()["database_backup"]["status"], ("scheduled", "running"))
            d1 = self.wait_state(node, backup_id, ("in_progress",))
            a = self.wait_bytes(node, backup_id, d1["bytes_backed_up"])
            time.sleep(0.25)
            b = self.detail(node, backup_id)
            self.assertEqual(b["state"], "in_progress", b)
            self.assertGreater(b["bytes_backed_up"], a["bytes_backed_up"])
            self.assertGreater(b["bandwidth_avg_bps"], 0)
            r = self.call(node, "PATCH", "/v2/%s/backups/%s" % (DB, backup_id), STOP, {"Content-Type": PATCH_TYPE})
            self.assertEqual(r.status, 204, r)
            stopped_at = time.monotonic()
            d = self.wait_state(node, backup_id, ("stopped", "failed", "completed"), timeout=5)
            self.assertEqual(d["state"], "stopped", d)
            self.assertLess(time.monotonic() - stopped_at, 1.5)
            self.assertFalse(d["restorable"])
            self.assertEqual(self.check_backup(node, backup_id), "backup-failed")
            self.assertFalse(os.path.exists(os.path.join(self.backups, backup_id, "0")))
            r = self.call(node, "PATCH", "/v2/%s/backups/%s" % (DB, backup_id), STOP, {"Content-Type": PATCH_TYPE})
            self.assertEqual(r.status, 409, r)
            r = self.call(node, "PATCH", "/v2/%s/backups/%s" % (DB, backup_id), STOP)
            self.assertEqual(r.status, 415, r)
            bad = json.dumps([{"op": "replace", "path": "/state", "value": "completed"}])
            r = self.call(node, "PATCH", "/v2/%s/backups/%s" % (DB, backup_id), bad, {"Content-Type": PATCH_TYPE})
            self.assertEqual(r.status, 400, r)
            events = self.events(node, backup_id)
        types = [e["type"] for e in events]
        self.assertEqual(types[:3], ["backup_queued", "backup_preparing", "backup_in_progress"])
        self.assertIn("backup_stop_request", types)
        self.assertEqual(types[-1], "backup_stopped")
        self.assertEqual([e["index"] for e in events], list(range(len(events))))
        self.assertEqual(events, sorted(events, key=lambda e: e["time"]))
        with node:  # started again, on the same directories
            self.assertEqual(self.events(node, backup_id), events)
            self.assertEqual(self.detail(node, backup_id)["state"], "stopped")

    def wait_bytes(self, node, backup_id, above, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.detail(node, backup_id)
            if d["bytes_backed_up"] > above:
                return d
            time.sleep(0.02)
        self.fail("no bytes backed up")

    def events(self, node, backup_id):
        r = self.call(node, "GET", "/v2/%s/backups/%s/events" % (DB, backup_id))
        self.assertEqual(r.status, 200, r)
        return r.json()["events"]

    def test_list_paging_delete_and_download(self):
        with self.management_node() as node:
            ids = []
            for _ in range(3):
                backup_id = self.start(node).json()["id"]
                d = self.wait_state(node, backup_id, ("completed",))
                self.assertTrue(d["restorable"])
                self.assertIsInstance(d["snapshot_id"], int)
                self.assertTrue(d["ended_time"].endswith("Z"))
                self.assertEqual(self.check_backup(node, backup_id), "backup-done")
                ids.append(backup_id)
            page = self.call(node, "GET", "/v2/%s/backups?limit=2" % DB).json()
            self.assertEqual([b["id"] for b in page["backups"]], ids[::-1][:2])
            nxt = [l for l in page["links"] if l["rel"] == "next"][0]["href"]
            rest = self.call(node, "GET", urllib.parse.urlsplit(nxt).path + "?" + urllib.parse.urlsplit(nxt).query)
            self.assertEqual([b["id"] for b in rest.json()["backups"]], ids[:1])
            asc = self.call(node, "GET", "/v2/%s/backups?sort_dir=asc&marker=%s" % (DB, ids[1])).json()
            self.assertEqual([b["id"] for b in asc["backups"]], ids[1:])
            self.assertEqual(self.call(node, "GET", "/v2/%s/backups?limit=0" % DB).status, 400)
            self.assertEqual(self.call(node, "GET", "/v2/%s/backups?sort_dir=up" % DB).status, 400)
            scalingo = node.request("GET", "/api/databases/%s/backups" % DB,
                                    headers={"Authorization": "Bearer " + TOKEN}).json()["database_backups"]
            self.assertEqual([b["id"] for b in scalingo], ids[::-1])
            self.assertTrue(all(b["status"] == "done" and b["method"] == "manual" and b["size"] > 0
                                for b in scalingo), scalingo)
            self.assertRegex(scalingo[0]["name"], r"^\d{14}_" + DB + "$")

            link = self.link(node, ids[2])
            r = node.get(link)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("Content-Disposition"),
                             'attachment; filename="%s.tar.zst"' % scalingo[0]["name"])
            archive = os.path.join(self.tmp, "backup.tar.zst")
            with open(archive, "wb") as f:
                f.write(r.body)
            out = os.path.join(self.tmp, "out")
            os.makedirs(out)
            subprocess.run(["tar", "--zstd", "-xf", archive, "-C", out], check=True)
            v = cairnlib.run_cairn(["backup", "verify", os.path.join(out, ids[2])])
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            # the link is for that backup only, and altered links are refused
            other = link.replace(ids[2], ids[1])
            self.assertEqual(node.get(other).status, 403)
            token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
            expires, mac = token.split(".")
            forged = link.replace(token, "%d.%s" % (int(expires) + 1000, mac))
            r = node.get(forged)
            self.assertEqual(r.status, 403, r)
            self.assertNotIn(b"\x28\xb5\x2f\xfd", r.body)  # no zstd frame
            self.assertEqual(node.get(link.replace(token, "garbage")).status, 403)

            r = self.call(node, "DELETE", "/v2/%s/backups/%s" % (DB, ids[0]))
            self.assertEqual(r.status, 204, r)
            self.assertFalse(os.path.exists(os.path.join(self.backups, ids[0])))
            self.assertEqual(self.call(node, "GET", "/v2/%s/backups/%s" % (DB, ids[0])).status, 404)
            self.assertEqual(self.call(node, "GET", "/v2/%s/backups/not..valid" % DB).status, 404)

    def link(self, node, backup_id):
        r = node.request("GET", "/api/databases/%s/backups/%s/archive" % (DB, backup_id),
                         headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(r.status, 200, r)
        url = urllib.parse.urlsplit(r.json()["download_url"])
        self.assertEqual(url.netloc, node.address)
        return url.path + "?" + url.query

    def test_expired_link(self):
        with self.management_node("--management-download-link-seconds", "1") as node:
            backup_id = self.start(node, pact=False).json()["id"]
            self.wait_state(node, backup_id, ("completed",))
            link = self.link(node, backup_id)
            time.sleep(2.1)
            self.assertEqual(node.get(link).status, 403)

    def test_skipped_scheduled_backup(self):
        node = self.management_node("--backup-rate-limit", "100000", "--backup-parallelism", "1",
                         "--backup-schedule-interval", "1s", "--backup-schedule-pact")
        with node:
            self.assertTrue(node.wait_for_log(r"backup \d+ skipped: backup \d+ was running", 30), node.log)
            listing = self.call(node, "GET", "/v2/%s/backups?limit=1000" % DB).json()["backups"]
            skipped = [b for b in listing if b["state"] == "skipped"]
            self.assertTrue(skipped, listing)
            self.assertEqual(skipped[0]["configuration"]["id"], "scheduled")
            self.assertEqual(self.check_backup(node, skipped[0]["id"]), "backup-failed")
            types = [e["type"] for e in self.events(node, skipped[0]["id"])]
            self.assertEqual(types, ["backup_queued", "backup_skipped"])

    def test_scheduled_backup_skipped_while_the_cut_stands_still(self):
        with self.management_node("--block-rate", "0", "--backup-schedule-interval", "1s") as node:
            self.assertTrue(node.wait_for_log(r"backup \d+ skipped: the cut has not moved since backup \d+", 30),
                            node.log)
            listing = self.call(node, "GET", "/v2/%s/backups?limit=1000" % DB).json()["backups"]
            states = [b["state"] for b in listing]
            self.assertEqual(states.count("completed"), 1, states)
            self.assertIn("skipped", states)
            # a request of an operator is never skipped
            backup_id = self.start(node, pact=False).json()["id"]
            self.assertEqual(self.wait_state(node, backup_id, ("completed", "failed"))["state"], "completed")

    def test_retention_failure_completes_with_errors(self):
        with self.management_node("--block-rate", "20", "--backup-retention-keep-last", "1") as node:
            first = self.start(node, pact=False).json()["id"]
            self.wait_state(node, first, ("completed",))
            # an interrupted delete's leftover in the way: retention cannot move `first` aside
            obstacle = os.path.join(self.backups, ".deleting-" + first)
            os.makedirs(os.path.join(obstacle, "left"))
            second = self.start(node, pact=False).json()["id"]
            d = self.wait_state(node, second, ("completed", "completed_with_errors", "failed"))
            self.assertEqual(d["state"], "completed_with_errors", d)
            self.assertTrue(d["restorable"], d)
            errors = self.call(node, "GET", "/v2/%s/backups/%s/errors" % (DB, second)).json()
            self.assertEqual([e["type"] for e in errors["list"]], ["retention"], errors)
            self.assertIn(first, errors["list"][0]["description"])
            self.assertEqual(self.check_backup(node, second), "backup-done")
            self.assertEqual(self.check_backup(node, first), "backup-done")  # kept, not half-deleted
            types = [e["type"] for e in self.events(node, second)]
            self.assertEqual(types[-1], "backup_completed", types)
        r = cairnlib.run_cairn(["backup", "verify", os.path.join(self.backups, second)])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_download_abandoned_after_one_megabyte(self):
        # about 1 MB of compressed archive per 20 blocks of 200 transactions
        with self.management_node("--block-rate", "max", "--transactions-per-block", "200") as node:
            node.wait_for_cut(lambda cut: cut["height"] > 100, timeout=120)
            backup_id = self.start(node, pact=True).json()["id"]
            self.wait_state(node, backup_id, ("completed",))
            link = self.link(node, backup_id)
            sock = node.connect()
            sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (link, node.address)).encode())
            received = 0
            while received < 1 << 20:
                chunk = sock.recv(65536)
                self.assertTrue(chunk, "the archive ended after %d bytes" % received)
                received += len(chunk)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # a reset, mid-stream
            height = node.get_json("/cut")["height"]
            self.assertEqual(node.get("/health-check").status, 200)
            node.wait_for_cut(lambda cut: cut["height"] > height, timeout=30)
            whole = node.get(link, timeout=60)
            self.assertEqual(whole.status, 200)
            self.assertGreater(len(whole.body), 1 << 20)
            self.assertTrue(os.path.isdir(os.path.join(self.backups, backup_id)))


if __name__ == "__main__":
    cairnlib.main()
