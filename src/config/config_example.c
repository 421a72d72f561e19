/*
 * config_example.c: the commented example configuration file
 * (`cairn node --print-example-config`, installed as /etc/cairn/cairn.yaml).
 *
 * Design: the example is the --print-config YAML rewritten line by line,
 * so its keys, nesting and value syntax are those cairn_config_write_yaml
 * emits and cairn_config_load_file reads; only comments are added.  The
 * emitter writes one key per line (no wrapping) with two-space indentation,
 * so a line's depth is its indentation / 2 and its key is the text before
 * the ':'; a line with nothing after the ':' opens a section.
 *
 * Invariants of the output:
 *   - every setting and section line starts with '#' directly followed by
 *     the YAML indentation;
 *   - descriptions are '##' comments, indented like the setting they
 *     describe and placed above it, so removing the first '#' of the
 *     setting and section lines (and only those) yields a valid file;
 *   - the header uses single '#' prose lines, none of which looks like a
 *     "key:" line.
 */
#include "config/config.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#define WRAP_COLUMN 78
#define MAX_DEPTH 8

static const char header[] =
	"# cairn node configuration (YAML).\n"
	"#\n"
	"# Written by 'cairn node --print-example-config' from the option table that\n"
	"# also drives 'cairn node --help' and --print-config, so every key is here.\n"
	"# Every setting is commented out and shows its default.  To change one,\n"
	"# remove the '#' in front of it and in front of the section lines above it\n"
	"# (such as 'serviceApi:').  Lines starting with '##' describe the setting\n"
	"# below them.  Command-line flags override this file; check the result with\n"
	"# 'cairn node --config-file FILE --print-config'.\n"
	"#\n"
	"# Under the packaged systemd unit, relative paths are relative to the\n"
	"# state directory /var/lib/cairn, the only place it writes besides\n"
	"# /var/backups/cairn.  Backups are fastest inside the state directory\n"
	"# (/var/lib/cairn/backups: hard links); /var/backups/cairn is a mount of\n"
	"# its own for the unit, so backups there are copies.\n";

/* Writes `text` as '##' comment lines wrapped at WRAP_COLUMN, at `indent`. */
static void write_description(FILE *out, int indent, const char *text)
{
	int width = WRAP_COLUMN - indent - 3;
	while (*text != '\0') {
		int len = (int)strlen(text);
		if (len > width) {
			len = width;
			while (len > 0 && text[len] != ' ')
				len--;
			if (len == 0) /* one word longer than the line */
				len = (int)strcspn(text, " ");
		}
		fprintf(out, "%*s## %.*s\n", indent, "", len, text);
		text += len;
		while (*text == ' ')
			text++;
	}
}

/* Rewrites one line of the --print-config YAML; `sections` holds the names
 * of the open sections by depth. */
static int rewrite_line(FILE *out, char sections[MAX_DEPTH][64], const char *line)
{
	size_t indent = strspn(line, " ");
	const char *key = line + indent;
	size_t key_len = strcspn(key, ":");
	size_t depth = indent / 2;
	if (key[key_len] != ':' || depth >= MAX_DEPTH || key_len >= sizeof(sections[0]))
		return cairn_error_set(CAIRN_EINVALID, "unexpected configuration line '%s'", line);
	if (key[key_len + 1] == '\0') { /* a section */
		memcpy(sections[depth], key, key_len);
		sections[depth][key_len] = '\0';
		fprintf(out, "%s#%s\n", depth == 0 ? "\n" : "", line);
		return CAIRN_OK;
	}
	char full[MAX_DEPTH * 64 + 64] = "";
	for (size_t d = 0; d < depth; d++) {
		strcat(full, sections[d]);
		strcat(full, ".");
	}
	strncat(full, key, key_len);
	const char *help, *flag;
	if (cairn_config_option_help(&help, &flag, full) != CAIRN_OK)
		return CAIRN_EINVALID;
	char text[1024];
	if (flag != NULL)
		snprintf(text, sizeof(text), "%s (flag --%s).", help, flag);
	else
		snprintf(text, sizeof(text), "%s.", help); /* a YAML-only setting */
	if (depth == 0)
		fputc('\n', out);
	write_description(out, (int)indent, text);
	fprintf(out, "#%s\n", line);
	return CAIRN_OK;
}

int cairn_config_write_example(FILE *out, const cairn_config *cfg)
{
	char *yaml = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&yaml, &size);
	if (mem == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	int rc = cairn_config_write_yaml(mem, cfg);
	if (fclose(mem) != 0 && rc == CAIRN_OK)
		rc = cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc != CAIRN_OK) {
		free(yaml);
		return rc;
	}
	fputs(header, out);
	char sections[MAX_DEPTH][64];
	char *save = NULL;
	for (char *line = strtok_r(yaml, "\n", &save); rc == CAIRN_OK && line; line = strtok_r(NULL, "\n", &save))
		rc = rewrite_line(out, sections, line);
	free(yaml);
	if (rc == CAIRN_OK && (fflush(out) != 0 || ferror(out)))
		rc = cairn_error_set(CAIRN_EIO, "cannot write the example configuration");
	return rc;
}
