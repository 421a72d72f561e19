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
 */
#include "backup/manifest.h"

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/base64url.h"
#include "util/error.h"
#include "util/fs.h"

int cairn_backup__manifest_add(cairn_backup_manifest *m, const char *path, uint64_t size,
	const char *sha256, bool linked)
{
	if (m->file_count == m->file_capacity) {
		size_t capacity = m->file_capacity ? m->file_capacity * 2 : 64;
		cairn_backup_manifest_file *grown = realloc(m->files, capacity * sizeof(*grown));
		if (grown == NULL)
			return cairn_error_set(CAIRN_ENOMEM, "manifest: out of memory");
		m->files = grown;
		m->file_capacity = capacity;
	}
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

static json_object *cut_json(const cairn_chaindb_cut *cut)
{
	json_object *hashes = json_object_new_object();
	uint64_t height = 0;
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		if (!cut->present[c])
			continue;
		height += cut->height[c];
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
	add(obj, "height", json_object_new_uint64(height));
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
