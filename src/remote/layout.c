/*
 * layout.c: keys and the remote manifest (catalog.h).
 *
 * The remote manifest, format version 1, one JSON object:
 *   format, formatVersion   "cairn-remote-backup", 1
 *   id, chainwebVersion     the backup's
 *   completedAt             UNIX ms the local backup was sealed
 *   uploadedAt              UNIX ms this manifest was written
 *   pactIncluded, cutHeight the local manifest's (for listing)
 *   bytes                   the sum of the objects' sizes
 *   objects                 [{"path", "key", "size", "sha256"}], one per file
 *   backup                  the local manifest.json (docs/backups.md), whole
 * Embedding the local manifest keeps one description of a backup's cut,
 * versions and timings: a restore writes it back beside the downloaded
 * files and the existing verify and restore read it as they always do.
 */
#include "remote/catalog.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/error.h"
#include "util/json_read.h"

#define FORMAT_NAME "cairn-remote-backup"

int cairn_remote_key(char *out, size_t size, const char *prefix, const char *relative)
{
	int n = prefix[0] ? snprintf(out, size, "%s/%s", prefix, relative) : snprintf(out, size, "%s", relative);
	if (n < 0 || (size_t)n >= size)
		return cairn_error_set(CAIRN_EINVALID, "object key too long: '%s/%s'", prefix, relative);
	return CAIRN_OK;
}

static int fit(int n, size_t size)
{
	return n >= 0 && (size_t)n < size ? CAIRN_OK : cairn_error_set(CAIRN_EINVALID, "object key too long");
}

int cairn_remote_object_key(char *out, size_t size, const char *sha256)
{
	return fit(snprintf(out, size, "objects/sha256/%.2s/%s", sha256, sha256), size);
}

int cairn_remote_file_key(char *out, size_t size, const char *id, const char *path)
{
	return fit(snprintf(out, size, "backups/%s/files/%s", id, path), size);
}

int cairn_remote_manifest_key(char *out, size_t size, const char *id)
{
	return fit(snprintf(out, size, "backups/%s/manifest.json", id), size);
}

int cairn_remote_marker_key(char *out, size_t size, const char *id)
{
	return fit(snprintf(out, size, "uploads/%s", id), size);
}

bool cairn_remote_path_is_valid(const char *path)
{
	const char *name = strncmp(path, "0/rocksDb/", 10) == 0 ? path + 10
		: strncmp(path, "0/sqlite/", 9) == 0 ? path + 9 : NULL;
	return name != NULL && name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
		strcmp(name, "..") != 0 && strlen(path) < 256;
}

bool cairn_remote_id_is_valid(const char *id)
{
	size_t len = strlen(id);
	return len > 0 && len <= CAIRN_REMOTE_ID_MAX &&
		strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

int cairn_remote_manifest_add(cairn_remote_manifest *m, const char *path, const char *key, uint64_t size,
	const char *sha256)
{
	int rc = cairn_array_reserve(&m->objects, &m->capacity, m->count, sizeof(*m->objects), 64, "remote manifest");
	if (rc != CAIRN_OK)
		return rc;
	cairn_remote_object *o = &m->objects[m->count];
	o->path = strdup(path);
	o->key = strdup(key);
	if (o->path == NULL || o->key == NULL) {
		free(o->path);
		free(o->key);
		return cairn_error_set(CAIRN_ENOMEM, "remote manifest: out of memory");
	}
	o->size = size;
	snprintf(o->sha256, sizeof(o->sha256), "%s", sha256);
	m->count++;
	return CAIRN_OK;
}

void cairn_remote_manifest_free(cairn_remote_manifest *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->objects[i].path);
		free(m->objects[i].key);
	}
	free(m->objects);
	free(m->backup_manifest);
	memset(m, 0, sizeof(*m));
}

uint64_t cairn_remote_manifest_bytes(const cairn_remote_manifest *m)
{
	uint64_t total = 0;
	for (size_t i = 0; i < m->count; i++)
		total += m->objects[i].size;
	return total;
}

int cairn_remote_manifest_encode(char **out, size_t *out_len, const cairn_remote_manifest *m)
{
	json_object *root = json_object_new_object();
	json_object *objects = json_object_new_array();
	json_object *backup = m->backup_manifest ? json_tokener_parse(m->backup_manifest) : NULL;
	if (root == NULL || objects == NULL || backup == NULL) {
		json_object_put(root);
		json_object_put(objects);
		json_object_put(backup);
		return cairn_error_set(CAIRN_EINVALID, "remote manifest: the backup's manifest is missing or not JSON");
	}
	json_object_object_add(root, "format", json_object_new_string(FORMAT_NAME));
	json_object_object_add(root, "formatVersion", json_object_new_int(CAIRN_REMOTE_FORMAT));
	json_object_object_add(root, "id", json_object_new_string(m->id));
	json_object_object_add(root, "chainwebVersion", json_object_new_string(m->chainweb_version));
	json_object_object_add(root, "completedAt", json_object_new_uint64(m->completed_at));
	json_object_object_add(root, "uploadedAt", json_object_new_uint64(m->uploaded_at));
	json_object_object_add(root, "pactIncluded", json_object_new_boolean(m->pact_included));
	json_object_object_add(root, "cutHeight", json_object_new_uint64(m->cut_height));
	json_object_object_add(root, "bytes", json_object_new_uint64(cairn_remote_manifest_bytes(m)));
	for (size_t i = 0; i < m->count; i++) {
		const cairn_remote_object *o = &m->objects[i];
		json_object *obj = json_object_new_object();
		json_object_object_add(obj, "path", json_object_new_string(o->path));
		json_object_object_add(obj, "key", json_object_new_string(o->key));
		json_object_object_add(obj, "size", json_object_new_uint64(o->size));
		json_object_object_add(obj, "sha256", json_object_new_string(o->sha256));
		json_object_array_add(objects, obj);
	}
	json_object_object_add(root, "objects", objects);
	json_object_object_add(root, "backup", backup);
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	*out = text ? strdup(text) : NULL;
	json_object_put(root);
	if (*out == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "remote manifest: out of memory");
	*out_len = strlen(*out);
	return CAIRN_OK;
}

/* ---- reading: trust nothing ---- */

static bool is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool is_object_key(const char *key, const char *id, const char *path, const char *sha256)
{
	char expected[CAIRN_REMOTE_KEY_MAX];
	if (cairn_remote_object_key(expected, sizeof(expected), sha256) == CAIRN_OK && strcmp(key, expected) == 0)
		return true;
	return cairn_remote_file_key(expected, sizeof(expected), id, path) == CAIRN_OK && strcmp(key, expected) == 0;
}

static int read_objects(cairn_remote_manifest *m, json_object *root)
{
	json_object *objects = cairn_json_read_member(root, "objects", json_type_array);
	if (objects == NULL)
		return cairn_error_set(CAIRN_EINVALID, "no objects array");
	size_t n = json_object_array_length(objects);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(objects, i);
		json_object *path = cairn_json_read_member(o, "path", json_type_string), *key = cairn_json_read_member(o, "key", json_type_string);
		json_object *sha = cairn_json_read_member(o, "sha256", json_type_string);
		uint64_t size = 0;
		if (path == NULL || key == NULL || sha == NULL || !cairn_json_read_u64(&size, o, "size"))
			return cairn_error_set(CAIRN_EINVALID, "object %zu: path, key, size and sha256 are required", i);
		const char *p = json_object_get_string(path), *k = json_object_get_string(key);
		const char *s = json_object_get_string(sha);
		if (!cairn_remote_path_is_valid(p))
			return cairn_error_set(CAIRN_EINVALID, "object %zu: path '%s' is not inside 0/rocksDb or 0/sqlite", i, p);
		if (!is_hex64(s))
			return cairn_error_set(CAIRN_EINVALID, "object %zu (%s): sha256 is not 64 lowercase hex digits", i, p);
		if (!is_object_key(k, m->id, p, s))
			return cairn_error_set(CAIRN_EINVALID, "object %zu (%s): key '%s' is not one of the layout's", i, p, k);
		for (size_t j = 0; j < m->count; j++)
			if (strcmp(m->objects[j].path, p) == 0)
				return cairn_error_set(CAIRN_EINVALID, "path '%s' is listed twice", p);
		int rc = cairn_remote_manifest_add(m, p, k, size, s);
		if (rc != CAIRN_OK)
			return rc;
	}
	return CAIRN_OK;
}

static int read_identity(cairn_remote_manifest *m, json_object *root)
{
	json_object *format = cairn_json_read_member(root, "format", json_type_string);
	json_object *id = cairn_json_read_member(root, "id", json_type_string);
	json_object *version = cairn_json_read_member(root, "chainwebVersion", json_type_string);
	json_object *pact = cairn_json_read_member(root, "pactIncluded", json_type_boolean);
	json_object *backup = cairn_json_read_member(root, "backup", json_type_object);
	uint64_t format_version = 0;
	if (format == NULL || strcmp(json_object_get_string(format), FORMAT_NAME) != 0 ||
	    !cairn_json_read_u64(&format_version, root, "formatVersion") || format_version != CAIRN_REMOTE_FORMAT)
		return cairn_error_set(CAIRN_EINVALID, "not a cairn remote manifest of format version %d",
			CAIRN_REMOTE_FORMAT);
	if (id == NULL || version == NULL || pact == NULL || backup == NULL || !cairn_json_read_u64(&m->completed_at, root,
	    "completedAt") || !cairn_json_read_u64(&m->uploaded_at, root, "uploadedAt") || !cairn_json_read_u64(&m->cut_height, root,
	    "cutHeight"))
		return cairn_error_set(CAIRN_EINVALID, "id, chainwebVersion, completedAt, uploadedAt, pactIncluded, "
			"cutHeight and backup are required");
	if (!cairn_remote_id_is_valid(json_object_get_string(id)) ||
	    strlen(json_object_get_string(version)) >= sizeof(m->chainweb_version))
		return cairn_error_set(CAIRN_EINVALID, "bad id or chainwebVersion");
	snprintf(m->id, sizeof(m->id), "%s", json_object_get_string(id));
	snprintf(m->chainweb_version, sizeof(m->chainweb_version), "%s", json_object_get_string(version));
	m->pact_included = json_object_get_boolean(pact);
	const char *text = json_object_to_json_string_ext(backup, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if ((m->backup_manifest = text ? strdup(text) : NULL) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "remote manifest: out of memory");
	return CAIRN_OK;
}

int cairn_remote_manifest_decode(cairn_remote_manifest *m, const char *text, size_t len)
{
	memset(m, 0, sizeof(*m));
	if (len > INT32_MAX)
		return cairn_error_set(CAIRN_EINVALID, "remote manifest: too large");
	json_tokener *tok = json_tokener_new();
	json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	int rc = CAIRN_OK;
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(root, json_type_object))
		rc = cairn_error_set(CAIRN_EINVALID, "not a JSON object");
	if (rc == CAIRN_OK)
		rc = read_identity(m, root);
	if (rc == CAIRN_OK)
		rc = read_objects(m, root);
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	if (rc != CAIRN_OK) {
		cairn_remote_manifest_free(m);
		return cairn_error_prefix(rc, "remote manifest");
	}
	return CAIRN_OK;
}

int cairn_remote_manifest_fetch(cairn_remote_manifest *m, cairn_s3 *s3, const char *prefix, const char *id)
{
	char rel[CAIRN_REMOTE_KEY_MAX], key[CAIRN_REMOTE_KEY_MAX];
	char *text = NULL;
	size_t len = 0;
	memset(m, 0, sizeof(*m));
	if (!cairn_remote_id_is_valid(id))
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a backup id ([A-Za-z0-9_-]{1,64})", id);
	int rc = cairn_remote_manifest_key(rel, sizeof(rel), id);
	if (rc == CAIRN_OK)
		rc = cairn_remote_key(key, sizeof(key), prefix, rel);
	if (rc == CAIRN_OK)
		rc = cairn_s3_get_buffer(&text, &len, s3, key, CAIRN_REMOTE_MANIFEST_MAX);
	if (rc == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_ENOTFOUND, "no complete backup %s in the store (no %s)", id, key);
	if (rc == CAIRN_OK)
		rc = cairn_remote_manifest_decode(m, text, len);
	free(text);
	if (rc == CAIRN_OK && strcmp(m->id, id) != 0) {
		rc = cairn_error_set(CAIRN_EINVALID, "%s names backup %s", key, m->id);
		cairn_remote_manifest_free(m);
	}
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "backup %s", id);
}
