/*
 * offline.c: opening the node for offline commands (offline.h).
 */
#include "cli/offline.h"
#include "cli/commands.h"
#include "config/config.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>

int cairn_offline_open(cairn_node **out, const char *command, int argc, char **argv)
{
	*out = NULL;
	cairn_config cfg;
	if (cairn_config_init(&cfg) != CAIRN_OK) {
		fprintf(stderr, "cairn %s: %s\n", command, cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	cairn_config_action action;
	int status = CAIRN_EXIT_OK;
	if (cairn_config_from_args(&cfg, &action, argc, argv) != CAIRN_OK) {
		fprintf(stderr, "cairn %s: configuration error: %s\n", command, cairn_error_last());
		status = CAIRN_EXIT_USAGE;
	} else if (action == CAIRN_CONFIG_PRINT) {
		status = cairn_config_write_yaml(stdout, &cfg) == CAIRN_OK ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
	} else if (action == CAIRN_CONFIG_EXAMPLE) {
		status = cairn_config_write_example(stdout, &cfg) == CAIRN_OK ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
	} else {
		cairn_log_set_level(cfg.log_level);
		cfg.block_rate = 0;
		if (cairn_node_open(out, &cfg) != CAIRN_OK) {
			fprintf(stderr, "cairn %s: %s\n", command, cairn_error_last());
			status = CAIRN_EXIT_FAILURE;
		}
	}
	cairn_config_free(&cfg);
	return status;
}
