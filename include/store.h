/* SPDX-License-Identifier: MIT */
/*
 * store.h - the sqlite database (lambdafs.db): functions, layers and their
 * versions. The only module that includes <sqlite3.h>. It knows no face:
 * records in, records out. WAL mode, synchronous=FULL, versioned
 * migrations kept in a table (schema_version). All functions are
 * thread-safe (one connection, serialised by a mutex inside).
 *
 * Errors: 0 or -errno; SQLITE_* codes are translated in one table
 * (SQLITE_FULL -> -ENOSPC, SQLITE_BUSY/LOCKED -> -EBUSY,
 * SQLITE_CONSTRAINT -> -EEXIST, SQLITE_IOERR -> -EIO, SQLITE_NOMEM ->
 * -ENOMEM, SQLITE_READONLY -> -EROFS, SQLITE_CORRUPT/NOTADB -> -EUCLEAN,
 * anything else -> -EIO) and logged once, with sqlite's message, here.
 */
#ifndef LAMBDAFS_STORE_H
#define LAMBDAFS_STORE_H

#include "common.h"

struct store;

/* One function. Strings are borrowed for the duration of a call. */
struct store_function {
	const char *name;
	const char *config;	   /* JSON object: the settable keys */
	const char *code_digest;   /* hex SHA-256 of code.zip, NULL if none */
	int64_t code_size;	   /* bytes of code.zip, 0 if none */
	int64_t created_ms;	   /* when mkdir'd */
	int64_t modified_ms;	   /* LastModified */
	int64_t code_mtime_ms;	   /* last successful deploy, 0 if none */
	const char *update_status; /* "Successful" | "Failed" */
	const char *update_reason; /* NULL or the reason of the failure */
};

/* One layer version. */
struct store_layer_version {
	const char *name;
	int64_t version;	/* 1, 2, ... */
	const char *digest;	/* hex SHA-256 of the zip */
	int64_t size;		/* zip bytes */
	int64_t created_ms;
	const char *meta;	/* JSON object: Description, CompatibleRuntimes,
				   CompatibleArchitectures, LicenseInfo */
	bool deleted;		/* deleted from listings, kept for users */
};

/*
 * Opens (creating if needed) the database at path and applies pending
 * migrations. On failure returns -errno and sets *cause (free it).
 * Caller owns *out (store_close).
 */
int store_open(const char *path, struct store **out, char **cause);
/* Closes the database; NULL-safe. */
void store_close(struct store *st);
/* "3.40.1" */
const char *store_sqlite_version(void);

/* Inserts or replaces the function named f->name. */
int store_function_put(struct store *st, const struct store_function *f);
/* Deletes a function. -ENOENT if absent. */
int store_function_delete(struct store *st, const char *name);
typedef int (*store_function_fn)(const struct store_function *f, void *arg);
/* Calls fn for every function, in name order; stops and returns fn's
 * result when it is non-zero. Records are borrowed during the call. */
int store_function_foreach(struct store *st, store_function_fn fn, void *arg);

/* Creates a layer name (no versions yet). -EEXIST if present. */
int store_layer_add(struct store *st, const char *name, int64_t created_ms);
/* Deletes a layer name and all its versions. -ENOENT if absent. */
int store_layer_remove(struct store *st, const char *name);
typedef int (*store_layer_fn)(const char *name, int64_t created_ms,
			      void *arg);
int store_layer_foreach(struct store *st, store_layer_fn fn, void *arg);

/*
 * Inserts layer version v->version of v->name (the layer must exist:
 * -ENOENT otherwise; -EEXIST if that version exists).
 */
int store_layer_version_put(struct store *st,
			    const struct store_layer_version *v);
/* Marks a version deleted (kept for functions that use it). -ENOENT. */
int store_layer_version_mark_deleted(struct store *st, const char *name,
				     int64_t version);
/* Highest version ever published for name, deleted ones included; 0 if
 * none. Versions are never reused, as on AWS. */
int64_t store_layer_version_max(struct store *st, const char *name);
typedef int (*store_layer_version_fn)(const struct store_layer_version *v,
				      void *arg);
/* Every version of every layer, deleted ones included, ordered by name
 * then version. */
int store_layer_version_foreach(struct store *st, store_layer_version_fn fn,
				void *arg);

/* --- invocations: history and the asynchronous queue --- */

/* One invocation. Blobs and strings are borrowed for a call. */
struct store_invocation {
	const char *id;		/* request id */
	const char *function;
	const char *type;	/* "RequestResponse" | "Event" */
	bool queued;		/* an Event not yet done (else done) */
	int attempts;
	int64_t queued_ms, start_ms, end_ms;
	const void *event;	/* NULL on update: the stored one stays */
	size_t event_len;
	const void *response;	/* NULL if none */
	size_t response_len;
	const void *logs;
	size_t logs_len;
	const char *report;	/* report.json text or NULL */
};

/* Inserts or updates (by id; the event is kept) n invocations in one
 * transaction: all or none. */
int store_invocations_put(struct store *st, const struct store_invocation *v,
			  size_t n);
/* Deletes done invocations of function beyond the newest keep. */
int store_invocations_trim(struct store *st, const char *function,
			   int64_t keep);
/* Deletes every invocation of function. */
int store_invocations_forget(struct store *st, const char *function);
typedef int (*store_invocation_fn)(const struct store_invocation *v,
				   void *arg);
/*
 * Calls fn for every invocation, oldest first. With queued_only, only
 * queued ones, with their event; otherwise every one with the *_len
 * fields and the report but no blobs.
 */
int store_invocations_foreach(struct store *st, bool queued_only,
			      store_invocation_fn fn, void *arg);
/* Part 0 event, 1 response, 2 logs of invocation id: *out malloc'd
 * (NUL-terminated, *len bytes). -ENOENT. */
int store_invocation_part(struct store *st, const char *id, int part,
			  char **out, size_t *len);

#endif
