/* Unit tests for src/config/config_example.c: the commented example file
 * lists every key of --print-config, each described, and with the '#' in
 * front of its setting and section lines removed it loads back to the
 * configuration it was written from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/error.h"
#include "util/fs.h"

static char scratch[256];

static int make_scratch(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/cairn-test-config-example-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int remove_scratch(void **state)
{
	(void)state;
	return cairn_fs_remove_tree(scratch) == CAIRN_OK ? 0 : -1;
}

static int load(cairn_config *cfg, cairn_config_action *action, char **args, int count)
{
	char *argv[32] = {"node"};
	for (int i = 0; i < count && i < 31; i++)
		argv[i + 1] = args[i];
	assert_int_equal(cairn_config_init(cfg), CAIRN_OK);
	return cairn_config_from_args(cfg, action, count + 1, argv);
}

static char *text_of(int (*writer)(FILE *, const cairn_config *), const cairn_config *cfg)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	assert_non_null(f);
	assert_int_equal(writer(f, cfg), CAIRN_OK);
	fclose(f);
	return text;
}

/* "#", spaces, a key, ':' then a space or the end: a setting or section line. */
static bool is_commented_setting(const char *line)
{
	if (line[0] != '#')
		return false;
	const char *p = line + 1 + strspn(line + 1, " ");
	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p))
		p++;
	return p[0] == ':' && (p[1] == ' ' || p[1] == '\0');
}

static void test_example_lists_and_describes_every_key(void **state)
{
	(void)state;
	cairn_config cfg;
	cairn_config_action action;
	char *args[] = {"--print-example-config"};
	assert_int_equal(load(&cfg, &action, args, 1), CAIRN_OK);
	assert_int_equal(action, CAIRN_CONFIG_EXAMPLE);
	char *yaml = text_of(cairn_config_write_yaml, &cfg);
	char *example = text_of(cairn_config_write_example, &cfg);
	int settings = 0;
	char *save = NULL;
	for (char *line = strtok_r(yaml, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char want[512];
		snprintf(want, sizeof(want), "\n#%s\n", line);
		assert_non_null(strstr(example, want));
		if (line[strlen(line) - 1] != ':') { /* a setting: the line above describes it */
			const char *end = strstr(example, want); /* the '\n' ending the line above */
			const char *above = end;
			while (above > example && above[-1] != '\n')
				above--;
			above += strspn(above, " ");
			assert_true(above < end && strncmp(above, "## ", 3) == 0);
			settings++;
		}
	}
	assert_true(settings >= 20);
	assert_non_null(strstr(example, "--service-port)."));
	free(yaml);
	free(example);
	cairn_config_free(&cfg);
}

static void test_uncommented_example_loads_back(void **state)
{
	(void)state;
	char dir[300], path[320];
	snprintf(dir, sizeof(dir), "%s/bk \"quoted\" : dir # not a comment", scratch);
	cairn_config cfg;
	cairn_config_action action;
	char *args[] = {"--backup-directory", dir, "--enable-backup-api", "--service-port", "0",
		"--block-rate", "max", "--log-level", "debug", "--backup-schedule-interval", "6h",
		"--chainweb-version", "test-singleton", "--print-example-config"};
	assert_int_equal(load(&cfg, &action, args, sizeof(args) / sizeof(args[0])), CAIRN_OK);
	char *example = text_of(cairn_config_write_example, &cfg);

	/* As written, everything is commented out: the file changes nothing. */
	snprintf(path, sizeof(path), "%s/commented.yaml", scratch);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(example, f);
	fclose(f);
	cairn_config plain;
	char *plain_args[] = {"--config-file", path};
	assert_int_equal(load(&plain, &action, plain_args, 2), CAIRN_OK);
	assert_int_equal(plain.service_port, CAIRN_DEFAULT_PORT);
	assert_null(plain.backup_directory);
	cairn_config_free(&plain);

	snprintf(path, sizeof(path), "%s/uncommented.yaml", scratch);
	f = fopen(path, "w");
	assert_non_null(f);
	char *save = NULL;
	int uncommented = 0;
	for (char *line = strtok_r(example, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool setting = is_commented_setting(line);
		uncommented += setting;
		fprintf(f, "%s\n", setting ? line + 1 : line);
	}
	fclose(f);
	assert_true(uncommented >= 25);

	cairn_config again;
	char *again_args[] = {"--config-file", path};
	assert_int_equal(load(&again, &action, again_args, 2), CAIRN_OK);
	assert_string_equal(again.backup_directory, dir);
	assert_true(again.backup_api_enabled);
	assert_int_equal(again.service_port, 0);
	assert_true(again.block_rate == CAIRN_BLOCK_RATE_MAX);
	assert_int_equal(again.log_level, CAIRN_LOG_DEBUG);
	assert_true(again.backup_schedule_interval == 6 * 3600);
	assert_string_equal(again.chainweb_version, "test-singleton");
	char *first = text_of(cairn_config_write_yaml, &cfg);
	char *second = text_of(cairn_config_write_yaml, &again);
	assert_string_equal(first, second);
	free(first);
	free(second);
	free(example);
	cairn_config_free(&again);
	cairn_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_lists_and_describes_every_key),
		cmocka_unit_test(test_uncommented_example_loads_back),
	};
	return cmocka_run_group_tests(tests, make_scratch, remove_scratch);
}
