/*
 * commands.c: the subcommand table.  Adding a subcommand means one row here
 * and one cairn_cmd_* function in its own src/cli/cmd_<name>.c.
 */
#include "cli/commands.h"

const cairn_command cairn_commands[] = {
	{"node", "run the node (the default when no subcommand is given)", cairn_cmd_node},
	{"header", "verify, decode and encode block headers (stdin to stdout)", cairn_cmd_header},
	{"import", "validate and commit block headers and payloads from a file or stdin", cairn_cmd_import},
	{"export", "write every stored block as event lines that import reads", cairn_cmd_export},
	{"backup", "verify, restore, list and delete backups (cairn backup --help)", cairn_cmd_backup},
	{0},
};
