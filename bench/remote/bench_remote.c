/*
 * bench_remote.c: upload and download rates of the S3 client against a
 * local s3rver, next to `aws s3 cp` (awscli, botocore's multipart transfer
 * manager) against the same server in the same run.
 *
 * Usage: bench_remote ENDPOINT BUCKET FILE WORKDIR ROUNDS PART_MB PARALLELISM
 * (bench/remote/run starts s3rver and makes FILE).  Each round uploads
 * FILE and downloads it back into WORKDIR, first with cairn, then with the
 * aws command; the best round of each is reported, in MB/s, with the ratio
 * cairn / aws.  Both talk to one single-threaded Node server writing to
 * disk, so the figures say how close the client comes to what the server
 * can take, not what a real store would do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bench_shell.h"
#include "remote/s3.h"
#include "util/clock.h"
#include "util/error.h"

static double best(double a, double b)
{
	return a == 0 || b < a ? b : a;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: bench_remote ENDPOINT BUCKET FILE WORKDIR ROUNDS PART_MB PARALLELISM\n");
		return 2;
	}
	const char *endpoint = argv[1], *bucket = argv[2], *file = argv[3], *work = argv[4];
	int rounds = atoi(argv[5]);
	struct stat st;
	if (stat(file, &st) != 0) {
		perror(file);
		return 1;
	}
	double mb = (double)st.st_size / 1e6;
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	o.endpoint = endpoint;
	o.bucket = bucket;
	o.path_style = true;
	o.access_key_id = "S3RVER";
	o.secret_access_key = "S3RVER";
	o.part_size = (uint64_t)atoi(argv[6]) << 20;
	o.parallelism = atoi(argv[7]);
	cairn_s3 *s3 = NULL;
	if (cairn_s3_create(&s3, &o) != CAIRN_OK) {
		fprintf(stderr, "%s\n", cairn_error_last());
		return 1;
	}
	setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
	setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
	double c_up = 0, c_down = 0, a_up = 0, a_down = 0;
	char back[1024], cmd[16384];
	snprintf(back, sizeof(back), "%s/back.bin", work);
	for (int r = 0; r < rounds; r++) {
		double t0 = cairn_clock_now();
		if (cairn_s3_put_file(NULL, s3, "bench/cairn.bin", file, NULL) != CAIRN_OK) {
			fprintf(stderr, "%s\n", cairn_error_last());
			return 1;
		}
		c_up = best(c_up, cairn_clock_now() - t0);
		unlink(back);
		t0 = cairn_clock_now();
		if (cairn_s3_get_file(NULL, s3, "bench/cairn.bin", back, NULL) != CAIRN_OK) {
			fprintf(stderr, "%s\n", cairn_error_last());
			return 1;
		}
		c_down = best(c_down, cairn_clock_now() - t0);
		unlink(back);
		snprintf(cmd, sizeof(cmd), "aws --endpoint-url %s s3 cp --only-show-errors '%s' s3://%s/bench/aws.bin", endpoint,
			file, bucket);
		a_up = best(a_up, bench_run_shell(cmd));
		snprintf(cmd, sizeof(cmd), "aws --endpoint-url %s s3 cp --only-show-errors s3://%s/bench/aws.bin '%s' && sync '%s'",
			endpoint, bucket, back, back);
		a_down = best(a_down, bench_run_shell(cmd));
		unlink(back);
		printf("round %d: cairn up %.2f s down %.2f s, aws up %.2f s down %.2f s\n", r + 1, c_up, c_down, a_up,
			a_down);
	}
	printf("upload   (%.0f MB, parts of %s MiB, %d in flight): cairn %.1f MB/s, aws s3 cp %.1f MB/s, ratio %.2f\n", mb,
		argv[6], o.parallelism, mb / c_up, mb / a_up, a_up / c_up);
	printf("download (%.0f MB, fsynced):                    cairn %.1f MB/s, aws s3 cp %.1f MB/s, ratio %.2f\n", mb,
		mb / c_down, mb / a_down, a_down / c_down);
	cairn_s3_delete(s3, "bench/cairn.bin");
	cairn_s3_free(s3);
	return 0;
}
