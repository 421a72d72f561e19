/*
 * workers.h: a fixed set of threads working through numbered tasks, the
 * first failure stopping the rest (workers.c).
 */
#ifndef CAIRN_UTIL_WORKERS_H
#define CAIRN_UTIL_WORKERS_H

#include <stdatomic.h>
#include <stddef.h>

#define CAIRN_WORKERS_DEFAULT 4
#define CAIRN_WORKERS_MAX 64

/* One task: CAIRN_OK or a negative code with its reason set. */
typedef int (*cairn_workers_task_fn)(void *ctx, size_t i);

typedef struct cairn_workers_options {
	int parallelism;           /* threads, the caller's included; <= 0: CAIRN_WORKERS_DEFAULT */
	const atomic_bool *cancel; /* when set, no further task starts and the run fails "cancelled" */
} cairn_workers_options;

#define CAIRN_WORKERS_OPTIONS_INIT {0, NULL}

/* Runs task(ctx, i) once for every i < count on min(parallelism,
 * CAIRN_WORKERS_MAX, count) threads, the calling one included (fewer when
 * threads cannot be started).  Once a task fails no other starts; the
 * first failure's code and reason are returned after every thread ended. */
int cairn_workers_run(size_t count, cairn_workers_task_fn task, void *ctx, const cairn_workers_options *opts);

#endif
