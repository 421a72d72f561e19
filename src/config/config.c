/*
 * config.c: option table, YAML loading, flag parsing and validation
 * (printing: config_print.c).
 *
 * Design: `cairn_config__options[]` (options.h) is the single description of every setting.  Each row
 * names the flag, the dotted YAML key, the value type, the field in
 * cairn_config, and the help text.  Defaults live only in cairn_config_init().
 *
 * YAML is parsed with libyaml into a document tree; the walk maps each
 * key path onto a row and refuses anything else, reporting FILE:LINE and the
 * key.  The whole file is accepted either at the top level or under a
 * `chainweb:` mapping (the form chainweb-node's own files use).
 *
 * Origins: origins[i] is NULL for a default, else a malloc'd "FILE:LINE" or
 * "--flag" string; validation errors use it so the operator knows which
 * source to fix.
 */
#include "config/config.h"
#include "config/config_remote.h"
#include "config/options.h"
#include "chain/version.h"
#include "util/error.h"
#include "util/fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>


const option_def cairn_config__options[] = {
	{"chainweb-version", "chainwebVersion", OPT_STRING, FIELD(chainweb_version), "NAME", 0, 0,
	 "Chainweb version (network): development, mainnet01, testnet04 or test-singleton"},
	{"database-directory", "databaseDirectory", OPT_STRING, FIELD(database_directory), "DIR", 0, 0,
	 "Directory of the chain database (0/rocksDb) and Pact state (0/sqlite)"},
	{"database-min-free-mib", "databaseMinFreeMiB", OPT_INT, FIELD(database_min_free_mib), "MIB", 0, 1000000,
	 "Pause block commits (health-check 503) while the database file system has less free space; 0: never"},
	{"service-interface", "serviceApi.interface", OPT_STRING, FIELD(service_interface), "ADDR", 0, 0,
	 "IPv4 or IPv6 address the service API listens on"},
	{"service-port", "serviceApi.port", OPT_PORT, FIELD(service_port), "N", 0, 0,
	 "TCP port of the service API; 0 picks a free port and logs it"},
	{"drain-seconds", "serviceApi.drainSeconds", OPT_SECONDS, FIELD(drain_seconds), "S", 0, 0,
	 "On SIGTERM/SIGINT, seconds health-check answers 503 before the listener closes (at most 4)"},
	{"allowed-hosts", "serviceApi.allowedHosts", OPT_PATH, FIELD(allowed_hosts), "NAMES", 0, 0,
	 "Host names this node answers to besides IP addresses and localhost (comma-separated)"},
	{"request-timeout", "serviceApi.requestTimeout", OPT_INT, FIELD(request_timeout), "S", 0, 3600,
	 "Seconds a connection has to deliver a whole request (head and body), else 408; 0: no limit"},
	{"max-connections-per-address", "serviceApi.maxConnectionsPerAddress", OPT_INT,
	 FIELD(max_connections_per_address), "N", 0, 1000000,
	 "Connections open at once from one IP address; beyond it 503; 0: no limit"},
	{"enable-backup-api", "backup.api.enabled", OPT_BOOL, FIELD(backup_api_enabled), NULL, 0, 0,
	 "Serve make-backup and check-backup (needs a backup directory)"},
	{"backup-directory", "backup.directory", OPT_PATH, FIELD(backup_directory), "DIR", 0, 0,
	 "Directory that receives backups; created if missing"},
	{"backup-parallelism", "backup.parallelism", OPT_INT, FIELD(backup_parallelism), "N", 0, 256,
	 "Pact state files a backup copies at once; 0 means one per processor core"},
	{"backup-rate-limit", "backup.rateLimit", OPT_INT, FIELD(backup_rate_limit), "BYTES", 0, 2000000000,
	 "Bytes per second the Pact copies of a backup may write together, each archive download may send, and uploads to the "
	 "remote may use (unless backup.remote.rateLimit is set); 0: no limit"},
	{"backup-schedule-interval", "backup.schedule.interval", OPT_DURATION, FIELD(backup_schedule_interval), "DURATION",
	 0, 0, "Start a backup this often (for example 6h, 30m, 90s); 0 or off: no scheduled backups"},
	{"backup-schedule-pact", "backup.schedule.backupPact", OPT_BOOL, FIELD(backup_schedule_pact), NULL, 0, 0,
	 "Scheduled backups include the Pact state of every chain"},
	{"backup-retention-keep-last", "backup.retention.keepLast", OPT_INT, FIELD(backup_retention_keep_last), "N",
	 0, 1000000, "After each backup keep only the newest N successful backups; 0: no limit"},
	{"backup-retention-max-age", "backup.retention.maxAge", OPT_DURATION, FIELD(backup_retention_max_age), "DURATION",
	 0, 0, "After each backup remove backups older than this (for example 14d; the newest successful one stays); "
	 "0 or off: no limit"},
	{"backup-remote-url", "backup.remote.url", OPT_PATH, FIELD(backup_remote_url), "URL", 0, 0,
	 "Copy backups to this S3-compatible store: s3://BUCKET/PREFIX (credentials from AWS_* or a credentials file)"},
	{"backup-remote-endpoint", "backup.remote.endpoint", OPT_PATH, FIELD(backup_remote_endpoint), "URL", 0, 0,
	 "The store's address, for example http://127.0.0.1:9000 (MinIO); null: AWS S3 of the region"},
	{"backup-remote-region", "backup.remote.region", OPT_PATH, FIELD(backup_remote_region), "REGION", 0, 0,
	 "The store's region, signed into every request; null: us-east-1"},
	{"backup-remote-addressing", "backup.remote.addressing", OPT_PATH, FIELD(backup_remote_addressing), "STYLE", 0, 0,
	 "auto (virtual-host style for AWS, path style with an endpoint), path or virtual; null: auto"},
	{"backup-remote-credentials-file", "backup.remote.credentialsFile", OPT_PATH,
	 FIELD(backup_remote_credentials_file), "FILE", 0, 0,
	 "AWS shared credentials file ([default] section); must not be readable by group or others; null: AWS_* variables"},
	{"backup-remote-upload", "backup.remote.upload", OPT_PATH, FIELD(backup_remote_upload), "WHEN", 0, 0,
	 "always: every backup is uploaded once sealed; off: only by cairn backup upload ID; null: always"},
	{"backup-remote-parallelism", "backup.remote.parallelism", OPT_INT, FIELD(backup_remote_parallelism), "N", 0, 64,
	 "Objects (and parts of a large one) transferred at once; 0: 4"},
	{"backup-remote-rate-limit", "backup.remote.rateLimit", OPT_INT, FIELD(backup_remote_rate_limit), "BYTES", 0,
	 2000000000, "Bytes per second of all transfers to and from the store; 0: backup.rateLimit"},
	{"backup-remote-part-size-mib", "backup.remote.partSizeMiB", OPT_INT, FIELD(backup_remote_part_size_mib), "MIB",
	 5, 5120, "Files larger than this are uploaded in parts of this size (MiB), in parallel"},
	{"backup-remote-send-checksums", "backup.remote.sendChecksums", OPT_BOOL, FIELD(backup_remote_send_checksums),
	 NULL, 0, 0, "Send SHA-256 checksums the store checks and echoes (for buckets whose ETags are not MD5s: SSE-KMS)"},
	{"backup-remote-retention-keep-last", "backup.remote.retention.keepLast", OPT_INT,
	 FIELD(backup_remote_retention_keep_last), "N", 0, 1000000,
	 "After each upload keep only the newest N complete remote backups; 0: no limit"},
	{"backup-remote-retention-max-age", "backup.remote.retention.maxAge", OPT_DURATION,
	 FIELD(backup_remote_retention_max_age), "DURATION", 0, 0,
	 "After each upload remove remote backups older than this (the newest stays); 0 or off: no limit"},
	{"enable-management-api", "managementApi.enabled", OPT_BOOL, FIELD(management_api_enabled), NULL, 0, 0,
	 "Serve the backup management API (/v2/... and /api/databases/...); needs a backup directory and a token file"},
	{"management-token-file", "managementApi.tokenFile", OPT_PATH, FIELD(management_token_file), "FILE", 0, 0,
	 "File of management API tokens, one per line; must not be readable by group or others"},
	{"management-database-name", "managementApi.databaseName", OPT_PATH, FIELD(management_database_name), "NAME", 0, 0,
	 "The project_id and database name of the management API's paths; default: the Chainweb version"},
	{"management-download-link-seconds", "managementApi.downloadLinkSeconds", OPT_INT,
	 FIELD(management_download_link_seconds), "N", 1, 604800, "Seconds a backup download link stays valid"},
	{"enable-metrics", "metrics.enabled", OPT_BOOL, FIELD(metrics_enabled), NULL, 0, 0,
	 "Serve GET /metrics (Prometheus text format); behind the management API's tokens when that API is on"},
	{"block-rate", "producer.blockRate", OPT_RATE, FIELD(block_rate), "R|max", 0, 0,
	 "Blocks per second over all chains from the development producer; 0 stops it, max is unthrottled"},
	{"transactions-per-block", "producer.transactionsPerBlock", OPT_INT, FIELD(transactions_per_block), "N", 0, 1000,
	 "Synthetic transfer transactions in each produced block"},
	{"log-level", "logLevel", OPT_LOG_LEVEL, FIELD(log_level), "LEVEL", 0, 0,
	 "Least severe log level written to stderr: debug, info, warn or error"},
};

#define OPTION_COUNT (sizeof(cairn_config__options) / sizeof(cairn_config__options[0]))
const size_t cairn_config__option_count = OPTION_COUNT;

struct cairn_config_origin {
	char *where[OPTION_COUNT];
};

static void *field_ptr(cairn_config *cfg, const option_def *o)
{
	return (char *)cfg + o->offset;
}

const void *cairn_config__field(const cairn_config *cfg, const option_def *o)
{
	return (const char *)cfg + o->offset;
}

static int set_string(char **slot, const char *value)
{
	char *copy = value ? strdup(value) : NULL;
	if (value && copy == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return CAIRN_OK;
}

int cairn_config_init(cairn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->origins = calloc(1, sizeof(*cfg->origins));
	if (cfg->origins == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	cfg->service_port = CAIRN_DEFAULT_PORT;
	cfg->log_level = CAIRN_LOG_INFO;
	cfg->block_rate = 4.0;
	cfg->database_min_free_mib = 16;
	cfg->transactions_per_block = 2;
	cfg->drain_seconds = 1.0;
	cfg->request_timeout = 10;
	cfg->max_connections_per_address = 256;
	cfg->management_download_link_seconds = 3600;
	cfg->backup_remote_part_size_mib = 64;
	if (set_string(&cfg->chainweb_version, "development") != CAIRN_OK ||
	    set_string(&cfg->database_directory, "cairn-data") != CAIRN_OK ||
	    set_string(&cfg->service_interface, "127.0.0.1") != CAIRN_OK) {
		cairn_config_free(cfg);
		return CAIRN_ENOMEM;
	}
	return CAIRN_OK;
}

void cairn_config_free(cairn_config *cfg)
{
	free(cfg->config_file);
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		if (cairn_config__options[i].type == OPT_STRING || cairn_config__options[i].type == OPT_PATH)
			free(*(char **)field_ptr(cfg, &cairn_config__options[i]));
		if (cfg->origins)
			free(cfg->origins->where[i]);
	}
	free(cfg->origins);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- value parsing shared by flags and YAML ---- */

static bool parse_long(long *out, const char *s)
{
	if (*s == '\0')
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool parse_double(double *out, const char *s)
{
	if (*s == '\0')
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool parse_bool(bool *out, const char *s)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) { *out = true; return true; }
		if (strcasecmp(s, no[i]) == 0) { *out = false; return true; }
	}
	return false;
}

/* "90s", "30m", "6h", "14d", "2.5h", or seconds without a unit; "off" is 0. */
/* Longer durations are refused: 100 years, in seconds.  Below it, a
 * duration's number of seconds and of whole units is exact in a double, so
 * --print-config writes back the very value read. */
#define DURATION_MAX_SECONDS (100.0 * 365 * 86400)

static bool parse_duration(double *out, const char *s)
{
	static const struct { char unit; double seconds; } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	if (strcasecmp(s, "off") == 0) {
		*out = 0;
		return true;
	}
	char number[64];
	size_t len = strlen(s);
	double scale = 1;
	for (size_t i = 0; len > 0 && i < sizeof(units) / sizeof(units[0]); i++)
		if (s[len - 1] == units[i].unit) {
			scale = units[i].seconds;
			len--;
			break;
		}
	if (len == 0 || len >= sizeof(number))
		return false;
	memcpy(number, s, len);
	number[len] = '\0';
	double value;
	if (!parse_double(&value, number) || value < 0 || !(value * scale <= DURATION_MAX_SECONDS))
		return false;
	*out = value * scale;
	return true;
}

static bool is_yaml_null(const char *s)
{
	return *s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

/*
 * Stores `value` into the option's field.  `where` is the origin text used in
 * messages ("--service-port" or "FILE:LINE").  Range checks that do not
 * depend on other settings happen here; the rest in cairn_config_validate().
 */
static int apply_value(cairn_config *cfg, const option_def *o, const char *value, const char *where)
{
	void *slot = field_ptr(cfg, o);
	long l;
	double d;
	switch (o->type) {
	case OPT_STRING:
		if (is_yaml_null(value))
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: a value is required", where, o->key);
		return set_string(slot, value);
	case OPT_PATH:
		return set_string(slot, is_yaml_null(value) ? NULL : value);
	case OPT_PORT:
		if (!parse_long(&l, value))
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: '%s' is not an integer", where, o->key, value);
		if (l < 0 || l > 65535)
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: port %ld is out of range (0-65535)", where, o->key, l);
		*(int *)slot = (int)l;
		return CAIRN_OK;
	case OPT_INT:
		if (!parse_long(&l, value))
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: '%s' is not an integer", where, o->key, value);
		if (l < o->min || l > o->max)
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: %ld is out of range (%ld-%ld)",
				where, o->key, l, o->min, o->max);
		*(int *)slot = (int)l;
		return CAIRN_OK;
	case OPT_SECONDS:
		if (!parse_double(&d, value) || d < 0)
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: '%s' is not a non-negative number of seconds",
				where, o->key, value);
		*(double *)slot = d;
		return CAIRN_OK;
	case OPT_BOOL:
		if (!parse_bool(slot, value))
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: '%s' is not a boolean (true or false)",
				where, o->key, value);
		return CAIRN_OK;
	case OPT_LOG_LEVEL:
		if (cairn_log_level_parse(slot, value) != CAIRN_OK)
			return cairn_error_prefix(CAIRN_EINVALID, "%s: %s", where, o->key);
		return CAIRN_OK;
	case OPT_RATE:
		if (strcasecmp(value, "max") == 0) {
			*(double *)slot = CAIRN_BLOCK_RATE_MAX;
			return CAIRN_OK;
		}
		if (!parse_double(&d, value) || d < 0)
			return cairn_error_set(CAIRN_EINVALID,
				"%s: %s: '%s' is not a non-negative number or 'max'", where, o->key, value);
		*(double *)slot = d;
		return CAIRN_OK;
	case OPT_DURATION:
		if (!parse_duration(&d, value))
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: '%s' is not a duration of at most 100 years (for example 90s, 30m, 6h, 14d)",
				where, o->key, value);
		*(double *)slot = d;
		return CAIRN_OK;
	}
	return cairn_error_set(CAIRN_ERROR, "internal: unknown option type");
}

static int record_origin(cairn_config *cfg, const option_def *o, const char *where)
{
	return set_string(&cfg->origins->where[o - cairn_config__options], where);
}

static const option_def *option_by_key(const char *key)
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (strcmp(cairn_config__options[i].key, key) == 0)
			return &cairn_config__options[i];
	return NULL;
}

static const option_def *option_by_flag(const char *flag, size_t len)
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (cairn_config__options[i].flag && strlen(cairn_config__options[i].flag) == len && strncmp(cairn_config__options[i].flag, flag, len) == 0)
			return &cairn_config__options[i];
	return NULL;
}

/* True when some option key lies strictly below `prefix` ("backup" covers "backup.api.enabled"). */
static bool is_key_section(const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (strncmp(cairn_config__options[i].key, prefix, n) == 0 && cairn_config__options[i].key[n] == '.')
			return true;
	return false;
}

/* ---- YAML ---- */

/* Deeper than any key of ours (three levels) needs; libyaml's document
 * loader takes seconds on files nested tens of thousands deep. */
#define YAML_MAX_DEPTH 16

typedef struct yaml_walk {
	cairn_config *cfg;
	yaml_document_t *doc;
	const char *path;
	unsigned long set_at[OPTION_COUNT]; /* the line that set each option; 0: none */
} yaml_walk;

/* Refuses a file nested deeper than YAML_MAX_DEPTH, reading its events
 * only as far as that; rewinds it.  Syntax errors are left to the loader. */
static int check_depth(FILE *f, const char *path)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	int depth = 0, rc = CAIRN_OK;
	bool done = false;
	while (!done && rc == CAIRN_OK && yaml_parser_parse(&parser, &ev)) {
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		done = ev.type == YAML_STREAM_END_EVENT;
		if (depth > YAML_MAX_DEPTH)
			rc = cairn_error_set(CAIRN_EINVALID, "%s:%lu: nested deeper than %d levels", path,
				(unsigned long)ev.start_mark.line + 1, YAML_MAX_DEPTH);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	rewind(f);
	return rc;
}

/* Refuses a key that appears twice in one mapping. */
static int check_unique_key(yaml_walk *w, yaml_node_t *map, yaml_node_pair_t *pair)
{
	yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
		yaml_node_t *other = yaml_document_get_node(w->doc, p->key);
		if (other->type == YAML_SCALAR_NODE && key->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)other->data.scalar.value, (const char *)key->data.scalar.value) == 0)
			return cairn_error_set(CAIRN_EINVALID, "%s:%lu: %s: duplicate key (first at line %lu)", w->path,
				(unsigned long)key->start_mark.line + 1, (const char *)key->data.scalar.value,
				(unsigned long)other->start_mark.line + 1);
	}
	return CAIRN_OK;
}

static int walk_mapping(yaml_walk *w, yaml_node_t *map, const char *prefix, bool at_root);

static int walk_pair(yaml_walk *w, yaml_node_pair_t *pair, const char *prefix, bool at_root)
{
	yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
	yaml_node_t *value = yaml_document_get_node(w->doc, pair->value);
	unsigned long line = key->start_mark.line + 1;
	if (key->type != YAML_SCALAR_NODE)
		return cairn_error_set(CAIRN_EINVALID, "%s:%lu: keys must be plain names", w->path, line);

	char full[256];
	const char *name = (const char *)key->data.scalar.value;
	if (snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", name) >= (int)sizeof(full))
		return cairn_error_set(CAIRN_EINVALID, "%s:%lu: key too long", w->path, line);

	if (at_root && strcmp(name, "chainweb") == 0) {
		if (value->type != YAML_MAPPING_NODE)
			return cairn_error_set(CAIRN_EINVALID, "%s:%lu: chainweb: expected a mapping", w->path, line);
		return walk_mapping(w, value, "", false);
	}
	const option_def *o = option_by_key(full);
	if (o != NULL) {
		if (value->type != YAML_SCALAR_NODE)
			return cairn_error_set(CAIRN_EINVALID, "%s:%lu: %s: expected a single value, found a %s",
				w->path, line, full, value->type == YAML_MAPPING_NODE ? "mapping" : "list");
		unsigned long *set_at = &w->set_at[o - cairn_config__options];
		if (*set_at != 0)
			return cairn_error_set(CAIRN_EINVALID, "%s:%lu: %s: set twice (first at line %lu)", w->path, line,
				full, *set_at);
		*set_at = line;
		char where[PATH_MAX + 32];
		snprintf(where, sizeof(where), "%s:%lu", w->path, value->start_mark.line + 1);
		int rc = apply_value(w->cfg, o, (const char *)value->data.scalar.value, where);
		return rc != CAIRN_OK ? rc : record_origin(w->cfg, o, where);
	}
	if (is_key_section(full)) {
		if (value->type != YAML_MAPPING_NODE)
			return cairn_error_set(CAIRN_EINVALID, "%s:%lu: %s: expected a mapping", w->path, line, full);
		return walk_mapping(w, value, full, false);
	}
	return cairn_error_set(CAIRN_EINVALID, "%s:%lu: %s: unknown key (see cairn node --help)",
		w->path, line, full);
}

static int walk_mapping(yaml_walk *w, yaml_node_t *map, const char *prefix, bool at_root)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		int rc = check_unique_key(w, map, p);
		if (rc == CAIRN_OK)
			rc = walk_pair(w, p, prefix, at_root);
		if (rc != CAIRN_OK)
			return rc;
	}
	return CAIRN_OK;
}

int cairn_config_load_file(cairn_config *cfg, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return cairn_error_set_errno(CAIRN_EINVALID, errno, "cannot read config file '%s'", path);
	int rc = check_depth(f, path);
	if (rc != CAIRN_OK) {
		fclose(f);
		return rc;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = cairn_error_set(CAIRN_EINVALID, "%s:%lu: invalid YAML: %s", path,
			(unsigned long)parser.problem_mark.line + 1, parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		fclose(f);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		/* An empty file changes nothing. */
	} else if (root->type != YAML_MAPPING_NODE) {
		rc = cairn_error_set(CAIRN_EINVALID, "%s:%lu: the top level must be a mapping of keys",
			path, (unsigned long)root->start_mark.line + 1);
	} else {
		yaml_walk w = {.cfg = cfg, .doc = &doc, .path = path};
		rc = walk_mapping(&w, root, "", true);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

int cairn_config_option_help(const char **help, const char **flag, const char *key)
{
	const option_def *o = option_by_key(key);
	if (o == NULL)
		return cairn_error_set(CAIRN_ENOTFOUND, "no setting '%s'", key);
	*help = o->help;
	*flag = o->flag;
	return CAIRN_OK;
}

/* ---- command line ---- */

typedef struct flag_value {
	const option_def *option;
	const char *value;
} flag_value;

static int parse_flags(flag_value *out, size_t *count, const char **config_file,
	cairn_config_action *action, int argc, char **argv)
{
	*count = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			*action = CAIRN_CONFIG_HELP;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0)
			return cairn_error_set(CAIRN_EINVALID, "unexpected argument '%s' (see cairn node --help)", arg);
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		bool example = strcmp(name, "print-example-config") == 0;
		if (example || strcmp(name, "print-config") == 0) {
			*action = *action == CAIRN_CONFIG_HELP ? CAIRN_CONFIG_HELP
				: example ? CAIRN_CONFIG_EXAMPLE : CAIRN_CONFIG_PRINT;
			continue;
		}
		bool is_config_file = len == strlen("config-file") && strncmp(name, "config-file", len) == 0;
		const option_def *o = is_config_file ? NULL : option_by_flag(name, len);
		if (!is_config_file && o == NULL)
			return cairn_error_set(CAIRN_EINVALID, "unknown option '--%.*s' (see cairn node --help)", (int)len, name);
		const char *value;
		if (o && o->type == OPT_BOOL) {
			if (eq)
				return cairn_error_set(CAIRN_EINVALID, "--%s takes no value", o->flag);
			value = "true";
		} else if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return cairn_error_set(CAIRN_EINVALID, "--%.*s needs a value", (int)len, name);
		}
		if (is_config_file)
			*config_file = value;
		else
			out[(*count)++] = (flag_value){o, value};
	}
	return CAIRN_OK;
}

int cairn_config_from_args(cairn_config *cfg, cairn_config_action *action, int argc, char **argv)
{
	*action = CAIRN_CONFIG_RUN;
	flag_value *flags = calloc((size_t)argc + 1, sizeof(*flags));
	if (flags == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	size_t count = 0;
	const char *config_file = NULL;
	int rc = parse_flags(flags, &count, &config_file, action, argc, argv);
	if (rc == CAIRN_OK && *action == CAIRN_CONFIG_HELP) {
		free(flags);
		return CAIRN_OK;
	}
	if (rc == CAIRN_OK && config_file) {
		rc = set_string(&cfg->config_file, config_file);
		if (rc == CAIRN_OK)
			rc = cairn_config_load_file(cfg, config_file);
	}
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++) {
		char where[128];
		snprintf(where, sizeof(where), "--%s", flags[i].option->flag);
		rc = apply_value(cfg, flags[i].option, flags[i].value, where);
		if (rc == CAIRN_OK)
			rc = record_origin(cfg, flags[i].option, where);
	}
	free(flags);
	if (rc == CAIRN_OK)
		rc = cairn_config_validate(cfg);
	return rc;
}

/* ---- validation ---- */

static const char *origin_of(const cairn_config *cfg, const char *key)
{
	const option_def *o = option_by_key(key);
	const char *where = o && cfg->origins ? cfg->origins->where[o - cairn_config__options] : NULL;
	return where ? where : "default";
}

/* The names the management API puts in its paths: one URL segment that
 * needs no escaping. */
static bool is_database_name(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len <= 64
		&& strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static int validate_management(const cairn_config *cfg)
{
	if (!cfg->management_api_enabled)
		return CAIRN_OK;
	const char *where = origin_of(cfg, "managementApi.enabled");
	if (cfg->backup_directory == NULL)
		return cairn_error_set(CAIRN_EINVALID, "%s: managementApi.enabled: the management API needs a backup "
			"directory (--backup-directory or backup.directory)", where);
	if (cfg->management_token_file == NULL)
		return cairn_error_set(CAIRN_EINVALID, "%s: managementApi.enabled: the management API needs a token file "
			"(--management-token-file or managementApi.tokenFile)", where);
	if (cairn_fs_check_private_file(cfg->management_token_file) != CAIRN_OK)
		return cairn_error_prefix(CAIRN_EINVALID, "%s: managementApi.tokenFile",
			origin_of(cfg, "managementApi.tokenFile"));
	if (cfg->management_database_name != NULL && !is_database_name(cfg->management_database_name))
		return cairn_error_set(CAIRN_EINVALID, "%s: managementApi.databaseName: '%s' must be 1 to 64 letters, "
			"digits, '.', '_' or '-'", origin_of(cfg, "managementApi.databaseName"), cfg->management_database_name);
	return CAIRN_OK;
}

int cairn_config_validate(cairn_config *cfg)
{
	if (cairn_version_by_name(cfg->chainweb_version) == NULL)
		return cairn_error_set(CAIRN_EINVALID, "%s: chainwebVersion: unknown version '%s' (supported: %s)",
			origin_of(cfg, "chainwebVersion"), cfg->chainweb_version, cairn_version_supported_names());
	unsigned char addr[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, cfg->service_interface, addr) != 1 &&
	    inet_pton(AF_INET6, cfg->service_interface, addr) != 1)
		return cairn_error_set(CAIRN_EINVALID, "%s: serviceApi.interface: '%s' is not an IPv4 or IPv6 address",
			origin_of(cfg, "serviceApi.interface"), cfg->service_interface);
	if (cfg->drain_seconds > 4.0)
		return cairn_error_set(CAIRN_EINVALID, "%s: serviceApi.drainSeconds: %g is more than 4 seconds",
			origin_of(cfg, "serviceApi.drainSeconds"), cfg->drain_seconds);
	if (cfg->backup_api_enabled && cfg->backup_directory == NULL)
		return cairn_error_set(CAIRN_EINVALID,
			"%s: backup.api.enabled: the backup API needs a backup directory (--backup-directory or backup.directory)",
			origin_of(cfg, "backup.api.enabled"));
	static const char *const needs_directory[] = {"backup.schedule.interval", "backup.retention.keepLast",
		"backup.retention.maxAge"};
	bool wanted[] = {cfg->backup_schedule_interval > 0, cfg->backup_retention_keep_last > 0,
		cfg->backup_retention_max_age > 0};
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (wanted[i] && cfg->backup_directory == NULL)
			return cairn_error_set(CAIRN_EINVALID, "%s: %s: needs a backup directory (--backup-directory or "
				"backup.directory)", origin_of(cfg, needs_directory[i]), needs_directory[i]);
	if (cfg->backup_schedule_interval > 0 && cfg->backup_schedule_interval < 1)
		return cairn_error_set(CAIRN_EINVALID, "%s: backup.schedule.interval: at least 1 second",
			origin_of(cfg, "backup.schedule.interval"));
	if (cfg->backup_directory && cairn_fs_check_writable_dir(cfg->backup_directory) != CAIRN_OK)
		return cairn_error_prefix(CAIRN_EINVALID, "%s: backup.directory", origin_of(cfg, "backup.directory"));
	int rc = cairn_config_validate_remote(cfg, origin_of);
	return rc == CAIRN_OK ? validate_management(cfg) : rc;
}
