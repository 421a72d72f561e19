/*
 * array.h: room in a growing array of fixed-size items (array.c).
 */
#ifndef CAIRN_UTIL_ARRAY_H
#define CAIRN_UTIL_ARRAY_H

#include <stddef.h>

/* Makes room for one more item in *items (count used of *capacity, each
 * item_size bytes): the capacity doubles, starting at `first`.  On
 * CAIRN_ENOMEM ("WHAT: out of memory", or without WHAT when it is NULL) *items and *capacity are unchanged. */
int cairn_array_reserve(void *items, size_t *capacity, size_t count, size_t item_size, size_t first,
	const char *what);

#endif
