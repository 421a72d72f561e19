"""End-to-end: cairn import (and cairn export, which writes its input).

A development chain produced by a node and exported imports into a fresh
directory, where it is the same chain (same cut) with the same Pact state
row for row: PactDB is a function of the chain.  Importing again skips
every block.  Header-only lines import as blocks without payload contents.
A corrupted header stops the import at its line with exit status 1 and the
reason, keeping the blocks before it; a malformed line is exit status 2; a
directory held by a running node and a file of another version are refused.
"""
import json
import os
import sqlite3
import subprocess
import tempfile

import cairnlib


def import_file(path, directory, *extra, stdin=None):
    args = ["import"] + ([path] if path else []) + ["--database-directory", directory, "--log-level", "warn"]
    return subprocess.run([cairnlib.cairn_bin()] + args + list(extra), input=stdin, capture_output=True,
                          text=True, timeout=300)


def pact_rows(directory, chain):
    """Every row of the Pact tables of one chain, for comparing two databases."""
    path = os.path.join(directory, "0", "sqlite", "pact-v1-chain-%d.sqlite" % chain)
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        rows = {}
        for table in ("BlockHistory", "TransactionIndex", "VersionedTableMutation", "VersionedTableCreation"):
            rows[table] = sorted(db.execute("SELECT * FROM [%s]" % table).fetchall())
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%coin%'")]
        for table in tables:
            rows[table] = sorted(db.execute("SELECT rowkey, txid, rowdata FROM [%s]" % table).fetchall())
        return rows
    finally:
        db.close()


def stored_cut(directory):
    """The cut of a stopped node's directory, read by starting it without production."""
    with cairnlib.Node(["--block-rate", "0"], database_directory=directory) as node:
        return cairnlib.cut_tips(node.get_json("/cut"))


class ImportTest(cairnlib.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="cairn-import-")
        cls.source = os.path.join(cls.tmp.name, "source")
        node = cairnlib.Node(["--block-rate", "200", "--transactions-per-block", "4"],
                             database_directory=cls.source)
        try:
            node.start()
            node.wait_for_cut(lambda c: c["height"] >= 400)
            assert node.stop() == 0
        finally:
            node.close()
        cls.lines = cairnlib.export(cls.source)
        cls.path = os.path.join(cls.tmp.name, "chain.txt")
        with open(cls.path, "w") as f:
            f.write("\n".join(cls.lines) + "\n")
        cls.cut = stored_cut(cls.source)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def directory(self, name):
        return os.path.join(self.tmp.name, name)

    def test_import_reproduces_chain_and_pact_state(self):
        target = self.directory("copy")
        r = import_file(self.path, target)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "imported %d blocks, 20 already present\n" % (len(self.lines) - 20))
        self.assertEqual(stored_cut(target), self.cut)
        for chain in (0, 7, 19):
            self.assertEqual(pact_rows(target, chain), pact_rows(self.source, chain))
        again = import_file(None, target, stdin="\n".join(self.lines) + "\n")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, "imported 0 blocks, %d already present\n" % len(self.lines))

    def test_header_only_lines(self):
        target = self.directory("headers-only")
        headers = [json.dumps(json.loads(line)["header"]) for line in self.lines]
        r = import_file("-", target, stdin="\n".join(headers) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stored_cut(target), self.cut)
        rows = pact_rows(target, 3)
        self.assertEqual(len(rows["BlockHistory"]), self.cut[3][0] + 1)
        self.assertEqual(rows["TransactionIndex"], [])
        exported = [json.loads(line) for line in cairnlib.export(target)]
        self.assertEqual([e["header"] for e in exported], [json.loads(line) for line in headers])
        self.assertTrue(all("payloadWithOutputs" not in e for e in exported if e["header"]["height"] > 0))

    def test_corrupted_header_stops_at_its_line(self):
        target = self.directory("corrupted")
        bad = 250  # a line number, from 1
        event = json.loads(self.lines[bad - 1])
        event["header"]["nonce"] = str(int(event["header"]["nonce"]) + 1)
        lines = list(self.lines)
        lines[bad - 1] = json.dumps(event)
        path = self.directory("corrupted.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = import_file(path, target)
        self.assertEqual(r.returncode, 1, r.stderr)
        h = event["header"]
        self.assertIn("line %d: chain %d height %d: hash: expected " % (bad, h["chainId"], h["height"]), r.stderr)
        self.assertEqual(r.stdout, "imported %d blocks, 20 already present\n" % (bad - 1 - 20))
        stored = {(e["header"]["chainId"], e["header"]["height"]) for e in map(json.loads, cairnlib.export(target))}
        expected = {(e["header"]["chainId"], e["header"]["height"]) for e in map(json.loads, self.lines[:bad - 1])}
        self.assertEqual(stored, expected)

    def test_malformed_line_and_missing_parent(self):
        target = self.directory("malformed")
        r = import_file("-", target, stdin=self.lines[20] + "\n{\"not\": \"a header\"}\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("line 2: malformed header", r.stderr)
        gap = import_file("-", self.directory("gap"), stdin=self.lines[-1] + "\n")
        self.assertEqual(gap.returncode, 1)
        self.assertRegex(gap.stderr, r"line 1: chain \d+ height \d+: parent: no block at height")

    def test_refusals(self):
        with cairnlib.Node(["--block-rate", "0"]) as node:
            r = import_file(self.path, node.database_directory)
            self.assertEqual(r.returncode, 1)
            self.assertIn("in use", r.stderr)
        r = import_file(self.path, self.directory("singleton"), "--chainweb-version", "test-singleton")
        self.assertEqual(r.returncode, 1)
        self.assertIn("chainwebVersion: expected test-singleton", r.stderr)
        missing = import_file(self.directory("no-such-file.txt"), self.directory("unused"))
        self.assertEqual(missing.returncode, 2)
        self.assertIn("cannot read", missing.stderr)


if __name__ == "__main__":
    cairnlib.main()
