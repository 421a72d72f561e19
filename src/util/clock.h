/*
 * clock.h: the one time source for durations, deadlines and rates.
 *
 * Seconds on CLOCK_MONOTONIC as a double: immune to wall-clock steps, and
 * a double holds microseconds exactly for far longer than any uptime.
 * Wall-clock time (ids, timestamps shown to people) comes from time() or
 * CLOCK_REALTIME where it is needed, never from here.
 */
#ifndef CAIRN_UTIL_CLOCK_H
#define CAIRN_UTIL_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double cairn_clock_now(void);

/* Sleeps for `seconds` (> 0), resuming after signals. */
void cairn_clock_sleep(double seconds);

#endif
