/* SPDX-License-Identifier: MIT */
/*
 * http_bench.c - warm invokes through the Lambda HTTP API with keep-alive
 * libcurl clients: C connections, each its own thread and easy handle
 * (one TCP connection reused for all its requests), N requests in all.
 * Every answer is checked (200, body "{}"), so a fast error is no figure.
 *
 *   http_bench http://127.0.0.1:PORT/2015-03-31/functions/echo/invocations N C
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct body {
	char data[64];
	size_t len;
};

struct worker {
	pthread_t thread;
	const char *url;
	int n;
	double *lat;	/* n latencies, us */
	int errors;
	char why[CURL_ERROR_SIZE + 64];
};

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

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (b->len + len < sizeof(b->data)) {
		memcpy(b->data + b->len, p, len);
		b->len += len;
	} else {
		b->len = sizeof(b->data); /* too long: wrong answer */
	}
	return len;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct curl_slist *hdrs = NULL;
	char err[CURL_ERROR_SIZE] = "";
	struct body b;
	long status;
	CURL *c;
	int i;

	c = curl_easy_init();
	if (!c) {
		w->errors = w->n;
		snprintf(w->why, sizeof(w->why), "curl_easy_init failed");
		return NULL;
	}
	/* as the SDKs send it: no Expect: 100-continue round trip */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	for (i = 0; i < w->n; i++) {
		double t = now_us();
		CURLcode rc;

		b.len = 0;
		rc = curl_easy_perform(c);
		w->lat[i] = now_us() - t;
		status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK || status != 200 || b.len != 2 ||
		    memcmp(b.data, "{}", 2)) {
			if (!w->errors++)
				snprintf(w->why, sizeof(w->why),
					 "status %ld, %s", status,
					 rc != CURLE_OK ? err : "wrong body");
		}
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return NULL;
}

/* Runs n requests over conns connections; prints one line unless
 * quiet. Returns 0, or 1 after any error. */
static int bench(const char *url, int n, int conns, bool quiet)
{
	struct worker *w = calloc((size_t)conns, sizeof(*w));
	double *all = calloc((size_t)n, sizeof(*all)), t0, secs;
	int i, k, per = n / conns, errors = 0, total = 0;

	if (!w || !all)
		return 1;
	t0 = now_us();
	for (i = 0; i < conns; i++) {
		w[i].url = url;
		w[i].n = per;
		w[i].lat = all + (size_t)i * per;
		if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "http_bench: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < conns; i++) {
		pthread_join(w[i].thread, NULL);
		errors += w[i].errors;
		if (w[i].errors)
			fprintf(stderr, "http_bench: %d errors, first: %s\n",
				w[i].errors, w[i].why);
	}
	secs = (now_us() - t0) / 1e6;
	total = per * conns;
	qsort(all, (size_t)total, sizeof(*all), cmp);
	k = total * 99 / 100;
	if (!quiet)
		printf("warm invoke over HTTP, keep-alive libcurl, %2d "
		       "connection%s: %.0f/s, p50 %.0f us, p99 %.0f us "
		       "(%d requests)\n",
		       conns, conns == 1 ? "" : "s", total / secs,
		       all[total / 2], all[k], total);
	free(all);
	free(w);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	int n, r;

	if (argc != 4 || (n = atoi(argv[2])) < 1 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: http_bench URL N CONNECTIONS\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0)
		return 1;
	/* warm-up: every environment the concurrent run uses exists */
	r = bench(argv[1], 20 * atoi(argv[3]), atoi(argv[3]), true);
	r |= bench(argv[1], n, 1, false);
	r |= bench(argv[1], n, atoi(argv[3]), false);
	curl_global_cleanup();
	return r;
}
