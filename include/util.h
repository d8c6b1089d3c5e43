/* SPDX-License-Identifier: MIT */
/*
 * util.h - small helpers: allocation that cannot fail, name validation,
 * directory and file chores, time formatting, JSON completeness scanning.
 */
#ifndef LAMBDAFS_UTIL_H
#define LAMBDAFS_UTIL_H

#include <time.h>

#include <pthread.h>
#include <signal.h>

#include "common.h"

/* x*alloc: fatal on OOM; only for small fixed-size bookkeeping. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Function names: [A-Za-z0-9_-]{1,64}. */
bool util_is_function_name(const char *s);
/* Layer names: [A-Za-z0-9_-]{1,140}. */
bool util_is_layer_name(const char *s);

/* mkdir -p with mode. Returns 0 or -errno. */
int util_mkdir_p(const char *path, mode_t mode);
/* fsync(2) a directory by path. Returns 0 or -errno. */
int util_fsync_dir(const char *path);
/* rm -rf path (no error if it does not exist). Returns 0 or -errno. */
int util_rm_rf(const char *path);
/* Reads a whole small file into a malloc'd NUL-terminated string (free it).
 * Returns NULL and sets errno on failure or if larger than max. */
char *util_read_file(const char *path, size_t max, size_t *len);

/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms(void);
/* Monotonic clock in nanoseconds. */
int64_t util_mono_ns(void);
/* Formats ms since the epoch as AWS LastModified: 2026-11-23T08:00:00.000+0000 */
void util_format_aws_time(int64_t ms, char out[40]);
/* Formats ms since the epoch as ISO-8601 UTC: 2026-11-23T08:00:00.000Z */
void util_format_iso_time(int64_t ms, char out[40]);

/*
 * Scans p[0..n) for one complete JSON value (object, array, string, number,
 * literal) after optional whitespace, tracking strings and nesting only (the
 * value is not validated; feed it to jansson afterwards).
 * Returns 1 when a value is complete and sets *end to the offset just past
 * it; 0 when more input is needed (or the input is only whitespace);
 * -1 when the input cannot start a JSON value.
 */
int util_json_scan(const char *p, size_t n, size_t *end);

struct json_t;
/* j as indented JSON text with a trailing newline, as the generated files
 * show it; caller frees. NULL (ENOMEM) if it cannot be encoded. */
char *util_json_pretty(const struct json_t *j, size_t *len);

/* A random UUID v4 string (36 chars + NUL). */
void util_uuid(char out[37]);

/*
 * Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, saving the old
 * mask in *saved: threads created until util_signals_restore inherit the
 * block, so those signals reach the FUSE loop (which unmounts) and never
 * a worker thread.
 */
/*
 * After writing len bytes at off of a file that will be synced soon:
 * starts the disk writing each completed 8 MiB stretch now
 * (sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait), so the
 * final fsync/syncfs waits only for the tail. Errors are ignored: the
 * sync reports them.
 */
void util_start_writeback(int fd, int64_t off, size_t len);
/* pthread_cond_timedwait for at most ns nanoseconds from now (the
 * condition uses the default CLOCK_REALTIME); returns its result. */
int util_cond_wait_ns(pthread_cond_t *cond, pthread_mutex_t *mutex,
		      int64_t ns);
/* A Lambda error document {"errorMessage": ..., "errorType": type}
 * (compact JSON, malloc'd; NULL only if out of memory). */
char *util_error_json(const char *type, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void util_signals_block(sigset_t *saved);
void util_signals_restore(const sigset_t *saved);

#endif
