/*
 * backup_common.h: what the three halves of `cairn backup` share
 * (backup_common.c): the offline commands (cmd_backup.c), the client of a
 * running node (cmd_backup_client.c) and the commands on a remote
 * (cmd_backup_remote.c).
 */
#ifndef CAIRN_CLI_BACKUP_COMMON_H
#define CAIRN_CLI_BACKUP_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One option of a command line: `name` (and `alias`, when not NULL) takes
 * a value stored in *value, or, when value is NULL, is a flag setting
 * *flag.  A table of them ends with a row whose name is NULL. */
typedef struct cairn_backup_option {
	const char *name;
	const char *alias;
	const char **value;
	bool *flag;
} cairn_backup_option;

/* Prints "cairn backup[ COMMAND]: <fmt with what> (see cairn backup --help)"
 * on stderr and returns CAIRN_EXIT_USAGE.  command may be NULL. */
int cairn_backup_usage_error(const char *command, const char *fmt, const char *what);

/* Parses argv[2..argc) of `cairn backup argv[1] ...` against `options`,
 * and --log-level LEVEL, which every command takes and which applies at
 * once.  When help is not NULL, --help and -h set *help and end the parse.
 * Up to `max` other arguments go to positional[], their number to *count.
 * CAIRN_EXIT_OK, or CAIRN_EXIT_USAGE with the message printed naming
 * `command` (cairn_backup_usage_error). */
int cairn_backup_parse_args(const char **positional, int *count, int max, bool *help,
	const cairn_backup_option *options, const char *command, int argc, char **argv);

/* Prints "problem: TEXT" on stdout at once (a verification's callback). */
void cairn_backup_print_problem(void *ctx, const char *text);

/* One backup of a listing, local or remote. */
typedef struct cairn_backup_row {
	const char *id;
	bool has_time; /* the id is UNIX milliseconds */
	uint64_t time_ms;
	const char *status;
	bool running;
	bool has_cut;  /* the rest is known */
	bool pact_included;
	uint64_t cut_height;
	uint64_t bytes;
} cairn_backup_row;

/* Fills *out with backup `i` of `list`. */
typedef void (*cairn_backup_row_fn)(cairn_backup_row *out, const void *list, size_t i);

/* Prints the `count` backups of `list` on stdout: a JSON array when
 * `json`, else a table with a heading, one line each. */
void cairn_backup_print_list(const void *list, size_t count, cairn_backup_row_fn row, bool json);

#endif
