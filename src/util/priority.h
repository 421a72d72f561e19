/*
 * priority.h: moving a thread out of the live node's way.
 *
 * Background work (a backup's Pact copies) runs on threads of its own;
 * lowering their CPU and I/O priority lets the block commits, which share
 * the cores and the disk with them, go first when both want them, and
 * costs the background work nothing when the node is idle.  Linux only
 * lets an unprivileged thread lower its own priorities, never raise them
 * again, so only threads that do nothing else afterwards call this.
 */
#ifndef CAIRN_UTIL_PRIORITY_H
#define CAIRN_UTIL_PRIORITY_H

#include <stdbool.h>

/* Raises the calling thread's nice value by `nice_increment` (CPU) and,
 * with `io_idle`, puts its I/O in the idle class (served when the disk
 * has nothing else to do; with mq-deadline, aged into service after some
 * seconds), else in the lowest best-effort level.  CAIRN_OK, or the
 * first failure (the thread then runs on with what could be set). */
int cairn_thread_background(int nice_increment, bool io_idle);

#endif
