/*
 * sigv4.h: AWS Signature Version 4, as pure functions over a described
 * request (no I/O, no clock), so that each step can be checked against the
 * published test-suite vectors.
 *
 * The request is described unencoded: the path as raw bytes ("/bucket/a b"),
 * query parameters as raw name/value pairs.  cairn_sigv4_uri_encode() gives
 * the bytes to put on the wire, and the canonical request uses the same
 * encoding, so what is signed is exactly what is sent.  Paths are encoded
 * once and not normalised (S3's rule; a key may hold "//" or "..").
 */
#ifndef CAIRN_REMOTE_SIGV4_H
#define CAIRN_REMOTE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct cairn_sigv4_pair {
	const char *name;
	const char *value;
} cairn_sigv4_pair;

typedef struct cairn_sigv4_request {
	const char *method;                /* "GET" */
	const char *path;                  /* raw, starts with '/' */
	const cairn_sigv4_pair *query;     /* raw names and values (value "" for "?uploads") */
	size_t n_query;
	const cairn_sigv4_pair *headers;   /* the headers to sign, any case, in sending order */
	size_t n_headers;
	const char *payload_hash;          /* lowercase hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
} cairn_sigv4_request;

typedef struct cairn_sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *region;   /* "us-east-1" */
	const char *service;  /* "s3" */
} cairn_sigv4_credentials;

/* Percent-encodes `s` as SigV4 requires: A-Z a-z 0-9 - . _ ~ stay, every
 * other byte becomes %XX (uppercase); '/' stays when keep_slash.  *out is
 * malloc'd. */
int cairn_sigv4_uri_encode(char **out, const char *s, bool keep_slash);

/* "a=1&b=2": names and values encoded, sorted by name then value. */
int cairn_sigv4_canonical_query(char **out, const cairn_sigv4_pair *query, size_t n);

/* The canonical request, and the semicolon-separated list of signed header
 * names ("host;x-amz-date").  Header names are lowercased, values trimmed
 * with inner runs of spaces folded to one and a folded continuation line
 * joined; repeated names join their values with ',' in sending order. */
int cairn_sigv4_canonical_request(char **out_creq, char **out_signed_headers, const cairn_sigv4_request *req);

/* "20150830/us-east-1/service/aws4_request" from an amz_date
 * ("20150830T123600Z"). */
int cairn_sigv4_scope(char **out, const char *amz_date, const char *region, const char *service);

/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of creq>". */
int cairn_sigv4_string_to_sign(char **out, const char *amz_date, const char *scope, const char *creq);

/* HMAC chain: "AWS4"+secret, date (yyyymmdd), region, service,
 * "aws4_request". */
void cairn_sigv4_signing_key(uint8_t out[32], const char *secret, const char *date8, const char *region,
	const char *service);

/* Lowercase hex HMAC-SHA256 of string_to_sign under the signing key. */
void cairn_sigv4_signature(char out[65], const uint8_t key[32], const char *string_to_sign);

/* The whole Authorization header value:
 * "AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=..., Signature=...".
 * The caller puts x-amz-date (== amz_date) and host among req->headers. */
int cairn_sigv4_authorization(char **out, const cairn_sigv4_request *req, const cairn_sigv4_credentials *cred,
	const char *amz_date);

/* Lowercase hex SHA-256 of a buffer. */
void cairn_sigv4_sha256_hex(char out[65], const void *data, size_t len);

#endif
