"""End-to-end: a node that runs short of file descriptors.

The test process sets its own open-file limit to 400 before the node
starts, so the node inherits it (as with `ulimit -n 400`):

- the connection cap leaves the stores their descriptors: the node logs how
  many it reserves, slow clients holding every connection it admits get
  the rest refused with 503, and meanwhile blocks are committed and a Pact
  backup completes;
- when the stores do run out anyway (the test lowers the running node's
  limit with prlimit(1)), the chain database's failure stops commits,
  health-check answers 503 with the reason, and once descriptors are back
  the node restarts in place: the stores agree and blocks flow again.
"""
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time

import cairnlib

LIMIT = 400
SLOW_HEAD = b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # never finished


class DescriptorShortageTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-fds-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, *extra):
        return cairnlib.Node(["--block-rate", "max", "--enable-backup-api",
                              "--backup-directory", os.path.join(self.tmp, "backups")] + list(extra),
                             database_directory=os.path.join(self.tmp, "db"))

    def test_slow_clients_cannot_take_the_stores_descriptors(self):
        with self.node() as node:
            m = node.wait_for_log(r"http: at most (\d+) connections, event streams included \(open-file limit %d\)"
                                  % LIMIT)
            self.assertIsNotNone(m, node.log)
            limit = int(m.group(1))
            reserved = int(node.wait_for_log(r"node: file descriptors: (\d+) of %d reserved" % LIMIT).group(1))
            self.assertEqual(limit, LIMIT - reserved)
            backup_id = node.request("POST", "/make-backup?backupPact").text
            held = []
            try:
                for _ in range(limit + 20):
                    sock = node.connect()
                    sock.sendall(SLOW_HEAD)
                    held.append(sock)
                    time.sleep(0.02)  # lets the server count it before the next
                # the connections past the cap were answered 503 and closed
                refused = 0
                for sock in held[limit:]:
                    sock.settimeout(10)
                    data = sock.recv(4096)
                    self.assertTrue(data.startswith(b"HTTP/1.1 503"), data)
                    refused += 1
                self.assertEqual(refused, 20)
                time.sleep(2)
                self.assertNotIn("Too many open files", node.log)
            finally:
                for sock in held:
                    sock.close()
            # the server frees the closed connections' places as it notices them
            deadline = time.monotonic() + 10
            while node.get("/health-check").status != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(node.get("/health-check").status, 200)
            deadline = time.monotonic() + 60
            while node.get("/check-backup/" + backup_id).text == "backup-in-progress" and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(node.get("/check-backup/" + backup_id).text, "backup-done", node.log)
            self.assertNotIn("Too many open files", node.log)
            self.assertEqual(node.stop(), 0)

    def test_store_recovers_once_descriptors_return(self):
        with self.node("--transactions-per-block", "200") as node:
            node.wait_for_cut(lambda cut: cut["height"] > 40, timeout=60)
            pid = node.process.pid
            in_use = len(os.listdir("/proc/%d/fd" % pid))
            subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%d" % (in_use + 2, LIMIT)], check=True)
            failed = node.wait_for_log(r"ERROR commit: .*(Too many open files|no block is accepted)", 120)
            subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%d" % (LIMIT, LIMIT)], check=True)
            self.assertIsNotNone(failed, node.log)
            self.assertIsNotNone(node.wait_for_log(r"INFO  node: restarted in place", 30), node.log)
            r = node.wait_health(200, timeout=30)
            self.assertEqual(r.status if r else None, 200, node.log)
            height = node.get_json("/cut")["height"]
            node.wait_for_cut(lambda cut: cut["height"] > height)
            self.assertEqual(node.stop(), 0, node.log)
        with cairnlib.Node(["--block-rate", "0"], database_directory=os.path.join(self.tmp, "db")) as node:
            cut = cairnlib.cut_tips(node.get_json("/cut"))
            self.assertEqual(node.stop(), 0)
        self.assertEqual(cairnlib.pact_tips(os.path.join(self.tmp, "db")), cut)


if __name__ == "__main__":
    cairnlib.main()
