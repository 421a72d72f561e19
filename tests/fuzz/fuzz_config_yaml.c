/*
 * fuzz_config_yaml.c: libFuzzer target for the YAML configuration loader
 * (cairn_config_load_file, libyaml underneath).  The input is served as a
 * file through a memfd, so the loader runs unchanged.  Properties: no
 * crash, leak or out-of-bounds read on any bytes; the answer is CAIRN_OK
 * or CAIRN_EINVALID with a reason; and a file that is accepted round-trips:
 * cairn_config_write_yaml's output of the result loads again, and printing
 * that gives the same text (so --print-config always prints a file that
 * cairn accepts).
 */
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"

static int memfd = -1;
static char memfd_path[64];

static void serve(const void *data, size_t size)
{
	if (memfd < 0) {
		memfd = memfd_create("fuzz-config", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) != 0 || (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size))
		abort();
}

/* The configuration printed as YAML, malloc'd. */
static char *print(const cairn_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	if (out == NULL || cairn_config_write_yaml(out, cfg) != CAIRN_OK)
		abort();
	fclose(out);
	return text;
}

static int load(cairn_config *cfg, const void *data, size_t size)
{
	if (cairn_config_init(cfg) != CAIRN_OK)
		abort();
	serve(data, size);
	int rc = cairn_config_load_file(cfg, memfd_path);
	if (rc != CAIRN_OK && (rc != CAIRN_EINVALID || cairn_error_last()[0] == '\0'))
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cairn_config cfg;
	if (load(&cfg, data, size) == CAIRN_OK) {
		size_t len, len2;
		char *first = print(&cfg, &len);
		cairn_config again;
		if (load(&again, first, len) != CAIRN_OK) {
			fprintf(stderr, "printed configuration does not load: %s\n%s", cairn_error_last(), first);
			abort();
		}
		char *second = print(&again, &len2);
		if (len != len2 || memcmp(first, second, len) != 0) {
			fprintf(stderr, "printed configuration changes when loaded again:\n%s----\n%s", first, second);
			abort();
		}
		free(second);
		free(first);
		cairn_config_free(&again);
	}
	cairn_config_free(&cfg);
	return 0;
}
