/*
 * manager.c: the backup directory, job ids, single flight and status
 * queries (backup.h).
 *
 * One mutex guards the manager.  `job` is the running job or the last one
 * this process ran; its state is answered from memory (so a failure whose
 * status could not be written is still reported as failed).  Older backups
 * are answered from their status files, read through the directory's
 * descriptor: openat(dir_fd, id, O_DIRECTORY | O_NOFOLLOW), then
 * openat(.., "status", O_NOFOLLOW), after the id passed
 * cairn_backup_id_is_valid().  An id therefore names exactly one entry of
 * the backup directory and nothing else: no '/', no "..", no symbolic link.
 *
 * Ids.  last_id is the greatest id issued or found among the directory's
 * all-digit names when the manager opened; a new id is
 * max(now in ms, last_id + 1), and mkdirat() of an existing name moves on
 * to the next number.  Nothing else is persisted, so nothing can go stale:
 * deleting old backups only lowers a floor that the clock has passed.
 *
 * Starting a job creates <id> and its backup-in-progress status under the
 * mutex, so concurrent start requests either create the job or see it
 * running and return its id.  The job runs on its own thread, joined
 * before the next job starts or when the manager closes.
 */
#include "backup/backup.h"
#include "backup/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#define ID_ATTEMPTS 1000

struct cairn_backup_manager {
	cairn_backup_source source;
	char *directory;
	char *staging;
	int dir_fd;
	cairn_fs_lock *lock;
	int parallelism;
	cairn_backup_retention retention;
	pthread_mutex_t mutex;
	pthread_cond_t idle;
	uint64_t last_id;
	cairn_backup_job *job; /* running or last; NULL before the first */
	bool running;
	bool joinable;
	pthread_t thread;
	atomic_bool stop;
};

bool cairn_backup_id_is_valid(const char *id)
{
	size_t len = 0;
	for (; id[len] != '\0'; len++) {
		char c = id[len];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok || len == CAIRN_BACKUP_ID_MAX)
			return false;
	}
	return len > 0;
}

/* ---- opening: recovery and the id floor ---- */

/* True when `root` holds nothing but leftovers of an interrupted status
 * write: a job that died before its status existed. */
static bool holds_only_status_temporaries(const char *root)
{
	DIR *d = opendir(root);
	if (d == NULL)
		return false;
	bool only = true;
	struct dirent *e;
	while (only && (e = readdir(d)) != NULL)
		only = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0
			|| strncmp(e->d_name, "status.tmp.", 11) == 0;
	closedir(d);
	return only;
}

/* A job an earlier process left in progress becomes failed, its data gone. */
static int recover_entry(cairn_backup_manager *m, const char *name, int *interrupted)
{
	struct stat st;
	if (fstatat(m->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
		return CAIRN_OK;
	char root[PATH_MAX];
	int rc = cairn_backup__job_path(root, sizeof(root), m->directory, name);
	cairn_backup_state state;
	int found = cairn_backup__read_status_at(&state, m->dir_fd, name);
	bool stale = found == CAIRN_OK ? state == CAIRN_BACKUP_COPYING : holds_only_status_temporaries(root);
	if (rc != CAIRN_OK || !stale)
		return rc;
	rc = cairn_backup__discard(root);
	if (rc == CAIRN_OK)
		rc = cairn_backup__mark(root, CAIRN_BACKUP_FAILED, "interrupted");
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "backup %s was interrupted", name);
	cairn_log_warn("backup", "backup %s was interrupted by the end of an earlier process: marked failed, "
		"its data removed", name);
	(*interrupted)++;
	return CAIRN_OK;
}

static int recover(cairn_backup_manager *m)
{
	int fd = dup(m->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot list backup directory '%s'", m->directory);
	}
	int rc = CAIRN_OK, interrupted = 0, backups = 0;
	struct dirent *e;
	while (rc == CAIRN_OK && (e = readdir(d)) != NULL) {
		uint64_t id;
		if (cairn_backup__numeric_id(&id, e->d_name) && id > m->last_id)
			m->last_id = id;
		if (!cairn_backup_id_is_valid(e->d_name))
			continue;
		rc = recover_entry(m, e->d_name, &interrupted);
		backups++;
	}
	closedir(d);
	if (rc == CAIRN_OK)
		rc = cairn_fs_remove_tree(m->staging); /* an interrupted job's staging checkpoint */
	if (rc == CAIRN_OK)
		cairn_log_info("backup", "backup directory %s: %d entries, %d interrupted jobs marked failed, "
			"greatest id %" PRIu64, m->directory, backups, interrupted, m->last_id);
	return rc;
}

static int open_directory(cairn_backup_manager *m)
{
	int rc = cairn_fs_mkdir_p(m->directory);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "backup directory");
	m->dir_fd = open(m->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->dir_fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot open backup directory '%s'", m->directory);
	char lock_path[PATH_MAX];
	rc = cairn_backup__job_path(lock_path, sizeof(lock_path), m->directory, ".lock");
	if (rc == CAIRN_OK)
		rc = cairn_fs_lock_acquire(&m->lock, lock_path);
	if (rc == CAIRN_EBUSY)
		return cairn_error_prefix(rc, "backup directory %s is in use", m->directory);
	return rc == CAIRN_OK ? recover(m) : rc;
}

static int default_parallelism(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 ? (int)cpus : 1;
}

static bool source_complete(const cairn_backup_source *s)
{
	return s->with_commit_lock != NULL && s->chaindb != NULL && s->pactdb != NULL && s->staging_directory != NULL;
}

int cairn_backup_manager_open(cairn_backup_manager **out, const cairn_backup_source *source,
	const cairn_backup_options *opts)
{
	if (opts->directory == NULL || !source_complete(source))
		return cairn_error_set(CAIRN_EINVALID, "backup: a directory and a complete source are required");
	cairn_backup_manager *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	m->source = *source;
	m->dir_fd = -1;
	m->directory = strdup(opts->directory);
	m->staging = strdup(source->staging_directory);
	m->source.staging_directory = m->staging;
	m->parallelism = opts->parallelism > 0 ? opts->parallelism : default_parallelism();
	m->retention = opts->retention;
	atomic_init(&m->stop, false);
	pthread_mutex_init(&m->mutex, NULL);
	pthread_cond_init(&m->idle, NULL);
	int rc = m->directory && m->staging ? open_directory(m) : cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc != CAIRN_OK) {
		cairn_backup_manager_close(m);
		return rc;
	}
	*out = m;
	return CAIRN_OK;
}

void cairn_backup_manager_close(cairn_backup_manager *m)
{
	if (m == NULL)
		return;
	atomic_store(&m->stop, true);
	pthread_mutex_lock(&m->mutex);
	while (m->running)
		pthread_cond_wait(&m->idle, &m->mutex);
	if (m->joinable)
		pthread_join(m->thread, NULL);
	pthread_mutex_unlock(&m->mutex);
	free(m->job);
	cairn_fs_lock_release(m->lock);
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	pthread_cond_destroy(&m->idle);
	pthread_mutex_destroy(&m->mutex);
	free(m->directory);
	free(m->staging);
	free(m);
}

/* ---- jobs ---- */

static uint64_t unix_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Creates the directory of a fresh id, greater than every id before. */
static int create_job_directory(char *id, cairn_backup_manager *m)
{
	for (int attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
		if (m->last_id == UINT64_MAX)
			return cairn_error_set(CAIRN_EINVALID, "backup ids exhausted in '%s'", m->directory);
		uint64_t now = unix_ms();
		m->last_id = now > m->last_id ? now : m->last_id + 1;
		snprintf(id, CAIRN_BACKUP_ID_MAX + 1, "%" PRIu64, m->last_id);
		if (mkdirat(m->dir_fd, id, 0755) == 0)
			return fsync(m->dir_fd) == 0 ? CAIRN_OK
				: cairn_error_set_errno(CAIRN_EIO, errno, "fsync backup directory '%s'", m->directory);
		if (errno != EEXIST)
			return cairn_error_set_errno(cairn_error_from_errno(errno), errno,
				"cannot create backup '%s/%s'", m->directory, id);
	}
	return cairn_error_set(CAIRN_EEXISTS, "no free backup id in '%s'", m->directory);
}

/* Runs while the finished job still counts as running: no job starts
 * until the policy has been applied. */
static void apply_retention(cairn_backup_manager *m)
{
	size_t removed = 0;
	if (!cairn_backup_retention_is_set(&m->retention))
		return;
	if (cairn_backup_retention_apply(&removed, m->directory, &m->retention, unix_ms()) != CAIRN_OK)
		cairn_log_error("backup", "%s", cairn_error_last());
	else if (removed > 0)
		cairn_log_info("backup", "retention: %zu backups removed after backup %s", removed, m->job->id);
}

static void *job_thread(void *arg)
{
	cairn_backup_manager *m = arg;
	cairn_backup__job_run(m->job);
	apply_retention(m);
	pthread_mutex_lock(&m->mutex);
	m->running = false;
	pthread_cond_broadcast(&m->idle);
	pthread_mutex_unlock(&m->mutex);
	return NULL;
}

/* Creates and launches a job; called with the mutex held and no job running. */
static int launch(cairn_backup_manager *m, const cairn_backup_request *req)
{
	cairn_backup_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	job->request = *req;
	job->source = &m->source;
	job->directory = m->directory;
	job->parallelism = m->parallelism;
	job->stop = &m->stop;
	job->started_at = cairn_clock_now();
	atomic_init(&job->state, CAIRN_BACKUP_PREPARING);
	char root[PATH_MAX];
	int rc = create_job_directory(job->id, m);
	if (rc == CAIRN_OK)
		rc = cairn_backup__job_path(root, sizeof(root), m->directory, job->id);
	if (rc == CAIRN_OK && (rc = cairn_backup__mark(root, CAIRN_BACKUP_PREPARING, NULL)) != CAIRN_OK)
		cairn_fs_remove_tree(root);
	if (rc != CAIRN_OK) {
		free(job);
		return cairn_error_prefix(rc, "cannot start a backup");
	}
	free(m->job);
	m->job = job;
	m->running = true;
	if (pthread_create(&m->thread, NULL, job_thread, m) != 0) {
		m->running = false;
		atomic_store(&job->state, CAIRN_BACKUP_FAILED);
		cairn_backup__mark(root, CAIRN_BACKUP_FAILED, "cannot create the job's thread");
		return cairn_error_set(CAIRN_ENOMEM, "cannot start a backup: no thread");
	}
	m->joinable = true;
	cairn_log_info("backup", "backup %s started (%s Pact)", job->id, req->include_pact ? "with" : "without");
	return CAIRN_OK;
}

int cairn_backup_start(char *out_id, bool *out_started, cairn_backup_manager *m,
	const cairn_backup_request *req)
{
	pthread_mutex_lock(&m->mutex);
	int rc = CAIRN_OK;
	*out_started = !m->running;
	if (!m->running) {
		if (m->joinable)
			pthread_join(m->thread, NULL); /* finished: it cleared `running` */
		m->joinable = false;
		rc = launch(m, req);
	}
	if (rc == CAIRN_OK)
		snprintf(out_id, CAIRN_BACKUP_ID_MAX + 1, "%s", m->job->id);
	pthread_mutex_unlock(&m->mutex);
	return rc;
}

int cairn_backup_state_of(cairn_backup_state *out, cairn_backup_manager *m, const char *id)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_ENOTFOUND, "no such backup");
	pthread_mutex_lock(&m->mutex);
	bool current = m->job != NULL && strcmp(m->job->id, id) == 0;
	if (current)
		*out = (cairn_backup_state)atomic_load(&m->job->state);
	pthread_mutex_unlock(&m->mutex);
	return current ? CAIRN_OK : cairn_backup__read_status_at(out, m->dir_fd, id);
}

void cairn_backup_wait_idle(cairn_backup_manager *m)
{
	pthread_mutex_lock(&m->mutex);
	while (m->running)
		pthread_cond_wait(&m->idle, &m->mutex);
	pthread_mutex_unlock(&m->mutex);
}
