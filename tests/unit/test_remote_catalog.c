/* Unit tests for the remote catalogue's layout (remote/layout.c): the keys
 * of the object layout, the remote manifest's round trip, and its refusal
 * of anything that would lead a restore outside its directory or a
 * deletion outside the layout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/catalog.h"
#include "util/error.h"

#define SHA_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define SHA_B "0b00000000000000000000000000000000000000000000000000000000000002"

static void test_keys(void **state)
{
	(void)state;
	char key[CAIRN_REMOTE_KEY_MAX], full[CAIRN_REMOTE_KEY_MAX];
	assert_int_equal(cairn_remote_object_key(key, sizeof(key), SHA_A), CAIRN_OK);
	assert_string_equal(key, "objects/sha256/aa/" SHA_A);
	assert_int_equal(cairn_remote_file_key(key, sizeof(key), "1700", "0/sqlite/pact-v1-chain-0.sqlite"), CAIRN_OK);
	assert_string_equal(key, "backups/1700/files/0/sqlite/pact-v1-chain-0.sqlite");
	assert_int_equal(cairn_remote_manifest_key(key, sizeof(key), "1700"), CAIRN_OK);
	assert_int_equal(cairn_remote_key(full, sizeof(full), "a/b", key), CAIRN_OK);
	assert_string_equal(full, "a/b/backups/1700/manifest.json");
	assert_int_equal(cairn_remote_key(full, sizeof(full), "", key), CAIRN_OK);
	assert_string_equal(full, "backups/1700/manifest.json");
	assert_int_equal(cairn_remote_marker_key(key, sizeof(key), "1700"), CAIRN_OK);
	assert_string_equal(key, "uploads/1700");
	assert_true(cairn_remote_id_is_valid("1700"));
	assert_false(cairn_remote_id_is_valid("../x"));
	assert_false(cairn_remote_id_is_valid(""));
}

static void build(cairn_remote_manifest *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "1700");
	snprintf(m->chainweb_version, sizeof(m->chainweb_version), "development");
	m->completed_at = 1700;
	m->uploaded_at = 1800;
	m->pact_included = true;
	m->cut_height = 12345678901234ULL;
	m->backup_manifest = strdup("{\"format\":\"cairn-backup\",\"files\":[]}");
	assert_int_equal(cairn_remote_manifest_add(m, "0/rocksDb/000012.sst", "objects/sha256/aa/" SHA_A, 100, SHA_A),
		CAIRN_OK);
	assert_int_equal(cairn_remote_manifest_add(m, "0/sqlite/pact-v1-chain-0.sqlite",
		"backups/1700/files/0/sqlite/pact-v1-chain-0.sqlite", 200, SHA_B), CAIRN_OK);
}

static void test_round_trip(void **state)
{
	(void)state;
	cairn_remote_manifest m, back;
	build(&m);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(cairn_remote_manifest_encode(&text, &len, &m), CAIRN_OK);
	assert_int_equal(cairn_remote_manifest_decode(&back, text, len), CAIRN_OK);
	assert_string_equal(back.id, "1700");
	assert_int_equal(back.cut_height, 12345678901234ULL);
	assert_true(back.pact_included);
	assert_int_equal(back.count, 2);
	assert_int_equal(cairn_remote_manifest_bytes(&back), 300);
	assert_string_equal(back.objects[1].key, "backups/1700/files/0/sqlite/pact-v1-chain-0.sqlite");
	assert_string_equal(back.objects[0].sha256, SHA_A);
	assert_non_null(strstr(back.backup_manifest, "cairn-backup"));
	free(text);
	cairn_remote_manifest_free(&back);
	cairn_remote_manifest_free(&m);
}

/* Replaces the first `from` in the encoded manifest with `to` and expects a
 * refusal naming `reason`. */
static void expect_refused(const char *from, const char *to, const char *reason)
{
	cairn_remote_manifest m, back;
	build(&m);
	char *text = NULL, edited[8192];
	size_t len = 0;
	assert_int_equal(cairn_remote_manifest_encode(&text, &len, &m), CAIRN_OK);
	char *at = strstr(text, from);
	assert_non_null(at);
	snprintf(edited, sizeof(edited), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	assert_int_equal(cairn_remote_manifest_decode(&back, edited, strlen(edited)), CAIRN_EINVALID);
	if (strstr(cairn_error_last(), reason) == NULL)
		fail_msg("'%s' does not say '%s'", cairn_error_last(), reason);
	free(text);
	cairn_remote_manifest_free(&m);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refused("0/rocksDb/000012.sst", "0/rocksDb/../../etc/passwd", "is not inside");
	expect_refused("0/rocksDb/000012.sst", "../000012.sst", "is not inside");
	expect_refused("objects/sha256/aa/" SHA_A, "objects/sha256/aa/../../backups/other", "not one of the layout's");
	expect_refused("backups/1700/files/0/sqlite", "backups/1699/files/0/sqlite", "not one of the layout's");
	expect_refused(SHA_B "\"", "XYZ\"", "sha256 is not 64");
	expect_refused("0/sqlite/pact-v1-chain-0.sqlite\"", "0/rocksDb/000012.sst\"", "not one of the layout's");
	expect_refused("cairn-remote-backup", "cairn-backup", "not a cairn remote manifest");
	expect_refused("\"id\"", "\"ident\"", "are required");
	cairn_remote_manifest back;
	assert_int_equal(cairn_remote_manifest_decode(&back, "[1,2]", 5), CAIRN_EINVALID);
	assert_int_equal(cairn_remote_manifest_decode(&back, "{", 1), CAIRN_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
