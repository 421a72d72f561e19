/* Verification of a real node's backup: a good backup has no problem and
 * every header validated; a stored header altered in the checkpoint (its
 * bytes rewritten through RocksDB) is named with its chain and height; a
 * backup that is not one is reported, not crashed on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <rocksdb/c.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup/verify.h"
#include "node_backup_fixture.h"
#include "store_fixture.h"
#include "util/error.h"
#include "util/fs.h"

#define PROBLEMS_MAX 64

typedef struct problems {
	char text[PROBLEMS_MAX][512];
	int count;
} problems;

static void collect(void *ctx, const char *text)
{
	problems *p = ctx;
	if (p->count < PROBLEMS_MAX)
		snprintf(p->text[p->count++], sizeof(p->text[0]), "%s", text);
}

static bool any_contains(const problems *p, const char *needle)
{
	for (int i = 0; i < p->count; i++)
		if (strstr(p->text[i], needle) != NULL)
			return true;
	return false;
}

/* A real node's backup with Pact, its cut past `height`; its directory
 * into out. */
static void make_backup(char out[PATH_MAX + 80], void **state, uint64_t height)
{
	char backups[PATH_MAX], id[CAIRN_BACKUP_ID_MAX + 1];
	node_backup_make(backups, id, state, height);
	snprintf(out, PATH_MAX + 80, "%s/%s", backups, id);
}

static void verify(cairn_backup_verify_report *report, problems *p, const char *path, bool quick)
{
	cairn_backup_verify_options opts = CAIRN_BACKUP_VERIFY_OPTIONS_INIT;
	opts.quick = quick;
	opts.on_problem = collect;
	opts.ctx = p;
	memset(p, 0, sizeof(*p));
	assert_int_equal(cairn_backup_verify(report, path, &opts), CAIRN_OK);
	assert_int_equal((int)report->problems, p->count < PROBLEMS_MAX ? p->count : (int)report->problems);
}

/* Rewrites one byte of the stored header at (chain, height) of the
 * checkpoint in `backup`, through RocksDB (keys as chaindb.c encodes them). */
static void alter_header(const char *backup, uint32_t chain, uint64_t height, size_t offset)
{
	char path[PATH_MAX + 128], *err = NULL;
	snprintf(path, sizeof(path), "%s/0/rocksDb", backup);
	rocksdb_options_t *opts = rocksdb_options_create();
	rocksdb_t *db = rocksdb_open(opts, path, &err);
	assert_null(err);
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
	char rank[13] = {'R'}, key[33] = {'H'};
	for (int i = 0; i < 4; i++)
		rank[1 + i] = (char)(chain >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		rank[5 + i] = (char)(height >> (56 - 8 * i));
	size_t len = 0;
	char *hash = rocksdb_get(db, ro, rank, sizeof(rank), &len, &err);
	assert_non_null(hash);
	assert_int_equal(len, 32);
	memcpy(key + 1, hash, 32);
	char *header = rocksdb_get(db, ro, key, sizeof(key), &len, &err);
	assert_non_null(header);
	assert_true(len > offset);
	header[offset] ^= 0x01;
	rocksdb_put(db, wo, key, sizeof(key), header, len, &err);
	assert_null(err);
	rocksdb_free(hash);
	rocksdb_free(header);
	rocksdb_readoptions_destroy(ro);
	rocksdb_writeoptions_destroy(wo);
	rocksdb_close(db);
	rocksdb_options_destroy(opts);
}

static void test_good_then_altered_header(void **state)
{
	char backup[PATH_MAX + 80];
	make_backup(backup, state, 400);
	cairn_backup_verify_report report;
	problems p;
	verify(&report, &p, backup, false);
	for (int i = 0; i < p.count; i++)
		print_message("unexpected problem: %s\n", p.text[i]);
	assert_int_equal(report.problems, 0);
	assert_true(report.headers >= 400);
	assert_int_equal(report.payloads, report.headers);
	assert_int_equal(report.pact_files, 20);
	assert_true(report.pact_included);

	/* Byte 8 is the first byte of creationTime: the header no longer
	 * hashes to the hash it is stored under and its children name. */
	alter_header(backup, 3, 7, 8);
	verify(&report, &p, backup, false);
	assert_true(any_contains(&p, "chain 3 height 7: header does not validate"));
	for (int i = 0; i < p.count; i++)
		assert_null(strstr(p.text[i], "chain 3 height 8:")); /* one altered header, one header problem */
}

static void test_not_a_backup(void **state)
{
	char dir[PATH_MAX];
	store_fixture_path(dir, sizeof(dir), state, "empty");
	assert_int_equal(cairn_fs_mkdir_p(dir), CAIRN_OK);
	cairn_backup_verify_report report;
	problems p;
	verify(&report, &p, dir, false);
	assert_true(any_contains(&p, "status: missing"));
	assert_true(any_contains(&p, "no manifest.json"));
	strcat(dir, "/nothing");
	cairn_backup_verify_options opts = CAIRN_BACKUP_VERIFY_OPTIONS_INIT;
	assert_int_equal(cairn_backup_verify(&report, dir, &opts), CAIRN_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_good_then_altered_header),
		STORE_TEST(test_not_a_backup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
