/*
 * manifest.c: manifest.json of a finished backup (manifest.h).
 *
 * Format version 1, one JSON object:
 *
 *   format, formatVersion   "cairn-backup", 1
 *   id, chainwebVersion     the backup id; the version the ChainDB records
 *   completedAt             UNIX milliseconds when the manifest was written
 *   pactIncluded            whether 0/sqlite holds every chain's Pact state
 *   cut                     {"hashes": {"<chain>": {"height": H, "hash": B64}},
 *                            "height": sum of H}, as the same fields of GET /cut
 *   versions                {"cairn", "rocksdb", "sqlite"}
 *   files                   [{"path", "size", "sha256"}] in the order written;
 *                           a linked RocksDB table file has "linked": true
 *                           and no sha256 (docs/backups.md explains why)
 *   bytes                   {"total", "rocksDb", "sqlite", "written", "linked"}
 *   parallelism             Pact files copied at once
 *   timings                 {"<step>Ms": milliseconds}, see cairn_backup_timings
 *
 * Sizes and counts are exact unsigned 64-bit JSON numbers (json-c); hashes
 * are base64url as everywhere in Chainweb's JSON, checksums lowercase hex
 * as sha256sum prints them.
 *
 * Reading (verify, restore, list, download) trusts nothing in the file: a
 * path must name a plain file directly inside 0/rocksDb or 0/sqlite (no
 * NUL, no "." or ".."), so a restore driven by a manifest can never write
 * outside its target directory; manifest.json itself must be a regular
 * file, never followed through a symbolic link.
 */
#include "backup/manifest.h"
#include "remote/catalog.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/base64url.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json_read.h"

int cairn_backup__manifest_add(cairn_backup_manifest *m, const char *path, uint64_t size,
	const char *sha256, bool linked)
{
	int rc = cairn_array_reserve(&m->files, &m->file_capacity, m->file_count, sizeof(*m->files), 64, "manifest");
	if (rc != CAIRN_OK)
		return rc;
	cairn_backup_manifest_file *f = &m->files[m->file_count];
	if ((f->path = strdup(path)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "manifest: out of memory");
	f->size = size;
	f->linked = linked;
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha256 ? sha256 : "");
	m->file_count++;
	return CAIRN_OK;
}

void cairn_backup__manifest_free(cairn_backup_manifest *m)
{
	free(m->owned_strings);
	m->owned_strings = NULL;
	for (size_t i = 0; i < m->file_count; i++)
		free(m->files[i].path);
	free(m->files);
	m->files = NULL;
	m->file_count = m->file_capacity = 0;
}

static void add(json_object *obj, const char *key, json_object *value)
{
	json_object_object_add(obj, key, value);
}

uint64_t cairn_backup__cut_height(const cairn_chaindb_cut *cut)
{
	uint64_t height = 0;
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++)
		height += cut->present[c] ? cut->height[c] : 0;
	return height;
}

uint64_t cairn_backup__manifest_bytes(const cairn_backup_manifest *m)
{
	uint64_t total = 0;
	for (size_t i = 0; i < m->file_count; i++)
		total += m->files[i].size;
	return total;
}

static json_object *cut_json(const cairn_chaindb_cut *cut)
{
	json_object *hashes = json_object_new_object();
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		if (!cut->present[c])
			continue;
		char chain[16], hash[64];
		snprintf(chain, sizeof(chain), "%u", c);
		cairn_base64url_encode(hash, cut->hash[c], CAIRN_CHAINDB_HASH_LEN);
		json_object *entry = json_object_new_object();
		add(entry, "height", json_object_new_uint64(cut->height[c]));
		add(entry, "hash", json_object_new_string(hash));
		add(hashes, chain, entry);
	}
	json_object *obj = json_object_new_object();
	add(obj, "hashes", hashes);
	add(obj, "height", json_object_new_uint64(cairn_backup__cut_height(cut)));
	return obj;
}

static bool is_sqlite(const cairn_backup_manifest_file *f)
{
	return strncmp(f->path, "0/sqlite/", 9) == 0;
}

static json_object *files_json(const cairn_backup_manifest *m, json_object *bytes)
{
	json_object *files = json_object_new_array();
	uint64_t total = 0, sqlite = 0, linked = 0;
	for (size_t i = 0; i < m->file_count; i++) {
		const cairn_backup_manifest_file *f = &m->files[i];
		json_object *entry = json_object_new_object();
		add(entry, "path", json_object_new_string(f->path));
		add(entry, "size", json_object_new_uint64(f->size));
		if (f->linked)
			add(entry, "linked", json_object_new_boolean(1));
		else
			add(entry, "sha256", json_object_new_string(f->sha256));
		json_object_array_add(files, entry);
		total += f->size;
		sqlite += is_sqlite(f) ? f->size : 0;
		linked += f->linked ? f->size : 0;
	}
	add(bytes, "total", json_object_new_uint64(total));
	add(bytes, "rocksDb", json_object_new_uint64(total - sqlite));
	add(bytes, "sqlite", json_object_new_uint64(sqlite));
	add(bytes, "written", json_object_new_uint64(total - linked));
	add(bytes, "linked", json_object_new_uint64(linked));
	return files;
}

static json_object *milliseconds(double seconds)
{
	char text[32];
	snprintf(text, sizeof(text), "%.3f", seconds * 1000.0);
	return json_object_new_double_s(seconds * 1000.0, text);
}

static json_object *timings_json(const cairn_backup_timings *t)
{
	json_object *obj = json_object_new_object();
	add(obj, "flushMs", milliseconds(t->flush));
	add(obj, "checkpointMs", milliseconds(t->checkpoint));
	add(obj, "cutMs", milliseconds(t->cut));
	add(obj, "lockWaitMs", milliseconds(t->lock_wait));
	add(obj, "lockHoldMs", milliseconds(t->lock_hold));
	add(obj, "rocksDbFilesMs", milliseconds(t->rocksdb_files));
	add(obj, "pactCopyMs", milliseconds(t->pact_copy));
	add(obj, "totalMs", milliseconds(t->total));
	return obj;
}

static json_object *versions_json(const cairn_backup_manifest *m)
{
	json_object *obj = json_object_new_object();
	add(obj, "cairn", json_object_new_string(CAIRN_VERSION));
	add(obj, "rocksdb", m->rocksdb_version[0] ? json_object_new_string(m->rocksdb_version) : NULL);
	add(obj, "sqlite", json_object_new_string(sqlite3_libversion()));
	return obj;
}

static uint64_t unix_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

int cairn_backup__manifest_write(const cairn_backup_manifest *m, const char *path)
{
	json_object *root = json_object_new_object();
	json_object *bytes = json_object_new_object();
	add(root, "format", json_object_new_string("cairn-backup"));
	add(root, "formatVersion", json_object_new_int(CAIRN_BACKUP_MANIFEST_FORMAT));
	add(root, "id", json_object_new_string(m->id));
	add(root, "chainwebVersion", json_object_new_string(m->chainweb_version));
	add(root, "completedAt", json_object_new_uint64(unix_ms()));
	add(root, "pactIncluded", json_object_new_boolean(m->pact_included));
	add(root, "cut", cut_json(&m->cut));
	add(root, "versions", versions_json(m));
	add(root, "files", files_json(m, bytes));
	add(root, "bytes", bytes);
	add(root, "parallelism", json_object_new_int(m->parallelism));
	add(root, "timings", timings_json(&m->timings));
	size_t len = 0;
	const char *text = json_object_to_json_string_length(root,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	int rc = text == NULL ? cairn_error_set(CAIRN_ENOMEM, "manifest: out of memory")
		: cairn_fs_write_atomic(path, text, len);
	json_object_put(root);
	return rc;
}

/* ---- reading ---- */

static int read_cut(cairn_chaindb_cut *cut, json_object *root)
{
	json_object *obj = cairn_json_read_member(root, "cut", json_type_object);
	json_object *hashes = obj ? cairn_json_read_member(obj, "hashes", json_type_object) : NULL;
	if (hashes == NULL)
		return cairn_error_set(CAIRN_EINVALID, "no cut");
	memset(cut, 0, sizeof(*cut));
	json_object_object_foreach(hashes, key, entry) {
		char *end;
		unsigned long chain = strtoul(key, &end, 10);
		json_object *hash = cairn_json_read_member(entry, "hash", json_type_string);
		bool canonical = key[0] >= '0' && key[0] <= '9' && (key[0] != '0' || key[1] == '\0');
		if (!canonical || *end != '\0' || chain >= CAIRN_CHAINDB_MAX_CHAINS || hash == NULL ||
		    !cairn_json_read_u64(&cut->height[chain], entry, "height") ||
		    cairn_base64url_decode_exact(cut->hash[chain], CAIRN_CHAINDB_HASH_LEN, json_object_get_string(hash),
			(size_t)json_object_get_string_len(hash)) != CAIRN_OK)
			return cairn_error_set(CAIRN_EINVALID, "cut: bad entry for chain '%s'", key);
		cut->present[chain] = true;
	}
	return CAIRN_OK;
}

static bool is_sha256_hex(const char *text)
{
	return strlen(text) == CAIRN_BACKUP_SHA256_HEX - 1 && strspn(text, "0123456789abcdef") == strlen(text);
}

static int read_file_entry(cairn_backup_manifest *m, json_object *entry, size_t index)
{
	json_object *path = cairn_json_read_member(entry, "path", json_type_string);
	json_object *sha256 = cairn_json_read_member(entry, "sha256", json_type_string);
	json_object *linked = cairn_json_read_member(entry, "linked", json_type_boolean);
	uint64_t size;
	bool is_linked = linked != NULL && json_object_get_boolean(linked);
	if (path == NULL || !cairn_remote_path_is_valid(json_object_get_string(path)) || !cairn_json_read_u64(&size, entry, "size"))
		return cairn_error_set(CAIRN_EINVALID, "files[%zu]: a path inside 0/rocksDb or 0/sqlite and a size "
			"are required", index);
	if (is_linked == (sha256 != NULL) || (sha256 != NULL && !is_sha256_hex(json_object_get_string(sha256))))
		return cairn_error_set(CAIRN_EINVALID, "files[%zu] (%s): either a SHA-256 or \"linked\" is required",
			index, json_object_get_string(path));
	for (size_t i = 0; i < m->file_count; i++)
		if (strcmp(m->files[i].path, json_object_get_string(path)) == 0)
			return cairn_error_set(CAIRN_EINVALID, "files: '%s' is listed twice", m->files[i].path);
	return cairn_backup__manifest_add(m, json_object_get_string(path), size,
		sha256 ? json_object_get_string(sha256) : NULL, is_linked);
}

static int read_files(cairn_backup_manifest *m, json_object *root)
{
	json_object *files = cairn_json_read_member(root, "files", json_type_array);
	if (files == NULL)
		return cairn_error_set(CAIRN_EINVALID, "no file list");
	int rc = CAIRN_OK;
	for (size_t i = 0; rc == CAIRN_OK && i < json_object_array_length(files); i++)
		rc = read_file_entry(m, json_object_array_get_idx(files, i), i);
	return rc;
}

static int read_identity(cairn_backup_manifest *m, json_object *root)
{
	json_object *format = cairn_json_read_member(root, "format", json_type_string);
	json_object *id = cairn_json_read_member(root, "id", json_type_string);
	json_object *version = cairn_json_read_member(root, "chainwebVersion", json_type_string);
	json_object *pact = cairn_json_read_member(root, "pactIncluded", json_type_boolean);
	uint64_t format_version = 0;
	if (format == NULL || strcmp(json_object_get_string(format), "cairn-backup") != 0 ||
	    !cairn_json_read_u64(&format_version, root, "formatVersion") || format_version != CAIRN_BACKUP_MANIFEST_FORMAT)
		return cairn_error_set(CAIRN_EINVALID, "not a cairn backup manifest of format version %d",
			CAIRN_BACKUP_MANIFEST_FORMAT);
	if (id == NULL || version == NULL || pact == NULL || !cairn_json_read_u64(&m->completed_at, root, "completedAt"))
		return cairn_error_set(CAIRN_EINVALID, "id, chainwebVersion, completedAt and pactIncluded are required");
	size_t id_len = strlen(json_object_get_string(id)), version_len = strlen(json_object_get_string(version));
	if ((m->owned_strings = malloc(id_len + version_len + 2)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	memcpy(m->owned_strings, json_object_get_string(id), id_len + 1);
	memcpy(m->owned_strings + id_len + 1, json_object_get_string(version), version_len + 1);
	m->id = m->owned_strings;
	m->chainweb_version = m->owned_strings + id_len + 1;
	m->pact_included = json_object_get_boolean(pact);
	return CAIRN_OK;
}

int cairn_backup__manifest_parse(cairn_backup_manifest *m, const char *text, size_t len)
{
	int rc = CAIRN_OK;
	json_tokener *tok = len <= INT_MAX ? json_tokener_new() : NULL;
	json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(root, json_type_object))
		rc = cairn_error_set(CAIRN_EINVALID, "not a JSON object");
	for (size_t i = rc == CAIRN_OK ? json_tokener_get_parse_end(tok) : len; i < len; i++)
		if (strchr(" \t\r\n", text[i]) == NULL || text[i] == '\0') {
			rc = cairn_error_set(CAIRN_EINVALID, "data after the JSON object");
			break;
		}
	if (rc == CAIRN_OK)
		rc = read_identity(m, root);
	if (rc == CAIRN_OK)
		rc = read_cut(&m->cut, root);
	if (rc == CAIRN_OK)
		rc = read_files(m, root);
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	if (rc != CAIRN_OK)
		cairn_backup__manifest_free(m);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "manifest.json");
}

int cairn_backup__manifest_read_at(cairn_backup_manifest *m, int dir_fd, const char *name, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no manifest.json");
	int rc = cairn_fs_read_regular_at(&text, &len, dir_fd, name, path);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "manifest.json");
	rc = cairn_backup__manifest_parse(m, text, len);
	free(text);
	return rc;
}

int cairn_backup__manifest_read(cairn_backup_manifest *m, const char *path)
{
	return cairn_backup__manifest_read_at(m, AT_FDCWD, path, path);
}
