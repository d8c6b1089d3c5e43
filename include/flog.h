/* SPDX-License-Identifier: MIT */
/*
 * flog.h - a function's CloudWatch-style log file: one event per line,
 * "<ISO-8601 UTC with ms> <message>" (DESIGN.md §2 logs), appended with
 * O_APPEND so readers and `: > logs` never see a torn line. Rotated to
 * "<file>.1" past FLOG_MAX_BYTES. Thread-safe.
 */
#ifndef LAMBDAFS_FLOG_H
#define LAMBDAFS_FLOG_H

#include <pthread.h>

#include "common.h"

#define FLOG_MAX_BYTES (32LL * 1024 * 1024)
#define FLOG_MAX_LINE (256 * 1024) /* longer lines are split */

struct flog;

/* Opens (creating) STATE/logs/functions/NAME.log. Caller owns *out. */
int flog_open(const char *state_dir, const char *name, struct flog **out);
void flog_close(struct flog *l);
/* The file's path (borrowed until flog_close). */
const char *flog_path(const struct flog *l);
/* Path a function's log has, whether or not it is open (caller frees). */
char *flog_path_for(const char *state_dir, const char *name);

/* Appends one event with the current time; embedded newlines become \r,
 * as AWS runtimes do, so one call is one line. */
/*
 * A tap copies the lines written through it, stamped exactly as in the
 * file, into memory: the logs of one invocation. It keeps at most the
 * last FLOG_TAP_MAX bytes, dropping whole lines from the front. Taps are
 * thread-safe; a tap that is not armed drops what it is given.
 */
#define FLOG_TAP_MAX (64 * 1024)

struct flog_tap {
	pthread_mutex_t lock;
	bool armed;
	char *data;
	size_t len;
};

void flog_tap_init(struct flog_tap *t);
void flog_tap_destroy(struct flog_tap *t);
/* Empties the tap and starts keeping lines. */
void flog_tap_arm(struct flog_tap *t);
/* Stops keeping lines and hands over what was kept (free it; may be NULL). */
char *flog_tap_take(struct flog_tap *t, size_t *len);

/* Writes one line ("<ISO time> msg\n"; raw: msg as is) to the file and,
 * if tap is not NULL, to the tap. */
void flog_write(struct flog *l, struct flog_tap *tap, const char *msg,
		size_t len, bool raw);
void flog_tap_printf(struct flog *l, struct flog_tap *tap, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

void flog_line(struct flog *l, const char *msg, size_t len);
/* Appends a line that already starts with its own timestamp. */
void flog_raw(struct flog *l, const char *msg, size_t len);
void flog_printf(struct flog *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
