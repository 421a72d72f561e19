"""s3lib: a real S3-compatible server for end-to-end tests (Python standard library only).

    with s3lib.S3Server() as s3:
        config = s3.write_config(tmp, backup_directory)   # a node config naming the remote
        env = s3.env()                                    # credentials for cairn and aws
        s3.aws(["s3", "ls", s3.url(""), "--recursive"])   # the independent client

S3Server runs s3rver (installed under <source>/.deps by scripts/install-deps.sh)
on a free loopback port, its data in a private temporary directory, with one
bucket.  s3rver has one account, S3RVER / S3RVER.  It runs in its own process
group and is stopped by pid (SIGTERM, then SIGKILL); stop() and start() keep
its data, so a test can take the store away in the middle of an upload and
bring it back.  s3rver 3.7.1 makes its ListObjectsV2 continuation tokens with
DES, which Node's OpenSSL 3 keeps in the legacy provider (NODE_OPTIONS).

aws() runs the awscli with --endpoint-url, path-style addressing and the
same dummy credentials, nothing read from the user's ~/.aws.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import cairnlib

BUCKET = "cairn-test"
KEY = "S3RVER"


def s3rver_bin():
    return os.path.join(cairnlib.SOURCE_DIR, ".deps", "s3rver", "node_modules", ".bin", "s3rver")


class S3Server:
    def __init__(self, bucket=BUCKET):
        self.bucket = bucket
        self.dir = tempfile.mkdtemp(prefix="cairn-e2e-s3-")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.port = None
        self.process = None
        self._log = None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        """Starts s3rver (again, on the same data and port after stop())."""
        if self.port is None:
            self.port = cairnlib.free_port()
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self._log = open(os.path.join(self.dir, "s3rver.log"), "a")
        self.process = subprocess.Popen(
            [s3rver_bin(), "-d", self.data, "-a", "127.0.0.1", "-p", str(self.port),
             "--configure-bucket", self.bucket],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("s3rver exited:\n" + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("s3rver did not start:\n" + self.log())

    def stop(self):
        """Stops s3rver by pid; its data stays."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "s3rver.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- clients --

    def url(self, prefix):
        return "s3://%s/%s" % (self.bucket, prefix) if prefix else "s3://%s" % self.bucket

    def env(self):
        """The environment cairn and aws take their credentials from (and nothing of ~/.aws)."""
        env = dict(os.environ)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.pop(name, None)
        env.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=KEY, AWS_DEFAULT_REGION="us-east-1",
                   AWS_CONFIG_FILE=os.path.join(self.dir, "aws-config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "aws-credentials"),
                   AWS_EC2_METADATA_DISABLED="true")
        return env

    def write_config(self, directory, backup_directory, prefix="node", extra="", name="cairn-remote.yaml"):
        """A node configuration file naming this server as its remote."""
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write("backup:\n  directory: %s\n  remote:\n    url: %s\n    endpoint: %s\n    region: us-east-1\n"
                    % (backup_directory, self.url(prefix), self.endpoint))
            for line in extra.splitlines():
                f.write("    %s\n" % line)
        return path

    def aws(self, args, timeout=300, check=True):
        """Runs `aws ARGS --endpoint-url ...`; returns the CompletedProcess."""
        config = os.path.join(self.dir, "aws-config")
        if not os.path.exists(config):
            with open(config, "w") as f:
                f.write("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
        r = subprocess.run(["aws"] + list(args) + ["--endpoint-url", self.endpoint], capture_output=True, text=True,
                           timeout=timeout, env=self.env())
        if check and r.returncode != 0:
            raise AssertionError("aws %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def keys(self, prefix):
        """Every key under `prefix` with its size, through the awscli."""
        r = self.aws(["s3api", "list-objects-v2", "--bucket", self.bucket, "--prefix", prefix, "--output", "json"])
        listing = json.loads(r.stdout) if r.stdout.strip() else {}
        return {o["Key"]: o["Size"] for o in listing.get("Contents", [])}

    def get(self, key, path):
        self.aws(["s3", "cp", "s3://%s/%s" % (self.bucket, key), path, "--quiet"])

    def stored_count(self, prefix):
        """How many whole objects s3rver holds under `prefix`, from its data directory (no
        request): it writes an object's metadata once its bytes are stored."""
        top = os.path.join(self.data, self.bucket, prefix)
        return sum(1 for _, _, files in os.walk(top) for n in files if n.endswith("._S3rver_metadata.json"))

    def object_path(self, key):
        """Where s3rver keeps an object's bytes (to damage it behind the client's back)."""
        return os.path.join(self.data, self.bucket, key + "._S3rver_object")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
