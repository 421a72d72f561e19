/*
 * config_remote.h: the backup remote's settings (backup.remote.*):
 * validation at start and the remote the node and `cairn backup` use.
 *
 * Credentials never come from the YAML file: from the credentials file
 * named by backup.remote.credentialsFile when one is configured (AWS's
 * shared credentials format: the [default] section's aws_access_key_id,
 * aws_secret_access_key and optional aws_session_token; lines before any
 * section count as [default]; it must not be readable by group or
 * others), else from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN in the environment.
 */
#ifndef CAIRN_CONFIG_CONFIG_REMOTE_H
#define CAIRN_CONFIG_CONFIG_REMOTE_H

#include "backup/remote.h"
#include "config/config.h"

/* Where a key's value came from ("FILE:LINE", "--flag" or "default"). */
typedef const char *(*cairn_config_origin_fn)(const cairn_config *cfg, const char *key);

/* Checks the backup.remote.* settings; CAIRN_EINVALID naming the origin,
 * the key and the reason. */
int cairn_config_validate_remote(const cairn_config *cfg, cairn_config_origin_fn origin_of);

/* The configured remote with its credentials (an owned copy: release with
 * cairn_backup_remote_free); *out is NULL when no remote is configured. */
int cairn_config_remote(cairn_backup_remote **out, const cairn_config *cfg);

#endif
