/*
 * text.c: text.h.
 *
 * Invariants: `buf` always holds a NUL-terminated prefix of the output
 * (len bytes before the NUL); `failed` once set stays set and no byte is
 * appended after it.  Numbers are written so that they read back exactly:
 * integers up to 2^53 as integers, other values with the shortest of
 * %.15g / %.17g that round-trips, so bucket bounds show as "0.005", not
 * "0.0050000000000000001".
 */
#include "metrics/text.h"
#include "util/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 4096
#define MAX_LABELS 8 /* labels of one sample, le included */

struct cairn_metrics_text {
	char *buf;
	size_t len, cap;
	bool failed;
};

int cairn_metrics_text_create(cairn_metrics_text **out)
{
	cairn_metrics_text *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->buf = malloc(INITIAL_CAPACITY)) == NULL) {
		free(t);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	t->cap = INITIAL_CAPACITY;
	t->buf[0] = '\0';
	*out = t;
	return CAIRN_OK;
}

void cairn_metrics_text_free(cairn_metrics_text *t)
{
	if (t == NULL)
		return;
	free(t->buf);
	free(t);
}

static bool reserve(cairn_metrics_text *t, size_t more)
{
	if (t->failed)
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	size_t cap = t->cap;
	while (t->len + more + 1 > cap)
		cap *= 2;
	char *grown = realloc(t->buf, cap);
	if (grown == NULL) {
		t->failed = true;
		return false;
	}
	t->buf = grown;
	t->cap = cap;
	return true;
}

static void append(cairn_metrics_text *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void append_str(cairn_metrics_text *t, const char *s)
{
	append(t, s, strlen(s));
}

/* Escapes backslash and line feed, and double quote when `quote`. */
static void append_escaped(cairn_metrics_text *t, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		size_t run = strcspn(p, quote ? "\\\n\"" : "\\\n");
		append(t, p, run);
		p += run;
		if (*p == '\0')
			break;
		append_str(t, *p == '\n' ? "\\n" : *p == '\\' ? "\\\\" : "\\\"");
	}
}

static void format_double(char out[40], double v)
{
	if (isnan(v)) {
		snprintf(out, 40, "NaN");
	} else if (isinf(v)) {
		snprintf(out, 40, "%s", v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) <= 9007199254740992.0) {
		snprintf(out, 40, "%.0f", v);
	} else {
		snprintf(out, 40, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, 40, "%.17g", v);
	}
}

void cairn_metrics_text_family(cairn_metrics_text *t, const char *name, cairn_metrics_type type,
	const char *help)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	append_str(t, "# HELP ");
	append_str(t, name);
	append_str(t, " ");
	append_escaped(t, help, false);
	append_str(t, "\n# TYPE ");
	append_str(t, name);
	append_str(t, " ");
	append_str(t, types[type]);
	append_str(t, "\n");
}

static void sample_head(cairn_metrics_text *t, const char *name, const char *suffix,
	const cairn_metrics_label *labels, size_t nlabels)
{
	append_str(t, name);
	append_str(t, suffix);
	if (nlabels == 0) {
		append_str(t, " ");
		return;
	}
	append_str(t, "{");
	for (size_t i = 0; i < nlabels; i++) {
		append_str(t, i ? "," : "");
		append_str(t, labels[i].name);
		append_str(t, "=\"");
		append_escaped(t, labels[i].value, true);
		append_str(t, "\"");
	}
	append_str(t, "} ");
}

void cairn_metrics_text_sample(cairn_metrics_text *t, const char *name, const cairn_metrics_label *labels,
	size_t nlabels, double value)
{
	char number[40];
	format_double(number, value);
	sample_head(t, name, "", labels, nlabels);
	append_str(t, number);
	append_str(t, "\n");
}

static void sample_u64(cairn_metrics_text *t, const char *name, const char *suffix,
	const cairn_metrics_label *labels, size_t nlabels, uint64_t value)
{
	char number[24];
	snprintf(number, sizeof(number), "%" PRIu64, value);
	sample_head(t, name, suffix, labels, nlabels);
	append_str(t, number);
	append_str(t, "\n");
}

void cairn_metrics_text_sample_u64(cairn_metrics_text *t, const char *name, const cairn_metrics_label *labels,
	size_t nlabels, uint64_t value)
{
	sample_u64(t, name, "", labels, nlabels, value);
}

void cairn_metrics_text_histogram(cairn_metrics_text *t, const char *name, const cairn_metrics_label *labels,
	size_t nlabels, const double *bounds, const uint64_t *counts, size_t nbounds, double sum)
{
	if (nlabels >= MAX_LABELS) {
		t->failed = true;
		return;
	}
	cairn_metrics_label with_le[MAX_LABELS];
	for (size_t i = 0; i < nlabels; i++)
		with_le[i] = labels[i];
	char le[40];
	with_le[nlabels] = (cairn_metrics_label){"le", le};
	uint64_t cumulative = 0;
	for (size_t i = 0; i <= nbounds; i++) {
		cumulative += counts[i];
		if (i < nbounds)
			format_double(le, bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		sample_u64(t, name, "_bucket", with_le, nlabels + 1, cumulative);
	}
	char number[40];
	format_double(number, sum);
	sample_head(t, name, "_sum", labels, nlabels);
	append_str(t, number);
	append_str(t, "\n");
	sample_u64(t, name, "_count", labels, nlabels, cumulative);
}

int cairn_metrics_text_take(char **out, size_t *out_len, cairn_metrics_text *t)
{
	if (t->failed) {
		cairn_metrics_text_free(t);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory writing metrics");
	}
	*out = t->buf;
	*out_len = t->len;
	free(t);
	return CAIRN_OK;
}
