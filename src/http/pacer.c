/*
 * pacer.c: pacer.h with one thread and a list of waiting connections.
 *
 * The list is short (one entry per paced body in flight, each waiting at
 * most an eighth of a second or so), so it is scanned, not kept sorted.
 * Entries whose time has come are taken off the list under the lock and
 * resumed after it is released: MHD_resume_connection takes the library's
 * own lock, and a worker holding that one may be about to call
 * resume_later.
 *
 * Invariant: a connection is on the list exactly while it is suspended
 * and waiting for its time; stop empties the list and keeps it empty.
 */
#include "http/pacer.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"
#include "util/error.h"

typedef struct waiting {
	struct waiting *next;
	struct MHD_Connection *connection;
	double due;
} waiting;

struct cairn_http__pacer {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	waiting *list;
	bool stopped;
};

static void resume_all(waiting *w)
{
	while (w != NULL) {
		waiting *next = w->next;
		MHD_resume_connection(w->connection);
		free(w);
		w = next;
	}
}

/* Takes the entries due at `now` off the list; sets *next_due to the
 * earliest left (0: none).  With p->lock held. */
static waiting *take_due(cairn_http__pacer *p, double now, double *next_due)
{
	waiting *due = NULL, **link = &p->list;
	*next_due = 0;
	while (*link != NULL) {
		waiting *w = *link;
		if (w->due <= now) {
			*link = w->next;
			w->next = due;
			due = w;
		} else {
			if (*next_due == 0 || w->due < *next_due)
				*next_due = w->due;
			link = &w->next;
		}
	}
	return due;
}

static void *run(void *arg)
{
	cairn_http__pacer *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopped) {
		double next_due;
		waiting *due = take_due(p, cairn_clock_now(), &next_due);
		if (due != NULL) {
			pthread_mutex_unlock(&p->lock);
			resume_all(due);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (next_due == 0) {
			pthread_cond_wait(&p->changed, &p->lock);
			continue;
		}
		/* the condition variable runs on CLOCK_MONOTONIC, as cairn_clock_now does */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		double wait = next_due - cairn_clock_now();
		if (wait > 0) {
			long long ns = ts.tv_nsec + (long long)(wait * 1e9);
			ts.tv_sec += (time_t)(ns / 1000000000);
			ts.tv_nsec = (long)(ns % 1000000000);
			pthread_cond_timedwait(&p->changed, &p->lock, &ts);
		}
	}
	waiting *left = p->list;
	p->list = NULL;
	pthread_mutex_unlock(&p->lock);
	resume_all(left);
	return NULL;
}

int cairn_http__pacer_start(cairn_http__pacer **out)
{
	cairn_http__pacer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->changed, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		cairn_http__pacer_free(p);
		return cairn_error_set(CAIRN_ERROR, "cannot start the pacing thread");
	}
	p->running = true;
	*out = p;
	return CAIRN_OK;
}

bool cairn_http__pacer_resume_later(cairn_http__pacer *p, struct MHD_Connection *connection, double delay)
{
	waiting *w = malloc(sizeof(*w));
	if (w == NULL)
		return false;
	w->connection = connection;
	w->due = cairn_clock_now() + delay;
	pthread_mutex_lock(&p->lock);
	bool taken = !p->stopped;
	if (taken) {
		w->next = p->list;
		p->list = w;
		pthread_cond_signal(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	if (!taken)
		free(w);
	return taken;
}

void cairn_http__pacer_stop(cairn_http__pacer *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopped = true;
	pthread_cond_signal(&p->changed);
	pthread_mutex_unlock(&p->lock);
	if (p->running) {
		pthread_join(p->thread, NULL);
		p->running = false;
	}
}

void cairn_http__pacer_free(cairn_http__pacer *p)
{
	if (p == NULL)
		return;
	cairn_http__pacer_stop(p);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
