/*
 * bench_shell.h: what the benchmark programs run through the shell: the
 * reference commands they time (cp, sync, sqlite3) and one-number queries
 * (du, find).  Header-only because each benchmark is a single program.
 */
#ifndef CAIRN_BENCH_SHELL_H
#define CAIRN_BENCH_SHELL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/clock.h"

/* Runs `cmd` and returns its wall time in seconds; exits if it fails. */
static inline double bench_run_shell(const char *cmd)
{
	double t0 = cairn_clock_now();
	if (system(cmd) != 0) {
		fprintf(stderr, "bench: command failed: %s\n", cmd);
		exit(1);
	}
	return cairn_clock_now() - t0;
}

/* The first number `cmd` prints; 0 when it prints none. */
static inline uint64_t bench_shell_number(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	unsigned long long n = 0;
	if (p == NULL || fscanf(p, "%llu", &n) != 1)
		n = 0;
	if (p != NULL)
		pclose(p);
	return n;
}

/* Bytes under `dir`, as du counts them. */
static inline uint64_t bench_dir_bytes(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "du -sb '%s'", dir);
	return bench_shell_number(cmd);
}

#endif
