"""cairnlib: what cairn's end-to-end tests share (Python standard library only).

Start the real binary on a free port, talk HTTP to it, and always clean up:

    import cairnlib

    class InfoTest(cairnlib.TestCase):
        def test_info(self):
            with cairnlib.Node(["--chainweb-version", "mainnet01"]) as node:
                r = node.get("/info")
                self.assertEqual(r.status, 200)
                info = r.json()

    if __name__ == "__main__":
        cairnlib.main()

A Node runs `cairn node --service-port 0` (unless told otherwise) with its
database directory in a private temporary directory, reads the chosen port
from its log, and on leaving the `with` block kills it if it still runs and
removes the directory.  Its log (stderr) is kept in `node.log` and printed
when a test fails while the node is in use.  A Node can be started again on
the same directory (start after stop or kill).

Chain data: EventStream reads header/updates and block/updates; cut_tips()
turns a /cut object into {chain: (height, hash)}; pact_tips() reads the
last BlockHistory row of every Pact database of a stopped node; export()
runs `cairn export` and verify_lines() pipes lines into `cairn header
verify`.

Environment (set by ctest): CAIRN_BIN (required), CAIRN_SOURCE_DIR,
CAIRN_FIXTURES.
"""

import base64
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SOURCE_DIR = os.environ.get("CAIRN_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
FIXTURES = os.environ.get("CAIRN_FIXTURES", os.path.join(SOURCE_DIR, "tests", "fixtures"))

# "2026-01-01T00:00:00.000Z INFO  http: listening on 127.0.0.1:41234" (or [::1]:41234)
LISTENING = re.compile(r" INFO  http: listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)$")

START_TIMEOUT = 30.0


def cairn_bin():
    """Path of the cairn binary under test."""
    path = os.environ.get("CAIRN_BIN")
    if not path:
        raise RuntimeError("CAIRN_BIN is not set: run the tests through ctest")
    return path


def run_cairn(args, timeout=60, env=None):
    """Runs `cairn ARGS` to completion; returns the CompletedProcess (text mode)."""
    return subprocess.run([cairn_bin()] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (prefer --service-port 0 where possible)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Response:
    """A complete HTTP response: status, reason, headers (lower-case names), body bytes."""

    def __init__(self, status, reason, headers, body, local_address=None):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.local_address = local_address  # the client socket's (host, port)

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "Response(%d %s, %r, %r)" % (self.status, self.reason, self.headers, self.body[:200])


def request(host, port, method, path, headers=None, body=None, timeout=10.0):
    """One request on a fresh connection; returns a Response."""
    conn = http.client.HTTPConnection(host.strip("[]"), port, timeout=timeout)
    try:
        conn.connect()
        local = conn.sock.getsockname()[:2]
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, {k.lower(): v for k, v in r.getheaders()}, data, local)
    finally:
        conn.close()


def connect(host, port, timeout=10.0):
    """A raw TCP connection to the node (for malformed or slow requests)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host.strip("[]"), port))
    return s


def read_raw_response(sock):
    """Reads one response from a raw socket: until Content-Length is satisfied
    or the server closes.  Returns the raw bytes."""
    data = b""
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            match = re.search(rb"\r\ncontent-length: *(\d+)", data[:head_end], re.IGNORECASE)
            if match and len(data) >= head_end + 4 + int(match.group(1)):
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def parse_raw_response(raw):
    """Splits raw response bytes into a Response (no chunked decoding)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(status), reason, headers, body)


def raw_request(host, port, data, timeout=10.0):
    """Sends raw bytes on a fresh connection; returns the parsed Response."""
    with connect(host, port, timeout) as s:
        s.sendall(data)
        return parse_raw_response(read_raw_response(s))


class Node:
    """A running `cairn node` process on a private database directory."""

    def __init__(self, args=(), interface="127.0.0.1", port=0, database_directory=None,
                 subcommand=("node",), wait_listening=True, wrapper=(), env=None):
        self.args = list(args)
        self.wrapper = list(wrapper)  # a command the binary runs under (fiu-run ...)
        self.env = env
        self.interface = interface
        self.requested_port = port
        self.subcommand = list(subcommand)
        self.wait_listening = wait_listening
        self._tmp = tempfile.mkdtemp(prefix="cairn-e2e-")
        self.database_directory = database_directory or os.path.join(self._tmp, "db")
        self.process = None
        self.host = None
        self.port = None
        self._lines = []
        self._lines_changed = threading.Condition()
        self._reader = None

    # -- process control --

    def start(self, args=None):
        """Starts the process (again, after stop or kill), with `args` instead
        of the constructor's when given."""
        if args is not None:
            self.args = list(args)
        if self.process is not None:
            self.process.stdout.close()
            self.process.stderr.close()
            with self._lines_changed:
                self._lines.append("---- restart ----")
        with self._lines_changed:
            first_line = len(self._lines)
        cmd = self.wrapper + [cairn_bin()] + self.subcommand + [
            "--service-interface", self.interface,
            "--service-port", str(self.requested_port),
            "--database-directory", self.database_directory] + self.args
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=self.env)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if self.wait_listening:
            match = self.wait_for_log(LISTENING, START_TIMEOUT, since=first_line)
            if match is None:
                self.close()
                raise AssertionError("cairn did not start listening:\n" + self.log)
            self.host, self.port = match.group(1), int(match.group(2))
        return self

    def _read_stderr(self):
        for line in self.process.stderr:
            with self._lines_changed:
                self._lines.append(line.rstrip("\n"))
                self._lines_changed.notify_all()
        with self._lines_changed:
            self._lines_changed.notify_all()

    def log_mark(self):
        """The number of log lines so far: pass it as wait_for_log's `since` to look only
        at what comes later."""
        with self._lines_changed:
            return len(self._lines)

    @property
    def log(self):
        with self._lines_changed:
            return "\n".join(self._lines)

    def wait_for_log(self, pattern, timeout=10.0, since=0):
        """Waits for a log line matching `pattern` (regex or compiled), looking at lines from
        index `since` on; returns the match or None (also None as soon as the process has
        exited without printing it)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = since
        with self._lines_changed:
            while True:
                for line in self._lines[seen:]:
                    match = regex.search(line)
                    if match:
                        return match
                seen = len(self._lines)
                left = deadline - time.monotonic()
                exited = self.process.poll() is not None and not self._reader.is_alive()
                if left <= 0 or exited:
                    return None
                self._lines_changed.wait(min(left, 0.1))

    def send_signal(self, sig):
        self.process.send_signal(sig)

    def wait(self, timeout=10.0):
        """Waits for the process to exit; returns its status (raises on timeout)."""
        status = self.process.wait(timeout)
        self._reader.join(5)
        return status

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals the node and waits for it; returns the exit status."""
        if self.process.poll() is None:
            self.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._reader:
            self._reader.join(5)

    def close(self):
        """Kills the process if it still runs and removes the temporary directory."""
        self.kill()
        if self.process:
            self.process.stdout.close()
            self.process.stderr.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, exc_type, exc, tb):
        self.kill()
        if exc_type is not None:
            sys.stderr.write("---- cairn log ----\n%s\n-------------------\n" % self.log)
        self.close()
        return False

    # -- HTTP --

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def request(self, method, path, headers=None, body=None, timeout=10.0):
        return request(self.host, self.port, method, path, headers, body, timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def connect(self, timeout=10.0):
        return connect(self.host, self.port, timeout)

    def raw_request(self, data, timeout=10.0):
        return raw_request(self.host, self.port, data, timeout)

    def get_json(self, path, **kw):
        r = self.get(path, **kw)
        if r.status != 200:
            raise AssertionError("GET %s: %r" % (path, r))
        return r.json()

    def events(self, path, timeout=30.0):
        """An EventStream on `path` (e.g. "/block/updates")."""
        return EventStream(self.host, self.port, path, timeout)

    def wait_health(self, status=200, timeout=5.0):
        """Polls /health-check until it answers `status` or the time is up; returns the
        last response (None when the port was closed, as between the two lives of a
        restart in place)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self.get("/health-check")
            except ConnectionRefusedError:
                r = None
            if (r is not None and r.status == status) or time.monotonic() > deadline:
                return r
            time.sleep(0.05)

    def wait_for_cut(self, predicate, timeout=30.0):
        """Polls /cut until predicate(cut) holds; returns that cut (raises on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            cut = self.get_json("/cut")
            if predicate(cut):
                return cut
            if time.monotonic() > deadline:
                raise AssertionError("cut did not reach the condition: %r" % cut)
            time.sleep(0.05)


class EventStream:
    """An open text/event-stream response.  next_event() returns (name, data)
    with data the text after "data:", or None when the server ended the
    stream.  Chunked transfer decoding is http.client's."""

    def __init__(self, host, port, path, timeout=30.0):
        self.conn = http.client.HTTPConnection(host.strip("[]"), port, timeout=timeout)
        self.conn.request("GET", path)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self._buffer = b""

    def next_event(self):
        while b"\n\n" not in self._buffer:
            chunk = self.response.read1(65536)
            if not chunk:
                return None
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n\n", 1)
        fields = dict(line.split(":", 1) for line in raw.decode("utf-8").split("\n"))
        return fields.get("event"), fields.get("data")

    def read(self, count):
        """The next `count` events (fewer if the stream ends)."""
        events = []
        while len(events) < count:
            event = self.next_event()
            if event is None:
                break
            events.append(event)
        return events

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def b64decode(text):
    """Decodes base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cut_tips(cut):
    """{chain: (height, hash)} of a /cut object."""
    return {int(c): (e["height"], e["hash"]) for c, e in cut["hashes"].items()}


def pact_tips(database_directory):
    """{chain: (height, hash as base64url)} of the last BlockHistory row of every Pact
    database of a stopped node (absent chains: no row)."""
    tips = {}
    for path in glob.glob(os.path.join(database_directory, "0", "sqlite", "pact-v1-chain-*.sqlite")):
        chain = int(re.search(r"chain-(\d+)\.sqlite$", path).group(1))
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            row = db.execute("SELECT blockheight, hash FROM BlockHistory ORDER BY blockheight DESC LIMIT 1").fetchone()
        finally:
            db.close()
        if row is not None:
            tips[chain] = (row[0], b64encode(row[1]))
    return tips


def export(database_directory, version="development", timeout=300):
    """The lines of `cairn export` on a stopped node's directory."""
    r = run_cairn(["export", "--database-directory", database_directory, "--chainweb-version", version,
                   "--log-level", "warn"], timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("cairn export failed (%d): %s" % (r.returncode, r.stderr))
    return r.stdout.splitlines()


def verify_lines(lines, timeout=300):
    """Runs `cairn header verify` on the lines; returns (exit status, reports, stderr)."""
    r = subprocess.run([cairn_bin(), "header", "verify"], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines()], r.stderr



# -- backups --

def wait_cut_height(node, height, timeout=120):
    """Waits until the node's /cut height reaches `height`; returns the cut."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cut = node.get_json("/cut")
        if cut["height"] >= height:
            return cut
        time.sleep(0.05)
    raise AssertionError("the cut did not reach height %d" % height)


def make_backup(node, pact=True, timeout=120):
    """Starts a backup through the API and waits for its end; returns (id, final status)."""
    r = node.request("POST", "/make-backup" + ("?backupPact" if pact else ""))
    if r.status != 200:
        raise AssertionError("make-backup: %r" % r)
    backup_id = r.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = node.get("/check-backup/" + backup_id).text
        if state != "backup-in-progress":
            return backup_id, state
        time.sleep(0.02)
    raise AssertionError("backup %s still in progress after %d s" % (backup_id, timeout))


def backup_cli(args, timeout=300):
    """Runs `cairn backup ARGS`; returns the CompletedProcess."""
    return run_cairn(["backup"] + list(args), timeout=timeout)


def coin_rows(path, below_txid=None, in_backup=False):
    """The coin table's row versions (rowkey, txid, rowdata) of a stopped node's Pact
    file, those with txid < below_txid when given.  A file in a backup is opened
    immutable: a read-only connection would leave -wal and -shm files beside it,
    which verification rightly reports as unlisted."""
    db = sqlite3.connect("file:%s?%s" % (path, "immutable=1" if in_backup else "mode=ro"), uri=True)
    try:
        rows = db.execute("SELECT rowkey, txid, rowdata FROM [coin_coin-table] ORDER BY rowkey, txid").fetchall()
    finally:
        db.close()
    return [r for r in rows if below_txid is None or r[1] < below_txid]


def ending_txid(path, height):
    """endingtxid of the block at `height` in a Pact file's BlockHistory."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("SELECT endingtxid FROM BlockHistory WHERE blockheight = ?", (height,)).fetchone()[0]
    finally:
        db.close()


def write_token_file(path, text):
    """Writes `text` to a token file only its owner may read (as the node
    requires); returns the path."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


class TestCase(unittest.TestCase):
    """unittest.TestCase with cairn-specific set-up helpers and assertions."""

    def make_tmp(self, name):
        """A private directory for this test, removed after it."""
        tmp = tempfile.mkdtemp(prefix="cairn-e2e-%s-" % name)
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        return tmp

    def make_backup_files(self, name, tokens):
        """self.tmp (make_tmp), self.backups (a backup directory in it, not
        yet created) and self.tokens (a private token file holding `tokens`)."""
        self.tmp = self.make_tmp(name)
        self.backups = os.path.join(self.tmp, "backups")
        self.tokens = write_token_file(os.path.join(self.tmp, "tokens"), tokens)

    def management_node(self, *extra):
        """A node (not yet started) with the backup and management APIs on,
        backing up into self.backups, taking self.tokens (make_backup_files),
        its database in self.tmp/db; `extra` adds arguments."""
        return Node(["--enable-backup-api", "--backup-directory", self.backups,
                     "--enable-management-api", "--management-token-file", self.tokens] + list(extra),
                    database_directory=os.path.join(self.tmp, "db"))

    def assertStartsAtCut(self, database_directory, hashes, height):
        """Starts a node on `database_directory` without producing, checks
        its cut's hashes and height, stops it; returns the node's log."""
        node = Node(["--block-rate", "0"], database_directory=database_directory)
        with node:
            cut = node.get_json("/cut")
            self.assertEqual(cut["hashes"], hashes)
            self.assertEqual(cut["height"], height)
            self.assertEqual(node.stop(), 0)
        return node.log

    def assertCairnHeaders(self, response, local_address=None):
        """The headers every cairn response carries; x-peer-addr must name
        `local_address` (the client socket) when given."""
        peer = response.header("x-peer-addr")
        self.assertIsNotNone(peer, response)
        self.assertRegex(peer, r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d+$")
        address = local_address or response.local_address
        if address is not None:
            host, port = address[0], address[1]
            expected = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
            self.assertEqual(peer, expected)
        timestamp = response.header("x-server-timestamp")
        self.assertIsNotNone(timestamp, response)
        self.assertRegex(timestamp, r"^\d+$")
        self.assertLess(abs(int(timestamp) - time.time()), 60)
        self.assertEqual(response.header("x-chainweb-node-version"), cairn_version())


_version = None


def cairn_version():
    """The package version the binary reports (`cairn --version`)."""
    global _version
    if _version is None:
        out = run_cairn(["--version"]).stdout.split()
        _version = out[1]
    return _version


def main():
    unittest.main(verbosity=2)
