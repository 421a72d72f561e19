/* The backup archive stream, read back with libarchive's reader as it is
 * produced: a real node's backup streams to entries under the top name,
 * every file byte-exact and `status` last, and the same stream written to
 * a file extracts with `tar --zstd -xf` to a directory that the real
 * `cairn backup verify` accepts.  A link inside the backup (a file, or
 * 0/sqlite itself), a file of another size, and a backup that is not
 * complete are refused; a large file read in small pieces leaves the peak
 * resident memory nearly where it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup/archive.h"
#include "backup/manifest.h"
#include "backup_fixture.h"
#include "node_backup_fixture.h"
#include "util/error.h"
#include "util/fs.h"

extern char **environ;

#define TOP "exported"

/* ---- pulling the stream ---- */

typedef struct pull {
	cairn_backup_archive *a;
	size_t piece; /* bytes asked for per read */
	int rc;
	char buf[1 << 16];
} pull;

static la_ssize_t pull_read(struct archive *r, void *ctx, const void **out)
{
	pull *p = ctx;
	size_t n = 0;
	p->rc = cairn_backup_archive_read(&n, p->a, p->buf, p->piece);
	if (p->rc != CAIRN_OK) {
		archive_set_error(r, EIO, "%s", cairn_error_last());
		return -1;
	}
	*out = p->buf;
	return (la_ssize_t)n;
}

static struct archive *reader_open(pull *p)
{
	struct archive *r = archive_read_new();
	assert_non_null(r);
	archive_read_support_filter_zstd(r);
	archive_read_support_format_tar(r);
	assert_int_equal(archive_read_open(r, p, NULL, pull_read, NULL), ARCHIVE_OK);
	return r;
}

static cairn_backup_archive *open_archive(const char *backups, const char *id)
{
	cairn_backup_archive *a = NULL;
	if (cairn_backup_archive_open(&a, backups, id, TOP) != CAIRN_OK)
		fail_msg("archive open: %s", cairn_error_last());
	return a;
}

/* Reads the stream to its end or its first error; returns that. */
static int drain(cairn_backup_archive *a, uint64_t *out_bytes)
{
	char buf[8192];
	size_t n = 0;
	int rc;
	*out_bytes = 0;
	while ((rc = cairn_backup_archive_read(&n, a, buf, sizeof(buf))) == CAIRN_OK && n > 0)
		*out_bytes += n;
	return rc;
}

/* Compares the entry's data with the file `path` byte by byte. */
static void assert_same_data(struct archive *r, const char *path)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	const void *block;
	size_t len;
	la_int64_t offset;
	uint64_t total = 0;
	char *want = malloc(1 << 20);
	int rc;
	while ((rc = archive_read_data_block(r, &block, &len, &offset)) == ARCHIVE_OK) {
		assert_true(len <= (1 << 20));
		assert_int_equal(pread(fd, want, len, offset), (ssize_t)len);
		assert_memory_equal(block, want, len);
		total += len;
	}
	assert_int_equal(rc, ARCHIVE_EOF);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(total, (uint64_t)st.st_size);
	free(want);
	close(fd);
}

/* ---- running programs ---- */

static int run(const char *const argv[])
{
	pid_t pid;
	int status;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0)
		fail_msg("cannot run %s", argv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_stream(const char *path, cairn_backup_archive *a)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	char buf[100000];
	size_t n;
	while (cairn_backup_archive_read(&n, a, buf, sizeof(buf)) == CAIRN_OK && n > 0)
		assert_int_equal(cairn_fs_write_all(fd, buf, n), CAIRN_OK);
	assert_int_equal(n, 0);
	close(fd);
}

/* ---- a real node's backup ---- */

static void check_entries(const char *backups, const char *id)
{
	char root[PATH_MAX + 80], path[PATH_MAX * 2];
	snprintf(root, sizeof(root), "%s/%s", backups, id);
	cairn_backup_manifest m = {0};
	snprintf(path, sizeof(path), "%s/manifest.json", root);
	assert_int_equal(cairn_backup__manifest_read(&m, path), CAIRN_OK);
	pull p = {.a = open_archive(backups, id), .piece = 777};
	struct archive *r = reader_open(&p);
	struct archive_entry *e;
	size_t files = 0, listed = 0;
	char last[PATH_MAX] = "";
	while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		assert_int_equal(strncmp(name, TOP, strlen(TOP)), 0);
		snprintf(last, sizeof(last), "%s", name);
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		assert_int_equal(archive_entry_filetype(e), AE_IFREG);
		const char *rel = name + strlen(TOP) + 1;
		for (size_t i = 0; i < m.file_count; i++)
			listed += strcmp(m.files[i].path, rel) == 0;
		snprintf(path, sizeof(path), "%s/%s", root, rel);
		assert_same_data(r, path);
		files++;
	}
	assert_int_equal(p.rc, CAIRN_OK);
	assert_string_equal(last, TOP "/status");
	assert_int_equal(listed, m.file_count);
	assert_int_equal(files, m.file_count + 3); /* and job.json, manifest.json, status */
	assert_true(m.file_count > 20);
	assert_int_equal(cairn_backup_archive_bytes_done(p.a), cairn_backup_archive_bytes_total(p.a));
	assert_true(cairn_backup_archive_bytes_total(p.a) > cairn_backup__manifest_bytes(&m));
	archive_read_free(r);
	cairn_backup_archive_close(p.a);
	cairn_backup__manifest_free(&m);
}

static void test_node_backup_streams_and_verifies(void **state)
{
	char backups[PATH_MAX], id[CAIRN_BACKUP_ID_MAX + 1], file[PATH_MAX], out[PATH_MAX], top[PATH_MAX + 16];
	node_backup_make(backups, id, state, 200);
	check_entries(backups, id);

	cairn_backup_archive *a = open_archive(backups, id);
	write_stream(store_fixture_path(file, sizeof(file), state, "backup.tar.zst"), a);
	cairn_backup_archive_close(a);
	assert_int_equal(cairn_fs_mkdir_p(store_fixture_path(out, sizeof(out), state, "out")), CAIRN_OK);
	const char *tar[] = {"tar", "--zstd", "-xf", file, "-C", out, NULL};
	assert_int_equal(run(tar), 0);
	const char *bin = getenv("CAIRN_BIN");
	assert_non_null(bin);
	snprintf(top, sizeof(top), "%s/" TOP, out);
	const char *verify[] = {bin, "backup", "verify", top, NULL};
	assert_int_equal(run(verify), 0);
}

/* ---- refusals, on the backup test stand-in ---- */

typedef struct small {
	test_node n;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	char sqlite[PATH_MAX]; /* a listed Pact file */
} small;

static void small_backup(small *s, void **state)
{
	fixture_open(&s->n, state, 20);
	cairn_backup_manager *m = fixture_manager(&s->n, 2);
	assert_int_equal(fixture_backup(s->id, m, true), CAIRN_BACKUP_DONE);
	cairn_backup_manager_close(m);
	fixture_close(&s->n);
	fixture_backup_path(s->sqlite, &s->n, s->id, "0/sqlite/pact-v1-chain-2.sqlite");
	assert_true(cairn_fs_exists(s->sqlite));
}

static void assert_stream_fails(const small *s, int code, const char *needle)
{
	cairn_backup_archive *a = open_archive(s->n.backup_dir, s->id);
	uint64_t bytes;
	assert_int_equal(drain(a, &bytes), code);
	if (strstr(cairn_error_last(), needle) == NULL)
		fail_msg("'%s' does not name '%s'", cairn_error_last(), needle);
	size_t n = 1;
	char buf[16];
	assert_int_equal(cairn_backup_archive_read(&n, a, buf, sizeof(buf)), code); /* the stream stays ended */
	assert_int_equal(n, 0);
	cairn_backup_archive_close(a);
}

static void test_linked_file_refused(void **state)
{
	small s;
	char aside[PATH_MAX + 8];
	small_backup(&s, state);
	snprintf(aside, sizeof(aside), "%s.aside", s.sqlite);
	assert_int_equal(rename(s.sqlite, aside), 0);
	assert_int_equal(symlink(aside, s.sqlite), 0); /* same size, same bytes, through a link */
	assert_stream_fails(&s, CAIRN_EIO, "0/sqlite/pact-v1-chain-2.sqlite: a symbolic link");
}

static void test_linked_directory_refused(void **state)
{
	small s;
	char dir[PATH_MAX], aside[PATH_MAX + 8];
	small_backup(&s, state);
	fixture_backup_path(dir, &s.n, s.id, "0/sqlite");
	snprintf(aside, sizeof(aside), "%s.aside", dir);
	assert_int_equal(rename(dir, aside), 0);
	assert_int_equal(symlink(aside, dir), 0);
	assert_stream_fails(&s, CAIRN_EIO, "0/sqlite: a symbolic link");
}

static void test_other_size_refused(void **state)
{
	small s;
	small_backup(&s, state);
	struct stat st;
	assert_int_equal(stat(s.sqlite, &st), 0);
	assert_int_equal(truncate(s.sqlite, st.st_size - 1), 0);
	assert_stream_fails(&s, CAIRN_EIO, "0/sqlite/pact-v1-chain-2.sqlite:");
}

static void test_incomplete_refused(void **state)
{
	small s;
	char path[PATH_MAX], aside[PATH_MAX + 8];
	small_backup(&s, state);
	cairn_backup_archive *a = NULL;
	const char *dir = s.n.backup_dir;
	assert_int_equal(cairn_backup_archive_open(&a, dir, s.id, "a/b"), CAIRN_EINVALID);
	assert_int_equal(cairn_backup_archive_open(&a, dir, "..", TOP), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_backup_archive_open(&a, dir, "12345", TOP), CAIRN_ENOTFOUND);

	fixture_backup_path(path, &s.n, s.id, "manifest.json");
	snprintf(aside, sizeof(aside), "%s.aside", path);
	assert_int_equal(rename(path, aside), 0);
	assert_int_equal(cairn_backup_archive_open(&a, dir, s.id, TOP), CAIRN_ESTATE);
	assert_non_null(strstr(cairn_error_last(), "no manifest"));
	assert_int_equal(rename(aside, path), 0);

	fixture_backup_path(path, &s.n, s.id, "status");
	assert_int_equal(cairn_fs_write_atomic(path, "backup-in-progress\n", 19), CAIRN_OK);
	assert_int_equal(cairn_backup_archive_open(&a, dir, s.id, TOP), CAIRN_ESTATE);
	assert_int_equal(cairn_fs_write_atomic(path, "backup-done\n", 12), CAIRN_OK);
	assert_int_equal(cairn_backup_archive_open(&a, dir, s.id, TOP), CAIRN_OK);
	cairn_backup_archive_close(a);
}

/* ---- bounded memory ---- */

#define BIG_BYTES ((uint64_t)160 << 20)
#define BIG_NAME "0/rocksDb/999999.sst"

static void fill_random(uint64_t *words, size_t count, uint64_t *seed)
{
	for (size_t i = 0; i < count; i++) {
		*seed ^= *seed << 13;
		*seed ^= *seed >> 7;
		*seed ^= *seed << 17;
		words[i] = *seed;
	}
}

/* Writes BIG_BYTES of incompressible bytes and lists the file in the
 * manifest as a linked table file. */
static void add_big_file(const small *s)
{
	char path[PATH_MAX];
	uint64_t seed = 88172645463325252ull, words[8192];
	int fd = open(fixture_backup_path(path, &s->n, s->id, BIG_NAME), O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	for (uint64_t done = 0; done < BIG_BYTES; done += sizeof(words)) {
		fill_random(words, 8192, &seed);
		assert_int_equal(cairn_fs_write_all(fd, words, sizeof(words)), CAIRN_OK);
	}
	close(fd);
	cairn_backup_manifest m = {0};
	fixture_backup_path(path, &s->n, s->id, "manifest.json");
	assert_int_equal(cairn_backup__manifest_read(&m, path), CAIRN_OK);
	assert_int_equal(cairn_backup__manifest_add(&m, BIG_NAME, BIG_BYTES, NULL, true), CAIRN_OK);
	assert_int_equal(cairn_backup__manifest_write(&m, path), CAIRN_OK);
	cairn_backup__manifest_free(&m);
}

/* VmHWM of /proc/self/status, bytes. */
/* Writing 5 to clear_refs resets VmHWM to the current resident size, so
 * that earlier tests in this process do not hide this one's peak. */
static void reset_peak_resident(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	assert_non_null(f);
	assert_int_equal(fputs("5", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static uint64_t peak_resident(void)
{
	char *text = fixture_read_text("/proc/self/status");
	const char *line = strstr(text, "VmHWM:");
	uint64_t kb = line ? strtoull(line + 6, NULL, 10) : 0;
	free(text);
	assert_true(kb > 0);
	return kb << 10;
}

/* Checks the big entry against the generator, block by block. */
static void check_big_entry(struct archive *r)
{
	uint64_t seed = 88172645463325252ull, words[8192], total = 0;
	const void *block;
	size_t len, have = 0;
	la_int64_t offset;
	while (archive_read_data_block(r, &block, &len, &offset) == ARCHIVE_OK) {
		assert_int_equal((uint64_t)offset, total);
		for (size_t used = 0; used < len;) {
			if (have == 0) {
				fill_random(words, 8192, &seed);
				have = sizeof(words);
			}
			size_t n = len - used < have ? len - used : have;
			assert_memory_equal((const char *)block + used, (const char *)words + sizeof(words) - have, n);
			used += n;
			have -= n;
		}
		total += len;
	}
	assert_int_equal(total, BIG_BYTES);
}

static void test_memory_bounded(void **state)
{
	small s;
	small_backup(&s, state);
	add_big_file(&s);
	reset_peak_resident();
	uint64_t before = peak_resident();
	pull p = {.a = open_archive(s.n.backup_dir, s.id), .piece = 4096};
	struct archive *r = reader_open(&p);
	struct archive_entry *e;
	bool seen = false;
	while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), TOP "/" BIG_NAME) == 0) {
			assert_int_equal(archive_entry_size(e), (la_int64_t)BIG_BYTES);
			check_big_entry(r);
			seen = true;
		}
	}
	assert_int_equal(p.rc, CAIRN_OK);
	assert_true(seen);
	/* The kernel updates the high-water mark lazily: read after memory was
	 * given back, it can be below the first reading, which is no growth. */
	uint64_t after = peak_resident();
	uint64_t growth = after > before ? after - before : 0;
	print_message("peak resident memory grew by %.1f MiB streaming %.0f MiB\n", growth / 1048576.0,
		BIG_BYTES / 1048576.0);
	assert_true(growth < BIG_BYTES / 4);
	archive_read_free(r);
	cairn_backup_archive_close(p.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_node_backup_streams_and_verifies),
		STORE_TEST(test_linked_file_refused),
		STORE_TEST(test_linked_directory_refused),
		STORE_TEST(test_other_size_refused),
		STORE_TEST(test_incomplete_refused),
		STORE_TEST(test_memory_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
