/*
 * cmd_header.c: `cairn header verify|decode|encode`, an operator tool over
 * block headers read line by line from standard input.
 *
 * verify recomputes everything a header (or an event) claims about itself
 * and prints one JSON line per header; it never trusts a stored value.  Its
 * exit status is 0 when every recomputed value equals the stored one, 1
 * when some differ (each named on stderr with its line and field), and 2
 * when some line could not be read at all (named with its line number).
 * decode and encode convert between base64url binary headers and JSON
 * objects and stop at the first malformed line (exit 2), so their output
 * lines always correspond to input lines.
 */
#include "chain/event.h"
#include "chain/header.h"
#include "chain/json.h"
#include "chain/version.h"
#include "cli/commands.h"
#include "cli/lines.h"
#include "util/base64url.h"
#include "util/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int malformed(const char *cmd, size_t line, const char *what)
{
	fprintf(stderr, "cairn header %s: line %zu: %s: %s\n", cmd, line, what, cairn_error_last());
	return CAIRN_EXIT_USAGE;
}

/* ---- verify ---- */

typedef struct verify_line {
	size_t line;
	json_object *report;
	bool ok;
} verify_line;

static void add_b64(verify_line *v, const char *key, const uint8_t hash[CAIRN_HASH_LEN])
{
	cairn_json_add_b64(v->report, key, hash, CAIRN_HASH_LEN);
}

static void add_bool(verify_line *v, const char *key, bool value)
{
	cairn_json_add(v->report, key, json_object_new_boolean(value));
}

static void add_hex(verify_line *v, const char *key, const uint8_t value[CAIRN_HASH_LEN])
{
	char hex[CAIRN_HEX256_LEN];
	cairn_event_hex256(hex, value);
	cairn_json_add(v->report, key, json_object_new_string(hex));
}

/* Records one comparison; a difference is reported on stderr. */
static void expect_equal(verify_line *v, const char *field, const uint8_t stored[CAIRN_HASH_LEN],
	const uint8_t computed[CAIRN_HASH_LEN], bool hex)
{
	if (memcmp(stored, computed, CAIRN_HASH_LEN) == 0)
		return;
	v->ok = false;
	char s[CAIRN_HEX256_LEN], c[CAIRN_HEX256_LEN];
	if (hex) {
		cairn_event_hex256(s, stored);
		cairn_event_hex256(c, computed);
	} else {
		cairn_base64url_encode(s, stored, CAIRN_HASH_LEN);
		cairn_base64url_encode(c, computed, CAIRN_HASH_LEN);
	}
	fprintf(stderr, "cairn header verify: line %zu: %s: stored %s, computed %s\n", v->line, field, s, c);
}

static void verify_header(verify_line *v, const cairn_header *h)
{
	uint8_t hash[CAIRN_HASH_LEN], pow[CAIRN_HASH_LEN];
	cairn_header_compute_hash(hash, h);
	cairn_header_pow_hash(pow, h);
	const cairn_version *version = cairn_version_by_code(h->version_code);
	bool genesis = version && cairn_version_is_genesis(version, h->chain_id, h->height);
	bool pow_ok = cairn_pow_meets_target(pow, h->target);
	cairn_json_add(v->report, "chainId", json_object_new_int64(h->chain_id));
	cairn_json_add(v->report, "height", json_object_new_uint64(h->height));
	add_b64(v, "hash", h->hash);
	add_b64(v, "computedHash", hash);
	add_hex(v, "powHash", pow);
	add_hex(v, "target", h->target);
	add_bool(v, "powOk", pow_ok);
	add_bool(v, "genesis", genesis);
	expect_equal(v, "hash", h->hash, hash, false);
	if (!pow_ok && !genesis) {
		v->ok = false;
		fprintf(stderr, "cairn header verify: line %zu: powHash: does not meet the target\n", v->line);
	}
}

static void verify_payload(verify_line *v, const cairn_event *e)
{
	cairn_payload_hashes computed;
	cairn_payload_compute_hashes(&computed, &e->payload);
	add_b64(v, "transactionsHash", computed.transactions);
	add_b64(v, "outputsHash", computed.outputs);
	add_b64(v, "payloadHash", computed.payload);
	expect_equal(v, "payloadWithOutputs.transactionsHash", e->payload.hashes.transactions,
		computed.transactions, false);
	expect_equal(v, "payloadWithOutputs.outputsHash", e->payload.hashes.outputs, computed.outputs, false);
	expect_equal(v, "payloadWithOutputs.payloadHash", e->payload.hashes.payload, computed.payload, false);
	expect_equal(v, "header.payloadHash", e->header.payload_hash, computed.payload, false);
	if (e->tx_count != e->payload.tx_count) {
		v->ok = false;
		fprintf(stderr, "cairn header verify: line %zu: txCount: stored %llu, computed %zu\n", v->line,
			(unsigned long long)e->tx_count, e->payload.tx_count);
	}
}

static void verify_event(verify_line *v, const cairn_event *e)
{
	verify_header(v, &e->header);
	uint8_t pow[CAIRN_HASH_LEN];
	cairn_header_pow_hash(pow, &e->header);
	expect_equal(v, "powHash", e->pow_hash, pow, true);
	expect_equal(v, "target", e->target, e->header.target, true);
	add_bool(v, "eventPowHashOk", memcmp(e->pow_hash, pow, CAIRN_HASH_LEN) == 0);
	add_bool(v, "eventTargetOk", memcmp(e->target, e->header.target, CAIRN_HASH_LEN) == 0);
	if (e->has_payload)
		verify_payload(v, e);
}

static int verify_one(void *ctx, size_t line, char *text, size_t len)
{
	(void)ctx;
	cairn_line parsed;
	if (cairn_line_parse(&parsed, text, len) != CAIRN_OK) {
		cairn_line_free(&parsed);
		return malformed("verify", line, "malformed header");
	}
	if (parsed.kind == CAIRN_LINE_SKIP)
		return CAIRN_EXIT_OK;
	verify_line v = {line, json_object_new_object(), true};
	if (!v.report) {
		cairn_line_free(&parsed);
		return malformed("verify", line, "out of memory");
	}
	cairn_json_add(v.report, "line", json_object_new_uint64(line));
	cairn_json_add(v.report, "kind", json_object_new_string(cairn_line_kind_name(parsed.kind)));
	if (parsed.kind == CAIRN_LINE_EVENT)
		verify_event(&v, &parsed.event);
	else
		verify_header(&v, &parsed.event.header);
	add_bool(&v, "ok", v.ok);
	printf("%s\n", cairn_json_text(v.report));
	json_object_put(v.report);
	cairn_line_free(&parsed);
	return v.ok ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
}

/* ---- decode / encode ---- */

static int decode_one(void *ctx, size_t line, char *text, size_t len)
{
	(void)ctx;
	cairn_header h;
	json_object *obj;
	if (cairn_header_from_base64(&h, text, len) != CAIRN_OK || cairn_header_to_json(&obj, &h) != CAIRN_OK)
		return malformed("decode", line, "malformed binary header");
	printf("%s\n", cairn_json_text(obj));
	json_object_put(obj);
	return CAIRN_EXIT_OK;
}

static int encode_one(void *ctx, size_t line, char *text, size_t len)
{
	(void)ctx;
	cairn_header h;
	json_object *obj;
	char b64[CAIRN_HEADER_BASE64_MAX];
	if (cairn_json_parse(&obj, text, len) != CAIRN_OK)
		return malformed("encode", line, "malformed JSON");
	int rc = cairn_header_from_json(&h, obj);
	json_object_put(obj);
	if (rc != CAIRN_OK || cairn_header_to_base64(b64, &h) != CAIRN_OK)
		return malformed("encode", line, "malformed header object");
	printf("%s\n", b64);
	return CAIRN_EXIT_OK;
}

/* ---- command line ---- */

typedef struct subcommand {
	const char *name;
	const char *summary;
	const char *help;
	cairn_line_fn fn;
	bool stop_at_malformed;
} subcommand;

static const subcommand subcommands[] = {
	{"verify", "recompute and check the hashes of headers and events",
		"Usage: cairn header verify < LINES\n"
		"\n"
		"Reads one header per line from standard input: a JSON header object, an\n"
		"event line as sent on header/updates and block/updates ('data:{...}', or\n"
		"the event object alone), or a base64url binary header.  'event:' lines,\n"
		"other SSE fields and blank lines are skipped.\n"
		"\n"
		"For each header it prints one JSON line with the line number, chainId,\n"
		"height, the stored hash and the recomputed one (computedHash), the\n"
		"recomputed powHash and the target (hex), powOk, and whether it is a\n"
		"genesis header.  For events it also compares the event's powHash and\n"
		"target (eventPowHashOk, eventTargetOk) and, when the event carries\n"
		"payloadWithOutputs, recomputes transactionsHash, outputsHash and\n"
		"payloadHash and checks them, the header's payloadHash and txCount.\n"
		"\n"
		"Exit status: 0 when every recomputed value equals the stored one and\n"
		"every non-genesis header meets its target; 1 when something differs\n"
		"(stderr names the line and the field); 2 when a line is malformed\n"
		"(stderr names the line).\n",
		verify_one, false},
	{"decode", "base64url binary headers to JSON header objects",
		"Usage: cairn header decode < LINES\n"
		"\n"
		"Reads one base64url binary header per line (padded or not; 318 bytes\n"
		"for chains of degree 3, 210 + 36 per adjacent in general) and prints\n"
		"its JSON header object.  Stops with exit status 2 at the first\n"
		"malformed line.\n",
		decode_one, true},
	{"encode", "JSON header objects to base64url binary headers",
		"Usage: cairn header encode < LINES\n"
		"\n"
		"Reads one JSON header object per line and prints the base64url\n"
		"(unpadded) text of its binary form.  Stops with exit status 2 at the\n"
		"first malformed line.\n",
		encode_one, true},
};

#define SUBCOMMAND_COUNT (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: cairn header COMMAND < LINES\n\nCommands:\n");
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\nRun 'cairn header COMMAND --help' for details.\n");
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cairn_cmd_header(int argc, char **argv)
{
	if (argc < 2 || is_help(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CAIRN_EXIT_USAGE : CAIRN_EXIT_OK;
	}
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++) {
		const subcommand *s = &subcommands[i];
		if (strcmp(argv[1], s->name) != 0)
			continue;
		if (argc > 2 && is_help(argv[2])) {
			fputs(s->help, stdout);
			return CAIRN_EXIT_OK;
		}
		if (argc > 2) {
			fprintf(stderr, "cairn header %s: unexpected argument '%s' (see --help)\n", s->name, argv[2]);
			return CAIRN_EXIT_USAGE;
		}
		return cairn_for_each_line(stdin, s->fn, NULL, s->stop_at_malformed ? CAIRN_EXIT_USAGE : 0);
	}
	fprintf(stderr, "cairn header: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CAIRN_EXIT_USAGE;
}
