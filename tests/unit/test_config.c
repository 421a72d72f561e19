/* Unit tests for src/config: YAML files good and bad, flag parsing, the
 * precedence defaults < file < flags, and --print-config round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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
	snprintf(scratch, sizeof(scratch), "/tmp/cairn-test-config-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int remove_scratch(void **state)
{
	(void)state;
	return cairn_fs_remove_tree(scratch) == CAIRN_OK ? 0 : -1;
}

/* Writes `text` to scratch/name and returns the path in a static buffer. */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Runs cairn_config_from_args on a NULL-terminated flag list. */
static int load(cairn_config *cfg, cairn_config_action *action, const char *first, ...)
{
	char *argv[32] = {"node"};
	int argc = 1;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	assert_int_equal(cairn_config_init(cfg), CAIRN_OK);
	return cairn_config_from_args(cfg, action, argc, argv);
}

static void assert_error_mentions(const char *a, const char *b)
{
	const char *msg = cairn_error_last();
	if (strstr(msg, a) == NULL || (b && strstr(msg, b) == NULL))
		fail_msg("error '%s' does not mention '%s' and '%s'", msg, a, b ? b : "");
}

static void test_defaults(void **state)
{
	(void)state;
	cairn_config cfg;
	cairn_config_action action;
	assert_int_equal(load(&cfg, &action, NULL), CAIRN_OK);
	assert_int_equal(action, CAIRN_CONFIG_RUN);
	assert_string_equal(cfg.chainweb_version, "development");
	assert_string_equal(cfg.service_interface, "127.0.0.1");
	assert_int_equal(cfg.service_port, 1848);
	assert_string_equal(cfg.database_directory, "cairn-data");
	assert_false(cfg.backup_api_enabled);
	assert_null(cfg.backup_directory);
	cairn_config_free(&cfg);
}

/* The snippet of the backup documents, verbatim, at the top level and under chainweb:. */
static void test_seed_snippet_both_forms(void **state)
{
	(void)state;
	char dir[300], top[600], nested[600];
	snprintf(dir, sizeof(dir), "%s/backups", scratch);
	snprintf(top, sizeof(top), "backup:\n  api:\n    enabled: true\n  directory: %s\n", dir);
	snprintf(nested, sizeof(nested),
		"chainweb:\n  backup:\n    api:\n      enabled: true\n    directory: %s\n", dir);
	const char *texts[] = {top, nested};
	for (int i = 0; i < 2; i++) {
		cairn_config cfg;
		cairn_config_action action;
		const char *path = write_file("seed.yaml", texts[i]);
		assert_int_equal(load(&cfg, &action, "--config-file", path, NULL), CAIRN_OK);
		assert_true(cfg.backup_api_enabled);
		assert_string_equal(cfg.backup_directory, dir);
		assert_true(cairn_fs_is_dir(dir));
		cairn_config_free(&cfg);
	}
}

static void test_precedence_default_file_flag(void **state)
{
	(void)state;
	const char *path = write_file("p.yaml",
		"chainweb:\n  chainwebVersion: mainnet01\n  serviceApi:\n    port: 2000\n    interface: \"::1\"\n");
	cairn_config cfg;
	cairn_config_action action;
	assert_int_equal(load(&cfg, &action, "--service-port", "3000", "--config-file", path, NULL), CAIRN_OK);
	assert_int_equal(cfg.service_port, 3000);                /* flag beats file, whatever the order */
	assert_string_equal(cfg.chainweb_version, "mainnet01"); /* file beats default */
	assert_string_equal(cfg.service_interface, "::1");
	assert_string_equal(cfg.database_directory, "cairn-data"); /* default stays */
	cairn_config_free(&cfg);
}

static void expect_file_error(const char *yaml, const char *line, const char *key)
{
	const char *path = write_file("bad.yaml", yaml);
	cairn_config cfg;
	cairn_config_action action;
	assert_int_equal(load(&cfg, &action, "--config-file", path, NULL), CAIRN_EINVALID);
	char where[600];
	snprintf(where, sizeof(where), "%s:%s", path, line);
	assert_error_mentions(where, key);
	cairn_config_free(&cfg);
}

static void test_bad_files_name_file_line_and_key(void **state)
{
	(void)state;
	expect_file_error("serviceApi:\n  port: 70000\n", "2", "serviceApi.port");
	expect_file_error("serviceApi:\n  port: twelve\n", "2", "serviceApi.port");
	expect_file_error("chainweb:\n  colour: blue\n", "2", "colour");
	expect_file_error("serviceApi:\n  prot: 1\n", "2", "serviceApi.prot");
	expect_file_error("backup:\n  api:\n    enabled: maybe\n", "3", "backup.api.enabled");
	expect_file_error("backup:\n  api: [1, 2]\n", "2", "backup.api");
	expect_file_error("serviceApi:\n  port:\n    - 1\n", "2", "serviceApi.port");
	expect_file_error("chainwebVersion: mainnet02\n", "1", "chainwebVersion");
	expect_file_error("serviceApi:\n  interface: localhost-ish\n", "2", "serviceApi.interface");
	expect_file_error("backup:\n  api:\n    enabled: true\n", "3", "backup directory");
	expect_file_error("serviceApi: {port: 1\n", "", "invalid YAML");
	expect_file_error("- a\n- b\n", "1", "mapping");
	/* infinite once scaled: --print-config printed "infs", which no load accepts (fuzz_config_yaml) */
	expect_file_error("backup:\n  schedule:\n    interval: 1e308d\n", "3", "backup.schedule.interval");
	expect_file_error("backup:\n  retention:\n    maxAge: \"1e306h\"\n", "3", "backup.retention.maxAge");
	/* finite but past 100 years: printed, it no longer read back as itself (fuzz_config_yaml) */
	expect_file_error("backup:\n  schedule:\n    interval: \"1e106d\"\n", "3", "backup.schedule.interval");
}

static void test_backup_directory_must_be_creatable(void **state)
{
	(void)state;
	char blocker[300], inside[320];
	snprintf(blocker, sizeof(blocker), "%s/a-file", scratch);
	write_file("a-file", "not a directory\n");
	snprintf(inside, sizeof(inside), "%s/sub", blocker);
	cairn_config cfg;
	cairn_config_action action;
	assert_int_equal(load(&cfg, &action, "--backup-directory", inside, NULL), CAIRN_EINVALID);
	assert_error_mentions("--backup-directory", "backup.directory");
	cairn_config_free(&cfg);
}

static void test_bad_flags(void **state)
{
	(void)state;
	cairn_config cfg;
	cairn_config_action action;
	assert_int_equal(load(&cfg, &action, "--no-such-flag", NULL), CAIRN_EINVALID);
	assert_error_mentions("--no-such-flag", NULL);
	cairn_config_free(&cfg);
	assert_int_equal(load(&cfg, &action, "--service-port", NULL), CAIRN_EINVALID);
	assert_error_mentions("--service-port", "needs a value");
	cairn_config_free(&cfg);
	assert_int_equal(load(&cfg, &action, "--service-port=-1", NULL), CAIRN_EINVALID);
	assert_error_mentions("--service-port", "out of range");
	cairn_config_free(&cfg);
	assert_int_equal(load(&cfg, &action, "--enable-backup-api=yes", NULL), CAIRN_EINVALID);
	cairn_config_free(&cfg);
	assert_int_equal(load(&cfg, &action, "--config-file", "/nonexistent/cairn.yaml", NULL), CAIRN_EINVALID);
	assert_error_mentions("/nonexistent/cairn.yaml", NULL);
	cairn_config_free(&cfg);
	assert_int_equal(load(&cfg, &action, "--block-rate", "fast", NULL), CAIRN_EINVALID);
	cairn_config_free(&cfg);
	assert_int_equal(load(&cfg, &action, "--block-rate", "max", "--help", NULL), CAIRN_OK);
	assert_int_equal(action, CAIRN_CONFIG_HELP);
	cairn_config_free(&cfg);
}

/* --print-config writes YAML that loads back to the same configuration. */
static void test_print_config_round_trip(void **state)
{
	(void)state;
	char dir[300], path[320];
	snprintf(dir, sizeof(dir), "%s/bk \"quoted\" : dir", scratch);
	cairn_config cfg;
	cairn_config_action action;
	assert_int_equal(load(&cfg, &action, "--backup-directory", dir, "--enable-backup-api",
		"--service-port", "0", "--block-rate", "max", "--log-level", "debug",
		"--chainweb-version", "test-singleton", "--backup-schedule-interval", "1234567.25s",
		"--backup-retention-max-age", "3650d", "--print-config", NULL), CAIRN_OK);
	assert_int_equal(action, CAIRN_CONFIG_PRINT);
	snprintf(path, sizeof(path), "%s/printed.yaml", scratch);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(cairn_config_write_yaml(f, &cfg), CAIRN_OK);
	fclose(f);

	cairn_config again;
	assert_int_equal(load(&again, &action, "--config-file", path, NULL), CAIRN_OK);
	assert_string_equal(again.backup_directory, dir);
	assert_true(again.backup_api_enabled);
	assert_int_equal(again.service_port, 0);
	assert_true(again.block_rate == CAIRN_BLOCK_RATE_MAX);
	assert_int_equal(again.log_level, CAIRN_LOG_DEBUG);
	assert_string_equal(again.chainweb_version, "test-singleton");
	assert_true(again.backup_schedule_interval == 1234567.25); /* every digit printed */
	assert_true(again.backup_retention_max_age == 3650 * 86400.0);
	cairn_config_free(&again);
	cairn_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_seed_snippet_both_forms),
		cmocka_unit_test(test_precedence_default_file_flag),
		cmocka_unit_test(test_bad_files_name_file_line_and_key),
		cmocka_unit_test(test_backup_directory_must_be_creatable),
		cmocka_unit_test(test_bad_flags),
		cmocka_unit_test(test_print_config_round_trip),
	};
	return cmocka_run_group_tests(tests, make_scratch, remove_scratch);
}
