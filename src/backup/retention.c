/*
 * retention.c: the retention policy of retention.h, on the catalog's view
 * of the directory (newest first once reversed).
 */
#include "backup/retention.h"
#include "backup/catalog.h"

#include <stdlib.h>

#include "util/error.h"
#include "util/log.h"

bool cairn_backup_retention_is_set(const cairn_backup_retention *policy)
{
	return policy->keep_last > 0 || policy->max_age_seconds > 0;
}

/* Whether the policy removes `b`, given the newest successful backup's
 * time and how many successful backups are newer than b. */
static bool expendable(const cairn_backup_info *b, const cairn_backup_retention *policy, const uint64_t *newest_done,
	size_t newer_done, uint64_t now_ms)
{
	bool finished = b->state == CAIRN_BACKUP_DONE || b->state == CAIRN_BACKUP_FAILED;
	if (!b->has_time || !finished || (newest_done != NULL && b->time_ms == *newest_done))
		return false;
	bool too_old = policy->max_age_seconds > 0 && now_ms > b->time_ms &&
		(double)(now_ms - b->time_ms) > policy->max_age_seconds * 1000.0;
	if (b->state == CAIRN_BACKUP_FAILED)
		return too_old || (newest_done != NULL && b->time_ms < *newest_done);
	return too_old || (policy->keep_last > 0 && newer_done >= (size_t)policy->keep_last);
}

int cairn_backup_retention_apply(size_t *out_removed, const char *directory, const cairn_backup_retention *policy,
	uint64_t now_ms)
{
	*out_removed = 0;
	cairn_backup_info *list = NULL;
	size_t count = 0;
	int rc = cairn_backup_list(&list, &count, directory);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "retention");
	uint64_t newest_done = 0;
	bool any_done = false;
	for (size_t i = 0; i < count; i++)
		if (list[i].has_time && list[i].state == CAIRN_BACKUP_DONE) {
			newest_done = list[i].time_ms; /* the list ascends */
			any_done = true;
		}
	size_t newer_done = 0;
	for (size_t i = count; rc == CAIRN_OK && i-- > 0;) {
		const cairn_backup_info *b = &list[i];
		if (expendable(b, policy, any_done ? &newest_done : NULL, newer_done, now_ms)) {
			rc = cairn_backup_delete(directory, b->id);
			*out_removed += rc == CAIRN_OK;
			if (rc == CAIRN_ENOTFOUND)
				rc = CAIRN_OK; /* deleted meanwhile (the management API does not wait for retention) */
		} else if (b->has_time && b->state == CAIRN_BACKUP_DONE) {
			newer_done++;
		}
	}
	free(list);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "retention");
}
