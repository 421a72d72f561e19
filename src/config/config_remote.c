/*
 * config_remote.c: backup.remote.* (config_remote.h).
 *
 * Addressing: "auto" is virtual-host style for AWS (no endpoint) and path
 * style for a configured endpoint (MinIO, Ceph RGW, Garage and s3rver
 * serve path style on a bare address; a virtual host needs DNS for every
 * bucket); "path" and "virtual" force one.
 */
#include "config/config_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"

#define SECRET_MAX 512

typedef struct credentials {
	char key_id[SECRET_MAX], secret[SECRET_MAX], token[4 * SECRET_MAX];
} credentials;

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static void take(char *slot, size_t size, const char *value)
{
	snprintf(slot, size, "%s", value);
}

static int read_credentials_file(credentials *c, const char *path)
{
	char *text = NULL;
	int rc = cairn_fs_check_private_file(path);
	if (rc == CAIRN_OK)
		rc = cairn_fs_read_file(&text, NULL, path);
	if (rc != CAIRN_OK)
		return rc;
	bool in_default = true;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
			continue;
		if (line[0] == '[') {
			in_default = strcmp(line, "[default]") == 0;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!in_default || eq == NULL)
			continue;
		*eq = '\0';
		const char *key = trim(line), *value = trim(eq + 1);
		if (strcmp(key, "aws_access_key_id") == 0)
			take(c->key_id, sizeof(c->key_id), value);
		else if (strcmp(key, "aws_secret_access_key") == 0)
			take(c->secret, sizeof(c->secret), value);
		else if (strcmp(key, "aws_session_token") == 0)
			take(c->token, sizeof(c->token), value);
	}
	free(text);
	if (c->key_id[0] == '\0' || c->secret[0] == '\0')
		return cairn_error_set(CAIRN_EINVALID, "%s: no aws_access_key_id and aws_secret_access_key in its [default] "
			"section", path);
	return CAIRN_OK;
}

static int load_credentials(credentials *c, const cairn_config *cfg)
{
	memset(c, 0, sizeof(*c));
	if (cfg->backup_remote_credentials_file != NULL)
		return read_credentials_file(c, cfg->backup_remote_credentials_file);
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0')
		return cairn_error_set(CAIRN_EINVALID, "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
			"name a credentials file (backup.remote.credentialsFile)");
	take(c->key_id, sizeof(c->key_id), id);
	take(c->secret, sizeof(c->secret), secret);
	take(c->token, sizeof(c->token), token ? token : "");
	return CAIRN_OK;
}

int cairn_config_validate_remote(const cairn_config *cfg, cairn_config_origin_fn origin_of)
{
	static const char *const needs_url[] = {"backup.remote.endpoint", "backup.remote.region",
		"backup.remote.credentialsFile", "backup.remote.retention.keepLast", "backup.remote.retention.maxAge"};
	bool set[] = {cfg->backup_remote_endpoint != NULL, cfg->backup_remote_region != NULL,
		cfg->backup_remote_credentials_file != NULL, cfg->backup_remote_retention_keep_last > 0,
		cfg->backup_remote_retention_max_age > 0};
	if (cfg->backup_remote_url == NULL) {
		for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
			if (set[i])
				return cairn_error_set(CAIRN_EINVALID, "%s: %s: needs a remote (backup.remote.url)",
					origin_of(cfg, needs_url[i]), needs_url[i]);
		return CAIRN_OK;
	}
	const char *url_origin = origin_of(cfg, "backup.remote.url");
	char *bucket = NULL, *prefix = NULL;
	int rc = cairn_s3_url_parse(&bucket, &prefix, cfg->backup_remote_url);
	free(bucket);
	free(prefix);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(CAIRN_EINVALID, "%s: backup.remote.url", url_origin);
	if (cfg->backup_directory == NULL)
		return cairn_error_set(CAIRN_EINVALID, "%s: backup.remote.url: needs a backup directory (--backup-directory "
			"or backup.directory)", url_origin);
	const char *upload = cfg->backup_remote_upload ? cfg->backup_remote_upload : "always";
	if (strcmp(upload, "always") != 0 && strcmp(upload, "off") != 0)
		return cairn_error_set(CAIRN_EINVALID, "%s: backup.remote.upload: '%s' is neither always nor off",
			origin_of(cfg, "backup.remote.upload"), upload);
	const char *addressing = cfg->backup_remote_addressing ? cfg->backup_remote_addressing : "auto";
	if (strcmp(addressing, "auto") != 0 && strcmp(addressing, "path") != 0 && strcmp(addressing, "virtual") != 0)
		return cairn_error_set(CAIRN_EINVALID, "%s: backup.remote.addressing: '%s' is not auto, path or virtual",
			origin_of(cfg, "backup.remote.addressing"), addressing);
	const char *endpoint = cfg->backup_remote_endpoint;
	if (endpoint != NULL && strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
		return cairn_error_set(CAIRN_EINVALID, "%s: backup.remote.endpoint: '%s' is not an http:// or https:// URL",
			origin_of(cfg, "backup.remote.endpoint"), endpoint);
	credentials c;
	rc = load_credentials(&c, cfg);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(CAIRN_EINVALID, "%s: %s", cfg->backup_remote_credentials_file
			? origin_of(cfg, "backup.remote.credentialsFile") : url_origin, cfg->backup_remote_credentials_file
			? "backup.remote.credentialsFile" : "backup.remote.url");
	return CAIRN_OK;
}

int cairn_config_remote(cairn_backup_remote **out, const cairn_config *cfg)
{
	*out = NULL;
	if (cfg->backup_remote_url == NULL)
		return CAIRN_OK;
	credentials c;
	char *bucket = NULL, *prefix = NULL;
	int rc = cairn_s3_url_parse(&bucket, &prefix, cfg->backup_remote_url);
	if (rc == CAIRN_OK)
		rc = load_credentials(&c, cfg);
	if (rc == CAIRN_OK) {
		const char *addressing = cfg->backup_remote_addressing ? cfg->backup_remote_addressing : "auto";
		cairn_backup_remote r = {.prefix = prefix, .url = cfg->backup_remote_url};
		cairn_s3_options s3 = CAIRN_S3_OPTIONS_INIT;
		s3.endpoint = cfg->backup_remote_endpoint;
		s3.region = cfg->backup_remote_region;
		s3.bucket = bucket;
		s3.path_style = strcmp(addressing, "path") == 0 || (strcmp(addressing, "auto") == 0 && s3.endpoint != NULL);
		s3.access_key_id = c.key_id;
		s3.secret_access_key = c.secret;
		s3.session_token = c.token[0] ? c.token : NULL;
		s3.part_size = (uint64_t)cfg->backup_remote_part_size_mib << 20;
		s3.parallelism = cfg->backup_remote_parallelism;
		/* backup.rateLimit paces uploads too, unless the remote has its own. */
		int rate = cfg->backup_remote_rate_limit > 0 ? cfg->backup_remote_rate_limit : cfg->backup_rate_limit;
		s3.rate_limit_bps = (uint64_t)rate;
		s3.checksum_sha256 = cfg->backup_remote_send_checksums;
		r.s3 = s3;
		r.upload_always = cfg->backup_remote_upload == NULL || strcmp(cfg->backup_remote_upload, "always") == 0;
		r.retention.keep_last = cfg->backup_remote_retention_keep_last;
		r.retention.max_age_seconds = cfg->backup_remote_retention_max_age;
		rc = cairn_backup_remote_dup(out, &r);
		memset(&c, 0, sizeof(c));
	}
	free(bucket);
	free(prefix);
	return rc;
}
