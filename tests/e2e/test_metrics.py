"""GET /metrics on the real binary: a 404 unless enabled; the Prometheus text
format that `promtool check metrics` accepts; counters that move with the
node (blocks per chain, HTTP requests by endpoint and status, a completed
backup's state, time, duration and bytes); the management API's tokens in
front of it (401 and the rejected-authentication counter); a real
`prometheus` on loopback scraping it with a bearer token, asked through its
HTTP API for `up` and for a cairn backup metric; and the alert rules of
packaging/cairn-alerts.yml under `promtool check rules` and `promtool test
rules`."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import cairnlib

TOKEN = "metrics-scrape-token"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def parse(text):
    """{(name, labels-text): value} of every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def promtool(args, stdin=None):
    return subprocess.run(["promtool"] + args, input=stdin, capture_output=True, text=True, timeout=60)


class MetricsTest(cairnlib.TestCase):
    def setUp(self):
        self.make_backup_files("metrics", TOKEN + "\n")

    def scrape(self, node, headers=None, path="/metrics"):
        r = node.get(path, headers=headers)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), CONTENT_TYPE)
        self.assertCairnHeaders(r)
        return r.text

    def check_format(self, text):
        result = promtool(["check", "metrics"], stdin=text)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_off_is_404(self):
        with cairnlib.Node(["--block-rate", "0"], database_directory=os.path.join(self.tmp, "db")) as node:
            for path in ("/metrics", "/chainweb/0.0/development/metrics"):
                r = node.get(path)
                self.assertEqual(r.status, 404, r)

    def test_counters_move(self):
        args = ["--enable-metrics", "--enable-backup-api", "--backup-directory", self.backups,
                "--block-rate", "40"]
        with cairnlib.Node(args, database_directory=os.path.join(self.tmp, "db")) as node:
            cairnlib.wait_cut_height(node, 40)
            text = self.scrape(node)
            self.check_format(text)
            first = parse(text)
            self.assertEqual(first[("cairn_backup_jobs_total", '{state="completed"}')], 0)
            self.assertEqual(first[("cairn_backup_last_success_timestamp_seconds", "")], 0)
            self.assertEqual(first[("cairn_backup_newest_restorable_timestamp_seconds", '{location="local"}')], 0)
            self.assertNotIn(("cairn_backup_newest_restorable_age_seconds", '{location="local"}'), first)
            self.assertEqual(first[("cairn_backup_upload_failures_total", "")], 0)
            heights = {k[1]: v for k, v in first.items() if k[0] == "cairn_chain_height"}
            self.assertEqual(len(heights), 20)
            self.assertEqual(sum(heights.values()), first[("cairn_cut_height", "")])
            self.assertGreaterEqual(first[("cairn_cut_height", "")], 40)
            self.assertGreater(first[("cairn_block_commit_duration_seconds_count", "")], 0)
            self.assertGreater(first[("cairn_pact_wal_bytes", '{chain="0"}')], 0)
            self.assertGreater(first[("cairn_backup_filesystem_size_bytes", "")], 0)

            backup_id, state = cairnlib.make_backup(node, pact=True)
            self.assertEqual(state, "backup-done")
            self.assertEqual(node.get("/no/such/path").status, 404)
            cairnlib.wait_cut_height(node, first[("cairn_cut_height", "")] + 20)
            # also served under the Chainweb prefix, as the same route
            text = self.scrape(node, path="/chainweb/0.0/development/metrics")
            self.check_format(text)
            after = parse(text)
            self.assertEqual(after[("cairn_backup_jobs_total", '{state="completed"}')], 1)
            self.assertEqual(after[("cairn_backup_jobs_total", '{state="failed"}')], 0)
            self.assertEqual(after[("cairn_backup_duration_seconds_count", "")], 1)
            self.assertEqual(after[("cairn_backup_duration_seconds_bucket", '{le="+Inf"}')], 1)
            self.assertGreater(after[("cairn_backup_bytes_total", "")], 0)
            success = after[("cairn_backup_last_success_timestamp_seconds", "")]
            self.assertLess(abs(success - time.time()), 60)
            newest = after[("cairn_backup_newest_restorable_timestamp_seconds", '{location="local"}')]
            self.assertAlmostEqual(newest, int(backup_id) / 1000.0, delta=1)
            self.assertGreaterEqual(after[("cairn_backup_newest_restorable_age_seconds", '{location="local"}')], 0)
            grown = 0
            for chain in range(20):
                key = ("cairn_blocks_committed_total", '{chain="%d"}' % chain)
                self.assertGreater(after[key], 0, key)
                grown += after[key] > first.get(key, 0)
            self.assertGreater(grown, 0)
            self.assertGreaterEqual(after[("cairn_http_requests_total", '{endpoint="/make-backup",code="200"}')], 1)
            self.assertGreaterEqual(
                after[("cairn_http_requests_total", '{endpoint="/check-backup/{backupId}",code="200"}')], 1)
            self.assertEqual(after[("cairn_http_requests_total", '{endpoint="other",code="404"}')], 1)
            self.assertEqual(after[("cairn_http_requests_total", '{endpoint="/metrics",code="200"}')], 1)

    def test_tokens_and_prometheus(self):
        args = ["--enable-metrics", "--enable-backup-api", "--backup-directory", self.backups,
                "--enable-management-api", "--management-token-file", self.tokens, "--block-rate", "20"]
        with cairnlib.Node(args, database_directory=os.path.join(self.tmp, "db")) as node:
            r = node.get("/metrics")
            self.assertEqual(r.status, 401, r)
            self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
            r = node.get("/metrics", headers={"Authorization": "Bearer not-" + TOKEN})
            self.assertEqual(r.status, 401, r)
            text = self.scrape(node, headers={"Authorization": "Bearer " + TOKEN})
            self.check_format(text)
            samples = parse(text)
            self.assertEqual(samples[("cairn_http_auth_rejected_total", '{reason="missing_token"}')], 1)
            self.assertEqual(samples[("cairn_http_auth_rejected_total", '{reason="invalid_token"}')], 1)
            self.assertEqual(samples[("cairn_http_requests_total", '{endpoint="/metrics",code="401"}')], 2)
            self.assertEqual(self.scrape(node, headers={"X-Auth-Token": TOKEN})[:7], "# HELP ")
            backup_id, state = cairnlib.make_backup(node, pact=False)
            self.assertEqual(state, "backup-done")
            self.run_prometheus(node)

    def run_prometheus(self, node):
        """A real Prometheus scrapes the node with the bearer token; its query API
        reports the target up and the completed backup."""
        token_file = os.path.join(self.tmp, "prometheus-token")
        with open(token_file, "w") as f:
            f.write(TOKEN)
        config = os.path.join(self.tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: cairn\n    scrape_interval: 1s\n"
                    "    authorization:\n      type: Bearer\n      credentials_file: %s\n"
                    "    static_configs:\n      - targets: ['%s']\n"
                    % (os.path.join(cairnlib.SOURCE_DIR, "packaging", "cairn-alerts.yml"), token_file,
                       node.address))
        port = cairnlib.free_port()
        log = open(os.path.join(self.tmp, "prometheus.log"), "w")
        proc = subprocess.Popen(["prometheus", "--config.file=" + config,
                                 "--storage.tsdb.path=" + os.path.join(self.tmp, "tsdb"),
                                 "--web.listen-address=127.0.0.1:%d" % port], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            up = self.wait_query(port, 'up{job="cairn"}', proc)
            self.assertEqual(up, 1)
            completed = self.wait_query(port, 'cairn_backup_jobs_total{job="cairn",state="completed"}', proc)
            self.assertEqual(completed, 1)
            last = self.wait_query(port, 'cairn_backup_last_success_timestamp_seconds{job="cairn"}', proc)
            self.assertLess(abs(last - time.time()), 120)
        except AssertionError:
            log.flush()
            with open(log.name) as f:
                print("---- prometheus log ----\n" + f.read()[-4000:])
            raise
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    def wait_query(self, port, query, proc, timeout=40):
        """The value of `query`'s single result, waiting for it to have one."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": query}))
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.assertIsNone(proc.poll(), "prometheus exited")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    last = json.load(r)
            except OSError as e:  # not listening yet
                last = str(e)
            if isinstance(last, dict) and last.get("status") == "success" and last["data"]["result"]:
                self.assertEqual(len(last["data"]["result"]), 1, last)
                return float(last["data"]["result"][0]["value"][1])
            time.sleep(0.2)
        self.fail("prometheus never answered %s: %r" % (query, last))

    def test_alert_rules(self):
        rules = os.path.join(cairnlib.SOURCE_DIR, "packaging", "cairn-alerts.yml")
        result = promtool(["check", "rules", rules])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("SUCCESS: 4 rules found", result.stdout)
        result = promtool(["test", "rules", os.path.join(cairnlib.FIXTURES, "cairn-alerts-test.yml")])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    cairnlib.main()
