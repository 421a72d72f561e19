/*
 * progress.c: a running job's record (job.h, record.h).
 *
 * The job thread changes the record; API threads read it.  Both hold the
 * job's lock, for microseconds, except at a change of state (a handful of
 * times per job), when the record is saved under it: an fsync, about a
 * millisecond, which a reader of that one job waits out.  Bytes of a Pact copy
 * in flight are counted by the store itself (cairn_pactdb_copy_watch)
 * into job->copying and folded into the counters when the copy ends, so
 * readers see them grow while a large file is copied.
 */
#include "backup/job.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/id.h"
#include "metrics/metrics.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

int cairn_backup__job_create(cairn_backup_job **out, const char *id, const cairn_backup_request *req)
{
	cairn_backup_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	snprintf(job->id, sizeof(job->id), "%s", id);
	job->request = *req;
	job->started_at = cairn_clock_now();
	atomic_init(&job->state, CAIRN_BACKUP_QUEUED);
	atomic_init(&job->stop_requested, false);
	atomic_init(&job->cancel, false);
	atomic_init(&job->copying, 0);
	atomic_init(&job->uploaded, 0);
	pthread_mutex_init(&job->lock, NULL);
	cairn_backup_detail *d = &job->record.detail;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->state = CAIRN_BACKUP_QUEUED;
	d->method = req->method;
	d->include_pact = req->include_pact;
	d->created_us = cairn_backup__now_us();
	int rc = cairn_backup__record_event(&job->record, "backup_queued", d->created_us);
	if (rc != CAIRN_OK) {
		cairn_backup__job_free(job);
		return rc;
	}
	*out = job;
	return CAIRN_OK;
}

void cairn_backup__job_free(cairn_backup_job *job)
{
	if (job == NULL)
		return;
	cairn_backup__record_free(&job->record);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

static void save(cairn_backup_job *job)
{
	char root[PATH_MAX];
	int rc = cairn_backup__job_path(root, sizeof(root), job->directory, job->id);
	if (rc == CAIRN_OK)
		rc = cairn_backup__record_save(&job->record, root);
	if (rc != CAIRN_OK)
		cairn_log_error("backup", "backup %s: saving its record: %s", job->id, cairn_error_last());
}

static uint64_t bandwidth(const cairn_backup_job *job, uint64_t bytes, double now)
{
	double spent = job->copy_started > 0 ? now - job->copy_started : 0;
	return spent > 0 ? (uint64_t)((double)bytes / spent) : 0;
}

void cairn_backup__job_enter(cairn_backup_job *job, cairn_backup_state state, const char *event)
{
	uint64_t now = cairn_backup__now_us();
	pthread_mutex_lock(&job->lock);
	cairn_backup_detail *d = &job->record.detail;
	if (state == CAIRN_BACKUP_PREPARING)
		d->started_us = now;
	if (state == CAIRN_BACKUP_COPYING)
		job->copy_started = cairn_clock_now();
	if (cairn_backup_state_is_terminal(state)) {
		d->ended_us = now;
		d->bandwidth_avg_bps = bandwidth(job, d->bytes_backed_up, cairn_clock_now());
	}
	/* a stop request stands until the job ends */
	if (d->state != CAIRN_BACKUP_STOP_REQUESTED || cairn_backup_state_is_terminal(state))
		d->state = state;
	if (cairn_backup__record_event(&job->record, event, now) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
	save(job);
	atomic_store(&job->state, d->state);
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_sealed(cairn_backup_job *job, uint64_t cut_height, uint64_t size)
{
	pthread_mutex_lock(&job->lock);
	cairn_backup_detail *d = &job->record.detail;
	d->has_cut = true;
	d->cut_height = cut_height;
	d->size_on_disk = size;
	d->bytes_in_db = size; /* what the cut holds, now known exactly */
	d->restorable = true;
	pthread_mutex_unlock(&job->lock);
}

int cairn_backup__job_request_stop(cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	cairn_backup_detail *d = &job->record.detail;
	int rc = CAIRN_OK;
	if (cairn_backup_state_is_terminal(d->state)) {
		rc = cairn_error_set(CAIRN_ESTATE, "backup %s has already ended (%s)", job->id,
			cairn_backup_state_name(d->state));
	} else if (d->state != CAIRN_BACKUP_STOP_REQUESTED) {
		atomic_store(&job->stop_requested, true);
		atomic_store(&job->cancel, true);
		d->state = CAIRN_BACKUP_STOP_REQUESTED;
		if (cairn_backup__record_event(&job->record, "backup_stop_request", cairn_backup__now_us()) != CAIRN_OK)
			cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
		save(job);
		atomic_store(&job->state, d->state);
		cairn_log_info("backup", "backup %s: stop requested", job->id);
	}
	pthread_mutex_unlock(&job->lock);
	return rc;
}

void cairn_backup__job_count(cairn_backup_job *job, bool written, uint64_t bytes)
{
	pthread_mutex_lock(&job->lock);
	cairn_backup_detail *d = &job->record.detail;
	d->files_searched++;
	d->bytes_searched += bytes;
	if (written) {
		d->files_backed_up++;
		d->bytes_backed_up += bytes;
	}
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_expect(cairn_backup_job *job, uint64_t bytes)
{
	pthread_mutex_lock(&job->lock);
	job->record.detail.bytes_in_db += bytes;
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_progress(cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	if (cairn_backup__record_event(&job->record, "backup_progress", cairn_backup__now_us()) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_error(cairn_backup_job *job, const char *reason, const char *path, const char *type,
	const char *description)
{
	pthread_mutex_lock(&job->lock);
	if (cairn_backup__record_error(&job->record, reason, path, type, description) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: %s", job->id, cairn_error_last());
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_upload_begin(cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	job->upload_started = cairn_clock_now();
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_upload_add(void *job, uint64_t bytes)
{
	atomic_fetch_add(&((cairn_backup_job *)job)->uploaded, bytes);
	cairn_metrics_upload_bytes_add(bytes);
}

static uint64_t upload_rate(uint64_t bytes, double started, double now)
{
	return started > 0 && now > started ? (uint64_t)((double)bytes / (now - started)) : 0;
}

void cairn_backup__job_upload_end(cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	job->upload_ended = cairn_clock_now();
	cairn_backup_detail *d = &job->record.detail;
	d->upload_bytes = atomic_load(&job->uploaded);
	d->upload_bandwidth_bps = upload_rate(d->upload_bytes, job->upload_started, job->upload_ended);
	pthread_mutex_unlock(&job->lock);
}

void cairn_backup__job_describe(cairn_backup_detail *out, cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	*out = job->record.detail;
	double copy_started = job->copy_started;
	if (job->upload_started > 0 && job->upload_ended == 0) {
		out->upload_bytes = atomic_load(&job->uploaded);
		out->upload_bandwidth_bps = upload_rate(out->upload_bytes, job->upload_started, cairn_clock_now());
	}
	pthread_mutex_unlock(&job->lock);
	if (cairn_backup_state_is_terminal(out->state) || copy_started == 0)
		return;
	uint64_t in_flight = atomic_load(&job->copying);
	out->bytes_searched += in_flight;
	out->bytes_backed_up += in_flight;
	out->bandwidth_avg_bps = bandwidth(job, out->bytes_backed_up, cairn_clock_now());
}

int cairn_backup__job_events(cairn_backup_event **out, size_t *out_count, cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	int rc = cairn_backup__record_copy_events(out, out_count, &job->record);
	pthread_mutex_unlock(&job->lock);
	return rc;
}

int cairn_backup__job_errors(cairn_backup_error **out, size_t *out_count, cairn_backup_job *job)
{
	pthread_mutex_lock(&job->lock);
	int rc = cairn_backup__record_copy_errors(out, out_count, &job->record);
	pthread_mutex_unlock(&job->lock);
	return rc;
}
