"""End-to-end: backup.rateLimit paces the management API's archive download.

With --backup-rate-limit R, a download of an archive of S bytes takes at
least (S - one burst) / R seconds, arrives whole (it extracts and verifies),
and the server keeps answering other requests meanwhile: the connection is
parked between pieces, no server thread sleeps.  A node stopped in the
middle of a paced download exits cleanly and promptly.  Without a limit the same
download is not paced (it takes well under the paced time).
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

import cairnlib

TOKEN = "t0ken-for-the-management-api"
DB = "development"
RATE = 400000  # bytes per second
BURST = RATE // 8


class BackupRateLimitTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-ratelimit-")
        self.tokens = cairnlib.write_token_file(os.path.join(self.tmp, "tokens"), TOKEN + "\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, *extra):
        return cairnlib.Node(["--enable-backup-api", "--backup-directory", os.path.join(self.tmp, "backups"),
                              "--enable-management-api", "--management-token-file", self.tokens] + list(extra),
                             database_directory=os.path.join(self.tmp, "db"))

    def backup_link(self, node):
        headers = {"X-Auth-Token": TOKEN, "Content-Type": "application/json"}
        r = node.request("POST", "/v2/%s/backups" % DB, headers=headers,
                         body=json.dumps({"state": "start_requested", "backupPact": True}))
        self.assertIn(r.status, (200, 201), r)
        backup_id = r.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            d = node.request("GET", "/v2/%s/backups/%s" % (DB, backup_id), headers=headers).json()
            if d["state"] in ("completed", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(d["state"], "completed", d)
        r = node.request("GET", "/api/databases/%s/backups/%s/archive" % (DB, backup_id),
                         headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(r.status, 200, r)
        url = urllib.parse.urlsplit(r.json()["download_url"])
        return backup_id, url.path + "?" + url.query

    def health_checks(self, node, stop, slowest, failures):
        while not stop.is_set():
            t0 = time.monotonic()
            r = node.get("/health-check", timeout=10)
            slowest[0] = max(slowest[0], time.monotonic() - t0)
            if r.status != 200:
                failures.append(r.status)
            time.sleep(0.02)

    def test_download_is_paced_and_whole(self):
        with self.node("--block-rate", "max", "--transactions-per-block", "200") as node:
            node.wait_for_cut(lambda cut: cut["height"] > 30, timeout=120)
        # the same database, now at rest, with and without a limit
        with self.node("--block-rate", "0") as node:
            _, link = self.backup_link(node)
            t0 = time.monotonic()
            unpaced = node.get(link, timeout=60)
            unpaced_seconds = time.monotonic() - t0
            self.assertEqual(unpaced.status, 200)
        size = len(unpaced.body)
        self.assertGreater(size, 3 * RATE // 2, "archive too small to show pacing")
        with self.node("--block-rate", "0", "--backup-rate-limit", str(RATE)) as node:
            backup_id, link = self.backup_link(node)
            stop, slowest, failures = threading.Event(), [0.0], []
            checker = threading.Thread(target=self.health_checks, args=(node, stop, slowest, failures))
            checker.start()
            try:
                t0 = time.monotonic()
                paced = node.get(link, timeout=120)
                paced_seconds = time.monotonic() - t0
            finally:
                stop.set()
                checker.join()
            self.assertEqual(paced.status, 200)
            self.assertEqual(failures, [])
            self.assertLess(slowest[0], 2.0, "a health check waited behind the paced download")
            floor = (len(paced.body) - BURST) / RATE
            self.assertGreaterEqual(paced_seconds, floor * 0.95,
                                    "%d bytes in %.2f s at %d B/s" % (len(paced.body), paced_seconds, RATE))
            self.assertLess(unpaced_seconds, floor / 2)
            archive = os.path.join(self.tmp, "backup.tar.zst")
            with open(archive, "wb") as f:
                f.write(paced.body)
            out = os.path.join(self.tmp, "out")
            os.makedirs(out)
            subprocess.run(["tar", "--zstd", "-xf", archive, "-C", out], check=True)
            v = cairnlib.run_cairn(["backup", "verify", os.path.join(out, backup_id)])
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            # a node stopped in the middle of a paced download exits cleanly
            sock = node.connect()
            sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (link, node.address)).encode())
            received = 0
            while received < BURST * 2:
                chunk = sock.recv(65536)
                self.assertTrue(chunk)
                received += len(chunk)
            t0 = time.monotonic()
            self.assertEqual(node.stop(timeout=15), 0)
            self.assertLess(time.monotonic() - t0, 10)
            sock.close()


if __name__ == "__main__":
    cairnlib.main()
