/* SPDX-License-Identifier: MIT */
/*
 * buf.h - growable byte buffer with a hard cap set at init (curl dynbuf).
 * Sizes chosen by outsiders go through here: going over the cap is -EFBIG,
 * never an unbounded allocation. The data is always NUL-terminated.
 */
#ifndef LAMBDAFS_BUF_H
#define LAMBDAFS_BUF_H

#include "common.h"

struct buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes used, excluding the terminating NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* hard cap on len */
};

/* Initialises an empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
/* Appends n bytes. Returns 0, -EFBIG past the cap or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
/* printf-style append; same errors as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Hands the data to the caller (free() it); the buffer becomes empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
