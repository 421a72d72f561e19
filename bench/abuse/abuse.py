"""bench/abuse/abuse.py CAIRN SECONDS ROUNDS: see bench/abuse/run.

The abusers run in child processes (so that the measuring client does not
share an interpreter lock with them); the measuring client is one
keep-alive connection sending GET /health-check 100 times a second.
"""
import http.client
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

IDLE = 2000
SUBSCRIBERS = 200
PER_ADDRESS = 100
REQUEST_TIMEOUT = 10  # the default
SUBSCRIBE = b"GET /block/updates HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def source_address(index):
    n = index // PER_ADDRESS + 2
    return "127.%d.%d.%d" % (1 + n // 62500, n // 250 % 250, 2 + n % 250)


def connect_from(port, index, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source_address(index), 0))
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def peer_closed(sock):
    try:
        while True:
            if not sock.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def idle_abuser(port, stop):
    """2,000 connections, the odd ones dripping a byte a second; reopened when closed."""
    socks = [connect_from(port, i) for i in range(IDLE)]
    while not stop.wait(1.0):
        for i, sock in enumerate(socks):
            if peer_closed(sock):
                sock.close()
                try:
                    socks[i] = connect_from(port, i)
                except OSError:
                    continue
            elif i % 2:
                try:
                    socks[i].send(b"G")
                except OSError:
                    pass
    for sock in socks:
        sock.close()


def stream_abuser(port, stop):
    """200 subscribers that never read, each replaced after 5 s."""
    socks = []
    generation = 0
    while True:
        fresh = []
        for i in range(SUBSCRIBERS):
            try:
                sock = connect_from(port, IDLE + i + (generation % 2) * SUBSCRIBERS, rcvbuf=4096)
                sock.setblocking(True)
                sock.sendall(SUBSCRIBE)
                fresh.append(sock)
            except OSError:
                pass
        for sock in socks:
            sock.close()
        socks = fresh
        generation += 1
        if stop.wait(5.0):
            break
    for sock in socks:
        sock.close()


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def big_header_abuser(port, stop):
    head = b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head)
                read_response(sock)
        except OSError:
            time.sleep(0.1)


def big_body_abuser(port, stop):
    chunk = b"x" * 65536
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"POST /info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n\r\n")
                for _ in range(160):
                    sock.sendall(chunk)
                read_response(sock)
        except OSError:
            time.sleep(0.1)


def abuse(name, port, stop):
    """Runs one abuser at the lowest CPU priority: on a real deployment the
    abusers are other machines, here they share the node's two cores."""
    os.nice(19)
    ABUSERS[name](port, stop)


ABUSERS = {"idle": idle_abuser, "stream": stream_abuser, "header": big_header_abuser, "body": big_body_abuser}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(port, seconds, pid, peak):
    """Latencies (ms) of health checks for `seconds`, 100 a second; tracks peak RSS."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, failures = [], 0
    end = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            conn.request("GET", "/health-check")
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures += 1
        except (OSError, http.client.HTTPException):
            failures += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append((time.perf_counter() - t0) * 1000)
        peak[0] = max(peak[0], rss_kb(pid))
        next_at += 0.01
        time.sleep(max(0.0, next_at - time.monotonic()))
    conn.close()
    return latencies, failures


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    cairn, seconds, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    kinds = os.environ.get("ABUSE", ",".join(ABUSERS)).split(",")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="cairn-bench-abuse-", dir=os.environ.get("CAIRN_BENCH_DIR", "/var/tmp"))
    node = subprocess.Popen([cairn, "node", "--service-port", "0", "--database-directory", work + "/db",
                             "--block-rate", os.environ.get("BLOCK_RATE", "40"), "--log-level", "warn"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in node.stderr:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            raise SystemExit("bench/abuse: the node did not start")
        threading.Thread(target=lambda: [None for _ in node.stderr], daemon=True).start()
        time.sleep(1)
        rows = []
        for r in range(rounds):
            peak_idle, peak_abuse = [0], [0]
            idle, idle_fail = measure(port, seconds, node.pid, peak_idle)
            stop = multiprocessing.Event()
            procs = [multiprocessing.Process(target=abuse, args=(name, port, stop)) for name in kinds]
            for p in procs:
                p.start()
            time.sleep(2)  # the connections are open
            abused, abuse_fail = measure(port, seconds, node.pid, peak_abuse)
            stop.set()
            for p in procs:
                p.join(30)
            rows.append((percentile(idle, 0.5), percentile(idle, 0.99), max(idle),
                         percentile(abused, 0.5), percentile(abused, 0.99), max(abused),
                         peak_idle[0], peak_abuse[0], idle_fail + abuse_fail, len(abused)))
            print("  round %d: idle p50 %.2f p99 %.2f max %.1f ms; abused p50 %.2f p99 %.2f max %.1f ms "
                  "(%d requests); RSS idle %.1f MB, peak %.1f MB; %d failed" %
                  (r + 1, rows[-1][0], rows[-1][1], rows[-1][2], rows[-1][3], rows[-1][4], rows[-1][5],
                   rows[-1][9], rows[-1][6] / 1024, rows[-1][7] / 1024, rows[-1][8]))
            time.sleep(float(os.environ.get("SETTLE", REQUEST_TIMEOUT + 2)))  # everything released before the next idle phase
        med = [statistics.median(col) for col in zip(*rows)]
        connections = IDLE + SUBSCRIBERS + 2
        print("health-check under abuse (2,000 idle/dripping, 200 non-reading subscribers, 64 KB headers, "
              "10 MB bodies), median of %d rounds:" % rounds)
        print("  idle: p99 %.2f ms; abused: p99 %.2f ms (target 20 ms), max %.1f ms; ratio abused / idle p99: %.1f"
              % (med[1], med[4], med[5], med[4] / med[1]))
        print("  RSS: idle %.1f MB, peak under abuse %.1f MB (%.1f KB per connection; bound 48 KiB); failures: %d"
              % (med[6] / 1024, med[7] / 1024, (med[7] - med[6]) / connections, sum(r[8] for r in rows)))
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(10)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
