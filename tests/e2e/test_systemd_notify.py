"""The systemd service protocol: a node started with NOTIFY_SOCKET (as a
Type=notify unit is) sends READY=1 once its port answers, WATCHDOG=1 while
WATCHDOG_USEC asks for it, and STOPPING=1 when SIGTERM starts the drain.
A restart in place after a storage failure (on a full tmpfs of the test's
own: root only) is announced with STATUS= and a new READY=1.
The test plays systemd's part with a unix datagram socket of its own."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import cairnlib


class NotifySocket:
    """A unix datagram socket in a private directory, as systemd's NOTIFY_SOCKET."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def receive_until(self, field, timeout=20.0):
        """Reads messages until one carries `field` (e.g. "READY=1"); returns its fields."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %g s; got %r" % (field, timeout, self.messages))
            self.sock.settimeout(left)
            fields = self.sock.recv(4096).decode().split("\n")
            self.messages.append(fields)
            if field in fields:
                return fields

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Environment:
    """Sets environment variables for the nodes started inside the block."""

    def __init__(self, **values):
        self.values = values
        self.saved = {}

    def __enter__(self):
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def fill(path):
    """Writes zeros into `path` until its file system is full."""
    block = b"\0" * (1 << 16)
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError:
            pass


def status_of(fields):
    return next((f[len("STATUS="):] for f in fields if f.startswith("STATUS=")), None)


class SystemdNotifyTest(cairnlib.TestCase):
    def setUp(self):
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)

    def test_ready_watchdog_and_stopping(self):
        with Environment(NOTIFY_SOCKET=self.notify.path, WATCHDOG_USEC="400000"):
            node = cairnlib.Node(["--drain-seconds", "1"], wait_listening=False)
            with node:
                ready = self.notify.receive_until("READY=1")
                # READY=1 comes only once the port answers: connect at once.
                status = status_of(ready)
                self.assertIsNotNone(status, ready)
                match = re.fullmatch(r"serving on ([0-9.]+):(\d+)", status)
                self.assertIsNotNone(match, status)
                host, port = match.group(1), int(match.group(2))
                self.assertEqual(cairnlib.request(host, port, "GET", "/health-check").status, 200)
                self.assertNotIn("STOPPING=1", sum(self.notify.messages, []))

                # WATCHDOG_USEC=0.4 s: keep-alives at least every 0.2 s.
                start = time.monotonic()
                self.notify.receive_until("WATCHDOG=1", timeout=5)
                self.notify.receive_until("WATCHDOG=1", timeout=5)
                self.notify.receive_until("WATCHDOG=1", timeout=5)
                self.assertLess(time.monotonic() - start, 2.0)

                node.send_signal(signal.SIGTERM)
                stopping = self.notify.receive_until("STOPPING=1", timeout=5)
                self.assertEqual(status_of(stopping), "draining")
                # STOPPING=1 comes when the drain starts, before the listener closes.
                self.assertEqual(cairnlib.request(host, port, "GET", "/health-check").status, 503)
                self.assertEqual(node.wait(10), 0)

    def test_no_watchdog_without_watchdog_usec(self):
        with Environment(NOTIFY_SOCKET=self.notify.path):
            os.environ.pop("WATCHDOG_USEC", None)
            with cairnlib.Node() as node:
                self.notify.receive_until("READY=1")
                time.sleep(1.5)
                self.notify.sock.settimeout(0.2)
                try:
                    while True:
                        self.notify.messages.append(self.notify.sock.recv(4096).decode().split("\n"))
                except socket.timeout:
                    pass
                self.assertNotIn("WATCHDOG=1", sum(self.notify.messages, []))
                self.assertEqual(node.stop(), 0)

    def test_unreachable_socket_is_not_fatal(self):
        missing = os.path.join(self.notify.dir, "absent")
        with Environment(NOTIFY_SOCKET=missing):
            with cairnlib.Node() as node:
                self.assertEqual(node.get("/health-check").status, 200)
                self.assertIsNotNone(node.wait_for_log(r"WARN  notify: cannot notify the service manager", 5))
                self.assertEqual(node.stop(), 0)

    def test_restart_in_place_is_announced(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        disk = tempfile.mkdtemp(prefix="cairn-notify-disk-")
        self.addCleanup(shutil.rmtree, disk, True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", disk],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs: " + r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", disk], capture_output=True)
        args = ["--block-rate", "40", "--transactions-per-block", "50", "--database-min-free-mib", "0"]
        with Environment(NOTIFY_SOCKET=self.notify.path):
            with cairnlib.Node(args, database_directory=os.path.join(disk, "db")) as node:
                first = self.notify.receive_until("READY=1")
                node.wait_for_cut(lambda cut: cut["height"] > 40)
                filler = os.path.join(disk, "filler")
                fill(filler)
                self.assertIsNotNone(node.wait_for_log(r"ERROR (commit|guard): ", 20), node.log)
                os.remove(filler)
                restarting = self.notify.receive_until(
                    "STATUS=restarting in place after a storage failure", timeout=30)
                self.assertNotIn("READY=1", restarting)
                again = self.notify.receive_until("READY=1", timeout=30)
                self.assertEqual(status_of(again), status_of(first))  # the same port
                self.assertIsNotNone(node.wait_for_log(r"INFO  node: restarted in place", 5), node.log)
                self.assertEqual(node.get("/health-check").status, 200)
                self.assertNotIn("STOPPING=1", sum(self.notify.messages, []))
                self.assertEqual(node.stop(), 0, node.log)


if __name__ == "__main__":
    cairnlib.main()
