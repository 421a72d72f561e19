/*
 * producer.h: the development block producer, a thread that extends every
 * chain through the commit path.
 *
 * Braided order: the next block always extends the chain whose tip is
 * lowest (ties: the lowest chain id).  Its adjacent parents, the blocks at
 * the same height on the neighbour chains, then exist, because no tip is
 * lower; so the chains grow level by level and a block at height h on
 * chain c is made only after the blocks at h-1 on c's neighbours.  After a
 * restart the producer resumes from whatever tips the chains have.
 *
 * Each block carries a real payload (pact.h: miner data, coinbase output,
 * transactions_per_block transfers with their outputs) and a proof of work
 * solved against the version's target, which on the versions with a
 * producer (development, test-singleton) takes about 16 attempts.
 *
 * Rate: block_rate blocks per second over all chains, paced by a schedule
 * that does not accumulate a backlog after a stall; CAIRN_BLOCK_RATE_MAX
 * produces as fast as the commit path takes blocks.  Stopping interrupts
 * the wait for the next slot, so the thread ends within one block's work.
 * A block the commit path refuses is logged, and production pauses for a
 * second before it retries from the current tips.
 */
#ifndef CAIRN_NODE_PRODUCER_H
#define CAIRN_NODE_PRODUCER_H

#include <stddef.h>

#include "chain/version.h"
#include "node/commit.h"

typedef struct cairn_producer cairn_producer;

typedef struct cairn_producer_options {
	double block_rate;             /* blocks/s over all chains (> 0), or CAIRN_BLOCK_RATE_MAX */
	size_t transactions_per_block; /* at most 1000 */
	double report_seconds;         /* interval of the progress log line */
} cairn_producer_options;

#define CAIRN_PRODUCER_OPTIONS_INIT {4.0, 2, 10.0}

/* Starts producing on `commit`, which must outlive the producer.
 * CAIRN_EINVALID for a version without a block producer. */
int cairn_producer_start(cairn_producer **out, cairn_commit *commit, const cairn_version *version,
	const cairn_producer_options *opts);

/* Stops the thread (waiting for the block in progress) and frees. */
void cairn_producer_stop(cairn_producer *p);

#endif
