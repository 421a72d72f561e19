/*
 * fuzz_remote_manifest.c: libFuzzer target for remote manifests, the one
 * file cairn reads from an object store and then acts on (downloads into
 * paths, deletes by key).  Properties: no crash or out-of-bounds read;
 * CAIRN_OK or CAIRN_EINVALID with a reason; an accepted manifest names only
 * paths inside 0/rocksDb or 0/sqlite and keys of the layout, and encodes
 * and decodes back to the same objects.
 */
#include "remote/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void check_object(const cairn_remote_manifest *m, const cairn_remote_object *o)
{
	char expected[CAIRN_REMOTE_KEY_MAX];
	if (strncmp(o->path, "0/rocksDb/", 10) != 0 && strncmp(o->path, "0/sqlite/", 9) != 0)
		abort();
	if (strstr(o->path, "/../") != NULL || strchr(strchr(o->path + 2, '/') + 1, '/') != NULL)
		abort();
	bool content = cairn_remote_object_key(expected, sizeof(expected), o->sha256) == CAIRN_OK &&
		strcmp(expected, o->key) == 0;
	bool own = cairn_remote_file_key(expected, sizeof(expected), m->id, o->path) == CAIRN_OK &&
		strcmp(expected, o->key) == 0;
	if (!content && !own)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cairn_remote_manifest m, again;
	int rc = cairn_remote_manifest_decode(&m, (const char *)data, size);
	if (rc != CAIRN_OK) {
		if (rc != CAIRN_EINVALID || cairn_error_last()[0] == '\0')
			abort();
		return 0;
	}
	for (size_t i = 0; i < m.count; i++)
		check_object(&m, &m.objects[i]);
	char *text = NULL;
	size_t len = 0;
	if (cairn_remote_manifest_encode(&text, &len, &m) != CAIRN_OK ||
	    cairn_remote_manifest_decode(&again, text, len) != CAIRN_OK || again.count != m.count)
		abort();
	for (size_t i = 0; i < m.count; i++)
		if (strcmp(again.objects[i].key, m.objects[i].key) != 0 || again.objects[i].size != m.objects[i].size)
			abort();
	free(text);
	cairn_remote_manifest_free(&again);
	cairn_remote_manifest_free(&m);
	return 0;
}
