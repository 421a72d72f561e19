/*
 * cmd_import.c: `cairn import [FILE|-] [OPTIONS]`: commits headers (and
 * payloads, when the lines carry them) from a file or standard input
 * through the node's commit path, in order.
 *
 * Lines are the formats `cairn header verify` reads (cli/lines.h).  Each
 * header is validated exactly as a produced block is (commit.h), except
 * that historical data is not checked against the clock.  A block already
 * stored is counted and skipped, so an import can be repeated or resumed.
 * The first line that is malformed (exit status 2) or whose block is
 * invalid (exit status 1) stops the import with its line number and
 * reason; every block before it stays committed, durably: the node is
 * closed, which publishes and fsyncs what was committed, before the
 * command exits.
 *
 * A header without payload contents (a header line, a binary header, or an
 * event without payloadWithOutputs) is stored without them: the chain
 * database records an empty payload for its payload hash unless it already
 * holds the contents (from another block or an earlier import), and its
 * Pact state is an empty block (node/pact.h).  This is how mainnet01
 * headers are imported, as cairn has no mainnet payloads.
 */
#include "cli/commands.h"
#include "cli/lines.h"
#include "cli/offline.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: cairn import [FILE|-] [OPTIONS]\n"
	"\n"
	"Validates and commits block headers, in order, into the database\n"
	"directory, from FILE or standard input (no FILE, or '-').  FILE must come\n"
	"before the options.  Lines are those 'cairn header verify' reads: JSON\n"
	"header objects, events as header/updates and block/updates send them\n"
	"('data:{...}' or the event object; block events carry their payloads),\n"
	"and base64url binary headers; other SSE fields and blank lines are\n"
	"skipped.  'cairn export' writes such lines.\n"
	"\n"
	"Blocks already stored are skipped.  The first malformed line or invalid\n"
	"block stops the import with its line number and reason; the blocks before\n"
	"it stay committed.  A directory in use by a running node is refused.\n"
	"\n"
	"Options: those of 'cairn node' (see cairn node --help); the ones that\n"
	"matter here are --database-directory, --chainweb-version, --config-file\n"
	"and --log-level.  No block is produced and no port is opened.\n"
	"\n"
	"Exit status: 0 when every line was imported or already stored, 1 for an\n"
	"invalid block or a storage failure, 2 for a malformed line or bad options.\n";

typedef struct import_run {
	cairn_node *node;
	uint64_t imported, present;
} import_run;

static int import_line(void *ctx, size_t line, char *text, size_t len)
{
	import_run *run = ctx;
	cairn_line parsed;
	if (cairn_line_parse(&parsed, text, len) != CAIRN_OK) {
		fprintf(stderr, "cairn import: line %zu: malformed header: %s\n", line, cairn_error_last());
		cairn_line_free(&parsed);
		return CAIRN_EXIT_USAGE;
	}
	int status = CAIRN_EXIT_OK;
	if (parsed.kind != CAIRN_LINE_SKIP) {
		const cairn_header *h = &parsed.event.header;
		int rc = cairn_node_commit_block(run->node, h, parsed.event.has_payload ? &parsed.event.payload : NULL,
			CAIRN_NODE_COMMIT_HISTORICAL);
		if (rc == CAIRN_OK) {
			run->imported++;
		} else if (rc == CAIRN_EEXISTS) {
			run->present++;
		} else {
			fprintf(stderr, "cairn import: line %zu: chain %u height %" PRIu64 ": %s\n", line, h->chain_id,
				h->height, cairn_error_last());
			status = CAIRN_EXIT_FAILURE;
		}
	}
	cairn_line_free(&parsed);
	return status;
}

static int open_input(FILE **in, const char *path)
{
	*in = stdin;
	if (path == NULL || strcmp(path, "-") == 0)
		return CAIRN_EXIT_OK;
	*in = fopen(path, "r");
	if (*in != NULL)
		return CAIRN_EXIT_OK;
	fprintf(stderr, "cairn import: cannot read '%s': %s\n", path, strerror(errno));
	return CAIRN_EXIT_USAGE;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int cairn_cmd_import(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CAIRN_EXIT_OK;
	}
	const char *path = NULL;
	if (argc > 1 && (strcmp(argv[1], "-") == 0 || strncmp(argv[1], "--", 2) != 0)) {
		path = argv[1];
		argv[1] = argv[0]; /* the options follow the file */
		argv++;
		argc--;
	}
	FILE *in;
	int status = open_input(&in, path);
	cairn_node *node = NULL;
	if (status == CAIRN_EXIT_OK)
		status = cairn_offline_open(&node, "import", argc, argv);
	if (node != NULL) {
		import_run run = {node, 0, 0};
		status = cairn_for_each_line(in, import_line, &run, CAIRN_EXIT_FAILURE);
		if (ferror(in)) {
			fprintf(stderr, "cairn import: read error on %s\n", path ? path : "standard input");
			status = CAIRN_EXIT_FAILURE;
		}
		cairn_node_close(node);
		printf("imported %" PRIu64 " blocks, %" PRIu64 " already present\n", run.imported, run.present);
	}
	if (in != NULL && in != stdin)
		fclose(in);
	return status;
}
