/*
 * config_print.c: the configuration written out: --print-config (YAML that
 * cairn_config_load_file accepts back, one line per key, in table order,
 * nested by the keys' dotted sections) and `cairn node --help` (every row
 * of the option table with its flag, key and default).
 *
 * Strings that would read back as another type (null, a number, a
 * boolean) are double-quoted, so printing then loading is the identity.
 */
#include "config/config.h"
#include "config/options.h"
#include "util/error.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* `v` and `unit` with the fewest digits (15, else 17) that read back as `v`. */
static void format_number(char *buf, size_t size, double v, const char *unit)
{
	snprintf(buf, size, "%.15g%s", v, unit);
	if (strtod(buf, NULL) != v)
		snprintf(buf, size, "%.17g%s", v, unit);
}

/* The largest unit that expresses the duration exactly: "6h", "14d", "90s". */
static void format_duration(char *buf, size_t size, double seconds)
{
	static const struct { const char *unit; double seconds; } units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}};
	for (size_t i = 0; seconds > 0 && i < sizeof(units) / sizeof(units[0]); i++)
		if (fmod(seconds, units[i].seconds) == 0) {
			format_number(buf, size, seconds / units[i].seconds, units[i].unit);
			return;
		}
	if (seconds > 0)
		format_number(buf, size, seconds, "s");
	else
		snprintf(buf, size, "off");
}

static void format_value(char *buf, size_t size, const cairn_config *cfg, const option_def *o)
{
	const void *slot = cairn_config__field(cfg, o);
	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH: {
		const char *s = *(char *const *)slot;
		snprintf(buf, size, "%s", s ? s : "null");
		break;
	}
	case OPT_PORT:
	case OPT_INT: snprintf(buf, size, "%d", *(const int *)slot); break;
	case OPT_SECONDS: snprintf(buf, size, "%g", *(const double *)slot); break;
	case OPT_DURATION: format_duration(buf, size, *(const double *)slot); break;
	case OPT_BOOL: snprintf(buf, size, "%s", *(const bool *)slot ? "true" : "false"); break;
	case OPT_LOG_LEVEL: snprintf(buf, size, "%s", cairn_log_level_name(*(const cairn_log_level *)slot)); break;
	case OPT_RATE: {
		double r = *(const double *)slot;
		if (r == CAIRN_BLOCK_RATE_MAX)
			snprintf(buf, size, "max");
		else
			snprintf(buf, size, "%g", r);
		break;
	}
	}
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
	return yaml_emitter_emit(em, ev) ? CAIRN_OK
		: cairn_error_set(CAIRN_EIO, "cannot write YAML: %s", em->problem ? em->problem : "error");
}

static int emit_scalar(yaml_emitter_t *em, const char *text, bool quoted_if_needed)
{
	yaml_event_t ev;
	/* A string that would read back as null/bool/number must be quoted. */
	yaml_scalar_style_t style = quoted_if_needed ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1, style);
	return emit(em, &ev);
}

static int emit_mapping(yaml_emitter_t *em, bool start)
{
	yaml_event_t ev;
	if (start)
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	else
		yaml_mapping_end_event_initialize(&ev);
	return emit(em, &ev);
}

/* Number of leading dotted components two keys share. */
static int common_depth(const char *a, const char *b)
{
	int depth = 0;
	for (;;) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		if (la != lb || strncmp(a, b, la) != 0 || a[la] != '.' || b[lb] != '.')
			return depth;
		depth++;
		a += la + 1;
		b += lb + 1;
	}
}

static int key_depth(const char *key)
{
	int depth = 0;
	for (; *key; key++)
		depth += *key == '.';
	return depth;
}

static int emit_option(yaml_emitter_t *em, const cairn_config *cfg, const option_def *o, const char *previous)
{
	int shared = previous ? common_depth(previous, o->key) : 0;
	int rc = CAIRN_OK;
	for (int d = previous ? key_depth(previous) : 0; rc == CAIRN_OK && d > shared; d--)
		rc = emit_mapping(em, false);
	const char *part = o->key;
	for (int d = 0; d < shared; d++)
		part += strcspn(part, ".") + 1;
	for (int d = shared; rc == CAIRN_OK && d < key_depth(o->key); d++) {
		char section[128];
		size_t len = strcspn(part, ".");
		snprintf(section, sizeof(section), "%.*s", (int)len, part);
		rc = emit_scalar(em, section, false);
		if (rc == CAIRN_OK)
			rc = emit_mapping(em, true);
		part += len + 1;
	}
	char value[PATH_MAX];
	format_value(value, sizeof(value), cfg, o);
	bool is_text = o->type == OPT_STRING || (o->type == OPT_PATH && *(char *const *)cairn_config__field(cfg, o));
	if (rc == CAIRN_OK)
		rc = emit_scalar(em, part, false);
	if (rc == CAIRN_OK)
		rc = emit_scalar(em, value, is_text);
	return rc;
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	return fwrite(buffer, 1, size, data) == size;
}

int cairn_config_write_yaml(FILE *out, const cairn_config *cfg)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, write_handler, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1); /* one line per key: config_example.c relies on it */
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	int rc = emit(&em, &ev);
	if (rc == CAIRN_OK) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		rc = emit(&em, &ev);
	}
	if (rc == CAIRN_OK)
		rc = emit_mapping(&em, true);
	const char *previous = NULL;
	for (size_t i = 0; rc == CAIRN_OK && i < cairn_config__option_count; i++) {
		rc = emit_option(&em, cfg, &cairn_config__options[i], previous);
		previous = cairn_config__options[i].key;
	}
	for (int d = previous ? key_depth(previous) : 0; rc == CAIRN_OK && d >= 0; d--)
		rc = emit_mapping(&em, false);
	if (rc == CAIRN_OK) {
		yaml_document_end_event_initialize(&ev, 1);
		rc = emit(&em, &ev);
	}
	if (rc == CAIRN_OK) {
		yaml_stream_end_event_initialize(&ev);
		rc = emit(&em, &ev);
	}
	yaml_emitter_delete(&em);
	return rc;
}

void cairn_config_write_help(FILE *out)
{
	cairn_config defaults;
	if (cairn_config_init(&defaults) != CAIRN_OK)
		return;
	fprintf(out,
		"Usage: cairn node [OPTIONS]\n"
		"\n"
		"Runs the node: chain database, Pact state, block producer and service API.\n"
		"Settings come from embedded defaults, then --config-file, then flags.\n"
		"\n"
		"Options:\n"
		"  --config-file FILE\n"
		"      YAML configuration file (keys below, top level or under 'chainweb:')\n"
		"  --print-config\n"
		"      Print the effective configuration as YAML and exit\n"
		"  --print-example-config\n"
		"      Print the effective configuration as a file with every key commented out\n"
		"      and described (the example /etc/cairn/cairn.yaml), and exit\n"
		"  -h, --help\n"
		"      Show this help and exit\n");
	for (size_t i = 0; i < cairn_config__option_count; i++) {
		const option_def *o = &cairn_config__options[i];
		char value[PATH_MAX];
		format_value(value, sizeof(value), &defaults, o);
		fprintf(out, "  --%s%s%s\n      %s\n      YAML key: %s; default: %s\n", o->flag,
			o->arg ? " " : "", o->arg ? o->arg : "", o->help, o->key, value);
	}
	fprintf(out, "\nExit status: 0 after a clean shutdown, 2 for a configuration error, 1 otherwise.\n");
	cairn_config_free(&defaults);
}
