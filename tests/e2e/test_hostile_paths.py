"""End-to-end: hostile paths.  Entries of finished backups are swapped for
symbolic links to files outside the backup directory (/etc/passwd, a file
and a FIFO in a private directory, a directory holding exact copies of the
backup's files, a copy of the manifest), or for FIFOs, before verify, restore, delete
(CLI and management API), retention and download; a restore target that
is a symbolic link; a download token of one backup replayed against
another.  Each case gets a clear refusal, and nothing outside the
configured directories is read (the copies would verify if followed, the
FIFO would hang a reader), written or removed: every outside file keeps
its content, mtime and existence."""
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import urllib.parse

import cairnlib

TOKEN = "hostile-paths-token"
DB = "development"
SECRET = b"outside-secret-bytes-" + os.urandom(8).hex().encode()
PACT_FILE = "0/sqlite/pact-v1-chain-0.sqlite"


class HostilePathsTest(cairnlib.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-hostile-")
        self.backups = os.path.join(self.tmp, "backups")
        self.copies = os.path.join(self.tmp, "copies")
        self.outside = os.path.join(self.tmp, "outside")
        os.makedirs(self.copies)
        os.makedirs(self.outside)
        self.secret = os.path.join(self.outside, "secret")
        with open(self.secret, "wb") as f:
            f.write(SECRET)
        self.fifo = os.path.join(self.outside, "fifo")
        os.mkfifo(self.fifo)
        self.tokens = cairnlib.write_token_file(os.path.join(self.tmp, "tokens"), TOKEN + "\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers --

    def node(self, *extra):
        return cairnlib.Node(["--enable-backup-api", "--backup-directory", self.backups, "--block-rate", "20",
                              "--enable-management-api", "--management-token-file", self.tokens] + list(extra),
                             database_directory=os.path.join(self.tmp, "db"))

    def call(self, node, method, path, body=None):
        h = {"X-Auth-Token": TOKEN}
        if body is not None:
            h["Content-Type"] = "application/json"
        return node.request(method, path, headers=h, body=body)

    def backup(self, node):
        r = self.call(node, "POST", "/v2/%s/backups" % DB, json.dumps({"state": "start_requested", "backupPact": True}))
        self.assertIn(r.status, (200, 201), r)
        backup_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = self.call(node, "GET", "/v2/%s/backups/%s" % (DB, backup_id)).json()["state"]
            if state not in ("queued", "preparing", "in_progress"):
                self.assertEqual(state, "completed")
                return backup_id
            time.sleep(0.05)
        self.fail("backup %s did not end" % backup_id)

    def snapshot(self):
        """Existence, content digest and mtime of everything outside, and of /etc/passwd."""
        state = {}
        for root in (self.outside, "/etc/passwd"):
            paths = [root] if not os.path.isdir(root) else [
                os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files] + [root]
            for p in paths:
                st = os.lstat(p)
                digest = None
                if stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                state[p] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
        return state

    def swap(self, backup, kind):
        """Replaces one entry of the backup at `backup` by a symbolic link out of it."""
        if kind == "etc":
            target, entry = "/etc/passwd", "0/rocksDb/CURRENT"
        elif kind == "file":
            target, entry = self.secret, PACT_FILE
        elif kind == "fifo":
            target, entry = self.fifo, PACT_FILE
        elif kind == "manifest":
            # a copy that would pass for the real one if it were followed
            target, entry = os.path.join(self.outside, "manifest-%s.json" % os.path.basename(backup)), "manifest.json"
            shutil.copyfile(os.path.join(backup, entry), target)
        elif kind == "status":
            target, entry = os.path.join(self.outside, "status"), "status"
            shutil.copyfile(os.path.join(backup, entry), target)
        elif kind == "dir":
            # exact copies: a reader that follows the link finds files that verify
            target, entry = os.path.join(self.outside, "sqlite-%s" % os.path.basename(backup)), "0/sqlite"
            shutil.copytree(os.path.join(backup, entry), target)
        elif kind in ("fifo_inplace", "manifest_fifo"):
            # not a link but a FIFO in the file's place: a reader that opens it blocks forever
            path = os.path.join(backup, PACT_FILE if kind == "fifo_inplace" else "manifest.json")
            os.remove(path)
            os.mkfifo(path)
            return path
        else:
            raise ValueError(kind)
        path = os.path.join(backup, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
        os.symlink(target, path)
        return path

    def copy_backup(self, backup_id, name):
        """A copy of a finished backup under copies/ (hard links kept as copies)."""
        dest = os.path.join(self.copies, name)
        shutil.copytree(os.path.join(self.backups, backup_id), dest, symlinks=True)
        return dest

    def assertRefused(self, r, *words):
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        text = (r.stdout + r.stderr).lower()
        self.assertTrue(any(w in text for w in words), (words, r.stdout, r.stderr))
        self.assertNotIn("Sanitizer", r.stderr)

    # -- the cases --

    def test_hostile_paths(self):
        with self.node() as node:
            node.wait_for_cut(lambda cut: cut["height"] >= 60)
            ids = [self.backup(node) for _ in range(4)]
            before = self.snapshot()
            kinds = ["etc", "file", "fifo", "manifest", "status", "dir", "fifo_inplace", "manifest_fifo"]

            # verify and restore: a refusal naming the link, nothing outside touched
            for kind in kinds:
                with self.subTest(kind=kind):
                    copy = self.copy_backup(ids[0], "%s-%s" % (ids[0], kind))
                    self.swap(copy, kind)
                    before = self.snapshot()
                    for quick in ([], ["--quick"]):
                        r = cairnlib.backup_cli(["verify", copy] + quick, timeout=60)
                        self.assertRefused(r, "symbolic link", "not a regular file")
                    target = os.path.join(self.tmp, "restored-" + kind)
                    for extra in ([], ["--no-verify"]):
                        r = cairnlib.backup_cli(["restore", copy, "--database-directory", target] + extra, timeout=60)
                        self.assertRefused(r, "symbolic link", "not a regular file", "not a finished backup")
                        self.assertFalse(os.path.exists(target) and os.listdir(target), os.listdir(target)
                                         if os.path.exists(target) else None)
                    self.assertEqual(self.snapshot(), before)

            # a backup directory entry that is itself a link to a backup outside
            outside_backup = os.path.join(self.outside, "backup-copy")
            shutil.copytree(os.path.join(self.backups, ids[0]), outside_backup, symlinks=True)
            before = self.snapshot()
            linked_id = str(int(ids[-1]) + 1000)
            os.symlink(outside_backup, os.path.join(self.copies, linked_id))
            r = cairnlib.backup_cli(["delete", "--backup-directory", self.copies, linked_id])
            self.assertRefused(r, "no backup")
            listing = cairnlib.backup_cli(["list", "--backup-directory", self.copies, "--json"])
            self.assertEqual(listing.returncode, 0, listing.stderr)
            self.assertNotIn(linked_id, [b["id"] for b in json.loads(listing.stdout)])

            # CLI delete of backups whose entries are links: the links go, their targets stay
            for kind in kinds:
                with self.subTest(delete=kind):
                    name = str(int(ids[-1]) + 1 + kinds.index(kind))
                    copy = self.copy_backup(ids[0], name)
                    self.swap(copy, kind)
                    before = self.snapshot()
                    listing = cairnlib.backup_cli(["list", "--backup-directory", self.copies, "--json"], timeout=30)
                    self.assertEqual(listing.returncode, 0, listing.stderr)
                    listed = {b["id"]: b for b in json.loads(listing.stdout)}
                    if kind == "status":
                        self.assertNotIn(name, listed)
                    elif kind in ("manifest", "manifest_fifo"):
                        self.assertIsNone(listed[name]["cutHeight"], listed[name])  # its manifest is not read
                    r = cairnlib.backup_cli(["delete", "--backup-directory", self.copies, name])
                    if kind == "status":
                        # without a status of its own it is no cairn backup: left alone
                        self.assertRefused(r, "no backup")
                        self.assertTrue(os.path.islink(os.path.join(copy, "status")))
                    else:
                        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                        self.assertFalse(os.path.lexists(copy))
                    self.assertEqual(self.snapshot(), before)
            self.assertTrue(os.path.isdir(os.path.join(outside_backup, "0", "sqlite")))

            # management API: download refused or cut short without outside bytes, then delete
            for backup_id, kind in zip(ids[1:3], ("file", "dir")):
                with self.subTest(api=kind):
                    self.swap(os.path.join(self.backups, backup_id), kind)
                    before = self.snapshot()
                    link = self.link(node, backup_id)
                    if link is not None:
                        try:
                            d = node.get(link, timeout=30)
                            body = d.body
                            self.assertIn(d.status, (200, 403, 404, 409, 500), d)
                        except (OSError, cairnlib.http.client.HTTPException):
                            body = b""  # a stream cut mid-body is a refusal too
                        self.assertNotIn(SECRET, body)
                        self.assertNotIn(b"SQLite format 3", body)  # nothing followed into 0/sqlite
                    r = self.call(node, "DELETE", "/v2/%s/backups/%s" % (DB, backup_id))
                    self.assertEqual(r.status, 204, r)
                    self.assertFalse(os.path.lexists(os.path.join(self.backups, backup_id)))
                    self.assertEqual(self.snapshot(), before)
                    self.assertEqual(node.get("/health-check").status, 200)

            # an entry of the node's own backup directory that links to a backup outside
            linked_id = str(int(ids[-1]) + 2000)
            os.symlink(outside_backup, os.path.join(self.backups, linked_id))
            before = self.snapshot()
            path = "/v2/%s/backups/%s" % (DB, linked_id)
            self.assertEqual(self.call(node, "GET", path).status, 404)
            self.assertEqual(self.call(node, "DELETE", path).status, 404)
            self.assertIsNone(self.link(node, linked_id))
            self.assertEqual(node.get("/check-backup/" + linked_id).status, 404)
            listing = self.call(node, "GET", "/v2/%s/backups?limit=1000" % DB).json()["backups"]
            self.assertNotIn(linked_id, [b["id"] for b in listing])
            self.assertEqual(self.snapshot(), before)
            os.remove(os.path.join(self.backups, linked_id))

            # a download token of one backup replayed against another
            link = self.link(node, ids[3])
            self.assertIsNotNone(link)
            r = node.get(link.replace(ids[3], ids[0]))
            self.assertEqual(r.status, 403, r)
            self.assertTrue(r.text.endswith("\n") and r.text.count("\n") == 1, r.text)
            self.assertEqual(node.get(link).status, 200)

            # the restore target is a symbolic link (to an empty directory outside)
            empty = os.path.join(self.outside, "empty-target")
            os.makedirs(empty)
            before = self.snapshot()
            target = os.path.join(self.tmp, "target-link")
            os.symlink(empty, target)
            for extra in ([], ["--force"]):
                r = cairnlib.backup_cli(["restore", os.path.join(self.backups, ids[3]), "--database-directory",
                                         target] + extra, timeout=120)
                self.assertRefused(r, "symbolic link")
                self.assertTrue(os.path.islink(target))
                self.assertEqual(os.listdir(empty), [])
                self.assertEqual(self.snapshot(), before)

            # retention (keepLast 1) removes a backup whose entries are links, not what they name
            self.swap(os.path.join(self.backups, ids[0]), "dir")
            self.swap(os.path.join(self.backups, ids[0]), "etc")
            before = self.snapshot()
            self.assertEqual(node.stop(), 0)
        with self.node("--backup-retention-keep-last", "1") as node:
            newest = self.backup(node)
            self.assertTrue(node.wait_for_log(r"retention: \d+ backups? removed", 10), node.log)
        self.assertEqual([e for e in os.listdir(self.backups) if e.isdigit()], [newest], os.listdir(self.backups))
        self.assertEqual(self.snapshot(), before)

    def link(self, node, backup_id):
        """The download path of a backup, or None when the node refuses to make one."""
        r = node.request("GET", "/api/databases/%s/backups/%s/archive" % (DB, backup_id),
                         headers={"Authorization": "Bearer " + TOKEN})
        if r.status != 200:
            self.assertIn(r.status, (404, 409), r)
            return None
        url = urllib.parse.urlsplit(r.json()["download_url"])
        return url.path + "?" + url.query


if __name__ == "__main__":
    cairnlib.main()
