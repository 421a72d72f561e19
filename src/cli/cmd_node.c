/*
 * cmd_node.c: `cairn node`: build the configuration, then run the node.
 */
#include "cli/commands.h"
#include "config/config.h"
#include "util/error.h"

#include <stdio.h>

int cairn_cmd_node(int argc, char **argv)
{
	cairn_config cfg;
	if (cairn_config_init(&cfg) != CAIRN_OK) {
		fprintf(stderr, "cairn: %s\n", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	cairn_config_action action;
	int status = CAIRN_EXIT_OK;
	if (cairn_config_from_args(&cfg, &action, argc, argv) != CAIRN_OK) {
		fprintf(stderr, "cairn: configuration error: %s\n", cairn_error_last());
		status = CAIRN_EXIT_USAGE;
	} else if (action == CAIRN_CONFIG_HELP) {
		cairn_config_write_help(stdout);
	} else if (action == CAIRN_CONFIG_PRINT) {
		status = cairn_config_write_yaml(stdout, &cfg) == CAIRN_OK ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
	} else {
		fprintf(stderr, "cairn: the node is not implemented yet\n");
		status = CAIRN_EXIT_FAILURE;
	}
	cairn_config_free(&cfg);
	return status;
}
