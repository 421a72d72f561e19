/*
 * manage_link.c: the node's link secret and the download tokens made
 * from it.
 *
 * A download link carries its own proof: "EXPIRES.MAC", where MAC is an
 * HMAC-SHA256 over a fixed context string, the database, the backup id and
 * the expiry.  The node keeps no table of issued links, so links survive a
 * restart and cost nothing to issue; a link cannot be stretched to another
 * backup or a later expiry without the secret.  The secret is 32 random
 * bytes in a file of mode 0600 that the node creates once and reads at
 * every start; replacing the file revokes every link issued before.
 */
#include "api/manage.h"
#include "util/base64url.h"
#include "util/fs.h"
#include "util/hex.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_BYTES 32
#define LINK_CONTEXT "cairn-download-v1\n"

static int read_key(cairn_manage_key *out, const char *path)
{
	int rc = cairn_fs_check_private_file(path);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(CAIRN_EINVALID, "link key");
	char *data;
	size_t len;
	rc = cairn_fs_read_file(&data, &len, path);
	if (rc != CAIRN_OK)
		return rc;
	if (len == CAIRN_MANAGE_KEY_BYTES)
		memcpy(out->secret, data, len);
	else
		rc = cairn_error_set(CAIRN_EINVALID, "link key %s: holds %zu bytes, expected %d", path, len,
			CAIRN_MANAGE_KEY_BYTES);
	OPENSSL_cleanse(data, len);
	free(data);
	return rc;
}

int cairn_manage_key_load_or_create(cairn_manage_key *out, const char *path)
{
	if (cairn_fs_exists(path))
		return read_key(out, path);
	if (RAND_bytes(out->secret, sizeof(out->secret)) != 1)
		return cairn_error_set(CAIRN_EIO, "link key %s: no random bytes from OpenSSL", path);
	return cairn_fs_write_atomic_mode(path, out->secret, sizeof(out->secret), 0600);
}

static void link_mac(uint8_t mac[MAC_BYTES], const cairn_manage_key *key, const char *database, const char *id,
	int64_t expires)
{
	char message[512];
	int n = snprintf(message, sizeof(message), LINK_CONTEXT "%s\n%s\n%" PRId64, database, id, expires);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(message) ? (size_t)n : sizeof(message) - 1;
	unsigned mac_len = MAC_BYTES;
	HMAC(EVP_sha256(), key->secret, sizeof(key->secret), (const unsigned char *)message, len, mac, &mac_len);
}

void cairn_manage_link_token(char out[CAIRN_MANAGE_LINK_TOKEN_MAX], const cairn_manage_key *key,
	const char *database, const char *id, int64_t expires)
{
	uint8_t mac[MAC_BYTES];
	link_mac(mac, key, database, id, expires);
	int n = snprintf(out, CAIRN_MANAGE_LINK_TOKEN_MAX, "%" PRId64 ".", expires);
	cairn_base64url_encode(out + n, mac, sizeof(mac));
}

/* The expiry of "EXPIRES.MAC": digits only, no sign, no leading zero. */
static bool parse_expiry(int64_t *out, const char *token, const char **out_mac)
{
	const char *dot = strchr(token, '.');
	size_t digits = dot == NULL ? 0 : (size_t)(dot - token);
	if (digits == 0 || digits > 18 || (token[0] == '0' && digits > 1))
		return false;
	int64_t value = 0;
	for (size_t i = 0; i < digits; i++) {
		if (token[i] < '0' || token[i] > '9')
			return false;
		value = value * 10 + (token[i] - '0');
	}
	*out = value;
	*out_mac = dot + 1;
	return true;
}

cairn_manage_link_check cairn_manage_link_verify(const cairn_manage_key *key, const char *database,
	const char *id, const char *token, int64_t now)
{
	int64_t expires;
	const char *mac_text;
	uint8_t given[MAC_BYTES], expected[MAC_BYTES];
	if (!parse_expiry(&expires, token, &mac_text)
		|| cairn_base64url_decode_exact(given, sizeof(given), mac_text, strlen(mac_text)) != CAIRN_OK) {
		cairn_error_clear();
		return CAIRN_MANAGE_LINK_MALFORMED;
	}
	link_mac(expected, key, database, id, expires);
	if (CRYPTO_memcmp(given, expected, sizeof(given)) != 0)
		return CAIRN_MANAGE_LINK_FORGED;
	return now > expires ? CAIRN_MANAGE_LINK_EXPIRED : CAIRN_MANAGE_LINK_VALID;
}

void cairn_manage_agent_id(char out[37], const cairn_manage_key *key)
{
	static const char context[] = "cairn-agent-id-v1";
	uint8_t mac[MAC_BYTES];
	unsigned mac_len = MAC_BYTES;
	HMAC(EVP_sha256(), key->secret, sizeof(key->secret), (const unsigned char *)context, sizeof(context) - 1, mac,
		&mac_len);
	mac[6] = (uint8_t)((mac[6] & 0x0f) | 0x40); /* version 4 layout: the id carries no other meaning */
	mac[8] = (uint8_t)((mac[8] & 0x3f) | 0x80);
	char hex[33];
	cairn_hex_encode(hex, mac, 16);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}
