/*
 * log.h: one line per event on stderr: "TIME LEVEL SUBSYSTEM: message".
 *
 * TIME is UTC ISO 8601 with milliseconds.  Each line is written with a single
 * write(2), so lines from different threads never interleave.  Messages below
 * the configured level are dropped before formatting.
 */
#ifndef CAIRN_UTIL_LOG_H
#define CAIRN_UTIL_LOG_H

#include <stdbool.h>

#include "util/error.h"

typedef enum {
	CAIRN_LOG_DEBUG = 0,
	CAIRN_LOG_INFO = 1,
	CAIRN_LOG_WARN = 2,
	CAIRN_LOG_ERROR = 3,
} cairn_log_level;

void cairn_log_set_level(cairn_log_level level);
cairn_log_level cairn_log_get_level(void);

/* Parses "debug", "info", "warn"/"warning", "error"; returns CAIRN_EINVALID otherwise. */
int cairn_log_level_parse(cairn_log_level *out, const char *name);
const char *cairn_log_level_name(cairn_log_level level);

void cairn_log(cairn_log_level level, const char *subsystem, const char *fmt, ...)
	CAIRN_PRINTF(3, 4);

/* An INFO line written whatever the level: facts an operator always needs
 * (the address the service listens on). */
void cairn_log_always(const char *subsystem, const char *fmt, ...) CAIRN_PRINTF(2, 3);

/* At most one line a second for an event that can come in floods: a
 * throttle passes the first event of each second and counts the others,
 * reporting the count with the next event it passes.  Thread-safe;
 * zero-initialize it (CAIRN_LOG_THROTTLE_INIT). */
typedef struct cairn_log_throttle {
	_Atomic long long second;
	_Atomic unsigned long held_back;
} cairn_log_throttle;

#define CAIRN_LOG_THROTTLE_INIT {0, 0}

/* True when this event should be logged; *held_back is then the number of
 * events not logged since the last one that was. */
bool cairn_log_throttle_pass(cairn_log_throttle *t, unsigned long *held_back);

#define cairn_log_debug(sub, ...) cairn_log(CAIRN_LOG_DEBUG, sub, __VA_ARGS__)
#define cairn_log_info(sub, ...) cairn_log(CAIRN_LOG_INFO, sub, __VA_ARGS__)
#define cairn_log_warn(sub, ...) cairn_log(CAIRN_LOG_WARN, sub, __VA_ARGS__)
#define cairn_log_error(sub, ...) cairn_log(CAIRN_LOG_ERROR, sub, __VA_ARGS__)

#endif
