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
#include "backup/catalog.h"
#include "backup/id.h"
#include "backup/index.h"
#include "backup/job.h"
#include "backup/manifest.h"
#include "backup/remote.h"
#include "metrics/metrics.h"

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

#include "store/chaindb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
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
	uint64_t rate_limit_bps;
	cairn_backup_remote *remote; /* NULL: none */
	cairn_backup_index index; /* every backup but the running job's live view */
	pthread_mutex_t mutex;
	pthread_cond_t idle;
	uint64_t last_id;
	cairn_backup_job *job; /* running or last; NULL before the first */
	bool running;
	bool joinable;
	pthread_t thread;
	atomic_bool stop;
};

/* ---- opening: recovery and the id floor ---- */

/* True when `root` holds nothing but the job's record and leftovers of an
 * interrupted status write: a job that died before its status existed. */
static bool holds_only_status_temporaries(const char *root)
{
	DIR *d = opendir(root);
	if (d == NULL)
		return false;
	bool only = true;
	struct dirent *e;
	int rc = CAIRN_OK;
	while (only && (rc = cairn_fs_next_entry(&e, d, root)) == CAIRN_OK && e != NULL)
		only = strncmp(e->d_name, "status.tmp.", 11) == 0 || strcmp(e->d_name, CAIRN_BACKUP__RECORD_FILE) == 0
			|| strncmp(e->d_name, CAIRN_BACKUP__RECORD_FILE ".tmp.", strlen(CAIRN_BACKUP__RECORD_FILE) + 5) == 0;
	closedir(d);
	return only && rc == CAIRN_OK;
}

/* The record of an interrupted job (when it has one) ends failed too. */
static int record_interruption(cairn_backup_manager *m, const char *root, const char *name)
{
	cairn_backup_record r;
	if (cairn_backup__record_load(&r, m->dir_fd, name) != CAIRN_OK)
		return CAIRN_OK;
	uint64_t now = cairn_backup__now_us();
	r.detail.state = CAIRN_BACKUP_FAILED;
	r.detail.ended_us = now;
	int rc = cairn_backup__record_error(&r, "interrupted", "", "interrupted",
		"the process running the job ended before it did");
	if (rc == CAIRN_OK)
		rc = cairn_backup__record_event(&r, "backup_failed", now);
	if (rc == CAIRN_OK)
		rc = cairn_backup__record_save(&r, root);
	cairn_backup__record_free(&r);
	return rc;
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
	/* Its data left in place (a read-only directory) is harmless once the
	 * job reads failed: it is left aside, never a reason not to start. */
	if (cairn_backup__discard(root) != CAIRN_OK)
		cairn_log_warn("backup", "backup %s was interrupted and its data cannot be removed: %s; left aside",
			name, cairn_error_last());
	rc = cairn_backup__mark(root, CAIRN_BACKUP_FAILED, "interrupted");
	if (rc == CAIRN_OK && record_interruption(m, root, name) != CAIRN_OK)
		cairn_log_warn("backup", "backup %s: %s", name, cairn_error_last());
	if (rc != CAIRN_OK) {
		cairn_log_warn("backup", "backup %s was interrupted and cannot be marked failed: %s; left aside", name,
			cairn_error_last());
		return CAIRN_OK;
	}
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
	while (rc == CAIRN_OK && (rc = cairn_fs_next_entry(&e, d, m->directory)) == CAIRN_OK && e != NULL) {
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
	if (rc == CAIRN_OK)
		rc = recover(m);
	if (rc == CAIRN_OK)
		rc = cairn_backup__index_load(&m->index, m->dir_fd, m->directory);
	const cairn_backup_detail *last = rc == CAIRN_OK ? cairn_backup__index_last_restorable(&m->index, false) : NULL;
	if (last != NULL)
		cairn_metrics_backup_success_at((double)(last->ended_us ? last->ended_us : last->created_us) / 1e6);
	return rc;
}

/* True when the directory's path still names the directory held open as
 * dir_fd (and locked). */
static bool directory_intact(const cairn_backup_manager *m)
{
	struct stat named, held;
	return m->dir_fd >= 0 && stat(m->directory, &named) == 0 && fstat(m->dir_fd, &held) == 0 &&
		named.st_dev == held.st_dev && named.st_ino == held.st_ino;
}

/* Creates a removed or replaced backup directory again and takes its lock
 * (a lock on a deleted file would keep no second node out); called with
 * the mutex held and no job running.  What the old directory held is
 * gone, so the index and the last job are dropped; on failure the next
 * call tries again. */
/* Lets go of the directory: its lock, its descriptor and the index of it. */
static void detach_directory(cairn_backup_manager *m)
{
	cairn_fs_lock_release(m->lock);
	m->lock = NULL;
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	m->dir_fd = -1;
	cairn_backup__index_free(&m->index);
}

static int reattach_directory(cairn_backup_manager *m)
{
	if (directory_intact(m))
		return CAIRN_OK;
	cairn_log_warn("backup", "backup directory %s was removed or replaced; creating it again and taking its lock",
		m->directory);
	detach_directory(m);
	cairn_backup__job_free(m->job);
	m->job = NULL;
	int rc = open_directory(m);
	if (rc != CAIRN_OK) {
		cairn_log_error("backup", "%s; backups are refused until it can be used", cairn_error_last());
		detach_directory(m);
	}
	return rc;
}

void cairn_backup_manager_check_directory(cairn_backup_manager *m)
{
	pthread_mutex_lock(&m->mutex);
	if (!m->running)
		reattach_directory(m);
	pthread_mutex_unlock(&m->mutex);
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
	m->rate_limit_bps = opts->rate_limit_bps;
	atomic_init(&m->stop, false);
	if (opts->remote != NULL && cairn_backup_remote_dup(&m->remote, opts->remote) != CAIRN_OK) {
		free(m->directory);
		free(m->staging);
		free(m);
		return CAIRN_ENOMEM;
	}
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
	if (m->running)
		atomic_store(&m->job->cancel, true);
	while (m->running)
		pthread_cond_wait(&m->idle, &m->mutex);
	if (m->joinable)
		pthread_join(m->thread, NULL);
	pthread_mutex_unlock(&m->mutex);
	cairn_backup__job_free(m->job);
	cairn_backup__index_free(&m->index);
	cairn_fs_lock_release(m->lock);
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	pthread_cond_destroy(&m->idle);
	pthread_mutex_destroy(&m->mutex);
	free(m->directory);
	free(m->staging);
	cairn_backup_remote_free(m->remote);
	free(m);
}

/* ---- jobs ---- */

/* Creates the directory of a fresh id, greater than every id before. */
static int create_job_directory(char *id, cairn_backup_manager *m)
{
	for (int attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
		if (m->last_id == UINT64_MAX)
			return cairn_error_set(CAIRN_EINVALID, "backup ids exhausted in '%s'", m->directory);
		uint64_t now = cairn_backup__now_ms();
		m->last_id = now > m->last_id ? now : m->last_id + 1;
		snprintf(id, CAIRN_BACKUP_ID_MAX + 1, "%" PRIu64, m->last_id);
		if (cairn_fault_mkdirat(m->dir_fd, id, 0755) == 0)
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
static int apply_retention(cairn_backup_manager *m)
{
	size_t removed = 0;
	if (!cairn_backup_retention_is_set(&m->retention))
		return CAIRN_OK;
	if (cairn_backup_retention_apply(&removed, m->directory, &m->retention, cairn_backup__now_ms()) != CAIRN_OK) {
		cairn_log_error("backup", "%s", cairn_error_last());
		return CAIRN_ERROR;
	}
	if (removed > 0)
		cairn_log_info("backup", "retention: %zu backups removed after backup %s", removed, m->job->id);
	return CAIRN_OK;
}

static const char *terminal_event(cairn_backup_state state)
{
	switch (state) {
	case CAIRN_BACKUP_DONE:
	case CAIRN_BACKUP_DONE_WITH_ERRORS: return "backup_completed";
	case CAIRN_BACKUP_STOPPED: return "backup_stopped";
	case CAIRN_BACKUP_SKIPPED: return "backup_skipped";
	default: return "backup_failed";
	}
}

/* Counts a job that reached its terminal state in the metrics. */
static void record_metrics(cairn_backup_job *job)
{
	cairn_backup_detail d;
	cairn_backup__job_describe(&d, job);
	uint64_t began = d.started_us ? d.started_us : d.created_us;
	double seconds = d.ended_us > began ? (double)(d.ended_us - began) / 1e6 : 0;
	double ended = d.ended_us ? (double)d.ended_us / 1e6 : (double)cairn_backup__now_ms() / 1e3;
	cairn_metrics_backup_ended(cairn_backup_state_name(d.state), seconds, d.bytes_backed_up, ended);
}

/* Puts a job's detail into the index; called with the mutex held. */
static void index_job(cairn_backup_manager *m, cairn_backup_job *job)
{
	cairn_backup_detail d;
	cairn_backup__job_describe(&d, job);
	if (cairn_backup__index_put(&m->index, &d) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
}

/* The job's backup is now complete in the store: the newest there. */
static void remote_newest_known(cairn_backup_job *job)
{
	cairn_backup_detail d;
	cairn_backup__job_describe(&d, job);
	cairn_metrics_remote_newest_set((double)d.created_us / 1e6);
}

/* The upload of a sealed backup and then the remote's retention, on the
 * job's thread under the directory's .remote-lock (remote.h).  A stop
 * request or the node's shutdown cancels the upload through the job's
 * cancel flag.  Either failure leaves the local backup complete and
 * restorable: the job ends DONE_WITH_ERRORS with the error recorded, and
 * `cairn backup upload ID` sends what is missing later. */
static cairn_backup_state upload(cairn_backup_manager *m, cairn_backup_state outcome)
{
	cairn_backup_job *job = m->job;
	if (m->remote == NULL || !m->remote->upload_always || outcome != CAIRN_BACKUP_DONE)
		return outcome;
	cairn_backup_upload_options opts = CAIRN_BACKUP_UPLOAD_OPTIONS_INIT;
	opts.cancel = &job->cancel;
	opts.on_progress = cairn_backup__job_upload_add;
	opts.ctx = job;
	opts.locked = true;
	cairn_fs_lock *lock = NULL;
	cairn_backup_upload_report report;
	cairn_remote_removal removed;
	cairn_backup__job_upload_begin(job);
	int rc = cairn_backup_remote_lock(&lock, m->directory, 600);
	if (rc == CAIRN_OK)
		rc = cairn_backup_upload(&report, m->remote, m->directory, job->id, &opts);
	cairn_backup__job_upload_end(job);
	if (rc != CAIRN_OK) {
		cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
		cairn_backup__job_error(job, "upload_failed", m->remote->url, "upload", cairn_error_last());
		cairn_metrics_upload_failed();
		outcome = CAIRN_BACKUP_DONE_WITH_ERRORS;
	} else {
		remote_newest_known(job);
		if (cairn_backup_remote_retention(&removed, m->remote, m->directory, true) != CAIRN_OK) {
			cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
			cairn_backup__job_error(job, "retention_failed", m->remote->url, "remote_retention",
				cairn_error_last());
			outcome = CAIRN_BACKUP_DONE_WITH_ERRORS;
		}
	}
	cairn_fs_lock_release(lock);
	return outcome;
}

/* Retention runs while the finished job still counts as running (no job
 * starts until the policy has been applied); its failure leaves the
 * backup complete and restorable, with the error recorded. */
static void *job_thread(void *arg)
{
	cairn_backup_manager *m = arg;
	cairn_backup_state outcome = upload(m, cairn_backup__job_run(m->job));
	if (apply_retention(m) != CAIRN_OK) {
		cairn_backup__job_error(m->job, "retention_failed", m->directory, "retention", cairn_error_last());
		if (outcome == CAIRN_BACKUP_DONE)
			outcome = CAIRN_BACKUP_DONE_WITH_ERRORS;
	}
	cairn_backup__job_enter(m->job, outcome, terminal_event(outcome));
	record_metrics(m->job);
	pthread_mutex_lock(&m->mutex);
	index_job(m, m->job);
	cairn_backup__index_prune(&m->index, m->dir_fd);
	m->running = false;
	pthread_cond_broadcast(&m->idle);
	pthread_mutex_unlock(&m->mutex);
	return NULL;
}

/* A fresh job with its directory (root into root, PATH_MAX bytes). */
static int create_job(cairn_backup_job **out, char *root, cairn_backup_manager *m, const cairn_backup_request *req)
{
	char id[CAIRN_BACKUP_ID_MAX + 1];
	int rc = create_job_directory(id, m);
	if (rc == CAIRN_OK)
		rc = cairn_backup__job_path(root, PATH_MAX, m->directory, id);
	if (rc == CAIRN_OK && (rc = cairn_backup__job_create(out, id, req)) != CAIRN_OK)
		cairn_fs_remove_tree(root);
	if (rc == CAIRN_OK)
		(*out)->directory = m->directory;
	return rc;
}

/* A scheduled job that did not run: recorded as SKIPPED, with its own
 * id, so the schedule's gaps show in the catalogue. */
static void record_skipped(char *out_id, cairn_backup_manager *m, const cairn_backup_request *req, const char *why)
{
	cairn_backup_job *job = NULL;
	char root[PATH_MAX], reason[160];
	snprintf(reason, sizeof(reason), "skipped: %s", why);
	int rc = create_job(&job, root, m, req);
	if (rc == CAIRN_OK)
		rc = cairn_backup__mark(root, CAIRN_BACKUP_SKIPPED, reason);
	if (rc == CAIRN_OK) {
		cairn_backup__job_enter(job, CAIRN_BACKUP_SKIPPED, "backup_skipped");
		record_metrics(job);
		index_job(m, job);
		snprintf(out_id, CAIRN_BACKUP_ID_MAX + 1, "%s", job->id);
		cairn_log_info("backup", "backup %s skipped: %s", job->id, why);
	} else {
		cairn_log_error("backup", "recording a skipped backup: %s", cairn_error_last());
	}
	cairn_backup__job_free(job);
}

/* Why a scheduled job need not run, written into `why` (false: it must
 * run).  Blocks are only ever added, so an unchanged sum of the chains'
 * heights is an unchanged cut; a backup that failed to read the cut runs.
 * Called with the mutex held. */
static bool cut_unchanged(char *why, size_t why_size, cairn_backup_manager *m, const cairn_backup_request *req)
{
	const cairn_backup_detail *last = cairn_backup__index_last_restorable(&m->index, req->include_pact);
	struct cairn_chaindb *db = m->source.chaindb(m->source.ctx);
	cairn_chaindb_cut cut;
	if (last == NULL || !last->has_cut || db == NULL || cairn_chaindb_get_cut(&cut, db) != CAIRN_OK ||
	    cairn_backup__cut_height(&cut) != last->cut_height)
		return false;
	snprintf(why, why_size, "the cut has not moved since backup %s (height %" PRIu64 ")", last->id,
		last->cut_height);
	return true;
}

/* Creates and launches a job; called with the mutex held and no job running. */
static int launch(cairn_backup_manager *m, const cairn_backup_request *req)
{
	cairn_backup_job *job = NULL;
	char root[PATH_MAX];
	int rc = create_job(&job, root, m, req);
	/* the record (its queued event) first: a status without a record never exists */
	if (rc == CAIRN_OK && ((rc = cairn_backup__record_save(&job->record, root)) != CAIRN_OK ||
	    (rc = cairn_backup__mark(root, CAIRN_BACKUP_PREPARING, NULL)) != CAIRN_OK))
		cairn_fs_remove_tree(root);
	if (rc != CAIRN_OK) {
		cairn_backup__job_free(job);
		return cairn_error_prefix(rc, "cannot start a backup");
	}
	job->source = &m->source;
	job->parallelism = m->parallelism;
	job->stop = &m->stop;
	job->rate_limit_bps = m->rate_limit_bps;
	if (m->job != NULL)
		index_job(m, m->job);
	cairn_backup__job_free(m->job);
	m->job = job;
	m->running = true;
	if (pthread_create(&m->thread, NULL, job_thread, m) != 0) {
		m->running = false;
		cairn_backup__job_error(job, "backup_failed", "", "thread", "cannot create the job's thread");
		cairn_backup__job_enter(job, CAIRN_BACKUP_FAILED, "backup_failed");
		record_metrics(job);
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
	out_id[0] = '\0';
	pthread_mutex_lock(&m->mutex);
	int rc = CAIRN_OK;
	char why[128];
	bool periodic = req->method == CAIRN_BACKUP_PERIODIC;
	if (m->running)
		snprintf(why, sizeof(why), "backup %s was running", m->job->id);
	bool skip = periodic && (m->running || cut_unchanged(why, sizeof(why), m, req));
	*out_started = !m->running && !skip;
	if (m->running)
		snprintf(out_id, CAIRN_BACKUP_ID_MAX + 1, "%s", m->job->id);
	if (skip) {
		record_skipped(out_id, m, req, why);
	} else if (!m->running) {
		if (m->joinable)
			pthread_join(m->thread, NULL); /* finished: it cleared `running` */
		m->joinable = false;
		rc = reattach_directory(m);
		if (rc == CAIRN_OK)
			rc = launch(m, req);
		if (rc == CAIRN_OK)
			snprintf(out_id, CAIRN_BACKUP_ID_MAX + 1, "%s", m->job->id);
		else
			cairn_log_error("backup", "%s", cairn_error_last());
	}
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

const char *cairn_backup_manager_directory(const cairn_backup_manager *m)
{
	return m->directory;
}

/* ---- the management view ---- */

/* The running or last job when it is `id`; called with the mutex held. */
static cairn_backup_job *current_job(cairn_backup_manager *m, const char *id)
{
	return m->job != NULL && strcmp(m->job->id, id) == 0 ? m->job : NULL;
}

/* The index's entry of `id`, dropped when its directory vanished (a
 * `cairn backup delete` from outside); called with the mutex held. */
static cairn_backup_detail *indexed(cairn_backup_manager *m, const char *id)
{
	cairn_backup_detail *d = cairn_backup__index_find(&m->index, id);
	struct stat st;
	if (d != NULL && (fstatat(m->dir_fd, id, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))) {
		cairn_backup__index_drop(&m->index, id);
		d = NULL;
	}
	return d;
}

int cairn_backup_describe(cairn_backup_detail *out, cairn_backup_manager *m, const char *id)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a backup id", id);
	pthread_mutex_lock(&m->mutex);
	cairn_backup_job *job = current_job(m, id);
	const cairn_backup_detail *d = job == NULL ? indexed(m, id) : NULL;
	if (job != NULL)
		cairn_backup__job_describe(out, job);
	else if (d != NULL)
		*out = *d;
	pthread_mutex_unlock(&m->mutex);
	return job != NULL || d != NULL ? CAIRN_OK : cairn_error_set(CAIRN_ENOTFOUND, "no backup %s", id);
}

int cairn_backup_newest_restorable(cairn_backup_detail *out, cairn_backup_manager *m)
{
	pthread_mutex_lock(&m->mutex);
	const cairn_backup_detail *d = cairn_backup__index_last_restorable(&m->index, false);
	if (d != NULL)
		*out = *d;
	pthread_mutex_unlock(&m->mutex);
	return d != NULL ? CAIRN_OK : cairn_error_set(CAIRN_ENOTFOUND, "no restorable backup");
}

int cairn_backup_page(cairn_backup_detail **out, size_t *out_count, char out_next[CAIRN_BACKUP_ID_MAX + 1],
	cairn_backup_manager *m, const cairn_backup_page_options *opts)
{
	pthread_mutex_lock(&m->mutex);
	if (m->job != NULL && cairn_backup__index_find(&m->index, m->job->id) == NULL)
		index_job(m, m->job); /* the page has a place for it */
	int rc = cairn_backup__index_page(out, out_count, out_next, &m->index, opts);
	for (size_t i = 0; rc == CAIRN_OK && m->job != NULL && i < *out_count; i++)
		if (strcmp((*out)[i].id, m->job->id) == 0)
			cairn_backup__job_describe(&(*out)[i], m->job);
	pthread_mutex_unlock(&m->mutex);
	return rc;
}

/* Events or errors: the current job's from memory, the others' from their
 * records (none for a backup without a record). */
static int read_history(void **out, size_t *out_count, cairn_backup_manager *m, const char *id, bool events)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a backup id", id);
	pthread_mutex_lock(&m->mutex);
	cairn_backup_job *job = current_job(m, id);
	int rc = CAIRN_OK;
	cairn_backup_record r = {0};
	if (job != NULL)
		rc = events ? cairn_backup__job_events((cairn_backup_event **)out, out_count, job)
			: cairn_backup__job_errors((cairn_backup_error **)out, out_count, job);
	else if (indexed(m, id) == NULL)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no backup %s", id);
	pthread_mutex_unlock(&m->mutex);
	if (job != NULL || rc != CAIRN_OK)
		return rc;
	cairn_backup__record_load(&r, m->dir_fd, id); /* none: empty lists */
	rc = events ? cairn_backup__record_copy_events((cairn_backup_event **)out, out_count, &r)
		: cairn_backup__record_copy_errors((cairn_backup_error **)out, out_count, &r);
	cairn_backup__record_free(&r);
	return rc;
}

int cairn_backup_events(cairn_backup_event **out, size_t *out_count, cairn_backup_manager *m, const char *id)
{
	return read_history((void **)out, out_count, m, id, true);
}

int cairn_backup_errors(cairn_backup_error **out, size_t *out_count, cairn_backup_manager *m, const char *id)
{
	return read_history((void **)out, out_count, m, id, false);
}

int cairn_backup_stop(cairn_backup_manager *m, const char *id)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a backup id", id);
	pthread_mutex_lock(&m->mutex);
	cairn_backup_job *job = current_job(m, id);
	const cairn_backup_detail *d = job == NULL ? indexed(m, id) : NULL;
	int rc = job != NULL ? cairn_backup__job_request_stop(job)
		: d != NULL ? cairn_error_set(CAIRN_ESTATE, "backup %s has already ended (%s)", id,
			cairn_backup_state_name(d->state))
		: cairn_error_set(CAIRN_ENOTFOUND, "no backup %s", id);
	pthread_mutex_unlock(&m->mutex);
	return rc;
}

int cairn_backup_remove(cairn_backup_manager *m, const char *id)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a backup id", id);
	pthread_mutex_lock(&m->mutex);
	int rc = CAIRN_OK;
	if (m->running && strcmp(m->job->id, id) == 0)
		rc = cairn_error_set(CAIRN_EBUSY, "backup %s is running: stop it first", id);
	else if (indexed(m, id) == NULL)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no backup %s", id);
	if (rc == CAIRN_OK)
		rc = cairn_backup_delete(m->directory, id);
	if (rc == CAIRN_OK) {
		cairn_backup__index_drop(&m->index, id);
		if (m->job != NULL && strcmp(m->job->id, id) == 0) {
			cairn_backup__job_free(m->job);
			m->job = NULL;
		}
	}
	pthread_mutex_unlock(&m->mutex);
	return rc;
}
