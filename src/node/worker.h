/*
 * worker.h: a background thread that sleeps between rounds of work and
 * stops promptly: a stop request wakes it from its sleep at once, and the
 * round in progress is the last.  The producer and the checkpointer are
 * workers.
 *
 * Deadlines are CLOCK_MONOTONIC seconds (cairn_clock_now), immune to
 * changes of the wall clock.
 */
#ifndef CAIRN_NODE_WORKER_H
#define CAIRN_NODE_WORKER_H

#include <stdbool.h>

typedef struct cairn_worker cairn_worker;

/* The thread's body; it returns when cairn_worker_sleep_until says so. */
typedef void (*cairn_worker_fn)(cairn_worker *w, void *arg);

/* Starts `fn(w, arg)` on a new thread; `name` (at most 15 characters)
 * names the thread for debuggers and error messages. */
int cairn_worker_start(cairn_worker **out, const char *name, cairn_worker_fn fn, void *arg);

/* Sleeps until the monotonic time `deadline` (seconds); false when the
 * worker is asked to stop (then at once). */
bool cairn_worker_sleep_until(cairn_worker *w, double deadline);

/* Asks the worker to stop, waits for its thread and frees it. */
void cairn_worker_stop(cairn_worker *w);

#endif
