/* SPDX-License-Identifier: MIT */
/*
 * cwlogs.c - CloudWatch Logs calls over function log files (see cwlogs.h).
 *
 * A log line is "<ISO-8601 UTC ms> <message>" (flog.h); a line whose
 * timestamp is followed by a tab is a node runtime line that carries its
 * own timestamp, and on AWS that timestamp is part of the message, so
 * such a line is its message whole. A line without a timestamp (none is
 * written that way, but the file is the user's to truncate or edit)
 * takes the previous line's time.
 *
 * Positions and tokens: a place in the log is (inode, offset). The
 * rotated file keeps its inode when renamed to NAME.log.1, so a position
 * taken before a rotation still finds its line. A position whose inode
 * is neither file's (rotated away twice) restarts at the oldest line; an
 * offset past the end (the file was cleared) restarts at 0.
 *   FilterLogEvents nextToken  "<ino>:<off>"     where to continue
 *   GetLogEvents tokens        "f/<ino>:<off>"   forward from there
 *                              "b/<ino>:<off>"   the events before there
 * Event ids are the inode and offset as 40 decimal digits.
 *
 * Filter patterns: the term syntax (words and "quoted phrases" that must
 * all appear, -term that must not, ?term of which one must). JSON and
 * space-delimited patterns ({...}, [...]) are refused with
 * InvalidParameterException rather than matched wrongly.
 *
 * Limits as AWS: at most 10,000 events and about 1 MB per answer.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "common.h"
#include "cwlogs.h"
#include "invoke.h"
#include "registry.h"
#include "util.h"

#define CW_MAX_EVENTS 10000
#define CW_MAX_BYTES (1024 * 1024)
#define CW_MAX_GROUPS 50
#define CW_ARN_PREFIX "arn:aws:logs:" LAMBDAFS_REGION ":" LAMBDAFS_ACCOUNT

struct cw_pos {
	uint64_t ino;
	uint64_t off;
};

struct cw_event {
	int64_t ts;
	const char *msg;
	size_t len;
	struct cw_pos at;	/* where the line starts */
	struct cw_pos next;	/* where the line after it starts */
};

/* Returns false to stop the scan. */
typedef bool (*cw_event_fn)(const struct cw_event *ev, void *arg);

struct cw_err {
	const char *type;
	char *msg;
};

static int cw_fail(struct cw_err *e, int r, const char *type,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cw_fail(struct cw_err *e, int r, const char *type,
		   const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	e->type = type;
	e->msg = m ? m : xstrdup(type);
	return r;
}

/* ---------- reading the log ---------- */

static int cw_digits(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* "2026-11-23T08:00:00.000Z" -> epoch ms, or -1. */
static int64_t cw_parse_time(const char *p, size_t n)
{
	struct tm tm = { 0 };
	int ms;
	time_t t;

	if (n < 24 || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
	    p[13] != ':' || p[16] != ':' || p[19] != '.' || p[23] != 'Z')
		return -1;
	tm.tm_year = cw_digits(p, 4) - 1900;
	tm.tm_mon = cw_digits(p + 5, 2) - 1;
	tm.tm_mday = cw_digits(p + 8, 2);
	tm.tm_hour = cw_digits(p + 11, 2);
	tm.tm_min = cw_digits(p + 14, 2);
	tm.tm_sec = cw_digits(p + 17, 2);
	ms = cw_digits(p + 20, 3);
	if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 ||
	    tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0 || ms < 0)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

/*
 * Calls fn for every complete line of one file from offset off. A last
 * line without its newline is being written: it is left for the next
 * scan. Returns 1 if fn stopped the scan, 0 at the end, -errno.
 */
static int cw_scan_file(FILE *f, uint64_t ino, uint64_t off, int64_t *last_ts,
			cw_event_fn fn, void *arg)
{
	struct cw_event ev;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t ts;
	int r = 0;

	if (fseeko(f, (off_t)off, SEEK_SET) == -1)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;
		line[--n] = '\0';
		ev.at.ino = ev.next.ino = ino;
		ev.at.off = off;
		off += (uint64_t)n + 1;
		ev.next.off = off;
		ts = cw_parse_time(line, (size_t)n);
		if (ts >= 0 && n > 24 && line[24] == ' ') {
			ev.msg = line + 25;
			ev.len = (size_t)n - 25;
		} else {
			ev.msg = line;
			ev.len = (size_t)n;
		}
		ev.ts = ts >= 0 ? ts : *last_ts;
		*last_ts = ev.ts;
		if (!fn(&ev, arg)) {
			r = 1;
			break;
		}
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	free(line);
	return r;
}

/*
 * Scans a function's log from position from (NULL: the oldest line):
 * NAME.log.1, then NAME.log. *end (if not NULL) receives the position
 * just past the last complete line seen. Returns 0 or -errno.
 */
static int cw_scan(const char *path, const struct cw_pos *from,
		   struct cw_pos *end, cw_event_fn fn, void *arg)
{
	char *old = xasprintf("%s.1", path);
	const char *paths[2] = { old, path };
	FILE *f[2] = { NULL, NULL };
	struct stat st[2];
	uint64_t start[2] = { 0, 0 };
	int64_t last_ts = 0;
	int i, first = 0, r = 0;

	for (i = 0; i < 2; i++) {
		f[i] = fopen(paths[i], "re");
		if (f[i] && fstat(fileno(f[i]), &st[i]) == -1) {
			fclose(f[i]);
			f[i] = NULL;
		}
	}
	if (from) {
		for (i = 0; i < 2; i++) {
			if (!f[i] || (uint64_t)st[i].st_ino != from->ino)
				continue;
			first = i;
			if (from->off <= (uint64_t)st[i].st_size)
				start[i] = from->off;
		}
	}
	if (end) {
		end->ino = f[1] ? (uint64_t)st[1].st_ino : 0;
		end->off = 0;
	}
	for (i = first; i < 2 && r == 0; i++) {
		if (!f[i])
			continue;
		r = cw_scan_file(f[i], (uint64_t)st[i].st_ino, start[i],
				 &last_ts, fn, arg);
		if (end && i == 1 && r == 0) {
			/* the end of the complete lines, where the next
			 * scan resumes */
			off_t pos = ftello(f[i]);
			struct stat now;

			if (fstat(fileno(f[i]), &now) == 0 && pos >= 0) {
				end->off = (uint64_t)pos;
				if (pos > now.st_size)
					end->off = (uint64_t)now.st_size;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (f[i])
			fclose(f[i]);
	free(old);
	return r < 0 ? r : 0;
}

/* ---------- requests ---------- */

static bool cw_parse_pos(const char *s, struct cw_pos *p)
{
	unsigned long long ino, off;
	int used = 0;

	if (sscanf(s, "%llu:%llu%n", &ino, &off, &used) != 2 ||
	    s[used] != '\0')
		return false;
	p->ino = ino;
	p->off = off;
	return true;
}

static char *cw_pos_str(const char *prefix, const struct cw_pos *p)
{
	return xasprintf("%s%llu:%llu", prefix, (unsigned long long)p->ino,
			 (unsigned long long)p->off);
}

/* An integer member, or def when absent; -EINVAL when not an integer. */
static int cw_int(const json_t *req, const char *key, int64_t def,
		  int64_t *out)
{
	const json_t *v = json_object_get(req, key);

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

static const char *cw_str(const json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

/*
 * The function behind a request's log group (logGroupName, or a
 * logGroupIdentifier that is a name or an ARN). Copies it into name.
 */
static int cw_group(struct registry *reg, const json_t *req,
		    char name[65], struct function_info *fi, struct cw_err *e)
{
	const char *g = cw_str(req, "logGroupName");
	const char *p;

	if (!g)
		g = cw_str(req, "logGroupIdentifier");
	if (!g)
		return cw_fail(e, -EINVAL, "InvalidParameterException",
			       "logGroupName is required");
	p = strstr(g, ":log-group:");
	if (p)
		g = p + strlen(":log-group:");
	if (strncmp(g, CWLOGS_GROUP_PREFIX, strlen(CWLOGS_GROUP_PREFIX)))
		goto missing;
	p = g + strlen(CWLOGS_GROUP_PREFIX);
	/* an ARN may end in ":*" */
	snprintf(name, 65, "%.*s", (int)strcspn(p, ":"), p);
	if (strlen(p) > 64 + 2 || !util_is_function_name(name) ||
	    registry_function_stat(reg, name, fi) < 0)
		goto missing;
	return 0;
missing:
	return cw_fail(e, -ENOENT, "ResourceNotFoundException",
		       "The specified log group does not exist.");
}

/* A log line may hold any bytes: invalid UTF-8 becomes '?' rather than
 * losing the line or sending a body clients cannot decode. */
static json_t *cw_string(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *t;
	size_t i;

	if (j)
		return j;
	t = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		t[i] = (unsigned char)s[i] < 0x80 && s[i] ? s[i] : '?';
	t[n] = '\0';
	j = json_stringn(t, n);
	free(t);
	return j ? j : json_string("");
}

/* ---------- filter patterns ---------- */

struct cw_term {
	char *text;
	char kind; /* '+' must, '-' must not, '?' one of */
};

struct cw_filter {
	struct cw_term *terms;
	size_t n;
	bool any_optional;
};

static void cw_filter_release(struct cw_filter *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->terms[i].text);
	free(f->terms);
}

static int cw_filter_parse(const char *pat, struct cw_filter *f,
			   struct cw_err *e)
{
	const char *p = pat ? pat : "";

	memset(f, 0, sizeof(*f));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '{' || *p == '[')
		return cw_fail(e, -EINVAL, "InvalidParameterException",
			       "lambdafs supports term filter patterns only "
			       "(words, \"phrases\", -excluded, ?any): '%s'",
			       pat);
	while (*p) {
		char kind = '+';
		const char *s;
		size_t n;

		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == '-' || *p == '?')
			kind = *p++;
		if (*p == '"') {
			s = ++p;
			n = strcspn(s, "\"");
			p = s + n + (s[n] == '"');
		} else {
			s = p;
			n = strcspn(s, " \t");
			p = s + n;
		}
		if (!n)
			continue;
		f->terms = xrealloc(f->terms, (f->n + 1) * sizeof(*f->terms));
		f->terms[f->n].text = xasprintf("%.*s", (int)n, s);
		f->terms[f->n].kind = kind;
		f->any_optional |= kind == '?';
		f->n++;
	}
	return 0;
}

static bool cw_filter_match(const struct cw_filter *f, const char *msg,
			    size_t len)
{
	bool any = false;
	size_t i;

	for (i = 0; i < f->n; i++) {
		bool has = memmem(msg, len, f->terms[i].text,
				  strlen(f->terms[i].text)) != NULL;

		if (f->terms[i].kind == '+' && !has)
			return false;
		if (f->terms[i].kind == '-' && has)
			return false;
		any |= f->terms[i].kind == '?' && has;
	}
	return !f->any_optional || any;
}

/* ---------- FilterLogEvents ---------- */

struct cw_filter_ctx {
	int64_t start, end;
	int64_t limit;
	struct cw_filter filter;
	json_t *events;
	size_t bytes;
	bool more;
	struct cw_pos next;
};

static bool cw_filter_event(const struct cw_event *ev, void *arg)
{
	struct cw_filter_ctx *c = arg;
	char id[41];

	if (ev->ts < c->start || (c->end >= 0 && ev->ts > c->end))
		return true;
	if (!cw_filter_match(&c->filter, ev->msg, ev->len))
		return true;
	if ((int64_t)json_array_size(c->events) >= c->limit ||
	    c->bytes + ev->len > CW_MAX_BYTES) {
		c->more = true;
		c->next = ev->at;
		return false;
	}
	snprintf(id, sizeof(id), "%020llu%020llu",
		 (unsigned long long)ev->at.ino,
		 (unsigned long long)ev->at.off);
	json_array_append_new(
		c->events,
		json_pack("{s:s, s:I, s:o, s:I, s:s}", "logStreamName",
			  CWLOGS_STREAM, "timestamp", (json_int_t)ev->ts,
			  "message", cw_string(ev->msg, ev->len),
			  "ingestionTime", (json_int_t)ev->ts, "eventId", id));
	c->bytes += ev->len + 26;
	return true;
}

/* Does the request's stream selection include our one stream? */
static bool cw_streams_match(const json_t *req)
{
	const json_t *names = json_object_get(req, "logStreamNames");
	const char *prefix = cw_str(req, "logStreamNamePrefix");
	const json_t *v;
	size_t i;

	if (prefix && strncmp(CWLOGS_STREAM, prefix, strlen(prefix)))
		return false;
	if (!json_is_array(names) || !json_array_size(names))
		return true;
	json_array_foreach(names, i, v)
		if (json_is_string(v) &&
		    !strcmp(json_string_value(v), CWLOGS_STREAM))
			return true;
	return false;
}

static int cw_filter_log_events(struct registry *reg, struct invoker *iv,
				const json_t *req, json_t **out,
				struct cw_err *e)
{
	struct cw_filter_ctx c = { 0 };
	struct function_info fi;
	struct cw_pos from;
	const char *tok = cw_str(req, "nextToken");
	char name[65], *path = NULL, *next = NULL;
	bool searched;
	int r;

	r = cw_group(reg, req, name, &fi, e);
	if (r < 0)
		return r;
	if (cw_int(req, "startTime", 0, &c.start) < 0 ||
	    cw_int(req, "endTime", -1, &c.end) < 0 ||
	    cw_int(req, "limit", CW_MAX_EVENTS, &c.limit) < 0 ||
	    c.limit < 1 || c.limit > CW_MAX_EVENTS)
		return cw_fail(e, -EINVAL, "InvalidParameterException",
			       "startTime, endTime and limit (1..10000) must "
			       "be integers");
	if (tok && !cw_parse_pos(tok, &from))
		return cw_fail(e, -EINVAL, "InvalidParameterException",
			       "The specified nextToken is invalid.");
	r = cw_filter_parse(cw_str(req, "filterPattern"), &c.filter, e);
	if (r < 0)
		return r;
	c.events = json_array();
	searched = cw_streams_match(req);
	if (searched) {
		path = invoke_log_path(iv, name);
		r = cw_scan(path, tok ? &from : NULL, NULL, cw_filter_event,
			    &c);
		if (r < 0) {
			json_decref(c.events);
			cw_filter_release(&c.filter);
			free(path);
			return cw_fail(e, r, "ServiceUnavailableException",
				       "cannot read the log of '%s': %s", name,
				       strerror(-r));
		}
	}
	*out = json_pack("{s:o, s:[]}", "events", c.events,
			 "searchedLogStreams");
	if (searched)
		json_array_append_new(json_object_get(*out,
						      "searchedLogStreams"),
				      json_pack("{s:s, s:b}", "logStreamName",
						CWLOGS_STREAM,
						"searchedCompletely", !c.more));
	if (c.more) {
		next = cw_pos_str("", &c.next);
		json_object_set_new(*out, "nextToken", json_string(next));
	}
	free(next);
	free(path);
	cw_filter_release(&c.filter);
	return 0;
}

/* ---------- GetLogEvents ---------- */

struct cw_kept {
	int64_t ts;
	char *msg;
	size_t len;
	struct cw_pos at, next;
};

struct cw_get_ctx {
	int64_t start, end, limit;
	bool tail;		/* keep the last `limit` (else the first) */
	bool bounded;		/* stop at `before` */
	struct cw_pos before;
	struct cw_kept *ring;	/* limit slots */
	size_t n, head;		/* kept count; oldest slot when full */
	bool full_stop;		/* first-N mode reached its limit */
};

static bool cw_get_event(const struct cw_event *ev, void *arg)
{
	struct cw_get_ctx *c = arg;
	struct cw_kept *k;

	if (c->bounded && ev->at.ino == c->before.ino &&
	    ev->at.off >= c->before.off)
		return false;
	if (ev->ts < c->start || (c->end >= 0 && ev->ts >= c->end))
		return true;
	if (c->n == (size_t)c->limit) {
		if (!c->tail) {
			c->full_stop = true;
			return false;
		}
		k = &c->ring[c->head];
		free(k->msg);
		c->head = (c->head + 1) % (size_t)c->limit;
	} else {
		k = &c->ring[(c->head + c->n) % (size_t)c->limit];
		c->n++;
	}
	k->ts = ev->ts;
	k->msg = xmalloc(ev->len + 1);
	memcpy(k->msg, ev->msg, ev->len);
	k->msg[ev->len] = '\0';
	k->len = ev->len;
	k->at = ev->at;
	k->next = ev->next;
	return true;
}

static int cw_get_log_events(struct registry *reg, struct invoker *iv,
			     const json_t *req, json_t **out, struct cw_err *e)
{
	struct cw_get_ctx c = { 0 };
	struct function_info fi;
	struct cw_pos from = { 0, 0 }, end, fwd, back = { 0, 0 };
	const char *tok = cw_str(req, "nextToken");
	const char *stream = cw_str(req, "logStreamName");
	char name[65], *path, *f = NULL, *b = NULL;
	bool forward, have_from = false;
	json_t *events;
	size_t i, lo, hi, bytes = 0;
	int r;

	r = cw_group(reg, req, name, &fi, e);
	if (r < 0)
		return r;
	if (!stream || strcmp(stream, CWLOGS_STREAM))
		return cw_fail(e, -ENOENT, "ResourceNotFoundException",
			       "The specified log stream does not exist.");
	if (cw_int(req, "startTime", 0, &c.start) < 0 ||
	    cw_int(req, "endTime", -1, &c.end) < 0 ||
	    cw_int(req, "limit", CW_MAX_EVENTS, &c.limit) < 0 ||
	    c.limit < 1 || c.limit > CW_MAX_EVENTS)
		return cw_fail(e, -EINVAL, "InvalidParameterException",
			       "startTime, endTime and limit (1..10000) must "
			       "be integers");
	forward = json_is_true(json_object_get(req, "startFromHead"));
	if (tok) {
		if ((tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' ||
		    !cw_parse_pos(tok + 2, tok[0] == 'f' ? &from : &c.before))
			return cw_fail(e, -EINVAL,
				       "InvalidParameterException",
				       "The specified nextToken is invalid.");
		forward = tok[0] == 'f';
		have_from = forward;
		c.bounded = !forward;
	}
	c.tail = !forward;
	c.ring = xcalloc((size_t)c.limit, sizeof(*c.ring));
	path = invoke_log_path(iv, name);
	/* "b/0:0" is before the first event: nothing to scan */
	r = 0;
	end = c.before;
	if (!c.bounded || c.before.ino)
		r = cw_scan(path, have_from ? &from : NULL, &end, cw_get_event,
			    &c);
	free(path);
	if (r < 0) {
		r = cw_fail(e, r, "ServiceUnavailableException",
			    "cannot read the log of '%s': %s", name,
			    strerror(-r));
		goto out;
	}
	/* with nothing returned, the tokens stay where the caller was */
	fwd = back = have_from ? from : c.before;
	if (!have_from && !c.bounded) {
		fwd = end;
		back.ino = back.off = 0;
	}
	/* AWS's 1 MB per answer: the first events going forward, the
	 * newest when tailing */
	lo = 0;
	hi = c.n;
	for (i = 0; i < c.n; i++) {
		size_t j = forward ? i : c.n - 1 - i;

		bytes += c.ring[(c.head + j) % (size_t)c.limit].len + 26;
		if (bytes > CW_MAX_BYTES && i > 0) {
			if (forward)
				hi = j;
			else
				lo = j + 1;
			break;
		}
	}
	events = json_array();
	for (i = lo; i < hi; i++) {
		struct cw_kept *k = &c.ring[(c.head + i) % (size_t)c.limit];

		if (i == lo)
			back = k->at;
		fwd = k->next;
		json_array_append_new(
			events, json_pack("{s:I, s:o, s:I}", "timestamp",
					  (json_int_t)k->ts, "message",
					  cw_string(k->msg, k->len),
					  "ingestionTime", (json_int_t)k->ts));
	}
	f = cw_pos_str("f/", &fwd);
	b = cw_pos_str("b/", &back);
	*out = json_pack("{s:o, s:s, s:s}", "events", events,
			 "nextForwardToken", f, "nextBackwardToken", b);
	r = 0;
out:
	for (i = 0; i < c.n; i++)
		free(c.ring[(c.head + i) % (size_t)c.limit].msg);
	free(c.ring);
	free(f);
	free(b);
	return r;
}

/* ---------- DescribeLogGroups / DescribeLogStreams ---------- */

static int64_t cw_stored_bytes(struct invoker *iv, const char *name,
			       int64_t *mtime_ms)
{
	char *path = invoke_log_path(iv, name);
	char *old = xasprintf("%s.1", path);
	struct stat st;
	int64_t n = 0;

	if (mtime_ms)
		*mtime_ms = 0;
	if (stat(old, &st) == 0)
		n += st.st_size;
	if (stat(path, &st) == 0) {
		n += st.st_size;
		if (mtime_ms)
			*mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
				    st.st_mtim.tv_nsec / 1000000;
	}
	free(old);
	free(path);
	return n;
}

struct cw_groups_ctx {
	struct invoker *iv;
	const char *prefix;
	const char *after;	/* nextToken: the last group returned */
	int64_t limit;
	json_t *groups;
	char *last;
	bool more;
};

static void cw_group_fn(const struct function_info *fi, void *arg)
{
	struct cw_groups_ctx *c = arg;
	char *g = xasprintf(CWLOGS_GROUP_PREFIX "%s", fi->name);
	char *arn;

	if ((c->prefix && strncmp(g, c->prefix, strlen(c->prefix))) ||
	    (c->after && strcmp(g, c->after) <= 0) || c->more) {
		free(g);
		return;
	}
	if ((int64_t)json_array_size(c->groups) == c->limit) {
		c->more = true;
		free(g);
		return;
	}
	arn = xasprintf(CW_ARN_PREFIX ":log-group:%s", g);
	json_array_append_new(
		c->groups,
		json_pack("{s:s, s:I, s:i, s:s+, s:I, s:s, s:s}",
			  "logGroupName", g, "creationTime",
			  (json_int_t)fi->created_ms,
			  "metricFilterCount", 0, "arn", arn, ":*",
			  "storedBytes",
			  (json_int_t)cw_stored_bytes(c->iv, fi->name, NULL),
			  "logGroupArn", arn, "logGroupClass", "STANDARD"));
	free(c->last);
	c->last = g;
	free(arn);
}

static int cw_describe_log_groups(struct registry *reg, struct invoker *iv,
				  const json_t *req, json_t **out,
				  struct cw_err *e)
{
	struct cw_groups_ctx c = { 0 };

	c.iv = iv;
	c.prefix = cw_str(req, "logGroupNamePrefix");
	c.after = cw_str(req, "nextToken");
	if (cw_int(req, "limit", CW_MAX_GROUPS, &c.limit) < 0 || c.limit < 1 ||
	    c.limit > CW_MAX_GROUPS)
		return cw_fail(e, -EINVAL, "InvalidParameterException",
			       "limit must be an integer in 1..50");
	c.groups = json_array();
	/* names come in order, which is also the order of the groups */
	registry_function_foreach(reg, cw_group_fn, &c);
	*out = json_pack("{s:o}", "logGroups", c.groups);
	if (c.more && c.last)
		json_object_set_new(*out, "nextToken", json_string(c.last));
	free(c.last);
	return 0;
}

static bool cw_first_event(const struct cw_event *ev, void *arg)
{
	*(int64_t *)arg = ev->ts;
	return false;
}

static int cw_describe_log_streams(struct registry *reg, struct invoker *iv,
				   const json_t *req, json_t **out,
				   struct cw_err *e)
{
	struct function_info fi;
	const char *prefix = cw_str(req, "logStreamNamePrefix");
	char name[65], *path, *arn;
	int64_t first = -1, mtime, stored;
	json_t *streams, *s;
	int r;

	r = cw_group(reg, req, name, &fi, e);
	if (r < 0)
		return r;
	streams = json_array();
	if (!prefix || !strncmp(CWLOGS_STREAM, prefix, strlen(prefix))) {
		path = invoke_log_path(iv, name);
		(void)cw_scan(path, NULL, NULL, cw_first_event, &first);
		free(path);
		stored = cw_stored_bytes(iv, name, &mtime);
		arn = xasprintf(CW_ARN_PREFIX ":log-group:" CWLOGS_GROUP_PREFIX
				"%s:log-stream:" CWLOGS_STREAM,
				name);
		s = json_pack("{s:s, s:I, s:s, s:I}", "logStreamName",
			      CWLOGS_STREAM, "creationTime",
			      (json_int_t)fi.created_ms, "arn", arn,
			      "storedBytes", (json_int_t)stored);
		if (first >= 0) {
			json_object_set_new(s, "firstEventTimestamp",
					    json_integer(first));
			json_object_set_new(s, "lastEventTimestamp",
					    json_integer(mtime));
			json_object_set_new(s, "lastIngestionTime",
					    json_integer(mtime));
		}
		json_array_append_new(streams, s);
		free(arn);
	}
	*out = json_pack("{s:o}", "logStreams", streams);
	return 0;
}

/* ---------- dispatch ---------- */

int cwlogs_call(struct registry *reg, struct invoker *iv, const char *op,
		const char *body, size_t len, char **out, size_t *out_len,
		const char **etype, char **msg)
{
	static const struct {
		const char *op;
		int (*fn)(struct registry *, struct invoker *, const json_t *,
			  json_t **, struct cw_err *);
	} ops[] = {
		{ "FilterLogEvents", cw_filter_log_events },
		{ "GetLogEvents", cw_get_log_events },
		{ "DescribeLogGroups", cw_describe_log_groups },
		{ "DescribeLogStreams", cw_describe_log_streams },
	};
	struct cw_err e = { NULL, NULL };
	json_error_t jerr;
	json_t *req = NULL, *ans = NULL;
	size_t i;
	int r;

	*out = NULL;
	*etype = NULL;
	*msg = NULL;
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(ops[i].op, op))
			break;
	if (i == ARRAY_SIZE(ops)) {
		r = cw_fail(&e, -ENOSYS, "UnknownOperationException",
			    "lambdafs does not serve Logs operation '%s'", op);
		goto out;
	}
	req = len ? json_loadb(body, len, 0, &jerr) : json_object();
	if (!json_is_object(req)) {
		r = cw_fail(&e, -EINVAL, "SerializationException",
			    "the request body is not a JSON object");
		goto out;
	}
	r = ops[i].fn(reg, iv, req, &ans, &e);
	if (r < 0)
		goto out;
	*out = json_dumps(ans, JSON_COMPACT);
	if (!*out) {
		r = cw_fail(&e, -ENOMEM, "ServiceUnavailableException",
			    "cannot encode the answer");
		goto out;
	}
	*out_len = strlen(*out);
out:
	if (r < 0) {
		*etype = e.type;
		*msg = e.msg;
	}
	json_decref(ans);
	json_decref(req);
	return r;
}
