/*
 * commit.c: the commit path of commit.h.
 *
 * State and its locks:
 *   - the commit lock guards the committed tips and the table of recent
 *     headers: recent[chain][height % RECENT_HEIGHTS] holds the header at
 *     that height once it has been committed or read, and only a newer
 *     height replaces it.  The producer braids chains level by level and
 *     adjacent tips differ by at most the graph's diameter, so parents and
 *     adjacent parents come from the table; older ones (imports, checks of
 *     stored blocks) are read from the chain database.
 *   - queue_lock guards the queue of committed blocks awaiting publication
 *     and the committed/published counters.  A queue entry is allocated
 *     before anything is written, so a committed block always gets one.
 *   - cut_lock guards the published cut; listeners_lock the listeners,
 *     and is held while they run, so removing one waits for its last call.
 * Lock order: commit lock, then queue_lock; the publishing thread takes
 * cut_lock and listeners_lock without holding another.
 *
 * `failed` (atomic, read without the commit lock by the publishing thread)
 * stops all further commits once the stores may disagree, a group could
 * not be made durable or the chain database failed a write (its handle is
 * then unusable, chaindb.h); only a restart, with its recovery, clears it.
 * `failure` keeps the first reason, under state_lock, for health checks.
 * `paused` (with `pause_reason`, under state_lock) refuses commits while
 * the node waits for something outside, such as free space; unlike a
 * failure it is lifted without a restart, since nothing was lost.
 */
#include "node/commit.h"
#include "chain/genesis.h"
#include "chain/validate.h"
#include "metrics/metrics.h"
#include "node/pact.h"
#include "util/base64url.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECENT_HEIGHTS 16

typedef struct pending {
	struct pending *next;
	cairn_header header;
	cairn_payload payload;
	bool has_payload;
} pending;

typedef struct listener {
	cairn_node_block_listener fn;
	void *ctx;
} listener;

struct cairn_commit {
	const cairn_version *version;
	cairn_chaindb *chaindb;
	cairn_pactdb *pactdbs[CAIRN_GRAPH_MAX_ORDER];
	cairn_pact_cache *pact_caches[CAIRN_GRAPH_MAX_ORDER]; /* under the commit lock */
	uint32_t chains;
	atomic_bool failed;
	atomic_bool paused;
	pthread_mutex_t state_lock; /* guards failure and pause_reason */
	char failure[512];
	char pause_reason[256];

	pthread_mutex_t lock; /* the commit lock */
	bool tip_present[CAIRN_GRAPH_MAX_ORDER];
	uint64_t tip_height[CAIRN_GRAPH_MAX_ORDER];
	cairn_header recent[CAIRN_GRAPH_MAX_ORDER][RECENT_HEIGHTS];
	bool recent_set[CAIRN_GRAPH_MAX_ORDER][RECENT_HEIGHTS];

	pthread_mutex_t queue_lock;
	pthread_cond_t queue_changed;
	pthread_cond_t published_changed;
	pending *head, **tail;
	uint64_t committed, published;
	bool stopping;
	pthread_t publisher;

	pthread_mutex_t cut_lock;
	cairn_node_cut cut;

	pthread_mutex_t listeners_lock;
	listener listeners[CAIRN_COMMIT_MAX_LISTENERS];
	size_t nlisteners;
};

static int64_t wall_clock_us(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static void hash_text(char out[44], const uint8_t hash[CAIRN_HASH_LEN])
{
	cairn_base64url_encode(out, hash, CAIRN_HASH_LEN);
}

/* ---- stored headers and payloads ---- */

static void remember(cairn_commit *c, const cairn_header *h)
{
	size_t slot = h->height % RECENT_HEIGHTS;
	if (!c->recent_set[h->chain_id][slot] || c->recent[h->chain_id][slot].height < h->height) {
		c->recent[h->chain_id][slot] = *h;
		c->recent_set[h->chain_id][slot] = true;
	}
}

static int read_header(cairn_header *out, cairn_commit *c, const uint8_t hash[CAIRN_HASH_LEN])
{
	uint8_t *bytes;
	size_t len;
	int rc = cairn_chaindb_get_header(&bytes, &len, c->chaindb, hash);
	if (rc != CAIRN_OK)
		return rc;
	rc = cairn_header_decode(out, bytes, len);
	free(bytes);
	if (rc == CAIRN_OK && memcmp(out->hash, hash, CAIRN_HASH_LEN) != 0)
		rc = cairn_error_set(CAIRN_EIO, "chaindb: the header stored under a hash names another hash");
	return rc != CAIRN_OK ? cairn_error_prefix(rc == CAIRN_ENOTFOUND ? CAIRN_EIO : rc, "stored header") : rc;
}

/* The committed header at (chain, height), commit lock held. */
static int header_at_locked(cairn_header *out, cairn_commit *c, uint32_t chain, uint64_t height)
{
	if (chain >= c->chains || !c->tip_present[chain] || height > c->tip_height[chain])
		return cairn_error_set(CAIRN_ENOTFOUND, "no block at height %" PRIu64 " on chain %u", height, chain);
	size_t slot = height % RECENT_HEIGHTS;
	if (c->recent_set[chain][slot] && c->recent[chain][slot].height == height) {
		*out = c->recent[chain][slot];
		return CAIRN_OK;
	}
	uint8_t hash[CAIRN_HASH_LEN];
	int rc = cairn_chaindb_hash_at(hash, c->chaindb, chain, height);
	if (rc == CAIRN_OK)
		rc = read_header(out, c, hash);
	if (rc == CAIRN_OK)
		remember(c, out);
	return rc;
}

/* The stored contents of a payload; an empty record means "unknown". */
static int load_payload(cairn_payload *out, bool *has, cairn_commit *c, const uint8_t payload_hash[CAIRN_HASH_LEN])
{
	uint8_t *bytes;
	size_t len;
	*has = false;
	int rc = cairn_chaindb_get_payload(&bytes, &len, c->chaindb, payload_hash);
	if (rc == CAIRN_ENOTFOUND)
		return CAIRN_OK;
	if (rc == CAIRN_OK && len > 0) {
		rc = cairn_payload_decode(out, bytes, len);
		*has = rc == CAIRN_OK;
	}
	free(bytes);
	return rc != CAIRN_OK ? cairn_error_prefix(rc, "stored payload") : rc;
}

int cairn_commit_header_at(cairn_header *out, cairn_commit *c, uint32_t chain, uint64_t height)
{
	pthread_mutex_lock(&c->lock);
	int rc = header_at_locked(out, c, chain, height);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int cairn_commit_load_block(cairn_header *header, cairn_payload *payload, bool *has_payload, cairn_commit *c,
	uint32_t chain, uint64_t height)
{
	int rc = cairn_commit_header_at(header, c, chain, height);
	return rc == CAIRN_OK ? load_payload(payload, has_payload, c, header->payload_hash) : rc;
}

void cairn_commit_tips(cairn_commit *c, bool present[CAIRN_GRAPH_MAX_ORDER], uint64_t height[CAIRN_GRAPH_MAX_ORDER])
{
	pthread_mutex_lock(&c->lock);
	memcpy(present, c->tip_present, sizeof(c->tip_present));
	memcpy(height, c->tip_height, sizeof(c->tip_height));
	pthread_mutex_unlock(&c->lock);
}

/* ---- validation ---- */

typedef struct parents {
	cairn_header parent;
	cairn_header adjacent[CAIRN_HEADER_MAX_ADJACENTS];
	const cairn_header *adjacent_ptrs[CAIRN_HEADER_MAX_ADJACENTS];
	size_t n_adjacent;
} parents;

static int commit_genesis_locked(cairn_commit *c, uint32_t chain);

/* The adjacent parent on neighbour `chain`; with `create_genesis`, a missing
 * genesis block there is committed first. */
static int adjacent_parent(cairn_header *out, cairn_commit *c, uint32_t chain, uint64_t height, bool create_genesis)
{
	int rc = header_at_locked(out, c, chain, height);
	if (rc == CAIRN_ENOTFOUND && create_genesis && !c->tip_present[chain] &&
	    cairn_version_is_genesis(c->version, chain, height) &&
	    (rc = commit_genesis_locked(c, chain)) == CAIRN_OK)
		rc = header_at_locked(out, c, chain, height);
	if (rc == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_EINVALID, "adjacents: no block at height %" PRIu64 " on neighbour chain %u",
			height, chain);
	return rc;
}

static int find_parents(parents *p, cairn_commit *c, const cairn_header *h, bool create_genesis)
{
	int rc = h->height == 0 ? CAIRN_ENOTFOUND : header_at_locked(&p->parent, c, h->chain_id, h->height - 1);
	if (rc == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_EINVALID, "parent: no block at height %" PRIu64 " on chain %u",
			h->height - 1, h->chain_id);
	if (rc != CAIRN_OK)
		return rc;
	const cairn_graph *g = cairn_version_graph_at(c->version, p->parent.height);
	p->n_adjacent = 0;
	if (!cairn_graph_has_chain(g, h->chain_id))
		return CAIRN_OK; /* validation names the problem */
	for (uint32_t i = 0; i < g->degree; i++) {
		rc = adjacent_parent(&p->adjacent[i], c, cairn_graph_adjacents(g, h->chain_id)[i], p->parent.height,
			create_genesis);
		if (rc != CAIRN_OK)
			return rc;
		p->adjacent_ptrs[i] = &p->adjacent[i];
	}
	p->n_adjacent = g->degree;
	return CAIRN_OK;
}

/* The header belongs to this node's version and one of its chains. */
static int check_identity(const cairn_commit *c, const cairn_header *h)
{
	if (h->version_code != c->version->code)
		return cairn_error_set(CAIRN_EINVALID, "chainwebVersion: expected %s (0x%08x), found 0x%08x",
			c->version->name, c->version->code, h->version_code);
	if (h->chain_id >= c->chains)
		return cairn_error_set(CAIRN_EINVALID, "chainId: %s has no chain %u", c->version->name, h->chain_id);
	return CAIRN_OK;
}

/* Validation proper; check_identity has passed. */
static int validate_locked(cairn_commit *c, const cairn_header *h, const cairn_payload *payload, bool create_genesis)
{
	const char *field = NULL;
	int rc;
	if (cairn_version_is_genesis(c->version, h->chain_id, h->height)) {
		rc = cairn_header_validate(&field, h, NULL, NULL, 0);
	} else {
		parents p;
		rc = find_parents(&p, c, h, create_genesis);
		if (rc == CAIRN_OK)
			rc = cairn_header_validate(&field, h, &p.parent, p.adjacent_ptrs, p.n_adjacent);
	}
	if (rc == CAIRN_OK && payload != NULL && (rc = cairn_payload_verify(payload, h->payload_hash)) != CAIRN_OK)
		cairn_error_prefix(rc, "payload");
	return rc;
}

int cairn_commit_verify_block(cairn_commit *c, const cairn_header *header, const cairn_payload *payload)
{
	pthread_mutex_lock(&c->lock);
	int rc = check_identity(c, header);
	if (rc == CAIRN_OK)
		rc = validate_locked(c, header, payload, false);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* A stored block at the header's height: the same one (CAIRN_EEXISTS) or a fork. */
static int check_not_stored(cairn_commit *c, const cairn_header *h)
{
	if (!c->tip_present[h->chain_id] || h->height > c->tip_height[h->chain_id])
		return CAIRN_OK;
	cairn_header stored;
	int rc = header_at_locked(&stored, c, h->chain_id, h->height);
	if (rc == CAIRN_ENOTFOUND) /* below the chain's first block */
		return cairn_error_set(CAIRN_EINVALID, "height: chain %u starts above height %" PRIu64,
			h->chain_id, h->height);
	if (rc != CAIRN_OK)
		return rc;
	char hash[44];
	hash_text(hash, h->hash);
	if (memcmp(stored.hash, h->hash, CAIRN_HASH_LEN) == 0)
		return cairn_error_set(CAIRN_EEXISTS, "block %s (chain %u, height %" PRIu64 ") is already stored",
			hash, h->chain_id, h->height);
	return cairn_error_set(CAIRN_EINVALID, "hash: chain %u already has another block at height %" PRIu64
		" (forks are not supported), found %s", h->chain_id, h->height, hash);
}

/* ---- failure and pause ---- */

/* Stops all further commits, keeping the first reason. */
static void stop_committing(cairn_commit *c, const char *reason)
{
	pthread_mutex_lock(&c->state_lock);
	if (!atomic_load(&c->failed))
		snprintf(c->failure, sizeof(c->failure), "%s", reason);
	atomic_store(&c->failed, true);
	pthread_mutex_unlock(&c->state_lock);
}

void cairn_commit_pause(cairn_commit *c, const char *reason)
{
	pthread_mutex_lock(&c->state_lock);
	snprintf(c->pause_reason, sizeof(c->pause_reason), "%s", reason != NULL ? reason : "");
	atomic_store(&c->paused, reason != NULL);
	pthread_mutex_unlock(&c->state_lock);
}

bool cairn_commit_is_running(cairn_commit *c)
{
	return !atomic_load(&c->failed) && !atomic_load(&c->paused);
}

cairn_commit_state cairn_commit_state_of(cairn_commit *c, char *reason, size_t size)
{
	pthread_mutex_lock(&c->state_lock);
	cairn_commit_state state = atomic_load(&c->failed) ? CAIRN_COMMIT_FAILED
		: atomic_load(&c->paused) ? CAIRN_COMMIT_PAUSED : CAIRN_COMMIT_RUNNING;
	snprintf(reason, size, "%s", state == CAIRN_COMMIT_FAILED ? c->failure
		: state == CAIRN_COMMIT_PAUSED ? c->pause_reason : "");
	pthread_mutex_unlock(&c->state_lock);
	return state;
}

/* ---- writing ---- */

static int write_chaindb(cairn_commit *c, const cairn_header *h, const cairn_payload *payload)
{
	uint8_t header[CAIRN_HEADER_MAX_BYTES], *body = NULL;
	size_t header_len, body_len = 0;
	int rc = cairn_header_encode(header, &header_len, h);
	if (rc == CAIRN_OK && payload != NULL)
		rc = cairn_payload_encode(&body, &body_len, payload);
	if (rc == CAIRN_OK) {
		cairn_chaindb_block b = {h->chain_id, h->height, h->hash, header, header_len, h->payload_hash,
			body, body_len};
		rc = cairn_chaindb_put_block(c->chaindb, &b);
	}
	free(body);
	return rc;
}

static void enqueue(cairn_commit *c, pending *e, const cairn_header *h, cairn_payload *payload)
{
	e->next = NULL;
	e->header = *h;
	e->has_payload = payload != NULL;
	cairn_payload_init(&e->payload);
	if (payload != NULL) {
		e->payload = *payload;
		cairn_payload_init(payload);
	}
	pthread_mutex_lock(&c->queue_lock);
	*c->tail = e;
	c->tail = &e->next;
	c->committed++;
	pthread_cond_signal(&c->queue_changed);
	pthread_mutex_unlock(&c->queue_lock);
}

/* Writes a validated block to both stores and queues it; `payload` (NULL:
 * unknown contents) is moved into the queue on success. */
static int write_block(cairn_commit *c, const cairn_header *h, cairn_payload *payload)
{
	pending *e = malloc(sizeof(*e));
	cairn_pact_block *plan = NULL;
	int rc = e ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "out of memory");
	cairn_pactdb *pactdb = c->pactdbs[h->chain_id];
	cairn_pact_cache *cache = c->pact_caches[h->chain_id];
	if (rc == CAIRN_OK)
		rc = cairn_pact_plan(&plan, pactdb, cache, h->height, h->hash, payload);
	if (rc == CAIRN_OK && (rc = write_chaindb(c, h, payload)) != CAIRN_OK &&
	    cairn_chaindb_failure(c->chaindb) != NULL) {
		stop_committing(c, cairn_error_last());
		cairn_log_error("commit", "%s: no block is accepted until the node restarts", cairn_error_last());
	}
	if (rc != CAIRN_OK) {
		cairn_pact_block_free(plan);
		free(e);
		return rc;
	}
	c->tip_present[h->chain_id] = true;
	c->tip_height[h->chain_id] = h->height;
	remember(c, h);
	rc = cairn_pact_apply(pactdb, cache, plan);
	cairn_pact_block_free(plan);
	if (rc != CAIRN_OK) {
		stop_committing(c, cairn_error_last());
		cairn_log_error("commit", "%s; the chain database holds the block, the Pact database does not: "
			"refusing further blocks until a restart rebuilds the Pact state", cairn_error_last());
		free(e);
		return rc;
	}
	enqueue(c, e, h, payload);
	return CAIRN_OK;
}

static int commit_locked(cairn_commit *c, const cairn_header *h, cairn_payload *payload)
{
	for (uint32_t i = 0; i < c->chains && !atomic_load(&c->failed); i++) {
		const char *lost = c->pactdbs[i] != NULL ? cairn_pactdb_failure(c->pactdbs[i]) : NULL;
		if (lost != NULL) {
			stop_committing(c, lost);
			cairn_log_error("commit", "pactdb: %s; refusing further blocks until a restart rebuilds the "
				"Pact state", lost);
		}
	}
	if (atomic_load(&c->failed))
		return cairn_error_set(CAIRN_EIO, "the node stopped committing after a storage failure; restart it");
	if (atomic_load(&c->paused)) {
		pthread_mutex_lock(&c->state_lock);
		int rc = cairn_error_set(CAIRN_EBUSY, "block commits are paused: %s", c->pause_reason);
		pthread_mutex_unlock(&c->state_lock);
		return rc;
	}
	int rc = check_identity(c, h);
	if (rc == CAIRN_OK)
		rc = check_not_stored(c, h);
	if (rc == CAIRN_OK)
		rc = validate_locked(c, h, payload, true);
	if (rc != CAIRN_OK)
		return rc;
	/* Without contents, use what the chain database already has for this
	 * payload hash (another block's, or an earlier import's). */
	cairn_payload stored;
	bool has_stored = false;
	cairn_payload_init(&stored);
	if (payload == NULL && (rc = load_payload(&stored, &has_stored, c, h->payload_hash)) != CAIRN_OK)
		return rc;
	rc = write_block(c, h, has_stored ? &stored : payload);
	cairn_payload_free(&stored);
	return rc;
}

static int commit_genesis_locked(cairn_commit *c, uint32_t chain)
{
	if (chain >= c->chains || c->tip_present[chain])
		return CAIRN_OK;
	cairn_header h;
	cairn_payload payload;
	cairn_payload_init(&payload);
	int rc = cairn_genesis_header(&h, c->version, chain);
	if (rc != CAIRN_OK)
		return rc;
	int has = cairn_genesis_payload(&payload, c->version, chain);
	if (has != CAIRN_OK && has != CAIRN_ENOTFOUND)
		return has;
	rc = commit_locked(c, &h, has == CAIRN_OK ? &payload : NULL);
	cairn_payload_free(&payload);
	if (rc == CAIRN_OK)
		cairn_log_info("commit", "chain %u: genesis block at height %" PRIu64 " written", chain, h.height);
	return rc;
}

int cairn_commit_block(cairn_commit *c, const cairn_header *header, cairn_payload *payload, unsigned flags)
{
	if (!(flags & CAIRN_NODE_COMMIT_HISTORICAL)) {
		int64_t ahead = header->creation_time_us - wall_clock_us();
		if (ahead > CAIRN_COMMIT_MAX_FUTURE_US)
			return cairn_error_set(CAIRN_EINVALID, "creationTime: %" PRId64 " is %.1f s in the future "
				"(at most %lld s allowed)", header->creation_time_us, (double)ahead / 1e6,
				CAIRN_COMMIT_MAX_FUTURE_US / 1000000);
	}
	double started = cairn_clock_now();
	pthread_mutex_lock(&c->lock);
	int rc = commit_locked(c, header, payload);
	pthread_mutex_unlock(&c->lock);
	if (rc == CAIRN_OK)
		cairn_metrics_block_committed(header->chain_id, cairn_clock_now() - started);
	return rc;
}

int cairn_commit_genesis(cairn_commit *c, uint32_t chain)
{
	pthread_mutex_lock(&c->lock);
	int rc = commit_genesis_locked(c, chain);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int cairn_commit_with_lock(cairn_commit *c, int (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&c->lock);
	int rc = fn(arg);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- publication ---- */

static void set_cut_entry(cairn_node_cut *cut, const cairn_header *h)
{
	cut->present[h->chain_id] = true;
	cut->height[h->chain_id] = h->height;
	memcpy(cut->hash[h->chain_id], h->hash, CAIRN_HASH_LEN);
	memcpy(cut->weight[h->chain_id], h->weight, CAIRN_HASH_LEN);
}

/* Makes a group durable, then reports it; returns its size. */
static uint64_t publish(cairn_commit *c, pending *group)
{
	int rc = cairn_chaindb_sync(c->chaindb);
	if (rc != CAIRN_OK) {
		stop_committing(c, cairn_error_last());
		cairn_log_error("commit", "%s: committed blocks are not reported and no block is accepted "
			"until a restart", cairn_error_last());
	} else {
		pthread_mutex_lock(&c->cut_lock);
		for (pending *e = group; e; e = e->next)
			set_cut_entry(&c->cut, &e->header);
		pthread_mutex_unlock(&c->cut_lock);
		pthread_mutex_lock(&c->listeners_lock);
		for (pending *e = group; e; e = e->next)
			for (size_t i = 0; i < c->nlisteners; i++)
				c->listeners[i].fn(c->listeners[i].ctx, &e->header, e->has_payload ? &e->payload : NULL);
		pthread_mutex_unlock(&c->listeners_lock);
	}
	uint64_t n = 0;
	while (group != NULL) {
		pending *next = group->next;
		cairn_payload_free(&group->payload);
		free(group);
		group = next;
		n++;
	}
	return n;
}

static void *publisher_main(void *arg)
{
	cairn_commit *c = arg;
	pthread_mutex_lock(&c->queue_lock);
	for (;;) {
		while (c->head == NULL && !c->stopping)
			pthread_cond_wait(&c->queue_changed, &c->queue_lock);
		if (c->head == NULL)
			break;
		pending *group = c->head;
		c->head = NULL;
		c->tail = &c->head;
		pthread_mutex_unlock(&c->queue_lock);
		uint64_t n = publish(c, group);
		pthread_mutex_lock(&c->queue_lock);
		c->published += n;
		pthread_cond_broadcast(&c->published_changed);
	}
	pthread_mutex_unlock(&c->queue_lock);
	return NULL;
}

void cairn_commit_flush(cairn_commit *c)
{
	pthread_mutex_lock(&c->queue_lock);
	uint64_t target = c->committed;
	while (c->published < target)
		pthread_cond_wait(&c->published_changed, &c->queue_lock);
	pthread_mutex_unlock(&c->queue_lock);
}

void cairn_commit_get_cut(cairn_node_cut *out, cairn_commit *c)
{
	pthread_mutex_lock(&c->cut_lock);
	*out = c->cut;
	pthread_mutex_unlock(&c->cut_lock);
}

int cairn_commit_add_listener(cairn_commit *c, cairn_node_block_listener fn, void *ctx)
{
	pthread_mutex_lock(&c->listeners_lock);
	int rc = c->nlisteners < CAIRN_COMMIT_MAX_LISTENERS ? CAIRN_OK
		: cairn_error_set(CAIRN_EBUSY, "at most %d block listeners", CAIRN_COMMIT_MAX_LISTENERS);
	if (rc == CAIRN_OK)
		c->listeners[c->nlisteners++] = (listener){fn, ctx};
	pthread_mutex_unlock(&c->listeners_lock);
	return rc;
}

void cairn_commit_remove_listener(cairn_commit *c, cairn_node_block_listener fn, void *ctx)
{
	pthread_mutex_lock(&c->listeners_lock);
	for (size_t i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].fn == fn && c->listeners[i].ctx == ctx) {
			c->listeners[i] = c->listeners[--c->nlisteners];
			break;
		}
	pthread_mutex_unlock(&c->listeners_lock);
}

/* ---- lifecycle ---- */

static int load_tips(cairn_commit *c)
{
	cairn_chaindb_cut cut;
	int rc = cairn_chaindb_get_cut(&cut, c->chaindb);
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < CAIRN_CHAINDB_MAX_CHAINS; chain++) {
		if (!cut.present[chain])
			continue;
		if (chain >= c->chains)
			return cairn_error_set(CAIRN_EIO, "the chain database has blocks of chain %u, which %s lacks",
				chain, c->version->name);
		c->tip_present[chain] = true;
		c->tip_height[chain] = cut.height[chain];
		cairn_header tip;
		rc = header_at_locked(&tip, c, chain, cut.height[chain]);
		if (rc == CAIRN_OK)
			set_cut_entry(&c->cut, &tip);
	}
	return rc;
}

int cairn_commit_create(cairn_commit **out, const cairn_version *version, cairn_chaindb *chaindb,
	cairn_pactdb *const *pactdbs)
{
	cairn_commit *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	c->version = version;
	c->chaindb = chaindb;
	c->chains = cairn_version_latest_graph(version)->order;
	memcpy(c->pactdbs, pactdbs, c->chains * sizeof(*pactdbs));
	atomic_init(&c->failed, false);
	atomic_init(&c->paused, false);
	pthread_mutex_init(&c->state_lock, NULL);
	c->tail = &c->head;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->queue_lock, NULL);
	pthread_cond_init(&c->queue_changed, NULL);
	pthread_cond_init(&c->published_changed, NULL);
	pthread_mutex_init(&c->cut_lock, NULL);
	pthread_mutex_init(&c->listeners_lock, NULL);
	int rc = CAIRN_OK;
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < c->chains; chain++)
		rc = cairn_pact_cache_create(&c->pact_caches[chain]);
	if (rc == CAIRN_OK)
		rc = load_tips(c);
	if (rc == CAIRN_OK && pthread_create(&c->publisher, NULL, publisher_main, c) != 0)
		rc = cairn_error_set(CAIRN_ERROR, "cannot start the publishing thread");
	if (rc != CAIRN_OK) {
		c->stopping = true; /* no thread to join */
		cairn_commit_free(c);
		return rc;
	}
	*out = c;
	return CAIRN_OK;
}

void cairn_commit_free(cairn_commit *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->queue_lock);
	bool running = !c->stopping;
	c->stopping = true;
	pthread_cond_signal(&c->queue_changed);
	pthread_mutex_unlock(&c->queue_lock);
	if (running)
		pthread_join(c->publisher, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->queue_lock);
	pthread_cond_destroy(&c->queue_changed);
	pthread_cond_destroy(&c->published_changed);
	pthread_mutex_destroy(&c->cut_lock);
	pthread_mutex_destroy(&c->listeners_lock);
	pthread_mutex_destroy(&c->state_lock);
	for (uint32_t chain = 0; chain < c->chains; chain++)
		cairn_pact_cache_free(c->pact_caches[chain]);
	free(c);
}
