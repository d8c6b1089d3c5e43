/* SPDX-License-Identifier: MIT */
/*
 * history.c - invocation history and the durable async queue (see
 * history.h).
 *
 * An entry is immutable once published, with one exception: the writer
 * thread frees its event/response/logs after writing them to the store
 * (readers then fetch them from there). Entries are reference counted:
 * the function's list holds one reference, the write queue another, so
 * trimming an entry that is still being written is safe. A later record
 * with the same id (an Event that finished) replaces the entry in the
 * list; the store row is updated in place (by id).
 *
 * Locking: h->lock covers the lists, the queue, the counters and the
 * part pointers; the writer reads parts of the entries it holds without
 * the lock (nobody else changes them) and calls the store without it.
 */
#include <pthread.h>

#include "common.h"
#include "history.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define HISTORY_PENDING_MAX (64u * 1024 * 1024) /* unwritten bytes */
#define HISTORY_BATCH 256			 /* rows per transaction */

struct entry {
	int refs;
	char id[37];
	char *function;
	const char *type;
	bool queued;
	bool forgotten;		/* its function was deleted */
	int attempts;
	int64_t queued_ms, start_ms, end_ms;
	char *part[HISTORY_NPARTS];	/* report always; others until written */
	size_t len[HISTORY_NPARTS];
	struct entry *newer, *older;	/* in hfunc's list */
};

struct hfunc {
	char *name;
	struct entry *newest, *oldest;
	size_t ndone;
	struct hfunc *next;
};

struct history {
	struct store *st;
	size_t keep;
	pthread_mutex_t lock;
	pthread_cond_t work;	/* queue not empty, or stopping */
	pthread_cond_t space;	/* pending_bytes went down */
	/* protected by lock */
	struct hfunc *funcs;
	struct entry **queue;
	size_t nqueue, capqueue;
	size_t pending_bytes;
	bool stopping;
	pthread_t writer;
};

static const char *type_name(const char *type)
{
	return type && !strcmp(type, "Event") ? "Event" : "RequestResponse";
}

static size_t entry_bytes(const struct entry *e)
{
	return e->len[HISTORY_EVENT] + e->len[HISTORY_RESPONSE] +
	       e->len[HISTORY_LOGS];
}

/* A new entry (one reference) with the metadata, no parts yet. */
static struct entry *entry_alloc(const char *id, const char *function,
				 const char *type, bool queued, int attempts,
				 int64_t queued_ms, int64_t start_ms,
				 int64_t end_ms)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->refs = 1;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->function = xstrdup(function);
	e->type = type_name(type);
	e->queued = queued;
	e->attempts = attempts;
	e->queued_ms = queued_ms;
	e->start_ms = start_ms;
	e->end_ms = end_ms;
	return e;
}

static struct entry *entry_new(const struct history_record *r)
{
	struct entry *e = entry_alloc(r->id, r->function, r->type, r->queued,
				      r->attempts, r->queued_ms, r->start_ms,
				      r->end_ms);
	int i;

	for (i = 0; i < HISTORY_NPARTS; i++) {
		e->len[i] = r->part[i] ? r->len[i] : 0;
		e->part[i] = xmalloc(e->len[i] + 1);
		if (e->len[i])
			memcpy(e->part[i], r->part[i], e->len[i]);
		e->part[i][e->len[i]] = '\0';
	}
	return e;
}

static void entry_unref(struct entry *e)
{
	int i;

	if (!e || --e->refs > 0)
		return;
	for (i = 0; i < HISTORY_NPARTS; i++)
		free(e->part[i]);
	free(e->function);
	free(e);
}

/* The store's view of e; parts already written are not needed (the
 * update keeps the event, and done rows are never rewritten). */
static struct store_invocation entry_row(const struct entry *e)
{
	return (struct store_invocation){
		.id = e->id,
		.function = e->function,
		.type = e->type,
		.queued = e->queued,
		.attempts = e->attempts,
		.queued_ms = e->queued_ms,
		.start_ms = e->start_ms,
		.end_ms = e->end_ms,
		.event = e->part[HISTORY_EVENT],
		.event_len = e->len[HISTORY_EVENT],
		.response = e->part[HISTORY_RESPONSE],
		.response_len = e->len[HISTORY_RESPONSE],
		.logs = e->part[HISTORY_LOGS],
		.logs_len = e->len[HISTORY_LOGS],
		.report = e->part[HISTORY_REPORT],
	};
}

/* ---------- per-function lists (h->lock held) ---------- */

static struct hfunc *hfunc_get_locked(struct history *h, const char *name,
				      bool create)
{
	struct hfunc *f;

	for (f = h->funcs; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	if (!create)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->next = h->funcs;
	h->funcs = f;
	return f;
}

static void unlink_locked(struct hfunc *f, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		f->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		f->oldest = e->newer;
	e->newer = e->older = NULL;
	if (!e->queued)
		f->ndone--;
	entry_unref(e);
}

static struct entry *find_locked(struct hfunc *f, const char *id)
{
	struct entry *e;

	for (e = f ? f->newest : NULL; e; e = e->older)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

/* Publishes e (taking the caller's reference) as the newest entry of
 * its function, replacing an entry with the same id, and trims. */
static void publish_locked(struct history *h, struct entry *e)
{
	struct hfunc *f = hfunc_get_locked(h, e->function, true);
	struct entry *old = find_locked(f, e->id), *o, *next;

	if (old)
		unlink_locked(f, old);
	e->older = f->newest;
	if (f->newest)
		f->newest->newer = e;
	else
		f->oldest = e;
	f->newest = e;
	if (!e->queued)
		f->ndone++;
	for (o = f->oldest; o && f->ndone > h->keep; o = next) {
		next = o->newer; /* from the oldest towards the newest */
		if (!o->queued)
			unlink_locked(f, o);
	}
}

static void enqueue_write_locked(struct history *h, struct entry *e)
{
	if (h->nqueue == h->capqueue) {
		h->capqueue = h->capqueue ? 2 * h->capqueue : 64;
		h->queue = xrealloc(h->queue,
				    h->capqueue * sizeof(*h->queue));
	}
	e->refs++;
	h->queue[h->nqueue++] = e;
	h->pending_bytes += entry_bytes(e);
	pthread_cond_signal(&h->work);
}

/* ---------- the writer ---------- */

static void write_batch(struct history *h, struct entry **batch, size_t n)
{
	struct store_invocation *rows = xcalloc(n, sizeof(*rows));
	size_t i, j;
	int r;

	for (i = 0; i < n; i++)
		rows[i] = entry_row(batch[i]);
	r = store_invocations_put(h->st, rows, n);
	if (r < 0)
		log_warnx("cannot record %zu invocation(s): %s; they stay "
			  "in memory until restart", n, strerror(-r));
	/* trim each function once per batch */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(batch[j]->function, batch[i]->function))
				break;
		if (j < i)
			continue;
		if (batch[i]->forgotten)
			store_invocations_forget(h->st, batch[i]->function);
		else
			store_invocations_trim(h->st, batch[i]->function,
					       (int64_t)h->keep);
	}
	free(rows);

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < n; i++) {
		struct entry *e = batch[i];

		h->pending_bytes -= entry_bytes(e);
		if (r == 0) {
			for (j = 0; j < HISTORY_REPORT; j++) {
				free(e->part[j]);
				e->part[j] = NULL;
			}
		}
		entry_unref(e);
	}
	pthread_cond_broadcast(&h->space);
	pthread_mutex_unlock(&h->lock);
}

static void *writer_main(void *arg)
{
	struct history *h = arg;
	struct entry **batch = xcalloc(HISTORY_BATCH, sizeof(*batch));
	size_t n;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->nqueue && !h->stopping)
			pthread_cond_wait(&h->work, &h->lock);
		if (!h->nqueue)
			break;
		n = h->nqueue < HISTORY_BATCH ? h->nqueue : HISTORY_BATCH;
		memcpy(batch, h->queue, n * sizeof(*batch));
		memmove(h->queue, h->queue + n,
			(h->nqueue - n) * sizeof(*h->queue));
		h->nqueue -= n;
		pthread_mutex_unlock(&h->lock);
		write_batch(h, batch, n);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	free(batch);
	return NULL;
}

/* ---------- opening ---------- */

static int load_one(const struct store_invocation *v, void *arg)
{
	struct history *h = arg;
	struct entry *e = entry_alloc(v->id, v->function, v->type, v->queued,
				      v->attempts, v->queued_ms, v->start_ms,
				      v->end_ms);
	size_t rlen = v->report ? strlen(v->report) : 0;

	e->len[HISTORY_EVENT] = v->event_len;
	e->len[HISTORY_RESPONSE] = v->response_len;
	e->len[HISTORY_LOGS] = v->logs_len;
	e->len[HISTORY_REPORT] = rlen;
	e->part[HISTORY_REPORT] = xmalloc(rlen + 1);
	memcpy(e->part[HISTORY_REPORT], v->report ? v->report : "", rlen + 1);
	publish_locked(h, e);
	return 0;
}

int history_open(const char *state_dir, int keep, struct history **out,
		 char **cause)
{
	struct history *h = xcalloc(1, sizeof(*h));
	char *path = xasprintf("%s/lambdafs.db", state_dir);
	struct hfunc *f;
	int r;

	*out = NULL;
	h->keep = keep > 0 ? (size_t)keep : 0;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->space, NULL);
	r = store_open(path, &h->st, cause);
	free(path);
	if (r < 0)
		goto fail;
	/* no other thread yet: the lock is for form's sake */
	pthread_mutex_lock(&h->lock);
	r = store_invocations_foreach(h->st, false, load_one, h);
	pthread_mutex_unlock(&h->lock);
	if (r < 0) {
		*cause = xasprintf("cannot load the invocation history: %s",
				   strerror(-r));
		goto fail;
	}
	/* --history may have shrunk since the rows were written */
	for (f = h->funcs; f; f = f->next)
		store_invocations_trim(h->st, f->name, (int64_t)h->keep);
	r = pthread_create(&h->writer, NULL, writer_main, h);
	if (r) {
		*cause = xasprintf("cannot start the history writer: %s",
				   strerror(r));
		r = -r;
		goto fail;
	}
	*out = h;
	return 0;
fail:
	h->stopping = true;
	history_close(h);
	return r;
}

void history_close(struct history *h)
{
	struct hfunc *f, *fnext;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	if (!h->stopping) {
		h->stopping = true;
		pthread_cond_signal(&h->work);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->writer, NULL);
	} else {
		pthread_mutex_unlock(&h->lock);
	}
	for (f = h->funcs; f; f = fnext) {
		fnext = f->next;
		while (f->newest)
			unlink_locked(f, f->newest);
		free(f->name);
		free(f);
	}
	free(h->queue);
	store_close(h->st);
	pthread_cond_destroy(&h->space);
	pthread_cond_destroy(&h->work);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* ---------- recording ---------- */

void history_add(struct history *h, const struct history_record *r)
{
	struct entry *e = entry_new(r);

	e->queued = false;
	pthread_mutex_lock(&h->lock);
	while (h->pending_bytes > HISTORY_PENDING_MAX && !h->stopping)
		pthread_cond_wait(&h->space, &h->lock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		entry_unref(e);
		return;
	}
	enqueue_write_locked(h, e);
	publish_locked(h, e);
	pthread_mutex_unlock(&h->lock);
}

int history_enqueue(struct history *h, const struct history_record *r)
{
	struct entry *e = entry_new(r);
	struct store_invocation row;
	int i, ret;

	e->queued = true;
	row = entry_row(e);
	ret = store_invocations_put(h->st, &row, 1);
	if (ret < 0) {
		entry_unref(e);
		return ret;
	}
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < HISTORY_REPORT; i++) {
		free(e->part[i]);
		e->part[i] = NULL;
	}
	publish_locked(h, e);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

struct queued_ctx {
	int (*fn)(const struct history_record *r, void *arg);
	void *arg;
};

static int queued_one(const struct store_invocation *v, void *arg)
{
	struct queued_ctx *q = arg;
	struct history_record r = {
		.id = v->id,
		.function = v->function,
		.type = v->type,
		.queued = true,
		.attempts = v->attempts,
		.queued_ms = v->queued_ms,
		.start_ms = v->start_ms,
		.end_ms = v->end_ms,
	};

	r.part[HISTORY_EVENT] = v->event;
	r.len[HISTORY_EVENT] = v->event_len;
	return q->fn(&r, q->arg);
}

int history_foreach_queued(struct history *h,
			   int (*fn)(const struct history_record *r,
				     void *arg),
			   void *arg)
{
	struct queued_ctx q = { fn, arg };

	return store_invocations_foreach(h->st, true, queued_one, &q);
}

void history_forget(struct history *h, const char *function)
{
	struct hfunc *f, **pf;
	struct entry *e;
	size_t i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nqueue; i++)
		if (!strcmp(h->queue[i]->function, function))
			h->queue[i]->forgotten = true;
	for (pf = &h->funcs; (f = *pf); pf = &f->next)
		if (!strcmp(f->name, function))
			break;
	if (f) {
		*pf = f->next;
		while ((e = f->newest)) {
			e->forgotten = true;
			unlink_locked(f, e);
		}
		free(f->name);
		free(f);
	}
	pthread_mutex_unlock(&h->lock);
	store_invocations_forget(h->st, function);
}

/* ---------- reading ---------- */

static void item_of(const struct entry *e, struct history_item *it)
{
	int i;

	memcpy(it->id, e->id, sizeof(it->id));
	it->mtime_ms = e->end_ms ? e->end_ms : e->queued_ms;
	for (i = 0; i < HISTORY_NPARTS; i++)
		it->len[i] = e->len[i];
}

size_t history_list(struct history *h, const char *function,
		    struct history_item **out)
{
	struct hfunc *f;
	struct entry *e;
	size_t n = 0, cap;

	pthread_mutex_lock(&h->lock);
	f = hfunc_get_locked(h, function, false);
	cap = f ? f->ndone + 1 : 1;
	for (e = f ? f->newest : NULL; e; e = e->older)
		cap += e->queued;
	*out = xcalloc(cap, sizeof(**out));
	for (e = f ? f->newest : NULL; e && n < cap; e = e->older)
		item_of(e, &(*out)[n++]);
	pthread_mutex_unlock(&h->lock);
	return n;
}

int history_stat(struct history *h, const char *function, const char *id,
		 struct history_item *out)
{
	struct entry *e;

	pthread_mutex_lock(&h->lock);
	e = find_locked(hfunc_get_locked(h, function, false), id);
	if (e)
		item_of(e, out);
	pthread_mutex_unlock(&h->lock);
	return e ? 0 : -ENOENT;
}

int history_read(struct history *h, const char *function, const char *id,
		 enum history_part part, char **out, size_t *len)
{
	struct entry *e;
	char idc[37];

	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&h->lock);
	e = find_locked(hfunc_get_locked(h, function, false), id);
	if (!e) {
		pthread_mutex_unlock(&h->lock);
		return -ENOENT;
	}
	if (e->part[part]) {
		*len = e->len[part];
		*out = xmalloc(*len + 1);
		memcpy(*out, e->part[part], *len + 1);
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	memcpy(idc, e->id, sizeof(idc));
	pthread_mutex_unlock(&h->lock);
	/* written: the store has it (HISTORY_* matches the store's parts) */
	return store_invocation_part(h->st, idc, (int)part, out, len);
}
