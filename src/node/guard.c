/*
 * guard.c: the storage guard of guard.h.
 *
 * The worker owns `pausing` and the log throttle; `restart_wanted` is the
 * only state other threads read.  The probe file is
 * <database-directory>/0/.storage-probe, removed after each probe (and
 * before, should a crash have left one).
 */
#include "node/guard.h"
#include "node/worker.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define PROBE_BYTES (1024 * 1024)
#define PROBE_LOG_SECONDS 60.0
#define MIB (1024.0 * 1024.0)

struct cairn_guard {
	cairn_commit *commit;
	cairn_guard_options opts;
	char *probe_path;
	cairn_worker *worker;
	bool pausing;
	double probe_logged_at;
	atomic_bool restart_wanted;
};

static int free_bytes(uint64_t *out, const char *directory)
{
	struct statvfs st;
	if (statvfs(directory, &st) != 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot read the free space of '%s'", directory);
	*out = (uint64_t)st.f_bavail * st.f_frsize;
	return CAIRN_OK;
}

/* Pauses commits below the minimum free space and lifts the pause above it. */
static void watch_space(cairn_guard *g, uint64_t available)
{
	bool low = available < g->opts.min_free_bytes;
	if (low == g->pausing)
		return;
	g->pausing = low;
	if (low) {
		char reason[192];
		snprintf(reason, sizeof(reason), "the database file system has %.1f MiB free, less than the %.0f MiB "
			"required (databaseMinFreeMiB)", available / MIB, g->opts.min_free_bytes / MIB);
		cairn_commit_pause(g->commit, reason);
		cairn_log_warn("guard", "%s: block commits paused until space is freed", reason);
	} else {
		cairn_commit_pause(g->commit, NULL);
		cairn_log_info("guard", "the database file system has %.1f MiB free again: block commits resume",
			available / MIB);
	}
}

/* Holds `count` descriptors at once, then gives them back. */
static int probe_descriptors(unsigned count)
{
	int fds[256];
	unsigned n = count < 256 ? count : 256, opened = 0;
	int err = 0;
	for (; opened < n; opened++)
		if ((fds[opened] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
			err = errno;
			break;
		}
	for (unsigned i = 0; i < opened; i++)
		close(fds[i]);
	return err == 0 ? CAIRN_OK
		: cairn_error_set_errno(CAIRN_EIO, err, "only %u of %u spare file descriptors", opened, n);
}

static int probe_write(const char *path)
{
	static const char zeros[64 * 1024];
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot create '%s'", path);
	int err = 0;
	for (size_t done = 0; err == 0 && done < PROBE_BYTES; done += sizeof(zeros)) {
		ssize_t n = write(fd, zeros, sizeof(zeros));
		err = n < 0 ? errno : n != (ssize_t)sizeof(zeros) ? ENOSPC : 0;
	}
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	close(fd);
	unlink(path);
	return err == 0 ? CAIRN_OK : cairn_error_set_errno(CAIRN_EIO, err, "cannot write '%s'", path);
}

/* After a failure: asks for the restart once the stores could work again. */
static void probe_after_failure(cairn_guard *g, const char *failure)
{
	int rc = g->pausing ? cairn_error_set(CAIRN_EBUSY, "free space is below the minimum")
		: probe_write(g->probe_path);
	if (rc == CAIRN_OK)
		rc = probe_descriptors(g->opts.free_descriptors);
	if (rc == CAIRN_OK) {
		cairn_log_warn("guard", "the stores can be written again: restarting the node in place to recover "
			"(the failure was: %s)", failure);
		atomic_store(&g->restart_wanted, true);
		return;
	}
	double now = cairn_clock_now();
	if (g->probe_logged_at == 0 || now - g->probe_logged_at >= PROBE_LOG_SECONDS) {
		cairn_log_error("guard", "block commits stopped (%s); the stores cannot be written yet: %s", failure,
			cairn_error_last());
		g->probe_logged_at = now;
	}
}

static void guard_main(cairn_worker *w, void *arg)
{
	cairn_guard *g = arg;
	while (cairn_worker_sleep_until(w, cairn_clock_now() + 1.0) && !atomic_load(&g->restart_wanted)) {
		uint64_t available;
		if (g->opts.min_free_bytes > 0 && free_bytes(&available, g->opts.database_directory) == CAIRN_OK)
			watch_space(g, available);
		char failure[512];
		if (cairn_commit_state_of(g->commit, failure, sizeof(failure)) == CAIRN_COMMIT_FAILED)
			probe_after_failure(g, failure);
	}
}

int cairn_guard_start(cairn_guard **out, cairn_commit *commit, const cairn_guard_options *opts)
{
	cairn_guard *g = calloc(1, sizeof(*g));
	char path[PATH_MAX];
	if (g == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	g->commit = commit;
	g->opts = *opts;
	atomic_init(&g->restart_wanted, false);
	int rc = snprintf(path, sizeof(path), "%s/0/.storage-probe", opts->database_directory) < (int)sizeof(path)
		? CAIRN_OK : cairn_error_set(CAIRN_EINVALID, "database directory path too long");
	if (rc == CAIRN_OK && (g->probe_path = strdup(path)) == NULL)
		rc = cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc == CAIRN_OK)
		rc = cairn_worker_start(&g->worker, "storage-guard", guard_main, g);
	if (rc != CAIRN_OK) {
		free(g->probe_path);
		free(g);
		return rc;
	}
	*out = g;
	return CAIRN_OK;
}

bool cairn_guard_restart_wanted(cairn_guard *g)
{
	return g != NULL && atomic_load(&g->restart_wanted);
}

void cairn_guard_stop(cairn_guard *g)
{
	if (g == NULL)
		return;
	cairn_worker_stop(g->worker);
	free(g->probe_path);
	free(g);
}
