/*
 * progress.h: progress of a long operation (verify, restore, a node's
 * backup job, a download) for an operator watching it.
 *
 * On a terminal (isatty(stderr)) one line is redrawn in place at most ten
 * times a second: percent, amount done of the total, rate and time left.
 * Otherwise a plain log line is written every few seconds, so logs and
 * pipes never fill with carriage returns.  Amounts are bytes or items
 * (headers); the unit only changes how they print.
 *
 * A display is used from one thread at a time.
 */
#ifndef CAIRN_UTIL_PROGRESS_H
#define CAIRN_UTIL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum cairn_progress_unit {
	CAIRN_PROGRESS_BYTES,
	CAIRN_PROGRESS_ITEMS,
} cairn_progress_unit;

typedef struct cairn_progress cairn_progress;

/* A display writing to stderr; `terminal` chooses the redrawn line (pass
 * cairn_progress_stderr_is_terminal()) or log lines.  NULL when out of
 * memory: every function accepts a NULL display and does nothing. */
cairn_progress *cairn_progress_create(bool terminal);

void cairn_progress_free(cairn_progress *p);

bool cairn_progress_stderr_is_terminal(void);

/* Starts a phase named `what` ("checking files") of `total` units. */
void cairn_progress_begin(cairn_progress *p, const char *what, uint64_t total, cairn_progress_unit unit);

/* Adds `done` units to the current phase. */
void cairn_progress_add(cairn_progress *p, uint64_t done);

/* Sets the phase's amount done and its total, for an operation whose
 * counters are read from elsewhere (a job's detail polled from a node) and
 * whose total may grow while it runs; a total below `done` is raised to it. */
void cairn_progress_set(cairn_progress *p, uint64_t done, uint64_t total);

/* Ends the phase: the terminal line is completed and a newline written. */
void cairn_progress_end(cairn_progress *p);

#endif
