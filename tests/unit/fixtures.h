/*
 * fixtures.h: reading files of tests/fixtures from unit tests.  The
 * directory comes from CAIRN_FIXTURES (set by the test runner), falling back
 * to tests/fixtures relative to the working directory.
 */
#ifndef CAIRN_TESTS_FIXTURES_H
#define CAIRN_TESTS_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/fs.h"

/* The path of fixture `name` in buf. */
static inline const char *fixture_path(char *buf, size_t cap, const char *name)
{
	const char *dir = getenv("CAIRN_FIXTURES");
	snprintf(buf, cap, "%s/%s", dir ? dir : "tests/fixtures", name);
	return buf;
}

/* The whole fixture, NUL-terminated and malloc'd; NULL (with the reason on
 * stderr) when it cannot be read. */
static inline char *read_fixture(size_t *len, const char *name)
{
	char path[4096];
	char *text = NULL;
	if (cairn_fs_read_file(&text, len, fixture_path(path, sizeof(path), name)) != CAIRN_OK) {
		fprintf(stderr, "fixture %s: %s\n", name, cairn_error_last());
		return NULL;
	}
	return text;
}

#endif
