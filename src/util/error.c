/*
 * error.c: the per-thread error message behind error.h.
 *
 * One fixed buffer per thread; messages longer than it are truncated, never
 * allocated, so reporting an allocation failure cannot itself fail.
 */
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ERROR_CAPACITY 1024

static _Thread_local char last_message[ERROR_CAPACITY];

void cairn_error_record(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
}

void cairn_error_record_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(last_message))
		snprintf(last_message + n, sizeof(last_message) - (size_t)n, ": %s", strerror(err));
}

void cairn_error_record_prefix(const char *fmt, ...)
{
	char previous[ERROR_CAPACITY];
	memcpy(previous, last_message, sizeof(previous));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(last_message) && previous[0] != '\0')
		snprintf(last_message + n, sizeof(last_message) - (size_t)n, ": %s", previous);
}

const char *cairn_error_last(void)
{
	return last_message;
}

void cairn_error_clear(void)
{
	last_message[0] = '\0';
}

int cairn_error_from_errno(int err)
{
	switch (err) {
	case ENOENT: return CAIRN_ENOTFOUND;
	case EEXIST: return CAIRN_EEXISTS;
	case ENOMEM: return CAIRN_ENOMEM;
	case EINVAL: return CAIRN_EINVALID;
	case EBUSY:
	case EWOULDBLOCK: return CAIRN_EBUSY;
	default: return CAIRN_EIO;
	}
}
