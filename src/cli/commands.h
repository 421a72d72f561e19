/*
 * commands.h: the subcommands of the `cairn` program.
 *
 * Each takes argv with argv[0] = the subcommand name and returns the process
 * exit status: 0 success, 1 failure, 2 usage or configuration error.
 */
#ifndef CAIRN_CLI_COMMANDS_H
#define CAIRN_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#define CAIRN_EXIT_OK 0
#define CAIRN_EXIT_FAILURE 1
#define CAIRN_EXIT_USAGE 2

typedef struct cairn_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} cairn_command;

int cairn_cmd_node(int argc, char **argv);
int cairn_cmd_header(int argc, char **argv);
int cairn_cmd_import(int argc, char **argv);
int cairn_cmd_export(int argc, char **argv);
int cairn_cmd_backup(int argc, char **argv);

/* The `cairn backup` subcommands that reach a remote (cmd_backup_remote.c):
 * upload, list --remote, verify s3://..., restore s3://..., delete --remote. */
bool cairn_cmd_backup_is_remote(int argc, char **argv);
int cairn_cmd_backup_remote(int argc, char **argv, const char *usage);

/* The table main() dispatches on, terminated by a zeroed entry. */
extern const cairn_command cairn_commands[];

#endif
