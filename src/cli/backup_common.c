/*
 * backup_common.c: the argument parsing, usage errors and output that
 * cmd_backup.c, cmd_backup_client.c and cmd_backup_remote.c share, so that
 * the three kinds of `cairn backup` command read their options and print
 * their problems and listings the same way.
 *
 * Invariants: a parse either succeeds with every value option given its
 * value, or prints exactly one usage line; local and remote listings have
 * the same columns and JSON keys.
 */
#include "cli/backup_common.h"

#include "backup/catalog.h"
#include "cli/commands.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int cairn_backup_usage_error(const char *command, const char *fmt, const char *what)
{
	fprintf(stderr, command != NULL ? "cairn backup %s: " : "cairn backup: ", command);
	fprintf(stderr, fmt, what);
	fputs(" (see cairn backup --help)\n", stderr);
	return CAIRN_EXIT_USAGE;
}

static const cairn_backup_option *find_option(const cairn_backup_option *options, const char *arg)
{
	for (; options->name != NULL; options++)
		if (strcmp(arg, options->name) == 0 || (options->alias != NULL && strcmp(arg, options->alias) == 0))
			return options;
	return NULL;
}

int cairn_backup_parse_args(const char **positional, int *count, int max, bool *help,
	const cairn_backup_option *options, const char *command, int argc, char **argv)
{
	*count = 0;
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const cairn_backup_option *o = find_option(options, arg);
		bool log_level = strcmp(arg, "--log-level") == 0;
		cairn_log_level level;
		if ((log_level || (o != NULL && o->value != NULL)) && i + 1 >= argc)
			return cairn_backup_usage_error(command, "%s needs a value", arg);
		if (log_level) {
			if (cairn_log_level_parse(&level, argv[++i]) != CAIRN_OK)
				return cairn_backup_usage_error(command, "unknown log level '%s'", argv[i]);
			cairn_log_set_level(level);
		} else if (o != NULL && o->value != NULL) {
			*o->value = argv[++i];
		} else if (o != NULL) {
			*o->flag = true;
		} else if (help != NULL && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			*help = true;
			return CAIRN_EXIT_OK;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return cairn_backup_usage_error(command, "unknown option '%s'", arg);
		} else if (*count == max) {
			return cairn_backup_usage_error(command, "unexpected argument '%s'", arg);
		} else {
			positional[(*count)++] = arg;
		}
	}
	return CAIRN_EXIT_OK;
}

void cairn_backup_print_problem(void *ctx, const char *text)
{
	(void)ctx;
	printf("problem: %s\n", text);
	fflush(stdout);
}

static json_object *row_json(const cairn_backup_row *b)
{
	char time[32];
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(b->id));
	if (b->has_time)
		cairn_backup_format_time(time, b->time_ms);
	json_object_object_add(obj, "time", b->has_time ? json_object_new_string(time) : NULL);
	json_object_object_add(obj, "status", json_object_new_string(b->status));
	json_object_object_add(obj, "running", json_object_new_boolean(b->running));
	json_object_object_add(obj, "bytes", b->has_cut ? json_object_new_uint64(b->bytes) : NULL);
	json_object_object_add(obj, "pactIncluded", b->has_cut ? json_object_new_boolean(b->pact_included) : NULL);
	json_object_object_add(obj, "cutHeight", b->has_cut ? json_object_new_uint64(b->cut_height) : NULL);
	return obj;
}

static void print_row_line(const cairn_backup_row *b)
{
	char time[32] = "-", size[32] = "-", height[32] = "-";
	if (b->has_time)
		cairn_backup_format_time(time, b->time_ms);
	if (b->has_cut) {
		snprintf(size, sizeof(size), "%.1f MB", (double)b->bytes / 1e6);
		snprintf(height, sizeof(height), "%" PRIu64, b->cut_height);
	}
	printf("%-20s %-24s %-18s %12s  %-7s %s\n", b->id, time, b->running ? "backup-in-progress" : b->status, size,
		b->has_cut ? (b->pact_included ? "pact" : "no-pact") : "-", height);
}

void cairn_backup_print_list(const void *list, size_t count, cairn_backup_row_fn row, bool json)
{
	cairn_backup_row r;
	json_object *array = json ? json_object_new_array() : NULL;
	if (!json)
		printf("%-20s %-24s %-18s %12s  %-7s %s\n", "ID", "TIME (UTC)", "STATUS", "SIZE", "PACT", "CUT HEIGHT");
	for (size_t i = 0; i < count; i++) {
		row(&r, list, i);
		if (json)
			json_object_array_add(array, row_json(&r));
		else
			print_row_line(&r);
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(array, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(array);
	}
}
