/*
 * schedule.c: a tick of the backup schedule (schedule.h).
 */
#include "backup/schedule.h"

#include "util/error.h"
#include "util/log.h"

void cairn_backup_schedule_tick(cairn_backup_manager *m, const cairn_backup_schedule_options *opts)
{
	char id[CAIRN_BACKUP_ID_MAX + 1];
	bool started = false;
	cairn_backup_request req = CAIRN_BACKUP_REQUEST_INIT;
	req.include_pact = opts->include_pact;
	req.method = CAIRN_BACKUP_PERIODIC;
	if (cairn_backup_start(id, &started, m, &req) != CAIRN_OK)
		cairn_log_error("backup", "scheduled backup: %s", cairn_error_last());
	else if (started)
		cairn_log_info("backup", "scheduled backup %s started", id);
	else
		cairn_log_warn("backup", "scheduled backup skipped (recorded as backup %s)", id);
}
