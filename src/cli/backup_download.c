/*
 * backup_download.c: `cairn backup download ID [-o FILE]`.
 *
 * The backup's detail gives its size; the Scalingo /archive call gives a
 * download link, whose path (on the node the client was pointed at: see
 * node_client.h) streams the backup as a tar.zst archive produced while
 * it is sent, so without a Content-Length.
 *
 * Progress: the stream is also decompressed (libzstd, streaming, into a
 * scratch buffer that is thrown away) to count the archive's bytes, which
 * track the backup's files against the detail's size: the percent, rate
 * and time left are of backup bytes, whatever the compression ratio.  The
 * decompression also checks that the last zstd frame ended, so a stream
 * cut off inside a frame is caught even if the HTTP framing looked
 * complete.
 *
 * Never a partial file under the final name: the archive is written to
 * FILE.part-XXXXXX beside FILE, fsynced, and renamed to FILE only when
 * the stream has ended complete (never over a FILE that appeared
 * meanwhile; then the directory is fsynced); on any failure the
 * temporary file is removed, also when the download is
 * interrupted by SIGINT, SIGTERM or SIGHUP (a handler unlinks it, then
 * the signal takes its default course).  An existing FILE is refused.
 * `-o -` streams to standard output instead (no rename possible: the exit
 * status says whether it is complete).
 */
#include "cli/backup_client.h"
#include "cli/commands.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

typedef struct sink {
	int fd;
	ZSTD_DStream *zstd;
	void *scratch;
	size_t scratch_size;
	size_t frame_left; /* ZSTD_decompressStream's last hint: 0 when a frame has just ended */
	uint64_t compressed, archived, total;
	cairn_progress *progress;
} sink;

static int take(void *ctx, const char *data, size_t len)
{
	sink *s = ctx;
	if (cairn_fs_write_all(s->fd, data, len) != CAIRN_OK)
		return cairn_error_set_errno(CAIRN_EIO, errno, "writing the archive");
	s->compressed += len;
	ZSTD_inBuffer in = {data, len, 0};
	while (in.pos < in.size) {
		ZSTD_outBuffer out = {s->scratch, s->scratch_size, 0};
		size_t hint = ZSTD_decompressStream(s->zstd, &out, &in);
		if (ZSTD_isError(hint))
			return cairn_error_set(CAIRN_EINVALID, "the archive is not valid zstd: %s", ZSTD_getErrorName(hint));
		s->frame_left = hint;
		s->archived += out.pos;
	}
	cairn_progress_set(s->progress, s->archived, s->total);
	return CAIRN_OK;
}

/* The link to backup `id`'s archive; *out is malloc'd. */
static int download_link(char **out, cairn_backup_client *c, const char *id)
{
	char path[400];
	snprintf(path, sizeof(path), "/api/databases/%s/backups/%s/archive", c->database, id);
	json_object *body, *url;
	int status = cairn_backup_client_get_json(&body, c, path, true);
	if (status != CAIRN_EXIT_OK)
		return status;
	*out = NULL;
	if (body != NULL && json_object_object_get_ex(body, "download_url", &url) &&
		json_object_is_type(url, json_type_string))
		*out = strdup(json_object_get_string(url));
	json_object_put(body);
	if (*out == NULL) {
		cairn_backup_client_fail("the node gave no download_url for backup %s", id);
		return CAIRN_EXIT_FAILURE;
	}
	return CAIRN_EXIT_OK;
}

static int backup_size(uint64_t *out, cairn_backup_client *c, const char *id)
{
	char path[400];
	snprintf(path, sizeof(path), "/v2/%s/backups/%s", c->database, id);
	json_object *d, *v;
	int status = cairn_backup_client_get_json(&d, c, path, true);
	if (status != CAIRN_EXIT_OK)
		return status;
	*out = 0;
	if (d != NULL && json_object_object_get_ex(d, "bytes_in_db", &v) && json_object_is_type(v, json_type_int))
		*out = json_object_get_uint64(v);
	json_object_put(d);
	return CAIRN_EXIT_OK;
}

/* Streams the link into s->fd; the exit status. */
static int stream(sink *s, cairn_backup_client *c, const char *link, const char *id)
{
	char what[64], error_text[300];
	long http_status;
	snprintf(what, sizeof(what), "download %s", id);
	cairn_progress_begin(s->progress, what, s->total, CAIRN_PROGRESS_BYTES);
	int rc = cairn_node_client_download(&http_status, error_text, sizeof(error_text), c->http, link, take, s);
	if (rc == CAIRN_OK && http_status == 200 && s->frame_left != 0)
		rc = cairn_error_set(CAIRN_EIO, "the archive ended in the middle of a zstd frame");
	if (rc == CAIRN_OK && http_status == 200 && s->compressed == 0)
		rc = cairn_error_set(CAIRN_EIO, "the archive is empty");
	if (rc == CAIRN_OK && http_status == 200) {
		cairn_progress_set(s->progress, s->archived, s->archived);
		cairn_progress_end(s->progress);
		return CAIRN_EXIT_OK;
	}
	if (c->terminal)
		fputc('\n', stderr);
	if (rc != CAIRN_OK && http_status == 200) {
		cairn_backup_client_fail("download of backup %s failed after %" PRIu64 " bytes: %s", id, s->compressed,
			cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	if (rc != CAIRN_OK && http_status == 0) {
		cairn_backup_client_fail("cannot reach the node at %s: %s", cairn_node_client_base(c->http),
			cairn_error_last());
		return CAIRN_EXIT_UNREACHABLE;
	}
	error_text[strcspn(error_text, "\r\n")] = '\0';
	cairn_backup_client_fail("download of backup %s refused (%ld): %s", id, http_status, error_text);
	return http_status == 401 || http_status == 403 ? CAIRN_EXIT_UNREACHABLE : CAIRN_EXIT_FAILURE;
}

/* The temporary file of the download in progress, for the signal handler. */
static char pending[PATH_MAX];
static volatile sig_atomic_t pending_set;

static void remove_pending(int sig)
{
	if (pending_set)
		unlink(pending);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_pending(const char *temp)
{
	static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
	if (temp != NULL) {
		snprintf(pending, sizeof(pending), "%s", temp);
		pending_set = 1;
	} else {
		pending_set = 0;
	}
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		signal(signals[i], temp != NULL ? remove_pending : SIG_DFL);
}

/* Opens the temporary file beside `output`. */
static int open_temporary(int *out_fd, char *temp, size_t size, const char *output)
{
	struct stat st;
	if (lstat(output, &st) == 0) {
		cairn_backup_client_fail("%s exists: remove it or give another -o FILE", output);
		return CAIRN_EXIT_FAILURE;
	}
	if (snprintf(temp, size, "%s.part-XXXXXX", output) >= (int)size) {
		cairn_backup_client_fail("output path too long");
		return CAIRN_EXIT_USAGE;
	}
	*out_fd = mkstemp(temp);
	if (*out_fd < 0) {
		cairn_backup_client_fail("cannot create %s: %s", temp, strerror(errno));
		return CAIRN_EXIT_FAILURE;
	}
	guard_pending(temp);
	fchmod(*out_fd, 0600);
	return CAIRN_EXIT_OK;
}

/* Gives the finished temporary file the name `output`: fsync, then a
 * rename that never replaces a file created meanwhile (RENAME_NOREPLACE;
 * a hard link and an unlink where the file system lacks it), then an
 * fsync of the directory. */
static int finish_file(int fd, const char *temp, const char *output)
{
	if (fsync(fd) != 0) {
		cairn_backup_client_fail("cannot write %s: %s", temp, strerror(errno));
		return CAIRN_EXIT_FAILURE;
	}
	int rc = renameat2(AT_FDCWD, temp, AT_FDCWD, output, RENAME_NOREPLACE);
	if (rc != 0 && (errno == EINVAL || errno == ENOSYS) && (rc = link(temp, output)) == 0)
		unlink(temp);
	if (rc != 0) {
		cairn_backup_client_fail("cannot create %s: %s", output, strerror(errno));
		return CAIRN_EXIT_FAILURE;
	}
	if (cairn_fs_fsync_parent(output) != CAIRN_OK) {
		cairn_backup_client_fail("%s", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	return CAIRN_EXIT_OK;
}

int cairn_backup_client_download(cairn_backup_client *c, const char *id, const char *output)
{
	char default_name[400], temp[PATH_MAX] = "";
	if (output == NULL) {
		snprintf(default_name, sizeof(default_name), "%s-%s.tar.zst", c->database, id);
		output = default_name;
	}
	bool to_stdout = strcmp(output, "-") == 0;
	sink s = {.fd = STDOUT_FILENO};
	char *url = NULL;
	int status = backup_size(&s.total, c, id);
	if (status == CAIRN_EXIT_OK)
		status = download_link(&url, c, id);
	if (status == CAIRN_EXIT_OK && !to_stdout)
		status = open_temporary(&s.fd, temp, sizeof(temp), output);
	if (status != CAIRN_EXIT_OK) {
		free(url);
		return status;
	}
	s.zstd = ZSTD_createDStream();
	s.scratch_size = ZSTD_DStreamOutSize();
	s.scratch = malloc(s.scratch_size);
	s.progress = cairn_progress_create(c->terminal);
	if (s.zstd == NULL || s.scratch == NULL) {
		cairn_backup_client_fail("out of memory");
		status = CAIRN_EXIT_FAILURE;
	} else {
		ZSTD_initDStream(s.zstd);
		if (!c->json)
			fprintf(stderr, "downloading backup %s to %s\n", id, to_stdout ? "standard output" : output);
		status = stream(&s, c, url, id);
	}
	if (!to_stdout) {
		if (status == CAIRN_EXIT_OK)
			status = finish_file(s.fd, temp, output);
		close(s.fd);
		unlink(temp);
		guard_pending(NULL);
	}
	if (status == CAIRN_EXIT_OK) {
		char packed[32], archived[32];
		cairn_backup_client_bytes(packed, sizeof(packed), (double)s.compressed);
		cairn_backup_client_bytes(archived, sizeof(archived), (double)s.archived);
		FILE *report = to_stdout ? stderr : stdout;
		if (c->json && !to_stdout) {
			json_object *obj = json_object_new_object();
			json_object_object_add(obj, "id", json_object_new_string(id));
			json_object_object_add(obj, "file", json_object_new_string(output));
			json_object_object_add(obj, "bytes", json_object_new_uint64(s.compressed));
			json_object_object_add(obj, "archived_bytes", json_object_new_uint64(s.archived));
			fprintf(report, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
			json_object_put(obj);
		} else if (!c->json)
			fprintf(report, "downloaded backup %s to %s: %s (%s of backup files)\n", id,
				to_stdout ? "standard output" : output, packed, archived);
	}
	cairn_progress_free(s.progress);
	ZSTD_freeDStream(s.zstd);
	free(s.scratch);
	free(url);
	return status;
}
