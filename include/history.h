/* SPDX-License-Identifier: MIT */
/*
 * history.h - what invocations/<id>/ shows, and the durable part of the
 * asynchronous queue. Each function keeps its newest --history finished
 * invocations (event, response, logs, report.json) plus every queued
 * Event. Records live in the store (its own sqlite connection); a small
 * index of them lives in memory, so listing is cheap.
 *
 * Finished invocations are written in the background by one writer
 * thread, in batches, so recording costs an invocation a copy and no
 * disk wait; memory held for unwritten records is bounded (history_add
 * waits when the writer is that far behind). Queued Events are written
 * before history_enqueue returns.
 */
#ifndef LAMBDAFS_HISTORY_H
#define LAMBDAFS_HISTORY_H

#include "common.h"

struct history;

enum history_part {
	HISTORY_EVENT,
	HISTORY_RESPONSE,
	HISTORY_LOGS,
	HISTORY_REPORT,
	HISTORY_NPARTS
};

/* One invocation, in or out. Blobs are borrowed for a call. */
struct history_record {
	const char *id;
	const char *function;
	const char *type;	/* "RequestResponse" | "Event" */
	bool queued;
	int attempts;
	int64_t queued_ms, start_ms, end_ms;
	const char *part[HISTORY_NPARTS];
	size_t len[HISTORY_NPARTS];
};

/*
 * Opens the history of the state directory (STATE/lambdafs.db), loads its
 * index and starts the writer. keep = invocations kept per function
 * (0 keeps none; queued Events are always kept). *cause on failure.
 */
int history_open(const char *state_dir, int keep, struct history **out,
		 char **cause);
/* Writes what is pending, stops the writer, frees everything. */
void history_close(struct history *h);

/* Records a finished invocation (copied; written soon). */
void history_add(struct history *h, const struct history_record *r);
/* Records a queued Event; returns once it is on disk. -ENOSPC, -EIO. */
int history_enqueue(struct history *h, const struct history_record *r);
/* Calls fn for every queued Event (with its event), oldest first. */
int history_foreach_queued(struct history *h,
			   int (*fn)(const struct history_record *r,
				     void *arg),
			   void *arg);
/* Forgets every invocation of a deleted function. */
void history_forget(struct history *h, const char *function);

/* What a directory listing needs of one invocation. */
struct history_item {
	char id[37];
	int64_t mtime_ms;		/* end (or queued) time */
	size_t len[HISTORY_NPARTS];
};

/* The function's invocations, newest first: malloc'd array, count. */
size_t history_list(struct history *h, const char *function,
		    struct history_item **out);
/* One of them. -ENOENT. */
int history_stat(struct history *h, const char *function, const char *id,
		 struct history_item *out);
/* A part of one (malloc'd, NUL-terminated). -ENOENT, -EIO. */
int history_read(struct history *h, const char *function, const char *id,
		 enum history_part part, char **out, size_t *len);

#endif
