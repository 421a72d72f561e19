/*
 * config.h: the node's effective configuration.
 *
 * Sources, lowest precedence first: embedded defaults < YAML file
 * (--config-file) < command-line flags.  One option table in config.c drives
 * all of them: flag parsing, YAML keys, --help text, --print-config output and
 * docs/configuration.md, so a setting cannot exist in one and not the others.
 *
 * Every setting remembers where its value came from ("default", "--flag", or
 * "FILE:LINE"), so a validation error names the file, line and key.
 */
#ifndef CAIRN_CONFIG_CONFIG_H
#define CAIRN_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/log.h"

#define CAIRN_DEFAULT_PORT 1848
#define CAIRN_BLOCK_RATE_MAX (-1.0) /* block_rate value meaning "as fast as possible" */

typedef struct cairn_config {
	char *config_file;          /* NULL when none was given */
	char *database_directory;   /* default "cairn-data" */
	int database_min_free_mib;  /* commits pause below this free space (MiB); 0: never; default 16 */
	char *chainweb_version;     /* default "development" */
	char *service_interface;    /* default "127.0.0.1" */
	int service_port;           /* default 1848; 0 picks a free port */
	bool backup_api_enabled;
	char *backup_directory;     /* NULL unless configured */
	int backup_parallelism;     /* Pact files a backup copies at once; 0: one per core */
	int backup_rate_limit;      /* bytes per second of Pact copies; 0: no limit */
	double backup_schedule_interval;  /* seconds between scheduled backups; 0: none */
	bool backup_schedule_pact;        /* scheduled backups include Pact */
	int backup_retention_keep_last;   /* successful backups kept; 0: no limit */
	double backup_retention_max_age;  /* seconds; 0: no limit */
	char *backup_remote_url;          /* s3://bucket/prefix; NULL: no remote */
	char *backup_remote_endpoint;     /* NULL: AWS */
	char *backup_remote_region;       /* NULL: us-east-1 */
	char *backup_remote_addressing;   /* auto | path | virtual; NULL: auto */
	char *backup_remote_credentials_file; /* NULL: the AWS_* environment variables */
	char *backup_remote_upload;       /* always | off; NULL: always */
	int backup_remote_parallelism;    /* objects (and parts) in flight; 0: 4 */
	int backup_remote_rate_limit;     /* bytes per second over all transfers; 0: no limit */
	int backup_remote_part_size_mib;  /* multipart above this size; default 64 */
	bool backup_remote_send_checksums; /* send x-amz-checksum-sha256 (stores whose ETags are not MD5s) */
	int backup_remote_retention_keep_last; /* complete remote backups kept; 0: no limit */
	double backup_remote_retention_max_age; /* seconds; 0: no limit */
	bool management_api_enabled;      /* the backup management API (docs/api.md) */
	char *management_token_file;      /* NULL unless configured */
	char *management_database_name;   /* NULL: the Chainweb version */
	int management_download_link_seconds; /* lifetime of a download link */
	bool metrics_enabled;             /* GET /metrics */
	cairn_log_level log_level;
	double block_rate;          /* blocks/s over all chains; 0 stops; CAIRN_BLOCK_RATE_MAX */
	int transactions_per_block;
	double drain_seconds;       /* how long health-check reports drain before the listener closes */
	char *allowed_hosts;        /* extra Host names, comma-separated; default "" */
	int request_timeout;        /* seconds to deliver a whole request; 0: none; default 10 */
	int max_connections_per_address; /* 0: no limit; default 256 */

	struct cairn_config_origin *origins; /* private: where each value came from */
} cairn_config;

/* What `cairn node` should do after argument parsing. */
typedef enum {
	CAIRN_CONFIG_RUN = 0,
	CAIRN_CONFIG_PRINT = 1, /* --print-config */
	CAIRN_CONFIG_HELP = 2,  /* --help */
	CAIRN_CONFIG_EXAMPLE = 3, /* --print-example-config */
} cairn_config_action;

/* Fills `cfg` with the embedded defaults. */
int cairn_config_init(cairn_config *cfg);
void cairn_config_free(cairn_config *cfg);

/*
 * Builds the effective configuration from the command line of `cairn node`
 * (argv[0] is the subcommand name): defaults, then the file named by
 * --config-file if any, then the flags, then validation.  On error returns
 * CAIRN_EINVALID with a message naming the source, key and reason; the caller
 * exits with status 2.
 */
int cairn_config_from_args(cairn_config *cfg, cairn_config_action *action, int argc, char **argv);

/* Applies a YAML file on top of the current values (top level or under `chainweb:`). */
int cairn_config_load_file(cairn_config *cfg, const char *path);

/* Semantic checks: ranges, known version, backup directory creatable and writable. */
int cairn_config_validate(cairn_config *cfg);

/* Writes the effective configuration as YAML that cairn_config_load_file accepts. */
int cairn_config_write_yaml(FILE *out, const cairn_config *cfg);

/* Writes the `cairn node --help` text: every flag, its YAML key and default. */
void cairn_config_write_help(FILE *out);

/* The help text and flag (without "--") of the setting with the dotted YAML
 * key `key`; CAIRN_ENOTFOUND for an unknown key. */
int cairn_config_option_help(const char **help, const char **flag, const char *key);

/*
 * Writes `cfg` as a configuration file with every key commented out
 * (config_example.c): the --print-config YAML, each setting preceded by
 * its description.  Removing the '#' in front of the settings and section
 * lines (not the '##' descriptions) yields a file cairn_config_load_file
 * accepts.
 */
int cairn_config_write_example(FILE *out, const cairn_config *cfg);

#endif
