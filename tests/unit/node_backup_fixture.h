/* Support code shared by the tests that need a real node's backup: a node
 * producing at full rate until its cut passes a height, then one backup
 * with Pact, made through the node's own backup manager. */
#ifndef CAIRN_TESTS_NODE_BACKUP_FIXTURE_H
#define CAIRN_TESTS_NODE_BACKUP_FIXTURE_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup.h"
#include "config/config.h"
#include "node/node.h"
#include "store_fixture.h"

/* Makes the backup in <fixture>/backups; its directory's parent into
 * backups (PATH_MAX bytes) and its id into id. */
static inline void node_backup_make(char *backups, char id[CAIRN_BACKUP_ID_MAX + 1], void **state, uint64_t height)
{
	cairn_config cfg;
	char db[PATH_MAX];
	assert_int_equal(cairn_config_init(&cfg), CAIRN_OK);
	free(cfg.database_directory);
	cfg.database_directory = strdup(store_fixture_path(db, sizeof(db), state, "db"));
	cfg.backup_directory = strdup(store_fixture_path(backups, PATH_MAX, state, "backups"));
	cfg.block_rate = CAIRN_BLOCK_RATE_MAX;
	cfg.log_level = CAIRN_LOG_WARN;
	cairn_node *node = NULL;
	assert_int_equal(cairn_node_open(&node, &cfg), CAIRN_OK);
	for (;;) {
		cairn_node_cut cut;
		cairn_node_get_cut(&cut, node);
		uint64_t sum = 0;
		for (uint32_t c = 0; c < CAIRN_GRAPH_MAX_ORDER; c++)
			sum += cut.present[c] ? cut.height[c] : 0;
		if (sum >= height)
			break;
		usleep(10000);
	}
	bool started;
	cairn_backup_request req = CAIRN_BACKUP_REQUEST_INIT;
	req.include_pact = true;
	assert_int_equal(cairn_backup_start(id, &started, cairn_node_backups(node), &req), CAIRN_OK);
	cairn_backup_wait_idle(cairn_node_backups(node));
	cairn_backup_state st;
	assert_int_equal(cairn_backup_state_of(&st, cairn_node_backups(node), id), CAIRN_OK);
	assert_int_equal(st, CAIRN_BACKUP_DONE);
	cairn_node_close(node);
	cairn_config_free(&cfg);
}

#endif
