/*
 * fuzz_manifest.c: libFuzzer target for the manifest reader
 * (cairn_backup__manifest_parse, what verify, restore, list and download
 * run on a backup's manifest.json).  Properties: no crash or out-of-bounds
 * read on any bytes; the answer is CAIRN_OK or CAIRN_EINVALID with a
 * reason; and a manifest that is accepted lists only paths a restore may
 * write: "0/rocksDb/NAME" or "0/sqlite/NAME", NAME one component that is
 * neither "." nor "..", no NUL, no duplicates, each file either linked or
 * with a 64-digit lowercase SHA-256, never both.  The seeds hold every
 * hostile path kind: "..", absolute paths, NUL, very long names,
 * duplicates, sizes beyond any file, wrong JSON types.
 */
#include "backup/manifest.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void check_path(const cairn_backup_manifest_file *f)
{
	const char *name = strncmp(f->path, "0/rocksDb/", 10) == 0 ? f->path + 10
		: strncmp(f->path, "0/sqlite/", 9) == 0 ? f->path + 9 : NULL;
	if (name == NULL || *name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(f->path) >= 256)
		abort();
	if (f->linked ? f->sha256[0] != '\0'
		      : strlen(f->sha256) != 64 || strspn(f->sha256, "0123456789abcdef") != 64)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, so reading past them is caught. */
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	cairn_backup_manifest m = {0};
	int rc = cairn_backup__manifest_parse(&m, text, size);
	if (rc != CAIRN_OK && (rc != CAIRN_EINVALID || cairn_error_last()[0] == '\0'))
		abort();
	if (rc == CAIRN_OK) {
		if (m.id == NULL || m.chainweb_version == NULL)
			abort();
		for (size_t i = 0; i < m.file_count; i++) {
			check_path(&m.files[i]);
			for (size_t j = 0; j < i; j++)
				if (strcmp(m.files[i].path, m.files[j].path) == 0)
					abort();
		}
		(void)cairn_backup__manifest_bytes(&m);
		(void)cairn_backup__cut_height(&m.cut);
		cairn_backup_manifest again = {0};
		if (cairn_backup__manifest_parse(&again, text, size) != CAIRN_OK || again.file_count != m.file_count)
			abort();
		cairn_backup__manifest_free(&again);
	}
	cairn_backup__manifest_free(&m);
	free(text);
	return 0;
}
