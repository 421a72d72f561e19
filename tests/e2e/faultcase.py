"""faultcase: the base of the deterministic fault tests
(test_faults_regressions.py, test_faults_points.py): one producing node
under fiu-run for the whole class (faultlib.Campaign), the CLI under
fiu-run, and a backup started with a fault armed."""
import shutil
import tempfile
import unittest

import cairnlib
import faultlib


class FaultTestCase(cairnlib.TestCase):
    TMP_PREFIX = "cairn-e2e-faults-"
    NEEDS_FAULT_POINTS = False  # True: skipped unless built with CAIRN_FAULT_POINTS
    NODE_ARGS = ()  # more options for the class's node

    @classmethod
    def setUpClass(cls):
        if faultlib.FIU_RUN is None:
            raise unittest.SkipTest("fiu-run (Debian package fiu-utils) is not installed")
        if cls.NEEDS_FAULT_POINTS and not faultlib.fault_points_built():
            raise unittest.SkipTest("%s was built without CAIRN_FAULT_POINTS" % cairnlib.cairn_bin())
        cls.tmp = tempfile.mkdtemp(prefix=cls.TMP_PREFIX)
        cls.campaign = faultlib.Campaign(cls, cls.tmp, seed=1, block_rate="10", keep_last=0, node_args=cls.NODE_ARGS)
        cls.campaign.t = None
        cls.campaign.start()
        cls.node = cls.campaign.node

    @classmethod
    def tearDownClass(cls):
        cls.campaign.node.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.campaign.t = self

    def cli(self, args, fault=None):
        return self.campaign.cli(args, fault)

    def get_with(self, fault, path):
        """GET `path` from the node with `fault` armed; the response."""
        self.node.arm(fault)
        try:
            return self.node.get(path, timeout=30)
        finally:
            self.node.disarm(fault)

    def backup_with(self, fault, query="?backupPact", armed=False):
        """Starts a backup with `fault` armed (by the caller when `armed`),
        waits for its end and disarms; returns its id and final state."""
        c = self.campaign
        if not armed:
            self.node.arm(fault)
        try:
            r = c.request("POST", "/make-backup" + query)
            self.assertEqual(r.status, 200, r)
            state = c.wait_final(r.text)
            c.wait_idle()
        finally:
            self.node.disarm(fault)
        return r.text, state
