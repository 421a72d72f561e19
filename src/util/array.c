/*
 * array.c: the doubling growth every list of the backup catalogue, the
 * manifests and the archive's entries uses.
 *
 * Invariant: a successful call leaves *capacity > count, so the caller
 * may write items[count]; a failed one leaves the array as it was, so
 * the caller can still free what it holds.
 */
#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int cairn_array_reserve(void *items, size_t *capacity, size_t count, size_t item_size, size_t first,
	const char *what)
{
	if (count < *capacity)
		return CAIRN_OK;
	void *old;
	memcpy(&old, items, sizeof(old));
	size_t grown_capacity = *capacity ? *capacity * 2 : first;
	void *grown = grown_capacity <= SIZE_MAX / item_size ? realloc(old, grown_capacity * item_size) : NULL;
	if (grown == NULL)
		return what != NULL ? cairn_error_set(CAIRN_ENOMEM, "%s: out of memory", what)
				    : cairn_error_set(CAIRN_ENOMEM, "out of memory");
	memcpy(items, &grown, sizeof(grown));
	*capacity = grown_capacity;
	return CAIRN_OK;
}
