/*
 * log.c: formatting and emission for log.h.
 *
 * The level is a relaxed atomic: changing it while other threads log is safe,
 * and a line racing with the change may use either level.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = CAIRN_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void cairn_log_set_level(cairn_log_level level)
{
	atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

cairn_log_level cairn_log_get_level(void)
{
	return (cairn_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

int cairn_log_level_parse(cairn_log_level *out, const char *name)
{
	static const struct { const char *name; cairn_log_level level; } table[] = {
		{"debug", CAIRN_LOG_DEBUG}, {"info", CAIRN_LOG_INFO},
		{"warn", CAIRN_LOG_WARN},   {"warning", CAIRN_LOG_WARN},
		{"error", CAIRN_LOG_ERROR},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcasecmp(name, table[i].name) == 0) {
			*out = table[i].level;
			return CAIRN_OK;
		}
	}
	return cairn_error_set(CAIRN_EINVALID,
		"unknown log level '%s' (expected debug, info, warn or error)", name);
}

const char *cairn_log_level_name(cairn_log_level level)
{
	static const char *const lower[] = {"debug", "info", "warn", "error"};
	return (unsigned)level < 4 ? lower[level] : "info";
}

static void write_line(cairn_log_level level, const char *subsystem, const char *fmt, va_list ap)
	CAIRN_PRINTF(3, 0);

void cairn_log(cairn_log_level level, const char *subsystem, const char *fmt, ...)
{
	if ((int)level < atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	va_list ap;
	va_start(ap, fmt);
	write_line(level, subsystem, fmt, ap);
	va_end(ap);
}

void cairn_log_always(const char *subsystem, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_line(CAIRN_LOG_INFO, subsystem, fmt, ap);
	va_end(ap);
}

static void write_line(cairn_log_level level, const char *subsystem, const char *fmt, va_list ap)
{
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);

	char line[2048];
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		now.tv_nsec / 1000000, level_names[(unsigned)level < 4 ? level : 1], subsystem);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* Keep one line per event even if a message carries newlines. */
	for (char *p = line; p < line + n; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	line[n++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
	(void)ignored;
}

bool cairn_log_throttle_pass(cairn_log_throttle *t, unsigned long *held_back)
{
	long long now = (long long)time(NULL), seen = atomic_load(&t->second);
	if (now == seen || !atomic_compare_exchange_strong(&t->second, &seen, now)) {
		atomic_fetch_add(&t->held_back, 1);
		return false;
	}
	*held_back = atomic_exchange(&t->held_back, 0);
	return true;
}
