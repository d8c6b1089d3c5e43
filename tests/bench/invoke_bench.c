/* SPDX-License-Identifier: MIT */
/*
 * invoke_bench.c - warm invoke latency through the mount with the
 * same-fd pattern (write an event, read one response line), and the floor
 * of a bare FUSE round trip on the same mount (read `status`).
 *
 *   invoke_bench MNT/functions/f/invoke MNT/status N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *lat, int n)
{
	double total = 0;
	int i;

	for (i = 0; i < n; i++)
		total += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%s: p50 %.0f us, p99 %.0f us, %.0f/s serial\n", what,
	       lat[n / 2], lat[n * 99 / 100], n / (total / 1e6));
}

int main(int argc, char **argv)
{
	char buf[65536];
	double *lat;
	int n, i, fd;

	if (argc != 4) {
		fprintf(stderr, "usage: invoke_bench INVOKE STATUS N\n");
		return 2;
	}
	n = atoi(argv[3]);
	lat = calloc((size_t)n, sizeof(*lat));
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (i = -10; i < n; i++) {
		double t = now_us();
		ssize_t r;

		if (write(fd, "{}\n", 3) != 3) {
			perror("write");
			return 1;
		}
		do {
			r = read(fd, buf, sizeof(buf));
		} while (r > 0 && buf[r - 1] != '\n');
		if (r <= 0) {
			perror("read");
			return 1;
		}
		if (i >= 0)
			lat[i] = now_us() - t;
	}
	close(fd);
	report("warm invoke, same fd (C client)", lat, n);
	for (i = 0; i < n; i++) {
		double t = now_us();

		fd = open(argv[2], O_RDONLY);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		lat[i] = now_us() - t;
	}
	report("FUSE floor: open+read+close of status", lat, n);
	free(lat);
	return 0;
}
