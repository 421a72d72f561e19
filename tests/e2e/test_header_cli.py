"""End-to-end tests of `cairn header verify|decode|encode` on real mainnet
data: the SSE samples verify (exit 0), a corrupted copy fails naming the
line and the field (exit 1), garbage is reported with its line number
(exit 2), and decode/encode round-trip binary headers exactly."""

import json
import os
import subprocess
import sys
import unittest

CAIRN = os.environ["CAIRN_BIN"]
FIXTURES = os.environ["CAIRN_FIXTURES"]


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return f.read()


def cairn(args, stdin):
    return subprocess.run([CAIRN, "header"] + args, input=stdin, capture_output=True,
                          text=True, timeout=60)


class HeaderCliTest(unittest.TestCase):
    def test_verify_samples(self):
        r = cairn(["verify"], fixture("mainnet-sse-samples.txt"))
        self.assertEqual(r.returncode, 0, r.stderr)
        reports = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([x["line"] for x in reports], [2, 5, 8, 11])
        for x in reports:
            self.assertTrue(x["ok"])
            self.assertEqual(x["hash"], x["computedHash"])
            self.assertTrue(x["powOk"])
            self.assertTrue(x["eventPowHashOk"])
            self.assertTrue(x["eventTargetOk"])
        self.assertEqual(reports[0]["powHash"],
                         "00000000000006e0b164858ee0fcbfd112f4242d5010ff33d3a43d2cc3c15177")
        self.assertEqual(reports[2]["payloadHash"], "cT86RaKJUyCZXKB3gYqX9A9SNway-lUBrHSvNr7_SaM")
        self.assertEqual(reports[3]["outputsHash"], "YqWnNd_gQLasM2N-dFuT3FndTJCBRAznQyCwb0ttj2M")

    def test_corrupted_copy_names_line_and_field(self):
        lines = fixture("mainnet-sse-samples.txt").splitlines()
        # line 5: another nonce; line 11: another transactionsHash in the payload
        lines[4] = lines[4].replace('"nonce":"9499180874660840183"', '"nonce":"9499180874660840184"')
        lines[10] = lines[10].replace('"transactionsHash":"PZA7', '"transactionsHash":"QZA7')
        r = cairn(["verify"], "\n".join(lines) + "\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("line 5: hash:", r.stderr)
        self.assertIn("line 11: payloadWithOutputs.transactionsHash:", r.stderr)
        self.assertNotIn("line 2:", r.stderr)
        reports = {x["line"]: x for x in map(json.loads, r.stdout.splitlines())}
        self.assertTrue(reports[2]["ok"])
        self.assertFalse(reports[5]["ok"])
        self.assertNotEqual(reports[5]["hash"], reports[5]["computedHash"])
        self.assertFalse(reports[11]["ok"])

    def test_event_pow_hash_and_target_are_compared(self):
        lines = fixture("mainnet-sse-samples.txt").splitlines()
        lines[1] = lines[1].replace('"powHash":"0000000000000', '"powHash":"1000000000000', 1)
        r = cairn(["verify"], "\n".join(lines[:2]) + "\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2: powHash:", r.stderr)

    def test_garbage_is_reported_with_line_number(self):
        text = fixture("mainnet-sse-samples.txt") + "\nnot a header\ndata:{\"header\":{}}\n{\"height\":\n"
        r = cairn(["verify"], text)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("line 14:", r.stderr)
        self.assertIn("line 15:", r.stderr)
        self.assertIn("line 16:", r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 4)
        r = cairn(["verify"], "\x00\xff\n" + "A" * 100000 + "\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 1:", r.stderr)
        self.assertIn("line 2:", r.stderr)

    def test_decode_encode_round_trip(self):
        binaries = [line.split(" ", 1)[1] for line in fixture("mainnet-header-triples.txt").splitlines()
                    if line and not line.startswith("#")]
        r = cairn(["decode"], "\n".join(binaries) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        objects = r.stdout.splitlines()
        self.assertEqual(len(objects), len(binaries))
        first = json.loads(objects[0])
        self.assertEqual(first["height"], 318266)
        self.assertEqual(first["chainwebVersion"], "mainnet01")
        r = cairn(["encode"], r.stdout)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), binaries)
        # binary lines verify too
        r = cairn(["verify"], "\n".join(binaries) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_decode_encode_stop_at_malformed_line(self):
        r = cairn(["decode"], "AAAA\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 1:", r.stderr)
        r = cairn(["encode"], '{"height":1}\n')
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 1:", r.stderr)

    def test_help(self):
        for sub in ["verify", "decode", "encode"]:
            r = cairn([sub, "--help"], "")
            self.assertEqual(r.returncode, 0)
            self.assertIn("Usage: cairn header " + sub, r.stdout)
        r = cairn([], "")
        self.assertEqual(r.returncode, 2)
        r = cairn(["frobnicate"], "")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
