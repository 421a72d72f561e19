/*
 * priority.c: priority.h with setpriority on the thread id (Linux applies
 * nice values per thread) and the ioprio_set system call (no wrapper in
 * glibc; the constants are those of linux/ioprio.h).
 */
#include "util/priority.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_BE_LOWEST 7

int cairn_thread_background(int nice_increment, bool io_idle)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int rc = CAIRN_OK;
	errno = 0;
	int now = getpriority(PRIO_PROCESS, (id_t)tid);
	if (errno == 0 && setpriority(PRIO_PROCESS, (id_t)tid, now + nice_increment) != 0)
		rc = cairn_error_set_errno(CAIRN_ERROR, errno, "cannot lower the thread's CPU priority");
	int prio = io_idle ? IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT
		: IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT | IOPRIO_BE_LOWEST;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)tid, prio) != 0 && rc == CAIRN_OK)
		rc = cairn_error_set_errno(CAIRN_ERROR, errno, "cannot lower the thread's I/O priority");
	return rc;
}
