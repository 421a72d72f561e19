/*
 * message.c: request accessors, response builders and percent-decoding.
 *
 * Responses never allocate for error text: cairn_http_respond_text formats
 * into the response's inline buffer, so a handler can report an error even
 * when memory is short.
 */
#include "http/message.h"
#include "util/hex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[CAIRN_HTTP_METHOD_COUNT] = {
	[CAIRN_HTTP_GET] = "GET",         [CAIRN_HTTP_HEAD] = "HEAD",
	[CAIRN_HTTP_POST] = "POST",       [CAIRN_HTTP_PUT] = "PUT",
	[CAIRN_HTTP_DELETE] = "DELETE",   [CAIRN_HTTP_PATCH] = "PATCH",
	[CAIRN_HTTP_OPTIONS] = "OPTIONS", [CAIRN_HTTP_OTHER] = "OTHER",
};

cairn_http_method cairn_http_method_parse(const char *name)
{
	for (int m = 0; m < CAIRN_HTTP_OTHER; m++)
		if (strcmp(name, method_names[m]) == 0)
			return (cairn_http_method)m;
	return CAIRN_HTTP_OTHER;
}

const char *cairn_http_method_name(cairn_http_method method)
{
	return (unsigned)method < CAIRN_HTTP_METHOD_COUNT ? method_names[method] : "OTHER";
}

const char *cairn_http_request_param(const cairn_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->param_count; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

bool cairn_http_request_query(const char **value, const cairn_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->query_count; i++) {
		if (strcmp(req->query[i].name, name) == 0) {
			*value = req->query[i].value;
			return true;
		}
	}
	*value = NULL;
	return false;
}

static void set_body(cairn_http_response *res, int status, const char *content_type,
	const char *body, size_t len, cairn_http_body_kind kind)
{
	cairn_http_response_release(res);
	res->status = status;
	res->content_type = content_type;
	res->body = body;
	res->body_len = len;
	res->body_kind = kind;
}

void cairn_http_respond_static(cairn_http_response *res, int status, const char *content_type,
	const char *body, size_t len)
{
	set_body(res, status, content_type, body, len, CAIRN_HTTP_BODY_STATIC);
}

void cairn_http_respond_owned(cairn_http_response *res, int status, const char *content_type,
	char *body, size_t len)
{
	set_body(res, status, content_type, body, len, CAIRN_HTTP_BODY_OWNED);
}

void cairn_http_respond_text(cairn_http_response *res, int status, const char *fmt, ...)
{
	cairn_http_response_release(res);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(res->inline_text, sizeof(res->inline_text) - 1, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n;
	if (len > sizeof(res->inline_text) - 2)
		len = sizeof(res->inline_text) - 2;
	res->inline_text[len++] = '\n';
	res->inline_text[len] = '\0';
	set_body(res, status, CAIRN_HTTP_TEXT_PLAIN, res->inline_text, len, CAIRN_HTTP_BODY_INLINE);
}

void cairn_http_respond_stream(cairn_http_response *res, cairn_http_topic *topic)
{
	set_body(res, 200, "text/event-stream", NULL, 0, CAIRN_HTTP_BODY_STATIC);
	res->stream = topic;
}

void cairn_http_respond_reader(cairn_http_response *res, int status, const char *content_type,
	const cairn_http_body_reader *reader)
{
	set_body(res, status, content_type, NULL, 0, CAIRN_HTTP_BODY_READER);
	res->reader = *reader;
}

int cairn_http_response_add_header(cairn_http_response *res, const char *name, const char *value)
{
	size_t len = strlen(value);
	if (len >= CAIRN_HTTP_HEADER_VALUE_MAX || strpbrk(value, "\r\n") != NULL)
		return cairn_error_set(CAIRN_EINVALID, "header %s: value too long or not one line", name);
	if (res->extra_count == CAIRN_HTTP_MAX_EXTRA_HEADERS)
		return cairn_error_set(CAIRN_ENOMEM, "header %s: more than %d added headers", name,
			CAIRN_HTTP_MAX_EXTRA_HEADERS);
	cairn_http_extra_header *h = &res->extra[res->extra_count++];
	h->name = name;
	memcpy(h->value, value, len + 1);
	return CAIRN_OK;
}

const char *cairn_http_request_header(const cairn_http_request *req, const char *name)
{
	return req->header_lookup != NULL ? req->header_lookup(req->header_ctx, name) : NULL;
}

void cairn_http_response_release(cairn_http_response *res)
{
	if (res->body_kind == CAIRN_HTTP_BODY_OWNED)
		free((char *)res->body);
	if (res->body_kind == CAIRN_HTTP_BODY_READER && res->reader.free != NULL)
		res->reader.free(res->reader.ctx);
	memset(&res->reader, 0, sizeof(res->reader));
	res->body = NULL;
	res->body_len = 0;
	res->body_kind = CAIRN_HTTP_BODY_STATIC;
	res->stream = NULL;
}

int cairn_http_decode_component(char *out, size_t *out_len, const char *in, size_t len, bool allow_space)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 || c >= 0x7f || (c == ' ' && !allow_space))
			return cairn_error_set(CAIRN_EINVALID, "invalid character 0x%02x in request target", c);
		if (c != '%') {
			out[n++] = (char)c;
			continue;
		}
		int hi = i + 2 < len ? cairn_hex_digit_value(in[i + 1]) : -1;
		int lo = i + 2 < len ? cairn_hex_digit_value(in[i + 2]) : -1;
		if (hi < 0 || lo < 0)
			return cairn_error_set(CAIRN_EINVALID, "invalid percent-encoding in request target");
		if (hi == 0 && lo == 0)
			return cairn_error_set(CAIRN_EINVALID, "encoded NUL (%%00) in request target");
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	*out_len = n;
	return CAIRN_OK;
}
