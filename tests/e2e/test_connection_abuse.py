"""End-to-end: connection abuse over loopback, bounded in count and time.

While 2,000 connections sit idle or drip one byte a second, 200 event-stream
subscribers read nothing, and clients send a 64 KB header and a 10 MB body:

- health-check keeps answering 200 (each within a generous timeout: the
  latency target is measured by bench/abuse, not here);
- the node's resident memory stays within the bound docs/configuration.md
  gives: its idle size plus 48 KiB per open connection;
- the 64 KB header gets 431 and the 10 MB body 413, without the body being
  held in memory;
- the subscribers that never read are dropped, and until then the kernel
  holds at most a capped send buffer for each (not tcp_wmem's 4 MB);
- the idle and dripping connections are closed with 408 once the request
  timeout has passed.

After the abuse: the node's descriptors are back to what it had before
(while the clients still hold their ends open), new requests are served and
blocks are still produced.  And after waves of connections opened and
closed, the node's resident memory is back near its idle size (freed heap
pages are returned to the system).

The memory figures hold for the release build; under AddressSanitizer the
allocator keeps freed memory in quarantine and adds redzones, so those
assertions are skipped there (everything else is checked).

2,000 connections from one address would exceed the per-address limit, so
the clients bind to many loopback addresses (all of 127/8 is loopback on
Linux), 100 connections each.
"""
import os
import resource
import socket
import threading
import unittest
import time

import cairnlib

IDLE = 2000
SUBSCRIBERS = 200
PER_ADDRESS = 100
REQUEST_TIMEOUT = 5
BOUND_PER_CONNECTION = 48 * 1024  # docs/configuration.md, "Memory"
BASE_SLACK = 8 << 20  # allocator and page-cache noise around the idle size
RECOVERED_SLACK = 3 << 20  # three waves of 2,000 left 12 MB before the heap was trimmed
MAX_SEND_QUEUE = 256 * 1024  # a stream socket's capped send buffer, with slack
REQUEST = b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def sanitized():
    """True when the binary under test is built with AddressSanitizer."""
    with open(cairnlib.cairn_bin(), "rb") as f:
        return b"AddressSanitizer" in f.read()


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def source_address(index):
    """The loopback address of the index-th client: 127.0.<a>.<b>, b >= 2,
    PER_ADDRESS clients per address, and never 127.0.0.1 (the health checks')."""
    n = index // PER_ADDRESS + 2
    return "127.%d.%d.%d" % (1 + n // 62500, n // 250 % 250, 2 + n % 250)


def connect_from(node, index, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source_address(index), 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", node.port))
    return sock


def send_queues(port):
    """The bytes queued for sending in each of the node's sockets on `port`
    (connected or closed and still draining), from /proc/net/tcp."""
    queues = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == port and fields[3] != "0A":  # not the listener
                queues.append(int(fields[4].split(":")[0], 16))
    return queues


def closed_by_peer(sock):
    """True when the node has closed its end (EOF or reset after any answer)."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


class ConnectionAbuseTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = IDLE + SUBSCRIBERS + 200
        if hard != resource.RLIM_INFINITY and hard < need:
            raise unittest.SkipTest("open-file hard limit %d below %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the node inherits it

    def health_checks(self, node, stop, failures, count):
        while not stop.is_set():
            try:
                r = node.get("/health-check", timeout=5)
                if r.status != 200:
                    failures.append(r.status)
            except OSError as e:
                failures.append(repr(e))
            count[0] += 1
            time.sleep(0.05)

    def sample(self, node, stop, peaks):
        """Records the node's peak RSS and the largest send queue of its sockets."""
        while True:
            peaks["rss"] = max(peaks["rss"], rss_bytes(node.process.pid))
            peaks["queue"] = max([peaks["queue"]] + send_queues(node.port))
            if stop.wait(0.2):
                return

    def drip(self, socks, stop):
        """One byte a second on each socket, never finishing a request head."""
        head = b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: "
        sent = 0
        while not stop.wait(1.0):
            byte = head[sent:sent + 1] or b"a"
            for sock in socks:
                try:
                    sock.send(byte)
                except OSError:
                    pass
            sent += 1

    def test_abuse_is_survived_and_released(self):
        with cairnlib.Node(["--block-rate", "40", "--request-timeout", str(REQUEST_TIMEOUT)]) as node:
            pid = node.process.pid
            self.assertEqual(node.wait_health(200).status, 200)
            for _ in range(20):
                node.get("/health-check")
            time.sleep(0.5)
            base_rss, base_fds = rss_bytes(pid), open_fds(pid)
            height_before = sum(c["height"] for c in node.get_json("/cut")["hashes"].values())

            stop, failures, count = threading.Event(), [], [0]
            checker = threading.Thread(target=self.health_checks, args=(node, stop, failures, count))
            checker.start()
            peaks = {"rss": 0, "queue": 0}
            sampler = threading.Thread(target=self.sample, args=(node, stop, peaks))
            sampler.start()
            idle, subscribers, dripper = [], [], None
            try:
                # 2,000 idle or dripping connections
                for i in range(IDLE):
                    idle.append(connect_from(node, i))
                dripper = threading.Thread(target=self.drip, args=(idle[::2], stop))
                dripper.start()
                # 200 subscribers that never read, behind tiny receive buffers
                for i in range(SUBSCRIBERS):
                    sock = connect_from(node, IDLE + i, rcvbuf=4096)
                    sock.sendall(b"GET /block/updates HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    subscribers.append(sock)

                # a 64 KB header
                r = node.raw_request(b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 65536
                                     + b"\r\n\r\n")
                self.assertEqual(r.status, 431, r)

                # a 10 MB body: answered 413, and not held in memory
                rss_before_body = rss_bytes(pid)
                sock = node.connect(timeout=10)
                sock.sendall(b"POST /info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n\r\n")
                chunk = b"x" * 65536
                for _ in range(10485760 // len(chunk)):
                    sock.sendall(chunk)
                r = cairnlib.parse_raw_response(cairnlib.read_raw_response(sock))
                sock.close()
                self.assertEqual(r.status, 413, r)
                self.assertEqual(r.body, b"request body too large (at most 65536 bytes)\n")
                if not sanitized():
                    self.assertLess(rss_bytes(pid) - rss_before_body, 4 << 20)

                # the abuse lasts until the request timeout has closed the idle ones
                deadline = time.monotonic() + REQUEST_TIMEOUT + 15
                while time.monotonic() < deadline:
                    if all(closed_by_peer(s) for s in idle):
                        break
                    time.sleep(0.5)
                self.assertTrue(all(closed_by_peer(s) for s in idle), "idle connections still open")
                self.assertIsNotNone(node.wait_for_log(r"WARN  http: \d+ connections closed with 408"), node.log)
                # subscribers that never read fall behind and are dropped, each
                # holding a bounded send buffer meanwhile: all descriptors are
                # released while the clients still hold their ends open
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and open_fds(pid) > base_fds + 8:
                    time.sleep(0.5)
                self.assertLessEqual(open_fds(pid), base_fds + 8, "connections not released")
                self.assertIn("WARN  http: event stream to ", node.log)
            finally:
                stop.set()
                checker.join()
                sampler.join()
                if dripper is not None:
                    dripper.join()
                for sock in idle + subscribers:
                    sock.close()

            self.assertEqual(failures, [], "health-check failed during the abuse")
            self.assertGreater(count[0], 20)
            bound = base_rss + BASE_SLACK + (IDLE + SUBSCRIBERS) * BOUND_PER_CONNECTION
            if not sanitized():
                self.assertLessEqual(peaks["rss"], bound, "RSS %d, idle %d" % (peaks["rss"], base_rss))
            self.assertGreater(peaks["queue"], 0)
            self.assertLessEqual(peaks["queue"], MAX_SEND_QUEUE)

            # recovered: served, and still producing
            for _ in range(20):
                self.assertEqual(node.get("/health-check").status, 200)
            held = [connect_from(node, i) for i in range(PER_ADDRESS)]  # one address's full share again
            try:
                held[-1].sendall(REQUEST)
                r = cairnlib.parse_raw_response(cairnlib.read_raw_response(held[-1]))
                self.assertEqual(r.status, 200, r)
            finally:
                for sock in held:
                    sock.close()
            node.wait_for_cut(lambda cut: sum(c["height"] for c in cut["hashes"].values()) > height_before + 20)
            self.assertEqual(node.stop(), 0)

    def test_memory_recovers_after_waves_of_connections(self):
        if sanitized():
            self.skipTest("RSS under AddressSanitizer says nothing about the release build")
        with cairnlib.Node(["--block-rate", "0"]) as node:
            pid = node.process.pid
            for _ in range(20):
                node.get("/health-check")
            time.sleep(0.5)
            base_rss = rss_bytes(pid)
            for wave in range(3):
                socks = [connect_from(node, i) for i in range(IDLE)]
                for sock in socks[::2]:
                    sock.send(b"G")
                time.sleep(0.5)
                peak = rss_bytes(pid)
                for sock in socks:
                    sock.close()
                time.sleep(1)
            deadline = time.monotonic() + 5
            while rss_bytes(pid) > base_rss + RECOVERED_SLACK and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertGreater(peak, base_rss + RECOVERED_SLACK)  # the waves did cost memory
            self.assertLessEqual(rss_bytes(pid), base_rss + RECOVERED_SLACK,
                                 "RSS idle %d, peak %d" % (base_rss, peak))
            self.assertEqual(node.get("/health-check").status, 200)


if __name__ == "__main__":
    cairnlib.main()
