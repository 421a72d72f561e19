"""End-to-end: GET /cut.

The object's shape at genesis, equal under both path forms; the cut
advancing while the node produces; height, weight and id recomputed from
the tip headers of the stored chains (read back with `cairn export`); and
across restarts on the same directory the cut never moves backwards and
production continues.
"""
import hashlib
import json

import cairnlib

CHAINS = 20


def tips_advanced(old, new):
    """Every chain at least as high, some chain higher."""
    return all(new[c][0] >= old[c][0] for c in old) and any(new[c][0] > old[c][0] for c in old)


class CutApiTest(cairnlib.TestCase):
    def test_genesis_cut_shape_and_path_forms(self):
        with cairnlib.Node(["--block-rate", "0"]) as node:
            root = node.get("/cut")
            self.assertEqual(root.status, 200)
            self.assertEqual(root.header("content-type").split(";")[0], "application/json")
            self.assertCairnHeaders(root)
            cut = root.json()
            self.assertEqual(list(cut), ["hashes", "origin", "weight", "height", "instance", "id"])
            self.assertEqual(sorted(cut["hashes"], key=int), [str(c) for c in range(CHAINS)])
            self.assertIsNone(cut["origin"])
            self.assertEqual(cut["instance"], "development")
            self.assertEqual(cut["height"], 0)
            self.assertEqual(cairnlib.b64decode(cut["weight"]), bytes(32))
            hashes = b"".join(cairnlib.b64decode(cut["hashes"][str(c)]["hash"]) for c in range(CHAINS))
            self.assertEqual(cut["id"], cairnlib.b64encode(hashlib.new("sha512_256", hashes).digest()))
            self.assertEqual(node.get_json("/chainweb/0.0/development/cut"), cut)
            self.assertEqual(node.get("/chainweb/0.0/mainnet01/cut").status, 404)

    def test_cut_advances_and_matches_the_stored_tips(self):
        node = cairnlib.Node(["--block-rate", "200"])
        try:
            node.start()
            first = cairnlib.cut_tips(node.get_json("/cut"))
            node.wait_for_cut(lambda c: tips_advanced(first, cairnlib.cut_tips(c)))
            self.assertEqual(node.stop(), 0)
            node.start(["--block-rate", "0"])
            cut = node.get_json("/cut")
            self.assertEqual(node.get_json("/chainweb/0.0/development/cut"), cut)
            self.assertEqual(node.stop(), 0)
            headers = {}
            for line in cairnlib.export(node.database_directory):
                h = json.loads(line)["header"]
                headers[(h["chainId"], h["height"])] = h
            tips = [headers[(c, cut["hashes"][str(c)]["height"])] for c in range(CHAINS)]
            for c, h in enumerate(tips):
                self.assertEqual(cut["hashes"][str(c)]["hash"], h["hash"])
            self.assertEqual(cut["height"], sum(h["height"] for h in tips))
            weight = sum(int.from_bytes(cairnlib.b64decode(h["weight"]), "little") for h in tips)
            self.assertEqual(cairnlib.b64decode(cut["weight"]), weight.to_bytes(32, "little"))
            hashes = b"".join(cairnlib.b64decode(h["hash"]) for h in tips)
            self.assertEqual(cut["id"], cairnlib.b64encode(hashlib.new("sha512_256", hashes).digest()))
        finally:
            node.close()

    def test_restart_never_moves_back_and_continues(self):
        node = cairnlib.Node(["--block-rate", "100", "--drain-seconds", "0"])
        try:
            node.start()
            for _ in range(3):
                before = cairnlib.cut_tips(node.wait_for_cut(lambda c: c["height"] > 0))
                self.assertEqual(node.stop(), 0)
                node.start()
                after = cairnlib.cut_tips(node.get_json("/cut"))
                for chain, (height, _) in before.items():
                    self.assertGreaterEqual(after[chain][0], height)
                node.wait_for_cut(lambda c: tips_advanced(after, cairnlib.cut_tips(c)))
        finally:
            node.close()


if __name__ == "__main__":
    cairnlib.main()
