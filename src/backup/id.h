/*
 * id.h: backup ids (internal to src/backup; cairn_backup_id_is_valid is
 * public, in backup.h).
 *
 * An id is [A-Za-z0-9_-]{1,64}: safe as one directory entry name (no '/',
 * no ".."), checked before anything touches the file system.  The ids
 * cairn makes are all digits, UNIX milliseconds; only those carry a time,
 * and only those are ever considered by retention.  Order: numeric ids by
 * value first, then the others by name (the catalogue's order everywhere).
 */
#ifndef CAIRN_BACKUP_ID_H
#define CAIRN_BACKUP_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "backup/backup.h"

/* True (with the value) when `name` is all digits and fits in 64 bits:
 * an id as cairn makes them, UNIX milliseconds. */
bool cairn_backup__numeric_id(uint64_t *out, const char *name);

/* <0, 0, >0 as id a sorts before, with or after id b. */
int cairn_backup__id_compare(const char *a, const char *b);

/* UNIX time now, in milliseconds and in microseconds. */
uint64_t cairn_backup__now_ms(void);
uint64_t cairn_backup__now_us(void);

#endif
