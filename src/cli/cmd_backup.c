/*
 * cmd_backup.c: `cairn backup verify|restore|list|delete`: the operator's
 * side of backups, run without (and beside) the node.  The commands that
 * drive a running node (start, status, stop, events, download, and list
 * and delete without --backup-directory) are cmd_backup_client.c's.
 *
 * Output: results and problems on standard output, one per line, so they
 * can be piped and grepped; progress and log lines on standard error.
 * Exit status: 0 success, 1 problems found or the operation failed,
 * 2 usage errors.
 */
#include "backup/catalog.h"
#include "backup/restore.h"
#include "backup/unpack.h"
#include "backup/verify.h"
#include "cli/backup_client.h"
#include "cli/backup_common.h"
#include "cli/commands.h"
#include "util/error.h"
#include "util/progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: cairn backup verify PATH [--quick]\n"
	"       cairn backup restore PATH --database-directory DIR [--force] [--no-verify]\n"
	"       cairn backup list --backup-directory DIR [--json]\n"
	"       cairn backup delete --backup-directory DIR ID\n"
	"       cairn backup upload ID --config-file FILE\n"
	"       cairn backup list --remote --config-file FILE [--json]\n"
	"       cairn backup verify s3://BUCKET/PREFIX/ID [--full] [--config-file FILE]\n"
	"       cairn backup restore s3://BUCKET/PREFIX/ID --database-directory DIR [--force]\n"
	"                            [--no-verify] [--config-file FILE]\n"
	"       cairn backup delete --remote ID --config-file FILE\n"
	"\n"
	"PATH is one backup: <backup-directory>/<id>; restore also takes a downloaded\n"
	"archive FILE.tar.zst (cairn backup download), unpacked beside DIR first.\n"
	"\n"
	"  verify   check the manifest's files (presence, size, SHA-256), that nothing\n"
	"           unlisted is present, the RocksDB checkpoint and its cut, every header\n"
	"           and payload up to the cut, and the Pact state files; --quick checks\n"
	"           the files only.  Prints every problem, then a summary.\n"
	"  restore  verify (unless --no-verify), then copy the backup into DIR, which\n"
	"           must not be in use by a running node and must be empty or absent;\n"
	"           --force moves a non-empty DIR aside to DIR.replaced-<time> first.\n"
	"  list     one line per backup: id, time (UTC), status, size, Pact, cut height;\n"
	"           --json prints a JSON array.\n"
	"  delete   remove one finished backup (never the running one).\n"
	"\n"
	"Remotes (S3-compatible stores): FILE is the node's configuration file, whose\n"
	"backup.remote.* settings (and backup.directory) are used; credentials come from\n"
	"backup.remote.credentialsFile or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and\n"
	"AWS_SESSION_TOKEN.  An s3:// argument names the bucket, prefix and backup.\n"
	"  upload   send finished local backup ID (what the store lacks), manifest last.\n"
	"  list --remote    the store's backups, same columns (incomplete uploads too).\n"
	"  verify s3://...  read every object, checking its size and SHA-256 (streamed,\n"
	"           nothing saved); --full downloads it and runs every local check.\n"
	"  restore s3://... download in parallel beside DIR (DIR.fetching, resumed by a\n"
	"           rerun), check every SHA-256, verify, then restore as above.\n"
	"  delete --remote  remove a remote backup and the objects no other backup\n"
	"           refers to (never the newest complete one).\n"
	"\n"
	"Common option: --log-level LEVEL (debug, info, warn, error; default info).\n"
	"Exit status: 0 success, 1 problems found or failure, 2 usage error.\n"
	"\n";

typedef struct args {
	const char *positional[2];
	int positionals;
	const char *backup_directory;
	const char *database_directory;
	bool quick, json, force, no_verify, help;
} args;

static int usage_error(const char *fmt, const char *what)
{
	return cairn_backup_usage_error(NULL, fmt, what);
}

/* The flags each subcommand accepts are checked by the subcommand. */
static int parse(args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	const cairn_backup_option options[] = {
		{"--backup-directory", NULL, &a->backup_directory, NULL},
		{"--database-directory", NULL, &a->database_directory, NULL},
		{"--quick", NULL, NULL, &a->quick},
		{"--json", NULL, NULL, &a->json},
		{"--force", NULL, NULL, &a->force},
		{"--no-verify", NULL, NULL, &a->no_verify},
		{NULL, NULL, NULL, NULL},
	};
	return cairn_backup_parse_args(a->positional, &a->positionals, 2, &a->help, options, NULL, argc, argv);
}

/* Refuses the flags a subcommand does not take and checks its arguments. */
static int expect(const args *a, const char *command, int positionals, bool backup_dir, bool database_dir)
{
	if (a->positionals != positionals)
		return usage_error(positionals == 1 ? "%s takes exactly one argument" : "%s takes no argument", command);
	if ((a->backup_directory != NULL) != backup_dir)
		return usage_error(backup_dir ? "%s needs --backup-directory DIR" : "%s takes no --backup-directory",
			command);
	if ((a->database_directory != NULL) != database_dir)
		return usage_error(database_dir ? "%s needs --database-directory DIR" : "%s takes no --database-directory",
			command);
	bool quick_ok = strcmp(command, "verify") == 0, json_ok = strcmp(command, "list") == 0;
	bool restore = strcmp(command, "restore") == 0;
	if ((a->quick && !quick_ok) || (a->json && !json_ok) || ((a->force || a->no_verify) && !restore))
		return usage_error("an option given is not one of %s's", command);
	return CAIRN_EXIT_OK;
}

/* ---- verify ---- */

static void print_summary(const char *path, const cairn_backup_verify_report *r, bool quick)
{
	printf("%s: %s: %" PRIu64 " files, %.1f MB (%.1f MB checksummed, %.0f MB/s)", path,
		r->problems ? "FAILED" : "ok", r->files, (double)r->bytes / 1e6, (double)r->bytes_hashed / 1e6,
		r->file_seconds > 0 ? (double)r->bytes_hashed / 1e6 / r->file_seconds : 0.0);
	if (!quick)
		printf(", %" PRIu64 " records read, %" PRIu64 " headers validated (%.0f/s), %" PRIu64 " payloads, "
			"%u Pact files", r->records, r->headers,
			r->header_seconds > 0 ? (double)r->headers / r->header_seconds : 0.0, r->payloads, r->pact_files);
	printf(", cut height %" PRIu64 "%s; %.2f s", r->cut_height, r->pact_included ? ", with Pact" : "", r->seconds);
	if (r->problems)
		printf("; %" PRIu64 " problem%s", r->problems, r->problems == 1 ? "" : "s");
	printf("\n");
}

static int run_verify(const args *a)
{
	cairn_progress *progress = cairn_progress_create(cairn_progress_stderr_is_terminal());
	cairn_backup_verify_options opts = CAIRN_BACKUP_VERIFY_OPTIONS_INIT;
	opts.quick = a->quick;
	opts.progress = progress;
	opts.on_problem = cairn_backup_print_problem;
	cairn_backup_verify_report report;
	int rc = cairn_backup_verify(&report, a->positional[0], &opts);
	cairn_progress_free(progress);
	if (rc != CAIRN_OK) {
		fprintf(stderr, "cairn backup verify: %s\n", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	print_summary(a->positional[0], &report, a->quick);
	return report.problems ? CAIRN_EXIT_FAILURE : CAIRN_EXIT_OK;
}

/* ---- restore ---- */

static int run_restore(const args *a)
{
	cairn_backup_unpacked unpacked = {0};
	const char *source = a->positional[0];
	if (cairn_backup_unpack_is_archive(source)) {
		if (cairn_backup_unpack(&unpacked, source, a->database_directory) != CAIRN_OK) {
			fprintf(stderr, "cairn backup restore: %s\n", cairn_error_last());
			return CAIRN_EXIT_FAILURE;
		}
		source = unpacked.backup;
	}
	cairn_progress *progress = cairn_progress_create(cairn_progress_stderr_is_terminal());
	cairn_backup_restore_options opts = CAIRN_BACKUP_RESTORE_OPTIONS_INIT;
	opts.force = a->force;
	opts.verify = !a->no_verify;
	opts.progress = progress;
	opts.on_problem = cairn_backup_print_problem;
	cairn_backup_restore_report report;
	int rc = cairn_backup_restore(&report, source, a->database_directory, &opts);
	cairn_progress_free(progress);
	if (cairn_backup_unpack_remove(&unpacked) != CAIRN_OK)
		fprintf(stderr, "cairn backup restore: %s\n", cairn_error_last());
	if (report.verified)
		print_summary(a->positional[0], &report.verify, false);
	if (rc != CAIRN_OK) {
		fprintf(stderr, "cairn backup restore: %s\n", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	printf("restored %s into %s: %" PRIu64 " files, %.1f MB in %.2f s (%.0f MB/s)\n", a->positional[0],
		a->database_directory, report.files, (double)report.bytes / 1e6, report.seconds,
		report.seconds > 0 ? (double)report.bytes / 1e6 / report.seconds : 0.0);
	if (report.replaced[0] != '\0')
		printf("the previous contents of %s are in %s (remove them when no longer needed)\n",
			a->database_directory, report.replaced);
	return CAIRN_EXIT_OK;
}

/* ---- list and delete ---- */

static void list_row(cairn_backup_row *out, const void *list, size_t i)
{
	const cairn_backup_info *b = (const cairn_backup_info *)list + i;
	*out = (cairn_backup_row){b->id, b->has_time, b->time_ms, cairn_backup_status_text(b->state), b->running,
		b->has_cut, b->pact_included, b->cut_height, b->bytes};
}

static int run_list(const args *a)
{
	cairn_backup_info *list = NULL;
	size_t count = 0;
	if (cairn_backup_list(&list, &count, a->backup_directory) != CAIRN_OK) {
		fprintf(stderr, "cairn backup list: %s\n", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	cairn_backup_print_list(list, count, list_row, a->json);
	free(list);
	return CAIRN_EXIT_OK;
}

static int run_delete(const args *a)
{
	if (!cairn_backup_id_is_valid(a->positional[0]))
		return usage_error("'%s' is not a backup id", a->positional[0]);
	if (cairn_backup_delete(a->backup_directory, a->positional[0]) != CAIRN_OK) {
		fprintf(stderr, "cairn backup delete: %s\n", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	printf("deleted %s\n", a->positional[0]);
	return CAIRN_EXIT_OK;
}

static const struct {
	const char *name;
	int positionals;
	bool backup_dir, database_dir;
	int (*run)(const args *a);
} subcommands[] = {
	{"verify", 1, false, false, run_verify},
	{"restore", 1, false, true, run_restore},
	{"list", 0, true, false, run_list},
	{"delete", 1, true, false, run_delete},
};

int cairn_cmd_backup(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		fputs(cairn_backup_client_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CAIRN_EXIT_USAGE : CAIRN_EXIT_OK;
	}
	if (cairn_cmd_backup_is_remote(argc, argv))
		return cairn_cmd_backup_remote(argc, argv, usage);
	if (cairn_backup_client_handles(argc, argv)) {
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				fputs(usage, stdout);
				fputs(cairn_backup_client_usage, stdout);
				return CAIRN_EXIT_OK;
			}
		return cairn_cmd_backup_client(argc, argv);
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		args a;
		int status = parse(&a, argc, argv);
		if (status == CAIRN_EXIT_OK && a.help) {
			fputs(usage, stdout);
			fputs(cairn_backup_client_usage, stdout);
			return CAIRN_EXIT_OK;
		}
		if (status == CAIRN_EXIT_OK)
			status = expect(&a, subcommands[i].name, subcommands[i].positionals, subcommands[i].backup_dir,
				subcommands[i].database_dir);
		return status == CAIRN_EXIT_OK ? subcommands[i].run(&a) : status;
	}
	return usage_error("unknown subcommand '%s'", argv[1]);
}
