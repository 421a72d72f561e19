"""The Debian package: `cpack -G DEB` from the build tree under test.

Always: the control fields (every shared library the binary needs is
covered by Depends, as dpkg-shlibdeps computed it), the conffile, the
maintainer scripts, and the package unpacked into a fresh directory root
(dpkg -x) runs `cairn --version` and `cairn node --print-config` with its
/etc/cairn/cairn.yaml.

As root, and only when no cairn package or user exists yet: dpkg -i on
this machine, the postinst's user and directories, the node run as the
unit runs it (user cairn, working directory /var/lib/cairn, the installed
configuration), then dpkg -P; the test removes what purge leaves on
purpose (the user, /var/lib/cairn, /var/backups/cairn) and checks that
nothing of the package remains.  PID 1 is not systemd here, so the unit
itself is not started (test_install.py verifies it with systemd-analyze).
"""

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import cairnlib

BUILD_DIR = os.path.dirname(os.path.abspath(cairnlib.cairn_bin()))


def run(args, timeout=120, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def check(args, timeout=120, **kw):
    r = run(args, timeout, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r.stdout


def dpkg_locked_retry(args, timeout=90):
    """Runs a dpkg command, waiting while another dpkg or apt holds the lock."""
    deadline = time.monotonic() + timeout
    while True:
        r = run(args)
        if r.returncode == 0 or "lock" not in r.stderr or time.monotonic() > deadline:
            return r
        time.sleep(2)


def control_fields(deb):
    fields = {}
    for line in check(["dpkg-deb", "-f", deb]).splitlines():
        if line and not line.startswith(" "):
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def package_of_library(soname, ldd_output):
    """The Debian package that ships the shared library the binary loads as
    `soname` (its path from ldd; /lib and /usr/lib are one with merged /usr)."""
    match = re.search(r"^\s*%s => (\S+)" % re.escape(soname), ldd_output, re.M)
    if match is None:
        return None
    path = match.group(1)
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        candidates.append(p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p)
    for p in candidates:
        r = run(["dpkg", "-S", p])
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def exists_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class DebPackageTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD_DIR, "CPackConfig.cmake")):
            raise unittest.SkipTest("CAIRN_BIN is not in a CMake build tree with CPack")
        if shutil.which("dpkg-deb") is None:
            raise unittest.SkipTest("dpkg-deb is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="cairn-deb-")
        check(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
               "-B", os.path.join(cls.tmp, "out")], timeout=300, cwd=BUILD_DIR)
        debs = glob.glob(os.path.join(cls.tmp, "out", "cairn_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.version = cairnlib.run_cairn(["--version"]).stdout.split()[1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_control(self):
        fields = control_fields(self.deb)
        self.assertEqual(fields["Package"], "cairn")
        self.assertEqual(fields["Version"], self.version + "-1")
        self.assertEqual(fields["Architecture"], check(["dpkg", "--print-architecture"]).strip())
        depends = {d.strip().split(" ")[0] for d in fields["Depends"].split(",")}
        self.assertIn("adduser", depends)
        # Every library the binary links comes from a package in Depends.
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                            check(["readelf", "-d", cairnlib.cairn_bin()]))
        self.assertTrue(any(n.startswith("librocksdb") for n in needed), needed)
        ldd = check(["ldd", cairnlib.cairn_bin()])
        for soname in needed:
            package = package_of_library(soname, ldd)
            self.assertIsNotNone(package, soname)
            self.assertIn(package.split(":")[0], depends, "%s (%s) is not in Depends: %s"
                          % (soname, package, fields["Depends"]))
        for prefix in ("librocksdb", "libsqlite3", "libmicrohttpd", "libjson-c", "libyaml", "libsystemd"):
            self.assertTrue(any(d.startswith(prefix) for d in depends), (prefix, depends))

    def test_control_files(self):
        control = os.path.join(self.tmp, "control")
        check(["dpkg-deb", "-e", self.deb, control])
        with open(os.path.join(control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/cairn/cairn.yaml"])
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            check(["sh", "-n", path])

    def test_unpacked_into_a_fresh_root(self):
        root = os.path.join(self.tmp, "root")
        check(["dpkg-deb", "-x", self.deb, root])
        for path in ("usr/bin/cairn", "usr/share/man/man1/cairn.1.gz", "usr/lib/systemd/system/cairn.service",
                     "etc/cairn/cairn.yaml", "usr/share/doc/cairn/operations.md"):
            self.assertTrue(os.path.isfile(os.path.join(root, path)), path)
        binary = os.path.join(root, "usr/bin/cairn")
        self.assertEqual(check([binary, "--version"]), "cairn %s\n" % self.version)
        printed = check([binary, "node", "--config-file", os.path.join(root, "etc/cairn/cairn.yaml"),
                         "--print-config"])
        self.assertEqual(printed, cairnlib.run_cairn(["node", "--print-config"]).stdout)

    def test_dpkg_install_and_purge(self):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root")
        if run(["dpkg-query", "-W", "cairn"]).returncode == 0 or exists_user("cairn"):
            self.skipTest("a cairn package or user already exists on this machine; not touching it")
        made = [p for p in ("/var/lib/cairn", "/var/backups/cairn", "/etc/cairn") if not os.path.exists(p)]
        self.assertEqual(len(made), 3, "leftovers of an earlier install: %s" % made)
        try:
            r = dpkg_locked_retry(["dpkg", "-i", self.deb])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(check(["/usr/bin/cairn", "--version"]), "cairn %s\n" % self.version)
            printed = check(["/usr/bin/cairn", "node", "--config-file", "/etc/cairn/cairn.yaml", "--print-config"])
            self.assertIn('chainwebVersion: "development"', printed)
            user = pwd.getpwnam("cairn")
            self.assertLess(user.pw_uid, 1000)
            for directory in ("/var/lib/cairn", "/var/backups/cairn"):
                self.assertEqual(os.stat(directory).st_uid, user.pw_uid, directory)
            self.assertTrue(os.path.exists("/usr/lib/systemd/system/cairn.service"))
            wants = "/etc/systemd/system/multi-user.target.wants/cairn.service"
            if shutil.which("systemctl"):
                self.assertTrue(os.path.islink(wants), "the postinst did not enable the unit")
            self.run_as_the_unit_does(user)
            r = dpkg_locked_retry(["dpkg", "-P", "cairn"])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            for path in ("/usr/bin/cairn", "/etc/cairn", "/usr/lib/systemd/system/cairn.service", wants):
                self.assertFalse(os.path.lexists(path), path)
            # Purge keeps the data and the user on purpose.
            self.assertTrue(os.path.isdir("/var/lib/cairn/cairn-data"))
            self.assertTrue(exists_user("cairn"))
        finally:
            if run(["dpkg-query", "-W", "cairn"]).returncode == 0:
                dpkg_locked_retry(["dpkg", "-P", "cairn"])
            if exists_user("cairn"):
                run(["deluser", "--system", "--quiet", "cairn"])
            if run(["getent", "group", "cairn"]).returncode == 0:
                run(["delgroup", "--system", "--quiet", "cairn"])
            for path in made:
                shutil.rmtree(path, ignore_errors=True)
        self.assertFalse(exists_user("cairn"))

    def run_as_the_unit_does(self, user):
        """The unit's ExecStart as user cairn in /var/lib/cairn (no systemd here)."""
        env = {"PATH": "/usr/bin:/bin"}
        process = subprocess.Popen(
            ["setpriv", "--reuid", str(user.pw_uid), "--regid", str(user.pw_gid), "--clear-groups",
             "/usr/bin/cairn", "node", "--config-file", "/etc/cairn/cairn.yaml",
             "--service-port", "0", "--block-rate", "0"],
            cwd="/var/lib/cairn", env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        try:
            port = None
            deadline = time.monotonic() + 30
            while port is None and time.monotonic() < deadline:
                line = process.stderr.readline()
                if not line:
                    break
                match = cairnlib.LISTENING.search(line.rstrip("\n"))
                if match:
                    port = int(match.group(2))
            self.assertIsNotNone(port, "the packaged node did not start")
            self.assertEqual(cairnlib.request("127.0.0.1", port, "GET", "/health-check").status, 200)
            self.assertEqual(os.stat("/var/lib/cairn/cairn-data").st_uid, user.pw_uid)
            process.send_signal(signal.SIGTERM)
            self.assertEqual(process.wait(15), 0)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stderr.close()


if __name__ == "__main__":
    cairnlib.main()
