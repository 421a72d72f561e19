/*
 * checkpointer.c: the background checkpoint worker of checkpointer.h.
 */
#include "node/checkpointer.h"
#include "chain/graph.h"
#include "node/worker.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cairn_checkpointer {
	cairn_worker *worker;
	cairn_pactdb *dbs[CAIRN_GRAPH_MAX_ORDER];
	bool failing[CAIRN_GRAPH_MAX_ORDER];
	size_t n;
};

static void checkpoint_all(cairn_checkpointer *cp)
{
	for (size_t i = 0; i < cp->n; i++) {
		bool failed = cairn_pactdb_commit(cp->dbs[i], CAIRN_CHECKPOINTER_GROUP_MS / 1000.0) != CAIRN_OK
			|| cairn_pactdb_checkpoint(cp->dbs[i]) != CAIRN_OK;
		if (failed && !cp->failing[i])
			cairn_log_warn("pactdb", "background commit or checkpoint of chain %zu: %s", i, cairn_error_last());
		cp->failing[i] = failed;
	}
}

static void checkpointer_main(cairn_worker *w, void *arg)
{
	do
		checkpoint_all(arg);
	while (cairn_worker_sleep_until(w, cairn_clock_now() + CAIRN_CHECKPOINTER_INTERVAL_MS / 1000.0));
}

int cairn_checkpointer_start(cairn_checkpointer **out, cairn_pactdb *const *dbs, size_t n)
{
	if (n > CAIRN_GRAPH_MAX_ORDER)
		return cairn_error_set(CAIRN_EINVALID, "at most %d Pact databases", CAIRN_GRAPH_MAX_ORDER);
	cairn_checkpointer *cp = calloc(1, sizeof(*cp));
	if (cp == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	memcpy(cp->dbs, dbs, n * sizeof(*dbs));
	cp->n = n;
	int rc = cairn_worker_start(&cp->worker, "checkpointer", checkpointer_main, cp);
	if (rc != CAIRN_OK) {
		free(cp);
		return rc;
	}
	*out = cp;
	return CAIRN_OK;
}

void cairn_checkpointer_stop(cairn_checkpointer *cp)
{
	if (cp == NULL)
		return;
	cairn_worker_stop(cp->worker);
	free(cp);
}
