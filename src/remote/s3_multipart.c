/*
 * s3_multipart.c: multipart uploads.
 */
#include "remote/s3_internal.h"

int s3_put_multipart(char out_sha256[CAIRN_S3_SHA256_HEX], cairn_s3 *s3, const char *key, int fd, uint64_t size,
	const cairn_s3_transfer *t)
{
	return s3_put_single(out_sha256, s3, key, fd, size, t);
}
