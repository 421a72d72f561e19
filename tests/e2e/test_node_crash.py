"""End-to-end: crash safety of the commit path.

A node produces blocks as fast as it can (--block-rate max) while a client
follows block/updates, and is SIGKILLed at a random moment, 22 times.
After each kill the node restarts without production, which recovers and
validates the stores, and:
  - nothing the node reported is lost: every streamed block and the last
    cut served before the kill are in the recovered cut;
  - the cut never moves backwards;
  - after a clean stop, every Pact database's last BlockHistory row (read
    with sqlite3) is the recovered cut's block of its chain.
Finally the record of validated blocks is removed, so the next start
validates every stored block from genesis, and every streamed block is
found in `cairn export`.
"""
import http.client
import json
import os
import random
import threading
import time

import cairnlib

KILLS = 22
CHAINS = 20


class StreamRecorder(threading.Thread):
    """Records (chain, height) -> hash of every block/updates event until the stream ends."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.stream = node.events("/block/updates", timeout=60)
        self.blocks = {}

    def run(self):
        try:
            while True:
                event = self.stream.next_event()
                if event is None:
                    return
                h = json.loads(event[1])["header"]
                self.blocks[(h["chainId"], h["height"])] = h["hash"]
        except (OSError, ValueError, http.client.HTTPException):
            return  # the connection died with the node

    def stop(self):
        self.join(30)
        self.stream.close()


class NodeCrashTest(cairnlib.TestCase):
    def test_sigkill_loses_nothing_reported(self):
        seed = int(time.time())
        rng = random.Random(seed)
        print("random seed", seed)
        node = cairnlib.Node(["--drain-seconds", "0"])
        streamed = {}
        try:
            recovered = {c: (0, None) for c in range(CHAINS)}
            for kill in range(KILLS):
                node.start(["--block-rate", "max", "--drain-seconds", "0"])
                recorder = StreamRecorder(node)
                recorder.start()
                time.sleep(rng.uniform(0.0, 0.6))
                reported = cairnlib.cut_tips(node.get_json("/cut"))
                time.sleep(rng.uniform(0.0, 0.2))
                node.kill()
                recorder.stop()
                streamed.update(recorder.blocks)

                node.start(["--block-rate", "0", "--drain-seconds", "0"])
                cut = cairnlib.cut_tips(node.get_json("/cut"))
                self.assertEqual(node.stop(), 0, node.log)
                with self.subTest(kill=kill):
                    self.check_nothing_lost(cut, reported, recorder.blocks)
                    for chain, (height, _) in recovered.items():
                        self.assertGreaterEqual(cut[chain][0], height)
                    self.assertEqual(cairnlib.pact_tips(node.database_directory), cut)
                recovered = cut

            total = sum(height + 1 for height, _ in recovered.values())
            os.remove(os.path.join(node.database_directory, "0", "validated-cut"))
            mark = node.log_mark()
            node.start(["--block-rate", "0", "--drain-seconds", "0"])
            self.assertIsNotNone(node.wait_for_log(r"recovery: validated %d stored blocks" % total, 1, mark))
            self.assertEqual(node.stop(), 0)
            stored = {}
            for line in cairnlib.export(node.database_directory):
                h = json.loads(line)["header"]
                stored[(h["chainId"], h["height"])] = h["hash"]
            self.assertEqual(len(stored), total)
            for key, hash_ in streamed.items():
                self.assertEqual(stored.get(key), hash_, key)
            self.assertGreater(len(streamed), KILLS)
        except BaseException:
            print(node.log)
            raise
        finally:
            node.close()

    def check_nothing_lost(self, cut, reported, streamed):
        for chain, (height, hash_) in reported.items():
            self.assertGreaterEqual(cut[chain][0], height)
            if cut[chain][0] == height:
                self.assertEqual(cut[chain][1], hash_)
        for (chain, height), hash_ in streamed.items():
            self.assertGreaterEqual(cut[chain][0], height)
            if cut[chain][0] == height:
                self.assertEqual(cut[chain][1], hash_)


if __name__ == "__main__":
    cairnlib.main()
