"""End-to-end: the life of `cairn node`: start-up (settings logged, database
directory created and locked, the chosen port logged), refusal of a locked
directory or a busy port, and the shutdown on SIGTERM or SIGINT: health-check
turns 503 while everything else is still served, a request in flight
finishes, and the process exits 0 within 5 seconds.
"""
import os
import signal
import socket
import tempfile
import time

import cairnlib

DRAIN_BODY = b"Failed health check due to service drain.\n"


def begin_request(node):
    """A raw connection carrying a request whose headers are not finished."""
    s = node.connect()
    s.sendall(b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(0.2)  # the request line has arrived: the request is in flight
    return s


class ServiceLifecycleTest(cairnlib.TestCase):
    def test_start_logs_settings_and_locks_the_database_directory(self):
        with cairnlib.Node(["--drain-seconds", "0"]) as node:
            db = node.database_directory
            self.assertTrue(os.path.isdir(db))
            self.assertTrue(os.path.isfile(os.path.join(db, "LOCK")))
            settings = node.wait_for_log(r" INFO  node: cairn \S+: chainweb version development, "
                                         r"database directory (\S+), service API 127\.0\.0\.1 port 0, ")
            self.assertIsNotNone(settings, node.log)
            self.assertEqual(settings.group(1), db)
            # The chosen port is on a line of its own and is the one serving.
            listening = [l for l in node.log.splitlines() if cairnlib.LISTENING.search(l)]
            self.assertEqual(len(listening), 1)
            self.assertTrue(listening[0].endswith("http: listening on 127.0.0.1:%d" % node.port))
            self.assertNotEqual(node.port, 0)
            self.assertEqual(node.get("/health-check").status, 200)
            self.assertEqual(node.stop(), 0)

    def test_nested_database_directory_is_created(self):
        with tempfile.TemporaryDirectory() as tmp:
            nested = os.path.join(tmp, "a", "b", "c")
            with cairnlib.Node(["--drain-seconds", "0"], database_directory=nested) as node:
                self.assertTrue(os.path.isdir(nested))
                self.assertEqual(node.stop(), 0)

    def test_sigterm_drains_then_exits_zero(self):
        with cairnlib.Node(["--drain-seconds", "2"]) as node:
            self.assertEqual(node.get("/health-check").status, 200)
            signalled = time.monotonic()
            node.send_signal(signal.SIGTERM)
            deadline = signalled + 4
            r = node.get("/health-check")
            while r.status == 200 and time.monotonic() < deadline:
                time.sleep(0.02)
                r = node.get("/health-check")
            self.assertEqual(r.status, 503)
            self.assertEqual(r.body, DRAIN_BODY)
            self.assertEqual(r.header("content-type").split(";")[0], "text/plain")
            self.assertCairnHeaders(r)
            # Everything else is still served while draining, on a closing connection.
            info = node.get("/info")
            self.assertEqual(info.status, 200)
            self.assertEqual(info.header("connection"), "close")
            self.assertEqual(node.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - signalled, 5.0)
            self.assertIn("node: SIGTERM received", node.log)
            self.assertIn("node: stopped cleanly", node.log)
            # The lock went with the process: the directory can be used again.
            with cairnlib.Node(["--drain-seconds", "0"], database_directory=node.database_directory) as again:
                self.assertEqual(again.stop(), 0)

    def test_sigint_exits_zero(self):
        with cairnlib.Node(["--drain-seconds", "0.2"]) as node:
            signalled = time.monotonic()
            self.assertEqual(node.stop(signal.SIGINT), 0)
            self.assertLess(time.monotonic() - signalled, 5.0)
            self.assertIn("node: SIGINT received", node.log)

    def test_request_in_flight_completes_during_shutdown(self):
        with cairnlib.Node(["--drain-seconds", "1"]) as node:
            with begin_request(node) as s:
                signalled = time.monotonic()
                node.send_signal(signal.SIGTERM)
                self.assertIsNotNone(node.wait_for_log("node: SIGTERM received", 5))
                time.sleep(1.5)  # past the drain: the listener is closed by now
                s.sendall(b"\r\n")
                r = cairnlib.parse_raw_response(cairnlib.read_raw_response(s))
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["nodeVersion"], "development")
            self.assertEqual(r.header("connection"), "close")
            self.assertEqual(node.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - signalled, 5.0)
            self.assertIn("http: stopped", node.log)
            self.assertNotIn("still in flight", node.log)

    def test_stalled_request_does_not_hold_up_the_exit(self):
        with cairnlib.Node(["--drain-seconds", "0.5"]) as node:
            with begin_request(node) as s:  # and nothing more is sent
                signalled = time.monotonic()
                self.assertEqual(node.stop(timeout=10), 0)
                self.assertLess(time.monotonic() - signalled, 5.0)
                self.assertEqual(s.recv(1), b"")  # cut off, without an answer
            self.assertIn("http: stopped with 1 requests still in flight", node.log)

    def test_second_node_on_the_same_directory_is_refused(self):
        with cairnlib.Node(["--drain-seconds", "0"]) as first:
            second = cairnlib.Node(["--drain-seconds", "0"], database_directory=first.database_directory,
                                   wait_listening=False)
            try:
                second.start()
                self.assertNotEqual(second.wait(timeout=30), 0)
                self.assertRegex(second.log, r"ERROR node: database directory .* is in use: .*LOCK' is locked "
                                             r"by another running cairn \(pid %d\)" % first.process.pid)
                self.assertIsNone(cairnlib.LISTENING.search(second.log))
            finally:
                second.close()
            self.assertEqual(first.get("/health-check").status, 200)
            self.assertEqual(first.stop(), 0)

    def test_port_in_use_is_refused(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            node = cairnlib.Node(port=port, wait_listening=False)
            try:
                node.start()
                self.assertNotEqual(node.wait(timeout=30), 0)
                self.assertIn("cannot listen on 127.0.0.1:%d: the port is already in use" % port, node.log)
                # The refused node released its database directory.
                again = cairnlib.Node(["--drain-seconds", "0"], database_directory=node.database_directory)
                with again:
                    self.assertEqual(again.stop(), 0)
            finally:
                node.close()

    def test_bare_cairn_runs_the_node(self):
        with cairnlib.Node(["--drain-seconds", "0"], subcommand=()) as node:
            r = node.get("/health-check")
            self.assertEqual(r.status, 200)
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    cairnlib.main()
