/*
 * options.h: the option table behind cairn_config (internal to
 * src/config).  One row per setting: flag, dotted YAML key, type, field
 * and help text.  config.c defines the table and loads values into it;
 * config_print.c writes it out; nothing else reads rows.
 */
#ifndef CAIRN_CONFIG_OPTIONS_H
#define CAIRN_CONFIG_OPTIONS_H

#include <stddef.h>

#include "config/config.h"

typedef enum {
	OPT_STRING,     /* non-empty string */
	OPT_PATH,       /* string; YAML null leaves it unset */
	OPT_PORT,       /* integer 0..65535 */
	OPT_INT,        /* integer within [min, max] */
	OPT_SECONDS,    /* non-negative decimal number */
	OPT_BOOL,       /* YAML boolean; as a flag it takes no value and sets true */
	OPT_LOG_LEVEL,  /* debug | info | warn | error */
	OPT_RATE,       /* non-negative number or "max" */
	OPT_DURATION,   /* non-negative number with a unit s, m, h or d (seconds without one); 0 or off: none */
} option_type;

typedef struct option_def {
	const char *flag;     /* without the leading "--"; NULL for YAML-only settings */
	const char *key;      /* dotted YAML path */
	option_type type;
	size_t offset;        /* field in cairn_config */
	const char *arg;      /* metavariable in --help */
	long min, max;        /* OPT_INT range */
	const char *help;
} option_def;

#define FIELD(f) offsetof(cairn_config, f)

extern const option_def cairn_config__options[];
extern const size_t cairn_config__option_count;

/* The field of `cfg` that row `o` describes. */
const void *cairn_config__field(const cairn_config *cfg, const option_def *o);

#endif
