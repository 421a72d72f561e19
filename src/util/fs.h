/*
 * fs.h: file-system helpers with the durability rules cairn relies on.
 *
 * Invariant: a file that cairn reports as written has been fsynced, and so
 * has the directory entry that names it.  cairn_fs_write_atomic() gives
 * readers either the old content or the new, never a mix: it writes a
 * temporary file in the same directory, fsyncs it, renames it over the
 * target and fsyncs the directory.
 */
#ifndef CAIRN_UTIL_FS_H
#define CAIRN_UTIL_FS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates `path` and missing parents with mode 0755; existing dirs are fine. */
int cairn_fs_mkdir_p(const char *path);

/* fsyncs a file or directory by path. */
int cairn_fs_fsync_path(const char *path);

/* fsyncs the directory that contains `path`. */
int cairn_fs_fsync_parent(const char *path);

int cairn_fs_write_atomic(const char *path, const void *data, size_t len);

/* cairn_fs_write_atomic with file mode `mode` (before the umask), for
 * secrets: 0600. */
int cairn_fs_write_atomic_mode(const char *path, const void *data, size_t len, unsigned mode);

/* Writes all `len` bytes to `fd`, continuing after short writes and EINTR.
 * CAIRN_OK, or CAIRN_EIO with errno set and no message (callers name the
 * file). */
int cairn_fs_write_all(int fd, const void *data, size_t len);

/* cairn_fs_write_all at `offset` with pwrite(2): a short write is continued,
 * never taken for an error. */
int cairn_fs_pwrite_all(int fd, const void *data, size_t len, off_t offset);

/* Copies made while the node runs write in chunks of this size and call
 * cairn_fs_sync_written after each one (fs.c says why). */
#define CAIRN_FS_COPY_CHUNK ((size_t)4 << 20)

/* fdatasync(2) of everything written to `fd` so far, retried after EINTR.
 * CAIRN_OK, or CAIRN_EIO with errno set and no message (callers name the
 * file). */
int cairn_fs_sync_written(int fd);

/* Reads a whole file into a NUL-terminated malloc'd buffer; *out_len excludes the NUL. */
int cairn_fs_read_file(char **out, size_t *out_len, const char *path);

/* cairn_fs_read_file for files that a hostile party may have replaced: the
 * last component must be a regular file, not a symbolic link (refused
 * without following it) nor a FIFO or device (refused without blocking).
 * The _at form opens `name` relative to `dir_fd` and names `path` in
 * messages.  CAIRN_EINVALID for the wrong kind of file. */
int cairn_fs_read_regular_file(char **out, size_t *out_len, const char *path);
int cairn_fs_read_regular_at(char **out, size_t *out_len, int dir_fd, const char *name, const char *path);

/* Removes a file or a directory tree; a missing path is not an error, nor
 * is a part of the tree that another remover takes away meanwhile. */
/* The next entry of `dir` (listing `path`) other than "." and "..", in
 * *out; *out is NULL at the end.  readdir(3) returns NULL at the end and
 * on an error alike; this tells them apart, because a listing cut short
 * by an I/O error must never pass for the whole directory (a backup
 * missing files, a verify that skipped a check).  CAIRN_EIO names `path`
 * and the errno. */
int cairn_fs_next_entry(struct dirent **out, DIR *dir, const char *path);

/* Removes a file or a directory tree; a missing path is not an error. */
int cairn_fs_remove_tree(const char *path);

/* Checks that `path` is a regular file (not a symbolic link) that neither
 * group nor others may read or write: a secret's file.  CAIRN_EINVALID
 * with the reason (and the chmod that fixes it), CAIRN_ENOTFOUND when it
 * does not exist. */
int cairn_fs_check_private_file(const char *path);

bool cairn_fs_is_dir(const char *path);
bool cairn_fs_exists(const char *path);

/* Checks that `dir` exists (creating it if needed) and that a file can be
 * created, written, fsynced and removed in it. */
int cairn_fs_check_writable_dir(const char *dir);

/* An exclusive advisory lock on `<dir>/LOCK`-style files, held until released
 * or the process dies (so a SIGKILLed owner never leaves a stale lock). */
typedef struct cairn_fs_lock cairn_fs_lock;

/* Returns CAIRN_EBUSY, with the holder's pid in the message, when another
 * process holds the lock. */
int cairn_fs_lock_acquire(cairn_fs_lock **out, const char *lock_path);
void cairn_fs_lock_release(cairn_fs_lock *lock);

/* Returns true when some process holds the lock at `lock_path`. */
bool cairn_fs_lock_is_held(const char *lock_path);

#endif
