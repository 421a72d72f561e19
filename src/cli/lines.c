/*
 * lines.c: the header line formats and the line loop of lines.h.
 */
#include "cli/lines.h"
#include "chain/json.h"
#include "util/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool starts_with(const char *text, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(text, prefix, n) == 0;
}

static bool is_blank(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t')
			return false;
	return true;
}

/* A JSON line: an event object (with "header") or a header object. */
static int parse_json(cairn_line *out, const char *text, size_t len)
{
	json_object *obj;
	int rc = cairn_json_parse(&obj, text, len);
	if (rc != CAIRN_OK)
		return rc;
	if (json_object_is_type(obj, json_type_object) && json_object_object_get_ex(obj, "header", NULL)) {
		out->kind = CAIRN_LINE_EVENT;
		rc = cairn_event_from_json(&out->event, obj);
	} else {
		out->kind = CAIRN_LINE_HEADER;
		rc = cairn_header_from_json(&out->event.header, obj);
	}
	json_object_put(obj);
	return rc;
}

int cairn_line_parse(cairn_line *out, const char *text, size_t len)
{
	memset(out, 0, sizeof(*out));
	cairn_payload_init(&out->event.payload);
	if (starts_with(text, len, "event:") || starts_with(text, len, "id:") ||
	    starts_with(text, len, "retry:") || starts_with(text, len, ":")) {
		out->kind = CAIRN_LINE_SKIP;
		return CAIRN_OK;
	}
	if (starts_with(text, len, "data:")) {
		size_t skip = len > 5 && text[5] == ' ' ? 6 : 5;
		return parse_json(out, text + skip, len - skip);
	}
	if (len > 0 && text[0] == '{')
		return parse_json(out, text, len);
	out->kind = CAIRN_LINE_BINARY;
	return cairn_header_from_base64(&out->event.header, text, len);
}

void cairn_line_free(cairn_line *line)
{
	cairn_event_free(&line->event);
}

const char *cairn_line_kind_name(cairn_line_kind kind)
{
	static const char *const names[] = {"skip", "binary", "header", "event"};
	return names[kind];
}

int cairn_for_each_line(FILE *in, cairn_line_fn fn, void *ctx, int stop_status)
{
	char *buf = NULL;
	size_t cap = 0, line = 0;
	ssize_t n;
	int status = 0;
	while ((n = getline(&buf, &cap, in)) >= 0) {
		line++;
		size_t len = (size_t)n;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (is_blank(buf, len))
			continue;
		int rc = fn(ctx, line, buf, len);
		if (rc > status)
			status = rc;
		if (stop_status > 0 && rc >= stop_status)
			break;
	}
	free(buf);
	return status;
}
