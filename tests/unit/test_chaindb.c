/* Unit tests for store/chaindb on real RocksDB directories: blocks appear
 * whole, survive reopening, are refused for another version, iterate in
 * height order, checkpoints freeze the state at their moment, and the
 * database runs the compaction its incremental uploads count on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store/chaindb.h"
#include "store_fixture.h"
#include "util/error.h"

#define VERSION "development"

typedef struct test_block {
	uint8_t hash[32], payload_hash[32];
	uint8_t header[318];
	uint8_t payload[100];
	cairn_chaindb_block b;
} test_block;

/* Deterministic content for (chain, height): tests recompute and compare. */
static void make_block(test_block *t, uint32_t chain, uint64_t height)
{
	store_fixture_hash(t->hash, 0xb1, chain, height);
	store_fixture_hash(t->payload_hash, 0xb2, chain, height);
	memset(t->header, (int)(chain * 31 + height), sizeof(t->header));
	memcpy(t->header, t->hash, 32);
	memset(t->payload, (int)(height * 7 + chain), sizeof(t->payload));
	t->b = (cairn_chaindb_block){
		.chain = chain, .height = height, .hash = t->hash,
		.header = t->header, .header_len = sizeof(t->header),
		.payload_hash = t->payload_hash, .payload = t->payload,
		.payload_len = sizeof(t->payload) - height % 50,
	};
}

static cairn_chaindb *open_db(const char *path, const char *version, bool read_only)
{
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.version = version;
	opts.read_only = read_only;
	cairn_chaindb *db = NULL;
	int rc = cairn_chaindb_open(&db, path, &opts);
	if (rc != CAIRN_OK)
		fail_msg("open %s: %s", path, cairn_error_last());
	return db;
}

static void put_blocks(cairn_chaindb *db, uint32_t chain, uint64_t from, uint64_t to)
{
	for (uint64_t h = from; h <= to; h++) {
		test_block t;
		make_block(&t, chain, h);
		assert_int_equal(cairn_chaindb_put_block(db, &t.b), CAIRN_OK);
	}
}

/* Whether header, payload and rank entry of (chain, height) are present and
 * equal to what make_block produces (no cmocka asserts: threads call it). */
static bool block_matches(cairn_chaindb *db, uint32_t chain, uint64_t height)
{
	test_block t;
	make_block(&t, chain, height);
	uint8_t *header = NULL, *payload = NULL, hash[32];
	size_t header_len = 0, payload_len = 0;
	bool ok = cairn_chaindb_get_header(&header, &header_len, db, t.hash) == CAIRN_OK
		&& header_len == t.b.header_len && memcmp(header, t.header, header_len) == 0
		&& cairn_chaindb_get_payload(&payload, &payload_len, db, t.payload_hash) == CAIRN_OK
		&& payload_len == t.b.payload_len && memcmp(payload, t.payload, payload_len) == 0
		&& cairn_chaindb_hash_at(hash, db, chain, height) == CAIRN_OK
		&& memcmp(hash, t.hash, 32) == 0;
	free(header);
	free(payload);
	return ok;
}

static void check_block(cairn_chaindb *db, uint32_t chain, uint64_t height)
{
	assert_true(block_matches(db, chain, height));
}

static void check_cut(cairn_chaindb *db, uint32_t chain, uint64_t height)
{
	cairn_chaindb_cut cut;
	assert_int_equal(cairn_chaindb_get_cut(&cut, db), CAIRN_OK);
	assert_true(cut.present[chain]);
	assert_int_equal(cut.height[chain], height);
	test_block t;
	make_block(&t, chain, height);
	assert_memory_equal(cut.hash[chain], t.hash, 32);
}

static void test_put_get_and_reopen(void **state)
{
	char path[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "db/0/rocksDb");
	cairn_chaindb *db = open_db(path, VERSION, false);
	put_blocks(db, 0, 0, 20);
	put_blocks(db, 3, 852054, 852060);
	check_block(db, 0, 7);
	check_cut(db, 0, 20);
	check_cut(db, 3, 852060);
	assert_int_equal(cairn_chaindb_sync(db), CAIRN_OK);
	cairn_chaindb_close(db);

	db = open_db(path, VERSION, false);
	assert_string_equal(cairn_chaindb_version(db), VERSION);
	check_block(db, 3, 852054);
	check_cut(db, 0, 20);
	cairn_chaindb_cut cut;
	assert_int_equal(cairn_chaindb_get_cut(&cut, db), CAIRN_OK);
	assert_false(cut.present[1]);
	uint8_t hash[32];
	assert_int_equal(cairn_chaindb_hash_at(hash, db, 0, 21), CAIRN_ENOTFOUND);
	/* the tips were reloaded: the chain continues at 21, not elsewhere */
	put_blocks(db, 0, 21, 21);
	test_block t;
	make_block(&t, 0, 23);
	assert_int_equal(cairn_chaindb_put_block(db, &t.b), CAIRN_EINVALID);
	cairn_chaindb_close(db);
}

static void test_refused_block_leaves_nothing(void **state)
{
	char path[PATH_MAX];
	cairn_chaindb *db = open_db(store_fixture_path(path, sizeof(path), state, "db"), VERSION, false);
	put_blocks(db, 2, 10, 12);
	test_block t;
	make_block(&t, 2, 12); /* not the successor of the tip */
	store_fixture_hash(t.hash, 0xee, 2, 12);
	store_fixture_hash(t.payload_hash, 0xef, 2, 12);
	assert_int_equal(cairn_chaindb_put_block(db, &t.b), CAIRN_EINVALID);
	uint8_t *value;
	size_t len;
	assert_int_equal(cairn_chaindb_get_header(&value, &len, db, t.hash), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_chaindb_get_payload(&value, &len, db, t.payload_hash), CAIRN_ENOTFOUND);
	check_cut(db, 2, 12);
	t.b.chain = CAIRN_CHAINDB_MAX_CHAINS;
	assert_int_equal(cairn_chaindb_put_block(db, &t.b), CAIRN_EINVALID);
	cairn_chaindb_close(db);
}

static void test_version_mismatch_refused(void **state)
{
	char path[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "db");
	cairn_chaindb_close(open_db(path, VERSION, false));
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.version = "mainnet01";
	cairn_chaindb *db = NULL;
	assert_int_equal(cairn_chaindb_open(&db, path, &opts), CAIRN_EINVALID);
	assert_null(db);
	assert_non_null(strstr(cairn_error_last(), "development"));
	opts.version = NULL; /* a writable open must name its version */
	assert_int_equal(cairn_chaindb_open(&db, path, &opts), CAIRN_EINVALID);
	opts.read_only = true; /* a read-only open may accept any */
	assert_int_equal(cairn_chaindb_open(&db, path, &opts), CAIRN_OK);
	assert_string_equal(cairn_chaindb_version(db), VERSION);
	cairn_chaindb_close(db);
}

static void test_missing_database_not_created_when_asked(void **state)
{
	char path[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "absent");
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.version = VERSION;
	opts.create_if_missing = false;
	cairn_chaindb *db = NULL;
	assert_int_equal(cairn_chaindb_open(&db, path, &opts), CAIRN_ENOTFOUND);
	opts.read_only = true;
	assert_int_equal(cairn_chaindb_open(&db, path, &opts), CAIRN_ENOTFOUND);
	assert_false(cairn_fs_exists(path));
}

static void test_rank_iteration_order(void **state)
{
	char path[PATH_MAX];
	cairn_chaindb *db = open_db(store_fixture_path(path, sizeof(path), state, "db"), VERSION, false);
	/* heights cross byte boundaries (255/256, 65535/65536) so a little-endian
	 * encoding would iterate out of order */
	put_blocks(db, 1, 250, 300);
	put_blocks(db, 0, 65530, 65540);
	put_blocks(db, 2, 0, 3);
	cairn_chaindb_rank_iter *it;
	assert_int_equal(cairn_chaindb_rank_iter_create(&it, db, 1, 254), CAIRN_OK);
	uint64_t height, expect = 254;
	uint8_t hash[32];
	int rc;
	while ((rc = cairn_chaindb_rank_iter_next(&height, hash, it)) == CAIRN_OK) {
		test_block t;
		make_block(&t, 1, expect);
		assert_int_equal(height, expect);
		assert_memory_equal(hash, t.hash, 32);
		expect++;
	}
	assert_int_equal(rc, CAIRN_ENOTFOUND);
	assert_int_equal(expect, 301); /* stopped at chain 1's end, not in chain 2 */
	cairn_chaindb_rank_iter_free(it);

	assert_int_equal(cairn_chaindb_rank_iter_create(&it, db, 0, 0), CAIRN_OK);
	assert_int_equal(cairn_chaindb_rank_iter_next(&height, hash, it), CAIRN_OK);
	assert_int_equal(height, 65530);
	cairn_chaindb_rank_iter_free(it);

	assert_int_equal(cairn_chaindb_rank_iter_create(&it, db, 5, 0), CAIRN_OK);
	assert_int_equal(cairn_chaindb_rank_iter_next(&height, hash, it), CAIRN_ENOTFOUND);
	cairn_chaindb_rank_iter_free(it);
	cairn_chaindb_close(db);
}

typedef struct atomicity_run {
	cairn_chaindb *db;
	atomic_bool done;
	int reads, torn;
} atomicity_run;

/* Whenever the cut names a block, that block's header, payload and rank
 * entry must already be readable. */
static void *cut_reader(void *arg)
{
	atomicity_run *run = arg;
	while (!atomic_load(&run->done)) {
		cairn_chaindb_cut cut;
		if (cairn_chaindb_get_cut(&cut, run->db) != CAIRN_OK)
			run->torn++;
		for (uint32_t c = 0; c < 4; c++)
			if (cut.present[c] && !block_matches(run->db, c, cut.height[c]))
				run->torn++;
		run->reads++;
	}
	return NULL;
}

static void test_block_appears_whole_to_concurrent_reader(void **state)
{
	char path[PATH_MAX];
	atomicity_run run = {.db = open_db(store_fixture_path(path, sizeof(path), state, "db"), VERSION, false)};
	atomic_init(&run.done, false);
	pthread_t reader;
	assert_int_equal(pthread_create(&reader, NULL, cut_reader, &run), 0);
	for (uint64_t h = 0; h < 3000; h++)
		put_blocks(run.db, (uint32_t)(h % 4), h / 4, h / 4);
	atomic_store(&run.done, true);
	pthread_join(reader, NULL);
	assert_true(run.reads > 0);
	assert_int_equal(run.torn, 0);
	cairn_chaindb_close(run.db);
}

static void test_checkpoint_freezes_state(void **state)
{
	char path[PATH_MAX], cp[PATH_MAX];
	cairn_chaindb *db = open_db(store_fixture_path(path, sizeof(path), state, "db"), VERSION, false);
	put_blocks(db, 0, 0, 500);
	assert_int_equal(cairn_chaindb_flush(db), CAIRN_OK); /* chain 0 in a table file... */
	put_blocks(db, 1, 0, 400);                           /* ...chain 1 in the live WAL */
	store_fixture_path(cp, sizeof(cp), state, "backup-0-rocksDb");
	assert_int_equal(cairn_chaindb_checkpoint(db, cp), CAIRN_OK);
	put_blocks(db, 0, 501, 600); /* the source keeps changing afterwards */
	assert_int_equal(cairn_chaindb_checkpoint(db, cp), CAIRN_EEXISTS);

	cairn_chaindb *copy = open_db(cp, NULL, true);
	check_cut(copy, 0, 500);
	check_cut(copy, 1, 400);
	check_block(copy, 0, 500);
	check_block(copy, 1, 0);
	uint8_t hash[32];
	assert_int_equal(cairn_chaindb_hash_at(hash, copy, 0, 501), CAIRN_ENOTFOUND);
	check_cut(db, 0, 600);
	cairn_chaindb_close(copy);
	cairn_chaindb_close(db);

	/* the checkpoint is a complete database: it reopens writable and grows */
	copy = open_db(cp, VERSION, false);
	put_blocks(copy, 0, 501, 501);
	check_cut(copy, 0, 501);
	cairn_chaindb_close(copy);
}

/* The chain database compacts universally, merging at 8 sorted runs (see
 * "Compaction" in chaindb.c: the table files that uploads re-send): the
 * OPTIONS file RocksDB writes on open records what is in effect. */
static void test_universal_compaction_in_effect(void **state)
{
	char path[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "db/0/rocksDb");
	cairn_chaindb *db = open_db(path, VERSION, false);
	put_blocks(db, 0, 0, 5);
	cairn_chaindb_close(db);
	DIR *d = opendir(path);
	assert_non_null(d);
	char name[PATH_MAX] = "";
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "OPTIONS-", 8) == 0 && strcmp(e->d_name, name) > 0)
			snprintf(name, sizeof(name), "%s", e->d_name);
	closedir(d);
	assert_true(name[0] != '\0');
	char file[PATH_MAX + 16];
	snprintf(file, sizeof(file), "%s/%s", path, name);
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text, "compaction_style=kCompactionStyleUniversal"));
	assert_non_null(strstr(text, "level0_file_num_compaction_trigger=8\n"));
	assert_non_null(strstr(text, "max_size_amplification_percent=400;"));
	assert_non_null(strstr(text, ";size_ratio=1;"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_put_get_and_reopen),
		STORE_TEST(test_refused_block_leaves_nothing),
		STORE_TEST(test_version_mismatch_refused),
		STORE_TEST(test_missing_database_not_created_when_asked),
		STORE_TEST(test_rank_iteration_order),
		STORE_TEST(test_block_appears_whole_to_concurrent_reader),
		STORE_TEST(test_checkpoint_freezes_state),
		STORE_TEST(test_universal_compaction_in_effect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
