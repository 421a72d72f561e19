"""End-to-end: the block event streams of a producing node.

A fresh node produces blocks; 200 events read from block/updates must each
verify with the chain model (`cairn header verify` recomputes hash, powHash
and the payload hashes), events of one chain must link by parent in order,
and every adjacent parent must be a block seen earlier in the stream or
stored when the stream was opened.  header/updates carries the same blocks
without payloads under the event name BlockHeader.  Streams end when the
node shuts down.
"""
import json

import cairnlib

EVENTS = 200


def cut_after_subscribing(node):
    """The cut read after a stream was opened: every block missing from the
    stream is in it."""
    return cairnlib.cut_tips(node.get_json("/cut"))


class UpdatesStreamTest(cairnlib.TestCase):
    def test_block_updates_verify_and_braid(self):
        with cairnlib.Node(["--block-rate", "100", "--transactions-per-block", "3"]) as node:
            with node.events("/block/updates") as stream:
                self.assertEqual(stream.status, 200)
                self.assertEqual(stream.headers["content-type"].split(";")[0], "text/event-stream")
                start = cut_after_subscribing(node)
                events = stream.read(EVENTS)
            self.assertEqual(len(events), EVENTS)
            self.assertEqual({name for name, _ in events}, {"Block"})

            status, reports, errors = cairnlib.verify_lines(["data:" + data for _, data in events])
            self.assertEqual(status, 0, errors)
            self.assertEqual(len(reports), EVENTS)
            for report in reports:
                self.assertTrue(report["ok"] and report["powOk"] and report["eventPowHashOk"], report)
                self.assertEqual(report["kind"], "event")

            decoded = [json.loads(data) for _, data in events]
            for event in decoded:
                self.assertEqual(event["txCount"], 3)
                self.assertEqual(len(event["payloadWithOutputs"]["transactions"]), 3)
                self.assertEqual(event["header"]["chainwebVersion"], "development")
            self.check_braiding([e["header"] for e in decoded], start)

    def check_braiding(self, headers, start):
        """Same-chain events link by parent; adjacent parents were seen or stored."""
        seen = {}  # (chain, height) -> hash
        last = {}  # chain -> (height, hash) of its latest event
        for h in headers:
            chain, height = h["chainId"], h["height"]
            if chain in last:
                self.assertEqual((height, h["parent"]), (last[chain][0] + 1, last[chain][1]), h)
            else:
                stored_height, stored_hash = start[chain]
                self.assertLessEqual(height, stored_height + 1, h)
                if height == stored_height + 1:
                    self.assertEqual(h["parent"], stored_hash, h)
            for neighbour, hash_ in h["adjacents"].items():
                neighbour = int(neighbour)
                if (neighbour, height - 1) in seen:
                    self.assertEqual(seen[(neighbour, height - 1)], hash_, h)
                else:
                    stored_height, stored_hash = start[neighbour]
                    self.assertGreaterEqual(stored_height, height - 1, h)
                    if stored_height == height - 1:
                        self.assertEqual(stored_hash, hash_, h)
            seen[(chain, height)] = h["hash"]
            last[chain] = (height, h["hash"])

    def test_header_updates_shape_and_shutdown(self):
        with cairnlib.Node(["--block-rate", "100", "--drain-seconds", "0"]) as node:
            with node.events("/chainweb/0.0/development/header/updates") as headers, \
                    node.events("/block/updates") as blocks:
                header_events = headers.read(40)
                block_events = blocks.read(40)
                self.assertEqual({name for name, _ in header_events}, {"BlockHeader"})
                for _, data in header_events:
                    event = json.loads(data)
                    self.assertEqual(sorted(event), ["header", "powHash", "target", "txCount"])
                    self.assertRegex(event["powHash"], r"^[0-9a-f]{64}$")
                    self.assertRegex(event["target"], r"^[0-9a-f]{64}$")
                    self.assertLessEqual(event["powHash"], event["target"])
                    self.assertEqual(event["txCount"], 2)
                # Both streams carry the same blocks in the same order.
                header_hashes = [json.loads(d)["header"]["hash"] for _, d in header_events]
                block_hashes = [json.loads(d)["header"]["hash"] for _, d in block_events]
                common = set(header_hashes) & set(block_hashes)
                self.assertGreater(len(common), 0)
                self.assertEqual([h for h in header_hashes if h in common], [h for h in block_hashes if h in common])
                self.assertEqual(node.stop(), 0)
                # The server ends both streams on shutdown (after what was queued).
                while headers.next_event() is not None:
                    pass
                while blocks.next_event() is not None:
                    pass

    def test_reconnect_continues_without_backfill(self):
        with cairnlib.Node(["--block-rate", "100"]) as node:
            with node.events("/header/updates") as first:
                before = [json.loads(d)["header"] for _, d in first.read(20)]
            with node.events("/header/updates") as second:
                after = [json.loads(d)["header"] for _, d in second.read(20)]
            # No backfill: the second stream starts with blocks committed after
            # it connected, none of which the first stream could have carried.
            self.assertEqual(len(after), 20)
            self.assertTrue(set(h["hash"] for h in after).isdisjoint(h["hash"] for h in before))


if __name__ == "__main__":
    cairnlib.main()
