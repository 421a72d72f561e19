/*
 * archive.h: a finished backup as a zstd-compressed tar stream, produced
 * while it is read (for the management API's download).
 *
 * The stream is pulled: each cairn_backup_archive_read makes the next
 * piece, so memory stays bounded whatever the backup's size, and nothing
 * is written to disk.  Entries sit under one top directory, `top_name`,
 * and extracting the archive (tar --zstd -xf) gives a directory that
 * `cairn backup verify` accepts.  The archive is written by libarchive
 * with its zstd filter; no tar or zstd code of cairn's own.
 *
 * Only what the backup's manifest lists (and the manifest and status
 * themselves) is archived, each file opened relative to the backup's
 * directory without following symbolic links, so the stream never reads
 * outside the backup directory.
 */
#ifndef CAIRN_BACKUP_ARCHIVE_H
#define CAIRN_BACKUP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cairn_backup_archive cairn_backup_archive;

/* Opens backup `id` of the backup directory `directory` for streaming,
 * with entries under `top_name/`.  CAIRN_ENOTFOUND for an invalid id or no
 * such backup, CAIRN_ESTATE when the backup is not complete (no manifest
 * that checks), CAIRN_EIO when it cannot be read. */
int cairn_backup_archive_open(cairn_backup_archive **out, const char *directory, const char *id,
	const char *top_name);

/* Writes the next piece of the stream into buf (at most `max` bytes) and
 * sets *out_len; 0 means the stream has ended.  An error (a file that
 * vanished or changed size) ends the stream: the caller must not present
 * what it sent as complete. */
int cairn_backup_archive_read(size_t *out_len, cairn_backup_archive *a, char *buf, size_t max);

/* Bytes of backup files archived so far (uncompressed), and in all. */
uint64_t cairn_backup_archive_bytes_done(const cairn_backup_archive *a);
uint64_t cairn_backup_archive_bytes_total(const cairn_backup_archive *a);

void cairn_backup_archive_close(cairn_backup_archive *a);

#endif
