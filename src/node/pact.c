/*
 * pact.c: the synthetic Pact of pact.h.
 *
 * Producing: texts are formatted directly (every string in them is hex, a
 * base64url hash, a decimal or fixed text, so nothing needs escaping except
 * the command embedded as a JSON string in its transaction, which holds no
 * backslash and no control character: only its quotes are escaped).
 *
 * Translating: a plan holds the whole block for cairn_pactdb_apply_block
 * (transactions, writes, request keys) plus an overlay of the accounts the
 * block has read or written, so that a later transaction of the block sees
 * an earlier one's writes before anything reaches SQLite.  Every string the
 * plan points to is owned by it (`strings`).  JSON is parsed by json-c in
 * strict mode with one tokener per plan: a transfer costs two parses (the
 * transaction and its command), most of a plan's CPU time.
 *
 * The account cache is an open-addressing table (linear probing) of at most
 * CACHE_ENTRIES accounts, emptied when full; an entry records an account's
 * latest balance and guard, or that it does not exist (guard NULL).
 */
#include "node/pact.h"
#include "chain/json.h"
#include "util/base64url.h"
#include "util/error.h"
#include "util/hex.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRANSFERS 1000
#define MAX_TRANSFER_UNITS 2000000000ULL /* 0.002 coins: 1000 of them stay below the reward */
#define FRACTION_DIGITS 12
#define NO_MINER "NoMiner"
#define ACCOUNT_NAME_LEN 66 /* "k:" and 64 hex digits */
#define CMD_MAX 1536
#define TX_MAX 2048
#define OUT_MAX 1024
#define CACHE_SLOTS 4096 /* a power of two */
#define CACHE_ENTRIES (CACHE_SLOTS / 2)

/* ---- accounts and decimals ---- */

static char account_keys[CAIRN_PACT_ACCOUNT_COUNT][2 * CAIRN_HASH_LEN + 1];
static char account_names[CAIRN_PACT_ACCOUNT_COUNT][ACCOUNT_NAME_LEN + 1];
static pthread_once_t accounts_once = PTHREAD_ONCE_INIT;

/* Account i's public key is the SHA-512/256 of "cairn-account-<i>". */
static void init_accounts(void)
{
	for (unsigned i = 0; i < CAIRN_PACT_ACCOUNT_COUNT; i++) {
		char seed[32];
		uint8_t key[CAIRN_HASH_LEN];
		cairn_slice s = {(const uint8_t *)seed, (size_t)snprintf(seed, sizeof(seed), "cairn-account-%u", i)};
		cairn_sha512_256(key, &s, 1);
		cairn_hex_encode(account_keys[i], key, CAIRN_HASH_LEN);
		snprintf(account_names[i], sizeof(account_names[i]), "k:%s", account_keys[i]);
	}
}

const char *cairn_pact_account_name(unsigned i)
{
	pthread_once(&accounts_once, init_accounts);
	return account_names[i % CAIRN_PACT_ACCOUNT_COUNT];
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int cairn_pact_decimal_parse(uint64_t *units, const char *text, size_t len)
{
	size_t i = 0, digits = 0;
	uint64_t whole = 0, fraction = 0;
	for (; i < len && is_digit(text[i]); i++) {
		if (whole > (UINT64_MAX / CAIRN_PACT_UNITS_PER_COIN) / 10)
			return cairn_error_set(CAIRN_EINVALID, "decimal '%.*s' out of range", (int)len, text);
		whole = whole * 10 + (uint64_t)(text[i] - '0');
	}
	bool has_whole = i > 0;
	if (i < len && text[i] == '.')
		for (i++; i < len && is_digit(text[i]) && digits < FRACTION_DIGITS; i++, digits++)
			fraction = fraction * 10 + (uint64_t)(text[i] - '0');
	if (!has_whole || i != len || (text[len - 1] == '.'))
		return cairn_error_set(CAIRN_EINVALID, "'%.*s' is not a plain decimal with at most %d fractional digits",
			(int)len, text, FRACTION_DIGITS);
	for (; digits < FRACTION_DIGITS; digits++)
		fraction *= 10;
	if (whole > (UINT64_MAX - fraction) / CAIRN_PACT_UNITS_PER_COIN)
		return cairn_error_set(CAIRN_EINVALID, "decimal '%.*s' out of range", (int)len, text);
	*units = whole * CAIRN_PACT_UNITS_PER_COIN + fraction;
	return CAIRN_OK;
}

void cairn_pact_decimal_format(char out[CAIRN_PACT_DECIMAL_MAX], uint64_t units)
{
	int n = snprintf(out, CAIRN_PACT_DECIMAL_MAX, "%" PRIu64 ".%012" PRIu64, (uint64_t)(units / CAIRN_PACT_UNITS_PER_COIN),
		(uint64_t)(units % CAIRN_PACT_UNITS_PER_COIN));
	while (out[n - 1] == '0' && out[n - 2] != '.')
		out[--n] = '\0';
}

/* ---- producing ---- */

/* A 64-bit mix (splitmix64's finalizer): the workload's only randomness. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

typedef struct workload {
	const cairn_version *v;
	uint32_t chain;
	uint64_t height;
	uint64_t seed;
	unsigned miner;
	int64_t creation_time_s;
} workload;

/* Copies `in` into `out` (capacity cap) with '"' escaped; -1 when it does not fit. */
static int escape_quotes(char *out, size_t cap, const char *in)
{
	size_t n = 0;
	for (; *in; in++) {
		if (n + 3 > cap)
			return -1;
		if (*in == '"')
			out[n++] = '\\';
		out[n++] = *in;
	}
	out[n] = '\0';
	return (int)n;
}

/* Transaction i (a transfer from the miner) and its output, NUL-terminated. */
static int make_transfer(char *tx, char *out, const workload *w, size_t i)
{
	uint64_t r = mix(w->seed ^ mix(i + 1));
	unsigned receiver = (w->miner + 1 + (unsigned)(r % (CAIRN_PACT_ACCOUNT_COUNT - 1))) % CAIRN_PACT_ACCOUNT_COUNT;
	char amount[CAIRN_PACT_DECIMAL_MAX], cmd[CMD_MAX], escaped[TX_MAX], key[44];
	cairn_pact_decimal_format(amount, 1 + (r >> 16) % MAX_TRANSFER_UNITS);
	const char *from = account_names[w->miner], *to = account_names[receiver];
	int n = snprintf(cmd, sizeof(cmd),
		"{\"networkId\":\"%s\",\"payload\":{\"exec\":{\"data\":{\"sender\":\"%s\",\"receiver\":\"%s\","
		"\"receiver-guard\":{\"keys\":[\"%s\"],\"pred\":\"keys-all\"},\"amount\":%s},"
		"\"code\":\"(coin.transfer-create (read-msg 'sender) (read-msg 'receiver) "
		"(read-keyset 'receiver-guard) (read-decimal 'amount))\"}},"
		"\"signers\":[{\"pubKey\":\"%s\",\"clist\":[{\"name\":\"coin.TRANSFER\",\"args\":[\"%s\",\"%s\",%s]},"
		"{\"name\":\"coin.GAS\",\"args\":[]}]}],"
		"\"meta\":{\"creationTime\":%" PRId64 ",\"ttl\":28800,\"gasLimit\":2500,\"chainId\":\"%u\","
		"\"gasPrice\":1.0e-8,\"sender\":\"%s\"},\"nonce\":\"cairn:%u:%" PRIu64 ":%zu\"}",
		w->v->name, from, to, account_keys[receiver], amount, account_keys[w->miner], from, to, amount,
		w->creation_time_s, w->chain, from, w->chain, w->height, i);
	if (n < 0 || (size_t)n >= sizeof(cmd) || escape_quotes(escaped, sizeof(escaped), cmd) < 0)
		return cairn_error_set(CAIRN_EINVALID, "transfer command too long");
	uint8_t hash[CAIRN_HASH_LEN];
	cairn_blake2s_256(hash, cmd, (size_t)n);
	cairn_base64url_encode(key, hash, CAIRN_HASH_LEN);
	n = snprintf(tx, TX_MAX, "{\"hash\":\"%s\",\"sigs\":[],\"cmd\":\"%s\"}", key, escaped);
	if (n < 0 || n >= TX_MAX)
		return cairn_error_set(CAIRN_EINVALID, "transfer transaction too long");
	n = snprintf(out, OUT_MAX,
		"{\"gas\":736,\"result\":{\"status\":\"success\",\"data\":\"Write succeeded\"},\"reqKey\":\"%s\","
		"\"logs\":null,\"events\":[{\"params\":[\"%s\",\"%s\",%s],\"name\":\"TRANSFER\","
		"\"module\":{\"namespace\":null,\"name\":\"coin\"}}],\"metaData\":null,\"continuation\":null,"
		"\"txId\":null}", key, from, to, amount);
	return n < 0 || n >= OUT_MAX ? cairn_error_set(CAIRN_EINVALID, "transfer output too long") : CAIRN_OK;
}

static int make_transfers(cairn_payload *out, const workload *w, cairn_slice miner_data, cairn_slice coinbase,
	size_t tx_count)
{
	char *text = malloc(tx_count * (TX_MAX + OUT_MAX) + 1);
	cairn_slice *slices = calloc(2 * tx_count + 1, sizeof(*slices));
	int rc = text && slices ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "out of memory");
	for (size_t i = 0; rc == CAIRN_OK && i < tx_count; i++) {
		char *tx = text + i * (TX_MAX + OUT_MAX), *output = tx + TX_MAX;
		rc = make_transfer(tx, output, w, i);
		slices[i] = (cairn_slice){(const uint8_t *)tx, strlen(tx)};
		slices[tx_count + i] = (cairn_slice){(const uint8_t *)output, strlen(output)};
	}
	if (rc == CAIRN_OK)
		rc = cairn_payload_create(out, miner_data, coinbase, tx_count, slices, slices + tx_count);
	free(slices);
	free(text);
	return rc;
}

int cairn_pact_make_payload(cairn_payload *out, const cairn_version *v, uint32_t chain, uint64_t height,
	const uint8_t parent_hash[CAIRN_HASH_LEN], int64_t creation_time_us, size_t tx_count)
{
	if (tx_count > MAX_TRANSFERS)
		return cairn_error_set(CAIRN_EINVALID, "at most %d transfers per block", MAX_TRANSFERS);
	pthread_once(&accounts_once, init_accounts);
	workload w = {v, chain, height, mix(mix((uint64_t)chain << 48 ^ v->code) ^ height), 0,
		creation_time_us / 1000000};
	w.miner = (unsigned)(w.seed % CAIRN_PACT_ACCOUNT_COUNT);
	char miner[256], coinbase[512], parent[44];
	int miner_len = snprintf(miner, sizeof(miner),
		"{\"account\":\"%s\",\"predicate\":\"keys-all\",\"public-keys\":[\"%s\"]}",
		account_names[w.miner], account_keys[w.miner]);
	cairn_base64url_encode(parent, parent_hash, CAIRN_HASH_LEN);
	int coinbase_len = snprintf(coinbase, sizeof(coinbase),
		"{\"gas\":0,\"result\":{\"status\":\"success\",\"data\":\"Write succeeded\"},\"reqKey\":\"%s\","
		"\"logs\":null,\"metaData\":null,\"continuation\":null,\"txId\":null}", parent);
	return make_transfers(out, &w, (cairn_slice){(const uint8_t *)miner, (size_t)miner_len},
		(cairn_slice){(const uint8_t *)coinbase, (size_t)coinbase_len}, tx_count);
}

/* ---- the account cache ---- */

typedef struct account {
	char *name;
	uint64_t balance;
	char *guard; /* JSON text; NULL while the account does not exist */
} account;

struct cairn_pact_cache {
	bool has_block; /* the database's last block when the cache was last in step */
	uint64_t height;
	uint8_t hash[CAIRN_HASH_LEN];
	size_t count;
	account slots[CACHE_SLOTS]; /* name NULL: free */
};

int cairn_pact_cache_create(cairn_pact_cache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "out of memory");
}

static void cache_clear(cairn_pact_cache *cache)
{
	for (size_t i = 0; i < CACHE_SLOTS && cache->count > 0; i++)
		if (cache->slots[i].name != NULL) {
			free(cache->slots[i].name);
			free(cache->slots[i].guard);
			cache->slots[i] = (account){0};
			cache->count--;
		}
}

void cairn_pact_cache_free(cairn_pact_cache *cache)
{
	if (cache != NULL)
		cache_clear(cache);
	free(cache);
}

/* The slot of `name`: its entry, or the free slot where it belongs. */
static account *cache_slot(cairn_pact_cache *cache, const char *name)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	for (size_t i = h % CACHE_SLOTS;; i = (i + 1) % CACHE_SLOTS)
		if (cache->slots[i].name == NULL || strcmp(cache->slots[i].name, name) == 0)
			return &cache->slots[i];
}

/* Records an account's state; false when out of memory (then the entry is absent). */
static bool cache_put(cairn_pact_cache *cache, const account *a)
{
	account *slot = cache_slot(cache, a->name);
	if (slot->name == NULL && cache->count >= CACHE_ENTRIES) {
		cache_clear(cache);
		slot = cache_slot(cache, a->name);
	}
	char *guard = a->guard ? strdup(a->guard) : NULL;
	char *name = slot->name ? slot->name : strdup(a->name);
	if (name == NULL || (a->guard && guard == NULL)) {
		if (name != slot->name)
			free(name);
		free(guard);
		return false;
	}
	if (slot->name == NULL)
		cache->count++;
	free(slot->guard);
	*slot = (account){name, a->balance, guard};
	return true;
}

/* Empties the cache unless it is in step with the database's last block. */
static int cache_sync(cairn_pact_cache *cache, cairn_pactdb *db)
{
	uint64_t height = 0;
	uint8_t hash[CAIRN_HASH_LEN] = {0};
	int rc = cairn_pactdb_last_block(&height, hash, NULL, db);
	if (rc != CAIRN_OK && rc != CAIRN_ENOTFOUND)
		return rc;
	bool has_block = rc == CAIRN_OK;
	if (has_block != cache->has_block || height != cache->height || memcmp(hash, cache->hash, CAIRN_HASH_LEN) != 0) {
		cache_clear(cache);
		cache->has_block = has_block;
		cache->height = height;
		memcpy(cache->hash, hash, CAIRN_HASH_LEN);
	}
	return CAIRN_OK;
}

/* ---- translating ---- */

struct cairn_pact_block {
	cairn_pactdb_block block;
	cairn_pactdb *db;
	cairn_pact_cache *cache;    /* may be NULL */
	json_tokener *tok;
	cairn_pactdb_tx *txs;
	cairn_pactdb_write *writes; /* capacity 1 + 2 * transactions */
	size_t nwrites;
	uint8_t (*keys)[CAIRN_HASH_LEN];
	account *accounts;          /* the overlay; capacity 1 + 2 * transactions */
	size_t naccounts;
	char **strings;             /* everything above points into these */
	size_t nstrings, strings_cap;
};

/* Parses one JSON document of exactly `len` bytes; NULL when it is not one. */
static json_object *parse(cairn_pact_block *p, const char *text, size_t len)
{
	if (len > INT_MAX)
		return NULL;
	json_tokener_reset(p->tok);
	json_object *obj = json_tokener_parse_ex(p->tok, text, (int)len);
	if (obj != NULL && json_tokener_get_parse_end(p->tok) != len) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Takes ownership of `s` (NULL: out of memory) for the plan's lifetime. */
static int keep(cairn_pact_block *p, char *s)
{
	if (s != NULL && p->nstrings == p->strings_cap) {
		size_t cap = p->strings_cap ? 2 * p->strings_cap : 16;
		char **grown = realloc(p->strings, cap * sizeof(*grown));
		if (grown == NULL) {
			free(s);
			s = NULL;
		} else {
			p->strings = grown;
			p->strings_cap = cap;
		}
	}
	if (s == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	p->strings[p->nstrings++] = s;
	return CAIRN_OK;
}

static int keep_copy(char **out, cairn_pact_block *p, const char *s)
{
	char *copy = strdup(s);
	int rc = keep(p, copy);
	*out = rc == CAIRN_OK ? copy : NULL;
	return rc;
}

/* The balance and guard of a stored coin-table row. */
static int parse_row(account *a, cairn_pact_block *p, const char *rowdata, size_t len)
{
	json_object *row = parse(p, rowdata, len), *balance, *guard;
	if (row == NULL)
		return cairn_error_set(CAIRN_EIO, "coin row of '%s' is not JSON", a->name);
	int rc = CAIRN_OK;
	if (!json_object_object_get_ex(row, "balance", &balance) || !json_object_object_get_ex(row, "guard", &guard))
		rc = cairn_error_set(CAIRN_EIO, "coin row of '%s' lacks balance or guard", a->name);
	if (rc == CAIRN_OK) {
		const char *text = json_object_get_string(balance);
		rc = cairn_pact_decimal_parse(&a->balance, text, strlen(text));
	}
	if (rc == CAIRN_OK)
		rc = keep_copy(&a->guard, p, cairn_json_text(guard));
	json_object_put(row);
	return rc;
}

static int read_account(account *a, cairn_pact_block *p)
{
	char *rowdata = NULL;
	size_t len = 0;
	int rc = cairn_pactdb_read_row(&rowdata, &len, p->db, CAIRN_PACTDB_COIN_TABLE, a->name);
	if (rc == CAIRN_OK)
		rc = parse_row(a, p, rowdata, len);
	free(rowdata);
	return rc == CAIRN_ENOTFOUND ? CAIRN_OK : rc;
}

/* The overlay entry of `name`, loaded from the cache or PactDB on first use. */
static int load_account(account **out, cairn_pact_block *p, const char *name)
{
	for (size_t i = 0; i < p->naccounts; i++)
		if (strcmp(p->accounts[i].name, name) == 0) {
			*out = &p->accounts[i];
			return CAIRN_OK;
		}
	account *a = &p->accounts[p->naccounts];
	*a = (account){0};
	int rc = keep_copy(&a->name, p, name);
	account *cached = p->cache && rc == CAIRN_OK ? cache_slot(p->cache, name) : NULL;
	if (cached && cached->name) {
		a->balance = cached->balance;
		if (cached->guard)
			rc = keep_copy(&a->guard, p, cached->guard);
	} else if (rc == CAIRN_OK) {
		rc = read_account(a, p);
		if (rc == CAIRN_OK && p->cache)
			cache_put(p->cache, a);
	}
	if (rc == CAIRN_OK) {
		p->naccounts++;
		*out = a;
	}
	return rc;
}

/* Appends the new version of an account's row to transaction `tx`. */
static int write_account(cairn_pact_block *p, cairn_pactdb_tx *tx, const account *a)
{
	char balance[CAIRN_PACT_DECIMAL_MAX];
	cairn_pact_decimal_format(balance, a->balance);
	size_t size = strlen(balance) + strlen(a->guard) + 32;
	char *rowdata = malloc(size);
	int len = rowdata ? snprintf(rowdata, size, "{\"balance\":%s,\"guard\":%s}", balance, a->guard) : 0;
	int rc = keep(p, rowdata);
	if (rc != CAIRN_OK)
		return rc;
	p->writes[p->nwrites++] = (cairn_pactdb_write){CAIRN_PACTDB_COIN_TABLE, a->name, rowdata, (size_t)len};
	tx->nwrites++;
	return CAIRN_OK;
}

static const char *string_member(json_object *obj, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

/* The new account's guard {"keys":[...],"pred":"..."} from miner data. */
static int miner_guard(char **out, cairn_pact_block *p, json_object *miner)
{
	json_object *keys, *pred;
	*out = NULL;
	if (!json_object_object_get_ex(miner, "public-keys", &keys) || !json_object_is_type(keys, json_type_array) ||
	    !json_object_object_get_ex(miner, "predicate", &pred) || !json_object_is_type(pred, json_type_string))
		return CAIRN_OK;
	json_object *guard = json_object_new_object();
	int rc = guard ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc == CAIRN_OK)
		rc = cairn_json_add(guard, "keys", json_object_get(keys));
	if (rc == CAIRN_OK)
		rc = cairn_json_add(guard, "pred", json_object_get(pred));
	if (rc == CAIRN_OK)
		rc = keep_copy(out, p, cairn_json_text(guard));
	json_object_put(guard);
	return rc;
}

static int credit_miner(cairn_pact_block *p, cairn_pactdb_tx *coinbase, json_object *miner)
{
	const char *name = string_member(miner, "account");
	if (name == NULL || strcmp(name, NO_MINER) == 0)
		return CAIRN_OK;
	account *a;
	int rc = load_account(&a, p, name);
	if (rc == CAIRN_OK && a->guard == NULL)
		rc = miner_guard(&a->guard, p, miner);
	if (rc != CAIRN_OK || a->guard == NULL || a->balance > UINT64_MAX - CAIRN_PACT_BLOCK_REWARD)
		return rc;
	a->balance += CAIRN_PACT_BLOCK_REWARD;
	return write_account(p, coinbase, a);
}

static int apply_coinbase(cairn_pact_block *p, const cairn_payload *payload)
{
	cairn_pactdb_tx *coinbase = &p->txs[0];
	*coinbase = (cairn_pactdb_tx){NULL, &p->writes[p->nwrites], 0};
	json_object *miner = parse(p, (const char *)payload->miner_data.data, payload->miner_data.len);
	if (miner == NULL)
		return CAIRN_OK;
	int rc = credit_miner(p, coinbase, miner);
	json_object_put(miner);
	return rc;
}

typedef struct transfer {
	const char *sender, *receiver, *receiver_guard; /* receiver_guard may be NULL */
	uint64_t amount;
} transfer;

/* json-c keeps the literal text of numbers it parses, so amounts stay exact. */
static bool read_transfer(transfer *t, json_object *cmd)
{
	json_object *payload, *exec, *data, *amount, *guard;
	if (!json_object_object_get_ex(cmd, "payload", &payload) || !json_object_object_get_ex(payload, "exec", &exec) ||
	    !json_object_object_get_ex(exec, "data", &data) || !json_object_object_get_ex(data, "amount", &amount) ||
	    !(json_object_is_type(amount, json_type_double) || json_object_is_type(amount, json_type_int)))
		return false;
	t->sender = string_member(data, "sender");
	t->receiver = string_member(data, "receiver");
	t->receiver_guard = json_object_object_get_ex(data, "receiver-guard", &guard) &&
		json_object_is_type(guard, json_type_object) ? cairn_json_text(guard) : NULL;
	const char *text = json_object_get_string(amount);
	return t->sender && t->receiver && strcmp(t->sender, t->receiver) != 0 &&
		cairn_pact_decimal_parse(&t->amount, text, strlen(text)) == CAIRN_OK && t->amount > 0;
}

static int apply_transfer(cairn_pact_block *p, cairn_pactdb_tx *tx, const transfer *t)
{
	account *from, *to;
	int rc = load_account(&from, p, t->sender);
	if (rc == CAIRN_OK)
		rc = load_account(&to, p, t->receiver);
	if (rc != CAIRN_OK || from->guard == NULL || from->balance < t->amount ||
	    (to->guard == NULL && t->receiver_guard == NULL) || to->balance > UINT64_MAX - t->amount)
		return rc;
	if (to->guard == NULL && (rc = keep_copy(&to->guard, p, t->receiver_guard)) != CAIRN_OK)
		return rc;
	from->balance -= t->amount;
	to->balance += t->amount;
	rc = write_account(p, tx, from);
	return rc == CAIRN_OK ? write_account(p, tx, to) : rc;
}

/* Interprets the transaction's command, if it is a transfer. */
static int apply_command(cairn_pact_block *p, cairn_pactdb_tx *tx, json_object *obj)
{
	json_object *cmd_text, *cmd;
	if (!json_object_object_get_ex(obj, "cmd", &cmd_text) || !json_object_is_type(cmd_text, json_type_string) ||
	    (cmd = parse(p, json_object_get_string(cmd_text), (size_t)json_object_get_string_len(cmd_text))) == NULL)
		return CAIRN_OK;
	transfer t;
	int rc = read_transfer(&t, cmd) ? apply_transfer(p, tx, &t) : CAIRN_OK;
	json_object_put(cmd);
	return rc;
}

/* Whether the chain has seen request key i before (in this block or an earlier one). */
static int is_replay(bool *replay, cairn_pact_block *p, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (p->txs[k + 1].hash != NULL && memcmp(p->keys[k], p->keys[i], CAIRN_HASH_LEN) == 0) {
			*replay = true;
			return CAIRN_OK;
		}
	uint64_t height;
	int rc = cairn_pactdb_tx_height(&height, p->db, p->keys[i]);
	*replay = rc == CAIRN_OK;
	return rc == CAIRN_ENOTFOUND ? CAIRN_OK : rc;
}

static int apply_transaction(cairn_pact_block *p, cairn_slice text, size_t i)
{
	cairn_pactdb_tx *tx = &p->txs[i + 1];
	*tx = (cairn_pactdb_tx){NULL, &p->writes[p->nwrites], 0};
	json_object *obj = parse(p, (const char *)text.data, text.len);
	const char *hash = obj ? string_member(obj, "hash") : NULL;
	if (hash == NULL || cairn_base64url_decode_exact(p->keys[i], CAIRN_HASH_LEN, hash, strlen(hash)) != CAIRN_OK)
		cairn_blake2s_256(p->keys[i], text.data, text.len);
	bool replay;
	int rc = is_replay(&replay, p, i);
	if (rc == CAIRN_OK && !replay) {
		tx->hash = p->keys[i];
		if (obj != NULL)
			rc = apply_command(p, tx, obj);
	}
	json_object_put(obj);
	return rc;
}

static int plan_payload(cairn_pact_block *p, const cairn_payload *payload)
{
	size_t n = payload->tx_count;
	p->txs = calloc(n + 1, sizeof(*p->txs));
	p->writes = calloc(2 * n + 1, sizeof(*p->writes));
	p->accounts = calloc(2 * n + 1, sizeof(*p->accounts));
	p->keys = calloc(n + 1, sizeof(*p->keys));
	if (!p->txs || !p->writes || !p->accounts || !p->keys)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	p->block.txs = p->txs;
	p->block.ntxs = n + 1;
	int rc = apply_coinbase(p, payload);
	for (size_t i = 0; rc == CAIRN_OK && i < n; i++)
		rc = apply_transaction(p, payload->transactions[i], i);
	return rc;
}

int cairn_pact_plan(cairn_pact_block **out, cairn_pactdb *db, cairn_pact_cache *cache, uint64_t height,
	const uint8_t block_hash[CAIRN_HASH_LEN], const cairn_payload *payload)
{
	cairn_pact_block *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->tok = json_tokener_new()) == NULL) {
		free(p);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT);
	p->db = db;
	p->cache = cache;
	p->block.height = height;
	p->block.hash = block_hash;
	int rc = cache ? cache_sync(cache, db) : CAIRN_OK;
	if (rc == CAIRN_OK && payload != NULL)
		rc = plan_payload(p, payload);
	if (rc != CAIRN_OK) {
		cairn_pact_block_free(p);
		return cairn_error_prefix(rc, "Pact state of block %" PRIu64, height);
	}
	*out = p;
	return CAIRN_OK;
}

/* After the block is applied, the cache holds the overlay's accounts and
 * is in step with the block; any failure empties it. */
static void cache_applied(cairn_pact_cache *cache, const cairn_pact_block *plan)
{
	bool complete = true;
	for (size_t i = 0; complete && i < plan->naccounts; i++)
		complete = cache_put(cache, &plan->accounts[i]);
	if (!complete)
		cache_clear(cache);
	cache->has_block = complete;
	cache->height = plan->block.height;
	memcpy(cache->hash, plan->block.hash, CAIRN_HASH_LEN);
}

int cairn_pact_apply(cairn_pactdb *db, cairn_pact_cache *cache, const cairn_pact_block *plan)
{
	int rc = cairn_pactdb_apply_block(db, &plan->block);
	if (cache != NULL && rc == CAIRN_OK)
		cache_applied(cache, plan);
	else if (cache != NULL)
		cache_clear(cache);
	return rc;
}

void cairn_pact_block_free(cairn_pact_block *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->nstrings; i++)
		free(plan->strings[i]);
	free(plan->strings);
	free(plan->txs);
	free(plan->writes);
	free(plan->accounts);
	free(plan->keys);
	if (plan->tok)
		json_tokener_free(plan->tok);
	free(plan);
}

int cairn_pact_apply_payload(cairn_pactdb *db, uint64_t height, const uint8_t block_hash[CAIRN_HASH_LEN],
	const cairn_payload *payload)
{
	cairn_pact_block *plan;
	int rc = cairn_pact_plan(&plan, db, NULL, height, block_hash, payload);
	if (rc != CAIRN_OK)
		return rc;
	rc = cairn_pact_apply(db, NULL, plan);
	cairn_pact_block_free(plan);
	return rc;
}
