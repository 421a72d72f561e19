/*
 * offline.h: what the commands that work on a database directory without
 * serving it (`cairn import`, `cairn export`) share: the node's own options
 * (`cairn node --help`: --database-directory, --chainweb-version,
 * --config-file, --log-level...) configure them, and they open the node
 * core with no block producer and no service port.  The directory lock
 * refuses a directory a running node holds.
 */
#ifndef CAIRN_CLI_OFFLINE_H
#define CAIRN_CLI_OFFLINE_H

#include "node/node.h"

/*
 * Opens the node for `cairn <command>` with the options argv[1..argc)
 * (argv[0] is the command).  Prints what goes wrong itself and returns the
 * exit status; *out is NULL unless it returns CAIRN_EXIT_OK with a node
 * (--print-config prints the configuration and leaves *out NULL).
 */
int cairn_offline_open(cairn_node **out, const char *command, int argc, char **argv);

#endif
