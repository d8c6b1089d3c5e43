/* SPDX-License-Identifier: MIT */
/*
 * tap.h - a tiny TAP producer for unit tests run by prove.
 *
 *   plan_no_plan(); ok(x == 1, "x is one"); is_int(a, b, "..");
 *   is_str(a, b, ".."); return done_testing();
 */
#ifndef LAMBDAFS_TAP_H
#define LAMBDAFS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void plan_no_plan(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
}

static inline int ok_at(int cond, const char *file, int line,
			const char *name)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return cond;
}

#define ok(cond, name) ok_at(!!(cond), __FILE__, __LINE__, name)

#define is_int(got, want, name)                                           \
	do {                                                              \
		long long g_ = (long long)(got), w_ = (long long)(want);  \
		if (!ok_at(g_ == w_, __FILE__, __LINE__, name))           \
			printf("#   got %lld, want %lld\n", g_, w_);      \
	} while (0)

#define is_str(got, want, name)                                           \
	do {                                                              \
		const char *g_ = (got), *w_ = (want);                     \
		int c_ = (g_ && w_) ? !strcmp(g_, w_) : g_ == w_;         \
		if (!ok_at(c_, __FILE__, __LINE__, name))                 \
			printf("#   got '%s', want '%s'\n",               \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");   \
	} while (0)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
