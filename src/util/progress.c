/*
 * progress.c: the progress display of progress.h.
 *
 * The rate is the phase's average so far (done / elapsed; for counters
 * read from elsewhere, what was done before the first reading does not
 * count), and the time
 * left is what remains at that rate: both steady for the sequential reads
 * and copies this serves, without a smoothing window to tune.
 */
#include "util/progress.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TERMINAL_INTERVAL 0.1
#define LOG_INTERVAL 5.0

struct cairn_progress {
	bool terminal;
	char what[64];
	cairn_progress_unit unit;
	uint64_t total, done;
	uint64_t base;  /* done when the phase's first set() came: the rate counts from there */
	bool based;
	double started, last_shown;
};

cairn_progress *cairn_progress_create(bool terminal)
{
	cairn_progress *p = calloc(1, sizeof(*p));
	if (p != NULL)
		p->terminal = terminal;
	return p;
}

void cairn_progress_free(cairn_progress *p)
{
	free(p);
}

bool cairn_progress_stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO) == 1;
}

/* "1.2 GB", "830 kB", "12000 headers". */
static void amount(char *buf, size_t size, double value, cairn_progress_unit unit)
{
	static const char *const prefixes[] = {"B", "kB", "MB", "GB", "TB"};
	if (unit == CAIRN_PROGRESS_ITEMS) {
		snprintf(buf, size, "%.0f", value);
		return;
	}
	size_t i = 0;
	while (value >= 1000.0 && i + 1 < sizeof(prefixes) / sizeof(prefixes[0])) {
		value /= 1000.0;
		i++;
	}
	snprintf(buf, size, i == 0 ? "%.0f %s" : "%.1f %s", value, prefixes[i]);
}

static void show(cairn_progress *p, double now)
{
	double elapsed = now - p->started;
	double rate = elapsed > 0 && p->done > p->base ? (double)(p->done - p->base) / elapsed : 0;
	double percent = p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
	char done[32], total[32], per_second[32], left[32] = "?";
	amount(done, sizeof(done), (double)p->done, p->unit);
	amount(total, sizeof(total), (double)p->total, p->unit);
	amount(per_second, sizeof(per_second), rate, p->unit);
	if (rate > 0)
		snprintf(left, sizeof(left), "%.0f s", (double)(p->total > p->done ? p->total - p->done : 0) / rate);
	if (p->terminal)
		fprintf(stderr, "\r%s: %5.1f%%  %s / %s  %s/s  %s left\033[K", p->what, percent, done, total,
			per_second, left);
	else
		cairn_log_info("progress", "%s: %.1f%%, %s of %s, %s/s, %s left", p->what, percent, done, total,
			per_second, left);
	p->last_shown = now;
}

void cairn_progress_begin(cairn_progress *p, const char *what, uint64_t total, cairn_progress_unit unit)
{
	if (p == NULL)
		return;
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->unit = unit;
	p->total = total;
	p->done = 0;
	p->base = 0;
	p->based = false;
	p->started = p->last_shown = cairn_clock_now();
}

void cairn_progress_add(cairn_progress *p, uint64_t done)
{
	if (p == NULL)
		return;
	p->done += done;
	double now = cairn_clock_now();
	if (now - p->last_shown >= (p->terminal ? TERMINAL_INTERVAL : LOG_INTERVAL))
		show(p, now);
}

void cairn_progress_set(cairn_progress *p, uint64_t done, uint64_t total)
{
	if (p == NULL)
		return;
	if (!p->based) {
		p->base = done;
		p->based = true;
	}
	p->total = total > done ? total : done;
	p->done = done;
	double now = cairn_clock_now();
	if (now - p->last_shown >= (p->terminal ? TERMINAL_INTERVAL : LOG_INTERVAL))
		show(p, now);
}

void cairn_progress_end(cairn_progress *p)
{
	if (p == NULL || !p->terminal)
		return;
	show(p, cairn_clock_now());
	fputc('\n', stderr);
}
