/*
 * schedule.c: the scheduler thread of schedule.h.
 *
 * The thread sleeps on a condition variable bound to CLOCK_MONOTONIC until
 * the next tick or a stop request, so wall-clock changes neither skip nor
 * bunch backups, and stopping is immediate.
 */
#include "backup/schedule.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/error.h"
#include "util/log.h"

struct cairn_backup_schedule {
	cairn_backup_manager *manager;
	cairn_backup_schedule_options opts;
	pthread_mutex_t mutex;
	pthread_cond_t changed;
	bool stopping;
	pthread_t thread;
};

static struct timespec monotonic_after(const struct timespec *base, double seconds)
{
	double whole = floor(seconds);
	struct timespec t = {base->tv_sec + (time_t)whole, base->tv_nsec + (long)((seconds - whole) * 1e9)};
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static void tick(cairn_backup_schedule *s)
{
	char id[CAIRN_BACKUP_ID_MAX + 1];
	bool started = false;
	cairn_backup_request req = CAIRN_BACKUP_REQUEST_INIT;
	req.include_pact = s->opts.include_pact;
	if (cairn_backup_start(id, &started, s->manager, &req) != CAIRN_OK)
		cairn_log_error("backup", "scheduled backup: %s", cairn_error_last());
	else if (started)
		cairn_log_info("backup", "scheduled backup %s started", id);
	else
		cairn_log_warn("backup", "scheduled backup skipped: backup %s is still running", id);
}

static void *schedule_thread(void *arg)
{
	cairn_backup_schedule *s = arg;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_mutex_lock(&s->mutex);
	for (unsigned long n = 1; !s->stopping; n++) {
		struct timespec due = monotonic_after(&start, s->opts.interval_seconds * (double)n);
		int rc = 0;
		while (!s->stopping && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&s->changed, &s->mutex, &due);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->mutex);
		tick(s);
		pthread_mutex_lock(&s->mutex);
	}
	pthread_mutex_unlock(&s->mutex);
	return NULL;
}

int cairn_backup_schedule_start(cairn_backup_schedule **out, cairn_backup_manager *m,
	const cairn_backup_schedule_options *opts)
{
	if (!(opts->interval_seconds > 0))
		return cairn_error_set(CAIRN_EINVALID, "backup schedule: the interval must be positive");
	cairn_backup_schedule *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	s->manager = m;
	s->opts = *opts;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&s->mutex, NULL);
	if (pthread_create(&s->thread, NULL, schedule_thread, s) != 0) {
		pthread_cond_destroy(&s->changed);
		pthread_mutex_destroy(&s->mutex);
		free(s);
		return cairn_error_set(CAIRN_ENOMEM, "backup schedule: cannot create its thread");
	}
	cairn_log_info("backup", "scheduled backups every %g s (%s Pact)", opts->interval_seconds,
		opts->include_pact ? "with" : "without");
	*out = s;
	return CAIRN_OK;
}

void cairn_backup_schedule_stop(cairn_backup_schedule *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mutex);
	s->stopping = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mutex);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->mutex);
	free(s);
}
