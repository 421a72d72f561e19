/*
 * cmd_backup_remote.c: the `cairn backup` subcommands that reach a remote
 * (an S3-compatible store): upload ID, list --remote, verify s3://...,
 * restore s3://..., delete --remote ID.  cmd_backup.c dispatches here.
 *
 * Settings come from the node's configuration file (--config-file: its
 * backup.remote.* and backup.directory) and credentials from the same
 * places the node takes them (config_remote.h).  An s3://BUCKET/PREFIX/ID
 * argument names the bucket, prefix and backup itself; the configuration
 * then supplies only the endpoint, region, addressing and credentials.
 *
 * Exclusion with the node: upload and delete take the backup directory's
 * .remote-lock (remote.h), waiting for a running upload to end.
 *
 * Exit status as in cmd_backup.c: 0 success, 1 problems found or the
 * operation failed, 2 usage or configuration errors.
 */
#include "backup/remote.h"
#include "backup/restore.h"
#include "backup/verify.h"
#include "cli/backup_common.h"
#include "cli/commands.h"
#include "config/config_remote.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/progress.h"

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOCK_WAIT_SECONDS 600

typedef struct remote_args {
	const char *command;
	const char *positional;
	const char *config_file;
	const char *backup_directory;
	const char *database_directory;
	bool remote, json, full, force, no_verify;
} remote_args;

static int usage_error(const char *command, const char *fmt, const char *what)
{
	return cairn_backup_usage_error(command, fmt, what);
}

/* CAIRN_EXIT_OK, CAIRN_EXIT_USAGE (the message printed) or -1 for --help. */
static int parse(remote_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->command = argv[1];
	const cairn_backup_option options[] = {
		{"--config-file", NULL, &a->config_file, NULL},
		{"--backup-directory", NULL, &a->backup_directory, NULL},
		{"--database-directory", NULL, &a->database_directory, NULL},
		{"--remote", NULL, NULL, &a->remote},
		{"--json", NULL, NULL, &a->json},
		{"--full", NULL, NULL, &a->full},
		{"--force", NULL, NULL, &a->force},
		{"--no-verify", NULL, NULL, &a->no_verify},
		{NULL, NULL, NULL, NULL},
	};
	bool help = false;
	int positionals;
	int status = cairn_backup_parse_args(&a->positional, &positionals, 1, &help, options, a->command, argc, argv);
	if (status != CAIRN_EXIT_OK || help)
		return help ? -1 : status;
	bool list = strcmp(a->command, "list") == 0, verify = strcmp(a->command, "verify") == 0;
	bool restore = strcmp(a->command, "restore") == 0;
	if ((a->json && !list) || (a->full && !verify) || ((a->force || a->no_verify) && !restore) ||
	    (a->database_directory != NULL) != restore)
		return usage_error(a->command, "%s", restore ? "restore needs --database-directory DIR"
			: "an option given is not one of this subcommand's");
	if (list != (a->positional == NULL))
		return usage_error(a->command, "%s", list ? "list takes no argument" : "one argument is required");
	return CAIRN_EXIT_OK;
}

/* ---- settings ---- */

static const char *config_origin(const cairn_config *cfg, const char *key)
{
	(void)key;
	return cfg->config_file ? cfg->config_file : "environment";
}

/* Splits s3://BUCKET/PREFIX/ID into "s3://BUCKET/PREFIX" and ID. */
static int split_backup_url(char *url_out, size_t size, char *id_out, const char *url)
{
	const char *slash = strrchr(url, '/');
	size_t len = strlen(url);
	if (strncmp(url, "s3://", 5) != 0 || slash == NULL || slash < url + 5 || slash[1] == '\0' ||
	    !cairn_remote_id_is_valid(slash + 1) || len >= size || strchr(url + 5, '/') == NULL)
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not s3://BUCKET[/PREFIX]/ID", url);
	snprintf(url_out, size, "%.*s", (int)(slash - url), url);
	snprintf(id_out, CAIRN_REMOTE_ID_MAX + 1, "%s", slash + 1);
	return CAIRN_OK;
}

/* The remote of the configuration file, its URL replaced by `url` when
 * given.  Prints the reason and returns the exit status on failure. */
static int load_remote(cairn_backup_remote **out, cairn_config *cfg, const remote_args *a, const char *url,
	bool needs_directory)
{
	int rc = cairn_config_init(cfg);
	if (rc == CAIRN_OK && a->config_file != NULL) {
		cfg->config_file = strdup(a->config_file);
		rc = cairn_config_load_file(cfg, a->config_file);
	}
	if (rc == CAIRN_OK && url != NULL) {
		free(cfg->backup_remote_url);
		cfg->backup_remote_url = strdup(url);
	}
	if (rc == CAIRN_OK && a->backup_directory != NULL) {
		free(cfg->backup_directory);
		cfg->backup_directory = strdup(a->backup_directory);
	}
	if (rc == CAIRN_OK && cfg->backup_remote_url == NULL)
		rc = cairn_error_set(CAIRN_EINVALID, "no remote: --config-file names no backup.remote.url");
	if (rc == CAIRN_OK && needs_directory && cfg->backup_directory == NULL)
		rc = cairn_error_set(CAIRN_EINVALID, "no backup directory: --config-file names no backup.directory "
			"(or give --backup-directory DIR)");
	if (rc == CAIRN_OK && needs_directory)
		rc = cairn_config_validate_remote(cfg, config_origin);
	if (rc == CAIRN_OK)
		rc = cairn_config_remote(out, cfg);
	if (rc != CAIRN_OK) {
		fprintf(stderr, "cairn backup %s: %s\n", a->command, cairn_error_last());
		return CAIRN_EXIT_USAGE;
	}
	return CAIRN_EXIT_OK;
}

static int failed(const char *command)
{
	fprintf(stderr, "cairn backup %s: %s\n", command, cairn_error_last());
	return CAIRN_EXIT_FAILURE;
}

/* ---- upload ---- */

static int run_upload(const remote_args *a, cairn_backup_remote *remote, const cairn_config *cfg)
{
	cairn_backup_upload_options opts = CAIRN_BACKUP_UPLOAD_OPTIONS_INIT;
	cairn_backup_upload_report r;
	if (cairn_backup_upload(&r, remote, cfg->backup_directory, a->positional, &opts) != CAIRN_OK)
		return failed(a->command);
	printf("uploaded %s to %s/%s: %" PRIu64 " objects, %.1f MB sent (%" PRIu64 " bytes); %" PRIu64 " objects, "
		"%.1f MB already stored; %.1f MB hashed; %.2f s (%.1f MB/s)%s\n", a->positional, remote->url, a->positional,
		r.objects_sent, (double)r.bytes_sent / 1e6, r.bytes_sent, r.objects_reused, (double)r.bytes_reused / 1e6, (double)r.bytes_hashed / 1e6,
		r.seconds, r.seconds > 0 ? (double)r.bytes_sent / 1e6 / r.seconds : 0.0,
		r.already_complete ? " (it was complete there already)" : "");
	return CAIRN_EXIT_OK;
}

/* ---- list and delete ---- */

static const char *remote_status(const cairn_remote_info *b)
{
	return b->complete ? "backup-done" : b->uploading ? "backup-in-progress" : "backup-failed";
}

static void list_row(cairn_backup_row *out, const void *list, size_t i)
{
	const cairn_remote_info *b = (const cairn_remote_info *)list + i;
	*out = (cairn_backup_row){b->id, b->has_time, b->time_ms, remote_status(b), b->uploading && !b->complete,
		b->complete, b->pact_included, b->cut_height, b->bytes};
}

static int run_list(const remote_args *a, cairn_backup_remote *remote)
{
	cairn_s3 *s3 = NULL;
	cairn_remote_info *list = NULL;
	size_t count = 0;
	int rc = cairn_s3_create(&s3, &remote->s3);
	if (rc == CAIRN_OK)
		rc = cairn_remote_list(&list, &count, s3, remote->prefix);
	cairn_s3_free(s3);
	if (rc != CAIRN_OK)
		return failed(a->command);
	cairn_backup_print_list(list, count, list_row, a->json);
	free(list);
	return CAIRN_EXIT_OK;
}

static int run_delete(const remote_args *a, cairn_backup_remote *remote, const cairn_config *cfg)
{
	if (!cairn_remote_id_is_valid(a->positional))
		return usage_error(a->command, "'%s' is not a backup id", a->positional);
	cairn_fs_lock *lock = NULL;
	cairn_s3 *s3 = NULL;
	cairn_remote_removal removed;
	int rc = cairn_backup_remote_lock(&lock, cfg->backup_directory, LOCK_WAIT_SECONDS);
	if (rc == CAIRN_OK)
		rc = cairn_s3_create(&s3, &remote->s3);
	if (rc == CAIRN_OK)
		rc = cairn_remote_delete(&removed, s3, remote->prefix, a->positional);
	cairn_s3_free(s3);
	cairn_fs_lock_release(lock);
	if (rc != CAIRN_OK)
		return failed(a->command);
	printf("deleted %s from %s: %zu content objects (%.1f MB) no other backup refers to removed%s\n", a->positional,
		remote->url, removed.objects, (double)removed.bytes / 1e6,
		removed.objects_kept ? "; unreferenced objects kept while an upload is in progress" : "");
	return CAIRN_EXIT_OK;
}

/* ---- verify and restore ---- */

/* A private directory for a --full verification's download. */
static int temporary_directory(char *out, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(out, size, "%s/cairn-verify-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	return mkdtemp(out) ? CAIRN_OK : cairn_error_set(CAIRN_EIO, "cannot create a temporary directory in '%s'",
		tmp && tmp[0] ? tmp : "/tmp");
}

static int verify_full(const remote_args *a, cairn_backup_remote *remote, const char *id, cairn_progress *progress)
{
	char dir[PATH_MAX - 128], backup[PATH_MAX];
	cairn_backup_fetch_report fetched;
	cairn_backup_verify_report r;
	cairn_backup_verify_options opts = CAIRN_BACKUP_VERIFY_OPTIONS_INIT;
	opts.progress = progress;
	opts.on_problem = cairn_backup_print_problem;
	int rc = temporary_directory(dir, sizeof(dir));
	if (rc != CAIRN_OK)
		return failed(a->command);
	snprintf(backup, sizeof(backup), "%s/%s", dir, id);
	rc = cairn_backup_fetch(&fetched, remote, id, backup, progress);
	if (rc == CAIRN_EINVALID)
		cairn_backup_print_problem(NULL, cairn_error_last());
	if (rc == CAIRN_OK)
		rc = cairn_backup_verify(&r, backup, &opts);
	cairn_fs_remove_tree(dir);
	if (rc == CAIRN_EINVALID) {
		printf("%s: FAILED: an object differs from the manifest\n", a->positional);
		return CAIRN_EXIT_FAILURE;
	}
	if (rc != CAIRN_OK)
		return failed(a->command);
	printf("%s: %s: %" PRIu64 " objects, %.1f MB downloaded and checksummed, %" PRIu64 " records read, %" PRIu64
		" headers validated, %" PRIu64 " payloads, %u Pact files, cut height %" PRIu64 "%s; %.2f s", a->positional,
		r.problems ? "FAILED" : "ok", fetched.objects, (double)fetched.bytes / 1e6, r.records, r.headers, r.payloads,
		r.pact_files, r.cut_height, r.pact_included ? ", with Pact" : "", fetched.seconds + r.seconds);
	if (r.problems)
		printf("; %" PRIu64 " problem%s", r.problems, r.problems == 1 ? "" : "s");
	printf("\n");
	return r.problems ? CAIRN_EXIT_FAILURE : CAIRN_EXIT_OK;
}

static int run_verify(const remote_args *a, cairn_backup_remote *remote, const char *id)
{
	cairn_progress *progress = cairn_progress_create(cairn_progress_stderr_is_terminal());
	if (a->full) {
		int status = verify_full(a, remote, id, progress);
		cairn_progress_free(progress);
		return status;
	}
	cairn_backup_remote_report r;
	int rc = cairn_backup_remote_check(&r, remote, id, progress, cairn_backup_print_problem, NULL);
	cairn_progress_free(progress);
	if (rc != CAIRN_OK)
		return failed(a->command);
	printf("%s: %s: %" PRIu64 " objects, %.1f MB read and checksummed (%.0f MB/s); %.2f s", a->positional,
		r.problems ? "FAILED" : "ok", r.objects, (double)r.bytes / 1e6,
		r.seconds > 0 ? (double)r.bytes / 1e6 / r.seconds : 0.0, r.seconds);
	if (r.problems)
		printf("; %" PRIu64 " problem%s", r.problems, r.problems == 1 ? "" : "s");
	printf("\n");
	return r.problems ? CAIRN_EXIT_FAILURE : CAIRN_EXIT_OK;
}

/* A DIR the restore would refuse is refused before anything is downloaded. */
static int check_target(const remote_args *a)
{
	char lock[PATH_MAX];
	snprintf(lock, sizeof(lock), "%s/LOCK", a->database_directory);
	if (cairn_fs_lock_is_held(lock))
		return cairn_error_set(CAIRN_EBUSY, "'%s' is in use by a running node (or restore)", a->database_directory);
	DIR *d = a->force ? NULL : opendir(a->database_directory);
	struct dirent *e;
	bool empty = true;
	while (d != NULL && empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	if (d != NULL)
		closedir(d);
	return empty ? CAIRN_OK : cairn_error_set(CAIRN_EEXISTS, "'%s' is not empty (--force moves its contents aside)",
		a->database_directory);
}

/* The download goes to <DIR>.fetching (beside DIR, so the restore renames
 * its files into place), kept on failure so a rerun resumes it, removed
 * once the restore has published DIR. */
static int run_restore(const remote_args *a, cairn_backup_remote *remote, const char *id)
{
	char fetch_dir[PATH_MAX];
	size_t len = strlen(a->database_directory);
	while (len > 1 && a->database_directory[len - 1] == '/')
		len--;
	if (snprintf(fetch_dir, sizeof(fetch_dir), "%.*s.fetching", (int)len, a->database_directory) >=
	    (int)sizeof(fetch_dir) - 64)
		return usage_error(a->command, "path too long: '%s'", a->database_directory);
	cairn_progress *progress = cairn_progress_create(cairn_progress_stderr_is_terminal());
	cairn_backup_fetch_report fetched;
	cairn_backup_restore_report report;
	memset(&report, 0, sizeof(report));
	cairn_backup_restore_options opts = CAIRN_BACKUP_RESTORE_OPTIONS_INIT;
	opts.force = a->force;
	opts.verify = !a->no_verify;
	opts.progress = progress;
	opts.on_problem = cairn_backup_print_problem;
	opts.move = true;
	int rc = check_target(a);
	if (rc == CAIRN_OK)
		rc = cairn_backup_fetch(&fetched, remote, id, fetch_dir, progress);
	if (rc == CAIRN_OK)
		rc = cairn_backup_restore(&report, fetch_dir, a->database_directory, &opts);
	cairn_progress_free(progress);
	if (report.verified)
		printf("%s: %s: %" PRIu64 " files, %" PRIu64 " headers validated, %u Pact files, cut height %" PRIu64
			"; %" PRIu64 " problems\n", a->positional, report.verify.problems ? "FAILED" : "ok",
			report.verify.files, report.verify.headers, report.verify.pact_files, report.verify.cut_height,
			report.verify.problems);
	if (rc != CAIRN_OK)
		return failed(a->command);
	cairn_fs_remove_tree(fetch_dir);
	printf("restored %s into %s: %" PRIu64 " objects, %.1f MB downloaded in %.2f s (%.0f MB/s)", a->positional,
		a->database_directory, fetched.objects, (double)fetched.bytes / 1e6, fetched.seconds,
		fetched.seconds > 0 ? (double)fetched.bytes / 1e6 / fetched.seconds : 0.0);
	if (fetched.objects_kept)
		printf(", %" PRIu64 " objects kept from an interrupted download", fetched.objects_kept);
	printf("\n");
	if (report.replaced[0] != '\0')
		printf("the previous contents of %s are in %s (remove them when no longer needed)\n",
			a->database_directory, report.replaced);
	return CAIRN_EXIT_OK;
}

bool cairn_cmd_backup_is_remote(int argc, char **argv)
{
	if (argc < 2)
		return false;
	if (strcmp(argv[1], "upload") == 0)
		return true;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--remote") == 0 ||
		    (strncmp(argv[i], "s3://", 5) == 0 && (strcmp(argv[1], "verify") == 0 || strcmp(argv[1], "restore") == 0)))
			return true;
	return false;
}

int cairn_cmd_backup_remote(int argc, char **argv, const char *usage)
{
	remote_args a;
	int status = parse(&a, argc, argv);
	if (status == -1) {
		fputs(usage, stdout);
		return CAIRN_EXIT_OK;
	}
	if (status != CAIRN_EXIT_OK)
		return status;
	bool by_url = strcmp(a.command, "verify") == 0 || strcmp(a.command, "restore") == 0;
	bool by_id = strcmp(a.command, "upload") == 0 || strcmp(a.command, "delete") == 0;
	if (!by_url && !by_id && strcmp(a.command, "list") != 0)
		return usage_error(a.command, "'%s' does not take --remote", a.command);
	if ((strcmp(a.command, "list") == 0 || strcmp(a.command, "delete") == 0) && !a.remote)
		return usage_error(a.command, "%s", "--remote is required here");
	char url[PATH_MAX], id[CAIRN_REMOTE_ID_MAX + 1] = "";
	if (by_url && split_backup_url(url, sizeof(url), id, a.positional) != CAIRN_OK)
		return usage_error(a.command, "%s", cairn_error_last());
	cairn_config cfg;
	cairn_backup_remote *remote = NULL;
	status = load_remote(&remote, &cfg, &a, by_url ? url : NULL, !by_url && strcmp(a.command, "list") != 0);
	if (status == CAIRN_EXIT_OK) {
		if (strcmp(a.command, "upload") == 0)
			status = run_upload(&a, remote, &cfg);
		else if (strcmp(a.command, "list") == 0)
			status = run_list(&a, remote);
		else if (strcmp(a.command, "delete") == 0)
			status = run_delete(&a, remote, &cfg);
		else if (strcmp(a.command, "verify") == 0)
			status = run_verify(&a, remote, id);
		else
			status = run_restore(&a, remote, id);
	}
	cairn_backup_remote_free(remote);
	cairn_config_free(&cfg);
	return status;
}
