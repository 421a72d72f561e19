/*
 * s3_internal.h: what the S3 client's files share: the client struct, one
 * signed request with its retries (s3.c), and the XML readers (s3_xml.c).
 * Not for use outside src/remote/.
 */
#ifndef CAIRN_REMOTE_S3_INTERNAL_H
#define CAIRN_REMOTE_S3_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote/s3.h"
#include "remote/sigv4.h"

struct cairn_s3 {
	char *base_url;    /* "http://127.0.0.1:9000" or "https://bucket.s3.us-east-1.amazonaws.com" */
	char *host;        /* the Host header: what base_url names, with a non-default port */
	char *path_prefix; /* "/bucket" (path style) or "" (virtual-host style) */
	char *region;
	char *bucket;
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	uint64_t part_size;
	int parallelism;
	int max_attempts;
	int list_page_size;
	double retry_base_seconds;
	bool checksum_sha256;
	const atomic_bool *cancel;

	struct cairn_ratelimit *limit; /* shared by all transfers; never NULL (rate 0: no limit) */
};

#define S3_MAX_QUERY 6
#define S3_ETAG_MAX 160

/* One request and its answer.  The caller fills the request part; the
 * response part is what the last attempt received. */
typedef struct s3_call {
	const char *method; /* GET HEAD PUT POST DELETE */
	const char *op;     /* for messages: "put", "upload part 3" */
	const char *key;    /* NULL: the bucket itself */
	cairn_sigv4_pair query[S3_MAX_QUERY];
	size_t n_query;

	/* Request body: memory (body) or a file range (fd >= 0). */
	const void *body;
	int fd;
	uint64_t offset;
	uint64_t length;
	const char *content_md5;  /* base64, or NULL */
	const char *send_sha256;  /* base64, sent as x-amz-checksum-sha256; or NULL */
	const char *checksum_algorithm; /* x-amz-checksum-algorithm (CreateMultipartUpload); or NULL */
	const char *payload_hash; /* hex SHA-256 of the body; NULL: of the empty string */
	const char *content_type; /* or NULL */

	/* Response body of a 2xx answer: to sink, else kept in resp (capped). */
	cairn_s3_sink_fn sink;
	void *sink_ctx;
	size_t resp_max;
	const cairn_s3_transfer *t;
	const atomic_bool *stop; /* ends this call like the client's cancel flag; may be NULL */
	bool ignore_cancel;      /* an abort that must go out after a cancellation */

	/* Answer. */
	long status;
	char etag[S3_ETAG_MAX];
	char checksum_sha256[64];
	uint64_t content_length;
	bool has_length;
	char *resp;
	size_t resp_len;
} s3_call;

#define S3_CALL_INIT {.fd = -1}

/* Sends the call, retrying 5xx, 429 and connection failures with backoff.
 * CAIRN_OK when the last answer is 2xx; CAIRN_ENOTFOUND on 404;
 * CAIRN_ESTATE when cancelled; otherwise an error naming the store's code
 * and message.  A GET to a sink that fails part-way resumes with Range. */
int s3_perform(cairn_s3 *s3, s3_call *c);

/* Frees the response buffer. */
void s3_call_reset(s3_call *c);

/* true when the client's cancel flag is set. */
bool s3_cancelled(const cairn_s3 *s3);

/* MD5 and SHA-256 of one body, in the forms the requests need. */
typedef struct s3_digest {
	struct evp_md_ctx_st *md5;
	struct evp_md_ctx_st *sha;
	uint8_t md5_raw[16];
	uint8_t sha_raw[32];
	char md5_hex[33];
	char sha_hex[65];
	char md5_b64[25];
	char sha_b64[45];
} s3_digest;

int s3_digest_init(s3_digest *d);
void s3_digest_update(s3_digest *d, const void *data, size_t len);
void s3_digest_final(s3_digest *d);
void s3_digest_free(s3_digest *d);
/* Hashes length bytes of fd at offset (init, update, final and free). */
int s3_digest_file(s3_digest *d, int fd, uint64_t offset, uint64_t length, const char *what);

/* CAIRN_EINVALID unless 1 to 1024 bytes. */
int s3_check_key(const char *op, const char *key);

/* Performs c as a PUT of the bytes `d` digested: Content-MD5, the signed
 * SHA-256 and, when the client sends checksums, x-amz-checksum-sha256;
 * then the store's echo (x-amz-checksum-sha256, else the ETag) must equal
 * what was sent.  The caller fills the rest of c and resets it after. */
int s3_put_digested(cairn_s3 *s3, s3_call *c, const s3_digest *d);

/* Uploads size bytes of fd in one PUT (s3_object.c) or in parts
 * (s3_multipart.c). */
int s3_put_single(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, int fd, uint64_t size,
	const cairn_s3_transfer *t);
int s3_put_multipart(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, int fd, uint64_t size,
	const cairn_s3_transfer *t);

/* XML readers (s3_xml.c).  Each takes a response body. */
/* <Error><Code>..</Code><Message>..</Message></Error>: 0 when found. */
int s3_xml_error(char **out_code, char **out_message, const char *xml, size_t len);
/* <InitiateMultipartUploadResult><UploadId>. */
int s3_xml_upload_id(char **out, const char *xml, size_t len);
/* <CompleteMultipartUploadResult><ETag>, and its <ChecksumSHA256> into
 * *out_checksum (NULL when absent). */
int s3_xml_complete(char **out_etag, char **out_checksum, const char *xml, size_t len);
/* ListMultipartUploads: calls fn for each <Upload> with its key, upload id
 * and <Initiated> time (seconds since 1970, 0 when unreadable); the next
 * page's markers when IsTruncated, else NULL. */
typedef int (*s3_upload_fn)(void *ctx, const char *key, const char *upload_id, int64_t initiated);
int s3_xml_uploads(char **out_next_key, char **out_next_id, const char *xml, size_t len, s3_upload_fn fn,
	void *ctx);
/* ListObjectsV2: calls fn for each Contents and CommonPrefixes in document
 * order; *out_next is the NextContinuationToken when IsTruncated, else
 * NULL. */
int s3_xml_list(char **out_next, const char *xml, size_t len, cairn_s3_list_fn fn, void *ctx);

#endif
