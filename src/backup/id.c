/*
 * id.c: backup ids (id.h).  Pure functions of the name, plus the wall
 * clock the ids are made from.
 */
#include "backup/id.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

bool cairn_backup_id_is_valid(const char *id)
{
	size_t len = 0;
	for (; id[len] != '\0'; len++) {
		char c = id[len];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok || len == CAIRN_BACKUP_ID_MAX)
			return false;
	}
	return len > 0;
}

bool cairn_backup__numeric_id(uint64_t *out, const char *name)
{
	size_t len = strspn(name, "0123456789");
	if (len == 0 || len > 19 || name[len] != '\0')
		return false;
	*out = strtoull(name, NULL, 10);
	return true;
}

int cairn_backup__id_compare(const char *a, const char *b)
{
	uint64_t x, y;
	bool nx = cairn_backup__numeric_id(&x, a), ny = cairn_backup__numeric_id(&y, b);
	if (nx != ny)
		return nx ? -1 : 1;
	if (nx && x != y)
		return x < y ? -1 : 1;
	return strcmp(a, b);
}

uint64_t cairn_backup__now_us(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
}

uint64_t cairn_backup__now_ms(void)
{
	return cairn_backup__now_us() / 1000;
}
