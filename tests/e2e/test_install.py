"""`cmake --install` of the build tree under test: the binary, cairn(1) built
from --help, the systemd unit (checked by systemd-analyze verify) and the
example /etc/cairn/cairn.yaml built from the option table.  Installs go to
a private DESTDIR; nothing outside it is touched."""

import gzip
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import cairnlib

BUILD_DIR = os.path.dirname(os.path.abspath(cairnlib.cairn_bin()))
SETTING = re.compile(r"^#( *)([A-Za-z][A-Za-z0-9]*):( |$)")


def install(destdir, prefix):
    env = dict(os.environ, DESTDIR=destdir)
    r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], env=env,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("cmake --install failed:\n" + r.stdout + r.stderr)
    return r.stdout


def uncomment(text):
    """Removes the '#' in front of every setting and section line, as the
    example's header tells the operator to."""
    lines = []
    for line in text.splitlines():
        lines.append(line[1:] if SETTING.match(line) else line)
    return "\n".join(lines) + "\n"


def unroff(text):
    """The man page source with help2man's escapes undone."""
    return text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\(aq", "'")


class InstallTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD_DIR, "cmake_install.cmake")):
            raise unittest.SkipTest("CAIRN_BIN is not in a CMake build tree")
        cls.tmp = tempfile.mkdtemp(prefix="cairn-install-")
        cls.root = os.path.join(cls.tmp, "root")
        install(cls.root, "/usr")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def read(self, *parts):
        with open(self.path(*parts)) as f:
            return f.read()

    def test_binary_runs(self):
        binary = self.path("usr", "bin", "cairn")
        self.assertTrue(os.access(binary, os.X_OK))
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, cairnlib.run_cairn(["--version"]).stdout)
        for doc in ("README.md", "configuration.md", "operations.md"):
            self.assertTrue(os.path.isfile(self.path("usr", "share", "doc", "cairn", doc)), doc)
        self.assertIn("u cairn ", self.read("usr", "lib", "sysusers.d", "cairn.conf"))

    def test_man_page_holds_the_help_text(self):
        with gzip.open(self.path("usr", "share", "man", "man1", "cairn.1.gz"), "rt") as f:
            page = unroff(f.read())
        self.assertIn('.TH CAIRN "1"', page)
        top = cairnlib.run_cairn(["--help"]).stdout
        flags = set(re.findall(r"^\s+(--[a-z][a-z-]*)", top, re.M))
        self.assertGreater(len(flags), 20)
        for flag in flags:
            self.assertIn(flag, page)
        for key in re.findall(r"YAML key: ([A-Za-z.]+)", top):
            self.assertIn(key, page)
        # Every command's help, line for line (verbatim blocks).
        commands = re.findall(r"^  ([a-z][a-z0-9-]*) ", top.split("Commands:\n")[1].split("\n\n")[0], re.M)
        self.assertIn("backup", commands)
        for command in commands:
            if command == "node":
                continue
            text = cairnlib.run_cairn([command, "--help"]).stdout
            self.assertIn('.SS "cairn %s"' % command, page)
            for line in text.splitlines():
                self.assertIn(line, page, "cairn %s --help" % command)
        version = cairnlib.run_cairn(["--version"]).stdout.split()[1]
        self.assertIn(version, page)

    def test_example_config(self):
        example = self.read("etc", "cairn", "cairn.yaml")
        self.assertEqual(example, cairnlib.run_cairn(["node", "--print-example-config"]).stdout)
        # Every key of --print-config is there, commented out.
        printed = cairnlib.run_cairn(["node", "--print-config"]).stdout
        for line in printed.splitlines():
            self.assertIn("#" + line + "\n", example)
        for line in example.splitlines():
            self.assertTrue(line == "" or line.lstrip().startswith("#"), line)
        # As installed, it changes nothing.
        installed = self.path("etc", "cairn", "cairn.yaml")
        r = cairnlib.run_cairn(["node", "--config-file", installed, "--print-config"])
        self.assertEqual((r.returncode, r.stdout), (0, printed), r.stderr)
        # Uncommented, it is a complete file that cairn accepts; an edit takes effect.
        active = uncomment(example)
        body = active.split("\n\n", 1)[1]  # after the header
        for line in body.splitlines():
            self.assertTrue(not line.startswith("#") or line.startswith("##"), line)
        edited = os.path.join(self.tmp, "edited.yaml")
        with open(edited, "w") as f:
            f.write(active.replace("  port: 1848", "  port: 18481").replace('logLevel: info', 'logLevel: warn'))
        r = cairnlib.run_cairn(["node", "--config-file", edited, "--print-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, printed.replace("port: 1848\n", "port: 18481\n")
                         .replace("logLevel: info", "logLevel: warn"))

    def test_unit(self):
        unit = self.read("usr", "lib", "systemd", "system", "cairn.service")
        for directive in ("Type=notify", "ExecStart=/usr/bin/cairn node --config-file /etc/cairn/cairn.yaml",
                          "User=cairn", "StateDirectory=cairn", "WorkingDirectory=%S/cairn",
                          "ProtectSystem=strict", "NoNewPrivileges=true", "PrivateTmp=true",
                          "ReadWritePaths=-/var/backups/cairn", "WantedBy=multi-user.target"):
            self.assertIn("\n" + directive + "\n", unit)
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed")
        # verify needs ExecStart's binary and the Documentation= page to exist:
        # point a copy at the ones in the DESTDIR.
        copy_dir = os.path.join(self.tmp, "verify")
        os.makedirs(copy_dir, exist_ok=True)
        copy = os.path.join(copy_dir, "cairn.service")
        with open(copy, "w") as f:
            f.write(unit.replace("ExecStart=/usr/bin/cairn", "ExecStart=" + self.path("usr", "bin", "cairn")))
        env = dict(os.environ, MANPATH=self.path("usr", "share", "man"))
        r = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        # A broken copy is caught (the check above can fail).
        with open(copy, "w") as f:
            f.write(unit.replace("Type=notify", "Type=notified"))
        r = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertIn("Failed to parse service type", r.stderr)

    def test_other_prefix_and_existing_config(self):
        root = os.path.join(self.tmp, "opt-root")
        install(root, "/opt/cairn")
        with open(os.path.join(root, "opt/cairn/lib/systemd/system/cairn.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/opt/cairn/bin/cairn node --config-file /opt/cairn/etc/cairn/cairn.yaml\n", unit)
        config = os.path.join(root, "opt/cairn/etc/cairn/cairn.yaml")
        with open(config, "w") as f:
            f.write("logLevel: warn\n")
        out = install(root, "/opt/cairn")
        self.assertIn("Keeping", out)
        with open(config) as f:
            self.assertEqual(f.read(), "logLevel: warn\n")
        self.assertTrue(os.path.isfile(config + ".example"))


if __name__ == "__main__":
    cairnlib.main()
