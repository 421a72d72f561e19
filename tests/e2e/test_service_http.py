"""End-to-end: the HTTP layer of the service API over real loopback connections.

health-check body and type; the three cairn headers on success and on every
error (404, 405 with Allow, 400, 414); x-peer-addr naming the client socket,
over IPv4 and IPv6; both path forms; a foreign or malformed Chainweb prefix;
query and body handling; and that requests the HTTP library rejects itself
still get a sane answer.
"""
import socket

import cairnlib


class ServiceHttpTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = cairnlib.Node(["--drain-seconds", "0"]).start()

    @classmethod
    def tearDownClass(cls):
        status = cls.node.stop()
        cls.node.close()
        assert status == 0, "node exited with %d" % status

    def test_health_check(self):
        r = self.node.get("/health-check")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"Health check OK.\n")
        self.assertEqual(r.header("content-type").split(";")[0], "text/plain")
        self.assertCairnHeaders(r)

    def test_both_path_forms(self):
        for path in ("/health-check", "/chainweb/0.0/development/health-check",
                     "/info", "/chainweb/0.0/development/info"):
            with self.subTest(path=path):
                r = self.node.get(path)
                self.assertEqual(r.status, 200)
                self.assertCairnHeaders(r)
        self.assertEqual(self.node.get("/chainweb/0.0/development/info").json(),
                         self.node.get("/info").json())

    def test_foreign_or_malformed_prefix_is_not_found(self):
        for path in ("/chainweb/0.0/mainnet01/health-check", "/chainweb/0.0/test-singleton/info",
                     "/chainweb/0.1/development/health-check", "/chainweb/development/health-check",
                     "/chainweb/0.0/development", "/chainweb/0.0/development/", "/chainweb"):
            with self.subTest(path=path):
                r = self.node.get(path)
                self.assertEqual(r.status, 404)
                self.assertCairnHeaders(r)
                self.assertEqual(r.header("content-type").split(";")[0], "text/plain")

    def test_unknown_path_is_not_found(self):
        for path in ("/", "/nothing-here", "/health-check/", "/health-check/extra", "/Health-Check"):
            with self.subTest(path=path):
                r = self.node.get(path)
                self.assertEqual(r.status, 404)
                self.assertCairnHeaders(r)
                self.assertTrue(r.text.endswith("\n") and r.text.count("\n") == 1, r.text)

    def test_wrong_method_is_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            with self.subTest(method=method):
                r = self.node.request(method, "/health-check")
                self.assertEqual(r.status, 405)
                self.assertEqual(r.header("allow"), "GET, HEAD")
                self.assertCairnHeaders(r)
                self.assertIn(method, r.text)

    def test_head_has_headers_and_no_body(self):
        r = self.node.request("HEAD", "/health-check")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("content-length"), "17")
        self.assertCairnHeaders(r)

    def test_malformed_request_target_is_400(self):
        for target in (b"/health-check%zz", b"/health-check%", b"/info%00", b"/health-check?x=%g1",
                       b"info", b"http://example/info", b"/a\x7fb"):
            with self.subTest(target=target):
                with self.node.connect() as s:
                    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    r = cairnlib.parse_raw_response(cairnlib.read_raw_response(s))
                    self.assertEqual(r.status, 400)
                    self.assertCairnHeaders(r, s.getsockname()[:2])
                    self.assertTrue(r.body.startswith(b"bad request: "), r.body)
                    self.assertEqual(r.body.count(b"\n"), 1)

    def test_too_long_target_is_414(self):
        r = self.node.raw_request(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertEqual(r.status, 414)
        self.assertCairnHeaders(r, None)

    def test_target_of_exactly_8192_bytes_is_served(self):
        for target, status in ((b"/info?" + b"a" * 8186, 200), (b"/info?" + b"a" * 8187, 414),
                               (b"/" + b"a" * 8191, 404), (b"/" + b"a" * 8192, 414)):
            r = self.node.raw_request(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            self.assertEqual(r.status, status, len(target))
            self.assertCairnHeaders(r, None)

    def test_head_of_an_event_stream_has_the_head_of_get(self):
        for version in (b"1.1", b"1.0"):
            with self.node.connect() as sock:
                sock.sendall(b"HEAD /header/updates HTTP/" + version + b"\r\nHost: 127.0.0.1\r\n\r\n")
                sock.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                rest = head[head.index(b"\r\n\r\n") + 4:]
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    rest += chunk
            self.assertRegex(head, rb"^HTTP/1\.[01] 200 OK\r\n")
            self.assertNotIn(b"content-length", head.lower())
            self.assertNotIn(b"transfer-encoding", head.lower())
            self.assertIn(b"text/event-stream", head)
            self.assertEqual(rest, b"")  # nothing after the head, then the close

    def test_chosen_port_is_logged_at_any_log_level(self):
        with cairnlib.Node(["--log-level", "error", "--block-rate", "0"]) as node:  # found by its log line
            self.assertEqual(node.get("/health-check").status, 200)
            infos = [line for line in node.log.splitlines() if " INFO  " in line]
            self.assertEqual(len(infos), 1, infos)
            self.assertIn("http: listening on 127.0.0.1:", infos[0])

    def test_foreign_host_and_cross_origin_writes_are_refused(self):
        cases = [
            (b"GET /info HTTP/1.1\r\nHost: evil.example\r\n\r\n", 421, b"Host 'evil.example' is not a name"),
            (b"POST /make-backup HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example\r\n"
             b"Content-Length: 0\r\n\r\n", 421, b"misdirected request"),
            (b"POST /make-backup HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
             b"Content-Length: 0\r\n\r\n", 403, b"cross-origin request refused"),
            (b"POST /make-backup HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: null\r\nContent-Length: 0\r\n\r\n",
             403, b"cross-origin request refused"),
            (b"GET /info HTTP/1.1\r\n\r\n", 400, b"needs a Host header"),
            (b"POST /make-backup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, b"both Content-Length and Transfer-Encoding"),
        ]
        for raw, status, reason in cases:
            with self.subTest(raw=raw[:60]):
                r = self.node.raw_request(raw)
                self.assertEqual(r.status, status, r)
                self.assertIn(reason, r.body)
                self.assertCairnHeaders(r, None)
        for host in (b"localhost:1848", b"127.0.0.1", b"[::1]:1848"):
            r = self.node.raw_request(b"GET /info HTTP/1.1\r\nHost: " + host + b"\r\nOrigin: http://evil.example\r\n\r\n")
            self.assertEqual(r.status, 200, host)  # reads are not refused for their Origin
        self.assertEqual(self.node.raw_request(b"GET /info HTTP/1.0\r\n\r\n").status, 200)

    def test_many_query_arguments_and_a_16_kb_header_get_an_answer(self):
        args = b"&".join(b"a%d=1" % i for i in range(300))
        r = self.node.raw_request(b"GET /info?" + args + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"too many query arguments", r.body)
        self.assertCairnHeaders(r, None)
        r = self.node.raw_request(b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 16000 + b"\r\n\r\n")
        self.assertEqual(r.status, 431, r)
        self.assertEqual(r.body, b"request header field too large (at most 8192 bytes)\n")
        self.assertCairnHeaders(r, None)

    def test_configured_host_names_are_accepted(self):
        with cairnlib.Node(["--block-rate", "0", "--allowed-hosts", "node.internal, other.example"]) as node:
            for host, status in ((b"node.internal", 200), (b"OTHER.example:80", 200), (b"evil.example", 421)):
                r = node.raw_request(b"GET /info HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
                self.assertEqual(r.status, status, host)

    def test_query_arguments_and_bodies_are_accepted(self):
        r = self.node.get("/health-check?a=1&flag&encoded=%41+b")
        self.assertEqual(r.status, 200)
        r = self.node.request("GET", "/health-check", body=b"ignored body",
                              headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 200)

    def test_peer_address_is_the_client_socket(self):
        with self.node.connect() as s:
            s.sendall(b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            r = cairnlib.parse_raw_response(cairnlib.read_raw_response(s))
            host, port = s.getsockname()[:2]
        self.assertEqual(r.header("x-peer-addr"), "%s:%d" % (host, port))

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with self.node.connect() as s:
            ports = set()
            for _ in range(5):
                s.sendall(b"GET /health-check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                r = cairnlib.parse_raw_response(cairnlib.read_raw_response(s))
                self.assertEqual(r.status, 200)
                self.assertNotEqual((r.header("connection") or "").lower(), "close")
                ports.add(r.header("x-peer-addr"))
            self.assertEqual(len(ports), 1)

    def test_requests_the_library_rejects_get_a_sane_answer(self):
        cases = (
            (b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n", 400),
            (b"GET /info HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 505),
            (b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", 431),
            (b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        )
        for data, status in cases:
            with self.subTest(data=data[:40], status=status):
                with self.node.connect() as s:
                    s.sendall(data)
                    raw = cairnlib.read_raw_response(s)
                    r = cairnlib.parse_raw_response(raw)
                    self.assertEqual(r.status, status)
                    self.assertEqual(r.header("connection"), "close")
                    # The server closes the connection after the answer.
                    self.assertEqual(s.recv(1), b"")
        # Not HTTP at all: the connection is closed without an answer.
        with self.node.connect() as s:
            s.sendall(b"GARBAGE\r\n\r\n")
            self.assertEqual(cairnlib.read_raw_response(s), b"")
        # The node is still healthy afterwards.
        self.assertEqual(self.node.get("/health-check").status, 200)


class ServiceHttpIpv6Test(cairnlib.TestCase):
    def test_ipv6_loopback(self):
        if not cairnlib.ipv6_loopback_available():
            self.skipTest("no IPv6 loopback on this machine")
        with cairnlib.Node(["--drain-seconds", "0"], interface="::1") as node:
            self.assertEqual(node.host, "[::1]")
            r = node.get("/health-check")
            self.assertEqual(r.status, 200)
            self.assertCairnHeaders(r)
            self.assertTrue(r.header("x-peer-addr").startswith("[::1]:"))
            r = node.get("/nothing")
            self.assertEqual(r.status, 404)
            self.assertCairnHeaders(r)
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    cairnlib.main()
