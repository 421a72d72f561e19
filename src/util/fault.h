/*
 * fault.h: libfiu failure points at the system calls libfiu's POSIX
 * preload does not wrap.
 *
 * The fault tests (tests/e2e/faultlib.py) run the real binary under
 * fiu-run, whose preload (fiu_posix_preload.so, libfiu 1.1) wraps open,
 * read, write, fsync, rename, unlink, readdir and close, but not mkdir,
 * mkdirat, openat, renameat, unlinkat, rmdir, copy_file_range nor syncfs.
 * Those calls go through the wrappers below instead, each a libfiu
 * failure point placed in the program as libfiu intends
 * (fiu_fail()): when the point is armed and libfiu says fail, the wrapper
 * fails as the real call would, -1 with errno set to the point's failinfo
 * (EIO when none was given), without making the call.  The points are
 * armed by name over the same remote control as the preload's, because
 * the preload and the program share the one libfiu library:
 *
 *     enable name=cairn/posix/mkdir,failinfo=28,onetime
 *     enable_stack_by_name name=cairn/posix/openat,func_name=...,pos_in_stack=-1
 *
 * Point names: "cairn/posix/<call>", one per call.  Invariant: every call
 * of these functions in src/ goes through its wrapper (one token at the
 * call site), so a fault can reach each of them.
 *
 * The build option CAIRN_FAULT_POINTS defines FIU_ENABLE and links libfiu.
 * Without it (the release build and the .deb) fiu-local.h defines
 * fiu_fail() as 0 and each wrapper is the bare call: nothing is compiled
 * in and nothing depends on libfiu.
 *
 * Not covered: the hard links of RocksDB checkpoints (linkat inside
 * librocksdb, which cairn does not compile) and stat/fstatat, which only
 * read metadata (docs/backups.md, "What is guaranteed under faults").
 */
#ifndef CAIRN_UTIL_FAULT_H
#define CAIRN_UTIL_FAULT_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <fiu-local.h>

/* True when libfiu fails `point` now; errno is then the point's failinfo
 * (EIO without one).  A constant false without CAIRN_FAULT_POINTS. */
static inline int cairn_fault_hit(const char *point)
{
	(void)point; /* unused when fiu_fail() is the constant 0 */
	if (!fiu_fail(point))
		return 0;
	intptr_t info = (intptr_t)fiu_failinfo();
	errno = info > 0 ? (int)info : EIO;
	return 1;
}

/* Evaluates to -1 (errno set) when `point` fails, else to `call`. */
#define CAIRN_FAULT(point, call) (cairn_fault_hit("cairn/posix/" point) ? -1 : (call))

static inline int cairn_fault_mkdir(const char *path, mode_t mode)
{
	return CAIRN_FAULT("mkdir", mkdir(path, mode));
}

static inline int cairn_fault_mkdirat(int dir_fd, const char *name, mode_t mode)
{
	return CAIRN_FAULT("mkdirat", mkdirat(dir_fd, name, mode));
}

/* openat(2) without O_CREAT: cairn opens existing files this way only. */
static inline int cairn_fault_openat(int dir_fd, const char *name, int flags)
{
	return CAIRN_FAULT("openat", openat(dir_fd, name, flags));
}

static inline int cairn_fault_renameat(int old_dir, const char *old_name, int new_dir, const char *new_name)
{
	return CAIRN_FAULT("renameat", renameat(old_dir, old_name, new_dir, new_name));
}

static inline int cairn_fault_unlinkat(int dir_fd, const char *name, int flags)
{
	return CAIRN_FAULT("unlinkat", unlinkat(dir_fd, name, flags));
}

static inline int cairn_fault_rmdir(const char *path)
{
	return CAIRN_FAULT("rmdir", rmdir(path));
}

static inline ssize_t cairn_fault_copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len,
	unsigned flags)
{
	return CAIRN_FAULT("copy_file_range", copy_file_range(in, in_off, out, out_off, len, flags));
}

static inline int cairn_fault_syncfs(int fd)
{
	return CAIRN_FAULT("syncfs", syncfs(fd));
}

#endif
