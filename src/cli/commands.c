/*
 * commands.c: the subcommand table.  Adding a subcommand means one row here
 * and one cairn_cmd_* function in its own src/cli/cmd_<name>.c.
 */
#include "cli/commands.h"

const cairn_command cairn_commands[] = {
	{"node", "run the node (the default when no subcommand is given)", cairn_cmd_node},
	{"header", "verify, decode and encode block headers (stdin to stdout)", cairn_cmd_header},
	{0},
};
