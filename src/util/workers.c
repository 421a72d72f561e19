/*
 * workers.c: numbered tasks shared out to threads by one atomic counter.
 *
 * Invariants: each index below count is taken by exactly one thread; after
 * `failed` is set no thread takes another; `rc` and `error` hold the first
 * failure only (later ones, often consequences of it, are dropped), copied
 * under `lock` because the reason lives in the failing thread's error
 * buffer.  The calling thread works too, so a run whose threads all fail
 * to start still completes, one task at a time.
 */
#include "util/workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

typedef struct workers {
	size_t count;
	cairn_workers_task_fn task;
	void *ctx;
	const atomic_bool *cancel;
	atomic_size_t next;
	atomic_bool failed;
	pthread_mutex_t lock;
	int rc;
	char error[1024];
} workers;

static void record_failure(workers *w, int rc, const char *reason)
{
	pthread_mutex_lock(&w->lock);
	if (w->rc == CAIRN_OK) {
		w->rc = rc;
		snprintf(w->error, sizeof(w->error), "%s", reason);
	}
	pthread_mutex_unlock(&w->lock);
	atomic_store(&w->failed, true);
}

static void *work(void *arg)
{
	workers *w = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&w->next, 1);
		if (i >= w->count || atomic_load(&w->failed))
			return NULL;
		if (w->cancel != NULL && atomic_load(w->cancel)) {
			record_failure(w, CAIRN_ESTATE, "cancelled");
			return NULL;
		}
		int rc = w->task(w->ctx, i);
		if (rc != CAIRN_OK)
			record_failure(w, rc, cairn_error_last());
	}
}

int cairn_workers_run(size_t count, cairn_workers_task_fn task, void *ctx, const cairn_workers_options *opts)
{
	workers w = {.count = count, .task = task, .ctx = ctx, .cancel = opts->cancel};
	atomic_init(&w.next, 0);
	atomic_init(&w.failed, false);
	pthread_mutex_init(&w.lock, NULL);
	int wanted = opts->parallelism > 0 ? opts->parallelism : CAIRN_WORKERS_DEFAULT;
	if (wanted > CAIRN_WORKERS_MAX)
		wanted = CAIRN_WORKERS_MAX;
	if ((size_t)wanted > count)
		wanted = count > 0 ? (int)count : 1;
	pthread_t helpers[CAIRN_WORKERS_MAX];
	int started = 0;
	while (started + 1 < wanted && pthread_create(&helpers[started], NULL, work, &w) == 0)
		started++;
	work(&w);
	for (int i = 0; i < started; i++)
		pthread_join(helpers[i], NULL);
	pthread_mutex_destroy(&w.lock);
	return w.rc == CAIRN_OK ? CAIRN_OK : cairn_error_set(w.rc, "%s", w.error);
}
