/*
 * s3_fixture.h: a real S3-compatible server for unit tests: s3rver (from
 * .deps/ of the source tree, installed by scripts/install-deps.sh) on a
 * free loopback port, its data in a private temporary directory, with one
 * bucket created at start.  s3rver accepts any well-formed Signature
 * Version 4 request from its one account (S3RVER / S3RVER) without
 * checking the signature; signing is proven by test_remote_sigv4 and the
 * botocore comparison in tests/e2e/test_remote_sign.py.
 *
 * s3rver 3.7.1 encrypts its ListObjectsV2 continuation tokens with DES,
 * which Node 17 and later only offer with --openssl-legacy-provider
 * (without it every truncated listing answers 500 InternalError).
 *
 * Against another store, by hand: with CAIRN_S3_TEST_BUCKET set, no
 * server is started; the fixture names that bucket, the credentials in
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), the
 * endpoint in CAIRN_S3_TEST_ENDPOINT (path-style; unset: AWS, virtual-host
 * style, region from AWS_REGION), and a prefix of its own for every key,
 * whose objects s3_fixture_stop deletes.
 *
 * The server runs in its own process group and is stopped by pid
 * (SIGTERM, then SIGKILL), and its directory removed, by s3_fixture_stop.
 */
#ifndef CAIRN_TESTS_S3_FIXTURE_H
#define CAIRN_TESTS_S3_FIXTURE_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remote/s3.h"
#include "util/error.h"
#include "util/fs.h"

#define S3_FIXTURE_BUCKET "cairn-test"
#define S3_FIXTURE_KEY "S3RVER"

typedef struct s3_fixture {
	char dir[256];
	char endpoint[256];
	int port;
	pid_t pid;
	bool external;       /* a store named by the environment, not s3rver */
	const char *bucket;
	const char *key_id;
	const char *secret;
	const char *token;
	const char *region;
	char prefix[128];    /* every key of the run starts with it ("" with s3rver) */
} s3_fixture;

/* Fills the options that name the fixture's store. */
static inline void s3_fixture_options(const s3_fixture *f, cairn_s3_options *o)
{
	o->endpoint = f->endpoint[0] ? f->endpoint : NULL;
	o->path_style = f->endpoint[0] != '\0';
	o->bucket = f->bucket;
	o->region = f->region;
	o->access_key_id = f->key_id;
	o->secret_access_key = f->secret;
	o->session_token = f->token;
}

static int s3_fixture_delete_one(void *ctx, const char *key, uint64_t size, bool is_prefix)
{
	(void)size;
	if (!is_prefix && cairn_s3_delete(ctx, key) != CAIRN_OK)
		fprintf(stderr, "s3 fixture: %s\n", cairn_error_last());
	return 0;
}

/* A port that was free a moment ago on 127.0.0.1. */
static inline int s3_fixture_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static inline bool s3_fixture_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static inline void s3_fixture_stop(s3_fixture *f)
{
	if (f->external) {
		cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
		s3_fixture_options(f, &o);
		cairn_s3 *s3 = NULL;
		if (cairn_s3_create(&s3, &o) == CAIRN_OK &&
			cairn_s3_list(s3, f->prefix, NULL, s3_fixture_delete_one, s3) != CAIRN_OK)
			fprintf(stderr, "s3 fixture: cleaning %s: %s\n", f->prefix, cairn_error_last());
		cairn_s3_free(s3);
		f->external = false;
		return;
	}
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
				f->pid = 0;
				break;
			}
			usleep(50 * 1000);
		}
		if (f->pid > 0) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, NULL, 0);
			f->pid = 0;
		}
	}
	if (f->dir[0]) {
		cairn_fs_remove_tree(f->dir);
		f->dir[0] = '\0';
	}
}

/* How many lines of the server's log contain `needle` (s3rver logs one
 * "Stored part N of ..." line per part it stores). */
static inline int s3_fixture_log_count(const s3_fixture *f, const char *needle)
{
	char log[300];
	snprintf(log, sizeof(log), "%s/s3rver.log", f->dir);
	FILE *in = fopen(log, "r");
	if (!in)
		return -1;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), in))
		if (strstr(line, needle))
			n++;
	fclose(in);
	return n;
}

/* Starts s3rver; false (with the reason on stderr) when it cannot. */
static inline bool s3_fixture_start(s3_fixture *f)
{
	memset(f, 0, sizeof(*f));
	const char *bucket = getenv("CAIRN_S3_TEST_BUCKET");
	if (bucket && bucket[0]) {
		const char *ep = getenv("CAIRN_S3_TEST_ENDPOINT");
		f->external = true;
		f->bucket = bucket;
		f->key_id = getenv("AWS_ACCESS_KEY_ID");
		f->secret = getenv("AWS_SECRET_ACCESS_KEY");
		f->token = getenv("AWS_SESSION_TOKEN");
		f->region = getenv("AWS_REGION");
		snprintf(f->endpoint, sizeof(f->endpoint), "%s", ep ? ep : "");
		snprintf(f->prefix, sizeof(f->prefix), "cairn-test-%ld-%ld/", (long)getpid(), (long)time(NULL));
		return true;
	}
	f->bucket = S3_FIXTURE_BUCKET;
	f->key_id = S3_FIXTURE_KEY;
	f->secret = S3_FIXTURE_KEY;
	const char *src = getenv("CAIRN_SOURCE_DIR");
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s/.deps/s3rver/node_modules/.bin/s3rver", src ? src : ".");
	if (access(bin, X_OK) != 0) {
		fprintf(stderr, "s3 fixture: %s is missing (run scripts/install-deps.sh)\n", bin);
		return false;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/cairn-s3-XXXXXX");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return false;
	}
	char data[300], log[300];
	snprintf(data, sizeof(data), "%s/data", f->dir);
	snprintf(log, sizeof(log), "%s/s3rver.log", f->dir);
	cairn_fs_mkdir_p(data);
	for (int tries = 0; tries < 3; tries++) {
		f->port = s3_fixture_free_port();
		char port[16];
		snprintf(port, sizeof(port), "%d", f->port);
		snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%d", f->port);
		pid_t pid = fork();
		if (pid == 0) {
			setpgid(0, 0);
			/* The server ends with the test, even one a sanitizer aborts. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			/* s3rver 3.7.1 makes ListObjectsV2 continuation tokens with
			 * DES, which Node's OpenSSL 3 keeps in the legacy provider. */
			setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
			/* --service-endpoint localhost: <bucket>.s3.localhost names a
			 * bucket virtual-host style (libcurl resolves *.localhost to
			 * loopback itself); requests to 127.0.0.1 stay path-style. */
			execl(bin, bin, "-d", data, "-a", "127.0.0.1", "-p", port, "--configure-bucket", S3_FIXTURE_BUCKET,
				"--service-endpoint", "localhost", (char *)NULL);
			_exit(127);
		}
		f->pid = pid;
		for (int i = 0; i < 300; i++) { /* up to 15 s: node starts slowly on a busy machine */
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				f->pid = 0;
				break;
			}
			if (s3_fixture_accepts(f->port))
				return true;
			usleep(50 * 1000);
		}
		if (f->pid > 0) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, NULL, 0);
			f->pid = 0;
		}
	}
	fprintf(stderr, "s3 fixture: s3rver did not start (log in %s)\n", log);
	s3_fixture_stop(f);
	return false;
}

#endif
