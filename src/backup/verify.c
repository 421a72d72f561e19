/*
 * verify.c: verifying a backup (verify.h).
 *
 * The header walk goes level by level, as the chains were braided: at
 * height L every chain's block at L is checked against the blocks at L-1
 * of its own chain (parent) and of its neighbours in the graph in force at
 * L-1 (adjacent parents).  Only two levels are kept, each header is read
 * and decoded once, and one rank iterator per chain reads the winning
 * branch in order.  A block whose header does not validate is still used
 * as the parent of the next one, so one altered header is one problem,
 * not one per descendant; a gap in the rank index or an unreadable header
 * ends the walk (nothing above it can be checked).
 */
#include "backup/verify.h"
#include "backup/record.h"
#include "backup/files.h"
#include "backup/job.h"
#include "backup/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/header.h"
#include "chain/payload.h"
#include "chain/validate.h"
#include "chain/version.h"
#include "store/chaindb.h"
#include "util/base64url.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#define PROBLEM_MAX 1024
#define CHECKPOINT_CACHE_BYTES ((size_t)8 << 20)

typedef struct verify_run {
	const cairn_backup_verify_options *opts;
	cairn_backup_verify_report *report;
	const char *root;
	cairn_backup_manifest manifest;
	cairn_chaindb *chaindb;
	const cairn_version *version;
	bool irregular; /* some entry is a link, FIFO, device...: RocksDB and SQLite must not open the files */
} verify_run;

static void problem(verify_run *run, const char *fmt, ...) CAIRN_PRINTF(2, 3);

static void problem(verify_run *run, const char *fmt, ...)
{
	char text[PROBLEM_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	run->report->problems++;
	if (run->opts->on_problem != NULL)
		run->opts->on_problem(run->opts->ctx, text);
}

static int join(char *buf, const char *dir, const char *name)
{
	return cairn_backup__job_path(buf, PATH_MAX, dir, name);
}

/* True when a component of `rel` (below the root) is a symbolic link, or
 * cannot be examined.  Nothing is ever read through a link: a backup whose
 * entries were swapped for links to files outside it is refused, not
 * followed. */
static bool reached_through_link(const verify_run *run, const char *rel)
{
	char prefix[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(rel);
	for (size_t i = 0; i <= len; i++) {
		if (rel[i] != '/' && rel[i] != '\0')
			continue;
		struct stat st;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)i, rel);
		if (join(path, run->root, prefix) != CAIRN_OK || lstat(path, &st) != 0)
			return rel[i] == '/'; /* a missing last component is not a link */
		if (S_ISLNK(st.st_mode))
			return true;
	}
	return false;
}

/* ---- 0: status and manifest ---- */

static bool read_manifest(verify_run *run)
{
	char path[PATH_MAX], *failure = NULL;
	cairn_backup_state state = CAIRN_BACKUP_FAILED;
	if (join(path, run->root, "status") != CAIRN_OK || !cairn_fs_exists(path)) {
		problem(run, "status: missing (not a cairn backup directory)");
	} else if (cairn_fs_read_regular_file(&failure, NULL, path) != CAIRN_OK) {
		problem(run, "status: %s", cairn_error_last());
	} else if (cairn_backup__parse_status(&state, failure) != CAIRN_OK || state != CAIRN_BACKUP_DONE) {
		problem(run, "status: %.*s, not backup-done", failure ? (int)strcspn(failure, "\n") : 0,
			failure ? failure : "");
	}
	free(failure);
	int rc = join(path, run->root, "manifest.json");
	if (rc == CAIRN_OK)
		rc = cairn_backup__manifest_read(&run->manifest, path);
	if (rc != CAIRN_OK) {
		problem(run, "%s", cairn_error_last());
		return false;
	}
	run->report->pact_included = run->manifest.pact_included;
	run->report->cut_height = cairn_backup__cut_height(&run->manifest.cut);
	run->report->files = run->manifest.file_count;
	run->report->bytes = cairn_backup__manifest_bytes(&run->manifest);
	return true;
}

/* ---- 1: the listed files ---- */

static void check_file(verify_run *run, const cairn_backup_manifest_file *f)
{
	char path[PATH_MAX];
	struct stat st;
	if (reached_through_link(run, f->path)) {
		problem(run, "%s: a symbolic link on its path, refused (not followed)", f->path);
		run->irregular = true;
		return;
	}
	if (join(path, run->root, f->path) != CAIRN_OK || lstat(path, &st) != 0) {
		problem(run, "%s: missing", f->path);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(run, "%s: not a regular file", f->path);
		run->irregular = true;
		return;
	}
	if ((uint64_t)st.st_size != f->size) {
		problem(run, "%s: %" PRIu64 " bytes, the manifest lists %" PRIu64, f->path, (uint64_t)st.st_size, f->size);
		return;
	}
	if (f->linked)
		return;
	cairn_backup_file_digest digest;
	if (cairn_backup__hash_file(&digest, path, false) != CAIRN_OK)
		problem(run, "%s: %s", f->path, cairn_error_last());
	else if (strcmp(digest.sha256, f->sha256) != 0)
		problem(run, "%s: SHA-256 %s, the manifest lists %s", f->path, digest.sha256, f->sha256);
	run->report->bytes_hashed += digest.size;
	cairn_progress_add(run->opts->progress, f->size);
}

static void check_files(verify_run *run)
{
	uint64_t to_hash = 0;
	for (size_t i = 0; i < run->manifest.file_count; i++)
		to_hash += run->manifest.files[i].linked ? 0 : run->manifest.files[i].size;
	cairn_progress_begin(run->opts->progress, "checking files", to_hash, CAIRN_PROGRESS_BYTES);
	for (size_t i = 0; i < run->manifest.file_count; i++)
		check_file(run, &run->manifest.files[i]);
	cairn_progress_end(run->opts->progress);
}

/* ---- 2: nothing unlisted ---- */

static bool is_listed(const verify_run *run, const char *rel)
{
	for (size_t i = 0; i < run->manifest.file_count; i++)
		if (strcmp(run->manifest.files[i].path, rel) == 0)
			return true;
	return false;
}

/* Reports every entry of directory `rel` (relative to the root) that
 * `allowed` refuses; allowed(run, rel_of_entry, name) decides. */
static void check_entries(verify_run *run, const char *rel, bool (*allowed)(const verify_run *, const char *, const char *))
{
	char dir[PATH_MAX], entry[PATH_MAX];
	if (join(dir, run->root, rel) != CAIRN_OK)
		return;
	if (reached_through_link(run, rel)) {
		problem(run, "%s: a symbolic link, refused (not followed)", rel);
		run->irregular = true;
		return;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		/* a missing 0/ or 0/sqlite is reported through the files it should
		 * hold; any other error leaves this check undone, which is a problem */
		if (err != ENOENT)
			problem(run, "%s: cannot list: %s", rel, strerror(err));
		return;
	}
	struct dirent *e;
	int rc;
	while ((rc = cairn_fs_next_entry(&e, d, dir)) == CAIRN_OK && e != NULL) {
		snprintf(entry, sizeof(entry), "%s/%s", rel, e->d_name);
		struct stat st;
		if (!allowed(run, entry, e->d_name)) {
			problem(run, "%s: not listed in the manifest", entry);
			run->irregular |= fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
				(!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
		}
	}
	if (rc != CAIRN_OK)
		problem(run, "%s", cairn_error_last());
	closedir(d);
}

static bool allowed_in_table_dir(const verify_run *run, const char *rel, const char *name)
{
	(void)name;
	return is_listed(run, rel);
}

static bool allowed_in_data_dir(const verify_run *run, const char *rel, const char *name)
{
	(void)rel;
	char path[PATH_MAX];
	struct stat st;
	bool is_dir = join(path, run->root, rel) == CAIRN_OK && lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
	return is_dir && (strcmp(name, "rocksDb") == 0 || (strcmp(name, "sqlite") == 0 && run->manifest.pact_included));
}

/* "<name>.tmp.<pid>": what a process killed during cairn_fs_write_atomic of
 * `name` leaves (the job record is rewritten after the backup is done, as
 * events are added); the file it was replacing is intact beside it. */
static bool is_atomic_leftover(const char *name, const char *of)
{
	size_t len = strlen(of);
	return strncmp(name, of, len) == 0 && strncmp(name + len, ".tmp.", 5) == 0 && name[len + 5] != '\0' &&
		strspn(name + len + 5, "0123456789") == strlen(name + len + 5);
}

static bool allowed_at_top(const verify_run *run, const char *rel, const char *name)
{
	(void)run;
	(void)rel;
	return strcmp(name, "status") == 0 || strcmp(name, "manifest.json") == 0 || strcmp(name, "0") == 0 ||
		strcmp(name, CAIRN_BACKUP__RECORD_FILE) == 0 || /* the job's record (record.h) */
		is_atomic_leftover(name, CAIRN_BACKUP__RECORD_FILE) || is_atomic_leftover(name, "status");
}

static void check_unlisted(verify_run *run)
{
	char top[PATH_MAX];
	snprintf(top, sizeof(top), "%s", run->root);
	DIR *d = opendir(top);
	if (d == NULL)
		problem(run, "%s: cannot list: %s", top, strerror(errno));
	struct dirent *e = NULL;
	int rc = CAIRN_OK;
	while (d != NULL && (rc = cairn_fs_next_entry(&e, d, top)) == CAIRN_OK && e != NULL)
		if (!allowed_at_top(run, e->d_name, e->d_name))
			problem(run, "%s: not part of a backup", e->d_name);
	if (rc != CAIRN_OK)
		problem(run, "%s", cairn_error_last());
	if (d != NULL)
		closedir(d);
	check_entries(run, "0", allowed_in_data_dir);
	check_entries(run, "0/rocksDb", allowed_in_table_dir);
	check_entries(run, "0/sqlite", allowed_in_table_dir);
}

/* ---- 3: the checkpoint ---- */

static void hash_text(char out[48], const uint8_t *hash)
{
	cairn_base64url_encode(out, hash, CAIRN_CHAINDB_HASH_LEN);
}

static void check_cut(verify_run *run)
{
	cairn_chaindb_cut cut;
	if (cairn_chaindb_get_cut(&cut, run->chaindb) != CAIRN_OK) {
		problem(run, "0/rocksDb: cannot read the cut: %s", cairn_error_last());
		return;
	}
	const cairn_chaindb_cut *want = &run->manifest.cut;
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		if (!cut.present[c] && !want->present[c])
			continue;
		char have_text[48] = "none", want_text[48] = "none";
		if (cut.present[c])
			hash_text(have_text, cut.hash[c]);
		if (want->present[c])
			hash_text(want_text, want->hash[c]);
		if (cut.present[c] != want->present[c] || cut.height[c] != want->height[c] ||
		    memcmp(cut.hash[c], want->hash[c], CAIRN_CHAINDB_HASH_LEN) != 0)
			problem(run, "chain %u: the checkpoint's cut is at height %" PRIu64 " (%s), the manifest's at %"
				PRIu64 " (%s)", c, cut.height[c], have_text, want->height[c], want_text);
	}
}

static void records_step(void *ctx, uint64_t records)
{
	verify_run *run = ctx;
	cairn_progress_add(run->opts->progress, records - run->report->records);
	run->report->records = records;
}

static bool open_checkpoint(verify_run *run)
{
	char path[PATH_MAX];
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.read_only = true;
	opts.create_if_missing = false;
	opts.block_cache_bytes = CHECKPOINT_CACHE_BYTES;
	if (reached_through_link(run, "0/rocksDb"))
		return false; /* reported with the listed files */
	if (cairn_chaindb_path(path, sizeof(path), run->root) != CAIRN_OK ||
	    cairn_chaindb_open(&run->chaindb, path, &opts) != CAIRN_OK) {
		problem(run, "0/rocksDb: the checkpoint does not open: %s", cairn_error_last());
		return false;
	}
	const char *recorded = cairn_chaindb_version(run->chaindb);
	if (strcmp(recorded, run->manifest.chainweb_version) != 0)
		problem(run, "0/rocksDb: written for chainweb version %s, the manifest names %s", recorded,
			run->manifest.chainweb_version);
	if ((run->version = cairn_version_by_name(recorded)) == NULL)
		problem(run, "0/rocksDb: unknown chainweb version '%s'", recorded);
	check_cut(run);
	cairn_progress_begin(run->opts->progress, "reading records", 0, CAIRN_PROGRESS_ITEMS);
	uint64_t records = 0;
	if (cairn_chaindb_check_tables(&records, run->chaindb, records_step, run) != CAIRN_OK)
		problem(run, "0/rocksDb: %s", cairn_error_last());
	run->report->records = records;
	cairn_progress_end(run->opts->progress);
	return run->version != NULL;
}

/* ---- 4: headers and payloads ---- */

typedef struct level {
	bool present[CAIRN_CHAINDB_MAX_CHAINS];
	cairn_header header[CAIRN_CHAINDB_MAX_CHAINS];
} level;

typedef struct walk {
	uint64_t first[CAIRN_CHAINDB_MAX_CHAINS]; /* genesis heights */
	cairn_chaindb_rank_iter *ranks[CAIRN_CHAINDB_MAX_CHAINS];
	level levels[2];
} walk;

static int read_header(cairn_header *out, verify_run *run, uint32_t chain, uint64_t height, const uint8_t *hash)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc = cairn_chaindb_get_header(&bytes, &len, run->chaindb, hash);
	if (rc == CAIRN_OK)
		rc = cairn_header_decode(out, bytes, len);
	free(bytes);
	if (rc == CAIRN_OK && (memcmp(out->hash, hash, CAIRN_HASH_LEN) != 0 || out->chain_id != chain ||
	    out->height != height))
		rc = cairn_error_set(CAIRN_EINVALID, "the header stored under the rank entry is chain %u height %" PRIu64
			" with another hash", out->chain_id, out->height);
	return rc;
}

static void check_payload(verify_run *run, const cairn_header *h)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	cairn_payload payload;
	cairn_payload_init(&payload);
	int rc = cairn_chaindb_get_payload(&bytes, &len, run->chaindb, h->payload_hash);
	if (rc == CAIRN_OK && len > 0) /* an empty record: contents unknown, as imported headers have */
		rc = cairn_payload_decode(&payload, bytes, len);
	if (rc == CAIRN_OK && len > 0)
		rc = cairn_payload_verify(&payload, h->payload_hash);
	if (rc == CAIRN_OK)
		run->report->payloads += len > 0;
	else
		problem(run, "chain %u height %" PRIu64 ": payload: %s", h->chain_id, h->height, cairn_error_last());
	cairn_payload_free(&payload);
	free(bytes);
}

static void validate_header(verify_run *run, const cairn_header *h, const level *parents)
{
	const char *field = NULL;
	int rc;
	if (cairn_version_is_genesis(run->version, h->chain_id, h->height)) {
		rc = cairn_header_validate(&field, h, NULL, NULL, 0);
	} else {
		const cairn_graph *g = cairn_version_graph_at(run->version, h->height - 1);
		const cairn_header *adjacent[CAIRN_HEADER_MAX_ADJACENTS];
		uint32_t n = cairn_graph_has_chain(g, h->chain_id) ? g->degree : 0;
		rc = CAIRN_OK;
		for (uint32_t i = 0; rc == CAIRN_OK && i < n; i++) {
			uint32_t neighbour = cairn_graph_adjacents(g, h->chain_id)[i];
			adjacent[i] = &parents->header[neighbour];
			if (!parents->present[neighbour])
				rc = cairn_error_set(CAIRN_EINVALID, "adjacents: no block at height %" PRIu64 " on chain %u",
					h->height - 1, neighbour);
		}
		if (rc == CAIRN_OK)
			rc = cairn_header_validate(&field, h, &parents->header[h->chain_id], adjacent, n);
	}
	if (rc != CAIRN_OK)
		problem(run, "chain %u height %" PRIu64 ": header does not validate: %s", h->chain_id, h->height,
			cairn_error_last());
	run->report->headers++;
}

/* One block of the walk; false ends it. */
static bool walk_block(verify_run *run, walk *w, level *cur, const level *prev, uint32_t c, uint64_t height)
{
	uint64_t at = 0;
	uint8_t hash[CAIRN_HASH_LEN];
	int rc = cairn_chaindb_rank_iter_next(&at, hash, w->ranks[c]);
	if (rc == CAIRN_OK && at != height)
		rc = cairn_error_set(CAIRN_EINVALID, "the rank index skips to height %" PRIu64, at);
	if (rc == CAIRN_ENOTFOUND)
		rc = cairn_error_set(CAIRN_EINVALID, "the rank index ends below the cut");
	if (rc == CAIRN_OK)
		rc = read_header(&cur->header[c], run, c, height, hash);
	if (rc != CAIRN_OK) {
		problem(run, "chain %u height %" PRIu64 ": %s; headers above are not checked", c, height,
			cairn_error_last());
		return false;
	}
	if (!cairn_version_is_genesis(run->version, c, height) && !prev->present[c]) {
		problem(run, "chain %u height %" PRIu64 ": no parent below the genesis height", c, height);
		return false;
	}
	cur->present[c] = true;
	validate_header(run, &cur->header[c], prev);
	check_payload(run, &cur->header[c]);
	cairn_progress_add(run->opts->progress, 1);
	return true;
}

static bool walk_prepare(verify_run *run, walk *w, uint64_t *low, uint64_t *high, uint64_t *total)
{
	const cairn_chaindb_cut *cut = &run->manifest.cut;
	*low = UINT64_MAX;
	*high = *total = 0;
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		if (!cut->present[c])
			continue;
		if (cairn_version_genesis_height(&w->first[c], run->version, c) != CAIRN_OK ||
		    w->first[c] > cut->height[c]) {
			problem(run, "chain %u: the cut at height %" PRIu64 " is not a chain of %s", c, cut->height[c],
				run->version->name);
			return false;
		}
		if (cairn_chaindb_rank_iter_create(&w->ranks[c], run->chaindb, c, w->first[c]) != CAIRN_OK) {
			problem(run, "chain %u: %s", c, cairn_error_last());
			return false;
		}
		*low = w->first[c] < *low ? w->first[c] : *low;
		*high = cut->height[c] > *high ? cut->height[c] : *high;
		*total += cut->height[c] - w->first[c] + 1;
	}
	return *total > 0;
}

static void check_headers(verify_run *run)
{
	walk *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		problem(run, "headers: out of memory");
		return;
	}
	const cairn_chaindb_cut *cut = &run->manifest.cut;
	uint64_t low, high, total;
	bool going = walk_prepare(run, w, &low, &high, &total);
	cairn_progress_begin(run->opts->progress, "validating headers", total, CAIRN_PROGRESS_ITEMS);
	for (uint64_t height = low; going && height <= high; height++) {
		level *cur = &w->levels[height & 1], *prev = &w->levels[(height & 1) ^ 1];
		memset(cur->present, 0, sizeof(cur->present));
		for (uint32_t c = 0; going && c < CAIRN_CHAINDB_MAX_CHAINS; c++)
			if (cut->present[c] && height >= w->first[c] && height <= cut->height[c])
				going = walk_block(run, w, cur, prev, c, height);
	}
	cairn_progress_end(run->opts->progress);
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++)
		cairn_chaindb_rank_iter_free(w->ranks[c]);
	free(w);
}

/* ---- 5: Pact state ---- */

/* "file:<percent-encoded path>?immutable=1": read without any -wal or
 * -shm file, and without writing one. */
static void immutable_uri(char *out, size_t size, const char *path)
{
	size_t n = (size_t)snprintf(out, size, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < size; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			strchr("/._-~", *p) != NULL;
		n += (size_t)snprintf(out + n, size - n, plain ? "%c" : "%%%02X", *p);
	}
	snprintf(out + n, size - n, "?immutable=1");
}

/* " (<strerror>)" of SQLite's last failed system call on `db`, or "":
 * SQLite's own messages ("disk I/O error", "unable to get the page")
 * name no cause. */
static const char *os_error(char out[128], sqlite3 *db)
{
	int err = db != NULL ? sqlite3_system_errno(db) : 0;
	if (err == 0)
		return "";
	snprintf(out, 128, " (%s)", strerror(err));
	return out;
}

static void check_integrity(verify_run *run, sqlite3 *db, const char *rel)
{
	char why[128];
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (line == NULL || strcmp(line, "ok") != 0)
			problem(run, "%s: integrity_check: %s%s", rel, line ? line : "(null)", os_error(why, db));
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		problem(run, "%s: integrity_check: %s%s", rel, sqlite3_errmsg(db), os_error(why, db));
	sqlite3_finalize(st);
}

static void check_last_block(verify_run *run, sqlite3 *db, const char *rel, uint32_t chain)
{
	const cairn_chaindb_cut *cut = &run->manifest.cut;
	char why[128];
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT blockheight, hash FROM BlockHistory ORDER BY blockheight DESC LIMIT 1",
		-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && cut->present[chain])
		problem(run, "%s: no block in BlockHistory, the cut is at height %" PRIu64, rel, cut->height[chain]);
	else if (rc == SQLITE_ROW && !cut->present[chain])
		problem(run, "%s: BlockHistory has blocks, the cut has no block of chain %u", rel, chain);
	else if (rc == SQLITE_ROW && ((uint64_t)sqlite3_column_int64(st, 0) != cut->height[chain] ||
		 sqlite3_column_bytes(st, 1) != CAIRN_CHAINDB_HASH_LEN ||
		 memcmp(sqlite3_column_blob(st, 1), cut->hash[chain], CAIRN_CHAINDB_HASH_LEN) != 0))
		problem(run, "%s: BlockHistory ends at height %" PRIu64 ", not at the cut's block of chain %u (height %"
			PRIu64 ")", rel, (uint64_t)sqlite3_column_int64(st, 0), chain, cut->height[chain]);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		problem(run, "%s: BlockHistory: %s%s", rel, sqlite3_errmsg(db), os_error(why, db));
	sqlite3_finalize(st);
}

static void check_pact_file(verify_run *run, const cairn_backup_manifest_file *f, uint32_t chain)
{
	char path[PATH_MAX], uri[PATH_MAX * 3 + 32], why[128];
	sqlite3 *db = NULL;
	if (join(path, run->root, f->path) != CAIRN_OK || reached_through_link(run, f->path))
		return; /* reported by check_file */
	immutable_uri(uri, sizeof(uri), path);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		problem(run, "%s: does not open: %s%s", f->path, db ? sqlite3_errmsg(db) : "out of memory",
			os_error(why, db));
	} else {
		check_integrity(run, db, f->path);
		check_last_block(run, db, f->path, chain);
		run->report->pact_files++;
	}
	sqlite3_close(db);
}

static void check_pact(verify_run *run)
{
	bool seen[CAIRN_CHAINDB_MAX_CHAINS] = {false};
	for (size_t i = 0; i < run->manifest.file_count; i++) {
		const cairn_backup_manifest_file *f = &run->manifest.files[i];
		unsigned chain;
		int end = 0;
		if (sscanf(f->path, "0/sqlite/pact-v1-chain-%u.sqlite%n", &chain, &end) != 1 || f->path[end] != '\0' ||
		    chain >= CAIRN_CHAINDB_MAX_CHAINS) {
			if (strncmp(f->path, "0/sqlite/", 9) == 0)
				problem(run, "%s: not a Pact state file", f->path);
			continue;
		}
		seen[chain] = true;
		check_pact_file(run, f, chain);
	}
	for (uint32_t c = 0; c < CAIRN_CHAINDB_MAX_CHAINS; c++)
		if (run->manifest.cut.present[c] && !seen[c])
			problem(run, "chain %u: the manifest lists no Pact state file", c);
}

/* ---- the whole ---- */

static void verify_all(verify_run *run)
{
	double t0 = cairn_clock_now();
	if (!read_manifest(run))
		return;
	check_files(run);
	check_unlisted(run);
	run->report->file_seconds = cairn_clock_now() - t0;
	if (run->opts->quick)
		return;
	if (run->irregular) {
		/* RocksDB and SQLite open files by name: a FIFO would block them for
		 * ever, a link would lead them out of the backup.  Reported above. */
		cairn_log_warn("verify", "%s: the checkpoint and the Pact files are not opened: some entries are not "
			"regular files", run->root);
		return;
	}
	if (open_checkpoint(run)) {
		double t1 = cairn_clock_now();
		check_headers(run);
		run->report->header_seconds = cairn_clock_now() - t1;
	}
	if (run->manifest.pact_included)
		check_pact(run);
}

int cairn_backup_verify(cairn_backup_verify_report *out, const char *path, const cairn_backup_verify_options *opts)
{
	memset(out, 0, sizeof(*out));
	if (!cairn_fs_is_dir(path))
		return cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a directory", path);
	verify_run run = {.opts = opts, .report = out, .root = path};
	double t0 = cairn_clock_now();
	verify_all(&run);
	cairn_chaindb_close(run.chaindb);
	cairn_backup__manifest_free(&run.manifest);
	out->seconds = cairn_clock_now() - t0;
	return CAIRN_OK;
}
