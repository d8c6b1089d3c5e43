/* SPDX-License-Identifier: MIT */
/*
 * flog.h - a function's CloudWatch-style log file: one event per line,
 * "<ISO-8601 UTC with ms> <message>" (DESIGN.md §2 logs), appended with
 * O_APPEND so readers and `: > logs` never see a torn line. Rotated to
 * "<file>.1" past FLOG_MAX_BYTES. Thread-safe.
 */
#ifndef LAMBDAFS_FLOG_H
#define LAMBDAFS_FLOG_H

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
void flog_line(struct flog *l, const char *msg, size_t len);
/* Appends a line that already starts with its own timestamp. */
void flog_raw(struct flog *l, const char *msg, size_t len);
void flog_printf(struct flog *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
