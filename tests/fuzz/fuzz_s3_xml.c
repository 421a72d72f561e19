/*
 * fuzz_s3_xml.c: libFuzzer target for the S3 client's readers of what a
 * store answers (errors, ListObjectsV2, ListMultipartUploads,
 * InitiateMultipartUpload, CompleteMultipartUpload): a store is not
 * trusted.  Properties: no crash, leak or read out of bounds; every
 * listing's entries reach the callback with a key, in non-decreasing
 * order; every failure is CAIRN_EINVALID (or CAIRN_ENOTFOUND for "not an
 * error document") with a reason.
 */
#include <stdlib.h>
#include <string.h>

#include "remote/s3_internal.h"
#include "util/error.h"

typedef struct order {
	char *last;
} order;

static int check_entry(void *ctx, const char *key, uint64_t size, bool is_prefix)
{
	order *o = ctx;
	if (!key || (is_prefix && size != 0))
		abort();
	if (o->last && strcmp(o->last, key) > 0)
		abort();
	free(o->last);
	o->last = strdup(key);
	return 0;
}

static int check_upload(void *ctx, const char *key, const char *upload_id, int64_t initiated)
{
	(void)ctx, (void)initiated;
	if (!key || !upload_id || !upload_id[0])
		abort();
	return 0;
}

static void check_failure(int rc)
{
	if (rc != CAIRN_OK && (rc != CAIRN_EINVALID || cairn_error_last()[0] == '\0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	char *a = NULL, *b = NULL;
	int rc = s3_xml_error(&a, &b, xml, size);
	if (rc == CAIRN_OK && (!a || !b))
		abort();
	if (rc != CAIRN_OK && rc != CAIRN_ENOTFOUND && rc != CAIRN_ENOMEM)
		abort();
	free(a);
	free(b);
	order o = {NULL};
	char *next = NULL;
	rc = s3_xml_list(&next, xml, size, check_entry, &o);
	check_failure(rc);
	if (rc != CAIRN_OK && next)
		abort();
	free(next);
	free(o.last);
	a = b = NULL;
	rc = s3_xml_uploads(&a, &b, xml, size, check_upload, NULL);
	check_failure(rc);
	free(a);
	free(b);
	a = NULL;
	check_failure(s3_xml_upload_id(&a, xml, size));
	free(a);
	a = b = NULL;
	check_failure(s3_xml_complete(&a, &b, xml, size));
	free(a);
	free(b);
	return 0;
}
