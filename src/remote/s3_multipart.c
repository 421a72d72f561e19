/*
 * s3_multipart.c: multipart uploads (CreateMultipartUpload, UploadPart in
 * parallel, CompleteMultipartUpload, AbortMultipartUpload).
 *
 * Design:
 *   - Parts are part_size bytes (the last one shorter), grown when needed
 *     so that there are at most 10,000 (S3's limit).  min(parallelism,
 *     parts) threads take part numbers from one atomic counter; each part
 *     is hashed (MD5 for Content-MD5, SHA-256 for the signature) and then
 *     sent from the file with pread, so memory stays at a few buffers
 *     whatever the part size.
 *   - While the parts go out, the calling thread hashes the whole file for
 *     the SHA-256 the caller gets and for the final ETag check.
 *   - Each part's echoed ETag (or x-amz-checksum-sha256) must equal what
 *     was sent.  The completed object's ETag must be either S3's
 *     "MD5-of-the-part-MD5s-N" or the MD5 of the whole file (what s3rver
 *     computes); anything else fails the upload.  With checksum_sha256 the
 *     upload is created with x-amz-checksum-algorithm SHA256, each part
 *     carries its x-amz-checksum-sha256, the completion lists them, and a
 *     ChecksumSHA256 in the answer (S3's "SHA-256-of-the-part-SHA-256s-N")
 *     is checked instead of the ETag.
 *   - The first failure stops the other parts (the call's stop flag ends
 *     their transfers within a buffer), and the upload is aborted before
 *     returning, even after a cancellation, so that no parts are left
 *     billed in the bucket.  An abort that fails is logged; the original
 *     error is what the caller sees.
 *   - CompleteMultipartUpload may answer 200 with an <Error> body; an
 *     InternalError or SlowDown there is retried like a 5xx.
 *   - cairn_s3_abort_stale_uploads lists every page of uploads first and
 *     aborts after, so that the listing's markers never move under it; an
 *     upload begun less than older_than_seconds ago may be in flight in
 *     another process, so it is left alone.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "remote/s3_internal.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"

#define MAX_PARTS 10000

typedef struct part {
	uint64_t offset;
	uint64_t length;
	uint8_t md5[16];
	uint8_t sha[32];
	char sha_b64[45];
	char etag[S3_ETAG_MAX];
} part;

typedef struct upload {
	cairn_s3 *s3;
	const char *key;
	int fd;
	const char *upload_id;
	const cairn_s3_transfer *t;
	part *parts;
	size_t n;
	atomic_size_t next;
	atomic_bool failed;
	pthread_mutex_t mu;
	int rc;             /* first failure */
	char message[1024]; /* its reason, copied out of the worker's thread */
} upload;

static void fail(upload *u, int rc)
{
	pthread_mutex_lock(&u->mu);
	if (u->rc == CAIRN_OK) {
		u->rc = rc;
		snprintf(u->message, sizeof(u->message), "%s", cairn_error_last());
	}
	pthread_mutex_unlock(&u->mu);
	atomic_store(&u->failed, true);
}

static int upload_part(upload *u, size_t i)
{
	part *p = &u->parts[i];
	char what[64];
	snprintf(what, sizeof(what), "upload part %zu", i + 1);
	s3_digest d;
	int rc = s3_digest_file(&d, u->fd, p->offset, p->length, u->key);
	if (rc != CAIRN_OK)
		return rc;
	char number[16];
	snprintf(number, sizeof(number), "%zu", i + 1);
	s3_call c = S3_CALL_INIT;
	c.op = what;
	c.key = u->key;
	c.query[c.n_query++] = (cairn_sigv4_pair){"partNumber", number};
	c.query[c.n_query++] = (cairn_sigv4_pair){"uploadId", u->upload_id};
	c.fd = u->fd;
	c.offset = p->offset;
	c.length = p->length;
	c.t = u->t;
	c.stop = &u->failed;
	rc = s3_put_digested(u->s3, &c, &d);
	if (rc == CAIRN_OK) {
		memcpy(p->md5, d.md5_raw, 16);
		memcpy(p->sha, d.sha_raw, 32);
		memcpy(p->sha_b64, d.sha_b64, sizeof(p->sha_b64));
		if (c.etag[0])
			snprintf(p->etag, sizeof(p->etag), "%s", c.etag);
		else
			snprintf(p->etag, sizeof(p->etag), "\"%s\"", d.md5_hex);
	}
	s3_call_reset(&c);
	return rc;
}

static void *worker(void *arg)
{
	upload *u = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&u->next, 1);
		if (i >= u->n || atomic_load(&u->failed))
			break;
		int rc = upload_part(u, i);
		if (rc != CAIRN_OK) {
			/* A part stopped because another failed adds nothing. */
			if (!atomic_load(&u->failed) || rc != CAIRN_ESTATE)
				fail(u, rc);
			break;
		}
	}
	return NULL;
}

static int create_upload(char **out_id, cairn_s3 *s3, const char *key)
{
	s3_call c = S3_CALL_INIT;
	c.method = "POST";
	c.op = "create multipart upload";
	c.key = key;
	c.query[c.n_query++] = (cairn_sigv4_pair){"uploads", ""};
	c.content_type = "application/octet-stream";
	c.checksum_algorithm = s3->checksum_sha256 ? "SHA256" : NULL;
	int rc = s3_perform(s3, &c);
	if (rc == CAIRN_OK && (rc = s3_xml_upload_id(out_id, c.resp, c.resp_len)) != CAIRN_OK)
		cairn_error_prefix(rc, "s3 create multipart upload %s", key);
	s3_call_reset(&c);
	return rc;
}

static void abort_upload(cairn_s3 *s3, const char *key, const char *upload_id)
{
	char *saved = strdup(cairn_error_last());
	s3_call c = S3_CALL_INIT;
	c.method = "DELETE";
	c.op = "abort multipart upload";
	c.key = key;
	c.query[c.n_query++] = (cairn_sigv4_pair){"uploadId", upload_id};
	c.ignore_cancel = true;
	int rc = s3_perform(s3, &c);
	if (rc != CAIRN_OK && rc != CAIRN_ENOTFOUND)
		cairn_log_warn("s3", "%s (upload id %s left for the bucket's lifecycle rule)", cairn_error_last(), upload_id);
	s3_call_reset(&c);
	if (saved) {
		cairn_error_set(0, "%s", saved);
		free(saved);
	}
}

/* <CompleteMultipartUpload> with every part's number and ETag. */
static char *complete_body(const upload *u, size_t *out_len)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		return NULL;
	fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
	for (size_t i = 0; i < u->n; i++) {
		fprintf(f, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
		for (const char *e = u->parts[i].etag; *e; e++) {
			if (*e == '&')
				fputs("&amp;", f);
			else if (*e == '<')
				fputs("&lt;", f);
			else if (*e == '>')
				fputs("&gt;", f);
			else
				fputc(*e, f);
		}
		fputs("</ETag>", f);
		if (u->s3->checksum_sha256)
			fprintf(f, "<ChecksumSHA256>%s</ChecksumSHA256>", u->parts[i].sha_b64);
		fputs("</Part>", f);
	}
	fputs("</CompleteMultipartUpload>", f);
	if (fclose(f) != 0) {
		free(body);
		return NULL;
	}
	*out_len = len;
	return body;
}

/* The digest (`type`) of every part's MD5, or of every part's SHA-256. */
static void digest_of_parts(uint8_t *md, const EVP_MD *type, const upload *u, bool of_sha256)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	EVP_DigestInit_ex(ctx, type, NULL);
	for (size_t i = 0; i < u->n; i++)
		EVP_DigestUpdate(ctx, of_sha256 ? u->parts[i].sha : u->parts[i].md5, of_sha256 ? 32 : 16);
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
}

/* The ETag S3 gives a multipart object: hex MD5 of the part MD5s, "-N". */
static void composite_etag(char out[48], const upload *u)
{
	uint8_t md[16];
	char hex[33];
	digest_of_parts(md, EVP_md5(), u, false);
	cairn_hex_encode(hex, md, 16);
	snprintf(out, 48, "%s-%zu", hex, u->n);
}

/* x-amz-checksum-sha256 of a multipart object: base64 SHA-256 of the part
 * SHA-256s, "-N". */
static void composite_sha256(char out[64], const upload *u)
{
	uint8_t md[32];
	char b64[45];
	digest_of_parts(md, EVP_sha256(), u, true);
	EVP_EncodeBlock((unsigned char *)b64, md, 32);
	snprintf(out, 64, "%s-%zu", b64, u->n);
}

static int complete_upload(upload *u, const s3_digest *whole)
{
	size_t len = 0;
	char *body = complete_body(u, &len);
	if (!body)
		return cairn_error_set(CAIRN_ENOMEM, "s3 complete multipart upload %s: out of memory", u->key);
	char sha[65];
	cairn_sigv4_sha256_hex(sha, body, len);
	int rc = CAIRN_OK;
	char *etag = NULL, *checksum = NULL;
	for (int tries = 1;; tries++) {
		s3_call c = S3_CALL_INIT;
		c.method = "POST";
		c.op = "complete multipart upload";
		c.key = u->key;
		c.query[c.n_query++] = (cairn_sigv4_pair){"uploadId", u->upload_id};
		c.body = body;
		c.length = len;
		c.payload_hash = sha;
		c.content_type = "application/xml";
		rc = s3_perform(u->s3, &c);
		char *code = NULL, *message = NULL;
		bool retry = false;
		if (rc == CAIRN_OK && s3_xml_error(&code, &message, c.resp, c.resp_len) == CAIRN_OK) {
			retry = strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0;
			rc = cairn_error_set(CAIRN_EIO, "s3 complete multipart upload %s: %s: %s", u->key, code, message);
		} else if (rc == CAIRN_OK) {
			rc = s3_xml_complete(&etag, &checksum, c.resp, c.resp_len);
			if (rc != CAIRN_OK)
				cairn_error_prefix(rc, "s3 complete multipart upload %s", u->key);
		}
		free(code);
		free(message);
		s3_call_reset(&c);
		if (!retry || tries >= u->s3->max_attempts || s3_cancelled(u->s3))
			break;
	}
	free(body);
	if (rc != CAIRN_OK) {
		free(checksum);
		return rc;
	}
	if (checksum) {
		/* The store checked every part's SHA-256 and says so: S3's
		 * composite is the SHA-256 of the part SHA-256s, "-N"; a
		 * full-object checksum is the file's. */
		char expected[64];
		composite_sha256(expected, u);
		bool same = strcmp(checksum, expected) == 0 || strcmp(checksum, whole->sha_b64) == 0;
		if (!same)
			rc = cairn_error_set(CAIRN_EIO,
				"s3 complete multipart upload %s: the store's checksum %s is neither %s nor the file's (%s)",
				u->key, checksum, expected, whole->sha_b64);
		free(checksum);
		free(etag);
		return rc;
	}
	char composite[48];
	composite_etag(composite, u);
	const char *e = etag;
	size_t n = strlen(e);
	if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
		e++;
		n -= 2;
	}
	bool ok = (n == strlen(composite) && strncasecmp(e, composite, n) == 0) ||
		  (n == 32 && strncasecmp(e, whole->md5_hex, 32) == 0);
	if (!ok)
		rc = cairn_error_set(CAIRN_EIO,
			"s3 complete multipart upload %s: the store's ETag %s is neither %s nor the MD5 of the file (%s)",
			u->key, etag, composite, whole->md5_hex);
	free(etag);
	return rc;
}

int s3_put_multipart(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, int fd, uint64_t size,
	const cairn_s3_transfer *t)
{
	uint64_t psize = s3->part_size;
	if ((size + psize - 1) / psize > MAX_PARTS)
		psize = (size + MAX_PARTS - 1) / MAX_PARTS;
	upload u = {.s3 = s3, .key = key, .fd = fd, .t = t};
	u.n = (size_t)((size + psize - 1) / psize);
	u.parts = calloc(u.n, sizeof(*u.parts));
	if (!u.parts)
		return cairn_error_set(CAIRN_ENOMEM, "s3 put %s: out of memory", key);
	for (size_t i = 0; i < u.n; i++) {
		u.parts[i].offset = i * psize;
		u.parts[i].length = i + 1 < u.n ? psize : size - i * psize;
	}
	char *upload_id = NULL;
	int rc = create_upload(&upload_id, s3, key);
	if (rc != CAIRN_OK) {
		free(u.parts);
		return rc;
	}
	u.upload_id = upload_id;
	pthread_mutex_init(&u.mu, NULL);
	atomic_init(&u.next, 0);
	atomic_init(&u.failed, false);

	size_t nthreads = (size_t)s3->parallelism < u.n ? (size_t)s3->parallelism : u.n;
	pthread_t *th = calloc(nthreads, sizeof(*th));
	size_t started = 0;
	while (th && started < nthreads && pthread_create(&th[started], NULL, worker, &u) == 0)
		started++;
	s3_digest whole;
	int hash_rc = s3_digest_file(&whole, fd, 0, size, key);
	if (hash_rc != CAIRN_OK)
		fail(&u, hash_rc);
	if (started == 0)
		worker(&u); /* no thread could start: the parts go one by one from here */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);

	if (u.rc != CAIRN_OK) {
		rc = cairn_error_set(u.rc, "%s", u.message);
	} else if (s3_cancelled(s3)) {
		rc = cairn_error_set(CAIRN_ESTATE, "s3 put %s: cancelled", key);
	} else {
		rc = complete_upload(&u, &whole);
	}
	if (rc != CAIRN_OK)
		abort_upload(s3, key, upload_id);
	else if (out_sha256)
		memcpy(out_sha256, whole.sha_hex, CAIRN_S3_SHA256_HEX);
	pthread_mutex_destroy(&u.mu);
	free(upload_id);
	free(u.parts);
	return rc;
}

typedef struct stale {
	int64_t before; /* uploads begun before this time are stale */
	char **keys;
	char **ids;
	size_t n, cap;
} stale;

static int collect_stale(void *ctx, const char *key, const char *upload_id, int64_t initiated)
{
	stale *s = ctx;
	if (initiated == 0 || initiated >= s->before)
		return CAIRN_OK;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **k = realloc(s->keys, cap * sizeof(*k));
		if (k)
			s->keys = k;
		char **i = k ? realloc(s->ids, cap * sizeof(*i)) : NULL;
		if (!i)
			return cairn_error_set(CAIRN_ENOMEM, "s3: out of memory");
		s->ids = i;
		s->cap = cap;
	}
	s->keys[s->n] = strdup(key);
	s->ids[s->n] = strdup(upload_id);
	if (!s->keys[s->n] || !s->ids[s->n]) {
		free(s->keys[s->n]);
		free(s->ids[s->n]);
		return cairn_error_set(CAIRN_ENOMEM, "s3: out of memory");
	}
	s->n++;
	return CAIRN_OK;
}

int cairn_s3_abort_stale_uploads(uint64_t *out_aborted, cairn_s3 *s3, const char *prefix,
	uint64_t older_than_seconds)
{
	stale s = {.before = (int64_t)time(NULL) - (int64_t)older_than_seconds};
	char *key_marker = NULL, *id_marker = NULL;
	int rc = CAIRN_OK;
	/* Listed first, aborted after: aborting while paging would move the
	 * markers under the listing. */
	do {
		s3_call c = S3_CALL_INIT;
		c.method = "GET";
		c.op = "list multipart uploads";
		c.resp_max = 64u << 20;
		c.query[c.n_query++] = (cairn_sigv4_pair){"uploads", ""};
		c.query[c.n_query++] = (cairn_sigv4_pair){"prefix", prefix ? prefix : ""};
		if (key_marker)
			c.query[c.n_query++] = (cairn_sigv4_pair){"key-marker", key_marker};
		if (id_marker && id_marker[0])
			c.query[c.n_query++] = (cairn_sigv4_pair){"upload-id-marker", id_marker};
		rc = s3_perform(s3, &c);
		char *next_key = NULL, *next_id = NULL;
		if (rc == CAIRN_OK)
			rc = s3_xml_uploads(&next_key, &next_id, c.resp, c.resp_len, collect_stale, &s);
		s3_call_reset(&c);
		free(key_marker);
		free(id_marker);
		key_marker = next_key;
		id_marker = next_id;
	} while (rc == CAIRN_OK && key_marker);
	free(key_marker);
	free(id_marker);
	uint64_t aborted = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (rc == CAIRN_OK) {
			s3_call c = S3_CALL_INIT;
			c.method = "DELETE";
			c.op = "abort multipart upload";
			c.key = s.keys[i];
			c.query[c.n_query++] = (cairn_sigv4_pair){"uploadId", s.ids[i]};
			rc = s3_perform(s3, &c);
			if (rc == CAIRN_ENOTFOUND)
				rc = CAIRN_OK; /* gone meanwhile: completed or aborted by another */
			else if (rc == CAIRN_OK)
				aborted++;
			s3_call_reset(&c);
		}
		free(s.keys[i]);
		free(s.ids[i]);
	}
	free(s.keys);
	free(s.ids);
	if (rc == CAIRN_OK)
		*out_aborted = aborted;
	return rc;
}
