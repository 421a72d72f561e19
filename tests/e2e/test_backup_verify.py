"""cairn backup verify: a good backup passes (quick and full); each kind of
damage (a flipped byte in a RocksDB table file, a truncated SQLite file, a
deleted file, a stray file) fails verification with a problem naming the
file, and restore refuses the damaged backup without creating its target.
(An altered stored header is covered by unit.test_backup_verify.)"""
import os
import shutil
import tempfile

import cairnlib


class BackupVerifyTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cairn-e2e-backup-verify-")
        cls.backups = os.path.join(cls.tmp, "backups")
        node = cairnlib.Node(["--enable-backup-api", "--backup-directory", cls.backups, "--block-rate", "max"],
                             database_directory=os.path.join(cls.tmp, "db"))
        with node:
            cairnlib.wait_cut_height(node, 300)
            cls.id, state = cairnlib.make_backup(node, pact=True)
            assert state == "backup-done", state
            node.stop()
        cls.good = os.path.join(cls.backups, cls.id)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy(self, name):
        """An independent copy of the backup (copies, not links to the live table files)."""
        path = os.path.join(self.tmp, name)
        shutil.copytree(self.good, path)
        return path

    def verify(self, path, *flags):
        return cairnlib.backup_cli(["verify", path] + list(flags))

    def expect_refused(self, path, problem):
        r = self.verify(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, problem)
        self.assertIn("FAILED", r.stdout)
        target = os.path.join(self.tmp, "restore-" + os.path.basename(path))
        r = cairnlib.backup_cli(["restore", path, "--database-directory", target])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("does not verify", r.stderr)
        self.assertFalse(os.path.exists(target))
        self.assertFalse(os.path.exists(target + ".restoring"))

    def test_good_backup_passes(self):
        r = self.verify(self.good, "--quick")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r": ok: \d+ files")
        r = self.verify(self.good)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r": ok: .* [1-9]\d* headers validated .* [1-9]\d* payloads, 20 Pact files")
        self.assertNotIn("problem", r.stdout)
        # Verification writes nothing into the backup.
        self.assertEqual(self.verify(self.good).returncode, 0)
        self.assertFalse([n for n in os.listdir(os.path.join(self.good, "0", "sqlite")) if not n.endswith(".sqlite")])
        self.assertFalse([n for n in os.listdir(os.path.join(self.good, "0", "rocksDb")) if n.startswith("LOG")])

    def test_flipped_byte_in_a_table_file(self):
        path = self.copy("flipped")
        rocks = os.path.join(path, "0", "rocksDb")
        table = max((n for n in os.listdir(rocks) if n.endswith(".sst")),
                    key=lambda n: os.path.getsize(os.path.join(rocks, n)))
        with open(os.path.join(rocks, table), "r+b") as f:
            f.seek(os.path.getsize(os.path.join(rocks, table)) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x40]))
        self.expect_refused(path, r"problem: 0/rocksDb: .*(%s|[Cc]orrupt|checksum)" % table)

    def test_truncated_sqlite_file(self):
        path = self.copy("truncated")
        name = "0/sqlite/pact-v1-chain-3.sqlite"
        full = os.path.join(path, name)
        os.truncate(full, os.path.getsize(full) // 2)
        self.expect_refused(path, r"problem: %s: \d+ bytes, the manifest lists \d+" % name)
        r = self.verify(path, "--quick")
        self.assertEqual(r.returncode, 1)
        self.assertIn(name, r.stdout)

    def test_deleted_file(self):
        path = self.copy("deleted")
        rocks = os.path.join(path, "0", "rocksDb")
        options = [n for n in os.listdir(rocks) if n.startswith("OPTIONS-")][0]
        os.unlink(os.path.join(rocks, options))
        os.unlink(os.path.join(path, "0", "sqlite", "pact-v1-chain-7.sqlite"))
        self.expect_refused(path, r"problem: 0/rocksDb/%s: missing" % options)
        self.assertIn("problem: 0/sqlite/pact-v1-chain-7.sqlite: missing", self.verify(path, "--quick").stdout)

    def test_directory_swapped_for_a_link_outside_is_refused_unread(self):
        path = self.copy("linked")
        shutil.rmtree(os.path.join(path, "0", "sqlite"))
        os.symlink("/etc", os.path.join(path, "0", "sqlite"))
        r = self.verify(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("problem: 0/sqlite: a symbolic link, refused (not followed)", r.stdout)
        self.assertIn("0/sqlite/pact-v1-chain-0.sqlite: a symbolic link on its path", r.stdout)
        self.assertNotIn("passwd", r.stdout)  # nothing of /etc was listed
        self.assertNotIn("hostname", r.stdout)
        self.expect_refused(path, r"a symbolic link")

    def test_stray_file(self):
        path = self.copy("stray")
        with open(os.path.join(path, "0", "rocksDb", "000999.sst"), "wb") as f:
            f.write(b"not a table")
        with open(os.path.join(path, "notes.txt"), "w") as f:
            f.write("hello")
        self.expect_refused(path, r"problem: 0/rocksDb/000999.sst: not listed in the manifest")
        self.assertIn("problem: notes.txt: not part of a backup", self.verify(path, "--quick").stdout)

    def test_leftover_of_an_interrupted_record_write(self):
        # a node killed while it rewrote a done backup's job record leaves job.json.tmp.<pid>
        # (found by the crash harness): the backup still verifies, and a stray file does not
        path = self.copy("record-leftover")
        with open(os.path.join(path, "job.json.tmp.12223"), "w") as f:
            f.write('{"half": ')
        r = self.verify(path, "--quick")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(path, "job.json.tmp.x"), "w") as f:
            f.write("not a leftover")
        self.assertIn("problem: job.json.tmp.x: not part of a backup", self.verify(path, "--quick").stdout)

    def test_altered_sha256_in_a_copied_file(self):
        path = self.copy("altered")
        name = "0/sqlite/pact-v1-chain-0.sqlite"
        with open(os.path.join(path, name), "r+b") as f:
            f.seek(200)
            byte = f.read(1)
            f.seek(200)
            f.write(bytes([byte[0] ^ 1]))
        self.expect_refused(path, r"problem: %s: SHA-256 [0-9a-f]{64}, the manifest lists [0-9a-f]{64}" % name)

    def test_usage(self):
        r = self.verify(os.path.join(self.tmp, "nowhere"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a directory", r.stderr)
        r = cairnlib.backup_cli(["verify"])
        self.assertEqual(r.returncode, 2)
        r = cairnlib.backup_cli(["verify", self.good, "--json"])
        self.assertEqual(r.returncode, 2)
        r = cairnlib.backup_cli(["frobnicate"])
        self.assertEqual(r.returncode, 2)
        self.assertEqual(cairnlib.backup_cli(["--help"]).returncode, 0)


if __name__ == "__main__":
    cairnlib.main()
