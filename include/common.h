/* SPDX-License-Identifier: MIT */
/*
 * common.h - included first by every source file: system headers we always
 * need, ASSERT/BUG that survive NDEBUG, and banned.h last.
 */
#ifndef LAMBDAFS_COMMON_H
#define LAMBDAFS_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Limits shared by the faces and the core (LAMBDA-CONTRACT.md §5). */
#define LAMBDAFS_MAX_ZIP (50ULL * 1024 * 1024)	   /* zipped upload */
#define LAMBDAFS_MAX_UNPACKED (250ULL * 1024 * 1024) /* code + layers */
#define LAMBDAFS_MAX_ENTRIES 20000		   /* entries in one zip */
#define LAMBDAFS_MAX_LAYERS 5
#define LAMBDAFS_MAX_CONFIG (256 * 1024) /* config.json write */
#define LAMBDAFS_REGION "us-east-1"
#define LAMBDAFS_ACCOUNT "000000000000"

void bug_fl(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)
#define ASSERT(x)                                                  \
	do {                                                       \
		if (!(x))                                          \
			BUG("assertion failed: %s", #x);           \
	} while (0)

#include "banned.h"

#endif
