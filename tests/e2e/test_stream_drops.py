"""End-to-end: a flood of subscribers that stop reading does not flood the log.

Forty subscribers of /block/updates with small receive buffers read nothing
while the node produces as fast as it can: each falls more than the queue
limit behind and is dropped, but the node writes at most one WARN line a
second about it, with the count of the others.
"""
import re
import socket
import time

import cairnlib

SUBSCRIBERS = 40
DROP = "WARN  http: event stream to "


class StreamDropsTest(cairnlib.TestCase):
    def subscribe(self, node, count):
        socks = []
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", node.port))
            sock.sendall(b"GET /block/updates HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            socks.append(sock)
        return socks

    def wait_lines(self, node, count, timeout=60):
        deadline = time.monotonic() + timeout
        while node.log.count(DROP) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(node.log.count(DROP), count, node.log)

    def test_dropped_subscribers_are_logged_once_a_second(self):
        with cairnlib.Node(["--block-rate", "max", "--transactions-per-block", "50"]) as node:
            socks = self.subscribe(node, SUBSCRIBERS)
            try:
                self.wait_lines(node, 1)
                time.sleep(3)  # every one of them is dropped by now
                lines = node.log.count(DROP)
                socks += self.subscribe(node, 1)  # its drop, a second later, reports the others
                self.wait_lines(node, lines + 1)
            finally:
                for sock in socks:
                    sock.close()
            lines = node.log.count(DROP)
            held = sum(int(n) for n in re.findall(r"\((\d+) more dropped since the last report\)", node.log))
            self.assertLessEqual(lines, 5, node.log)
            self.assertEqual(lines + held, SUBSCRIBERS + 1, node.log)
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    cairnlib.main()
