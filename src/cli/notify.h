/*
 * notify.h: the node's side of the systemd service protocol (sd_notify):
 * READY=1 once the service API listens, STOPPING=1 when a drain starts,
 * STATUS= lines that say what the node is doing, and WATCHDOG=1 keep-alives
 * when the unit sets WatchdogSec=.
 *
 * Without NOTIFY_SOCKET in the environment (not started by systemd as
 * Type=notify) every call is a no-op; a failure to notify is logged once
 * and never stops the node.
 */
#ifndef CAIRN_CLI_NOTIFY_H
#define CAIRN_CLI_NOTIFY_H

#include <stdint.h>

/* READY=1 with STATUS=serving on ADDRESS. */
void cairn_notify_ready(const char *address);

/* STOPPING=1 with STATUS=draining. */
void cairn_notify_stopping(void);

/* STATUS=<text> alone (the state does not change). */
void cairn_notify_status(const char *text);

/* Milliseconds between WATCHDOG=1 keep-alives (half the unit's WatchdogSec),
 * or 0 when the service manager watches nothing. */
int64_t cairn_notify_watchdog_interval_ms(void);

/* WATCHDOG=1; the caller paces it by cairn_notify_watchdog_interval_ms(). */
void cairn_notify_watchdog(void);

#endif
