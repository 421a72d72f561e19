"""End-to-end: GET /info (NodeInfo, chainweb-format.md section 10.5) for each
supported network: development (twenty chains from height 0), mainnet01
(petersen from 0, twenty from 852054) and test-singleton (one chain).

The expected graphs are written out here from the Chainweb documentation, not
taken from cairn's tables, so a wrong table fails this test.
"""
import cairnlib

PETERSEN = {0: [2, 3, 5], 1: [3, 4, 6], 2: [0, 4, 7], 3: [0, 1, 8], 4: [1, 2, 9],
            5: [0, 6, 9], 6: [1, 5, 7], 7: [2, 6, 8], 8: [3, 7, 9], 9: [4, 5, 8]}
TWENTY = {0: [5, 10, 15], 1: [6, 11, 16], 2: [7, 12, 17], 3: [8, 13, 18], 4: [9, 14, 19],
          5: [0, 7, 8], 6: [1, 8, 9], 7: [2, 5, 9], 8: [3, 5, 6], 9: [4, 6, 7],
          10: [0, 11, 19], 11: [1, 10, 12], 12: [2, 11, 13], 13: [3, 12, 14], 14: [4, 13, 15],
          15: [0, 14, 16], 16: [1, 15, 17], 17: [2, 16, 18], 18: [3, 17, 19], 19: [4, 10, 18]}
SINGLETON = {0: []}

FIELDS = {"nodeVersion", "nodePackageVersion", "nodeApiVersion", "nodeChains", "nodeNumberOfChains",
          "nodeGraphHistory", "nodeLatestBehaviorHeight", "nodeGenesisHeights",
          "nodeHistoricalChains", "nodeBlockDelay"}

# version: (graph history newest first, chains of the genesis cut, genesis heights)
NETWORKS = {
    "development": ([(0, TWENTY)], range(20), {c: 0 for c in range(20)}),
    "mainnet01": ([(852054, TWENTY), (0, PETERSEN)], range(10),
                  {c: 0 if c < 10 else 852054 for c in range(20)}),
    "test-singleton": ([(0, SINGLETON)], range(1), {0: 0}),
}


def as_graph(adjacency_list):
    """[[chain, [neighbours]], ...] -> {chain: sorted neighbours}; chains must be unique."""
    graph = {}
    for chain, neighbours in adjacency_list:
        assert chain not in graph, "chain %r listed twice" % chain
        graph[chain] = sorted(neighbours)
    return graph


class ServiceInfoTest(cairnlib.TestCase):
    def check_history(self, history, expected):
        self.assertEqual([h for h, _ in history], [h for h, _ in expected])  # descending
        for (height, graph), (want_height, want_graph) in zip(history, expected):
            self.assertEqual(as_graph(graph), want_graph, "graph at height %d" % height)

    def check_network(self, version):
        history, chains, genesis = NETWORKS[version]
        with cairnlib.Node(["--chainweb-version", version, "--drain-seconds", "0"]) as node:
            for path in ("/info", "/chainweb/0.0/%s/info" % version):
                r = node.get(path)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("content-type").split(";")[0], "application/json")
                self.assertCairnHeaders(r)
                info = r.json()
                self.assertEqual(set(info), FIELDS)
                self.assertEqual(info["nodeVersion"], version)
                self.assertEqual(info["nodeApiVersion"], "0.0")
                self.assertEqual(info["nodePackageVersion"], cairnlib.cairn_version())
                self.assertEqual(info["nodePackageVersion"], r.header("x-chainweb-node-version"))
                self.assertEqual(sorted(info["nodeChains"], key=int), [str(c) for c in chains])
                self.assertTrue(all(isinstance(c, str) for c in info["nodeChains"]))
                self.assertEqual(info["nodeNumberOfChains"], len(chains))
                self.check_history(info["nodeGraphHistory"], history)
                self.check_history(info["nodeHistoricalChains"], history)
                self.assertEqual({int(c): h for c, h in info["nodeGenesisHeights"]}, genesis)
                self.assertTrue(all(isinstance(c, str) for c, _ in info["nodeGenesisHeights"]))
                self.assertGreater(info["nodeLatestBehaviorHeight"], history[0][0])
                self.assertEqual(info["nodeBlockDelay"], 30000000)
            # Another network's prefix is not this node's API.
            other = "mainnet01" if version != "mainnet01" else "development"
            self.assertEqual(node.get("/chainweb/0.0/%s/info" % other).status, 404)
            self.assertEqual(node.stop(), 0)

    def test_development(self):
        self.check_network("development")

    def test_mainnet01(self):
        self.check_network("mainnet01")

    def test_test_singleton(self):
        self.check_network("test-singleton")


if __name__ == "__main__":
    cairnlib.main()
