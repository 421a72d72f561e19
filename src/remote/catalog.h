/*
 * catalog.h: what a remote (an S3 bucket and prefix) holds: the object
 * layout, the remote manifest of one backup, listing, deleting and
 * retention.  Knows nothing of local backups: the backup engine
 * (src/backup/upload.c, fetch.c) fills and reads the manifests.
 *
 * Layout below <prefix>/ (docs/backups.md, "Remote copies"):
 *   objects/sha256/<aa>/<hex>      an immutable RocksDB table file, named by
 *                                  its SHA-256 (<aa>: its first two digits);
 *                                  stored once, shared by every backup
 *   backups/<id>/files/<path>      a whole file of backup <id> (the SQLite
 *                                  files, MANIFEST, OPTIONS, CURRENT, WAL)
 *   backups/<id>/manifest.json     the remote manifest, written last
 *   uploads/<id>                   present while an upload of <id> runs
 *
 * Invariants:
 *   - A remote manifest is written only after every object it names is
 *     stored, so a backup whose manifest exists is complete; one without
 *     is an upload in progress or an interrupted one, never listed as
 *     complete and never restored.
 *   - Uploads never overwrite or delete: content objects are written only
 *     when absent (and their key is their content anyway).
 *   - Deleting a backup removes its manifest first (it stops being
 *     complete), then its own files, then the content objects that no
 *     remaining manifest names, and those only when no upload is in
 *     progress (no uploads/ marker): an upload may have found an object
 *     present and counted on it.
 *   - The newest complete backup is never removed.
 * Keys stored in a manifest are relative to the prefix, so a prefix can be
 * copied elsewhere whole.  A manifest read from the store is trusted in
 * nothing: every key must have one of the two shapes above and every path
 * must stay inside 0/rocksDb or 0/sqlite.
 */
#ifndef CAIRN_REMOTE_CATALOG_H
#define CAIRN_REMOTE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote/s3.h"

#define CAIRN_REMOTE_FORMAT 1
#define CAIRN_REMOTE_KEY_MAX 1024
#define CAIRN_REMOTE_ID_MAX 64
#define CAIRN_REMOTE_MANIFEST_MAX ((size_t)64 << 20)

typedef struct cairn_remote_object {
	char *path; /* the file's path in the backup: "0/rocksDb/000012.sst" */
	char *key;  /* relative to the prefix: "objects/sha256/ab/ab12..." or "backups/ID/files/..." */
	uint64_t size;
	char sha256[CAIRN_S3_SHA256_HEX];
} cairn_remote_object;

typedef struct cairn_remote_manifest {
	char id[CAIRN_REMOTE_ID_MAX + 1];
	char chainweb_version[64];
	uint64_t completed_at; /* UNIX ms, the local backup's */
	uint64_t uploaded_at;  /* UNIX ms, when the manifest was written */
	bool pact_included;
	uint64_t cut_height;
	char *backup_manifest; /* the local manifest.json, as text (the backup engine's format) */
	cairn_remote_object *objects;
	size_t count, capacity;
} cairn_remote_manifest;

/* "<prefix>/<relative>" (no leading '/' when the prefix is ""). */
int cairn_remote_key(char *out, size_t size, const char *prefix, const char *relative);

/* Relative keys: objects/sha256/<aa>/<hex>, backups/<id>/files/<path>,
 * backups/<id>/manifest.json and uploads/<id>. */
int cairn_remote_object_key(char *out, size_t size, const char *sha256);
int cairn_remote_file_key(char *out, size_t size, const char *id, const char *path);
int cairn_remote_manifest_key(char *out, size_t size, const char *id);
int cairn_remote_marker_key(char *out, size_t size, const char *id);

/* True for [A-Za-z0-9_-]{1,64} (the backup engine's ids). */
bool cairn_remote_id_is_valid(const char *id);

/* True for a file path that stays inside a backup: 0/rocksDb/NAME or
 * 0/sqlite/NAME, NAME one plain component (not "." or ".."), the whole
 * under 256 bytes.  The local manifest reader applies the same rule. */
bool cairn_remote_path_is_valid(const char *path);

int cairn_remote_manifest_add(cairn_remote_manifest *m, const char *path, const char *key, uint64_t size,
	const char *sha256);
void cairn_remote_manifest_free(cairn_remote_manifest *m);
uint64_t cairn_remote_manifest_bytes(const cairn_remote_manifest *m);

/* The manifest as JSON (release *out with free()). */
int cairn_remote_manifest_encode(char **out, size_t *out_len, const cairn_remote_manifest *m);

/* Parses and checks a manifest into a zeroed *m; CAIRN_EINVALID with the
 * reason for anything cairn would not trust. */
int cairn_remote_manifest_decode(cairn_remote_manifest *m, const char *text, size_t len);

/* Reads backup `id`'s manifest from the store; CAIRN_ENOTFOUND when the
 * backup is not complete there (or absent). */
int cairn_remote_manifest_fetch(cairn_remote_manifest *m, cairn_s3 *s3, const char *prefix, const char *id);

typedef struct cairn_remote_info {
	char id[CAIRN_REMOTE_ID_MAX + 1];
	bool has_time;      /* the id is UNIX milliseconds */
	uint64_t time_ms;
	bool complete;      /* its manifest is stored */
	bool uploading;     /* an upload marker is stored */
	bool pact_included; /* complete backups only, as the rest */
	uint64_t cut_height;
	uint64_t bytes;     /* the sum of the objects it names */
} cairn_remote_info;

/* Every backup under the prefix (complete or not), oldest id first
 * (numeric ids by value, then others by name).  Release with free(). */
int cairn_remote_list(cairn_remote_info **out, size_t *out_count, cairn_s3 *s3, const char *prefix);

typedef struct cairn_remote_removal {
	size_t backups;       /* backups removed */
	size_t objects;       /* content objects removed */
	uint64_t bytes;       /* their size */
	bool objects_kept;    /* unreferenced content objects left: an upload was in progress */
} cairn_remote_removal;

/* Removes backup `id` (complete or an interrupted upload) and then the
 * content objects nothing refers to any more.  Refuses the newest complete
 * backup (CAIRN_ESTATE) and an id with no manifest nor files
 * (CAIRN_ENOTFOUND). */
int cairn_remote_delete(cairn_remote_removal *out, cairn_s3 *s3, const char *prefix, const char *id);

/* Removes content objects no complete backup names, unless an upload is in
 * progress (out->objects_kept). */
int cairn_remote_collect(cairn_remote_removal *out, cairn_s3 *s3, const char *prefix);

typedef struct cairn_remote_retention {
	int keep_last;          /* complete backups kept; 0: no limit */
	double max_age_seconds; /* 0: no limit */
} cairn_remote_retention;

#define CAIRN_REMOTE_RETENTION_INIT {0, 0.0}

/* Applies the policy to the complete backups with time ids: beyond the
 * newest keep_last, or older than max_age, are removed; the newest is
 * always kept.  Then collects unreferenced content objects. */
int cairn_remote_retention_apply(cairn_remote_removal *out, cairn_s3 *s3, const char *prefix,
	const cairn_remote_retention *policy, uint64_t now_ms);

#endif
