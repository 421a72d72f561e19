/*
 * unpack.h: a downloaded backup archive (<id>.tar.zst, as the management
 * API's download produces it: archive.h) unpacked for `cairn backup
 * restore FILE.tar.zst`.
 *
 * The archive is untrusted input.  It is extracted by libarchive (read
 * side, zstd filter) into a fresh staging directory, and only regular
 * files and directories, all under one top directory named by a valid
 * backup id, are accepted: an absolute path, a `..` component, a symbolic
 * or hard link, a device, a FIFO or a second top directory is refused
 * before it is written, the whole archive with it (the staging directory
 * is removed), so nothing is ever written outside the staging directory.  libarchive's own
 * ARCHIVE_EXTRACT_SECURE_* checks stay on behind these.
 *
 * The staging directory is `<DIR>.unpacking-XXXXXX` (mkdtemp), beside the
 * database directory DIR the backup is restored into, so on the same file
 * system and never shared by two restores; the caller removes it once the
 * restore has copied what it needs (cairn_backup_unpack_remove).
 */
#ifndef CAIRN_BACKUP_UNPACK_H
#define CAIRN_BACKUP_UNPACK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cairn_backup_unpacked {
	char staging[PATH_MAX];  /* the directory to remove afterwards */
	char backup[PATH_MAX];   /* <staging>/<id>: what restore and verify take */
	uint64_t files, bytes;   /* regular files extracted and their bytes */
} cairn_backup_unpacked;

/* True when `path` names an archive to unpack rather than a backup
 * directory: a regular file (an existing directory never is). */
bool cairn_backup_unpack_is_archive(const char *path);

/* Unpacks `archive` beside `database_dir`.  CAIRN_EINVALID (with the
 * entry at fault) for an archive this refuses or cannot read; CAIRN_EIO
 * when the staging directory cannot be written.  On failure nothing is
 * left behind. */
int cairn_backup_unpack(cairn_backup_unpacked *out, const char *archive, const char *database_dir);

/* Removes the staging directory (and everything in it). */
int cairn_backup_unpack_remove(const cairn_backup_unpacked *u);

#endif
