/*
 * ratelimit.h: a token bucket in bytes per second, shared by the transfers
 * that `backup.rateLimit` paces (Pact copies, archive downloads, uploads).
 *
 * A bucket holds up to `burst` bytes and refills at `rate` bytes per
 * second.  cairn_ratelimit_take never blocks: it takes the bytes, letting
 * the bucket go into debt, and returns how long the caller must wait
 * before sending them, so a caller that must not sleep (an HTTP worker)
 * can park its work for that long instead.  Takes from several threads
 * share the rate (each waits for its own share); a rate of 0, or a NULL
 * bucket, never waits.
 */
#ifndef CAIRN_UTIL_RATELIMIT_H
#define CAIRN_UTIL_RATELIMIT_H

#include <stdint.h>

typedef struct cairn_ratelimit cairn_ratelimit;

/* A bucket of `rate` bytes per second (0: no limit) holding at most `burst`
 * bytes (0: an eighth of a second's worth, at least 4096), full at first. */
int cairn_ratelimit_create(cairn_ratelimit **out, uint64_t rate, uint64_t burst);
void cairn_ratelimit_free(cairn_ratelimit *rl);

/* Takes `bytes` at time `now` (cairn_clock_now seconds); returns the
 * seconds to wait before sending them (0: at once). */
double cairn_ratelimit_take_at(cairn_ratelimit *rl, uint64_t bytes, double now);

/* cairn_ratelimit_take_at at the current time. */
double cairn_ratelimit_take(cairn_ratelimit *rl, uint64_t bytes);

/* Takes `bytes` and sleeps as long as it says. */
void cairn_ratelimit_wait(cairn_ratelimit *rl, uint64_t bytes);

/* The bytes a caller should move at once under `rl`: an eighth of a
 * second's worth, at least 4096 and at most `max` (`max` with no limit). */
uint64_t cairn_ratelimit_chunk(const cairn_ratelimit *rl, uint64_t max);

uint64_t cairn_ratelimit_rate(const cairn_ratelimit *rl);

#endif
