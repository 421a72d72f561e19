/*
 * fuzz_backup_unpack.c: libFuzzer target for the unpacking of a downloaded
 * backup archive (backup/unpack.h), the untrusted input of `cairn backup
 * restore FILE.tar.zst`.  Each input is written as the archive and unpacked
 * beside <root>/sub/db.  Properties: no crash or out-of-bounds read; the
 * answer is CAIRN_OK or a refusal with a reason; on a refusal nothing is
 * left in <root>/sub; on success the backup directory is inside the
 * staging directory; and nothing ever appears in <root> itself, where an
 * entry escaping the staging directory by `..` would land.
 */
#include "backup/unpack.h"
#include "util/error.h"
#include "util/fs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char root[64], sub[128], archive[128], database[160];

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		abort();
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void cleanup(void)
{
	cairn_fs_remove_tree(root);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/cairn-fuzz-unpack-XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(sub, sizeof(sub), "%s/sub", root);
	snprintf(archive, sizeof(archive), "%s/in.tar.zst", root);
	snprintf(database, sizeof(database), "%s/db", sub);
	if (cairn_fs_mkdir_p(sub) != CAIRN_OK)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (root[0] == '\0')
		setup();
	FILE *f = fopen(archive, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	cairn_backup_unpacked u;
	int rc = cairn_backup_unpack(&u, archive, database);
	if (rc == CAIRN_OK) {
		if (strncmp(u.backup, u.staging, strlen(u.staging)) != 0 || u.backup[strlen(u.staging)] != '/')
			abort();
		if (cairn_backup_unpack_remove(&u) != CAIRN_OK)
			abort();
	} else if ((rc != CAIRN_EINVALID && rc != CAIRN_EIO) || cairn_error_last()[0] == '\0') {
		abort();
	}
	if (entries(sub) != 0 || entries(root) != 2)
		abort();
	return 0;
}
