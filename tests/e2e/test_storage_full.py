"""End-to-end: a database file system that fills up while blocks are produced.

The node runs on a small tmpfs of its own (mounted by the test, so it needs
root; skipped otherwise) at 40 blocks/s with 50 transactions each, and a
file fills the rest of the disk:

- with the free-space minimum (the default, 16 MiB) and 10 MiB left,
  commits pause before a store fails: health-check answers 503 with the reason, the cut stands still,
  and once the file is removed commits resume without a restart;
- with the minimum off, a store write fails: the node logs the error,
  answers 503, and never aborts (Debian's librocksdb asserts on a write
  after a failed one); once the file is removed it restarts in place, the
  stores agree at the cut, and blocks flow again.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import cairnlib

SIZE = "160m"


def fill(path, leave=0):
    """Writes zeros into `path` until the file system has at most `leave` bytes free."""
    block = b"\0" * (1 << 16)
    directory = os.path.dirname(path)
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                st = os.statvfs(directory)
                free = st.f_bavail * st.f_frsize
                if free <= leave:
                    break
                f.write(block if free - leave >= len(block) else block[:free - leave])
        except OSError:
            pass


class StorageFullTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-full-")
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + SIZE, "tmpfs", self.tmp],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs: " + r.stderr.strip())
        self.filler = os.path.join(self.tmp, "filler")

    def tearDown(self):
        subprocess.run(["umount", "-l", self.tmp], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, *extra):
        return cairnlib.Node(["--block-rate", "40", "--transactions-per-block", "50"] + list(extra),
                             database_directory=os.path.join(self.tmp, "db"))

    def wait_health(self, node, status, timeout=30):
        r = node.wait_health(status, timeout)
        if r is None or r.status != status:
            self.fail("health-check never answered %d: %r\n%s" % (status, r, node.log))
        return r

    def assert_cut_stands_still(self, node):
        time.sleep(1)  # blocks committed before the pause or the failure are published first
        before = node.get_json("/cut")["height"]
        time.sleep(1.5)
        self.assertEqual(node.get_json("/cut")["height"], before)
        return before

    def test_low_space_pauses_commits_until_space_returns(self):
        with self.node() as node:
            node.wait_for_cut(lambda cut: cut["height"] > 40)
            fill(self.filler, leave=10 << 20)  # below the minimum, with room for the stores
            r = self.wait_health(node, 503)
            self.assertRegex(r.text, r"^Failed health check: blocks cannot be committed: the database file "
                                     r"system has [0-9.]+ MiB free, less than the 16 MiB required")
            self.assertTrue(r.text.endswith("\n") and r.text.count("\n") == 1, r.text)
            self.assertIsNotNone(node.wait_for_log(r"WARN  guard: .* block commits paused until space is freed"))
            height = self.assert_cut_stands_still(node)
            os.remove(self.filler)
            self.wait_health(node, 200)
            node.wait_for_cut(lambda cut: cut["height"] > height)
            self.assertNotIn("restarting in place", node.log)
            self.assertEqual(node.stop(), 0, node.log)
        self.assertNotIn("Assertion", node.log)

    def test_failed_write_restarts_in_place_once_space_returns(self):
        with self.node("--database-min-free-mib", "0") as node:
            node.wait_for_cut(lambda cut: cut["height"] > 40)
            fill(self.filler)
            r = self.wait_health(node, 503)
            self.assertIn("Failed health check: blocks cannot be committed: ", r.text)
            self.assertIsNotNone(node.wait_for_log(r"ERROR (commit|guard): ", 10), node.log)
            height = self.assert_cut_stands_still(node)
            self.assertIsNone(node.process.poll(), node.log)
            os.remove(self.filler)
            self.assertIsNotNone(node.wait_for_log(r"INFO  node: restarted in place", 30), node.log)
            self.wait_health(node, 200)
            node.wait_for_cut(lambda cut: cut["height"] > height)
            cut = cairnlib.cut_tips(node.get_json("/cut"))
            self.assertEqual(node.stop(), 0, node.log)
        self.assertNotIn("Assertion", node.log)
        self.assertNotIn("AddressSanitizer", node.log)
        # every block of the cut read before the stop is in both stores
        with self.node("--block-rate", "0") as node:
            stored = cairnlib.cut_tips(node.get_json("/cut"))
            self.assertEqual(node.stop(), 0)
        for chain, (h, _) in cut.items():
            self.assertGreaterEqual(stored[chain][0], h)
        self.assertEqual(cairnlib.pact_tips(os.path.join(self.tmp, "db")), stored)


if __name__ == "__main__":
    cairnlib.main()
