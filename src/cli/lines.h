/*
 * lines.h: the line formats of block headers that cairn's commands read
 * (`cairn header verify`, `cairn import`), and the loop over input lines.
 *
 * One header per line, in any of these forms:
 *   - a JSON header object (chainweb-format.md 10.1);
 *   - an event, as header/updates and block/updates send it: "data:{...}"
 *     (a space after the colon is allowed) or the event object alone
 *     (10.3), with payloadWithOutputs on block events;
 *   - a base64url binary header (section 2), padded or not.
 * Other SSE fields ("event:", "id:", "retry:") and comments (":") are
 * skipped, as are blank lines.  Parsing checks the formats only; nothing
 * here recomputes a hash or validates a block.
 */
#ifndef CAIRN_CLI_LINES_H
#define CAIRN_CLI_LINES_H

#include <stddef.h>
#include <stdio.h>

#include "chain/event.h"

typedef enum {
	CAIRN_LINE_SKIP,   /* an SSE field other than data, or a comment */
	CAIRN_LINE_BINARY, /* base64url binary header */
	CAIRN_LINE_HEADER, /* JSON header object */
	CAIRN_LINE_EVENT,  /* event object (header, txCount, powHash, target, maybe a payload) */
} cairn_line_kind;

typedef struct cairn_line {
	cairn_line_kind kind;
	/* The header is event.header for every kind but SKIP; the other event
	 * fields are set for CAIRN_LINE_EVENT only. */
	cairn_event event;
} cairn_line;

/* Parses one line without its terminator.  CAIRN_EINVALID with the reason
 * for a malformed line.  Release the result with cairn_line_free. */
int cairn_line_parse(cairn_line *out, const char *text, size_t len);

void cairn_line_free(cairn_line *line);

/* The kind's name in reports: "binary", "header" or "event". */
const char *cairn_line_kind_name(cairn_line_kind kind);

/* Handles one non-blank line (number from 1, text without terminator);
 * returns an exit status. */
typedef int (*cairn_line_fn)(void *ctx, size_t line, char *text, size_t len);

/* Calls fn for every non-blank line of `in` and returns the highest status
 * it returned, stopping after the first line whose status is at least
 * `stop_status` (0: never stop). */
int cairn_for_each_line(FILE *in, cairn_line_fn fn, void *ctx, int stop_status);

#endif
