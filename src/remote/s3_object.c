/*
 * s3_object.c: the object operations of s3.h on top of s3_perform():
 * single PUTs, HEAD, GET to a sink, a file or a buffer, listing and
 * deletion.  Uploads above part_size go to s3_multipart.c.
 *
 * Invariants:
 *   - Every PUT sends Content-MD5 (the store refuses a body that does not
 *     match it) and signs the SHA-256 of the body; the answer's
 *     x-amz-checksum-sha256, when the store sends one, or else its ETag
 *     must equal what was sent, or the upload is an error.  A store whose
 *     ETags are not MD5s (AWS with SSE-KMS) therefore fails loudly rather
 *     than being trusted without a check.
 *   - A file is hashed in one pass before it is sent and re-read for the
 *     body (backup files are immutable while they are copied); the SHA-256
 *     returned is of the bytes that were hashed and sent.
 *   - get_file writes a new file only (O_EXCL), fsyncs it and its
 *     directory, and removes it when the download fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote/s3_internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hex.h"

int s3_check_key(const char *op, const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > 1024)
		return cairn_error_set(CAIRN_EINVALID, "s3 %s: the key must be 1 to 1024 bytes", op);
	return CAIRN_OK;
}

int s3_digest_init(s3_digest *d)
{
	d->md5 = EVP_MD_CTX_new();
	d->sha = EVP_MD_CTX_new();
	if (!d->md5 || !d->sha || !EVP_DigestInit_ex(d->md5, EVP_md5(), NULL) ||
		!EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL)) {
		s3_digest_free(d);
		return cairn_error_set(CAIRN_ENOMEM, "s3: cannot start a digest");
	}
	return CAIRN_OK;
}

void s3_digest_update(s3_digest *d, const void *data, size_t len)
{
	EVP_DigestUpdate(d->md5, data, len);
	EVP_DigestUpdate(d->sha, data, len);
}

void s3_digest_final(s3_digest *d)
{
	unsigned int n = 0;
	EVP_DigestFinal_ex(d->md5, d->md5_raw, &n);
	EVP_DigestFinal_ex(d->sha, d->sha_raw, &n);
	cairn_hex_encode(d->md5_hex, d->md5_raw, 16);
	cairn_hex_encode(d->sha_hex, d->sha_raw, 32);
	EVP_EncodeBlock((unsigned char *)d->md5_b64, d->md5_raw, 16);
	EVP_EncodeBlock((unsigned char *)d->sha_b64, d->sha_raw, 32);
}

void s3_digest_free(s3_digest *d)
{
	EVP_MD_CTX_free(d->md5);
	EVP_MD_CTX_free(d->sha);
	d->md5 = d->sha = NULL;
}

int s3_digest_file(s3_digest *d, int fd, uint64_t offset, uint64_t length, const char *what)
{
	int rc = s3_digest_init(d);
	if (rc != CAIRN_OK)
		return rc;
	char *buf = malloc(1 << 20);
	if (!buf) {
		s3_digest_free(d);
		return cairn_error_set(CAIRN_ENOMEM, "s3: out of memory");
	}
	uint64_t done = 0;
	while (done < length) {
		size_t want = length - done < (1 << 20) ? (size_t)(length - done) : (1 << 20);
		ssize_t r = pread(fd, buf, want, (off_t)(offset + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = cairn_error_set_errno(CAIRN_EIO, r < 0 ? errno : EIO, "s3: reading %s", what);
			break;
		}
		s3_digest_update(d, buf, (size_t)r);
		done += (uint64_t)r;
	}
	free(buf);
	if (rc == CAIRN_OK)
		s3_digest_final(d);
	s3_digest_free(d);
	return rc;
}

static int check_echo(const s3_call *c, const s3_digest *d, const char *key)
{
	if (c->checksum_sha256[0]) {
		if (strcmp(c->checksum_sha256, d->sha_b64) != 0)
			return cairn_error_set(CAIRN_EIO,
				"s3 %s %s: the store's x-amz-checksum-sha256 %s differs from the SHA-256 of the bytes sent (%s)",
				c->op, key, c->checksum_sha256, d->sha_b64);
		return CAIRN_OK;
	}
	const char *e = c->etag;
	size_t n = strlen(e);
	if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
		e++;
		n -= 2;
	}
	if (n != 32 || strncasecmp(e, d->md5_hex, 32) != 0)
		return cairn_error_set(CAIRN_EIO, "s3 %s %s: the store's ETag %s differs from the MD5 of the bytes sent (%s)",
			c->op, key, c->etag[0] ? c->etag : "(none)", d->md5_hex);
	return CAIRN_OK;
}

int s3_put_digested(cairn_s3 *s3, s3_call *c, const s3_digest *d)
{
	c->method = "PUT";
	c->content_md5 = d->md5_b64;
	c->send_sha256 = s3->checksum_sha256 ? d->sha_b64 : NULL;
	c->payload_hash = d->sha_hex;
	int rc = s3_perform(s3, c);
	return rc == CAIRN_OK ? check_echo(c, d, c->key) : rc;
}

int cairn_s3_put_buffer(cairn_s3 *s3, const char *key, const void *data, size_t len)
{
	int rc = s3_check_key("put", key);
	if (rc != CAIRN_OK)
		return rc;
	s3_digest d;
	if ((rc = s3_digest_init(&d)) != CAIRN_OK)
		return rc;
	s3_digest_update(&d, data, len);
	s3_digest_final(&d);
	s3_digest_free(&d);
	s3_call c = S3_CALL_INIT;
	c.op = "put";
	c.key = key;
	c.body = data;
	c.length = len;
	rc = s3_put_digested(s3, &c, &d);
	s3_call_reset(&c);
	return rc;
}

int s3_put_single(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, int fd, uint64_t size,
	const cairn_s3_transfer *t)
{
	s3_digest d;
	int rc = s3_digest_file(&d, fd, 0, size, key);
	if (rc != CAIRN_OK)
		return rc;
	s3_call c = S3_CALL_INIT;
	c.op = "put";
	c.key = key;
	c.fd = fd;
	c.length = size;
	c.t = t;
	rc = s3_put_digested(s3, &c, &d);
	s3_call_reset(&c);
	if (rc == CAIRN_OK && out_sha256)
		memcpy(out_sha256, d.sha_hex, CAIRN_S3_SHA256_HEX);
	return rc;
}

int cairn_s3_put_file(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, const char *path,
	const cairn_s3_transfer *t)
{
	int rc = s3_check_key("put", key);
	if (rc != CAIRN_OK)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "s3 put %s: open %s", key, path);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		close(fd);
		return S_ISREG(st.st_mode) ? cairn_error_set_errno(CAIRN_EIO, err, "s3 put %s: stat %s", key, path)
					   : cairn_error_set(CAIRN_EINVALID, "s3 put %s: %s is not a regular file", key, path);
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size > s3->part_size)
		rc = s3_put_multipart(out_sha256, s3, key, fd, size, t);
	else
		rc = s3_put_single(out_sha256, s3, key, fd, size, t);
	close(fd);
	return rc;
}

/* c as a call of `method` on `key`, which must be a valid key. */
static int keyed_call(s3_call *c, const char *method, const char *op, const char *key)
{
	c->method = method;
	c->op = op;
	c->key = key;
	return s3_check_key(op, key);
}

int cairn_s3_head(uint64_t *out_size, cairn_s3 *s3, const char *key)
{
	s3_call c = S3_CALL_INIT;
	int rc = keyed_call(&c, "HEAD", "head", key);
	if (rc == CAIRN_OK)
		rc = s3_perform(s3, &c);
	if (rc == CAIRN_OK && !c.has_length)
		rc = cairn_error_set(CAIRN_EIO, "s3 head %s: the store gave no Content-Length", key);
	if (rc == CAIRN_OK)
		*out_size = c.content_length;
	s3_call_reset(&c);
	return rc;
}

int cairn_s3_get(cairn_s3 *s3, const char *key, cairn_s3_sink_fn sink, void *ctx, const cairn_s3_transfer *t)
{
	s3_call c = S3_CALL_INIT;
	c.sink = sink;
	c.sink_ctx = ctx;
	c.t = t;
	int rc = keyed_call(&c, "GET", "get", key);
	if (rc == CAIRN_OK)
		rc = s3_perform(s3, &c);
	s3_call_reset(&c);
	return rc;
}

typedef struct file_sink {
	int fd;
	const char *path;
	EVP_MD_CTX *sha;
} file_sink;

static int file_sink_fn(void *ctx, const void *data, size_t len)
{
	file_sink *f = ctx;
	if (cairn_fs_write_all(f->fd, data, len) != CAIRN_OK)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "writing %s", f->path);
	EVP_DigestUpdate(f->sha, data, len);
	return 0;
}

int cairn_s3_get_file(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, const char *path,
	const cairn_s3_transfer *t)
{
	int rc = s3_check_key("get", key);
	if (rc != CAIRN_OK)
		return rc;
	file_sink f = {open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), path, EVP_MD_CTX_new()};
	if (f.fd < 0) {
		int err = errno;
		EVP_MD_CTX_free(f.sha);
		return cairn_error_set_errno(cairn_error_from_errno(err), err, "s3 get %s: create %s", key, path);
	}
	if (!f.sha || !EVP_DigestInit_ex(f.sha, EVP_sha256(), NULL))
		rc = cairn_error_set(CAIRN_ENOMEM, "s3 get %s: cannot start a digest", key);
	if (rc == CAIRN_OK)
		rc = cairn_s3_get(s3, key, file_sink_fn, &f, t);
	if (rc == CAIRN_OK && fsync(f.fd) != 0)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "s3 get %s: fsync %s", key, path);
	if (close(f.fd) != 0 && rc == CAIRN_OK)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "s3 get %s: close %s", key, path);
	if (rc == CAIRN_OK && cairn_fs_fsync_parent(path) != CAIRN_OK)
		rc = cairn_error_prefix(CAIRN_EIO, "s3 get %s", key);
	if (rc == CAIRN_OK && out_sha256) {
		uint8_t md[32];
		unsigned int n = 0;
		EVP_DigestFinal_ex(f.sha, md, &n);
		cairn_hex_encode(out_sha256, md, 32);
	}
	if (rc != CAIRN_OK)
		unlink(path);
	EVP_MD_CTX_free(f.sha);
	return rc;
}

typedef struct buf_sink {
	char *data;
	size_t len;
	size_t max;
	const char *key;
} buf_sink;

static int buf_sink_fn(void *ctx, const void *data, size_t len)
{
	buf_sink *b = ctx;
	if (len > b->max - b->len)
		return cairn_error_set(CAIRN_EINVALID, "s3 get %s: the object is larger than %zu bytes", b->key, b->max);
	char *n = realloc(b->data, b->len + len + 1);
	if (!n)
		return cairn_error_set(CAIRN_ENOMEM, "s3 get %s: out of memory", b->key);
	memcpy(n + b->len, data, len);
	b->data = n;
	b->len += len;
	n[b->len] = '\0';
	return 0;
}

int cairn_s3_get_buffer(char **out, size_t *out_len, cairn_s3 *s3, const char *key, size_t max)
{
	buf_sink b = {NULL, 0, max, key};
	int rc = cairn_s3_get(s3, key, buf_sink_fn, &b, NULL);
	if (rc == CAIRN_OK && !b.data && !(b.data = calloc(1, 1)))
		rc = cairn_error_set(CAIRN_ENOMEM, "s3 get %s: out of memory", key);
	if (rc != CAIRN_OK) {
		free(b.data);
		return rc;
	}
	*out = b.data;
	*out_len = b.len;
	return CAIRN_OK;
}

int cairn_s3_list(cairn_s3 *s3, const char *prefix, const char *delimiter, cairn_s3_list_fn fn, void *ctx)
{
	char *token = NULL;
	char max_keys[16];
	snprintf(max_keys, sizeof(max_keys), "%d", s3->list_page_size);
	int rc = CAIRN_OK;
	do {
		s3_call c = S3_CALL_INIT;
		c.method = "GET";
		c.op = "list";
		c.key = NULL;
		c.resp_max = 64u << 20;
		c.query[c.n_query++] = (cairn_sigv4_pair){"list-type", "2"};
		c.query[c.n_query++] = (cairn_sigv4_pair){"max-keys", max_keys};
		c.query[c.n_query++] = (cairn_sigv4_pair){"prefix", prefix ? prefix : ""};
		if (delimiter && delimiter[0])
			c.query[c.n_query++] = (cairn_sigv4_pair){"delimiter", delimiter};
		if (token)
			c.query[c.n_query++] = (cairn_sigv4_pair){"continuation-token", token};
		rc = s3_perform(s3, &c);
		char *next = NULL;
		if (rc == CAIRN_OK)
			rc = s3_xml_list(&next, c.resp, c.resp_len, fn, ctx);
		s3_call_reset(&c);
		free(token);
		token = next;
	} while (rc == CAIRN_OK && token);
	free(token);
	return rc;
}

int cairn_s3_delete(cairn_s3 *s3, const char *key)
{
	s3_call c = S3_CALL_INIT;
	int rc = keyed_call(&c, "DELETE", "delete", key);
	if (rc == CAIRN_OK)
		rc = s3_perform(s3, &c);
	s3_call_reset(&c);
	return rc == CAIRN_ENOTFOUND ? CAIRN_OK : rc;
}
