/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - unit test for store.c: schema creation, every record
 * type round-tripped through a reopen, the error answers of the header
 * (-ENOENT, -EEXIST, -EUCLEAN, -ENOSPC), re-entrant foreach callbacks and
 * concurrent writers. Works in a private directory under /tmp; the
 * full-disk case mounts a 512 KiB tmpfs there (root only, else skipped).
 * The foreign and future-schema cases write a database with python3's
 * sqlite3 module (skipped without python3), since only store.c may
 * include <sqlite3.h>.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "store.h"
#include "log.h"
#include "util.h"
#include "tap.h"

#define NTHREADS 4
#define NPUTS 500
#define MAXROWS 64

static char *tmpdir;

/* Owned copies of what a foreach handed out. */
struct fn_row {
	char *name, *config, *code_digest, *update_status, *update_reason;
	int64_t code_size, created_ms, modified_ms, code_mtime_ms;
};

struct lv_row {
	char *name, *digest, *meta;
	int64_t version, size, created_ms;
	bool deleted;
};

struct fn_list {
	struct fn_row row[MAXROWS];
	int n;
	int stop_after;		/* return 42 after this many rows; 0 = never */
	struct store *st;	/* if set, put "<name>-copy" in the callback */
};

struct lv_list {
	struct lv_row row[MAXROWS];
	int n;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int collect_fn(const struct store_function *f, void *arg)
{
	struct fn_list *l = arg;
	struct fn_row *r;
	struct store_function copy;
	char *name;
	int err;

	if (l->n == MAXROWS)
		return -E2BIG;
	r = &l->row[l->n++];
	r->name = dup_or_null(f->name);
	r->config = dup_or_null(f->config);
	r->code_digest = dup_or_null(f->code_digest);
	r->update_status = dup_or_null(f->update_status);
	r->update_reason = dup_or_null(f->update_reason);
	r->code_size = f->code_size;
	r->created_ms = f->created_ms;
	r->modified_ms = f->modified_ms;
	r->code_mtime_ms = f->code_mtime_ms;
	if (l->st) {
		/* re-entry: would deadlock if foreach held the lock */
		name = xasprintf("%s-copy", f->name);
		copy = *f;
		copy.name = name;
		err = store_function_put(l->st, &copy);
		free(name);
		if (err)
			return err;
	}
	if (l->stop_after && l->n == l->stop_after)
		return 42;
	return 0;
}

static void fn_list_free(struct fn_list *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		free(l->row[i].name);
		free(l->row[i].config);
		free(l->row[i].code_digest);
		free(l->row[i].update_status);
		free(l->row[i].update_reason);
	}
	memset(l, 0, sizeof(*l));
}

static int collect_lv(const struct store_layer_version *v, void *arg)
{
	struct lv_list *l = arg;
	struct lv_row *r;

	if (l->n == MAXROWS)
		return -E2BIG;
	r = &l->row[l->n++];
	r->name = dup_or_null(v->name);
	r->digest = dup_or_null(v->digest);
	r->meta = dup_or_null(v->meta);
	r->version = v->version;
	r->size = v->size;
	r->created_ms = v->created_ms;
	r->deleted = v->deleted;
	return 0;
}

static void lv_list_free(struct lv_list *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		free(l->row[i].name);
		free(l->row[i].digest);
		free(l->row[i].meta);
	}
	memset(l, 0, sizeof(*l));
}

/* Layers as "name@created,name@created," */
static int collect_layer(const char *name, int64_t created_ms, void *arg)
{
	char **s = arg;
	char *n = xasprintf("%s%s@%" PRId64 ",", *s, name, created_ms);

	free(*s);
	*s = n;
	return 0;
}

static char *layers_str(struct store *st, int *err)
{
	char *s = xstrdup("");

	*err = store_layer_foreach(st, collect_layer, &s);
	return s;
}

static const struct store_function fn_full = {
	.name = "alpha",
	.config = "{\"Handler\":\"app.handler\",\"Runtime\":\"python3.12\"}",
	.code_digest = "9f86d081884c7d659a2feaa0c55ad015"
		       "a3bf4f1b2b0b822cd15d6c15b0f00a08",
	.code_size = 12345678901LL,
	.created_ms = 1700000000001LL,
	.modified_ms = 1700000000002LL,
	.code_mtime_ms = 1700000000003LL,
	.update_status = "Failed",
	.update_reason = "bootstrap is missing",
};

static const struct store_function fn_bare = {
	.name = "beta",
	.config = "{}",
	.created_ms = 5,
	.modified_ms = 6,
};

static void check_fn(const struct fn_row *r, const struct store_function *f,
		     const char *what)
{
	char *m;

	m = xasprintf("%s: name", what);
	is_str(r->name, f->name, m);
	free(m);
	m = xasprintf("%s: config", what);
	is_str(r->config, f->config, m);
	free(m);
	m = xasprintf("%s: code_digest", what);
	is_str(r->code_digest, f->code_digest, m);
	free(m);
	m = xasprintf("%s: code_size", what);
	is_int(r->code_size, f->code_size, m);
	free(m);
	m = xasprintf("%s: created_ms", what);
	is_int(r->created_ms, f->created_ms, m);
	free(m);
	m = xasprintf("%s: modified_ms", what);
	is_int(r->modified_ms, f->modified_ms, m);
	free(m);
	m = xasprintf("%s: code_mtime_ms", what);
	is_int(r->code_mtime_ms, f->code_mtime_ms, m);
	free(m);
	m = xasprintf("%s: update_status", what);
	is_str(r->update_status, f->update_status, m);
	free(m);
	m = xasprintf("%s: update_reason", what);
	is_str(r->update_reason, f->update_reason, m);
	free(m);
}

static struct store *open_ok(const char *path, const char *what)
{
	struct store *st = NULL;
	char *cause = NULL;
	int err;

	err = store_open(path, &st, &cause);
	if (!ok(err == 0 && st, what))
		printf("#   err %d, cause '%s'\n", err, cause ? cause : "");
	free(cause);
	return st;
}

static void test_functions(struct store *st)
{
	struct fn_list l = { 0 };
	struct store_function f;

	is_int(store_function_put(st, &fn_full), 0, "put a full function");
	is_int(store_function_put(st, &fn_bare), 0, "put a bare function");
	is_int(store_function_foreach(st, collect_fn, &l), 0, "foreach");
	is_int(l.n, 2, "two functions");
	if (l.n == 2) {
		check_fn(&l.row[0], &fn_full, "full");
		check_fn(&l.row[1], &fn_bare, "bare (NULLs)");
	}
	fn_list_free(&l);

	/* upsert: every field replaced, strings back to NULL included */
	f = fn_bare;
	f.name = fn_full.name;
	f.config = "{\"Timeout\":9}";
	is_int(store_function_put(st, &f), 0, "put replaces");
	store_function_foreach(st, collect_fn, &l);
	is_int(l.n, 2, "still two functions after upsert");
	if (l.n == 2)
		check_fn(&l.row[0], &f, "replaced");
	fn_list_free(&l);
	is_int(store_function_put(st, &fn_full), 0, "put it back");

	f = fn_bare;
	f.config = NULL;
	is_int(store_function_put(st, &f), -EINVAL, "NULL config is -EINVAL");

	is_int(store_function_delete(st, "beta"), 0, "delete");
	is_int(store_function_delete(st, "beta"), -ENOENT, "delete again");
	is_int(store_function_delete(st, "nosuch"), -ENOENT, "delete unknown");
	store_function_foreach(st, collect_fn, &l);
	ok(l.n == 1 && !strcmp(l.row[0].name, "alpha"), "only alpha left");
	fn_list_free(&l);
}

static void test_foreach(struct store *st)
{
	static const char *const names[] = { "m-c", "m-a", "m-d", "m-b" };
	struct store_function f = fn_bare;
	struct fn_list l = { 0 };
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		f.name = names[i];
		err |= store_function_put(st, &f);
	}
	is_int(err, 0, "put four more");
	store_function_foreach(st, collect_fn, &l);
	ok(l.n == 5 && !strcmp(l.row[0].name, "alpha") &&
		   !strcmp(l.row[1].name, "m-a") &&
		   !strcmp(l.row[2].name, "m-b") &&
		   !strcmp(l.row[3].name, "m-c") &&
		   !strcmp(l.row[4].name, "m-d"),
	   "foreach in name order");
	fn_list_free(&l);

	l.stop_after = 2;
	is_int(store_function_foreach(st, collect_fn, &l), 42,
	       "foreach returns the callback's non-zero result");
	is_int(l.n, 2, "and stops there");
	fn_list_free(&l);

	/* a callback that writes to the store */
	l.st = st;
	is_int(store_function_foreach(st, collect_fn, &l), 0,
	       "callback may call store_function_put");
	is_int(l.n, 5, "callback saw the snapshot only");
	fn_list_free(&l);
	store_function_foreach(st, collect_fn, &l);
	is_int(l.n, 10, "copies were stored");
	fn_list_free(&l);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char *copy = xasprintf("%s-copy", names[i]);

		err |= store_function_delete(st, names[i]);
		err |= store_function_delete(st, copy);
		free(copy);
	}
	err |= store_function_delete(st, "alpha-copy");
	is_int(err, 0, "clean up");
}

static int remove_in_callback(const char *name, int64_t created_ms, void *arg)
{
	(void)created_ms;
	return store_layer_remove(arg, name);
}

static void test_layers(struct store *st)
{
	struct store_layer_version v = {
		.name = "libs",
		.version = 1,
		.digest = "aa",
		.size = 100,
		.created_ms = 10,
		.meta = "{\"Description\":\"one\"}",
	};
	struct lv_list l = { 0 };
	char *s;
	int err;

	is_int(store_layer_add(st, "libs", 7), 0, "layer add");
	is_int(store_layer_add(st, "libs", 8), -EEXIST, "layer add again");
	is_int(store_layer_add(st, "gone", 9), 0, "second layer");
	s = layers_str(st, &err);
	is_int(err, 0, "layer foreach");
	is_str(s, "gone@9,libs@7,", "layers in name order");
	free(s);

	is_int(store_layer_version_max(st, "libs"), 0, "no versions yet");
	is_int(store_layer_version_put(st, &v), 0, "version 1");
	v.version = 2;
	v.digest = NULL;
	v.meta = NULL;
	v.deleted = true;
	is_int(store_layer_version_put(st, &v), 0, "version 2 (NULLs)");
	is_int(store_layer_version_put(st, &v), -EEXIST, "version 2 again");
	v.version = 3;
	v.digest = "cc";
	v.deleted = false;
	is_int(store_layer_version_put(st, &v), 0, "version 3");
	v.name = "nosuch";
	v.version = 1;
	is_int(store_layer_version_put(st, &v), -ENOENT,
	       "version of a missing layer");
	v.name = "gone";
	is_int(store_layer_version_put(st, &v), 0, "version of second layer");

	is_int(store_layer_version_mark_deleted(st, "libs", 3), 0,
	       "mark deleted");
	is_int(store_layer_version_mark_deleted(st, "libs", 3), 0,
	       "mark deleted twice");
	is_int(store_layer_version_mark_deleted(st, "libs", 4), -ENOENT,
	       "mark deleted, no such version");
	is_int(store_layer_version_mark_deleted(st, "nosuch", 1), -ENOENT,
	       "mark deleted, no such layer");
	is_int(store_layer_version_max(st, "libs"), 3,
	       "max counts deleted versions");
	is_int(store_layer_version_max(st, "nosuch"), 0, "max of unknown");

	is_int(store_layer_version_foreach(st, collect_lv, &l), 0,
	       "version foreach");
	is_int(l.n, 4, "four versions");
	if (l.n == 4) {
		struct lv_row *r = &l.row[1];

		ok(!strcmp(l.row[0].name, "gone") && l.row[0].version == 1,
		   "gone:1 first");
		ok(!strcmp(r->name, "libs") && r->version == 1 &&
			   !strcmp(r->digest, "aa") && r->size == 100 &&
			   r->created_ms == 10 &&
			   !strcmp(r->meta, "{\"Description\":\"one\"}") &&
			   !r->deleted,
		   "libs:1 round trip");
		ok(l.row[2].version == 2 && !l.row[2].digest &&
			   !l.row[2].meta && l.row[2].deleted,
		   "libs:2 round trip with NULLs, deleted");
		ok(l.row[3].version == 3 && l.row[3].deleted, "libs:3 deleted");
	}
	lv_list_free(&l);

	/* removing cascades; numbering restarts (see store.c) */
	is_int(store_layer_remove(st, "gone"), 0, "layer remove");
	is_int(store_layer_remove(st, "gone"), -ENOENT, "layer remove again");
	store_layer_version_foreach(st, collect_lv, &l);
	ok(l.n == 3 && !strcmp(l.row[0].name, "libs"),
	   "its versions went with it");
	lv_list_free(&l);
	is_int(store_layer_add(st, "gone", 11), 0, "layer re-created");
	is_int(store_layer_version_max(st, "gone"), 0,
	       "max restarts with the re-created layer");
	v.version = 1;
	is_int(store_layer_version_put(st, &v), 0, "version 1 again");
	is_int(store_layer_version_mark_deleted(st, "gone", 1), 0,
	       "and deleted");
	is_int(store_layer_version_put(st, &v), -EEXIST,
	       "a deleted number is not reused");
	v.version = 2;
	is_int(store_layer_version_put(st, &v), 0, "the next one is fine");

	/* re-entry from the layer callback */
	is_int(store_layer_add(st, "tmp-a", 1), 0, "tmp layer a");
	is_int(store_layer_add(st, "tmp-b", 1), 0, "tmp layer b");
	is_int(store_layer_foreach(st, remove_in_callback, st), 0,
	       "layer callback may call store_layer_remove");
	s = layers_str(st, &err);
	is_str(s, "", "all layers removed from the callback");
	free(s);
	is_int(store_layer_add(st, "libs", 7), 0, "libs back");
	v.name = "libs";
	v.version = 4;
	is_int(store_layer_version_put(st, &v), 0, "libs:4");
}

static void test_reopen(const char *path)
{
	struct fn_list fl = { 0 };
	struct lv_list vl = { 0 };
	struct store *st;
	char *s;
	int err;

	st = open_ok(path, "reopen");
	if (!st)
		return;
	store_function_foreach(st, collect_fn, &fl);
	is_int(fl.n, 1, "one function after reopen");
	if (fl.n == 1)
		check_fn(&fl.row[0], &fn_full, "after reopen");
	fn_list_free(&fl);
	s = layers_str(st, &err);
	is_str(s, "libs@7,", "layers after reopen");
	free(s);
	store_layer_version_foreach(st, collect_lv, &vl);
	ok(vl.n == 1 && vl.row[0].version == 4 && !vl.row[0].deleted,
	   "versions after reopen");
	lv_list_free(&vl);
	is_int(store_layer_version_max(st, "libs"), 4, "max after reopen");
	is_int(store_layer_version_max(st, "gone"), 0,
	       "max of a removed layer after reopen");
	store_close(st);
}

static int write_file(const char *path, const char *data, size_t n)
{
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	if (write(fd, data, n) != (ssize_t)n)
		err = -EIO;
	close(fd);
	return err;
}

/* Runs python3 on a script that gets the path as sys.argv[1]. */
static int python_db(const char *path, const char *script)
{
	char *cmd;
	int rc;

	cmd = xasprintf("python3 -c \"import sqlite3, sys\n"
			"c = sqlite3.connect(sys.argv[1])\n%s\nc.commit()\" "
			"'%s' 2>/dev/null",
			script, path);
	rc = system(cmd);
	free(cmd);
	return rc;
}

static void expect_refused(const char *path, int want, const char *needle,
			   const char *what)
{
	struct store *st = (struct store *)1;
	char *cause = NULL;
	int err;

	err = store_open(path, &st, &cause);
	is_int(err, want, what);
	ok(st == NULL, "no store returned");
	if (!ok(cause && strstr(cause, needle) && strstr(cause, path),
		"cause names the file and the problem"))
		printf("#   cause '%s'\n", cause ? cause : "(null)");
	else
		printf("#   cause: %s\n", cause);
	free(cause);
}

static void test_refusals(void)
{
	char *path, *link;
	static const char junk[] = "this is not an sqlite database, "
				   "not at all, just some bytes in a file"
				   "..............................";

	path = xasprintf("%s/junk.db", tmpdir);
	is_int(write_file(path, junk, sizeof(junk)), 0, "junk file written");
	expect_refused(path, -EUCLEAN, "is not a lambdafs database: file is "
			"not a database", "junk file is -EUCLEAN");
	free(path);

	path = xasprintf("%s/link.db", tmpdir);
	link = xasprintf("%s/lambdafs.db", tmpdir);
	if (symlink(link, path) == 0)
		expect_refused(path, -ELOOP, "cannot open", "symlink refused");
	else
		ok(0, "symlink created");
	free(link);
	free(path);

	path = xasprintf("%s/nosuchdir/lambdafs.db", tmpdir);
	expect_refused(path, -ENOENT, "No such file",
		       "missing directory is -ENOENT");
	free(path);

	path = xasprintf("%s/foreign.db", tmpdir);
	if (python_db(path, "c.execute('CREATE TABLE t (x)')") != 0) {
		printf("ok %d - # SKIP python3 sqlite3 not available\n",
		       ++tap_n);
	} else {
		expect_refused(path, -EUCLEAN, "no schema_version",
			       "someone else's database is -EUCLEAN");
	}
	free(path);

	path = xasprintf("%s/future.db", tmpdir);
	if (python_db(path, "c.execute('CREATE TABLE schema_version"
			    " (version INTEGER NOT NULL)')\n"
			    "c.execute('INSERT INTO schema_version"
			    " VALUES (999)')") != 0) {
		printf("ok %d - # SKIP python3 sqlite3 not available\n",
		       ++tap_n);
	} else {
		expect_refused(path, -ENOTSUP, "schema version 999",
			       "a newer schema is refused");
	}
	free(path);
}

static void test_full_disk(void)
{
	static char chunk[64 * 1024];
	struct store_function f = fn_full;
	struct fn_list l = { 0 };
	struct store *st = NULL;
	char *dir, *db, *fill, *big;
	size_t bigsz = 128 * 1024;
	int fd;

	dir = xasprintf("%s/full", tmpdir);
	db = xasprintf("%s/lambdafs.db", dir);
	fill = xasprintf("%s/fill", dir);
	if (mkdir(dir, 0700) == -1 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=512k") == -1) {
		printf("ok %d - # SKIP cannot mount a tmpfs: %s\n", ++tap_n,
		       strerror(errno));
		goto out_free;
	}
	st = open_ok(db, "open on a small tmpfs");
	if (!st)
		goto out_umount;
	is_int(store_function_put(st, &fn_full), 0, "put before full");

	fd = open(fill, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	memset(chunk, 'z', sizeof(chunk));
	while (fd != -1 && write(fd, chunk, sizeof(chunk)) > 0)
		;
	while (fd != -1 && write(fd, chunk, 1) > 0)
		;
	ok(fd != -1 && errno == ENOSPC, "tmpfs filled");
	if (fd != -1)
		close(fd);

	big = xmalloc(bigsz + 1);
	memset(big, 'x', bigsz);
	big[bigsz] = '\0';
	f.config = big;
	f.update_status = "Successful";
	is_int(store_function_put(st, &f), -ENOSPC, "put on a full disk");
	f.name = "newcomer";
	is_int(store_function_put(st, &f), -ENOSPC, "insert on a full disk");
	is_int(store_function_foreach(st, collect_fn, &l), 0,
	       "foreach on a full disk");
	is_int(l.n, 1, "no half-written row");
	if (l.n == 1)
		check_fn(&l.row[0], &fn_full, "previous row intact");
	fn_list_free(&l);

	unlink(fill);
	f.name = fn_full.name;
	is_int(store_function_put(st, &f), 0, "put works again with space");
	store_function_foreach(st, collect_fn, &l);
	ok(l.n == 1 && strlen(l.row[0].config) == bigsz,
	   "the big row is there");
	fn_list_free(&l);
	free(big);
	store_close(st);
out_umount:
	if (umount(dir) == -1)
		printf("# umount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
out_free:
	free(fill);
	free(db);
	free(dir);
}

struct worker {
	struct store *st;
	int id;
	int failed;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct store_function f = fn_bare;
	char name[32];
	int i;

	for (i = 0; i < NPUTS; i++) {
		snprintf(name, sizeof(name), "t%d-%03d", w->id, i);
		f.name = name;
		f.code_size = i;
		if (store_function_put(w->st, &f))
			w->failed++;
	}
	return NULL;
}

static int count_fn(const struct store_function *f, void *arg)
{
	(void)f;
	++*(int *)arg;
	return 0;
}

static void test_threads(const char *path)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct store *st;
	int i, failed = 0, started = 0, n = 0;

	st = open_ok(path, "open for threads");
	if (!st)
		return;
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .st = st, .id = i };
		if (pthread_create(&th[i], NULL, worker_run, &w[i]) == 0)
			started++;
	}
	is_int(started, NTHREADS, "threads started");
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failed += w[i].failed;
	}
	is_int(failed, 0, "every concurrent put succeeded");
	is_int(store_function_foreach(st, count_fn, &n), 0, "count");
	is_int(n, 1 + NTHREADS * NPUTS, "all rows are there");
	store_close(st);
}

/* ---------- invocations ---------- */

struct inv_seen {
	int n;
	char ids[8][40];
	size_t event_len[8];
	bool queued[8];
	char event0[64];
};

static int inv_collect(const struct store_invocation *v, void *arg)
{
	struct inv_seen *s = arg;

	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", v->id);
		s->event_len[s->n] = v->event_len;
		s->queued[s->n] = v->queued;
		if (s->n == 0 && v->event)
			snprintf(s->event0, sizeof(s->event0), "%.*s",
				 (int)v->event_len, (const char *)v->event);
	}
	s->n++;
	return 0;
}

static void test_invocations(struct store *st)
{
	struct store_invocation v[3];
	struct inv_seen seen = { 0 };
	char *part;
	size_t len;
	int i;

	for (i = 0; i < 3; i++) {
		static char ids[3][16];

		snprintf(ids[i], sizeof(ids[i]), "id-%d", i);
		v[i] = (struct store_invocation){
			.id = ids[i], .function = "f",
			.type = "RequestResponse", .event = "{\"n\":1}",
			.event_len = 7, .response = "ok", .response_len = 2,
			.logs = "l", .logs_len = 1, .report = "{}",
		};
	}
	v[2].queued = true;
	v[2].type = "Event";
	is_int(store_invocations_put(st, v, 3), 0, "three invocations in one transaction");
	is_int(store_invocations_foreach(st, false, inv_collect, &seen), 0,
	       "listing invocations");
	is_int(seen.n, 3, "all three listed");
	is_str(seen.ids[0], "id-0", "oldest first");
	ok(seen.event_len[1] == 7 && seen.queued[2] && !seen.queued[0],
	   "sizes and states come back");
	is_int(store_invocation_part(st, "id-1", 1, &part, &len), 0,
	       "reading a response");
	ok(len == 2 && !strcmp(part, "ok"), "the response is the one written");
	free(part);
	is_int(store_invocation_part(st, "nope", 0, &part, &len), -ENOENT,
	       "an unknown id is ENOENT");
	memset(&seen, 0, sizeof(seen));
	store_invocations_foreach(st, true, inv_collect, &seen);
	ok(seen.n == 1 && !strcmp(seen.ids[0], "id-2") &&
		   !strcmp(seen.event0, "{\"n\":1}"),
	   "the queue lists only the queued one, with its event");
	/* the Event finishes: updated in place, its event kept */
	v[2].queued = false;
	v[2].event = NULL;
	v[2].event_len = 0;
	is_int(store_invocations_put(st, &v[2], 1), 0, "finishing a queued Event");
	is_int(store_invocation_part(st, "id-2", 0, &part, &len), 0,
	       "its event is still there");
	ok(len == 7, "with its length");
	free(part);
	is_int(store_invocations_trim(st, "f", 1), 0, "trimming to 1");
	memset(&seen, 0, sizeof(seen));
	store_invocations_foreach(st, false, inv_collect, &seen);
	ok(seen.n == 1 && !strcmp(seen.ids[0], "id-2"), "the newest one stays");
	is_int(store_invocations_forget(st, "f"), 0, "forgetting a function");
	memset(&seen, 0, sizeof(seen));
	store_invocations_foreach(st, false, inv_collect, &seen);
	is_int(seen.n, 0, "its invocations are gone");
}

int main(void)
{
	char tmpl[] = "/tmp/test_store.XXXXXX";
	struct store *st;
	struct stat sb;
	char *path, *wal, *cmd;
	char head[16];
	int fd;

	plan_no_plan();
	log_init("test_store", 0);
	tmpdir = mkdtemp(tmpl);
	if (!tmpdir) {
		perror("mkdtemp");
		return 1;
	}
	path = xasprintf("%s/lambdafs.db", tmpdir);
	wal = xasprintf("%s-wal", path);

	ok(strlen(store_sqlite_version()) > 0, "sqlite version");
	printf("# sqlite %s\n", store_sqlite_version());
	st = open_ok(path, "open creates the database");
	if (!st)
		return done_testing();
	ok(stat(path, &sb) == 0 && stat(wal, &sb) == 0,
	   "database and WAL file exist");
	memset(head, 0, sizeof(head));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok(fd != -1 && read(fd, head, sizeof(head)) == sizeof(head) &&
		   !memcmp(head, "SQLite format 3", 16),
	   "it is an sqlite file");
	if (fd != -1)
		close(fd);

	test_functions(st);
	test_foreach(st);
	test_layers(st);
	test_invocations(st);
	store_close(st);
	store_close(NULL);
	test_reopen(path);
	test_refusals();
	test_full_disk();
	test_threads(path);

	free(wal);
	free(path);
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (tap_failed == 0 && system(cmd) != 0)
		printf("# cannot remove %s\n", tmpdir);
	else if (tap_failed)
		printf("# kept %s\n", tmpdir);
	free(cmd);
	return done_testing();
}
