/*
 * sigv4.c: AWS Signature Version 4 on OpenSSL's HMAC and SHA-256.
 *
 * Why our own signing rather than libcurl's CURLOPT_AWS_SIGV4: libcurl
 * (7.88 in Debian 12) signs only what it sees at the time it sends, hashes
 * the payload only for in-memory POST bodies (a streamed PUT of a file gets
 * no x-amz-content-sha256 of its bytes), cannot add the session token to
 * the signed headers by itself, and gives no way to check its canonical
 * request or string to sign against the published test-suite vectors.
 * Here every step is a pure function (the test suite reproduces each one),
 * and the S3 client signs exactly the path, query and headers it sends.
 *
 * Invariants: every returned string is malloc'd and NUL-terminated; the
 * only failure is an allocation failure (CAIRN_ENOMEM) or a header value
 * that would break the canonical form (CAIRN_EINVALID).
 */
#include "remote/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/hex.h"

/* A growing string on open_memstream: one FILE per built string. */
typedef struct sbuf {
	FILE *f;
	char *data;
	size_t len;
} sbuf;

static int sbuf_open(sbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->f = open_memstream(&b->data, &b->len);
	return b->f ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
}

/* Closes the stream; on success hands the string to *out. */
static int sbuf_close(char **out, sbuf *b)
{
	bool failed = ferror(b->f) != 0;
	if (fclose(b->f) != 0)
		failed = true;
	if (failed) {
		free(b->data);
		return cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
	}
	*out = b->data;
	return CAIRN_OK;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

static void encode_into(FILE *f, const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			fputc(*p, f);
		} else {
			fputc('%', f);
			fputc(digits[*p >> 4], f);
			fputc(digits[*p & 15], f);
		}
	}
}

int cairn_sigv4_uri_encode(char **out, const char *s, bool keep_slash)
{
	sbuf b;
	int rc = sbuf_open(&b);
	if (rc != CAIRN_OK)
		return rc;
	encode_into(b.f, s, keep_slash);
	return sbuf_close(out, &b);
}

typedef struct enc_pair {
	char *name;
	char *value;
} enc_pair;

static int enc_pair_cmp(const void *a, const void *b)
{
	const enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : strcmp(x->value, y->value);
}

int cairn_sigv4_canonical_query(char **out, const cairn_sigv4_pair *query, size_t n)
{
	enc_pair *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
	int rc = CAIRN_OK;
	for (size_t i = 0; i < n && rc == CAIRN_OK; i++) {
		rc = cairn_sigv4_uri_encode(&v[i].name, query[i].name, false);
		if (rc == CAIRN_OK)
			rc = cairn_sigv4_uri_encode(&v[i].value, query[i].value ? query[i].value : "", false);
	}
	sbuf b = {0};
	if (rc == CAIRN_OK)
		rc = sbuf_open(&b);
	if (rc == CAIRN_OK) {
		qsort(v, n, sizeof(*v), enc_pair_cmp);
		for (size_t i = 0; i < n; i++)
			fprintf(b.f, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
		rc = sbuf_close(out, &b);
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	return rc;
}

/* Writes a header value in canonical form: each line trimmed, runs of
 * blanks folded to one space, continuation lines joined with ','. */
static void canonical_value(FILE *f, const char *value)
{
	bool first_line = true;
	const char *p = value;
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		const char *s = p, *e = end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s < e) {
			if (!first_line)
				fputc(',', f);
			first_line = false;
			bool blank = false;
			for (const char *q = s; q < e; q++) {
				if (*q == ' ' || *q == '\t' || *q == '\r') {
					blank = true;
					continue;
				}
				if (blank)
					fputc(' ', f);
				blank = false;
				fputc(*q, f);
			}
		}
		p = eol ? eol + 1 : end;
	}
}

typedef struct lc_header {
	char *name; /* lowercased copy */
	const char *value;
} lc_header;

int cairn_sigv4_canonical_request(char **out_creq, char **out_signed_headers, const cairn_sigv4_request *req)
{
	size_t n = req->n_headers;
	lc_header *h = calloc(n ? n : 1, sizeof(*h));
	if (!h)
		return cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
	int rc = CAIRN_OK;
	for (size_t i = 0; i < n; i++) {
		h[i].name = strdup(req->headers[i].name);
		h[i].value = req->headers[i].value ? req->headers[i].value : "";
		if (!h[i].name) {
			rc = cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
			break;
		}
		for (char *c = h[i].name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strpbrk(h[i].name, " \t\r\n:") || !h[i].name[0]) {
			rc = cairn_error_set(CAIRN_EINVALID, "sigv4: bad header name \"%s\"", req->headers[i].name);
			break;
		}
	}
	/* Stable insertion sort: repeated names keep their sending order. */
	for (size_t i = 1; rc == CAIRN_OK && i < n; i++) {
		lc_header t = h[i];
		size_t j = i;
		while (j > 0 && strcmp(h[j - 1].name, t.name) > 0) {
			h[j] = h[j - 1];
			j--;
		}
		h[j] = t;
	}
	char *query = NULL;
	if (rc == CAIRN_OK)
		rc = cairn_sigv4_canonical_query(&query, req->query, req->n_query);
	sbuf c = {0}, s = {0};
	if (rc == CAIRN_OK)
		rc = sbuf_open(&c);
	if (rc == CAIRN_OK && (rc = sbuf_open(&s)) != CAIRN_OK) {
		fclose(c.f);
		free(c.data);
	}
	if (rc == CAIRN_OK) {
		fprintf(c.f, "%s\n", req->method);
		encode_into(c.f, req->path && req->path[0] ? req->path : "/", true);
		fprintf(c.f, "\n%s\n", query);
		for (size_t i = 0; i < n; i++) {
			bool repeat = i > 0 && strcmp(h[i - 1].name, h[i].name) == 0;
			if (repeat) {
				fputc(',', c.f);
			} else {
				if (i > 0) {
					fputc('\n', c.f);
					fputc(';', s.f);
				}
				fprintf(c.f, "%s:", h[i].name);
				fputs(h[i].name, s.f);
			}
			canonical_value(c.f, h[i].value);
		}
		fputs("\n\n", c.f);
		fflush(s.f);
		fprintf(c.f, "%s\n%s", s.data ? s.data : "", req->payload_hash);
		char *creq = NULL, *signed_headers = NULL;
		rc = sbuf_close(&creq, &c);
		int rc2 = sbuf_close(&signed_headers, &s);
		if (rc == CAIRN_OK && rc2 == CAIRN_OK) {
			*out_creq = creq;
			*out_signed_headers = signed_headers;
		} else {
			free(creq);
			free(signed_headers);
			rc = rc != CAIRN_OK ? rc : rc2;
		}
	}
	free(query);
	for (size_t i = 0; i < n; i++)
		free(h[i].name);
	free(h);
	return rc;
}

int cairn_sigv4_scope(char **out, const char *amz_date, const char *region, const char *service)
{
	if (strlen(amz_date) < 8)
		return cairn_error_set(CAIRN_EINVALID, "sigv4: bad date \"%s\"", amz_date);
	if (asprintf(out, "%.8s/%s/%s/aws4_request", amz_date, region, service) < 0)
		return cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
	return CAIRN_OK;
}

void cairn_sigv4_sha256_hex(char out[65], const void *data, size_t len)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	cairn_hex_encode(out, md, sizeof(md));
}

int cairn_sigv4_string_to_sign(char **out, const char *amz_date, const char *scope, const char *creq)
{
	char hash[65];
	cairn_sigv4_sha256_hex(hash, creq, strlen(creq));
	if (asprintf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash) < 0)
		return cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
	return CAIRN_OK;
}

static void hmac(uint8_t out[32], const void *key, size_t key_len, const char *msg)
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len);
}

void cairn_sigv4_signing_key(uint8_t out[32], const char *secret, const char *date8, const char *region,
	const char *service)
{
	size_t slen = strlen(secret);
	char *k = malloc(slen + 5);
	uint8_t a[32], b[32];
	char date[9];
	snprintf(date, sizeof(date), "%.8s", date8);
	if (k) {
		memcpy(k, "AWS4", 4);
		memcpy(k + 4, secret, slen + 1);
		hmac(a, k, slen + 4, date);
		explicit_bzero(k, slen + 4);
		free(k);
	} else {
		/* Cannot happen in practice; an all-zero key only fails to sign. */
		memset(a, 0, sizeof(a));
	}
	hmac(b, a, 32, region);
	hmac(a, b, 32, service);
	hmac(out, a, 32, "aws4_request");
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
}

void cairn_sigv4_signature(char out[65], const uint8_t key[32], const char *string_to_sign)
{
	uint8_t md[32];
	hmac(md, key, 32, string_to_sign);
	cairn_hex_encode(out, md, sizeof(md));
}

int cairn_sigv4_authorization(char **out, const cairn_sigv4_request *req, const cairn_sigv4_credentials *cred,
	const char *amz_date)
{
	char *creq = NULL, *signed_headers = NULL, *scope = NULL, *sts = NULL;
	int rc = cairn_sigv4_canonical_request(&creq, &signed_headers, req);
	if (rc == CAIRN_OK)
		rc = cairn_sigv4_scope(&scope, amz_date, cred->region, cred->service);
	if (rc == CAIRN_OK)
		rc = cairn_sigv4_string_to_sign(&sts, amz_date, scope, creq);
	if (rc == CAIRN_OK) {
		uint8_t key[32];
		char sig[65];
		cairn_sigv4_signing_key(key, cred->secret_access_key, amz_date, cred->region, cred->service);
		cairn_sigv4_signature(sig, key, sts);
		explicit_bzero(key, sizeof(key));
		if (asprintf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			    cred->access_key_id, scope, signed_headers, sig) < 0)
			rc = cairn_error_set(CAIRN_ENOMEM, "sigv4: out of memory");
	}
	free(creq);
	free(signed_headers);
	free(scope);
	free(sts);
	return rc;
}
