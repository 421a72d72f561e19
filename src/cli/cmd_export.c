/*
 * cmd_export.c: `cairn export [OPTIONS]`: writes every stored block to
 * standard output as one event object per line, the line format `cairn
 * import` and `cairn header verify` read, so `cairn export | cairn import`
 * copies chains between database directories.
 *
 * Order is braided: by height, then chain id, as the blocks were produced
 * and as event streams order them, so every block follows its parent and
 * adjacent parents.  Events carry payloadWithOutputs when the payload
 * contents are stored (block/updates events), and omit it otherwise.
 */
#include "chain/event.h"
#include "chain/json.h"
#include "cli/commands.h"
#include "cli/offline.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: cairn export [OPTIONS] > FILE\n"
	"\n"
	"Writes every block of the database directory to standard output, one\n"
	"event object per line (as block/updates sends them, with their payloads\n"
	"when stored), by height and then chain id.  'cairn import' reads the\n"
	"output back.  A directory in use by a running node is refused.\n"
	"\n"
	"Options: those of 'cairn node' (see cairn node --help); the ones that\n"
	"matter here are --database-directory, --chainweb-version, --config-file\n"
	"and --log-level.\n";

static int export_block(cairn_node *node, uint32_t chain, uint64_t height, FILE *out)
{
	cairn_header h;
	cairn_payload payload;
	bool has_payload = false;
	cairn_payload_init(&payload);
	json_object *event = NULL;
	int rc = cairn_node_load_block(&h, &payload, &has_payload, node, chain, height);
	if (rc == CAIRN_OK)
		rc = cairn_event_to_json(&event, &h, has_payload ? payload.tx_count : 0, has_payload ? &payload : NULL);
	if (rc == CAIRN_OK && fprintf(out, "%s\n", cairn_json_text(event)) < 0)
		rc = cairn_error_set(CAIRN_EIO, "write error");
	json_object_put(event);
	cairn_payload_free(&payload);
	return rc != CAIRN_OK ? cairn_error_prefix(rc, "chain %u height %" PRIu64, chain, height) : rc;
}

static int export_all(cairn_node *node, FILE *out)
{
	cairn_node_cut cut;
	cairn_node_get_cut(&cut, node);
	uint64_t first[CAIRN_GRAPH_MAX_ORDER], low = UINT64_MAX, high = 0;
	for (uint32_t chain = 0; chain < CAIRN_GRAPH_MAX_ORDER; chain++) {
		if (!cut.present[chain] || cairn_version_genesis_height(&first[chain], cairn_node_version(node), chain))
			continue;
		low = first[chain] < low ? first[chain] : low;
		high = cut.height[chain] > high ? cut.height[chain] : high;
	}
	int rc = CAIRN_OK;
	for (uint64_t height = low; rc == CAIRN_OK && low <= high && height <= high; height++)
		for (uint32_t chain = 0; rc == CAIRN_OK && chain < CAIRN_GRAPH_MAX_ORDER; chain++)
			if (cut.present[chain] && height >= first[chain] && height <= cut.height[chain])
				rc = export_block(node, chain, height, out);
	if (rc == CAIRN_OK && fflush(out) != 0)
		rc = cairn_error_set(CAIRN_EIO, "write error");
	return rc;
}

int cairn_cmd_export(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return CAIRN_EXIT_OK;
		}
	cairn_node *node;
	int status = cairn_offline_open(&node, "export", argc, argv);
	if (node == NULL)
		return status;
	if (export_all(node, stdout) != CAIRN_OK) {
		fprintf(stderr, "cairn export: %s\n", cairn_error_last());
		status = CAIRN_EXIT_FAILURE;
	}
	cairn_node_close(node);
	return status;
}
