"""End-to-end: the `cairn` command line around the node: --help lists every
flag of the option table, --version, --print-config output is accepted back
(and runs a node), and bad flags are refused with status 2.
"""
import os
import re
import tempfile

import cairnlib

# Every row of the option table in src/config/config.c: {"flag", "yaml.key", OPT_...
OPTION_ROW = re.compile(r'^\s*\{"([a-z0-9-]+)", "[A-Za-z.]+", OPT_', re.MULTILINE)
ALWAYS = ["config-file", "print-config", "help"]


def option_table_flags():
    with open(os.path.join(cairnlib.SOURCE_DIR, "src", "config", "config.c")) as f:
        flags = OPTION_ROW.findall(f.read())
    assert len(flags) >= 5, "option table not found in config.c"
    return flags + ALWAYS


class ServiceCliTest(cairnlib.TestCase):
    def check_lists_every_flag(self, args):
        p = cairnlib.run_cairn(args)
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in option_table_flags():
            self.assertRegex(p.stdout, r"(^|\s)--%s(\s|$)" % re.escape(flag), "--%s missing" % flag)
        return p.stdout

    def test_node_help_lists_every_flag(self):
        self.check_lists_every_flag(["node", "--help"])

    def test_top_level_help_lists_commands_and_every_flag(self):
        out = self.check_lists_every_flag(["--help"])
        self.assertRegex(out, r"(?m)^\s+node\s")

    def test_version(self):
        p = cairnlib.run_cairn(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^cairn \d+\.\d+\.\d+\n$")

    def test_print_config_is_accepted_back(self):
        with tempfile.TemporaryDirectory() as tmp:
            first = cairnlib.run_cairn(["node", "--print-config", "--chainweb-version", "test-singleton",
                                        "--service-port", "0", "--drain-seconds", "0.5",
                                        "--database-directory", os.path.join(tmp, "db"),
                                        "--log-level", "debug"])
            self.assertEqual(first.returncode, 0, first.stderr)
            path = os.path.join(tmp, "cairn.yaml")
            with open(path, "w") as f:
                f.write(first.stdout)
            second = cairnlib.run_cairn(["node", "--config-file", path, "--print-config"])
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertEqual(second.stdout, first.stdout)
            # The printed configuration runs a node with those settings.
            with cairnlib.Node(["--config-file", path], database_directory=os.path.join(tmp, "db")) as node:
                self.assertEqual(node.get("/info").json()["nodeVersion"], "test-singleton")
                # The producer's first block (4 per second) logs at debug level.
                self.assertIsNotNone(node.wait_for_log(r" DEBUG ", 30), node.log)
                self.assertEqual(node.stop(), 0)

    def test_bad_flags_are_refused(self):
        for args in (["node", "--no-such-flag"], ["node", "--service-port", "70000"],
                     ["node", "--chainweb-version", "nonet"], ["no-such-command"]):
            with self.subTest(args=args):
                p = cairnlib.run_cairn(args)
                self.assertEqual(p.returncode, 2)
                self.assertTrue(p.stderr.startswith("cairn: "), p.stderr)
                self.assertEqual(p.stdout, "")

    def test_hostile_yaml_is_refused_quickly_with_file_and_line(self):
        cases = {
            "deep-mapping": ("a:" + " {b:" * 100000 + " 1" + "}" * 100000 + "\n", r":1: nested deeper than 16 levels"),
            "deep-list": ("[" * 100000 + "]" * 100000 + "\n", r":1: nested deeper than 16 levels"),
            "duplicate": ("databaseDirectory: a\ndatabaseDirectory: b\n",
                          r":2: databaseDirectory: duplicate key \(first at line 1\)"),
            "duplicate-section": ("backup:\n  parallelism: 2\nbackup:\n  rateLimit: 5\n",
                                  r":3: backup: duplicate key \(first at line 1\)"),
            "set-twice": ("databaseDirectory: a\nchainweb:\n  databaseDirectory: b\n",
                          r":3: databaseDirectory: set twice \(first at line 1\)"),
        }
        with tempfile.TemporaryDirectory() as tmp:
            for name, (text, message) in cases.items():
                with self.subTest(name=name):
                    path = os.path.join(tmp, name + ".yaml")
                    with open(path, "w") as f:
                        f.write(text)
                    p = cairnlib.run_cairn(["node", "--config-file", path, "--print-config"], timeout=10)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertRegex(p.stderr, "^cairn: configuration error: " + re.escape(path) + message)
                    self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    cairnlib.main()
