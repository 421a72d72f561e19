/*
 * error.h: return codes and the per-thread error message.
 *
 * Every fallible cairn function returns an int: CAIRN_OK (0) on success or a
 * negative CAIRN_E* code.  Before returning an error it records a one-line,
 * human-readable reason with cairn_error_set(); the caller reads it with
 * cairn_error_last().  The message lives in thread-local storage, so it is
 * valid until the same thread sets another one.  Callers that add context
 * use cairn_error_prefix() so the operator sees the whole chain of reasons:
 * "backup 1700000000000: copy chain 3: No space left on device".
 */
#ifndef CAIRN_UTIL_ERROR_H
#define CAIRN_UTIL_ERROR_H

#include <stdarg.h>

enum {
	CAIRN_OK = 0,
	CAIRN_ERROR = -1,     /* generic failure */
	CAIRN_EINVALID = -2,  /* bad input: syntax, range, format */
	CAIRN_ENOTFOUND = -3, /* no such object */
	CAIRN_EIO = -4,       /* operating system or storage failure */
	CAIRN_EBUSY = -5,     /* resource in use (lock held, job running) */
	CAIRN_EEXISTS = -6,   /* object already exists */
	CAIRN_ENOMEM = -7,    /* allocation failed */
	CAIRN_ESTATE = -8,    /* not allowed in the object's current state (stop a finished job) */
};

#if defined(__GNUC__)
#define CAIRN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CAIRN_PRINTF(f, a)
#endif

/* Records a message for this thread. */
void cairn_error_record(const char *fmt, ...) CAIRN_PRINTF(1, 2);

/* Like cairn_error_record, appending ": strerror(err)". */
void cairn_error_record_errno(int err, const char *fmt, ...) CAIRN_PRINTF(2, 3);

/* Prepends "context: " to the current message. */
void cairn_error_record_prefix(const char *fmt, ...) CAIRN_PRINTF(1, 2);

/* Each records a message and evaluates to `code`, so callers can write
 * `return cairn_error_set(CAIRN_EINVALID, "bad port %d", port);`.  They are
 * macros so that the compiler sees the code returned: a function returning
 * its argument from another file leaves gcc's optimiser unsure whether an
 * error path returns CAIRN_OK, and it then warns about out-parameters that
 * only the success path sets. */
#define cairn_error_set(code, ...) cairn_error__code((cairn_error_record(__VA_ARGS__), (code)))
#define cairn_error_set_errno(code, err, ...) \
	cairn_error__code((cairn_error_record_errno((err), __VA_ARGS__), (code)))
#define cairn_error_prefix(code, ...) cairn_error__code((cairn_error_record_prefix(__VA_ARGS__), (code)))

/* Lets a caller ignore the code when it only records a message. */
static inline int cairn_error__code(int code)
{
	return code;
}

/* The last message set on this thread, or "" when none. Never NULL. */
const char *cairn_error_last(void);

void cairn_error_clear(void);

/* Maps an errno value to the closest CAIRN_E* code. */
int cairn_error_from_errno(int err);

#endif
