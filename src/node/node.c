/*
 * node.c: the node core of node.h.
 *
 * The database directory is locked for the whole life of the node with an
 * open-file-description lock on <database-directory>/LOCK: the kernel drops
 * it when the process dies, so a crash never leaves a stale lock, and a
 * second process on the same directory is refused before it touches
 * anything.
 *
 * Opening order: lock, chain database, Pact databases (one per chain of the
 * version's largest graph, opened for background checkpoints and grouped
 * commits), commit path,
 * recovery, missing genesis blocks, checkpointer, storage guard (guard.h),
 * producer, backup manager.
 * Closing runs it backwards: the producer stops before anything it writes to closes, the
 * commit path publishes what is committed, and the validated cut is
 * recorded only after that.
 *
 * A chain database without blocks is new (first start, or its directory
 * was removed): Pact databases left beside it cannot belong to it and are
 * removed before they are opened, so they are rebuilt with the chain.
 *
 * The backup manager (when a backup directory is configured) reaches the
 * stores through a cairn_backup_source built from the accessors below, so
 * the backup engine never depends on the node.  It opens last and closes
 * first: a running job is stopped and its Pact snapshots ended before any
 * store closes.  A worker that starts right after the manager and stops
 * right before it checks the backup directory every second and runs the
 * schedule (when an interval is configured).
 */
#include "node/node.h"
#include "backup/schedule.h"
#include "config/config_remote.h"
#include "node/checkpointer.h"
#include "node/commit.h"
#include "node/guard.h"
#include "node/producer.h"
#include "node/recovery.h"
#include "node/worker.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct cairn_node {
	const cairn_version *version;
	char *database_directory;
	cairn_fs_lock *lock;
	atomic_bool draining;
	uint32_t chains; /* chains of the version's largest graph */
	cairn_chaindb *chaindb;
	cairn_pactdb *pactdbs[CAIRN_GRAPH_MAX_ORDER];
	cairn_commit *commit;
	cairn_checkpointer *checkpointer;
	cairn_guard *guard;
	int table_files;       /* RocksDB's max_open_files (the descriptor budget) */
	unsigned reserved_fds; /* descriptors the stores may hold: not for connections */
	cairn_producer *producer;
	bool recovered; /* the stores agree and were validated: the cut may be recorded at close */
	cairn_backup_manager *backups;
	cairn_backup_schedule_options schedule;
	cairn_worker *backup_watch; /* the directory check and the schedule */
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

/* Every second, checks that the backup directory is still there (and
 * locked); with a schedule, ticks at a fixed cadence from the start:
 * start + n * interval. */
static void watch_backups(cairn_worker *w, void *arg)
{
	cairn_node *node = arg;
	double start = cairn_clock_now(), interval = node->schedule.interval_seconds;
	double n = 1, next_tick = interval > 0 ? start + interval : INFINITY;
	for (double now = start; cairn_worker_sleep_until(w, fmin(now + 1.0, next_tick)); now = cairn_clock_now()) {
		cairn_backup_manager_check_directory(node->backups);
		if (cairn_clock_now() >= next_tick) {
			cairn_backup_schedule_tick(node->backups, &node->schedule);
			next_tick = start + ++n * interval;
		}
	}
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
	opts.rate_limit_bps = (uint64_t)cfg->backup_rate_limit;
	opts.retention.keep_last = cfg->backup_retention_keep_last;
	opts.retention.max_age_seconds = cfg->backup_retention_max_age;
	cairn_backup_remote *remote = NULL;
	int rc = cairn_config_remote(&remote, cfg);
	opts.remote = remote;
	if (rc == CAIRN_OK)
		rc = cairn_backup_manager_open(&node->backups, &source, &opts);
	if (rc == CAIRN_OK && remote != NULL)
		cairn_log_info("backup", "backups are copied to %s (%s)", remote->url,
			remote->upload_always ? "every backup once sealed" : "by cairn backup upload only");
	cairn_backup_remote_free(remote);
	if (rc != CAIRN_OK)
		return rc;
	node->schedule.interval_seconds = cfg->backup_schedule_interval > 0 ? cfg->backup_schedule_interval : 0;
	node->schedule.include_pact = cfg->backup_schedule_pact;
	rc = cairn_worker_start(&node->backup_watch, "backup-watch", watch_backups, node);
	if (rc == CAIRN_OK && node->schedule.interval_seconds > 0)
		cairn_log_info("backup", "scheduled backups every %g s (%s Pact)", node->schedule.interval_seconds,
			node->schedule.include_pact ? "with" : "without");
	return rc;
}

/* ---- the descriptor budget ---- */

/* Descriptors the stores may hold at once besides RocksDB's table files:
 * per chain, the Pact file and its WAL on three connections and a backup's
 * snapshot (9 were measured on an idle chain); RocksDB's WAL, MANIFEST,
 * LOG and directories, the process's logs, event descriptors, the storage
 * probe and the server's spare (FIXED_FDS); two per backup copy.  RocksDB
 * keeps up to 256 table files open, fewer when the open-file limit is low,
 * so that MIN_CONNECTIONS are always left for clients; below 32 it is
 * not lowered further, and the server then refuses to start. */
#define PACT_FDS_PER_CHAIN 12
#define FIXED_FDS 96
#define MIN_CONNECTIONS 64
#define TABLE_FILES_MAX 256
#define TABLE_FILES_MIN 32

static void plan_descriptors(cairn_node *node, const cairn_config *cfg)
{
	long parallelism = cfg->backup_parallelism > 0 ? cfg->backup_parallelism : sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long long others = (unsigned long long)PACT_FDS_PER_CHAIN * node->chains + FIXED_FDS +
		2ULL * (unsigned long long)(parallelism > 0 ? parallelism : 1);
	struct rlimit rl;
	unsigned long long limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
		? rl.rlim_cur : 1ULL << 20;
	unsigned long long spare = limit > others + MIN_CONNECTIONS ? limit - others - MIN_CONNECTIONS : 0;
	node->table_files = spare > TABLE_FILES_MAX ? TABLE_FILES_MAX : spare < TABLE_FILES_MIN ? TABLE_FILES_MIN
		: (int)spare;
	node->reserved_fds = (unsigned)(others + (unsigned long long)node->table_files);
	cairn_log_info("node", "file descriptors: %u of %llu reserved for the stores (RocksDB keeps at most %d "
		"table files open), the rest for connections", node->reserved_fds, limit, node->table_files);
}

unsigned cairn_node_reserved_descriptors(const cairn_node *node)
{
	return node->reserved_fds;
}

static int open_chaindb(cairn_node *node, bool *is_new)
{
	char path[PATH_MAX];
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.version = node->version->name;
	opts.max_open_files = node->table_files;
	int rc = cairn_chaindb_path(path, sizeof(path), node->database_directory);
	if (rc == CAIRN_OK)
		rc = cairn_chaindb_open(&node->chaindb, path, &opts);
	cairn_chaindb_cut cut;
	if (rc == CAIRN_OK)
		rc = cairn_chaindb_get_cut(&cut, node->chaindb);
	*is_new = true;
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < CAIRN_CHAINDB_MAX_CHAINS; chain++)
		*is_new = *is_new && !cut.present[chain];
	return rc;
}

/* Removes a Pact database file with its WAL and shared-memory files. */
static int remove_pactdb(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char file[PATH_MAX];
		if (snprintf(file, sizeof(file), "%s%s", path, suffixes[i]) >= (int)sizeof(file))
			return cairn_error_set(CAIRN_EINVALID, "path too long: '%s'", path);
		if (unlink(file) != 0 && errno != ENOENT)
			return cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", file);
	}
	return CAIRN_OK;
}

static int open_pactdbs(cairn_node *node, bool remove_stale)
{
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.wal_autocheckpoint_pages = CAIRN_PACTDB_VALVE_PAGES;
	opts.group_blocks = CAIRN_CHECKPOINTER_GROUP_BLOCKS;
	int rc = CAIRN_OK;
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < node->chains; chain++) {
		char path[PATH_MAX];
		rc = cairn_pactdb_path(path, sizeof(path), node->database_directory, chain);
		if (rc == CAIRN_OK && remove_stale && cairn_fs_exists(path)) {
			cairn_log_warn("node", "the chain database is new: removing the stale Pact database '%s'", path);
			rc = remove_pactdb(path);
		}
		if (rc == CAIRN_OK)
			rc = cairn_pactdb_open(&node->pactdbs[chain], path, &opts);
	}
	return rc;
}

/* Genesis blocks of the chains that exist from the version's start; chains
 * added later by a graph change get theirs when first needed (commit.h). */
static int write_genesis_blocks(cairn_node *node)
{
	uint64_t first = UINT64_MAX, height;
	for (uint32_t chain = 0; chain < node->chains; chain++)
		if (cairn_version_genesis_height(&height, node->version, chain) == CAIRN_OK && height < first)
			first = height;
	int rc = CAIRN_OK;
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < node->chains; chain++)
		if (cairn_version_genesis_height(&height, node->version, chain) == CAIRN_OK && height == first)
			rc = cairn_commit_genesis(node->commit, chain);
	/* Published (durable and in the cut) before the service API can be
	 * asked: the first /cut shows every genesis block. */
	if (rc == CAIRN_OK)
		cairn_commit_flush(node->commit);
	return rc;
}

static int start_producer(cairn_node *node, const cairn_config *cfg)
{
	if (cfg->block_rate == 0)
		return CAIRN_OK;
	if (!node->version->has_block_producer) {
		cairn_log_info("producer", "%s has no block producer: not producing", node->version->name);
		return CAIRN_OK;
	}
	cairn_producer_options opts = CAIRN_PRODUCER_OPTIONS_INIT;
	opts.block_rate = cfg->block_rate;
	opts.transactions_per_block = (size_t)cfg->transactions_per_block;
	return cairn_producer_start(&node->producer, node->commit, node->version, &opts);
}

static int start_guard(cairn_node *node, const cairn_config *cfg)
{
	cairn_guard_options opts = CAIRN_GUARD_OPTIONS_INIT;
	opts.database_directory = node->database_directory;
	opts.min_free_bytes = (uint64_t)cfg->database_min_free_mib * 1024 * 1024;
	return cairn_guard_start(&node->guard, node->commit, &opts);
}

static int attach(cairn_node *node, const cairn_config *cfg)
{
	bool is_new;
	plan_descriptors(node, cfg);
	int rc = open_chaindb(node, &is_new);
	if (rc == CAIRN_OK)
		rc = open_pactdbs(node, is_new);
	if (rc == CAIRN_OK)
		rc = cairn_commit_create(&node->commit, node->version, node->chaindb, node->pactdbs);
	if (rc == CAIRN_OK)
		rc = cairn_recovery_run(node->commit, node->version, node->pactdbs, node->database_directory);
	node->recovered = rc == CAIRN_OK;
	if (rc == CAIRN_OK)
		rc = write_genesis_blocks(node);
	if (rc == CAIRN_OK)
		rc = cairn_checkpointer_start(&node->checkpointer, node->pactdbs, node->chains);
	if (rc == CAIRN_OK)
		rc = start_guard(node, cfg);
	if (rc == CAIRN_OK)
		rc = start_producer(node, cfg);
	if (rc == CAIRN_OK)
		rc = open_backups(node, cfg);
	return rc;
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
	node->chains = cairn_version_latest_graph(version)->order;
	atomic_init(&node->draining, false);
	log_settings(cfg);
	int rc = lock_database_directory(node);
	if (rc == CAIRN_OK) {
		cairn_log_info("node", "database directory %s locked", node->database_directory);
		rc = attach(node, cfg);
	}
	if (rc != CAIRN_OK) {
		cairn_node_close(node);
		return rc;
	}
	*out = node;
	return CAIRN_OK;
}

static void detach(cairn_node *node)
{
	cairn_guard_stop(node->guard);
	cairn_producer_stop(node->producer);
	if (node->commit != NULL) {
		cairn_commit_flush(node->commit);
		if (node->recovered && cairn_recovery_mark_validated(node->commit, node->version,
			node->database_directory) != CAIRN_OK)
			cairn_log_warn("node", "%s", cairn_error_last());
	}
	cairn_checkpointer_stop(node->checkpointer);
	cairn_commit_free(node->commit);
	for (uint32_t chain = 0; chain < node->chains; chain++)
		cairn_pactdb_close(node->pactdbs[chain]);
	cairn_chaindb_close(node->chaindb);
}

void cairn_node_close(cairn_node *node)
{
	if (node == NULL)
		return;
	cairn_worker_stop(node->backup_watch);
	cairn_backup_manager_close(node->backups);
	detach(node);
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

void cairn_node_get_cut(cairn_node_cut *out, cairn_node *node)
{
	cairn_commit_get_cut(out, node->commit);
}

const cairn_graph *cairn_node_current_graph(const cairn_node *node)
{
	cairn_node_cut cut;
	cairn_commit_get_cut(&cut, node->commit);
	uint64_t highest = 0;
	for (uint32_t chain = 0; chain < CAIRN_GRAPH_MAX_ORDER; chain++)
		if (cut.present[chain] && cut.height[chain] > highest)
			highest = cut.height[chain];
	return cairn_version_graph_at(node->version, highest);
}

int cairn_node_commit_block(cairn_node *node, const cairn_header *header, cairn_payload *payload,
	unsigned flags)
{
	return cairn_commit_block(node->commit, header, payload, flags);
}

void cairn_node_flush(cairn_node *node)
{
	cairn_commit_flush(node->commit);
}

int cairn_node_load_block(cairn_header *header, cairn_payload *payload, bool *has_payload, cairn_node *node,
	uint32_t chain, uint64_t height)
{
	return cairn_commit_load_block(header, payload, has_payload, node->commit, chain, height);
}

int cairn_node_add_block_listener(cairn_node *node, cairn_node_block_listener fn, void *ctx)
{
	return cairn_commit_add_listener(node->commit, fn, ctx);
}

void cairn_node_remove_block_listener(cairn_node *node, cairn_node_block_listener fn, void *ctx)
{
	cairn_commit_remove_listener(node->commit, fn, ctx);
}

int cairn_node_with_commit_lock(cairn_node *node, int (*fn)(void *arg), void *arg)
{
	return cairn_commit_with_lock(node->commit, fn, arg);
}

struct cairn_chaindb *cairn_node_chaindb(cairn_node *node)
{
	return node->chaindb;
}

struct cairn_pactdb *cairn_node_pactdb(cairn_node *node, uint32_t chain)
{
	return chain < node->chains ? node->pactdbs[chain] : NULL;
}

cairn_backup_manager *cairn_node_backups(cairn_node *node)
{
	return node->backups;
}

/* Adds the sizes of the RocksDB write-ahead logs (*.log) in `dir`. */
static uint64_t log_bytes(const char *dir)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".log") == 0 &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

static bool fs_space(uint64_t *free_bytes, uint64_t *size_bytes, const char *path)
{
	struct statvfs vfs;
	if (path == NULL || statvfs(path, &vfs) != 0)
		return false;
	*free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*size_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	return true;
}

void cairn_node_get_storage(cairn_node_storage *out, cairn_node *node)
{
	memset(out, 0, sizeof(*out));
	char path[PATH_MAX + 8];
	if (cairn_chaindb_path(path, sizeof(path), node->database_directory) == CAIRN_OK)
		out->chaindb_wal_bytes = log_bytes(path);
	out->chains = node->chains;
	struct stat st;
	for (uint32_t chain = 0; chain < node->chains; chain++) {
		if (cairn_pactdb_path(path, PATH_MAX, node->database_directory, chain) != CAIRN_OK)
			continue;
		strcat(path, "-wal");
		if (stat(path, &st) == 0)
			out->pact_wal_bytes[chain] = (uint64_t)st.st_size;
	}
	out->has_database_fs = fs_space(&out->database_free_bytes, &out->database_size_bytes, node->database_directory);
	if (node->backups != NULL)
		out->has_backup_fs = fs_space(&out->backup_free_bytes, &out->backup_size_bytes,
			cairn_backup_manager_directory(node->backups));
}

void cairn_node_begin_drain(cairn_node *node)
{
	atomic_store(&node->draining, true);
}

bool cairn_node_is_healthy(cairn_node *node, char *reason, size_t size)
{
	if (node->commit == NULL) {
		snprintf(reason, size, "the node is not open");
		return false;
	}
	cairn_commit_state state = cairn_commit_state_of(node->commit, reason, size);
	return state == CAIRN_COMMIT_RUNNING;
}

bool cairn_node_restart_wanted(cairn_node *node)
{
	return cairn_guard_restart_wanted(node->guard);
}

bool cairn_node_is_draining(const cairn_node *node)
{
	return atomic_load_explicit(&((cairn_node *)node)->draining, memory_order_relaxed);
}
