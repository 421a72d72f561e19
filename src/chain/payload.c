/*
 * payload.c: implementation of payload.h.
 *
 * Storage layout of one payload allocation: the transaction slices, the
 * output slices, then every byte string back to back.  Each constructor
 * (create, decode, from_json) first checks its input and sizes the storage,
 * then fills it through the same small arena, so a payload is always either
 * complete or not built at all.
 */
#include "chain/payload.h"
#include "chain/json.h"
#include "chain/merkle.h"
#include "util/base64url.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct arena {
	cairn_slice *txs, *outs;
	uint8_t *next;
} arena;

static int arena_open(arena *a, cairn_payload *p, size_t tx_count, size_t bytes)
{
	cairn_payload_init(p);
	if (tx_count > (SIZE_MAX - bytes) / (2 * sizeof(cairn_slice)))
		return cairn_error_set(CAIRN_EINVALID, "payload too large (%zu transactions)", tx_count);
	size_t size = 2 * tx_count * sizeof(cairn_slice) + bytes;
	void *storage = malloc(size > 0 ? size : 1);
	if (!storage)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory for a %zu-byte payload", size);
	a->txs = storage;
	a->outs = a->txs + tx_count;
	a->next = (uint8_t *)(a->outs + tx_count);
	p->storage = storage;
	p->tx_count = tx_count;
	p->transactions = a->txs;
	p->outputs = a->outs;
	return CAIRN_OK;
}

static cairn_slice arena_copy(arena *a, const uint8_t *data, size_t len)
{
	cairn_slice s = {a->next, len};
	if (len > 0)
		memcpy(a->next, data, len);
	a->next += len;
	return s;
}

static int arena_base64(cairn_slice *out, arena *a, const char *text, size_t len)
{
	size_t n;
	int rc = cairn_base64url_decode(a->next, len, &n, text, len);
	if (rc != CAIRN_OK)
		return rc;
	*out = (cairn_slice){a->next, n};
	a->next += n;
	return CAIRN_OK;
}

void cairn_payload_init(cairn_payload *p)
{
	memset(p, 0, sizeof(*p));
}

void cairn_payload_free(cairn_payload *p)
{
	free(p->storage);
	cairn_payload_init(p);
}

int cairn_payload_create(cairn_payload *out, cairn_slice miner_data, cairn_slice coinbase,
	size_t tx_count, const cairn_slice *transactions, const cairn_slice *outputs)
{
	size_t bytes = miner_data.len + coinbase.len;
	for (size_t i = 0; i < tx_count; i++)
		bytes += transactions[i].len + outputs[i].len;
	arena a;
	int rc = arena_open(&a, out, tx_count, bytes);
	if (rc != CAIRN_OK)
		return rc;
	out->miner_data = arena_copy(&a, miner_data.data, miner_data.len);
	out->coinbase = arena_copy(&a, coinbase.data, coinbase.len);
	for (size_t i = 0; i < tx_count; i++) {
		a.txs[i] = arena_copy(&a, transactions[i].data, transactions[i].len);
		a.outs[i] = arena_copy(&a, outputs[i].data, outputs[i].len);
	}
	cairn_payload_compute_hashes(&out->hashes, out);
	return CAIRN_OK;
}

/* Root of [in(first_tag, first), in(tag, items[0]), ...]. */
static void item_root(uint8_t out[CAIRN_HASH_LEN], uint16_t first_tag, cairn_slice first,
	uint16_t tag, const cairn_slice *items, size_t n)
{
	cairn_merkle m;
	cairn_merkle_init(&m);
	cairn_merkle_add_input(&m, first_tag, first.data, first.len);
	for (size_t i = 0; i < n; i++)
		cairn_merkle_add_input(&m, tag, items[i].data, items[i].len);
	cairn_merkle_root(out, &m);
}

void cairn_payload_compute_hashes(cairn_payload_hashes *out, const cairn_payload *p)
{
	item_root(out->transactions, CAIRN_TAG_MINER_DATA, p->miner_data, CAIRN_TAG_TRANSACTION,
		p->transactions, p->tx_count);
	item_root(out->outputs, CAIRN_TAG_COINBASE_OUTPUT, p->coinbase, CAIRN_TAG_TRANSACTION_OUTPUT,
		p->outputs, p->tx_count);
	cairn_merkle_inner_hash(out->payload, out->transactions, out->outputs);
}

int cairn_payload_verify(const cairn_payload *p, const uint8_t *header_payload_hash)
{
	cairn_payload_hashes h;
	cairn_payload_compute_hashes(&h, p);
	int rc;
	if ((rc = cairn_hash_expect("transactionsHash", h.transactions, p->hashes.transactions)) != CAIRN_OK ||
	    (rc = cairn_hash_expect("outputsHash", h.outputs, p->hashes.outputs)) != CAIRN_OK ||
	    (rc = cairn_hash_expect("payloadHash", h.payload, p->hashes.payload)) != CAIRN_OK)
		return rc;
	if (header_payload_hash)
		return cairn_hash_expect("header payloadHash", h.payload, header_payload_hash);
	return CAIRN_OK;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint8_t *put_bytes(uint8_t *p, cairn_slice s)
{
	put_be64(p, s.len);
	if (s.len > 0)
		memcpy(p + 8, s.data, s.len);
	return p + 8 + s.len;
}

int cairn_payload_encode(uint8_t **out, size_t *out_len, const cairn_payload *p)
{
	size_t size = 8 + 16 + p->miner_data.len + p->coinbase.len + 3 * CAIRN_HASH_LEN;
	for (size_t i = 0; i < p->tx_count; i++)
		size += 16 + p->transactions[i].len + p->outputs[i].len;
	uint8_t *buf = malloc(size);
	if (!buf)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory encoding a %zu-byte payload", size);
	uint8_t *w = buf;
	put_be64(w, p->tx_count);
	w += 8;
	for (size_t i = 0; i < p->tx_count; i++) {
		w = put_bytes(w, p->transactions[i]);
		w = put_bytes(w, p->outputs[i]);
	}
	w = put_bytes(w, p->miner_data);
	w = put_bytes(w, p->coinbase);
	memcpy(w, p->hashes.payload, CAIRN_HASH_LEN);
	memcpy(w + CAIRN_HASH_LEN, p->hashes.transactions, CAIRN_HASH_LEN);
	memcpy(w + 2 * CAIRN_HASH_LEN, p->hashes.outputs, CAIRN_HASH_LEN);
	*out = buf;
	*out_len = size;
	return CAIRN_OK;
}

/* A cursor over binary payload input that never reads past its end. */
typedef struct reader {
	const uint8_t *data;
	size_t len, pos;
} reader;

static int read_bytes(cairn_slice *out, reader *r, const char *what)
{
	if (r->len - r->pos < 8)
		return cairn_error_set(CAIRN_EINVALID, "binary payload truncated in the length of %s", what);
	uint64_t n = get_be64(r->data + r->pos);
	r->pos += 8;
	if (n > r->len - r->pos)
		return cairn_error_set(CAIRN_EINVALID, "binary payload: %s of %llu bytes exceeds the input",
			what, (unsigned long long)n);
	*out = (cairn_slice){r->data + r->pos, (size_t)n};
	r->pos += (size_t)n;
	return CAIRN_OK;
}

/* Walks the binary form once; with `a` NULL it only checks it and returns
 * the transaction count and byte total, with `a` it copies into the arena. */
static int scan_binary(size_t *tx_count, size_t *bytes, arena *a, cairn_payload *p, const uint8_t *data,
	size_t len)
{
	reader r = {data, len, 0};
	if (len < 8)
		return cairn_error_set(CAIRN_EINVALID, "binary payload truncated: %zu bytes", len);
	uint64_t count = get_be64(data);
	r.pos = 8;
	if (count > (len - 8) / 16)
		return cairn_error_set(CAIRN_EINVALID, "binary payload: %llu transactions cannot fit in %zu bytes",
			(unsigned long long)count, len);
	*tx_count = (size_t)count;
	*bytes = 0;
	cairn_slice tx, out, miner, coinbase;
	int rc;
	for (size_t i = 0; i < count; i++) {
		if ((rc = read_bytes(&tx, &r, "a transaction")) != CAIRN_OK ||
		    (rc = read_bytes(&out, &r, "a transaction output")) != CAIRN_OK)
			return rc;
		*bytes += tx.len + out.len;
		if (a) {
			a->txs[i] = arena_copy(a, tx.data, tx.len);
			a->outs[i] = arena_copy(a, out.data, out.len);
		}
	}
	if ((rc = read_bytes(&miner, &r, "the miner data")) != CAIRN_OK ||
	    (rc = read_bytes(&coinbase, &r, "the coinbase")) != CAIRN_OK)
		return rc;
	*bytes += miner.len + coinbase.len;
	if (len - r.pos != 3 * CAIRN_HASH_LEN)
		return cairn_error_set(CAIRN_EINVALID, "binary payload: %zu bytes after the coinbase, %d expected",
			len - r.pos, 3 * CAIRN_HASH_LEN);
	if (a) {
		p->miner_data = arena_copy(a, miner.data, miner.len);
		p->coinbase = arena_copy(a, coinbase.data, coinbase.len);
		memcpy(p->hashes.payload, data + r.pos, CAIRN_HASH_LEN);
		memcpy(p->hashes.transactions, data + r.pos + CAIRN_HASH_LEN, CAIRN_HASH_LEN);
		memcpy(p->hashes.outputs, data + r.pos + 2 * CAIRN_HASH_LEN, CAIRN_HASH_LEN);
	}
	return CAIRN_OK;
}

int cairn_payload_decode(cairn_payload *out, const uint8_t *data, size_t len)
{
	size_t tx_count, bytes;
	int rc = scan_binary(&tx_count, &bytes, NULL, NULL, data, len);
	if (rc != CAIRN_OK)
		return rc;
	arena a;
	cairn_payload p;
	if ((rc = arena_open(&a, &p, tx_count, bytes)) != CAIRN_OK)
		return rc;
	(void)scan_binary(&tx_count, &bytes, &a, &p, data, len); /* checked above */
	*out = p;
	return CAIRN_OK;
}

static int add_pair(json_object *array, cairn_slice tx, cairn_slice out)
{
	json_object *pair = json_object_new_array_ext(2);
	json_object *t = cairn_json_new_b64(tx.data, tx.len), *o = cairn_json_new_b64(out.data, out.len);
	if (pair && t && o && json_object_array_add(pair, t) == 0) {
		t = NULL;
		if (json_object_array_add(pair, o) == 0) {
			o = NULL;
			if (json_object_array_add(array, pair) == 0)
				return CAIRN_OK;
		}
	}
	json_object_put(t);
	json_object_put(o);
	json_object_put(pair);
	return cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
}

int cairn_payload_to_json(json_object **out, const cairn_payload *p)
{
	json_object *o = json_object_new_object();
	json_object *txs = json_object_new_array();
	int rc = o && txs ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
	for (size_t i = 0; rc == CAIRN_OK && i < p->tx_count; i++)
		rc = add_pair(txs, p->transactions[i], p->outputs[i]);
	if (rc == CAIRN_OK) {
		rc = cairn_json_add(o, "transactions", txs);
		txs = NULL;
	}
	if (rc != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "minerData", p->miner_data.data, p->miner_data.len)) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "transactionsHash", p->hashes.transactions, CAIRN_HASH_LEN)) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "outputsHash", p->hashes.outputs, CAIRN_HASH_LEN)) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "payloadHash", p->hashes.payload, CAIRN_HASH_LEN)) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "coinbase", p->coinbase.data, p->coinbase.len)) != CAIRN_OK) {
		json_object_put(txs);
		json_object_put(o);
		return rc;
	}
	*out = o;
	return CAIRN_OK;
}

/* The string at index i of a JSON array, or CAIRN_EINVALID. */
static int array_string(const char **text, size_t *len, json_object *array, size_t i)
{
	json_object *v = json_object_array_get_idx(array, i);
	if (!json_object_is_type(v, json_type_string))
		return cairn_error_set(CAIRN_EINVALID, "expected a base64url string");
	*text = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return CAIRN_OK;
}

/* Checks the shape of "transactions" and sums the lengths of its strings
 * (an upper bound of the decoded bytes). */
static int scan_transactions(size_t *count, size_t *text_bytes, json_object *txs)
{
	if (!json_object_is_type(txs, json_type_array))
		return cairn_error_set(CAIRN_EINVALID, "transactions: expected an array");
	*count = json_object_array_length(txs);
	*text_bytes = 0;
	for (size_t i = 0; i < *count; i++) {
		json_object *pair = json_object_array_get_idx(txs, i);
		if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
			return cairn_error_set(CAIRN_EINVALID,
				"transactions[%zu]: expected [transaction, output]", i);
		for (size_t k = 0; k < 2; k++) {
			const char *text;
			size_t len;
			if (array_string(&text, &len, pair, k) != CAIRN_OK)
				return cairn_error_prefix(CAIRN_EINVALID, "transactions[%zu][%zu]", i, k);
			*text_bytes += len;
		}
	}
	return CAIRN_OK;
}

static int decode_transactions(arena *a, json_object *txs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		json_object *pair = json_object_array_get_idx(txs, i);
		cairn_slice *dest[2] = {&a->txs[i], &a->outs[i]};
		for (size_t k = 0; k < 2; k++) {
			const char *text;
			size_t len;
			int rc = array_string(&text, &len, pair, k);
			if (rc != CAIRN_OK || (rc = arena_base64(dest[k], a, text, len)) != CAIRN_OK)
				return cairn_error_prefix(rc, "transactions[%zu][%zu]", i, k);
		}
	}
	return CAIRN_OK;
}

static int decode_member(cairn_slice *out, arena *a, json_object *obj, const char *key)
{
	const char *text;
	size_t len;
	int rc = cairn_json_get_string(&text, &len, obj, key);
	if (rc == CAIRN_OK && (rc = arena_base64(out, a, text, len)) != CAIRN_OK)
		return cairn_error_prefix(rc, "%s", key);
	return rc;
}

int cairn_payload_from_json(cairn_payload *out, json_object *obj)
{
	json_object *txs = NULL;
	const char *miner, *coinbase;
	size_t miner_len = 0, coinbase_len = 0, count = 0, text_bytes = 0;
	int rc;
	if ((rc = cairn_json_member(&txs, obj, "transactions")) != CAIRN_OK ||
	    (rc = scan_transactions(&count, &text_bytes, txs)) != CAIRN_OK ||
	    (rc = cairn_json_get_string(&miner, &miner_len, obj, "minerData")) != CAIRN_OK ||
	    (rc = cairn_json_get_string(&coinbase, &coinbase_len, obj, "coinbase")) != CAIRN_OK)
		return rc;
	cairn_payload p;
	arena a;
	if ((rc = arena_open(&a, &p, count, text_bytes + miner_len + coinbase_len)) != CAIRN_OK)
		return rc;
	if ((rc = decode_transactions(&a, txs, count)) != CAIRN_OK ||
	    (rc = decode_member(&p.miner_data, &a, obj, "minerData")) != CAIRN_OK ||
	    (rc = decode_member(&p.coinbase, &a, obj, "coinbase")) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(p.hashes.transactions, CAIRN_HASH_LEN, obj, "transactionsHash")) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(p.hashes.outputs, CAIRN_HASH_LEN, obj, "outputsHash")) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(p.hashes.payload, CAIRN_HASH_LEN, obj, "payloadHash")) != CAIRN_OK) {
		cairn_payload_free(&p);
		return rc;
	}
	*out = p;
	return CAIRN_OK;
}
