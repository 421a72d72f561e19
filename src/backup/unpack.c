/*
 * unpack.c: unpacking a downloaded backup archive (unpack.h).
 *
 * One pass: each entry's header is checked before its data is written, so
 * a hostile entry is refused before it touches the disk, and the staging
 * directory (with whatever earlier entries put there) is then removed.
 * Extraction runs with the staging directory as the working directory
 * and every ARCHIVE_EXTRACT_SECURE_* flag, so libarchive itself refuses
 * absolute paths, `..` and paths through links even if a check here were
 * wrong; the previous working directory is restored before returning.
 * Owners, permissions beyond the umask, times and extended attributes of
 * the archive are not applied: restore copies the files' contents only.
 */
#include "backup/unpack.h"
#include "backup/backup.h"
#include "util/error.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BLOCK (256 * 1024)

bool cairn_backup_unpack_is_archive(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Checks one entry's name and type; `top` holds the first entry's top
 * directory ("" before it) and every later entry must share it. */
static int check_entry(char *top, size_t top_size, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	if (name == NULL || name[0] == '\0')
		return cairn_error_set(CAIRN_EINVALID, "an entry has no name");
	if (name[0] == '/')
		return cairn_error_set(CAIRN_EINVALID, "entry '%s' has an absolute path", name);
	mode_t type = archive_entry_filetype(e);
	if (archive_entry_hardlink(e) != NULL)
		return cairn_error_set(CAIRN_EINVALID, "entry '%s' is a hard link", name);
	if (type == AE_IFLNK || archive_entry_symlink(e) != NULL)
		return cairn_error_set(CAIRN_EINVALID, "entry '%s' is a symbolic link", name);
	if (type != AE_IFREG && type != AE_IFDIR)
		return cairn_error_set(CAIRN_EINVALID, "entry '%s' is neither a file nor a directory", name);
	size_t first_len = strcspn(name, "/");
	for (const char *p = name; *p != '\0';) {
		size_t len = strcspn(p, "/");
		bool last = p[len] == '\0' || (p[len] == '/' && p[len + 1] == '\0');
		if ((len == 0 && !last) || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return cairn_error_set(CAIRN_EINVALID, "entry '%s' has an empty, '.' or '..' component", name);
		p += len;
		if (*p == '/')
			p++;
	}
	if (first_len >= top_size)
		return cairn_error_set(CAIRN_EINVALID, "entry '%s': its top directory is not a backup id", name);
	if (top[0] == '\0') {
		memcpy(top, name, first_len);
		top[first_len] = '\0';
		if (!cairn_backup_id_is_valid(top))
			return cairn_error_set(CAIRN_EINVALID, "entry '%s': its top directory is not a backup id", name);
	} else if (strncmp(name, top, first_len) != 0 || top[first_len] != '\0') {
		return cairn_error_set(CAIRN_EINVALID, "entry '%s' is outside the backup's directory '%s'", name, top);
	}
	if (name[first_len] == '\0' && type != AE_IFDIR)
		return cairn_error_set(CAIRN_EINVALID, "entry '%s' should be the backup's directory", name);
	return CAIRN_OK;
}

static int copy_data(struct archive *in, struct archive *out, const char *name)
{
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t offset;
		int r = archive_read_data_block(in, &buf, &len, &offset);
		if (r == ARCHIVE_EOF)
			return CAIRN_OK;
		if (r != ARCHIVE_OK)
			return cairn_error_set(CAIRN_EINVALID, "reading entry '%s': %s", name, archive_error_string(in));
		if (archive_write_data_block(out, buf, len, offset) != ARCHIVE_OK)
			return cairn_error_set(CAIRN_EIO, "writing '%s': %s", name, archive_error_string(out));
	}
}

/* Extracts every entry of `in` into the working directory. */
static int extract_all(cairn_backup_unpacked *u, char *top, size_t top_size, struct archive *in,
	struct archive *out)
{
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return cairn_error_set(CAIRN_EINVALID, "not a readable tar.zst archive: %s", archive_error_string(in));
		int rc = check_entry(top, top_size, e);
		if (rc != CAIRN_OK)
			return rc;
		const char *name = archive_entry_pathname(e);
		archive_entry_set_perm(e, archive_entry_filetype(e) == AE_IFDIR ? 0755 : 0644);
		if (archive_write_header(out, e) != ARCHIVE_OK)
			return cairn_error_set(CAIRN_EINVALID, "entry '%s': %s", name, archive_error_string(out));
		if (archive_entry_filetype(e) == AE_IFREG) {
			rc = copy_data(in, out, name);
			if (rc != CAIRN_OK)
				return rc;
			u->files++;
			u->bytes += (uint64_t)archive_entry_size(e);
		}
		if (archive_write_finish_entry(out) != ARCHIVE_OK)
			return cairn_error_set(CAIRN_EIO, "entry '%s': %s", name, archive_error_string(out));
	}
	if (top[0] == '\0')
		return cairn_error_set(CAIRN_EINVALID, "the archive is empty");
	return CAIRN_OK;
}

static int unpack_into_cwd(cairn_backup_unpacked *u, char *top, size_t top_size, const char *archive)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	int rc = CAIRN_OK;
	if (in == NULL || out == NULL) {
		rc = cairn_error_set(CAIRN_ENOMEM, "out of memory");
		goto done;
	}
	archive_read_support_filter_zstd(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_NO_OVERWRITE);
	if (archive_read_open_filename(in, archive, READ_BLOCK) != ARCHIVE_OK) {
		rc = cairn_error_set(CAIRN_EINVALID, "%s: %s", archive, archive_error_string(in));
		goto done;
	}
	rc = extract_all(u, top, top_size, in, out);
	if (rc == CAIRN_OK && archive_write_close(out) != ARCHIVE_OK)
		rc = cairn_error_set(CAIRN_EIO, "finishing the extraction: %s", archive_error_string(out));
done:
	archive_read_free(in);
	archive_write_free(out);
	return rc;
}

int cairn_backup_unpack(cairn_backup_unpacked *out, const char *archive, const char *database_dir)
{
	memset(out, 0, sizeof(*out));
	/* the archive's absolute path: extraction runs in the staging directory */
	char archive_path[PATH_MAX];
	if (realpath(archive, archive_path) == NULL)
		return cairn_error_set_errno(CAIRN_EINVALID, errno, "cannot open %s", archive);
	size_t dir_len = strlen(database_dir);
	while (dir_len > 1 && database_dir[dir_len - 1] == '/')
		dir_len--;
	if (snprintf(out->staging, sizeof(out->staging), "%.*s.unpacking-XXXXXX", (int)dir_len, database_dir) >=
		(int)sizeof(out->staging))
		return cairn_error_set(CAIRN_EINVALID, "database directory path too long");
	if (mkdtemp(out->staging) == NULL) {
		int err = errno;
		out->staging[0] = '\0';
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot create a staging directory beside %s", database_dir);
	}
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = CAIRN_OK;
	char top[CAIRN_BACKUP_ID_MAX + 1] = "";
	if (cwd < 0 || chdir(out->staging) != 0) {
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot enter %s", out->staging);
	} else {
		rc = unpack_into_cwd(out, top, sizeof(top), archive_path);
		if (fchdir(cwd) != 0 && rc == CAIRN_OK)
			rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot return to the working directory");
	}
	if (cwd >= 0)
		close(cwd);
	if (rc == CAIRN_OK &&
		snprintf(out->backup, sizeof(out->backup), "%s/%s", out->staging, top) >= (int)sizeof(out->backup))
		rc = cairn_error_set(CAIRN_EINVALID, "staging path too long");
	if (rc != CAIRN_OK) {
		char reason[512];
		snprintf(reason, sizeof(reason), "%s", cairn_error_last());
		cairn_backup_unpack_remove(out);
		out->staging[0] = '\0';
		return cairn_error_set(rc, "cannot unpack %s: %s", archive, reason);
	}
	return CAIRN_OK;
}

int cairn_backup_unpack_remove(const cairn_backup_unpacked *u)
{
	if (u->staging[0] == '\0')
		return CAIRN_OK;
	return cairn_fs_remove_tree(u->staging);
}
