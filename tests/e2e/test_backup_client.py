"""The client CLI (cairn backup start|status|stop|events|download|list|delete)
against the real node over loopback: every command in text and --json, a
download restored with `cairn backup restore FILE.tar.zst` into a directory
a node then starts on with the backup's cut, stopping a rate-limited Pact
backup (and the exit status of a --wait that sees it stopped), the progress
bar in a pseudo-terminal and plain lines off one, wrong and missing tokens,
a node that is not running, usage errors, and hostile archives that restore
refuses without writing outside its staging directory."""
import glob
import hashlib
import io
import json
import os
import re
import select
import subprocess
import tarfile
import time

import cairnlib

TOKEN = "t0ken-for-the-client-cli"


class BackupClientTest(cairnlib.TestCase):
    def setUp(self):
        self.make_backup_files("client", "# the operators' tokens\n\n" + TOKEN + "\nanother-token\n")

    def env(self, token=TOKEN):
        env = dict(os.environ)
        env.pop("CAIRN_TOKEN", None)
        if token is not None:
            env["CAIRN_TOKEN"] = token
        return env

    def client(self, node, *args, token=TOKEN, timeout=120):
        """Runs `cairn backup ARGS --node URL` with CAIRN_TOKEN; returns the CompletedProcess."""
        cmd = [cairnlib.cairn_bin(), "backup"] + list(args)
        if node is not None:
            cmd += ["--node", "http://%s" % node.address]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env(token),
                              cwd=self.tmp)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def state(self, node, backup_id):
        return json.loads(self.ok(self.client(node, "status", backup_id, "--json")).stdout)["state"]

    def manifest(self, backup_id):
        with open(os.path.join(self.backups, backup_id, "manifest.json")) as f:
            return json.load(f)

    def test_every_command_and_a_download_restored(self):
        with self.management_node() as node:
            node.wait_for_cut(lambda cut: cut["height"] >= 20)
            r = self.ok(self.client(node, "start", "--pact", "--wait", "--json"))
            detail = json.loads(r.stdout)
            pact_id = detail["id"]
            self.assertEqual(detail["state"], "completed")
            self.assertTrue(detail["restorable"])
            self.assertIn("backup %s: completed" % pact_id, r.stderr)
            self.assertNotIn("\r", r.stderr)

            r = self.ok(self.client(node, "start"))
            m = re.match(r"^backup (\S+) started\n$", r.stdout)
            self.assertTrue(m, r.stdout)
            plain_id = m.group(1)
            deadline = time.monotonic() + 60
            while self.state(node, plain_id) != "completed":
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)

            # status: one (text and JSON) and all
            r = self.ok(self.client(node, "status", pact_id))
            self.assertRegex(r.stdout, r"(?m)^state: +completed$")
            self.assertRegex(r.stdout, r"(?m)^cut height: +%d$" % detail["snapshot_id"])
            self.assertRegex(r.stdout, r"(?m)^restorable: +yes$")
            self.assertEqual(json.loads(self.ok(self.client(node, "status", pact_id, "--json")).stdout)["id"], pact_id)
            lines = self.ok(self.client(node, "status")).stdout.splitlines()
            self.assertTrue(lines[0].startswith("ID "), lines)
            self.assertEqual([l.split()[0] for l in lines[1:]], [plain_id, pact_id])

            # list: newest first, text and JSON
            listing = json.loads(self.ok(self.client(node, "list", "--json")).stdout)
            self.assertEqual([b["id"] for b in listing], [plain_id, pact_id])
            self.assertTrue(all(b["state"] == "completed" for b in listing), listing)
            r = self.ok(self.client(node, "list"))
            self.assertRegex(r.stdout, r"(?m)^%s +\S+Z +completed +[\d.]+ [kM]?B +%d$" % (pact_id, detail["snapshot_id"]))

            # events
            events = json.loads(self.ok(self.client(node, "events", pact_id, "--json")).stdout)["events"]
            types = [e["type"] for e in events]
            self.assertEqual(types[:3], ["backup_queued", "backup_preparing", "backup_in_progress"])
            self.assertEqual(types[-1], "backup_completed")
            r = self.ok(self.client(node, "events", pact_id))
            self.assertEqual(len(r.stdout.splitlines()), len(events))
            self.assertRegex(r.stdout, r"backup_progress +[\d.]+ [kM]?B of [\d.]+ [kM]?B")

            # download: a default name in the working directory, then -o FILE with --json
            r = self.ok(self.client(node, "download", pact_id))
            default = os.path.join(self.tmp, "development-%s.tar.zst" % pact_id)
            self.assertTrue(os.path.isfile(default), r.stderr)
            self.assertIn("downloaded backup %s to development-%s.tar.zst" % (pact_id, pact_id), r.stdout)
            archive = os.path.join(self.tmp, "pact.tar.zst")
            r = self.ok(self.client(node, "download", pact_id, "-o", archive, "--json"))
            info = json.loads(r.stdout)
            self.assertEqual((info["id"], info["file"], info["bytes"]), (pact_id, archive, os.path.getsize(archive)))
            self.assertGreater(info["archived_bytes"], info["bytes"])
            with open(default, "rb") as a, open(archive, "rb") as b:
                self.assertEqual(hashlib_sha256(a.read()), hashlib_sha256(b.read()))
            self.assertEqual(glob.glob(os.path.join(self.tmp, "*.part-*")), [])
            r = self.client(node, "download", pact_id, "-o", archive)  # never over an existing file
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("exists", r.stderr)
            r = self.client(node, "download", "1796409399636")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("no such backup", r.stderr)

            # delete, and the offline list is unchanged beside it
            self.assertEqual(self.ok(self.client(node, "delete", plain_id)).stdout, "deleted %s\n" % plain_id)
            r = self.client(node, "status", plain_id)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("no such backup", r.stderr)
            offline = self.ok(cairnlib.backup_cli(["list", "--backup-directory", self.backups, "--json"]))
            self.assertEqual([b["id"] for b in json.loads(offline.stdout)], [pact_id])
            manifest = self.manifest(pact_id)

        # restore the downloaded archive, and start a node on it
        target = os.path.join(self.tmp, "restored")
        r = self.ok(cairnlib.backup_cli(["restore", archive, "--database-directory", target]))
        self.assertRegex(r.stdout, r"restored .* into %s: \d+ files" % target)
        self.assertEqual(glob.glob(os.path.join(self.tmp, "restored.unpacking-*")), [])
        self.assertStartsAtCut(target, manifest["cut"]["hashes"], detail["snapshot_id"])

    def test_stop_a_rate_limited_pact_backup(self):
        with self.management_node("--backup-rate-limit", "200000", "--backup-parallelism", "1") as node:
            node.wait_for_cut(lambda cut: cut["height"] >= 40)
            waiting = subprocess.Popen([cairnlib.cairn_bin(), "backup", "start", "--pact", "--wait", "--node",
                                        "http://%s" % node.address], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=self.env())
            try:
                deadline = time.monotonic() + 30
                while True:
                    listing = json.loads(self.ok(self.client(node, "list", "--json")).stdout)
                    if listing and listing[0]["state"] == "in_progress" and listing[0]["bytes_backed_up"] > 0:
                        break
                    self.assertLess(time.monotonic(), deadline, listing)
                    time.sleep(0.05)
                backup_id = listing[0]["id"]
                r = self.ok(self.client(node, "stop", backup_id, "--wait"))
                self.assertEqual(r.stdout, "backup %s stopped\n" % backup_id)
                out, err = waiting.communicate(timeout=30)
            finally:
                if waiting.poll() is None:
                    waiting.kill()
                    waiting.communicate()
            self.assertEqual(waiting.returncode, 1, err)
            self.assertIn("backup %s: stopped" % backup_id, err)
            self.assertEqual(self.state(node, backup_id), "stopped")
            r = self.client(node, "stop", backup_id)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("409", r.stderr)
            types = [l.split()[2] for l in self.ok(self.client(node, "events", backup_id)).stdout.splitlines()]
            self.assertIn("backup_stop_request", types)
            self.assertEqual(types[-1], "backup_stopped")
            r = self.client(node, "download", backup_id)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("only a completed backup can be downloaded", r.stderr)

    def pty_run(self, args, timeout=120):
        """Runs cairn with stdout and stderr on a pseudo-terminal; returns (status, bytes shown)."""
        master, slave = os.openpty()
        p = subprocess.Popen([cairnlib.cairn_bin()] + args, stdin=slave, stdout=slave, stderr=slave,
                             env=self.env(), cwd=self.tmp)
        os.close(slave)
        shown = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:  # the terminal closed: the process has exited
                        break
                    if not data:
                        break
                    shown += data
                elif p.poll() is not None:
                    break
            return p.wait(timeout=10), shown.decode(errors="replace")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)

    def test_progress_on_a_terminal_and_plain_lines_off_one(self):
        with self.management_node("--backup-rate-limit", "400000", "--backup-parallelism", "1") as node:
            node.wait_for_cut(lambda cut: cut["height"] >= 40)
            url = "http://%s" % node.address
            status, shown = self.pty_run(["backup", "start", "--pact", "--wait", "--node", url])
            self.assertEqual(status, 0, shown)
            bars = re.findall(r"\rbackup \S+: +(\d+\.\d)%  [\d.]+ [kM]?B / [\d.]+ [kM]?B  [\d.]+ [kM]?B/s  (\d+|\?) s? ?left",
                              shown)
            self.assertGreaterEqual(len(bars), 3, shown)  # redrawn in place
            self.assertEqual(bars[-1][0], "100.0", shown)
            self.assertLess(float(bars[0][0]), 100.0, shown)
            self.assertIn("\x1b[K", shown)
            backup_id = re.search(r"backup (\S+) completed: cut height", shown).group(1)

            status, shown = self.pty_run(["backup", "download", backup_id, "-o", "tty.tar.zst", "--node", url])
            self.assertEqual(status, 0, shown)
            self.assertRegex(shown, r"\rdownload %s: +\d+\.\d%%  [\d.]+ [kM]?B / [\d.]+ [kM]?B  [\d.]+ [kM]?B/s" % backup_id)

            # off a terminal: one line per state, and the periodic progress lines, no carriage return
            r = self.ok(self.client(node, "start", "--pact", "--wait"))
            self.assertNotIn("\r", r.stderr)
            self.assertNotIn("\x1b", r.stderr)
            second = re.match(r"backup (\S+) completed", r.stdout).group(1)
            # states as polled (four times a second): a short "preparing" may pass unseen
            states = re.findall(r"(?m)^backup %s: (\w+)$" % second, r.stderr)
            self.assertEqual(states[-2:], ["in_progress", "completed"], r.stderr)
            self.assertTrue(set(states) <= {"queued", "preparing", "in_progress", "completed"}, r.stderr)
            r = subprocess.run([cairnlib.cairn_bin(), "backup", "download", second, "-o", "-", "--node", url],
                               capture_output=True, timeout=120, env=self.env())
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(b"\x28\xb5\x2f\xfd"), r.stdout[:16])  # a zstd frame
            self.assertNotIn(b"\r", r.stderr)
            self.assertIn(b"downloaded backup %s to standard output" % second.encode(), r.stderr)

    def test_tokens_reachability_and_usage(self):
        with self.management_node() as node:
            r = self.client(node, "list", token="a-wrong-token")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("refused the token (401): invalid token", r.stderr)
            r = self.client(node, "start", token=None)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("no API token", r.stderr)
            self.assertEqual(self.ok(self.client(node, "list", "--json")).stdout, "[]\n")
            # --token-file: its first token line; a file others can read is refused
            r = self.client(node, "list", "--token-file", self.tokens, token=None)
            self.assertEqual(r.returncode, 0, r.stderr)
            os.chmod(self.tokens, 0o640)
            r = self.client(node, "list", "--token-file", self.tokens, token=None)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("chmod 600", r.stderr)
            os.chmod(self.tokens, 0o600)
            r = self.client(node, "list", "--token-file", os.path.join(self.tmp, "none"), token=None)
            self.assertEqual(r.returncode, 3, r.stderr)
            # the node's address and name from its configuration file
            config = os.path.join(self.tmp, "node.yaml")
            with open(config, "w") as f:
                f.write("serviceApi:\n  interface: 127.0.0.1\n  port: %d\n" % node.port)
            r = self.client(None, "list", "--config-file", config)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(config, "a") as f:
                f.write("managementApi:\n  databaseName: other\n")
            r = self.client(None, "list", "--config-file", config)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn('this node serves "development"', r.stderr)
            r = self.client(node, "list", "--database", "development")
            self.assertEqual(r.returncode, 0, r.stderr)
            port = node.port
        # not running
        r = self.client(None, "list", "--node", "http://127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach the node at http://127.0.0.1:%d" % port, r.stderr)
        r = self.client(None, "download", "1796409399636", "--node", "http://127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 3, r.stderr)
        # usage errors, found before any request
        for args in (["stop"], ["start", "123"], ["status", "not..valid"], ["list", "--pact"],
                     ["events", "1", "--wait"], ["start", "--frobnicate"], ["delete"], ["status", "1", "-o", "f"],
                     ["list", "--node"], ["list", "--node", "ftp://127.0.0.1:1"],
                     ["list", "--node", "http://127.0.0.1:1", "--config-file", "x"]):
            r = self.client(None, *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("cairn backup: "), (args, r.stderr))
        r = self.ok(cairnlib.backup_cli(["start", "--help"]))
        self.assertIn("Client exit status: 0 done, 1 failed", r.stdout)

    def hostile(self, name, add):
        """A tar.zst whose entries `add(tar)` writes; returns its path."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            add(tar)
        path = os.path.join(self.tmp, name + ".tar.zst")
        subprocess.run(["zstd", "-q", "-o", path], input=raw.getvalue(), check=True)
        return path

    def test_hostile_archives_are_refused(self):
        def member(tar, name, data=b"x", kind=tarfile.REGTYPE, target=""):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        def top(tar):
            member(tar, "1796409399636", kind=tarfile.DIRTYPE)

        cases = {
            "dotdot": (lambda t: (top(t), member(t, "1796409399636/../../escaped")), "'..'"),
            "absolute": (lambda t: (top(t), member(t, os.path.join(self.tmp, "escaped"))), "absolute"),
            "symlink": (lambda t: (top(t), member(t, "1796409399636/link", kind=tarfile.SYMTYPE,
                                                  target=self.tmp)), "symbolic link"),
            "hardlink": (lambda t: (top(t), member(t, "1796409399636/f"),
                                    member(t, "1796409399636/h", kind=tarfile.LNKTYPE, target="/etc/passwd")),
                         "hard link"),
            "device": (lambda t: (top(t), member(t, "1796409399636/dev", kind=tarfile.CHRTYPE)), "neither"),
            "two-tops": (lambda t: (top(t), member(t, "1796409399636/a"), member(t, "other/b")), "outside"),
            "not-an-id": (lambda t: member(t, "..bad/file"), "not a backup id"),
        }
        before = sorted(os.listdir(self.tmp))
        for name, (add, reason) in cases.items():
            archive = self.hostile(name, add)
            target = os.path.join(self.tmp, "db-" + name)
            r = cairnlib.backup_cli(["restore", archive, "--database-directory", target])
            self.assertEqual(r.returncode, 1, (name, r.stdout, r.stderr))
            self.assertIn("cannot unpack", r.stderr, name)
            self.assertIn(reason, r.stderr, name)
            self.assertFalse(os.path.exists(target), name)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "escaped")), name)
            os.remove(archive)
        self.assertEqual(sorted(os.listdir(self.tmp)), before)  # no staging directory left behind
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.tmp), "escaped")))
        # not an archive at all
        junk = os.path.join(self.tmp, "junk.tar.zst")
        with open(junk, "wb") as f:
            f.write(b"not zstd at all" * 10)
        r = cairnlib.backup_cli(["restore", junk, "--database-directory", os.path.join(self.tmp, "db-junk")])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot unpack", r.stderr)


def hashlib_sha256(data):
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    cairnlib.main()
