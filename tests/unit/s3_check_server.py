#!/usr/bin/python3
"""A small S3-compatible server for test_remote_s3_check: it checks every
request's Signature Version 4 with botocore, and injects faults by key name.

Started by the test on 127.0.0.1 with a free port, which it prints as the
first line of its standard output; it serves until it is sent SIGTERM.

Signature check: the request as received (method, path, query, the headers
the client signed, the body) is signed again by botocore's S3SigV4Auth with
the same credentials, region and x-amz-date; botocore encodes the path and
the query itself (from their decoded values), so the comparison covers
cairn's encoding as well as its hashing.  A mismatch answers 403
SignatureDoesNotMatch, as S3 does.  The access keys it knows: AKIDCHECK
(secret "check-secret") and, with session token "check-token", AKIDTOKEN
(secret "token-secret").

Faults, chosen by the first path segment of the key:
  fail503x2/...  the first two requests for the key answer 503 SlowDown
  fail429x1/...  the first request answers 429 SlowDown
  forbid/...     every request answers 403 AccessDenied
  badetag/...    PUTs (objects and parts) answer with a wrong ETag
  badsum/...     PUTs echo a wrong x-amz-checksum-sha256 (when one is sent)
  drop/...       the first GET sends half the body and closes the connection
  dropend/...    the first GET promises one byte more than it sends, then closes
  hangup/...     every PUT gets the 100 Continue (if it asks) and then the connection
                 closes, with no answer and the body unread

POST /__make_upload/<key>?age=SECONDS (unsigned) makes a multipart upload
begun SECONDS ago, as a crashed client would leave it; ListMultipartUploads
answers two uploads a page.

Per-key counters are at GET /__stats/<key> (unsigned), as lines
"name=value": requests, signature_ok, signature_bad, methods (space
separated, with the uploadId/partNumber query names), ranges (the Range
headers received), signed (the SignedHeaders of the last request).  Totals
are at GET /__stats.
"""
import base64
import datetime
import xml.etree.ElementTree as ElementTree
import hashlib
import http.server
import socketserver
import sys
import threading
import urllib.parse
from unittest import mock
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = {
    "AKIDCHECK": ("check-secret", None),
    "AKIDTOKEN": ("token-secret", "check-token"),
}
UNSIGNED = {"authorization", "accept", "content-length", "expect", "user-agent", "transfer-encoding", "connection"}

lock = threading.Lock()
objects = {}   # key -> bytes
uploads = {}   # upload id -> {"key": key, "parts": {n: bytes}}
stats = {}     # key -> dict
totals = {"requests": 0, "signature_ok": 0, "signature_bad": 0}


def key_stats(key):
    return stats.setdefault(key, {"requests": 0, "signature_ok": 0, "signature_bad": 0,
                                  "methods": [], "ranges": [], "signed": ""})


def botocore_authorization(method, path, query, headers, body, region):
    """The Authorization header botocore computes for this request."""
    auth = headers.get("authorization", "")
    try:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
        key_id, date, cred_region, service, _ = credential.split("/")
        signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    except (IndexError, ValueError):
        return None, []
    if key_id not in CREDENTIALS:
        return None, signed
    secret, token = CREDENTIALS[key_id]
    # botocore signs every header it is given: give it the ones an S3 SDK
    # would send (all but transport headers libcurl adds on its own).
    given = {name: value for name, value in headers.items() if name not in UNSIGNED}
    if token is not None:
        given.pop("x-amz-security-token", None)  # botocore adds it from the credentials
    raw_path = urllib.parse.unquote(path)
    url = "http://%s%s" % (headers.get("host", ""), urllib.parse.quote(raw_path, safe="/-_.~"))
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    request = AWSRequest(method=method, url=url, headers=given, data=body, params=params)
    signer = S3SigV4Auth(Credentials(key_id, secret, token), "s3", region)
    when = datetime.datetime.strptime(headers.get("x-amz-date", "19700101T000000Z"), "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.datetime") as fake:
        fake.datetime.utcnow.return_value = when
        fake.datetime.strptime = datetime.datetime.strptime
        signer.add_auth(request)
    return request.headers["Authorization"], signed


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None, length=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>"
                % (code, escape(message))).encode()
        self.reply(status, body, {"Content-Type": "application/xml"})

    def stats_reply(self, key):
        with lock:
            s = totals if key is None else stats.get(key, key_stats(key))
            lines = ["%s=%s" % (k, " ".join(v) if isinstance(v, list) else v) for k, v in s.items()]
        self.reply(200, ("\n".join(lines) + "\n").encode(), {"Content-Type": "text/plain"})

    def handle_any(self):
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == "/__stats" or parts.path.startswith("/__stats/"):
            key = urllib.parse.unquote(parts.path[len("/__stats/"):]) if parts.path != "/__stats" else None
            return self.stats_reply(key)
        if parts.path.startswith("/__make_upload/"):
            key = urllib.parse.unquote(parts.path[len("/__make_upload/"):])
            age = float(dict(urllib.parse.parse_qsl(parts.query)).get("age", "0"))
            with lock:
                upload_id = "up-%d" % (len(uploads) + 1000)
                uploads[upload_id] = {"key": key, "parts": {}, "sha256": False,
                                      "initiated": datetime.datetime.utcnow() - datetime.timedelta(seconds=age)}
            return self.reply(200, upload_id.encode())
        if self.command == "PUT" and "/hangup/" in parts.path:
            # The store going away mid-PUT: after the 100 Continue (sent before this handler runs, to
            # the Expect header of a large body), close without reading the body or answering.
            with lock:
                totals["requests"] += 1
            self.close_connection = True
            return None
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        segments = parts.path.split("/", 2)
        bucket = urllib.parse.unquote(segments[1]) if len(segments) > 1 else ""
        key = urllib.parse.unquote(segments[2]) if len(segments) > 2 else ""

        expected, signed = botocore_authorization(self.command, parts.path, parts.query, headers, body,
                                                  "us-east-1")
        ok = expected is not None and expected == headers.get("authorization")
        with lock:
            s = key_stats(key)
            s["requests"] += 1
            totals["requests"] += 1
            name = "signature_ok" if ok else "signature_bad"
            s[name] += 1
            totals[name] += 1
            s["methods"].append(self.command + ("?" + "&".join(sorted(query)) if query else ""))
            if "range" in headers:
                s["ranges"].append(headers["range"])
            s["signed"] = ";".join(signed)
            count = s["requests"]
        if not ok:
            if expected is None:
                return self.error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist.")
            return self.error(403, "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature you provided.")
        if bucket != "bkt":
            return self.error(404, "NoSuchBucket", "The specified bucket does not exist")
        fault = key.split("/", 1)[0]
        if fault == "fail503x2" and count <= 2:
            return self.error(503, "SlowDown", "Please reduce your request rate.")
        if fault == "fail429x1" and count <= 1:
            return self.error(429, "SlowDown", "Please reduce your request rate.")
        if fault == "forbid":
            return self.error(403, "AccessDenied", "Access Denied")
        return getattr(self, "op_" + self.command.lower())(key, query, headers, body, fault, count)

    def etag_for(self, data, fault):
        if fault == "badetag":
            return '"00000000000000000000000000000000"'
        return '"%s"' % hashlib.md5(data).hexdigest()

    def op_put(self, key, query, headers, body, fault, count):
        if "content-md5" in headers:
            if base64.b64encode(hashlib.md5(body).digest()).decode() != headers["content-md5"]:
                return self.error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        echo = {"ETag": self.etag_for(body, fault)}
        if "x-amz-checksum-sha256" in headers:
            sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
            if sha != headers["x-amz-checksum-sha256"]:
                return self.error(400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
            echo["x-amz-checksum-sha256"] = "AAAA" + sha[4:] if fault == "badsum" else sha
        with lock:
            if "uploadId" in query:
                upload = uploads.get(query["uploadId"])
                if upload is None:
                    return self.error(404, "NoSuchUpload", "The specified upload does not exist.")
                upload["parts"][int(query["partNumber"])] = body
            else:
                objects[key] = body
        self.reply(200, b"", echo)

    def op_post(self, key, query, headers, body, fault, count):
        with lock:
            if "uploads" in query:
                upload_id = "up-%d" % (len(uploads) + 1)
                uploads[upload_id] = {"key": key, "parts": {},
                                      "sha256": headers.get("x-amz-checksum-algorithm") == "SHA256",
                                      "initiated": datetime.datetime.utcnow()}
                xml = ("<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>%s</Key><UploadId>%s</UploadId>"
                       "</InitiateMultipartUploadResult>" % (escape(key), upload_id))
                return self.reply(200, xml.encode(), {"Content-Type": "application/xml"})
            upload = uploads.pop(query.get("uploadId", ""), None)
        if upload is None:
            return self.error(404, "NoSuchUpload", "The specified upload does not exist.")
        numbers = sorted(upload["parts"])
        data = b"".join(upload["parts"][n] for n in numbers)
        checksum = ""
        if upload["sha256"]:
            # Every part listed must carry the SHA-256 it was sent with.
            listed = {}
            for part in ElementTree.fromstring(body):
                fields = {child.tag.split("}")[-1]: child.text for child in part}
                listed[int(fields["PartNumber"])] = fields.get("ChecksumSHA256")
            for n in numbers:
                if listed.get(n) != base64.b64encode(hashlib.sha256(upload["parts"][n]).digest()).decode():
                    return self.error(400, "InvalidPart", "Part %d has no or a wrong ChecksumSHA256." % n)
            shas = b"".join(hashlib.sha256(upload["parts"][n]).digest() for n in numbers)
            checksum = "<ChecksumSHA256>%s-%d</ChecksumSHA256>" % (
                base64.b64encode(hashlib.sha256(shas).digest()).decode(), len(numbers))
        md5s = b"".join(hashlib.md5(upload["parts"][n]).digest() for n in numbers)
        etag = '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(numbers))
        with lock:
            objects[key] = data
        if fault == "badetag":
            etag = '"00000000000000000000000000000000-%d"' % len(numbers)
        xml = ("<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>%s</Key><ETag>%s</ETag>%s"
               "</CompleteMultipartUploadResult>" % (escape(key), escape(etag), checksum))
        self.reply(200, xml.encode(), {"Content-Type": "application/xml"})

    def op_delete(self, key, query, headers, body, fault, count):
        with lock:
            if "uploadId" in query:
                uploads.pop(query["uploadId"], None)
            else:
                objects.pop(key, None)
        self.reply(204)

    def op_head(self, key, query, headers, body, fault, count):
        with lock:
            data = objects.get(key)
        if data is None:
            return self.reply(404)
        self.reply(200, b"", {"ETag": self.etag_for(data, fault)}, length=len(data))

    def op_get(self, key, query, headers, body, fault, count):
        if key == "" and query.get("list-type") == "2":
            return self.list_objects(query)
        if key == "" and "uploads" in query:
            return self.list_uploads(query)
        with lock:
            data = objects.get(key)
        if data is None:
            return self.error(404, "NoSuchKey", "The specified key does not exist.")
        etag = self.etag_for(data, fault)
        if "if-match" in headers and headers["if-match"] != etag:
            return self.error(412, "PreconditionFailed", "At least one of the preconditions did not hold")
        start = 0
        if headers.get("range", "").startswith("bytes="):
            start = int(headers["range"][6:].split("-")[0])
        with lock:
            first_get = stats[key]["methods"].count("GET") == 1
        if fault == "dropend" and first_get:
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(data) + 1))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
            return
        if start >= len(data) > 0:
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(data))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault == "drop" and first_get:
            # Promise the whole body, send half, and hang up.
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if start:
            rest = data[start:]
            return self.reply(206, rest, {"ETag": etag,
                                          "Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        self.reply(200, data, {"ETag": etag})

    def list_uploads(self, query):
        prefix = query.get("prefix", "")
        after = (query.get("key-marker", ""), query.get("upload-id-marker", ""))
        with lock:
            found = sorted((u["key"], i, u["initiated"]) for i, u in uploads.items()
                           if u["key"].startswith(prefix) and (u["key"], i) > after)
        page, truncated = found[:2], len(found) > 2
        xml = ["<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bkt</Bucket>"]
        xml.append("<IsTruncated>%s</IsTruncated>" % str(truncated).lower())
        if truncated:
            xml.append("<NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>"
                       % (escape(page[-1][0]), page[-1][1]))
        for key, upload_id, when in page:
            xml.append("<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>%s</Initiated></Upload>"
                       % (escape(key), upload_id, when.strftime("%Y-%m-%dT%H:%M:%S.000Z")))
        xml.append("</ListMultipartUploadsResult>")
        self.reply(200, "".join(xml).encode(), {"Content-Type": "application/xml"})

    def list_objects(self, query):
        prefix = query.get("prefix", "")
        max_keys = int(query.get("max-keys", "1000"))
        after = query.get("continuation-token", "")
        with lock:
            keys = sorted(k for k in objects if k.startswith(prefix) and k > after)
            sizes = {k: len(objects[k]) for k in keys}
        page, truncated = keys[:max_keys], len(keys) > max_keys
        xml = ["<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name>"]
        xml.append("<Prefix>%s</Prefix><IsTruncated>%s</IsTruncated>" % (escape(prefix), str(truncated).lower()))
        for k in page:
            xml.append("<Contents><Key>%s</Key><Size>%d</Size></Contents>" % (escape(k), sizes[k]))
        if truncated:
            xml.append("<NextContinuationToken>%s</NextContinuationToken>" % escape(page[-1]))
        xml.append("</ListBucketResult>")
        self.reply(200, "".join(xml).encode(), {"Content-Type": "application/xml"})

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that ends a transfer (a part stopped after another
        # failed) leaves a broken pipe here: not an error of the server.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
