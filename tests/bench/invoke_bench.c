/* SPDX-License-Identifier: MIT */
/*
 * invoke_bench.c - warm invoke latency and throughput through the mount
 * with the same-fd pattern (write an event, read one response line).
 *
 *   invoke_bench INVOKE STATUS N
 *	N serial invocations on one descriptor, then the floor of a bare
 *	FUSE round trip on the same mount (open+read+close of STATUS).
 *   invoke_bench -c CALLERS -t SECONDS INVOKE...
 *	CALLERS threads, spread round-robin over the INVOKE files, each
 *	with its own descriptor (its own same-fd conversation) for its
 *	whole run; after 5 warm-up calls each, all call as fast as they
 *	can for SECONDS. Prints throughput and per-call latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 5

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

/* The p-th percentile of n sorted latencies. */
static double pct(double *lat, size_t n, int p)
{
	return n ? lat[n * (size_t)p / 100] : 0;
}

static void report(const char *what, double *lat, int n)
{
	double total = 0;
	int i;

	for (i = 0; i < n; i++)
		total += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%s: p50 %.0f us, p99 %.0f us, %.0f/s serial\n", what,
	       pct(lat, (size_t)n, 50), pct(lat, (size_t)n, 99),
	       n / (total / 1e6));
}

/* One invocation on fd: "{}\n" out, one response line back. 0 or -errno. */
static int roundtrip(int fd, char *buf, size_t size)
{
	ssize_t r;

	if (write(fd, "{}\n", 3) != 3)
		return errno ? -errno : -EIO;
	do {
		r = read(fd, buf, size);
	} while (r > 0 && buf[r - 1] != '\n');
	if (r < 0)
		return -errno;
	return r == 0 ? -ENODATA : 0;
}

static int serial(const char *invoke, const char *status, int n)
{
	char buf[65536];
	double *lat;
	int i, fd, r;

	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat) {
		perror("calloc");
		return 1;
	}
	fd = open(invoke, O_RDWR);
	if (fd < 0) {
		perror(invoke);
		free(lat);
		return 1;
	}
	for (i = -10; i < n; i++) {
		double t = now_us();

		r = roundtrip(fd, buf, sizeof(buf));
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", invoke, strerror(-r));
			close(fd);
			free(lat);
			return 1;
		}
		if (i >= 0)
			lat[i] = now_us() - t;
	}
	close(fd);
	report("warm invoke, same fd (C client)", lat, n);
	for (i = 0; i < n; i++) {
		double t = now_us();

		fd = open(status, O_RDONLY);
		if (fd < 0) {
			perror(status);
			free(lat);
			return 1;
		}
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		lat[i] = now_us() - t;
	}
	report("FUSE floor: open+read+close of status", lat, n);
	free(lat);
	return 0;
}

struct caller {
	const char *path;
	pthread_barrier_t *ready, *go;
	double stop;	/* written by main between the two barriers */
	double *lat;	/* one per timed call */
	size_t n, cap;
	int err;	/* -errno of the failure that ended it, or 0 */
	pthread_t thread;
};

static void *caller_run(void *arg)
{
	struct caller *c = arg;
	char buf[65536];
	int fd, i;

	fd = open(c->path, O_RDWR);
	if (fd < 0)
		c->err = -errno;
	for (i = 0; i < WARMUP && !c->err; i++)
		c->err = roundtrip(fd, buf, sizeof(buf));
	pthread_barrier_wait(c->ready);
	pthread_barrier_wait(c->go);
	while (!c->err) {
		double t = now_us();

		if (t >= c->stop)
			break;
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 4096;
			double *p = realloc(c->lat, cap * sizeof(*p));

			if (!p) {
				c->err = -ENOMEM;
				break;
			}
			c->lat = p;
			c->cap = cap;
		}
		c->err = roundtrip(fd, buf, sizeof(buf));
		if (!c->err)
			c->lat[c->n++] = now_us() - t;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int concurrent(int ncallers, double seconds, char **paths, int npaths)
{
	pthread_barrier_t ready, go;
	struct caller *c;
	double t0, t1, *all;
	size_t total = 0, k;
	int i, r, failed = 0;

	c = calloc((size_t)ncallers, sizeof(*c));
	if (!c) {
		perror("calloc");
		return 1;
	}
	r = pthread_barrier_init(&ready, NULL, (unsigned)ncallers + 1);
	if (!r)
		r = pthread_barrier_init(&go, NULL, (unsigned)ncallers + 1);
	if (r) {
		fprintf(stderr, "pthread_barrier_init: %s\n", strerror(r));
		free(c);
		return 1;
	}
	for (i = 0; i < ncallers; i++) {
		c[i].path = paths[i % npaths];
		c[i].ready = &ready;
		c[i].go = &go;
		r = pthread_create(&c[i].thread, NULL, caller_run, &c[i]);
		if (r) {
			fprintf(stderr, "pthread_create: %s\n", strerror(r));
			exit(1);	/* threads are blocked on the barrier */
		}
	}
	/* every caller has warmed up; they read stop after the second
	 * barrier, which orders this write before their reads */
	pthread_barrier_wait(&ready);
	t0 = now_us();
	for (i = 0; i < ncallers; i++)
		c[i].stop = t0 + seconds * 1e6;
	pthread_barrier_wait(&go);
	for (i = 0; i < ncallers; i++)
		pthread_join(c[i].thread, NULL);
	t1 = now_us();
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
	for (i = 0; i < ncallers; i++) {
		if (c[i].err) {
			fprintf(stderr, "caller %d (%s): %s\n", i, c[i].path,
				strerror(-c[i].err));
			failed = 1;
		}
		total += c[i].n;
	}
	all = malloc((total ? total : 1) * sizeof(*all));
	if (!all) {
		perror("malloc");
		exit(1);
	}
	for (i = 0, k = 0; i < ncallers; i++) {
		memcpy(all + k, c[i].lat, c[i].n * sizeof(*all));
		k += c[i].n;
		free(c[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp);
	printf("%d caller%s on %d function%s (own fd each): %.0f invokes/s, "
	       "p50 %.0f us, p99 %.0f us, %zu calls in %.2f s\n",
	       ncallers, ncallers == 1 ? "" : "s", npaths,
	       npaths == 1 ? "" : "s", total / ((t1 - t0) / 1e6),
	       pct(all, total, 50), pct(all, total, 99), total,
	       (t1 - t0) / 1e6);
	free(all);
	free(c);
	return failed;
}

static void usage(void)
{
	fprintf(stderr, "usage: invoke_bench INVOKE STATUS N\n"
			"       invoke_bench -c CALLERS -t SECONDS INVOKE...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 2;
	int callers = 0, opt;

	if (argc == 4 && argv[1][0] != '-')
		return serial(argv[1], argv[2], atoi(argv[3]));
	while ((opt = getopt(argc, argv, "c:t:")) != -1) {
		switch (opt) {
		case 'c':
			callers = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (callers < 1 || seconds <= 0 || optind >= argc)
		usage();
	return concurrent(callers, seconds, argv + optind, argc - optind);
}
