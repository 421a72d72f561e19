"""End-to-end: connection capacity of a real node.

The node raises its open-file limit to the hard limit and logs it, serves
as many connections as that limit allows less a reserve (logged), and
answers a connection beyond it with a complete 503 carrying the usual
headers instead of closing it silently or leaving it hanging.  A place
that frees up is usable again.

The limits are set on this test process before the node starts, so the
node inherits them: soft 500, hard 600.
"""

import resource
import time

import cairnlib

SOFT, HARD = 500, 600
REQUEST = b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def keep_alive_request(sock):
    sock.sendall(REQUEST)
    return cairnlib.parse_raw_response(cairnlib.read_raw_response(sock))


class StreamCapacityTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))

    def test_connection_beyond_the_limit_gets_503(self):
        with cairnlib.Node() as node:
            self.assertIsNotNone(node.wait_for_log(
                r"node: open-file limit raised from %d to the hard limit, %d$" % (SOFT, HARD)), node.log)
            match = node.wait_for_log(
                r"http: at most (\d+) connections, event streams included \(open-file limit %d\)" % HARD)
            self.assertIsNotNone(match, node.log)
            limit = int(match.group(1))
            self.assertGreater(limit, 0)
            self.assertLess(limit, HARD)
            held = []
            try:
                for _ in range(limit):
                    sock = node.connect()
                    held.append(sock)
                    self.assertEqual(keep_alive_request(sock).status, 200)

                refused = node.raw_request(REQUEST)
                self.assertEqual(refused.status, 503, refused)
                self.assertCairnHeaders(refused)
                self.assertEqual(refused.header("connection"), "close")
                self.assertIn(b"limit of %d connections" % limit, refused.body)
                self.assertIsNotNone(node.wait_for_log(r"WARN  http: connection from .* refused with 503"))

                held.pop().close()
                self.assertEqual(node.wait_health(200).status, 200)
            finally:
                for sock in held:
                    sock.close()
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    cairnlib.main()
