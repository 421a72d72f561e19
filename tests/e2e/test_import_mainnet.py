"""End-to-end: mainnet01 data.

A mainnet01 node creates the real genesis blocks of chains 0-9 (its cut
shows the genesis hashes of chainweb-format.md section 7) and produces
nothing.  Chain 10's genesis, built from the documented genesis constants
with the real genesis payload of tests/fixtures, imports as an event with
its payload: the chain joins the cut at height 852054 with its real hash
and its Pact state indexes the payload's six transactions.  Real headers
whose parents are not stored are refused with the reason.
"""
import json
import os
import sqlite3
import subprocess

import cairnlib

GENESIS_HASHES = [
    "SNAMXHBvZtAbeS19x12bZV2p5d1E4BaxrggceNdUxbw", "aVFFqF8PbGu-MZkUhb1Ok4XijgxWUYxBxigBQgZmDFI",
    "Isgjp62lHk0uXgQfu_HZoeuP3udIiwkBlq1hHvXqXCM", "tMyy7k6lrQOsGg2oXh20kOC3zudjwsaL9F5Ogx0XNBo",
    "yeWKDE27xM45-LgdwpnVMM6E4pAoYryRrJJFgRiaKgQ", "GmCgnnxUtn08N8WtL8Gpn3Hg6AKyP4q0W0u3NLZn0Zo",
    "OXehM2W5YuiV0iWlDGIPMdaRv721zMUbj3caJqZJNBU", "CAfkqtRJpdf3rNSKx0SRwgaJlSUBLXwF1OMjn2-eBps",
    "09qk9ulwtq854ogJwlDZKN7NC_Q3lqiy1jdD0_YvWMI", "5cwptPDy7u6aMS221qsCr93g6ifDr0WUyvoKhi59-PA",
]
GENESIS_PARENTS = {
    0: "wJ6fVF6_vrzfemqQsWB6nCzfrMwznbZscn53-0DpAcI", 10: "QGPuG9FMAW15eqGOWSGcDna32l8oBnYFmvVBwHFNrg4",
    11: "sqi0qzCSDiFxvdTQjrDBl5Xd5K1FgCVj3pDuISWp29g", 19: "az5Y9U7gziz1nghnTMCR9pqZHApM5bqoqoU-PhWdrCU",
}
CHAIN10_HASH = "IQyS92QncmVLSPGiwn2taPayS42F5c3EjjL0DUr7keA"
CHAIN10_TARGET = 0x000000000000cb73de4be95ba21db5b9178dd85974c194e3ee05717dd8afa830
GENESIS_TIME = 1572393660000000
GRAPH_CHANGE = 852054


def chain10_genesis_event():
    """Chain 10's genesis block as a block/updates event, from section 7's rules."""
    with open(os.path.join(cairnlib.FIXTURES, "mainnet01-genesis-payload-10.json")) as f:
        payload = json.load(f)
    header = {
        "nonce": "0", "creationTime": GENESIS_TIME, "parent": GENESIS_PARENTS[10],
        "adjacents": {str(c): GENESIS_PARENTS[c] for c in (0, 11, 19)},
        "target": cairnlib.b64encode(CHAIN10_TARGET.to_bytes(32, "little")),
        "payloadHash": payload["payloadHash"], "chainId": 10, "weight": cairnlib.b64encode(bytes(32)),
        "height": GRAPH_CHANGE, "chainwebVersion": "mainnet01", "epochStart": GENESIS_TIME,
        "featureFlags": 0, "hash": CHAIN10_HASH,
    }
    return {"txCount": len(payload["transactions"]), "powHash": "%064x" % 0,
            "header": header, "payloadWithOutputs": payload, "target": "%064x" % CHAIN10_TARGET}


def cairn_import(directory, text):
    return subprocess.run([cairnlib.cairn_bin(), "import", "--chainweb-version", "mainnet01",
                           "--database-directory", directory, "--log-level", "warn"],
                          input=text, capture_output=True, text=True, timeout=120)


def fixture_header(name):
    """The first 'NAME <base64>' line of the header-triples fixture."""
    with open(os.path.join(cairnlib.FIXTURES, "mainnet-header-triples.txt")) as f:
        for line in f:
            if line.startswith(name + " "):
                return line.split()[1]
    raise AssertionError("no %s line in the fixture" % name)


class MainnetImportTest(cairnlib.TestCase):
    def test_genesis_and_chain10_import(self):
        node = cairnlib.Node(["--chainweb-version", "mainnet01"])
        try:
            node.start()
            cut = node.get_json("/cut")
            self.assertEqual(cut["instance"], "mainnet01")
            self.assertEqual(cairnlib.cut_tips(cut), {c: (0, GENESIS_HASHES[c]) for c in range(10)})
            self.assertEqual(len(node.get_json("/info")["nodeChains"]), 10)
            self.assertIsNotNone(node.wait_for_log("mainnet01 has no block producer", 1))
            self.assertEqual(node.stop(), 0)

            exported = cairnlib.export(node.database_directory, "mainnet01")
            self.assertEqual([json.loads(line)["header"]["hash"] for line in exported], GENESIS_HASHES)

            event = chain10_genesis_event()
            r = cairn_import(node.database_directory, "\n".join(exported + [json.dumps(event)]) + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "imported 1 blocks, 10 already present\n")

            real = fixture_header("header")
            refused = cairn_import(node.database_directory, real + "\n")
            self.assertEqual(refused.returncode, 1)
            self.assertRegex(refused.stderr, r"line 1: chain 7 height 318266: parent: no block at height 318265")

            node.start()
            tips = cairnlib.cut_tips(node.get_json("/cut"))
            self.assertEqual(tips[10], (GRAPH_CHANGE, CHAIN10_HASH))
            self.assertEqual(sorted(tips), list(range(11)))
            self.assertEqual(node.stop(), 0)
            pact = os.path.join(node.database_directory, "0", "sqlite", "pact-v1-chain-10.sqlite")
            db = sqlite3.connect("file:%s?mode=ro" % pact, uri=True)
            try:
                self.assertEqual(db.execute("SELECT blockheight FROM BlockHistory").fetchall(), [(GRAPH_CHANGE,)])
                self.assertEqual(db.execute("SELECT count(*) FROM TransactionIndex").fetchone()[0], 6)
            finally:
                db.close()
        finally:
            node.close()


if __name__ == "__main__":
    cairnlib.main()
