/* SPDX-License-Identifier: MIT */
/*
 * docker.c - the Docker Engine API through libcurl (see docker.h).
 *
 * Design notes
 *
 * - One curl easy handle per call. Calls are few (a handful per cold
 *   start, none per warm invocation), so the cost of a handle (~50 us)
 *   does not matter, and no handle is ever shared between threads.
 *
 * - Every handle gets CURLOPT_NOSIGNAL, a connect timeout and, except on
 *   the streaming calls, a total timeout: a wedged dockerd makes a call
 *   fail with -ETIMEDOUT, it never hangs an invocation. attach streams
 *   for a container's lifetime, so it has no total timeout; it ends when
 *   the container's output closes or the daemon's socket does (dockerd
 *   stopping closes it), and the caller ends it early by killing the
 *   container.
 *
 * - Replies are read into a capped buffer (DOCKER_MAX_REPLY): a daemon
 *   that answers with more is an error (-E2BIG), not an allocation.
 *
 * - attach without a TTY sends frames: 8-byte header {stream, 0, 0, 0,
 *   size (big-endian u32)} then size bytes. Frames may be split across
 *   curl's write callbacks; struct demux reassembles them.
 *
 * - The API version is negotiated once: min(daemon's ApiVersion,
 *   DOCKER_API_MAX), refused below DOCKER_API_MIN. Every path is then
 *   prefixed with /vX.Y so the daemon answers in the shape we parse.
 */
#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "common.h"
#include "docker.h"
#include "log.h"
#include "util.h"

#define DOCKER_API_MAX "1.41"	/* one-shot stats, wait conditions */
#define DOCKER_API_MIN "1.25"
#define DOCKER_MAX_REPLY (4 * 1024 * 1024)
#define DOCKER_CONNECT_MS 3000L
#define DOCKER_CALL_MS 30000L	/* create may unpack an image */
#define DOCKER_SHORT_MS 5000L	/* ping, kill, inspect, stats */

struct docker {
	char *host;		/* as given, for messages */
	char *socket;		/* unix socket path, NULL for tcp */
	char *base;		/* "http://localhost" or "http://HOST:PORT" */
	char api[16];		/* negotiated, "1.41" */
};

/* ---------- HTTP status -> errno: the one table ---------- */

static const struct {
	long status;
	int err;
} status_errno[] = {
	{ 304, EALREADY },	/* start of a running / stop of a stopped one */
	{ 400, EINVAL },	/* bad parameter */
	{ 401, EACCES },
	{ 403, EACCES },
	{ 404, ENOENT },	/* no such container or image */
	{ 406, EINVAL },	/* not running (attach) */
	{ 409, EBUSY },		/* conflict: name in use, not running */
	{ 500, EIO },		/* server error */
	{ 501, ENOSYS },
	{ 503, EAGAIN },
};

int docker_errno(long status)
{
	size_t i;

	if (status >= 200 && status < 300)
		return 0;
	for (i = 0; i < ARRAY_SIZE(status_errno); i++)
		if (status_errno[i].status == status)
			return -status_errno[i].err;
	return status >= 500 ? -EIO : -EPROTO;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_WRITE_ERROR:
		return -E2BIG; /* our write callback refused (cap) */
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

void docker_reply_release(struct docker_reply *rep)
{
	if (!rep)
		return;
	free(rep->message);
	rep->message = NULL;
}

/* ---------- one request ---------- */

struct call {
	const char *method;
	const char *path;	/* after /vX.Y; NULL-safe query included */
	const char *body;	/* JSON or NULL */
	long timeout_ms;	/* 0: no total timeout (streams) */
	bool unversioned;	/* /version, /_ping */
	/* output */
	long status;
	struct buf reply;
	/* streaming: when set, receives the body instead of reply */
	size_t (*sink)(char *p, size_t n, void *arg);
	void *sink_arg;
	void (*on_headers)(void *arg);
	bool headers_done;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct call *c = arg;

	if (c->sink && c->headers_done)
		return c->sink(p, size * n, c->sink_arg);
	if (buf_append(&c->reply, p, size * n) < 0)
		return 0; /* over the cap: curl fails with WRITE_ERROR */
	return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct call *c = arg;
	size_t len = size * n;

	if (len > 9 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', len);

		c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	/* the blank line ends a header block (1xx blocks come first); only
	 * a successful one means the stream is up */
	if (len <= 2 && (p[0] == '\r' || p[0] == '\n') && !c->headers_done &&
	    c->status >= 200 && c->status < 300) {
		c->headers_done = true;
		if (c->on_headers)
			c->on_headers(c->sink_arg);
	}
	return len;
}

static int perform(struct docker *d, struct call *c)
{
	struct curl_slist *hdrs = NULL;
	char *url;
	CURL *h;
	CURLcode cc;
	int r;

	buf_init(&c->reply, DOCKER_MAX_REPLY);
	c->status = 0;
	h = curl_easy_init();
	if (!h)
		return -ENOMEM;
	if (c->unversioned || !d->api[0])
		url = xasprintf("%s%s", d->base, c->path);
	else
		url = xasprintf("%s/v%s%s", d->base, d->api, c->path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (d->socket)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, d->socket);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, DOCKER_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	/* no proxy for the daemon, whatever the environment says */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (c->body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
	} else if (!strcmp(c->method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	r = curl_errno(cc);
	if (r < 0 && c->status && c->sink && cc == CURLE_WRITE_ERROR)
		r = 0; /* the sink ended the stream on purpose */
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(url);
	return r;
}

/* The daemon's {"message": ...} of an error reply, or its raw text. */
static char *reply_message(const struct call *c)
{
	json_t *j;
	char *m = NULL;

	if (!c->reply.len)
		return NULL;
	j = json_loadb(c->reply.data, c->reply.len, 0, NULL);
	if (j && json_is_string(json_object_get(j, "message")))
		m = xstrdup(json_string_value(json_object_get(j, "message")));
	json_decref(j);
	if (!m)
		m = xstrdup(c->reply.data);
	m[strcspn(m, "\r\n")] = '\0';
	return m;
}

/*
 * Runs c and turns the outcome into 0/-errno, with the daemon's message
 * in rep (if given) on HTTP errors.
 */
static int request(struct docker *d, struct call *c, struct docker_reply *rep)
{
	int r = perform(d, c);

	if (rep) {
		rep->status = c->status;
		rep->message = NULL;
	}
	if (r == 0)
		r = docker_errno(c->status);
	if (r < 0 && rep && c->status >= 300)
		rep->message = reply_message(c);
	return r;
}

static json_t *reply_json(const struct call *c)
{
	return c->reply.len ? json_loadb(c->reply.data, c->reply.len, 0, NULL)
			    : NULL;
}

/* ---------- connection ---------- */

/* "1.41" < "1.9"? Compare as major.minor numbers. */
static int version_cmp(const char *a, const char *b)
{
	unsigned am = 0, an = 0, bm = 0, bn = 0;

	sscanf(a, "%u.%u", &am, &an);
	sscanf(b, "%u.%u", &bm, &bn);
	if (am != bm)
		return am < bm ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

int docker_open(const char *host, struct docker **out)
{
	struct docker *d;
	struct call c = { .method = "GET", .path = "/version",
			  .timeout_ms = DOCKER_SHORT_MS, .unversioned = true };
	const char *v;
	json_t *j = NULL;
	int r;

	*out = NULL;
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///var/run/docker.sock";
	d = xcalloc(1, sizeof(*d));
	d->host = xstrdup(host);
	if (!strncmp(host, "unix://", 7) && host[7] == '/') {
		d->socket = xstrdup(host + 7);
		d->base = xstrdup("http://localhost");
	} else if (!strncmp(host, "tcp://", 6) && host[6]) {
		d->base = xasprintf("http://%s", host + 6);
		/* a trailing slash would double in every path */
		if (d->base[strlen(d->base) - 1] == '/')
			d->base[strlen(d->base) - 1] = '\0';
	} else {
		r = -EINVAL;
		goto out;
	}
	r = request(d, &c, NULL);
	if (r < 0)
		goto out;
	j = reply_json(&c);
	v = json_string_value(json_object_get(j, "ApiVersion"));
	if (!v || version_cmp(v, DOCKER_API_MIN) < 0) {
		r = -EPROTO;
		goto out;
	}
	snprintf(d->api, sizeof(d->api), "%s",
		 version_cmp(v, DOCKER_API_MAX) < 0 ? v : DOCKER_API_MAX);
	r = 0;
out:
	json_decref(j);
	buf_release(&c.reply);
	if (r < 0) {
		docker_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void docker_close(struct docker *d)
{
	if (!d)
		return;
	free(d->host);
	free(d->socket);
	free(d->base);
	free(d);
}

const char *docker_host(const struct docker *d)
{
	return d->host;
}

const char *docker_api_version(const struct docker *d)
{
	return d->api;
}

bool docker_is_local(const struct docker *d)
{
	return d->socket != NULL;
}

int docker_ping(struct docker *d)
{
	struct call c = { .method = "GET", .path = "/_ping",
			  .timeout_ms = DOCKER_SHORT_MS, .unversioned = true };
	int r = request(d, &c, NULL);

	buf_release(&c.reply);
	return r;
}

/* ---------- containers ---------- */

static char *escape(const char *s)
{
	CURL *h = curl_easy_init();
	char *e = h ? curl_easy_escape(h, s, 0) : NULL;
	char *out = xstrdup(e ? e : "");

	curl_free(e);
	curl_easy_cleanup(h);
	return out;
}

int docker_create(struct docker *d, const char *name, const json_t *body,
		  char id[65], struct docker_reply *rep)
{
	char *qname = escape(name);
	char *path = xasprintf("/containers/create?name=%s", qname);
	char *text = json_dumps(body, JSON_COMPACT);
	struct call c = { .method = "POST", .path = path, .body = text,
			  .timeout_ms = DOCKER_CALL_MS };
	const char *s;
	json_t *j = NULL;
	int r;

	id[0] = '\0';
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	r = request(d, &c, rep);
	if (r < 0)
		goto out;
	j = reply_json(&c);
	s = json_string_value(json_object_get(j, "Id"));
	if (!s || strlen(s) > 64) {
		r = -EPROTO;
		goto out;
	}
	memcpy(id, s, strlen(s) + 1);
out:
	json_decref(j);
	buf_release(&c.reply);
	free(text);
	free(path);
	free(qname);
	return r;
}

static int simple(struct docker *d, const char *method, const char *path,
		  long timeout_ms, struct docker_reply *rep)
{
	struct call c = { .method = method, .path = path,
			  .timeout_ms = timeout_ms };
	int r = request(d, &c, rep);

	buf_release(&c.reply);
	return r;
}

int docker_start(struct docker *d, const char *id, struct docker_reply *rep)
{
	char *path = xasprintf("/containers/%s/start", id);
	int r = simple(d, "POST", path, DOCKER_CALL_MS, rep);

	free(path);
	return r == -EALREADY ? 0 : r;
}

int docker_kill(struct docker *d, const char *id, const char *sig)
{
	char *path = xasprintf("/containers/%s/kill?signal=%s", id, sig);
	int r = simple(d, "POST", path, DOCKER_SHORT_MS, NULL);

	free(path);
	return r;
}

int docker_remove(struct docker *d, const char *id)
{
	char *path = xasprintf("/containers/%s?force=1&v=1", id);
	int r = simple(d, "DELETE", path, DOCKER_CALL_MS, NULL);

	free(path);
	return r;
}

static int get_json(struct docker *d, const char *path, long timeout_ms,
		    json_t **out, struct docker_reply *rep)
{
	struct call c = { .method = "GET", .path = path,
			  .timeout_ms = timeout_ms };
	int r = request(d, &c, rep);

	*out = NULL;
	if (r == 0) {
		*out = reply_json(&c);
		if (!*out)
			r = -EPROTO;
	}
	buf_release(&c.reply);
	return r;
}

int docker_inspect(struct docker *d, const char *id, json_t **out)
{
	char *path = xasprintf("/containers/%s/json", id);
	int r = get_json(d, path, DOCKER_SHORT_MS, out, NULL);

	free(path);
	return r;
}

int docker_network_inspect(struct docker *d, const char *name, json_t **out)
{
	char *path = xasprintf("/networks/%s", name);
	int r = get_json(d, path, DOCKER_SHORT_MS, out, NULL);

	free(path);
	return r;
}

int docker_stats(struct docker *d, const char *id, json_t **out)
{
	char *path = xasprintf("/containers/%s/stats?stream=false&one-shot=true",
			       id);
	int r = get_json(d, path, DOCKER_SHORT_MS, out, NULL);

	free(path);
	return r;
}

int docker_wait(struct docker *d, const char *id, long timeout_ms,
		long *code)
{
	char *path = xasprintf("/containers/%s/wait", id);
	struct call c = { .method = "POST", .path = path,
			  .timeout_ms = timeout_ms };
	json_t *j = NULL, *sc;
	int r = request(d, &c, NULL);

	if (r == 0) {
		j = reply_json(&c);
		sc = json_object_get(j, "StatusCode");
		if (json_is_integer(sc))
			*code = (long)json_integer_value(sc);
		else
			r = -EPROTO;
	}
	json_decref(j);
	buf_release(&c.reply);
	free(path);
	return r;
}

int docker_list(struct docker *d, const char *label, char ***ids)
{
	json_t *filt = json_pack("{s:[s]}", "label", label);
	char *ftext = json_dumps(filt, JSON_COMPACT);
	char *q = escape(ftext ? ftext : "{}");
	char *path = xasprintf("/containers/json?all=1&filters=%s", q);
	json_t *j = NULL, *it;
	size_t i, n = 0;
	int r;

	*ids = NULL;
	r = get_json(d, path, DOCKER_CALL_MS, &j, NULL);
	if (r < 0)
		goto out;
	if (!json_is_array(j)) {
		r = -EPROTO;
		goto out;
	}
	*ids = xcalloc(json_array_size(j) + 1, sizeof(**ids));
	json_array_foreach (j, i, it) {
		const char *s = json_string_value(json_object_get(it, "Id"));

		if (s)
			(*ids)[n++] = xstrdup(s);
	}
	r = (int)n;
out:
	json_decref(j);
	json_decref(filt);
	free(path);
	free(q);
	free(ftext);
	return r;
}

/* ---------- attach: the multiplexed output stream ---------- */

struct demux {
	docker_output_fn out;
	void *arg;
	docker_attached_fn on_up;
	unsigned char hdr[8];
	size_t hdr_have;
	size_t left;		/* payload bytes still due in this frame */
	int stream;
	bool stop;
};

static void demux_up(void *arg)
{
	struct demux *m = arg;

	if (m->on_up) {
		m->on_up(m->arg);
		m->on_up = NULL;
	}
}

static size_t demux_feed(char *p, size_t n, void *arg)
{
	struct demux *m = arg;
	size_t total = n;

	while (n && !m->stop) {
		if (!m->left) {
			size_t take = sizeof(m->hdr) - m->hdr_have;

			if (take > n)
				take = n;
			memcpy(m->hdr + m->hdr_have, p, take);
			m->hdr_have += take;
			p += take;
			n -= take;
			if (m->hdr_have < sizeof(m->hdr))
				break;
			m->hdr_have = 0;
			m->stream = m->hdr[0];
			m->left = (size_t)m->hdr[4] << 24 |
				  (size_t)m->hdr[5] << 16 |
				  (size_t)m->hdr[6] << 8 | m->hdr[7];
			continue;
		}
		{
			size_t take = m->left < n ? m->left : n;

			if (!m->out(m->stream, p, take, m->arg))
				m->stop = true;
			m->left -= take;
			p += take;
			n -= take;
		}
	}
	return m->stop ? 0 : total;
}

int docker_attach(struct docker *d, const char *id, docker_attached_fn on_up,
		  docker_output_fn out, void *arg)
{
	char *path = xasprintf("/containers/%s/attach?stream=1&stdout=1"
			       "&stderr=1&logs=0",
			       id);
	struct demux m = { .out = out, .arg = arg, .on_up = on_up };
	struct call c = { .method = "POST", .path = path, .timeout_ms = 0,
			  .sink = demux_feed, .sink_arg = &m,
			  .on_headers = demux_up };
	int r = perform(d, &c);

	if (r == 0 && !c.headers_done)
		r = docker_errno(c.status) ? docker_errno(c.status) : -EPROTO;
	buf_release(&c.reply);
	free(path);
	return r;
}
