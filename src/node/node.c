/*
 * node.c: the node core of node.h.
 *
 * The database directory is locked for the whole life of the node with an
 * open-file-description lock on <database-directory>/LOCK: the kernel drops
 * it when the process dies, so a crash never leaves a stale lock, and a
 * second process on the same directory is refused before it touches
 * anything.
 *
 * The backup manager (when a backup directory is configured) reaches the
 * stores through a cairn_backup_source built from the accessors below, so
 * the backup engine never depends on the node.  It opens after the stores
 * attach and closes before they detach: a running job is stopped and its
 * Pact snapshots ended before any store closes.
 *
 * Until the chain database is attached the node has no cut beyond genesis,
 * so the current graph is the one in force at height 0.  The stores, the
 * producer and the event hub attach in cairn_node_open (after the lock) and
 * detach in cairn_node_close (before the unlock), in reverse order.
 */
#include "node/node.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn_node {
	const cairn_version *version;
	char *database_directory;
	cairn_fs_lock *lock;
	uint64_t cut_max_height; /* highest block height in the current cut */
	atomic_bool draining;
	cairn_backup_manager *backups;
};

static void log_settings(const cairn_config *cfg)
{
	char rate[32];
	if (cfg->block_rate == CAIRN_BLOCK_RATE_MAX)
		snprintf(rate, sizeof(rate), "max");
	else
		snprintf(rate, sizeof(rate), "%g/s", cfg->block_rate);
	cairn_log_info("node", "cairn %s: chainweb version %s, database directory %s, service API %s port %d, "
		"drain %g s, backup API %s%s%s, block rate %s, %d transactions per block, log level %s%s%s",
		CAIRN_VERSION, cfg->chainweb_version, cfg->database_directory, cfg->service_interface,
		cfg->service_port, cfg->drain_seconds, cfg->backup_api_enabled ? "enabled" : "disabled",
		cfg->backup_directory ? ", backup directory " : "", cfg->backup_directory ? cfg->backup_directory : "",
		rate, cfg->transactions_per_block, cairn_log_level_name(cfg->log_level),
		cfg->config_file ? ", config file " : "", cfg->config_file ? cfg->config_file : "");
}

static int lock_database_directory(cairn_node *node)
{
	int rc = cairn_fs_mkdir_p(node->database_directory);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "database directory");
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/LOCK", node->database_directory) >= (int)sizeof(path))
		return cairn_error_set(CAIRN_EINVALID, "database directory path too long: '%s'", node->database_directory);
	rc = cairn_fs_lock_acquire(&node->lock, path);
	if (rc == CAIRN_EBUSY)
		return cairn_error_prefix(rc, "database directory %s is in use", node->database_directory);
	return rc;
}

/* ---- the backup manager's source ---- */

static int backup_with_commit_lock(void *node, int (*fn)(void *arg), void *arg)
{
	return cairn_node_with_commit_lock(node, fn, arg);
}

static struct cairn_chaindb *backup_chaindb(void *node)
{
	return cairn_node_chaindb(node);
}

static struct cairn_pactdb *backup_pactdb(void *node, uint32_t chain)
{
	return cairn_node_pactdb(node, chain);
}

static int open_backups(cairn_node *node, const cairn_config *cfg)
{
	if (cfg->backup_directory == NULL)
		return CAIRN_OK;
	char staging[PATH_MAX];
	if (snprintf(staging, sizeof(staging), "%s/0/backup-staging", node->database_directory) >= (int)sizeof(staging))
		return cairn_error_set(CAIRN_EINVALID, "database directory path too long: '%s'", node->database_directory);
	cairn_backup_source source = {node, backup_with_commit_lock, backup_chaindb, backup_pactdb, staging};
	cairn_backup_options opts = CAIRN_BACKUP_OPTIONS_INIT;
	opts.directory = cfg->backup_directory;
	opts.parallelism = cfg->backup_parallelism;
	return cairn_backup_manager_open(&node->backups, &source, &opts);
}

int cairn_node_open(cairn_node **out, const cairn_config *cfg)
{
	const cairn_version *version = cairn_version_by_name(cfg->chainweb_version);
	if (version == NULL)
		return cairn_error_set(CAIRN_EINVALID, "unknown chainweb version '%s'", cfg->chainweb_version);
	cairn_node *node = calloc(1, sizeof(*node));
	if (node == NULL || (node->database_directory = strdup(cfg->database_directory)) == NULL) {
		free(node);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	node->version = version;
	atomic_init(&node->draining, false);
	log_settings(cfg);
	int rc = lock_database_directory(node);
	if (rc != CAIRN_OK) {
		cairn_node_close(node);
		return rc;
	}
	cairn_log_info("node", "database directory %s locked", node->database_directory);
	rc = open_backups(node, cfg);
	if (rc != CAIRN_OK) {
		cairn_node_close(node);
		return rc;
	}
	*out = node;
	return CAIRN_OK;
}

void cairn_node_close(cairn_node *node)
{
	if (node == NULL)
		return;
	cairn_backup_manager_close(node->backups);
	if (node->lock) {
		cairn_fs_lock_release(node->lock);
		cairn_log_info("node", "database directory %s released", node->database_directory);
	}
	free(node->database_directory);
	free(node);
}

const cairn_version *cairn_node_version(const cairn_node *node)
{
	return node->version;
}

const cairn_graph *cairn_node_current_graph(const cairn_node *node)
{
	return cairn_version_graph_at(node->version, node->cut_max_height);
}

/* Placeholders until the commit path and the stores are attached. */
int cairn_node_with_commit_lock(cairn_node *node, int (*fn)(void *arg), void *arg)
{
	(void)node;
	return fn(arg);
}

struct cairn_chaindb *cairn_node_chaindb(cairn_node *node)
{
	(void)node;
	return NULL;
}

struct cairn_pactdb *cairn_node_pactdb(cairn_node *node, uint32_t chain)
{
	(void)node;
	(void)chain;
	return NULL;
}

cairn_backup_manager *cairn_node_backups(cairn_node *node)
{
	return node->backups;
}

void cairn_node_begin_drain(cairn_node *node)
{
	atomic_store(&node->draining, true);
}

bool cairn_node_is_draining(const cairn_node *node)
{
	return atomic_load_explicit(&((cairn_node *)node)->draining, memory_order_relaxed);
}
