/*
 * s3.h: a client for S3-compatible object stores (AWS S3, MinIO, Ceph RGW,
 * Garage, R2, s3rver), over HTTP with libcurl, requests signed with AWS
 * Signature Version 4 (sigv4.h).
 *
 * One cairn_s3 names one bucket at one endpoint with one set of
 * credentials.  It is safe to use from many threads at once: every call
 * uses its own libcurl handle, and the rate limit is shared by all of them.
 *
 * Guarantees every call keeps:
 *   - Retries: 5xx, 429 and connection failures are retried with
 *     exponential backoff and jitter, up to max_attempts tries; a 4xx
 *     other than 429 is never retried (a wrong secret fails at once with
 *     the store's own code and message: "SignatureDoesNotMatch: ...").
 *   - Checked transfers: every PUT sends Content-MD5 and the store's ETag
 *     (or x-amz-checksum-sha256 where echoed) is compared with it; a part
 *     or object whose echo differs is an error, never a success.
 *   - Multipart above part_size, parts uploaded in parallel; a multipart
 *     upload that fails is aborted before the call returns.
 *   - Cancellation: a set `cancel` flag ends a transfer within one
 *     buffer; the call then returns CAIRN_ESTATE.
 * Errors name the key and the reason, through cairn_error_last().
 */
#ifndef CAIRN_REMOTE_S3_H
#define CAIRN_REMOTE_S3_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_S3_SHA256_HEX 65 /* 64 lowercase hex digits and a NUL */

typedef struct cairn_s3_options {
	const char *endpoint;  /* "http://127.0.0.1:9000"; NULL: AWS, https://s3.<region>.amazonaws.com */
	const char *region;    /* "us-east-1" when NULL */
	const char *bucket;    /* required */
	bool path_style;       /* http://host/bucket/key; else http://bucket.host/key (AWS's default) */
	const char *access_key_id;     /* required */
	const char *secret_access_key; /* required */
	const char *session_token;     /* NULL: none */
	uint64_t part_size;    /* multipart above this many bytes; 0: 64 MiB */
	int parallelism;       /* parts (and, for callers, objects) in flight; 0: 4 */
	uint64_t rate_limit_bps; /* bytes per second over all transfers of this client; 0: none */
	int max_attempts;      /* tries per request; 0: 5 */
	const atomic_bool *cancel; /* NULL: never cancelled */
	int list_page_size;    /* keys per ListObjectsV2 page (max-keys); 0: 1000 */
	unsigned retry_base_ms; /* first backoff before a retry, doubling each try; 0: 200 */
	bool checksum_sha256;  /* also send x-amz-checksum-sha256 (AWS, MinIO check it and echo it;
				  needed where ETags are not MD5s, as with SSE-KMS) */
} cairn_s3_options;

#define CAIRN_S3_OPTIONS_INIT {NULL, NULL, NULL, false, NULL, NULL, NULL, 0, 0, 0, 0, NULL, 0, 0, false}

typedef struct cairn_s3 cairn_s3;

/* Checks the options (names what is missing) and copies every string. */
int cairn_s3_create(cairn_s3 **out, const cairn_s3_options *opts);
void cairn_s3_free(cairn_s3 *s3);

/* "s3://bucket/some/prefix" -> bucket "bucket", prefix "some/prefix" (no
 * leading or trailing '/'; "" when none).  Release both with free().
 * CAIRN_EINVALID with the reason for anything else. */
int cairn_s3_url_parse(char **out_bucket, char **out_prefix, const char *url);

/* Called as bytes move (delta since the last call), from any thread. */
typedef void (*cairn_s3_progress_fn)(void *ctx, uint64_t bytes);

typedef struct cairn_s3_transfer {
	cairn_s3_progress_fn on_progress; /* NULL: none */
	void *ctx;
} cairn_s3_transfer;

#define CAIRN_S3_TRANSFER_INIT {NULL, NULL}

/* Uploads the file at `path` to `key` (multipart above part_size), and
 * writes the SHA-256 of the bytes sent into out_sha256 (may be NULL). */
int cairn_s3_put_file(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, const char *path,
	const cairn_s3_transfer *t);

/* Uploads `len` bytes from memory to `key` in one PUT. */
int cairn_s3_put_buffer(cairn_s3 *s3, const char *key, const void *data, size_t len);

/* Size of `key`; CAIRN_ENOTFOUND when there is no such object. */
int cairn_s3_head(uint64_t *out_size, cairn_s3 *s3, const char *key);

/* Receives an object's bytes in order; a non-zero return ends the
 * transfer with that code. */
typedef int (*cairn_s3_sink_fn)(void *ctx, const void *data, size_t len);

/* Streams `key` to `sink`.  CAIRN_ENOTFOUND when there is no such object.
 * A retried GET resumes with a Range request, never delivering a byte twice. */
int cairn_s3_get(cairn_s3 *s3, const char *key, cairn_s3_sink_fn sink, void *ctx, const cairn_s3_transfer *t);

/* Downloads `key` into the new file `path` (fsynced), writing the SHA-256
 * of its bytes into out_sha256 (may be NULL). */
int cairn_s3_get_file(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, const char *path,
	const cairn_s3_transfer *t);

/* Reads a whole object of at most `max` bytes into a malloc'd, NUL-terminated
 * buffer (*out_len excludes the NUL).  CAIRN_ENOTFOUND when absent,
 * CAIRN_EINVALID when larger than max. */
int cairn_s3_get_buffer(char **out, size_t *out_len, cairn_s3 *s3, const char *key, size_t max);

/* One entry of a listing: an object (size set) or, with a delimiter, a
 * common prefix (is_prefix, size 0).  A non-zero return stops the listing
 * and is returned. */
typedef int (*cairn_s3_list_fn)(void *ctx, const char *key, uint64_t size, bool is_prefix);

/* Lists keys under `prefix` in key order, following continuation tokens
 * (ListObjectsV2).  delimiter NULL: every key below. */
int cairn_s3_list(cairn_s3 *s3, const char *prefix, const char *delimiter, cairn_s3_list_fn fn, void *ctx);

/* Deletes `key`; deleting an absent key succeeds. */
int cairn_s3_delete(cairn_s3 *s3, const char *key);

/* Aborts the multipart uploads under `prefix` that began more than
 * older_than_seconds ago, and counts them in *out_aborted.  A failed upload
 * aborts its own; this clears what a crash or a kill left behind (the
 * store keeps, and bills, the parts of an upload until it is aborted). */
int cairn_s3_abort_stale_uploads(uint64_t *out_aborted, cairn_s3 *s3, const char *prefix,
	uint64_t older_than_seconds);

#endif
