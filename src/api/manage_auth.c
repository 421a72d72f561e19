/*
 * manage_auth.c: the management API's tokens.
 *
 * Tokens are kept only as SHA-256 digests.  A request's token is hashed
 * and compared with every loaded digest by CRYPTO_memcmp, without stopping
 * at a match, so neither the length of a guess nor how much of it is right
 * shows in the time taken.  The file is read once, at start; a file that
 * others could read or change is refused, because a token is a password.
 */
#include "api/manage.h"
#include "util/fs.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKENS_MAX 256

struct cairn_manage_tokens {
	size_t count;
	uint8_t digest[TOKENS_MAX][SHA256_DIGEST_LENGTH];
};

static void trim(const char **start, const char **end)
{
	while (*start < *end && isspace((unsigned char)**start))
		(*start)++;
	while (*end > *start && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

static int add_tokens(cairn_manage_tokens *tokens, const char *text, size_t len, const char *path)
{
	const char *p = text, *limit = text + len;
	while (p < limit) {
		const char *nl = memchr(p, '\n', (size_t)(limit - p));
		const char *line_end = nl ? nl : limit;
		const char *start = p, *end = line_end;
		trim(&start, &end);
		p = nl ? nl + 1 : limit;
		if (start == end || *start == '#')
			continue;
		if (tokens->count == TOKENS_MAX)
			return cairn_error_set(CAIRN_EINVALID, "token file %s: more than %d tokens", path, TOKENS_MAX);
		SHA256((const unsigned char *)start, (size_t)(end - start), tokens->digest[tokens->count++]);
	}
	if (tokens->count == 0)
		return cairn_error_set(CAIRN_EINVALID, "token file %s: holds no token", path);
	return CAIRN_OK;
}

int cairn_manage_tokens_load(cairn_manage_tokens **out, const char *path)
{
	int rc = cairn_fs_check_private_file(path);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(CAIRN_EINVALID, "token file");
	char *text;
	size_t len;
	rc = cairn_fs_read_file(&text, &len, path);
	if (rc != CAIRN_OK)
		return cairn_error_set(CAIRN_EINVALID, "token file %s: %s", path, cairn_error_last());
	cairn_manage_tokens *tokens = calloc(1, sizeof(*tokens));
	if (tokens == NULL)
		rc = cairn_error_set(CAIRN_ENOMEM, "out of memory");
	else
		rc = add_tokens(tokens, text, len, path);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc != CAIRN_OK) {
		cairn_manage_tokens_free(tokens);
		return rc;
	}
	*out = tokens;
	return CAIRN_OK;
}

void cairn_manage_tokens_free(cairn_manage_tokens *tokens)
{
	if (tokens == NULL)
		return;
	OPENSSL_cleanse(tokens, sizeof(*tokens));
	free(tokens);
}

bool cairn_manage_tokens_match(const cairn_manage_tokens *tokens, const char *token, size_t len)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)token, len, digest);
	int matches = 0;
	for (size_t i = 0; i < tokens->count; i++)
		matches |= CRYPTO_memcmp(digest, tokens->digest[i], sizeof(digest)) == 0;
	return matches != 0;
}

bool cairn_manage_request_token(const char **out, size_t *out_len, const cairn_http_request *req)
{
	const char *value = cairn_http_request_header(req, "X-Auth-Token");
	if (value == NULL) {
		value = cairn_http_request_header(req, "Authorization");
		if (value == NULL || strncasecmp(value, "Bearer ", 7) != 0)
			return false;
		value += 7;
	}
	const char *end = value + strlen(value);
	trim(&value, &end);
	if (value == end)
		return false;
	*out = value;
	*out_len = (size_t)(end - value);
	return true;
}
