/*
 * cmd_node.c: `cairn node`: build the configuration, then run the node
 * until SIGTERM or SIGINT.
 *
 * Signals are read from a signalfd by the main thread; SIGTERM and SIGINT
 * are blocked before any thread starts, so every thread inherits the mask
 * and no work ever happens in a signal handler.  SIGPIPE is ignored.
 *
 * Shutdown is bounded: within SHUTDOWN_BUDGET_MS of the signal the process
 * has drained (health-check answers 503 for drain_seconds while everything
 * else is still served), stopped accepting, ended event streams, let
 * requests in flight finish, and closed the node.  A second signal during
 * the drain cuts the drain short.
 *
 * Restart in place: after a storage failure (full disk, no descriptors,
 * an I/O error) the stores' handles cannot write again, and health-check
 * answers 503.  Once the storage guard finds the stores writable again
 * (cairn_node_restart_wanted, polled every second), the service and the
 * node are closed and opened anew in this process, so the start-up
 * recovery brings the stores back to one cut.  The service keeps the port
 * it had (the chosen one when port 0 was configured).  A reopen that fails
 * is retried every few seconds until it works or a signal ends the wait.
 *
 * Under systemd (Type=notify, notify.c): READY=1 once the service listens,
 * STOPPING=1 when the drain starts, STATUS= through a restart in place, and
 * WATCHDOG=1 every poll when the unit sets WatchdogSec=.
 */
#include "api/api.h"
#include "cli/commands.h"
#include "cli/notify.h"
#include "config/config.h"
#include "node/node.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define SHUTDOWN_BUDGET_MS 4000 /* the last second of 5 is for stopping workers, closing stores, exiting */

static int64_t monotonic_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int open_signal_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Returns the next shutdown signal, or 0 when none came within timeout_ms (-1: wait forever). */
static int wait_for_signal(int fd, int timeout_ms)
{
	int64_t end = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		int64_t left = end - monotonic_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, timeout_ms < 0 ? -1 : (int)(left > 0 ? left : 0));
		if (n < 0 && errno == EINTR)
			continue;
		struct signalfd_siginfo info;
		if (n <= 0 || read(fd, &info, sizeof(info)) != (ssize_t)sizeof(info))
			return 0;
		return (int)info.ssi_signo;
	}
}

/* Event streams hold one descriptor per subscriber: allow as many as the hard limit. */
static void raise_descriptor_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	unsigned long long before = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		cairn_log_info("node", "open-file limit raised from %llu to the hard limit, %llu", before,
			(unsigned long long)rl.rlim_max);
	else
		cairn_log_warn("node", "cannot raise the open-file limit from %llu: %s", before, strerror(errno));
}

static void shut_down(cairn_node *node, cairn_api_service *service, int signal_fd, int signo, double drain_seconds)
{
	int64_t start = monotonic_ms();
	cairn_log_info("node", "%s received: draining for %g s", signo == SIGINT ? "SIGINT" : "SIGTERM", drain_seconds);
	cairn_node_begin_drain(node);
	cairn_api_service_begin_drain(service);
	cairn_notify_stopping(); /* after: health-check already answers 503 */
	if (wait_for_signal(signal_fd, (int)(drain_seconds * 1000)) != 0)
		cairn_log_info("node", "second signal: ending the drain now");
	cairn_api_service_stop(service, SHUTDOWN_BUDGET_MS - (monotonic_ms() - start));
	cairn_node_close(node);
	cairn_log_info("node", "stopped cleanly");
}

#define RESTART_POLL_MS 1000
#define REOPEN_RETRY_MS 5000

/* The poll period: one second, or less when the watchdog needs it. */
static int poll_period_ms(void)
{
	int64_t watchdog = cairn_notify_watchdog_interval_ms();
	return watchdog > 0 && watchdog < RESTART_POLL_MS ? (int)watchdog : RESTART_POLL_MS;
}

/* Waits for a shutdown signal (returned) or a wanted restart (0). */
static int wait_for_signal_or_restart(int signal_fd, cairn_node *node)
{
	bool watchdog = cairn_notify_watchdog_interval_ms() > 0;
	int period = poll_period_ms();
	int signo;
	for (;;) {
		if (watchdog)
			cairn_notify_watchdog();
		if ((signo = wait_for_signal(signal_fd, period)) != 0)
			return signo;
		if (cairn_node_restart_wanted(node))
			return 0;
	}
}

static int open_node(cairn_node **node, cairn_api_service **service, const cairn_config *cfg)
{
	*node = NULL;
	*service = NULL;
	if (cairn_node_open(node, cfg) == CAIRN_OK && cairn_api_service_start(service, *node, cfg) == CAIRN_OK)
		return CAIRN_OK;
	cairn_log_error("node", "%s", cairn_error_last());
	cairn_node_close(*node);
	*node = NULL;
	return CAIRN_ERROR;
}

/* The port the service listens on, from its address ("1.2.3.4:5", "[::1]:5"). */
static int bound_port(const cairn_api_service *service)
{
	const char *colon = strrchr(cairn_api_service_address(service), ':');
	return colon != NULL ? atoi(colon + 1) : 0;
}

/* Closes the failed node and opens it again, retrying until it opens or a
 * signal comes (then returns that signal; 0 after a successful reopen). */
static int restart_in_place(cairn_node **node, cairn_api_service **service, cairn_config *live, int signal_fd)
{
	cairn_log_warn("node", "restarting in place: closing the stores after their failure and opening them again");
	cairn_notify_status("restarting in place after a storage failure");
	live->service_port = bound_port(*service);
	cairn_api_service_stop(*service, SHUTDOWN_BUDGET_MS);
	cairn_node_close(*node);
	while (open_node(node, service, live) != CAIRN_OK) {
		cairn_log_error("node", "cannot open the node again; retrying in %d s", REOPEN_RETRY_MS / 1000);
		cairn_notify_status("cannot open the stores again after a storage failure; retrying");
		int signo = 0;
		for (int64_t end = monotonic_ms() + REOPEN_RETRY_MS; signo == 0 && monotonic_ms() < end;) {
			if (cairn_notify_watchdog_interval_ms() > 0)
				cairn_notify_watchdog();
			signo = wait_for_signal(signal_fd, poll_period_ms());
		}
		if (signo != 0)
			return signo;
	}
	cairn_log_info("node", "restarted in place: the stores agree and block commits resume");
	cairn_notify_ready(cairn_api_service_address(*service));
	return 0;
}

static int run_node(const cairn_config *cfg)
{
	cairn_log_set_level(cfg->log_level);
	int signal_fd = open_signal_fd();
	if (signal_fd < 0) {
		cairn_log_error("node", "cannot set up signal handling: %s", strerror(errno));
		return CAIRN_EXIT_FAILURE;
	}
	raise_descriptor_limit();
	cairn_config live = *cfg; /* shallow: only the port may change, for restarts */
	cairn_node *node;
	cairn_api_service *service;
	int status = open_node(&node, &service, &live) == CAIRN_OK ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
	if (status == CAIRN_EXIT_OK)
		cairn_notify_ready(cairn_api_service_address(service));
	int signo = 0;
	while (status == CAIRN_EXIT_OK && (signo = wait_for_signal_or_restart(signal_fd, node)) == 0)
		if ((signo = restart_in_place(&node, &service, &live, signal_fd)) != 0)
			break;
	if (node != NULL)
		shut_down(node, service, signal_fd, signo, cfg->drain_seconds);
	else if (signo != 0)
		status = CAIRN_EXIT_FAILURE; /* a reopen never succeeded */
	close(signal_fd);
	return status;
}

int cairn_cmd_node(int argc, char **argv)
{
	cairn_config cfg;
	if (cairn_config_init(&cfg) != CAIRN_OK) {
		fprintf(stderr, "cairn: %s\n", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	cairn_config_action action;
	int status = CAIRN_EXIT_OK;
	if (cairn_config_from_args(&cfg, &action, argc, argv) != CAIRN_OK) {
		fprintf(stderr, "cairn: configuration error: %s\n", cairn_error_last());
		status = CAIRN_EXIT_USAGE;
	} else if (action == CAIRN_CONFIG_HELP) {
		cairn_config_write_help(stdout);
	} else if (action == CAIRN_CONFIG_PRINT) {
		status = cairn_config_write_yaml(stdout, &cfg) == CAIRN_OK ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
	} else if (action == CAIRN_CONFIG_EXAMPLE) {
		if (cairn_config_write_example(stdout, &cfg) != CAIRN_OK) {
			fprintf(stderr, "cairn: %s\n", cairn_error_last());
			status = CAIRN_EXIT_FAILURE;
		}
	} else {
		status = run_node(&cfg);
	}
	cairn_config_free(&cfg);
	return status;
}
