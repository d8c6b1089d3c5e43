/* SPDX-License-Identifier: MIT */
/*
 * store.c - the sqlite database lambdafs.db (see store.h). The only file
 * that includes <sqlite3.h>.
 *
 * Design notes
 *
 * Connection. One connection per struct store, opened with
 * SQLITE_OPEN_NOFOLLOW (a symlink at the path is refused: -ELOOP) and
 * SQLITE_OPEN_EXRESCODE (every code we see is an extended one, so a
 * foreign-key failure can be told apart from a duplicate key). Then
 * busy_timeout, journal_mode=WAL, synchronous=FULL (a commit has reached
 * the disk when it returns: DESIGN.md §5 says everything survives a
 * SIGKILL), foreign_keys=ON (layer_versions cascade with their layer) and
 * the defensive flag (no writable_schema tricks from a crafted file).
 *
 * Migrations. schema_version holds one row: the number of entries of
 * store_migrations[] applied so far. store_open applies the missing ones
 * in order, each in its own BEGIN IMMEDIATE transaction together with the
 * bump of schema_version, so a crash leaves the database at an exact
 * version and a second process opening concurrently waits instead of
 * applying a step twice. To change the schema, APPEND a string to
 * store_migrations[] (version = index + 1); never edit or reorder an entry
 * that has shipped, and never reuse a table or column name a later
 * binary might still read. A database whose version is higher than
 * ARRAY_SIZE(store_migrations) was written by a newer lambdafs and is
 * refused (-ENOTSUP) rather than half understood. A file with tables but
 * no schema_version is someone else's database: -EUCLEAN.
 *
 * Layer version numbers. Deleting a version only sets its deleted flag,
 * so store_layer_version_max (MAX over the rows, deleted ones included)
 * never hands out a number twice while the layer name exists. Removing
 * the layer name deletes its rows (ON DELETE CASCADE), so numbering
 * RESTARTS at 1 when the name is created again. That is a choice: it
 * matches registry.c, which numbers from the versions it loaded. Never
 * reusing numbers across re-creation would need a high-water-mark table
 * (a migration) and registry.c seeding from store_layer_version_max.
 *
 * Statements and locking. Every statement used after open is prepared
 * once (SQLITE_PREPARE_PERSISTENT) in store_open, reused with
 * sqlite3_reset/sqlite3_clear_bindings and finalised in store_close. They
 * and the connection's error state are protected by st->lock, a plain
 * (non-recursive) mutex held for one statement and never across a call
 * into the caller. The foreach functions therefore copy the result set
 * (sqlite3_value_dup) under the lock, drop it, and only then run the
 * callbacks: a callback may call any store function, and sees a snapshot
 * taken before the first call. The connection is also opened FULLMUTEX,
 * which costs little and keeps sqlite safe should that rule be broken.
 *
 * Errors. store_errno() is the one table from SQLITE_* to -errno.
 * Faults are logged once, here, with sqlite's message (store_fail);
 * constraint failures are answers (-EEXIST, -ENOENT) and are logged at
 * debug level only. A full disk gives SQLITE_FULL -> -ENOSPC; every write
 * is one statement in autocommit mode (a layer removal and its cascade
 * included), so sqlite rolls it back and the previous rows stay intact.
 * Errors while opening are not logged: they go into *cause, which the
 * caller shows once.
 */
#include <pthread.h>
#include <sqlite3.h>

#include "common.h"
#include "store.h"
#include "log.h"
#include "util.h"

/* How long a statement waits for another process's lock, in ms. */
#define STORE_BUSY_MS 5000

/*
 * Schema migrations, applied in order; entry i takes the database from
 * version i to version i + 1. Append only (see the notes above).
 */
static const char *const store_migrations[] = {
	/* 1: functions, layers, layer versions */
	"CREATE TABLE functions ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  config TEXT NOT NULL,"
	"  code_digest TEXT,"
	"  code_size INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL DEFAULT 0,"
	"  modified_ms INTEGER NOT NULL DEFAULT 0,"
	"  code_mtime_ms INTEGER NOT NULL DEFAULT 0,"
	"  update_status TEXT,"
	"  update_reason TEXT);"
	"CREATE TABLE layers ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  created_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE layer_versions ("
	"  name TEXT NOT NULL REFERENCES layers(name) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  digest TEXT,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL DEFAULT 0,"
	"  meta TEXT,"
	"  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
	"  PRIMARY KEY (name, version));",
	/* 2: invocation history and the asynchronous queue */
	"CREATE TABLE invocations ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  function TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'done')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  queued_ms INTEGER NOT NULL DEFAULT 0,"
	"  start_ms INTEGER NOT NULL DEFAULT 0,"
	"  end_ms INTEGER NOT NULL DEFAULT 0,"
	"  event BLOB NOT NULL,"
	"  response BLOB,"
	"  logs BLOB,"
	"  report TEXT);"
	"CREATE INDEX invocations_by_function ON invocations (function, seq);",
};

enum store_stmt {
	S_FUNCTION_PUT,
	S_FUNCTION_DELETE,
	S_FUNCTION_LIST,
	S_LAYER_ADD,
	S_LAYER_REMOVE,
	S_LAYER_LIST,
	S_VERSION_PUT,
	S_VERSION_MARK_DELETED,
	S_VERSION_MAX,
	S_VERSION_LIST,
	S_INV_PUT,
	S_INV_TRIM,
	S_INV_FORGET,
	S_INV_INDEX,
	S_INV_PART,
	S_INV_QUEUED,
	S_COUNT
};

/*
 * Column order of the *_LIST statements is what the foreach functions
 * read; keep them in step.
 */
static const char *const store_sql[S_COUNT] = {
	[S_FUNCTION_PUT] =
		"INSERT INTO functions (name, config, code_digest, code_size,"
		" created_ms, modified_ms, code_mtime_ms, update_status,"
		" update_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT(name) DO UPDATE SET config = excluded.config,"
		" code_digest = excluded.code_digest,"
		" code_size = excluded.code_size,"
		" created_ms = excluded.created_ms,"
		" modified_ms = excluded.modified_ms,"
		" code_mtime_ms = excluded.code_mtime_ms,"
		" update_status = excluded.update_status,"
		" update_reason = excluded.update_reason",
	[S_FUNCTION_DELETE] = "DELETE FROM functions WHERE name = ?1",
	[S_FUNCTION_LIST] =
		"SELECT name, config, code_digest, code_size, created_ms,"
		" modified_ms, code_mtime_ms, update_status, update_reason"
		" FROM functions ORDER BY name",
	[S_LAYER_ADD] = "INSERT INTO layers (name, created_ms) VALUES (?1, ?2)",
	[S_LAYER_REMOVE] = "DELETE FROM layers WHERE name = ?1",
	[S_LAYER_LIST] = "SELECT name, created_ms FROM layers ORDER BY name",
	[S_VERSION_PUT] =
		"INSERT INTO layer_versions (name, version, digest, size,"
		" created_ms, meta, deleted)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_VERSION_MARK_DELETED] =
		"UPDATE layer_versions SET deleted = 1"
		" WHERE name = ?1 AND version = ?2",
	[S_VERSION_MAX] =
		"SELECT coalesce(max(version), 0) FROM layer_versions"
		" WHERE name = ?1",
	[S_VERSION_LIST] =
		"SELECT name, version, digest, size, created_ms, meta, deleted"
		" FROM layer_versions ORDER BY name, version",
	[S_INV_PUT] =
		"INSERT INTO invocations (id, function, type, state, attempts,"
		" queued_ms, start_ms, end_ms, event, response, logs, report)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
		" ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
		" attempts = excluded.attempts, start_ms = excluded.start_ms,"
		" end_ms = excluded.end_ms, response = excluded.response,"
		" logs = excluded.logs, report = excluded.report",
	[S_INV_TRIM] =
		"DELETE FROM invocations WHERE function = ?1 AND state = 'done'"
		" AND seq NOT IN (SELECT seq FROM invocations"
		" WHERE function = ?1 AND state = 'done'"
		" ORDER BY seq DESC LIMIT ?2)",
	[S_INV_FORGET] = "DELETE FROM invocations WHERE function = ?1",
	/* length() of a blob reads its size, not its content */
	[S_INV_INDEX] =
		"SELECT id, function, type, state, attempts, queued_ms,"
		" start_ms, end_ms, length(event), length(response),"
		" length(logs), report FROM invocations ORDER BY seq",
	/* CASE evaluates one branch: only that column is read */
	[S_INV_PART] =
		"SELECT CASE ?2 WHEN 0 THEN event WHEN 1 THEN response"
		" ELSE logs END FROM invocations WHERE id = ?1",
	[S_INV_QUEUED] =
		"SELECT id, function, type, state, attempts, queued_ms,"
		" start_ms, end_ms, event FROM invocations"
		" WHERE state = 'queued' ORDER BY seq",
};

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;		/* serialises everything below */
	sqlite3_stmt *stmt[S_COUNT];	/* protected by lock */
};

/* A copied result set: nval values, ncol per row, row-major. */
struct store_rows {
	sqlite3_value **v;
	size_t nval;
	size_t cap;
	size_t ncol;
};

/*
 * The one table from SQLITE_* to -errno. Extended codes are matched
 * first, then the primary code; anything else is -EIO. quiet entries are
 * answers for the caller rather than faults, and are not warned about.
 */
static const struct {
	int code;
	int err;
	bool quiet;
} store_errors[] = {
	{ SQLITE_CONSTRAINT_FOREIGNKEY, -ENOENT, true }, /* no such layer */
	{ SQLITE_CONSTRAINT_NOTNULL, -EINVAL, false },
	{ SQLITE_CONSTRAINT_CHECK, -EINVAL, false },
	{ SQLITE_CONSTRAINT, -EEXIST, true },
	{ SQLITE_CANTOPEN_SYMLINK, -ELOOP, false },
	{ SQLITE_CANTOPEN, -EIO, false }, /* the system errno if known */
	{ SQLITE_FULL, -ENOSPC, false },
	{ SQLITE_BUSY, -EBUSY, false },
	{ SQLITE_LOCKED, -EBUSY, false },
	{ SQLITE_IOERR, -EIO, false },
	{ SQLITE_NOMEM, -ENOMEM, false },
	{ SQLITE_READONLY, -EROFS, false },
	{ SQLITE_CORRUPT, -EUCLEAN, false },
	{ SQLITE_NOTADB, -EUCLEAN, false },
	{ SQLITE_TOOBIG, -E2BIG, false },
};

static int store_errno(sqlite3 *db, int rc, bool *quiet)
{
	size_t i;
	int pass, code, sys;

	*quiet = false;
	for (pass = 0; pass < 2; pass++) {
		code = pass ? (rc & 0xff) : rc;
		for (i = 0; i < ARRAY_SIZE(store_errors); i++) {
			if (store_errors[i].code != code)
				continue;
			*quiet = store_errors[i].quiet;
			if (code == SQLITE_CANTOPEN && db) {
				sys = sqlite3_system_errno(db);
				if (sys > 0)
					return -sys;
			}
			return store_errors[i].err;
		}
	}
	return -EIO;
}

/*
 * Translates rc, logging "cannot <what> '<subject>': <sqlite message>"
 * unless the code is an expected answer. Called with st->lock held, before
 * the statement is reset (so the message is still the right one).
 */
static int store_fail(struct store *st, int rc, const char *what,
		      const char *subject)
{
	bool quiet;
	int err = store_errno(st->db, rc, &quiet);
	const char *msg = sqlite3_errmsg(st->db);

	if (quiet)
		log_debug("cannot %s '%s': %s", what,
			  subject ? subject : "", msg);
	else if (subject)
		log_warnx("cannot %s '%s': %s", what, subject, msg);
	else
		log_warnx("cannot %s: %s", what, msg);
	return err;
}

/*
 * Binds one argument per character of fmt: 't' const char * (NULL binds
 * NULL; borrowed until the reset), 'l' int64_t, 'b' a blob given as
 * const void * and size_t (NULL binds NULL).
 */
static int store_bindv(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	const char *t;
	int i, rc = SQLITE_OK;

	for (i = 0; fmt[i] && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 't':
			t = va_arg(ap, const char *);
			rc = sqlite3_bind_text(s, i + 1, t, -1, SQLITE_STATIC);
			break;
		case 'l':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 'b': /* const void *, size_t; NULL binds NULL */
			t = va_arg(ap, const char *);
			rc = sqlite3_bind_blob64(s, i + 1, t ? t : "",
						 va_arg(ap, size_t),
						 SQLITE_STATIC);
			if (!t && rc == SQLITE_OK)
				rc = sqlite3_bind_null(s, i + 1);
			break;
		default:
			BUG("bad bind format '%c'", fmt[i]);
		}
	}
	return rc;
}

static int store_bind(sqlite3_stmt *s, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_bindv(s, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Runs prepared statement id with the arguments described by fmt, under
 * st->lock. With val == NULL the statement is a write: returns the number
 * of rows it changed, or -errno. Otherwise it is a query for one value:
 * *val gets column 0 of the first row and the result is 0 or -errno.
 */
static int store_run(struct store *st, enum store_stmt id, int64_t *val,
		     const char *what, const char *subject, const char *fmt,
		     ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc, ret;

	pthread_mutex_lock(&st->lock);
	s = st->stmt[id];
	va_start(ap, fmt);
	rc = store_bindv(s, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && val) {
		*val = sqlite3_column_int64(s, 0);
		ret = 0;
	} else if (rc == SQLITE_DONE && !val) {
		ret = sqlite3_changes(st->db);
	} else if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		BUG("statement %d: unexpected result %d", (int)id, rc);
	} else {
		ret = store_fail(st, rc, what, subject);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static void store_rows_free(struct store_rows *r)
{
	size_t i;

	for (i = 0; i < r->nval; i++)
		sqlite3_value_free(r->v[i]);
	free(r->v);
	r->v = NULL;
	r->nval = r->cap = 0;
}

static int store_rows_push(struct store_rows *r, sqlite3_value *v)
{
	sqlite3_value **p;
	size_t cap;

	if (r->nval == r->cap) {
		cap = r->cap ? 2 * r->cap : 64;
		p = reallocarray(r->v, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->v = p;
		r->cap = cap;
	}
	r->v[r->nval++] = v;
	return 0;
}

/*
 * Copies every row of query id into *r under st->lock. The copies are
 * protected values that belong to no connection: they can be read after
 * the lock is dropped. Returns 0 or -errno (and *r is then empty).
 */
static int store_snapshot(struct store *st, enum store_stmt id,
			  const char *what, struct store_rows *r,
			  const char *fmt, ...)
{
	sqlite3_stmt *s;
	sqlite3_value *v;
	va_list ap;
	int rc = SQLITE_OK, ret = 0, c;

	pthread_mutex_lock(&st->lock);
	s = st->stmt[id];
	r->ncol = sqlite3_column_count(s);
	va_start(ap, fmt);
	rc = store_bindv(s, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK)
		ret = store_fail(st, rc, what, NULL);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (c = 0; c < (int)r->ncol && !ret; c++) {
			v = sqlite3_value_dup(sqlite3_column_value(s, c));
			if (!v || store_rows_push(r, v)) {
				sqlite3_value_free(v);
				log_warnx("cannot %s: out of memory", what);
				ret = -ENOMEM;
			}
		}
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_fail(st, rc, what, NULL);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	pthread_mutex_unlock(&st->lock);
	if (ret)
		store_rows_free(r);
	return ret;
}

static size_t store_rows_count(const struct store_rows *r)
{
	return r->ncol ? r->nval / r->ncol : 0;
}

static sqlite3_value **store_row(const struct store_rows *r, size_t i)
{
	return r->v + i * r->ncol;
}

static const char *store_text(sqlite3_value *v)
{
	return (const char *)sqlite3_value_text(v);
}

/*
 * Runs a query for one value while opening (no lock: nobody else has the
 * handle yet). *out is a copy of column 0 of the first row (free it with
 * sqlite3_value_free), or NULL if there is no row. Returns an SQLITE_*
 * code.
 */
static int store_query(sqlite3 *db, const char *sql, sqlite3_value **out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_value_dup(sqlite3_column_value(s, 0));
		rc = *out ? SQLITE_OK : SQLITE_NOMEM;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(s);
	return rc;
}

/* Builds *why for an sqlite failure while opening; returns -errno. */
static int store_open_error(sqlite3 *db, int rc, const char *path,
			    const char *what, char **why)
{
	bool quiet;
	int err = store_errno(db, rc, &quiet);
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	if ((rc & 0xff) == SQLITE_CANTOPEN && err != -EIO)
		msg = strerror(-err);
	if (err == -EUCLEAN)
		*why = xasprintf("'%s' is not a lambdafs database: %s", path,
				 msg);
	else
		*why = xasprintf("cannot %s '%s': %s", what, path, msg);
	return err;
}

/*
 * Brings the schema up to date, one migration per transaction (see the
 * notes at the top). Returns 0 or -errno with *why set.
 */
static int store_migrate(sqlite3 *db, const char *path, char **why)
{
	const int latest = (int)ARRAY_SIZE(store_migrations);
	sqlite3_value *v = NULL;
	int64_t version;
	int rc, err = 0;

	for (;;) {
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		rc = store_query(db,
				 "SELECT count(*) FROM sqlite_master"
				 " WHERE name = 'schema_version'",
				 &v);
		if (rc != SQLITE_OK)
			goto fail;
		if (sqlite3_value_int64(v) == 0) {
			sqlite3_value_free(v);
			v = NULL;
			rc = store_query(db,
					 "SELECT count(*) FROM sqlite_master",
					 &v);
			if (rc != SQLITE_OK)
				goto fail;
			if (sqlite3_value_int64(v) != 0) {
				*why = xasprintf("'%s' is not a lambdafs "
						 "database: it has tables but "
						 "no schema_version",
						 path);
				err = -EUCLEAN;
				goto out;
			}
			rc = sqlite3_exec(db,
					  "CREATE TABLE schema_version"
					  " (version INTEGER NOT NULL);"
					  "INSERT INTO schema_version"
					  " VALUES (0);",
					  NULL, NULL, NULL);
			if (rc != SQLITE_OK)
				goto fail;
		}
		sqlite3_value_free(v);
		v = NULL;
		rc = store_query(db, "SELECT version FROM schema_version", &v);
		if (rc != SQLITE_OK)
			goto fail;
		if (!v || sqlite3_value_type(v) != SQLITE_INTEGER ||
		    sqlite3_value_int64(v) < 0) {
			*why = xasprintf("'%s' is not a lambdafs database: "
					 "schema_version is damaged",
					 path);
			err = -EUCLEAN;
			goto out;
		}
		version = sqlite3_value_int64(v);
		sqlite3_value_free(v);
		v = NULL;
		if (version > latest) {
			*why = xasprintf("'%s' has schema version %" PRId64
					 " but this lambdafs knows only up to "
					 "%d: use a newer lambdafs",
					 path, version, latest);
			err = -ENOTSUP;
			goto out;
		}
		if (version == latest)
			break;
		rc = sqlite3_exec(db, store_migrations[version], NULL, NULL,
				  NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db,
					  "UPDATE schema_version"
					  " SET version = version + 1",
					  NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		log_info("upgraded '%s' to schema version %" PRId64, path,
			 version + 1);
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		goto out;
fail:
	err = store_open_error(db, rc, path, "upgrade", why);
out:
	sqlite3_value_free(v);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

int store_open(const char *path, struct store **out, char **cause)
{
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			  SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
			  SQLITE_OPEN_EXRESCODE;
	struct store *st = NULL;
	sqlite3_value *v = NULL;
	const char *mode;
	char *why = NULL;
	int rc, err = 0;
	size_t i;

	*out = NULL;
	st = xcalloc(1, sizeof(*st));
	err = -pthread_mutex_init(&st->lock, NULL);
	if (err) {
		why = xasprintf("cannot open '%s': %s", path, strerror(-err));
		free(st);
		st = NULL;
		goto out;
	}
	rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

	/* the first statement that reads the file: NOTADB shows up here */
	rc = store_query(st->db, "PRAGMA journal_mode = WAL", &v);
	if (rc != SQLITE_OK)
		goto fail;
	mode = v ? store_text(v) : NULL;
	if (!mode || strcmp(mode, "wal"))
		log_warnx("cannot use WAL for '%s': journal mode is '%s'", path,
			  mode ? mode : "unknown");
	rc = sqlite3_exec(st->db,
			  "PRAGMA synchronous = FULL;"
			  "PRAGMA foreign_keys = ON;"
			  "PRAGMA cache_size = -512;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;

	err = store_migrate(st->db, path, &why);
	if (err)
		goto out;

	for (i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, store_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	*out = st;
	st = NULL;
	goto out;
fail:
	err = store_open_error(st->db, rc, path, "open", &why);
out:
	sqlite3_value_free(v);
	store_close(st);
	if (cause)
		*cause = why;
	else
		free(why);
	return err;
}

void store_close(struct store *st)
{
	size_t i;
	int rc;

	if (!st)
		return;
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* sqlite3_close(NULL) is a harmless no-op */
	rc = sqlite3_close(st->db);
	if (rc != SQLITE_OK)
		log_warnx("cannot close the database: %s", sqlite3_errstr(rc));
	pthread_mutex_destroy(&st->lock);
	free(st);
}

const char *store_sqlite_version(void)
{
	return sqlite3_libversion();
}

int store_function_put(struct store *st, const struct store_function *f)
{
	int ret;

	ret = store_run(st, S_FUNCTION_PUT, NULL, "store function", f->name,
			"tttlllltt", f->name, f->config, f->code_digest,
			f->code_size, f->created_ms, f->modified_ms,
			f->code_mtime_ms, f->update_status, f->update_reason);
	return ret < 0 ? ret : 0;
}

int store_function_delete(struct store *st, const char *name)
{
	int ret;

	ret = store_run(st, S_FUNCTION_DELETE, NULL, "delete function", name,
			"t", name);
	if (ret == 0)
		return -ENOENT;
	return ret < 0 ? ret : 0;
}

int store_function_foreach(struct store *st, store_function_fn fn, void *arg)
{
	struct store_rows r = { 0 };
	struct store_function f;
	sqlite3_value **v;
	size_t i;
	int ret;

	ret = store_snapshot(st, S_FUNCTION_LIST, "list functions", &r, "");
	for (i = 0; !ret && i < store_rows_count(&r); i++) {
		v = store_row(&r, i);
		f = (struct store_function){
			.name = store_text(v[0]),
			.config = store_text(v[1]),
			.code_digest = store_text(v[2]),
			.code_size = sqlite3_value_int64(v[3]),
			.created_ms = sqlite3_value_int64(v[4]),
			.modified_ms = sqlite3_value_int64(v[5]),
			.code_mtime_ms = sqlite3_value_int64(v[6]),
			.update_status = store_text(v[7]),
			.update_reason = store_text(v[8]),
		};
		ret = fn(&f, arg);
	}
	store_rows_free(&r);
	return ret;
}

int store_layer_add(struct store *st, const char *name, int64_t created_ms)
{
	int ret;

	ret = store_run(st, S_LAYER_ADD, NULL, "add layer", name, "tl", name,
			created_ms);
	return ret < 0 ? ret : 0;
}

int store_layer_remove(struct store *st, const char *name)
{
	int ret;

	ret = store_run(st, S_LAYER_REMOVE, NULL, "remove layer", name, "t",
			name);
	if (ret == 0)
		return -ENOENT;
	return ret < 0 ? ret : 0;
}

int store_layer_foreach(struct store *st, store_layer_fn fn, void *arg)
{
	struct store_rows r = { 0 };
	sqlite3_value **v;
	size_t i;
	int ret;

	ret = store_snapshot(st, S_LAYER_LIST, "list layers", &r, "");
	for (i = 0; !ret && i < store_rows_count(&r); i++) {
		v = store_row(&r, i);
		ret = fn(store_text(v[0]), sqlite3_value_int64(v[1]), arg);
	}
	store_rows_free(&r);
	return ret;
}

int store_layer_version_put(struct store *st,
			    const struct store_layer_version *v)
{
	int ret;

	ret = store_run(st, S_VERSION_PUT, NULL, "publish a version of layer",
			v->name, "tltlltl", v->name, v->version, v->digest,
			v->size, v->created_ms, v->meta,
			(int64_t)(v->deleted ? 1 : 0));
	return ret < 0 ? ret : 0;
}

int store_layer_version_mark_deleted(struct store *st, const char *name,
				     int64_t version)
{
	int ret;

	ret = store_run(st, S_VERSION_MARK_DELETED, NULL,
			"delete a version of layer", name, "tl", name,
			version);
	if (ret == 0)
		return -ENOENT;
	return ret < 0 ? ret : 0;
}

/*
 * Returns the maximum, 0 if none, or -errno: the header's int64_t leaves
 * room for negative errors, which no version number can be.
 */
int64_t store_layer_version_max(struct store *st, const char *name)
{
	int64_t max = 0;
	int ret;

	ret = store_run(st, S_VERSION_MAX, &max, "read the versions of layer",
			name, "t", name);
	return ret < 0 ? ret : max;
}

int store_layer_version_foreach(struct store *st, store_layer_version_fn fn,
				void *arg)
{
	struct store_rows r = { 0 };
	struct store_layer_version lv;
	sqlite3_value **v;
	size_t i;
	int ret;

	ret = store_snapshot(st, S_VERSION_LIST, "list layer versions", &r,
			     "");
	for (i = 0; !ret && i < store_rows_count(&r); i++) {
		v = store_row(&r, i);
		lv = (struct store_layer_version){
			.name = store_text(v[0]),
			.version = sqlite3_value_int64(v[1]),
			.digest = store_text(v[2]),
			.size = sqlite3_value_int64(v[3]),
			.created_ms = sqlite3_value_int64(v[4]),
			.meta = store_text(v[5]),
			.deleted = sqlite3_value_int64(v[6]) != 0,
		};
		ret = fn(&lv, arg);
	}
	store_rows_free(&r);
	return ret;
}

/* ---------- invocations ---------- */

static int store_invocation_put_locked(struct store *st,
				       const struct store_invocation *v)
{
	sqlite3_stmt *s = st->stmt[S_INV_PUT];
	int rc, ret = 0;

	/* an update keeps the stored event: NULL means "unchanged" */
	rc = store_bind(s, "ttttllllbbbt", v->id, v->function, v->type,
			v->queued ? "queued" : "done", (int64_t)v->attempts,
			v->queued_ms, v->start_ms, v->end_ms,
			v->event ? v->event : "", v->event_len, v->response, v->response_len, v->logs,
			v->logs_len, v->report);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, "record invocation", v->id);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_invocations_put(struct store *st, const struct store_invocation *v,
			  size_t n)
{
	size_t i;
	int ret = 0, rc;

	pthread_mutex_lock(&st->lock);
	rc = n > 1 ? sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)
		   : SQLITE_OK;
	if (rc != SQLITE_OK)
		ret = store_fail(st, rc, "record invocations", NULL);
	for (i = 0; !ret && i < n; i++)
		ret = store_invocation_put_locked(st, &v[i]);
	if (n > 1 && rc == SQLITE_OK) {
		rc = sqlite3_exec(st->db, ret ? "ROLLBACK" : "COMMIT", NULL,
				  NULL, NULL);
		if (rc != SQLITE_OK && !ret)
			ret = store_fail(st, rc, "record invocations", NULL);
		if (ret && sqlite3_get_autocommit(st->db) == 0)
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_invocations_trim(struct store *st, const char *function,
			   int64_t keep)
{
	int ret;

	ret = store_run(st, S_INV_TRIM, NULL, "trim the history of",
			function, "tl", function, keep);
	return ret < 0 ? ret : 0;
}

int store_invocations_forget(struct store *st, const char *function)
{
	int ret;

	ret = store_run(st, S_INV_FORGET, NULL, "forget the history of",
			function, "t", function);
	return ret < 0 ? ret : 0;
}

static struct store_invocation store_invocation_row(sqlite3_value **v)
{
	return (struct store_invocation){
		.id = store_text(v[0]),
		.function = store_text(v[1]),
		.type = store_text(v[2]),
		.queued = !strcmp(store_text(v[3]), "queued"),
		.attempts = (int)sqlite3_value_int64(v[4]),
		.queued_ms = sqlite3_value_int64(v[5]),
		.start_ms = sqlite3_value_int64(v[6]),
		.end_ms = sqlite3_value_int64(v[7]),
	};
}

int store_invocations_foreach(struct store *st, bool queued_only,
			      store_invocation_fn fn, void *arg)
{
	struct store_rows r = { 0 };
	struct store_invocation inv;
	sqlite3_value **v;
	size_t i;
	int ret;

	ret = store_snapshot(st, queued_only ? S_INV_QUEUED : S_INV_INDEX,
			     "list invocations", &r, "");
	for (i = 0; !ret && i < store_rows_count(&r); i++) {
		v = store_row(&r, i);
		inv = store_invocation_row(v);
		if (queued_only) {
			inv.event = sqlite3_value_blob(v[8]);
			inv.event_len = (size_t)sqlite3_value_bytes(v[8]);
		} else {
			inv.event_len = (size_t)sqlite3_value_int64(v[8]);
			inv.response_len = (size_t)sqlite3_value_int64(v[9]);
			inv.logs_len = (size_t)sqlite3_value_int64(v[10]);
			inv.report = store_text(v[11]);
		}
		ret = fn(&inv, arg);
	}
	store_rows_free(&r);
	return ret;
}

int store_invocation_part(struct store *st, const char *id, int part,
			  char **out, size_t *len)
{
	struct store_rows r = { 0 };
	sqlite3_value *v;
	int ret;

	*out = NULL;
	*len = 0;
	ret = store_snapshot(st, S_INV_PART, "read invocation", &r, "tl", id,
			     (int64_t)part);
	if (ret)
		return ret;
	if (!store_rows_count(&r)) {
		store_rows_free(&r);
		return -ENOENT;
	}
	v = store_row(&r, 0)[0];
	*len = (size_t)sqlite3_value_bytes(v);
	*out = xmalloc(*len + 1);
	if (*len)
		memcpy(*out, sqlite3_value_blob(v), *len);
	(*out)[*len] = '\0';
	store_rows_free(&r);
	return 0;
}
