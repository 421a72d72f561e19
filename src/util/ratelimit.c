/*
 * ratelimit.c: ratelimit.h.
 *
 * State: `tokens` (bytes; negative while in debt) at time `last`.  A take
 * first refills by rate * elapsed, capped at burst, then subtracts; the
 * wait is the debt divided by the rate.  The debt is what later takes
 * wait behind, so N threads taking concurrently are spaced out and the
 * total stays at the rate.  A mutex guards the two fields: a take is a
 * few arithmetic operations, far below the cost of the bytes it paces.
 */
#include "util/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/clock.h"
#include "util/error.h"

#define MIN_BURST 4096

struct cairn_ratelimit {
	uint64_t rate;
	double burst;
	pthread_mutex_t lock;
	double tokens;
	double last;
};

int cairn_ratelimit_create(cairn_ratelimit **out, uint64_t rate, uint64_t burst)
{
	cairn_ratelimit *rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "ratelimit: out of memory");
	rl->rate = rate;
	if (burst == 0)
		burst = rate / 8 > MIN_BURST ? rate / 8 : MIN_BURST;
	rl->burst = (double)burst;
	rl->tokens = rl->burst;
	rl->last = -1;
	pthread_mutex_init(&rl->lock, NULL);
	*out = rl;
	return CAIRN_OK;
}

void cairn_ratelimit_free(cairn_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

double cairn_ratelimit_take_at(cairn_ratelimit *rl, uint64_t bytes, double now)
{
	if (rl == NULL || rl->rate == 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	if (rl->last >= 0 && now > rl->last)
		rl->tokens += (now - rl->last) * (double)rl->rate;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	if (now > rl->last)
		rl->last = now;
	rl->tokens -= (double)bytes;
	double wait = rl->tokens < 0 ? -rl->tokens / (double)rl->rate : 0;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

double cairn_ratelimit_take(cairn_ratelimit *rl, uint64_t bytes)
{
	return rl == NULL || rl->rate == 0 ? 0 : cairn_ratelimit_take_at(rl, bytes, cairn_clock_now());
}

void cairn_ratelimit_wait(cairn_ratelimit *rl, uint64_t bytes)
{
	double wait = cairn_ratelimit_take(rl, bytes);
	if (wait > 0)
		cairn_clock_sleep(wait);
}

uint64_t cairn_ratelimit_chunk(const cairn_ratelimit *rl, uint64_t max)
{
	if (rl == NULL || rl->rate == 0)
		return max;
	uint64_t eighth = rl->rate / 8 < MIN_BURST ? MIN_BURST : rl->rate / 8;
	return eighth < max ? eighth : max;
}

uint64_t cairn_ratelimit_rate(const cairn_ratelimit *rl)
{
	return rl != NULL ? rl->rate : 0;
}
