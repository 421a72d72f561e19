/*
 * manifest.h: manifest.json, the record of what a finished backup holds
 * (internal to src/backup; the format is described in manifest.c and
 * docs/backups.md).
 */
#ifndef CAIRN_BACKUP_MANIFEST_H
#define CAIRN_BACKUP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/files.h"
#include "store/chaindb.h"

#define CAIRN_BACKUP_MANIFEST_FORMAT 1

typedef struct cairn_backup_manifest_file {
	char *path;      /* relative to the backup's directory: "0/rocksDb/000012.sst" */
	uint64_t size;
	bool linked;     /* a hard link to an immutable table file of the live database */
	char sha256[CAIRN_BACKUP_SHA256_HEX]; /* "" for linked files */
} cairn_backup_manifest_file;

/* Durations of the job's steps, seconds. */
typedef struct cairn_backup_timings {
	double flush;         /* memtable flush before the lock */
	double checkpoint;    /* the RocksDB checkpoint */
	double cut;           /* finding the checkpoint's cut */
	double lock_wait;     /* waiting for the commit lock (Pact only) */
	double lock_hold;     /* holding it (nothing is done under it) */
	double rocksdb_files; /* listing, hashing (or copying) and syncing RocksDB files */
	double pact_copy;     /* copying, checksumming and syncing the Pact files */
	double total;         /* from the start request to the manifest */
} cairn_backup_timings;

typedef struct cairn_backup_manifest {
	const char *id;               /* borrowed when writing, owned when read */
	const char *chainweb_version; /* likewise */
	char *owned_strings;          /* "id\0version\0" of a manifest read from a file */
	uint64_t completed_at;        /* UNIX ms; set by cairn_backup__manifest_read */
	bool pact_included;
	int parallelism;
	cairn_chaindb_cut cut;
	char rocksdb_version[32]; /* from the checkpoint's OPTIONS file; "" if unknown */
	cairn_backup_timings timings;
	cairn_backup_manifest_file *files;
	size_t file_count, file_capacity;
} cairn_backup_manifest;

/* Appends a file; sha256 is NULL for a linked file. */
int cairn_backup__manifest_add(cairn_backup_manifest *m, const char *path, uint64_t size,
	const char *sha256, bool linked);

/* Writes the manifest to `path` atomically (fsynced with its directory). */
int cairn_backup__manifest_write(const cairn_backup_manifest *m, const char *path);

/* Reads manifest.json at `path` into a zeroed *m and checks its shape:
 * format and version, a cut, and files whose paths stay inside the backup
 * (0/rocksDb/NAME or 0/sqlite/NAME, NAME without '/' and not "." or "..").
 * CAIRN_ENOTFOUND when the file is missing, CAIRN_EINVALID with the reason
 * when it is not a manifest cairn can trust. */
int cairn_backup__manifest_read(cairn_backup_manifest *m, const char *path);

/* The same for `name` relative to the directory `dir_fd` (`path` names it in
 * messages).  A symbolic link, FIFO or device is refused (CAIRN_EINVALID)
 * without being followed or opened for reading. */
int cairn_backup__manifest_read_at(cairn_backup_manifest *m, int dir_fd, const char *name, const char *path);

/* The same checks on `len` bytes of manifest text in memory (which need
 * not be NUL-terminated); nothing may follow the object but white space. */
int cairn_backup__manifest_parse(cairn_backup_manifest *m, const char *text, size_t len);

/* The sum of the listed files' sizes. */
uint64_t cairn_backup__manifest_bytes(const cairn_backup_manifest *m);

/* The cut's height as GET /cut reports it: the sum of the chain heights. */
uint64_t cairn_backup__cut_height(const cairn_chaindb_cut *cut);

void cairn_backup__manifest_free(cairn_backup_manifest *m);

#endif
