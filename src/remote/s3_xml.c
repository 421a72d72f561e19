/*
 * s3_xml.c: reads the S3 XML answers the client needs (errors,
 * InitiateMultipartUpload, CompleteMultipartUpload, ListObjectsV2) with
 * libxml2.
 *
 * Elements are matched by local name, ignoring the namespace (S3 puts
 * everything in http://s3.amazonaws.com/doc/2006-03-01/, s3rver and some
 * other stores put nothing).  The parser never loads external entities or
 * DTDs (XML_PARSE_NONET, no XML_PARSE_NOENT), so a hostile store cannot
 * make it read files or reach the network.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote/s3_internal.h"
#include "util/error.h"

static xmlDocPtr parse(const char *xml, size_t len)
{
	if (!xml || len == 0 || len > INT32_MAX)
		return NULL;
	return xmlReadMemory(xml, (int)len, "s3.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static bool named(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
		if (named(n, name))
			return n;
	return NULL;
}

/* The text of a child element, malloc'd ("" when empty); NULL when absent
 * or out of memory. */
static char *child_text(const xmlNode *parent, const char *name)
{
	const xmlNode *n = child(parent, name);
	if (!n)
		return NULL;
	xmlChar *s = xmlNodeGetContent(n);
	char *out = strdup(s ? (const char *)s : "");
	xmlFree(s);
	return out;
}

int s3_xml_error(char **out_code, char **out_message, const char *xml, size_t len)
{
	xmlDocPtr doc = parse(xml, len);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	int rc = CAIRN_ENOTFOUND;
	if (named(root, "Error")) {
		char *code = child_text(root, "Code");
		char *message = child_text(root, "Message");
		if (code) {
			*out_code = code;
			*out_message = message ? message : strdup("");
			rc = *out_message ? CAIRN_OK : CAIRN_ENOMEM;
			if (rc != CAIRN_OK)
				free(code);
		} else {
			free(message);
		}
	}
	xmlFreeDoc(doc);
	return rc;
}

static int root_child(char **out, const char *xml, size_t len, const char *root_name, const char *name)
{
	xmlDocPtr doc = parse(xml, len);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *v = named(root, root_name) ? child_text(root, name) : NULL;
	xmlFreeDoc(doc);
	if (!v || !v[0]) {
		free(v);
		return cairn_error_set(CAIRN_EINVALID, "the store's answer has no %s/%s", root_name, name);
	}
	*out = v;
	return CAIRN_OK;
}

int s3_xml_upload_id(char **out, const char *xml, size_t len)
{
	return root_child(out, xml, len, "InitiateMultipartUploadResult", "UploadId");
}

int s3_xml_complete(char **out_etag, char **out_checksum, const char *xml, size_t len)
{
	int rc = root_child(out_etag, xml, len, "CompleteMultipartUploadResult", "ETag");
	*out_checksum = NULL;
	if (rc == CAIRN_OK && root_child(out_checksum, xml, len, "CompleteMultipartUploadResult", "ChecksumSHA256") !=
		CAIRN_OK) {
		*out_checksum = NULL;
		cairn_error_clear();
	}
	return rc;
}

static int64_t parse_time(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	return end ? (int64_t)timegm(&tm) : 0;
}

int s3_xml_uploads(char **out_next_key, char **out_next_id, const char *xml, size_t len, s3_upload_fn fn,
	void *ctx)
{
	*out_next_key = *out_next_id = NULL;
	xmlDocPtr doc = parse(xml, len);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!named(root, "ListMultipartUploadsResult")) {
		xmlFreeDoc(doc);
		return cairn_error_set(CAIRN_EINVALID, "the store's upload list is not a ListMultipartUploadsResult");
	}
	int rc = CAIRN_OK;
	for (const xmlNode *c = root->children; c && rc == CAIRN_OK; c = c->next) {
		if (!named(c, "Upload"))
			continue;
		char *key = child_text(c, "Key"), *id = child_text(c, "UploadId"), *when = child_text(c, "Initiated");
		if (!key || !id || !id[0])
			rc = cairn_error_set(CAIRN_EINVALID, "the store's upload list has an upload without a key or id");
		else
			rc = fn(ctx, key, id, parse_time(when));
		free(key);
		free(id);
		free(when);
	}
	char *truncated = rc == CAIRN_OK ? child_text(root, "IsTruncated") : NULL;
	if (truncated && strcmp(truncated, "true") == 0) {
		*out_next_key = child_text(root, "NextKeyMarker");
		*out_next_id = child_text(root, "NextUploadIdMarker");
		if (!*out_next_key || !(*out_next_key)[0]) {
			free(*out_next_key);
			free(*out_next_id);
			*out_next_key = *out_next_id = NULL;
			rc = cairn_error_set(CAIRN_EINVALID, "the store's upload list is truncated without a next key marker");
		}
	}
	free(truncated);
	xmlFreeDoc(doc);
	return rc;
}

typedef struct list_entry {
	char *key;
	uint64_t size;
	bool is_prefix;
} list_entry;

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const list_entry *)a)->key, ((const list_entry *)b)->key);
}

int s3_xml_list(char **out_next, const char *xml, size_t len, cairn_s3_list_fn fn, void *ctx)
{
	*out_next = NULL;
	xmlDocPtr doc = parse(xml, len);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!named(root, "ListBucketResult")) {
		xmlFreeDoc(doc);
		return cairn_error_set(CAIRN_EINVALID, "the store's listing is not a ListBucketResult");
	}
	size_t n = 0, cap = 0;
	list_entry *v = NULL;
	int rc = CAIRN_OK;
	for (const xmlNode *c = root->children; c && rc == CAIRN_OK; c = c->next) {
		bool is_prefix = named(c, "CommonPrefixes");
		if (!is_prefix && !named(c, "Contents"))
			continue;
		char *key = child_text(c, is_prefix ? "Prefix" : "Key");
		char *size = is_prefix ? NULL : child_text(c, "Size");
		char *end = NULL;
		unsigned long long sz = size ? strtoull(size, &end, 10) : 0;
		if (!key || (!is_prefix && (!size || !end || *end || !size[0]))) {
			rc = cairn_error_set(CAIRN_EINVALID, "the store's listing has an entry without %s",
				key ? "a size" : "a key");
		} else if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			list_entry *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				rc = cairn_error_set(CAIRN_ENOMEM, "listing: out of memory");
			} else {
				v = nv;
				cap = ncap;
			}
		}
		if (rc == CAIRN_OK) {
			v[n++] = (list_entry){key, sz, is_prefix};
			key = NULL;
		}
		free(key);
		free(size);
	}
	if (rc == CAIRN_OK) {
		char *truncated = child_text(root, "IsTruncated");
		if (truncated && strcmp(truncated, "true") == 0) {
			*out_next = child_text(root, "NextContinuationToken");
			if (!*out_next || !(*out_next)[0]) {
				free(*out_next);
				*out_next = NULL;
				rc = cairn_error_set(CAIRN_EINVALID, "the store's listing is truncated without a continuation token");
			}
		}
		free(truncated);
	}
	xmlFreeDoc(doc);
	/* Contents and CommonPrefixes come as two sorted runs; callers see one. */
	if (rc == CAIRN_OK && n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		if (rc == CAIRN_OK)
			rc = fn(ctx, v[i].key, v[i].size, v[i].is_prefix);
		free(v[i].key);
	}
	free(v);
	if (rc != CAIRN_OK) {
		free(*out_next);
		*out_next = NULL;
	}
	return rc;
}
