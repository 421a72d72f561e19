/*
 * text.h: the Prometheus text exposition format (version 0.0.4), written
 * into one growing buffer.
 *
 * A scrape writes families one after the other: cairn_metrics_text_family
 * (the HELP and TYPE lines), then every sample of that family.  The format
 * requires a family's lines to be contiguous, so callers finish one family
 * before starting the next.  Names are the callers' literals and are not
 * checked here; label values and HELP text are escaped as the format
 * requires (backslash, double quote in label values, line feed).
 *
 * Allocation failure is sticky: later calls do nothing and
 * cairn_metrics_text_take reports CAIRN_ENOMEM, so writers need not check
 * every call.
 */
#ifndef CAIRN_METRICS_TEXT_H
#define CAIRN_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Content-Type of a scrape response. */
#define CAIRN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct cairn_metrics_text cairn_metrics_text;

typedef enum cairn_metrics_type {
	CAIRN_METRICS_COUNTER,
	CAIRN_METRICS_GAUGE,
	CAIRN_METRICS_HISTOGRAM,
} cairn_metrics_type;

typedef struct cairn_metrics_label {
	const char *name;
	const char *value;
} cairn_metrics_label;

int cairn_metrics_text_create(cairn_metrics_text **out);
void cairn_metrics_text_free(cairn_metrics_text *t);

/* "# HELP name help" and "# TYPE name type". */
void cairn_metrics_text_family(cairn_metrics_text *t, const char *name, cairn_metrics_type type,
	const char *help);

/* One sample line: name{labels} value.  Integral values within 2^53 are
 * written as integers, infinities as +Inf/-Inf, NaN as NaN. */
void cairn_metrics_text_sample(cairn_metrics_text *t, const char *name, const cairn_metrics_label *labels,
	size_t nlabels, double value);

/* One sample of an integer value, written exactly. */
void cairn_metrics_text_sample_u64(cairn_metrics_text *t, const char *name, const cairn_metrics_label *labels,
	size_t nlabels, uint64_t value);

/* The samples of one histogram: name_bucket{labels,le="B"} for every
 * bound (ascending) and le="+Inf", then name_sum and name_count.
 * `counts` has nbounds + 1 entries, observations per bucket (not
 * cumulative; the last is above every bound); the cumulative counts, and
 * _count as their total, are computed here, so the +Inf bucket and _count
 * always agree. */
void cairn_metrics_text_histogram(cairn_metrics_text *t, const char *name, const cairn_metrics_label *labels,
	size_t nlabels, const double *bounds, const uint64_t *counts, size_t nbounds, double sum);

/* Hands over the text (malloc'd, NUL-terminated; the caller frees it) and
 * frees the writer.  CAIRN_ENOMEM, with nothing handed over, when any
 * write failed. */
int cairn_metrics_text_take(char **out, size_t *out_len, cairn_metrics_text *t);

#endif
