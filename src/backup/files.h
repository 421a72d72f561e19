/*
 * files.h: file operations of backup jobs (internal to src/backup).
 *
 * A file copied here has been fsynced when the copy returns CAIRN_OK; the
 * caller fsyncs the directory that names it.  Hashing only reads.  SHA-256 comes
 * from OpenSSL (SHA-NI where the processor has it: about 1.6 GB/s per core
 * here, several times the disk's write rate).
 */
#ifndef CAIRN_BACKUP_FILES_H
#define CAIRN_BACKUP_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_BACKUP_SHA256_HEX 65 /* 64 lowercase hex digits and a NUL */

typedef struct cairn_backup_file_digest {
	uint64_t size;
	char sha256[CAIRN_BACKUP_SHA256_HEX];
} cairn_backup_file_digest;

/* Reads `path` to its end, hashing it.  With drop_cache the
 * file's pages leave the page cache afterwards (for backup copies, which
 * nobody reads soon; never for files that share pages with the live
 * database). */
int cairn_backup__hash_file(cairn_backup_file_digest *out, const char *path, bool drop_cache);

#define CAIRN_BACKUP__COPY_SYNC 1u /* sync every chunk and fsync the copy */
#define CAIRN_BACKUP__COPY_HASH 2u /* hash the bytes as they pass */

/* Copies `src` to the new file `dst` (which must not exist); out->size is
 * the size copied and out->sha256 its hash with CAIRN_BACKUP__COPY_HASH
 * ("" without).  With CAIRN_BACKUP__COPY_SYNC, every chunk is synced as
 * the copy goes (cairn_fs_sync_written: the node's fsyncs never wait for
 * more than a chunk of it) and `dst` is fsynced.  Without, the kernel writes
 * back as it likes and the caller makes the copies durable, for example
 * with one syncfs() after many copies (a restore: nothing else runs, and
 * one bulk writeback beats a paced one per file).  A copy that is not
 * hashed is made by the kernel (copy_file_range), as cp makes it. */
int cairn_backup__copy_file(cairn_backup_file_digest *out, const char *src, const char *dst, unsigned flags);

/* The names of the regular files in `dir`, sorted (a malloc'd array of
 * malloc'd strings; release with cairn_backup__free_names). */
int cairn_backup__list_files(char ***out, size_t *out_count, const char *dir);
void cairn_backup__free_names(char **names, size_t count);

#endif
