/*
 * notify.c: sd_notify(3) messages for a node run as a Type=notify unit.
 *
 * The messages go through libsystemd, which reads NOTIFY_SOCKET and does
 * nothing without it.  The environment is kept (unset_environment = 0): a
 * node that restarts in place sends READY and STATUS again from the same
 * process, and systemd accepts repeated READY=1.
 *
 * Restart in place (cmd_node.c) is announced with STATUS= only, not
 * RELOADING=1: nothing asked for a reload, and the unit stays "active"
 * while the stores reopen (health-check answers 503 meanwhile).
 */
#include "cli/notify.h"

#include "util/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

static atomic_bool warned;

static void send_state(const char *state)
{
	int rc = sd_notify(0, state);
	if (rc < 0 && !atomic_exchange(&warned, true))
		cairn_log_warn("notify", "cannot notify the service manager: %s", strerror(-rc));
}

void cairn_notify_ready(const char *address)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving on %s", address);
	send_state(msg);
}

void cairn_notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=draining");
}

void cairn_notify_status(const char *text)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	send_state(msg);
}

int64_t cairn_notify_watchdog_interval_ms(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	int64_t ms = (int64_t)(usec / 2000);
	return ms > 0 ? ms : 1;
}

void cairn_notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}
