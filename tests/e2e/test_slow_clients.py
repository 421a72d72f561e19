"""End-to-end: slow clients and clients that open too many connections.

- A client that sends its request head one byte at a time, never finishing
  it, gets a 408 with the usual headers and a closed connection once the
  request timeout has passed, however steadily it keeps sending.
- A connection that sends complete requests in time is served as before,
  several requests on one keep-alive connection.
- One address gets at most --max-connections-per-address connections; the
  next gets a complete 503 naming the reason, and a freed place is usable.
"""
import socket
import time

import cairnlib

REQUEST = b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class SlowClientsTest(cairnlib.TestCase):
    def test_dripping_request_head_is_cut_off(self):
        with cairnlib.Node(["--block-rate", "0", "--request-timeout", "2"]) as node:
            sock = node.connect(timeout=1)
            head = b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: " + b"a" * 200
            received = b""
            deadline = time.monotonic() + 20
            for byte in head:
                if time.monotonic() > deadline:
                    break
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
            sock.close()
            response = cairnlib.parse_raw_response(received)
            self.assertEqual(response.status, 408, received)
            self.assertCairnHeaders(response)
            self.assertEqual(response.text, "request not received within 2 s\n")
            self.assertIsNotNone(node.wait_for_log(r"WARN  http: 1 connections closed with 408"), node.log)
            self.assertEqual(node.get("/health-check").status, 200)

    def test_keep_alive_requests_in_time_are_served(self):
        with cairnlib.Node(["--block-rate", "0", "--request-timeout", "2"]) as node:
            sock = node.connect()
            for _ in range(3):
                sock.sendall(REQUEST)
                self.assertEqual(cairnlib.parse_raw_response(cairnlib.read_raw_response(sock)).status, 200)
                time.sleep(0.5)
            sock.close()

    def test_connections_per_address_are_limited(self):
        with cairnlib.Node(["--block-rate", "0", "--max-connections-per-address", "3"]) as node:
            held = []
            try:
                for _ in range(3):
                    sock = node.connect()
                    sock.sendall(REQUEST)
                    self.assertEqual(cairnlib.parse_raw_response(cairnlib.read_raw_response(sock)).status, 200)
                    held.append(sock)
                refused = node.raw_request(REQUEST)
                self.assertEqual(refused.status, 503, refused)
                self.assertCairnHeaders(refused)
                self.assertIn(b"your address has 3 connections open", refused.body)
                held.pop().close()
                self.assertEqual(node.wait_health(200).status, 200)
            finally:
                for sock in held:
                    sock.close()


if __name__ == "__main__":
    cairnlib.main()
