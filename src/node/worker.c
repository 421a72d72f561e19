/*
 * worker.c: stoppable background threads (worker.h).  The sleep is a
 * condition-variable wait with a CLOCK_MONOTONIC deadline; stopping sets
 * the flag under the lock and signals, so no wake-up is lost.
 */
#include "node/worker.h"
#include "util/clock.h"
#include "util/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct cairn_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping; /* under lock */
	cairn_worker_fn fn;
	void *arg;
};

bool cairn_worker_sleep_until(cairn_worker *w, double deadline)
{
	struct timespec until = {(time_t)deadline, (long)((deadline - (double)(time_t)deadline) * 1e9)};
	pthread_mutex_lock(&w->lock);
	while (!w->stopping && cairn_clock_now() < deadline)
		pthread_cond_timedwait(&w->wake, &w->lock, &until);
	bool running = !w->stopping;
	pthread_mutex_unlock(&w->lock);
	return running;
}

static void *worker_main(void *arg)
{
	cairn_worker *w = arg;
	w->fn(w, w->arg);
	return NULL;
}

static void worker_free(cairn_worker *w)
{
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int cairn_worker_start(cairn_worker **out, const char *name, cairn_worker_fn fn, void *arg)
{
	cairn_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	w->fn = fn;
	w->arg = arg;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&w->lock, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		worker_free(w);
		return cairn_error_set(CAIRN_ERROR, "cannot start the %s thread", name);
	}
	pthread_setname_np(w->thread, name);
	*out = w;
	return CAIRN_OK;
}

void cairn_worker_stop(cairn_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	worker_free(w);
}
