/* Support code shared by the store tests: a fresh temporary directory per test,
 * removed afterwards, and deterministic 32-byte hashes. */
#ifndef CAIRN_TESTS_STORE_FIXTURE_H
#define CAIRN_TESTS_STORE_FIXTURE_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

typedef struct store_fixture {
	char dir[PATH_MAX];
} store_fixture;

static inline int store_fixture_setup(void **state)
{
	store_fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/cairn-store-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int store_fixture_teardown(void **state)
{
	store_fixture *f = *state;
	cairn_fs_remove_tree(f->dir);
	free(f);
	return 0;
}

/* Registers a test that gets a fresh directory (cmocka's setup/teardown). */
#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_fixture_setup, store_fixture_teardown)

/* "<fixture dir>/<name>" into buf. */
static inline const char *store_fixture_path(char *buf, size_t size, void **state, const char *name)
{
	store_fixture *f = *state;
	if (snprintf(buf, size, "%s/%s", f->dir, name) >= (int)size)
		abort();
	return buf;
}

/* A hash that encodes (tag, a, b) so tests can recompute what they stored. */
static inline void store_fixture_hash(uint8_t *out, uint8_t tag, uint64_t a, uint64_t b)
{
	memset(out, tag, 32);
	memcpy(out + 1, &a, sizeof(a));
	memcpy(out + 9, &b, sizeof(b));
}

#endif
