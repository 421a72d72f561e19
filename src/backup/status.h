/*
 * status.h: the files that record what a backup is (internal to
 * src/backup): <root>/status with Chainweb's three words, <root>/failure
 * with the reason of a job that reads backup-failed.
 */
#ifndef CAIRN_BACKUP_STATUS_H
#define CAIRN_BACKUP_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "backup/backup.h"

/* Writes "<directory>/<id>" into buf. */
int cairn_backup__job_path(char *buf, size_t size, const char *directory, const char *id);

/* Records `state` in <root>/status atomically (and, for a state that reads
 * backup-failed, `reason` in <root>/failure first).  A failure status that
 * cannot be written atomically (a full disk) overwrites the old status in
 * place. */
int cairn_backup__mark(const char *root, cairn_backup_state state, const char *reason);

/* The state a status file's text names (COPYING, DONE or FAILED: the
 * file holds only three words); CAIRN_ENOTFOUND when none. */
int cairn_backup__parse_status(cairn_backup_state *out, const char *text);

/* The state a management API name names ("completed", ...). */
int cairn_backup__parse_state_name(cairn_backup_state *out, const char *name);

/* Reads the status of entry `id` of the backup directory open as dir_fd,
 * without following links; CAIRN_ENOTFOUND when it is no backup. */
int cairn_backup__read_status_at(cairn_backup_state *out, int dir_fd, const char *id);

/* Removes everything in <root> but `status`, `failure` and the job's
 * record. */
int cairn_backup__discard(const char *root);

/* The name of the file beside a backup's directory that records a
 * failure its directory could not hold (status.c): ".failed-<id>". */
int cairn_backup__failed_beside_name(char *buf, size_t size, const char *id);

#endif
