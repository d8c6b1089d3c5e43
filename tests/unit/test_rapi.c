/* SPDX-License-Identifier: MIT */
/*
 * test_rapi.c - unit tests for rapi.c: a real server on 127.0.0.1 and
 * libcurl playing the runtime, the way MHD's own testcurl does it.
 *
 * Covered: the long-polling /next really blocks until rapi_dispatch and
 * carries the exact headers; /response, /error (type from the header,
 * from the JSON body, synthesised for an empty body) and /init/error;
 * the state machine of LAMBDA-CONTRACT §1.7 with the exact 400/403
 * bodies; a repeated /next while Running; two waiting /next; the cold
 * start (dispatch before the first /next); the 413 for a body one byte
 * over the limit, on a connection that stays usable; chunked streaming
 * responses with and without error trailers; a bad response mode; large
 * and empty request headers; 404/405; -EBUSY; rapi_stop with a waiting
 * /next; close-on-exec sockets; 1000 warm round trips on one
 * keep-alive curl handle and 200 from a client that leaves Nagle on and
 * splits its POSTs in two writes, both reported as TAP diagnostics (no
 * time is asserted; ~25/s would mean a Nagle + delayed ACK stall).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common.h"
#include "rapi.h"
#include "buf.h"
#include "util.h"
#include "tap.h"

#define PREFIX "/2018-06-01/runtime"
#define ARN "arn:aws:lambda:us-east-1:000000000000:function:hello"
#define TRACE "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;" \
	      "Parent=9a9197af755a6419;Sampled=1"
#define ID1 "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
#define ID2 "9f3a1b2c-0000-4000-8000-000000000002"
#define ACCEPTED "{\"status\":\"OK\"}\n"
#define BAD_ID "{\"errorMessage\":\"Invalid request ID\"," \
	       "\"errorType\":\"InvalidRequestID\"}\n"
#define TRANSITION(from, to)                                             \
	"{\"errorMessage\":\"State transition from " from " to " to      \
	" failed for runtime. Error: State transition is not allowed\"," \
	"\"errorType\":\"InvalidStateTransition\"}\n"
#define TOO_LARGE "{\"errorMessage\":\"Exceeded maximum allowed payload " \
		  "size (6291556 bytes).\",\"errorType\":"                \
		  "\"RequestEntityTooLarge\"}\n"
#define INTERNAL "{\"errorMessage\":\"Internal Server Error\"," \
		 "\"errorType\":\"InternalServerError\"}\n"

/* ---------- what the callbacks saw ---------- */

static struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int results;
	int ready, ready_first;
	enum rapi_outcome outcome;
	char *id, *body, *ctype, *etype;
	size_t len;
} rec = { .lock = PTHREAD_MUTEX_INITIALIZER,
	  .cond = PTHREAD_COND_INITIALIZER };

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void on_result(void *arg, enum rapi_outcome outcome,
		      const char *request_id, const char *body, size_t len,
		      const char *content_type, const char *error_type)
{
	(void)arg;
	pthread_mutex_lock(&rec.lock);
	free(rec.id);
	free(rec.body);
	free(rec.ctype);
	free(rec.etype);
	rec.outcome = outcome;
	rec.id = dup_or_null(request_id);
	rec.body = xmalloc(len + 1);
	memcpy(rec.body, body, len);
	rec.body[len] = '\0';
	rec.len = len;
	rec.ctype = dup_or_null(content_type);
	rec.etype = dup_or_null(error_type);
	rec.results++;
	pthread_cond_broadcast(&rec.cond);
	pthread_mutex_unlock(&rec.lock);
}

static void on_ready(void *arg, bool first)
{
	(void)arg;
	pthread_mutex_lock(&rec.lock);
	rec.ready++;
	if (first)
		rec.ready_first++;
	pthread_cond_broadcast(&rec.cond);
	pthread_mutex_unlock(&rec.lock);
}

static const struct rapi_callbacks callbacks = {
	.on_result = on_result,
	.on_ready = on_ready,
};

static int get_results(void)
{
	int n;

	pthread_mutex_lock(&rec.lock);
	n = rec.results;
	pthread_mutex_unlock(&rec.lock);
	return n;
}

static void get_ready(int *ready, int *first)
{
	pthread_mutex_lock(&rec.lock);
	*ready = rec.ready;
	*first = rec.ready_first;
	pthread_mutex_unlock(&rec.lock);
}

/* Waits up to 5 s for *counter (a rec field) to reach want. */
static bool wait_for(const int *counter, int want)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&rec.lock);
	while (*counter < want)
		if (pthread_cond_timedwait(&rec.cond, &rec.lock, &ts))
			break;
	ok = *counter >= want;
	pthread_mutex_unlock(&rec.lock);
	return ok;
}

/* ---------- a small HTTP client ---------- */

struct reply {
	long status;
	struct buf head; /* the last header block */
	struct buf body;
	long connects;	 /* new connections this request opened */
};

struct request {
	const char *method; /* "GET" or "POST" */
	const char *path;
	const char *body;
	size_t len;
	const char *const *headers; /* NULL-terminated, or NULL */
	bool chunked;		    /* send the body in 1000-byte chunks */
	const char *const *trailers;
};

struct upload {
	const char *p;
	size_t left;
	const char *const *trailers;
};

static uint16_t port;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *rp = arg;

	if (buf_append(&rp->body, p, size * n) < 0)
		return 0;
	return size * n;
}

static size_t on_head(char *p, size_t size, size_t n, void *arg)
{
	struct reply *rp = arg;

	if (n * size >= 5 && !strncmp(p, "HTTP/", 5))
		buf_reset(&rp->head); /* 100 Continue came first */
	if (buf_append(&rp->head, p, size * n) < 0)
		return 0;
	return size * n;
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
	struct upload *up = arg;
	size_t k = size * n;

	if (k > 1000)
		k = 1000;
	if (k > up->left)
		k = up->left;
	memcpy(p, up->p, k);
	up->p += k;
	up->left -= k;
	return k;
}

static int on_trailers(struct curl_slist **list, void *arg)
{
	struct upload *up = arg;
	const char *const *t;

	for (t = up->trailers; t && *t; t++)
		*list = curl_slist_append(*list, *t);
	return CURL_TRAILERFUNC_OK;
}

static CURL *client_new(void)
{
	CURL *h = curl_easy_init();

	if (!h)
		BUG("curl_easy_init");
	return h;
}

static void reply_init(struct reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	buf_init(&rp->head, 1 << 20);
	buf_init(&rp->body, 16 << 20);
}

static void reply_release(struct reply *rp)
{
	buf_release(&rp->head);
	buf_release(&rp->body);
}

/* Performs one request on h (keeping its connection). Returns 0 or -1. */
static int http(CURL *h, const struct request *rq, struct reply *rp)
{
	struct curl_slist *hl = NULL;
	struct upload up = { rq->body, rq->len, rq->trailers };
	const char *const *hd;
	char url[512];
	CURLcode c;

	reply_init(rp);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, rq->path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* no signals from libcurl in a threaded program (CURLOPT_NOSIGNAL) */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, rp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, rp);
	for (hd = rq->headers; hd && *hd; hd++)
		hl = curl_slist_append(hl, *hd);
	if (!strcmp(rq->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (rq->chunked) {
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		if (rq->trailers) {
			curl_easy_setopt(h, CURLOPT_TRAILERFUNCTION,
					 on_trailers);
			curl_easy_setopt(h, CURLOPT_TRAILERDATA, &up);
		}
	} else {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 rq->body ? rq->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)rq->len);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	c = curl_easy_perform(h);
	curl_slist_free_all(hl);
	if (c != CURLE_OK) {
		printf("# curl %s %s: %s\n", rq->method, rq->path,
		       curl_easy_strerror(c));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rp->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &rp->connects);
	return 0;
}

/* One request on a fresh handle; status, or -1. Fills *rp. */
static long http1(const struct request *rq, struct reply *rp)
{
	CURL *h = client_new();
	int r = http(h, rq, rp);

	curl_easy_cleanup(h);
	return r < 0 ? -1 : rp->status;
}

/* Value of a response header (case-insensitive name), or NULL; free it. */
static char *header(const struct reply *rp, const char *name)
{
	const char *p = rp->head.data, *eol, *v, *e;
	size_t n = strlen(name);

	for (; p && *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (!eol)
			break;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			v = p + n + 1;
			while (*v == ' ')
				v++;
			e = eol;
			while (e > v && (e[-1] == '\r' || e[-1] == ' '))
				e--;
			return strndup(v, e - v);
		}
	}
	return NULL;
}

static void is_header(const struct reply *rp, const char *name,
		      const char *want, const char *what)
{
	char *v = header(rp, name);

	is_str(v, want, what);
	free(v);
}

static const char *body_of(const struct reply *rp)
{
	return rp->body.data ? rp->body.data : "";
}

/* POST path with body and headers; checks status and exact reply body. */
static void post_expect(const char *path, const char *body,
			const char *const *hdrs, long status,
			const char *want, const char *what)
{
	struct request rq = { "POST", path, body, body ? strlen(body) : 0,
			      hdrs, false, NULL };
	struct reply rp;
	char name[256];

	snprintf(name, sizeof(name), "%s: status %ld", what, status);
	is_int(http1(&rq, &rp), status, name);
	snprintf(name, sizeof(name), "%s: body", what);
	is_str(body_of(&rp), want, name);
	reply_release(&rp);
}

/* ---------- /next in a thread ---------- */

struct next_call {
	pthread_t t;
	struct reply rp;
	long status;
	_Atomic bool done;
};

static void *next_main(void *arg)
{
	struct next_call *nc = arg;
	struct request rq = { "GET", PREFIX "/invocation/next", NULL, 0,
			      NULL, false, NULL };

	nc->status = http1(&rq, &nc->rp);
	nc->done = true;
	return NULL;
}

static void next_start(struct next_call *nc)
{
	memset(nc, 0, sizeof(*nc));
	pthread_create(&nc->t, NULL, next_main, nc);
}

static void next_join(struct next_call *nc)
{
	pthread_join(nc->t, NULL);
}

static long next_now(struct reply *rp)
{
	struct request rq = { "GET", PREFIX "/invocation/next", NULL, 0,
			      NULL, false, NULL };

	return http1(&rq, rp);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	return util_mono_ns() / 1e9;
}

/* ---------- fixtures ---------- */

static const struct rapi_invocation inv1 = {
	.request_id = ID1,
	.event = "{\"key\":\"value\"}",
	.event_len = 15,
	.deadline_ms = 1700000000123,
	.function_arn = ARN,
	.trace_id = TRACE,
};

static const struct rapi_invocation inv2 = {
	.request_id = ID2,
	.event = "",
	.event_len = 0,
	.deadline_ms = 1700000009999,
	.function_arn = ARN ":prod",
	.client_context = "{\n\"custom\":{\"a\":\"b\"}}",
	.cognito_identity = "{\"cognitoIdentityId\":\"id\","
			    "\"cognitoIdentityPoolId\":\"pool\"}",
};

static struct rapi_invocation make_inv(const char *id)
{
	struct rapi_invocation inv = inv1;

	inv.request_id = id;
	inv.trace_id = NULL;
	return inv;
}

/* Dispatches id and takes it with an immediate /next. */
static void hand_out(struct rapi *r, const char *id)
{
	struct rapi_invocation inv = make_inv(id);
	struct reply rp;
	char name[128];

	snprintf(name, sizeof(name), "dispatch %s", id);
	is_int(rapi_dispatch(r, &inv), 0, name);
	snprintf(name, sizeof(name), "/next hands out %s", id);
	is_int(next_now(&rp), 200, name);
	is_header(&rp, "Lambda-Runtime-Aws-Request-Id", id, name);
	reply_release(&rp);
}

static bool fds_cloexec(const bool before[256])
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	bool all = true;
	int fd, fl;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		fd = (int)strtol(de->d_name, NULL, 10);
		if (fd < 3 || fd >= 256 || fd == dirfd(d) || before[fd])
			continue;
		fl = fcntl(fd, F_GETFD);
		if (fl != -1 && !(fl & FD_CLOEXEC)) {
			printf("# fd %d is inherited by children\n", fd);
			all = false;
		}
	}
	closedir(d);
	return all;
}

static void fds_snapshot(bool before[256])
{
	int fd;

	for (fd = 0; fd < 256; fd++)
		before[fd] = fcntl(fd, F_GETFD) != -1;
}

/* ---------- tests ---------- */

static void test_basic_cycle(struct rapi *r)
{
	struct next_call nc;
	struct reply rp;
	int ready, first;
	const char resp_body[] = "{\"out\":1}\0binary\xff";
	char path[256];
	/* "Name;" makes curl send an empty header, as aws-lambda-cpp does */
	static const char *const hdrs[] = {
		"Content-Type: application/unknown",
		"Lambda-Runtime-Function-XRay-Error-Cause;", NULL
	};
	struct request rq = { "POST", NULL, resp_body, sizeof(resp_body) - 1,
			      hdrs, false, NULL };

	post_expect(PREFIX "/invocation/" ID1 "/response", "{}", NULL, 400,
		    BAD_ID, "/response before any /next");
	post_expect(PREFIX "/invocation/" ID1 "/error", "{}", NULL, 400,
		    BAD_ID, "/error before any /next");

	next_start(&nc);
	sleep_ms(150);
	ok(!nc.done, "/next blocks while nothing is dispatched (150 ms)");
	get_ready(&ready, &first);
	is_int(ready, 1, "on_ready called once by the first /next");
	is_int(first, 1, "... with first = true");
	is_int(rapi_dispatch(r, &inv1), 0, "rapi_dispatch resumes /next");
	next_join(&nc);
	is_int(nc.status, 200, "/next: 200");
	is_str(body_of(&nc.rp), "{\"key\":\"value\"}", "/next: event bytes");
	is_header(&nc.rp, "Lambda-Runtime-Aws-Request-Id", ID1,
		  "/next: request id header");
	is_header(&nc.rp, "Lambda-Runtime-Deadline-Ms", "1700000000123",
		  "/next: deadline header");
	is_header(&nc.rp, "Lambda-Runtime-Invoked-Function-Arn", ARN,
		  "/next: function arn header");
	is_header(&nc.rp, "Content-Type", "application/json",
		  "/next: Content-Type application/json");
	is_header(&nc.rp, "Lambda-Runtime-Trace-Id", TRACE,
		  "/next: trace id header");
	is_header(&nc.rp, "Lambda-Runtime-Client-Context", NULL,
		  "/next: no client context header when NULL");
	is_header(&nc.rp, "Lambda-Runtime-Cognito-Identity", NULL,
		  "/next: no cognito header when NULL");
	reply_release(&nc.rp);

	is_int(rapi_dispatch(r, &inv2), -EBUSY,
	       "rapi_dispatch while Running: -EBUSY");

	is_int(next_now(&rp), 200, "second /next while Running: 200");
	is_header(&rp, "Lambda-Runtime-Aws-Request-Id", ID1,
		  "second /next re-serves the same request id");
	is_str(body_of(&rp), "{\"key\":\"value\"}",
	       "second /next re-serves the same event");
	reply_release(&rp);
	get_ready(&ready, &first);
	is_int(ready, 1, "no on_ready for a /next while Running");

	post_expect(PREFIX "/invocation/" ID2 "/response", "{}", NULL, 400,
		    BAD_ID, "/response with a wrong id");
	post_expect(PREFIX "/invocation//response", "{}", NULL, 400, BAD_ID,
		    "/response with an empty id");
	is_int(get_results(), 0, "no on_result for refused answers");

	rq.path = path;
	snprintf(path, sizeof(path), PREFIX "/invocation/%s/response", ID1);
	is_int(http1(&rq, &rp), 202, "/response: 202");
	is_str(body_of(&rp), ACCEPTED, "/response: {\"status\":\"OK\"}");
	is_header(&rp, "Content-Type", "application/json",
		  "/response: reply is application/json");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.results, 1, "on_result called once");
	is_int(rec.outcome, RAPI_RESPONSE, "... RAPI_RESPONSE");
	is_str(rec.id, ID1, "... with the request id");
	ok(rec.len == sizeof(resp_body) - 1 &&
		   !memcmp(rec.body, resp_body, rec.len),
	   "... with the body byte-exact (NUL and 0xff included)");
	is_str(rec.ctype, "application/unknown", "... and its Content-Type");
	is_str(rec.etype, NULL, "... and no error type");
	pthread_mutex_unlock(&rec.lock);

	post_expect(path, "{}", NULL, 403,
		    TRANSITION("RuntimeResponseSentState",
			       "InvocationResponse"),
		    "duplicate /response before the next /next");
	post_expect(PREFIX "/invocation/" ID1 "/error", "{}", NULL, 403,
		    TRANSITION("RuntimeResponseSentState",
			       "InvocationErrorResponse"),
		    "/error after /response");
	post_expect(PREFIX "/init/error", "{}", NULL, 403,
		    TRANSITION("RuntimeResponseSentState", "InitError"),
		    "/init/error after init");
	is_int(get_results(), 1, "duplicates do not reach on_result");

	/* answered: the owner may dispatch before the runtime polls again */
	is_int(rapi_dispatch(r, &inv2), 0, "rapi_dispatch once answered");
	is_int(rapi_dispatch(r, &inv1), -EBUSY,
	       "rapi_dispatch with one queued: -EBUSY");
	is_int(next_now(&rp), 200, "/next takes the queued invocation");
	is_header(&rp, "Lambda-Runtime-Aws-Request-Id", ID2,
		  "... request id");
	is_str(body_of(&rp), "{}", "... an empty event is served as {}");
	is_header(&rp, "Lambda-Runtime-Invoked-Function-Arn", ARN ":prod",
		  "... qualified arn");
	is_header(&rp, "Lambda-Runtime-Deadline-Ms", "1700000009999",
		  "... deadline");
	is_header(&rp, "Lambda-Runtime-Client-Context",
		  "{ \"custom\":{\"a\":\"b\"}}",
		  "... client context, newline turned into a space");
	is_header(&rp, "Lambda-Runtime-Cognito-Identity",
		  "{\"cognitoIdentityId\":\"id\","
		  "\"cognitoIdentityPoolId\":\"pool\"}",
		  "... cognito identity");
	is_header(&rp, "Lambda-Runtime-Trace-Id", NULL, "... no trace id");
	reply_release(&rp);
	get_ready(&ready, &first);
	is_int(ready, 1, "no on_ready when /next finds one queued");

	post_expect(path, "{}", NULL, 400, BAD_ID,
		    "old id after the next /next: 400");
	post_expect(PREFIX "/invocation/" ID1 "/error", "{}", NULL, 400,
		    BAD_ID, "old id /error after the next /next: 400");

	post_expect(PREFIX "/invocation/" ID2 "/error",
		    "{\"errorMessage\":\"boom\",\"errorType\":\"FromBody\"}",
		    (const char *const[]){
			    "Lambda-Runtime-Function-Error-Type: Custom.Type",
			    "Content-Type: application/json", NULL },
		    202, ACCEPTED, "/error with a type header");
	pthread_mutex_lock(&rec.lock);
	is_int(rec.results, 2, "on_result for /error");
	is_int(rec.outcome, RAPI_ERROR, "... RAPI_ERROR");
	is_str(rec.id, ID2, "... request id");
	is_str(rec.etype, "Custom.Type", "... error type from the header");
	is_str(rec.body,
	       "{\"errorMessage\":\"boom\",\"errorType\":\"FromBody\"}",
	       "... body verbatim");
	is_str(rec.ctype, "application/json", "... content type");
	pthread_mutex_unlock(&rec.lock);
	post_expect(PREFIX "/invocation/" ID2 "/response", "{}", NULL, 403,
		    TRANSITION("RuntimeResponseSentState",
			       "InvocationResponse"),
		    "/response after /error");
}

/* /next goes idle (on_ready false), then /error variants. */
static void test_errors(struct rapi *r)
{
	struct next_call nc;
	struct rapi_invocation inv = make_inv("err-1");
	struct buf big;
	int ready, first, n;
	char *hdr;

	next_start(&nc);
	ok(wait_for(&rec.ready, 2), "idle /next calls on_ready");
	get_ready(&ready, &first);
	is_int(first, 1, "... with first = false");
	sleep_ms(100);
	ok(!nc.done, "idle /next blocks");
	is_int(rapi_dispatch(r, &inv), 0, "dispatch err-1");
	next_join(&nc);
	is_int(nc.status, 200, "/next after idle: 200");
	is_header(&nc.rp, "Lambda-Runtime-Aws-Request-Id", "err-1",
		  "/next after idle: request id");
	reply_release(&nc.rp);

	/* the native client: no type header, a ~8 KB X-Ray cause header */
	buf_init(&big, 1 << 20);
	buf_printf(&big, "Lambda-Runtime-Function-XRay-Error-Cause: "
			 "{\"working_directory\":\"/var/task\",\"paths\":[");
	for (n = 0; n < 400; n++)
		buf_printf(&big, "%s\"/var/task/f%03d.py\"", n ? "," : "", n);
	buf_printf(&big, "]}");
	ok(big.len > 8000, "X-Ray cause header is over 8 KB");
	hdr = buf_detach(&big, NULL);
	n = get_results();
	post_expect(PREFIX "/invocation/err-1/error",
		    "{\"errorMessage\":\"'k'\",\"errorType\":\"KeyError\","
		    "\"requestId\":\"err-1\",\"stackTrace\":[]}",
		    (const char *const[]){ hdr,
					   "Content-Type: application/json",
					   NULL },
		    202, ACCEPTED, "/error, 8 KB header, no type header");
	free(hdr);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.results, n + 1, "on_result for /error");
	is_str(rec.etype, "KeyError", "... error type from the JSON body");
	pthread_mutex_unlock(&rec.lock);

	hand_out(r, "err-2");
	post_expect(PREFIX "/invocation/err-2/error", NULL,
		    (const char *const[]){
			    "Lambda-Runtime-Function-Error-Type: Runtime.Oops",
			    NULL },
		    202, ACCEPTED, "/error with an empty body and a type");
	pthread_mutex_lock(&rec.lock);
	is_str(rec.body,
	       "{\"errorMessage\":\"Unknown application error occurred\","
	       "\"errorType\":\"Runtime.Oops\"}",
	       "... synthesised body with the type");
	is_str(rec.etype, "Runtime.Oops", "... type");
	pthread_mutex_unlock(&rec.lock);

	hand_out(r, "err-3");
	post_expect(PREFIX "/invocation/err-3/error", NULL, NULL, 202,
		    ACCEPTED, "/error with an empty body, no type");
	pthread_mutex_lock(&rec.lock);
	is_str(rec.body,
	       "{\"errorMessage\":\"Unknown application error occurred\"}",
	       "... synthesised body without a type");
	is_str(rec.etype, NULL, "... no type");
	pthread_mutex_unlock(&rec.lock);

	hand_out(r, "err-4");
	post_expect(PREFIX "/invocation/err-4/error", "not json", NULL, 202,
		    ACCEPTED, "/error with a non-JSON body");
	pthread_mutex_lock(&rec.lock);
	is_str(rec.body, "not json", "... body verbatim");
	is_str(rec.etype, NULL, "... no type");
	pthread_mutex_unlock(&rec.lock);
}

static void test_payloads(struct rapi *r)
{
	const size_t over = RAPI_MAX_PAYLOAD + 1;
	char *big = xmalloc(over);
	struct request rq = { "POST", PREFIX "/invocation/big-1/response", big,
			      over,
			      (const char *const[]){ "Expect: 100-continue",
						     NULL },
			      false, NULL };
	struct reply rp;
	CURL *h = client_new();
	int n;

	memset(big, 'x', over);
	hand_out(r, "big-1");
	n = get_results();
	is_int(http(h, &rq, &rp), 0, "6291557-byte /response sent");
	is_int(rp.status, 413, "... 413");
	is_str(body_of(&rp), TOO_LARGE, "... RequestEntityTooLarge body");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.results, n + 1, "... on_result once");
	is_int(rec.outcome, RAPI_ERROR, "... RAPI_ERROR");
	is_str(rec.id, "big-1", "... request id");
	is_str(rec.body,
	       "{\"errorMessage\":\"Response payload size (6291557 bytes) "
	       "exceeded maximum allowed payload size (6291556 bytes).\","
	       "\"errorType\":\"Function.ResponseSizeTooLarge\"}",
	       "... Function.ResponseSizeTooLarge body");
	is_str(rec.etype, "Function.ResponseSizeTooLarge", "... type");
	pthread_mutex_unlock(&rec.lock);

	rq.path = PREFIX "/invocation/big-1/response";
	rq.len = 2;
	rq.headers = NULL;
	is_int(http(h, &rq, &rp), 0, "same connection after the 413");
	is_int(rp.status, 403, "... still usable (403 duplicate)");
	is_int(rp.connects, 0, "... the connection was kept alive");
	reply_release(&rp);

	hand_out(r, "big-2");
	rq.path = PREFIX "/invocation/big-2/response";
	rq.len = RAPI_MAX_PAYLOAD;
	is_int(http(h, &rq, &rp), 0, "6291556-byte /response sent");
	is_int(rp.status, 202, "... exactly the limit is accepted");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.outcome, RAPI_RESPONSE, "... RAPI_RESPONSE");
	ok(rec.len == RAPI_MAX_PAYLOAD && !memcmp(rec.body, big, rec.len),
	   "... body intact");
	pthread_mutex_unlock(&rec.lock);

	hand_out(r, "big-3");
	rq.path = PREFIX "/invocation/big-3/error";
	rq.len = over;
	is_int(http(h, &rq, &rp), 0, "oversized /error sent");
	is_int(rp.status, 413, "... 413");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_str(rec.etype, "Function.ResponseSizeTooLarge",
	       "... reported as Function.ResponseSizeTooLarge");
	pthread_mutex_unlock(&rec.lock);

	curl_easy_cleanup(h);
	free(big);
}

static void test_streaming(struct rapi *r)
{
	char *body = xmalloc(10000);
	struct request rq = {
		"POST", PREFIX "/invocation/stream-1/response", body, 10000,
		(const char *const[]){
			"Lambda-Runtime-Function-Response-Mode: streaming",
			"Content-Type: application/octet-stream", NULL },
		true, NULL
	};
	struct reply rp;
	size_t i;

	for (i = 0; i < 10000; i++)
		body[i] = (char)('a' + i % 26);
	hand_out(r, "stream-1");
	is_int(http1(&rq, &rp), 202, "chunked streaming /response: 202");
	is_str(body_of(&rp), ACCEPTED, "... {\"status\":\"OK\"}");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.outcome, RAPI_RESPONSE, "... RAPI_RESPONSE");
	ok(rec.len == 10000 && !memcmp(rec.body, body, 10000),
	   "... the whole chunked body");
	is_str(rec.ctype, "application/octet-stream", "... content type");
	pthread_mutex_unlock(&rec.lock);

	hand_out(r, "stream-2");
	rq.path = PREFIX "/invocation/stream-2/response";
	rq.headers = (const char *const[]){
		"Lambda-Runtime-Function-Response-Mode: streaming",
		"Trailer: Lambda-Runtime-Function-Error-Type, "
		"Lambda-Runtime-Function-Error-Body",
		NULL
	};
	/*
	 * base64 of
	 * {"errorMessage":"mid-stream","errorType":"Runtime.StreamError"}
	 */
	rq.trailers = (const char *const[]){
		"Lambda-Runtime-Function-Error-Type: Runtime.StreamError",
		"Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOi"
		"JtaWQtc3RyZWFtIiwiZXJyb3JUeXBlIjoiUnVudGltZS5TdHJlYW1FcnJv"
		"ciJ9",
		NULL
	};
	is_int(http1(&rq, &rp), 202, "streaming /response with error trailers");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.outcome, RAPI_ERROR, "... RAPI_ERROR");
	is_str(rec.etype, "Runtime.StreamError", "... type from the trailer");
	is_str(rec.body,
	       "{\"errorMessage\":\"mid-stream\","
	       "\"errorType\":\"Runtime.StreamError\"}",
	       "... body decoded from the trailer");
	pthread_mutex_unlock(&rec.lock);

	hand_out(r, "stream-3");
	post_expect(PREFIX "/invocation/stream-3/response", "{}",
		    (const char *const[]){
			    "Lambda-Runtime-Function-Response-Mode: buffered",
			    NULL },
		    400,
		    "{\"errorMessage\":\"Invalid function response mode\","
		    "\"errorType\":\"InvalidFunctionResponseMode\"}\n",
		    "bad response mode");
	pthread_mutex_lock(&rec.lock);
	is_int(rec.outcome, RAPI_ERROR, "... RAPI_ERROR");
	is_str(rec.id, "stream-3", "... request id");
	is_str(rec.etype, "Runtime.InvalidResponseModeHeader", "... type");
	pthread_mutex_unlock(&rec.lock);
	free(body);
}

static void test_routes(void)
{
	struct request rq = { "GET", "/2018-06-01/ping", NULL, 0, NULL, false,
			      NULL };
	struct reply rp;

	is_int(http1(&rq, &rp), 404, "unknown path: 404");
	is_str(body_of(&rp),
	       "{\"errorMessage\":\"Not Found\",\"errorType\":\"NotFound\"}\n",
	       "... JSON error body");
	is_header(&rp, "Content-Type", "application/json", "... JSON");
	reply_release(&rp);
	rq.path = PREFIX "/invocation/a/b/response";
	is_int(http1(&rq, &rp), 404, "id with a slash: 404");
	reply_release(&rp);
	post_expect(PREFIX "/invocation/next", "", NULL, 405,
		    "{\"errorMessage\":\"Method Not Allowed\","
		    "\"errorType\":\"MethodNotAllowed\"}\n",
		    "POST /next");
	rq.path = PREFIX "/invocation/x/response";
	is_int(http1(&rq, &rp), 405, "GET /response: 405");
	reply_release(&rp);
}

/* Two /next waiting at once both get the event; then idle again. */
static void test_two_waiters(struct rapi *r)
{
	struct next_call a, b;
	struct rapi_invocation inv = make_inv("two-1");
	int ready, first;

	get_ready(&ready, &first);
	next_start(&a);
	ok(wait_for(&rec.ready, ready + 1), "first waiter is idle");
	next_start(&b);
	sleep_ms(100);
	ok(!a.done && !b.done, "both /next wait");
	is_int(rapi_dispatch(r, &inv), 0, "dispatch with two waiting");
	next_join(&a);
	next_join(&b);
	ok(a.status == 200 && b.status == 200, "both get 200");
	is_header(&a.rp, "Lambda-Runtime-Aws-Request-Id", "two-1", "... a");
	is_header(&b.rp, "Lambda-Runtime-Aws-Request-Id", "two-1", "... b");
	reply_release(&a.rp);
	reply_release(&b.rp);
	post_expect(PREFIX "/invocation/two-1/response", "1", NULL, 202,
		    ACCEPTED, "answer two-1");
}

/* Environment 2: dispatch before the first /next. */
static void test_cold_start(void)
{
	struct rapi *r = NULL;
	struct rapi_invocation inv = make_inv("cold-1");
	struct reply rp;
	int ready, first;

	get_ready(&ready, &first);
	is_int(rapi_start(&callbacks, NULL, &r, &port), 0, "second server");
	is_int(rapi_dispatch(r, &inv), 0, "dispatch before the first /next");
	is_int(next_now(&rp), 200, "first /next gets it at once");
	is_header(&rp, "Lambda-Runtime-Aws-Request-Id", "cold-1",
		  "... request id");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.ready - ready, 1, "on_ready called once on the cold path");
	is_int(rec.ready_first - first, 1, "... with first = true");
	pthread_mutex_unlock(&rec.lock);
	rapi_stop(r);
}

/* Environment 3: /init/error. */
static void test_init_error(void)
{
	struct rapi *r = NULL;
	struct reply rp;
	int n, ready, first;

	get_ready(&ready, &first);
	is_int(rapi_start(&callbacks, NULL, &r, &port), 0, "third server");
	n = get_results();
	post_expect(PREFIX "/init/error",
		    "{\"errorMessage\":\"No module named 'x'\","
		    "\"errorType\":\"Runtime.ImportModuleError\","
		    "\"requestId\":\"\",\"stackTrace\":[]}",
		    (const char *const[]){
			    "Lambda-Runtime-Function-Error-Type: "
			    "Runtime.ImportModuleError",
			    NULL },
		    202, ACCEPTED, "/init/error");
	pthread_mutex_lock(&rec.lock);
	is_int(rec.results, n + 1, "on_result for /init/error");
	is_int(rec.outcome, RAPI_INIT_ERROR, "... RAPI_INIT_ERROR");
	is_str(rec.id, NULL, "... no request id");
	is_str(rec.etype, "Runtime.ImportModuleError", "... type");
	pthread_mutex_unlock(&rec.lock);
	post_expect(PREFIX "/init/error", "{}", NULL, 403,
		    TRANSITION("InitError", "InitError"),
		    "second /init/error");
	is_int(next_now(&rp), 403, "/next after /init/error: 403");
	is_str(body_of(&rp), TRANSITION("InitError", "Ready"),
	       "... exact body");
	reply_release(&rp);
	pthread_mutex_lock(&rec.lock);
	is_int(rec.ready - ready, 0, "no on_ready after an init error");
	is_int(rec.results, n + 1, "no more on_result");
	pthread_mutex_unlock(&rec.lock);
	rapi_stop(r);
}

/* Environment 4: rapi_stop with a /next waiting. */
static void test_stop(void)
{
	struct rapi *r = NULL;
	struct next_call nc;
	int ready, first;
	double t0, t1;

	rapi_stop(NULL);
	ok(1, "rapi_stop(NULL) is a no-op");
	get_ready(&ready, &first);
	is_int(rapi_start(&callbacks, NULL, &r, &port), 0, "fourth server");
	next_start(&nc);
	ok(wait_for(&rec.ready, ready + 1), "/next is waiting");
	sleep_ms(50);
	t0 = now_s();
	rapi_stop(r);
	t1 = now_s();
	ok(t1 - t0 < 0.5, "rapi_stop returns promptly");
	printf("# rapi_stop with a waiting /next: %.1f ms\n",
	       (t1 - t0) * 1e3);
	next_join(&nc);
	is_int(nc.status, 500, "the waiting /next gets 500");
	is_str(body_of(&nc.rp), INTERNAL, "... InternalServerError body");
	reply_release(&nc.rp);
}

/* ---------- warm round trips ---------- */

#define BENCH_N 1000
#define SPLIT_N 200

static _Atomic int bench_failures;

/* A runtime on one keep-alive curl handle: /next, /response, n times. */
static void *curl_runtime(void *arg)
{
	CURL *h = client_new();
	struct request next = { "GET", PREFIX "/invocation/next", NULL, 0,
				NULL, false, NULL };
	struct request post = { "POST", NULL, "{\"ok\":true}", 11, NULL,
				false, NULL };
	struct reply rp;
	char path[128], *id;
	int i, n = *(int *)arg;

	for (i = 0; i < n; i++) {
		if (http(h, &next, &rp) < 0 || rp.status != 200) {
			bench_failures++;
			reply_release(&rp);
			break;
		}
		id = header(&rp, "Lambda-Runtime-Aws-Request-Id");
		reply_release(&rp);
		snprintf(path, sizeof(path), PREFIX "/invocation/%s/response",
			 id ? id : "none");
		free(id);
		post.path = path;
		if (http(h, &post, &rp) < 0 || rp.status != 202)
			bench_failures++;
		if (i > 0 && rp.connects)
			bench_failures++; /* keep-alive must hold */
		reply_release(&rp);
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* Reads one response on fd into b; returns the status or -1. */
static int raw_read_reply(int fd, struct buf *b)
{
	char chunk[4096], *end, *cl;
	size_t want = 0;
	ssize_t k;

	buf_reset(b);
	for (;;) {
		end = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
		if (end && !want) {
			cl = strcasestr(b->data, "\r\nContent-Length:");
			want = (size_t)(end + 4 - b->data);
			if (cl && cl < end)
				want += strtoul(cl + 17, NULL, 10);
		}
		if (end && b->len >= want)
			break;
		k = read(fd, chunk, sizeof(chunk));
		if (k <= 0 || buf_append(b, chunk, k) < 0)
			return -1;
	}
	return (int)strtol(b->data + 9, NULL, 10);
}

/*
 * A runtime on a raw socket without TCP_NODELAY that writes a POST's
 * headers and body in two writes, like a naive HTTP client. Without our
 * quick ACK each of these round trips costs ~40 ms.
 */
static void *split_runtime(void *arg)
{
	static const char next[] = "GET " PREFIX "/invocation/next HTTP/1.1\r\n"
				   "Host: 127.0.0.1\r\n\r\n";
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char head[256], *id, *e;
	struct buf b;
	int fd, i, n = *(int *)arg;

	buf_init(&b, 1 << 20);
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		bench_failures++;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (write(fd, next, sizeof(next) - 1) != sizeof(next) - 1 ||
		    raw_read_reply(fd, &b) != 200) {
			bench_failures++;
			break;
		}
		id = strcasestr(b.data, "\r\nLambda-Runtime-Aws-Request-Id: ");
		e = id ? strstr(id + 2, "\r\n") : NULL;
		if (!e) {
			bench_failures++;
			break;
		}
		id += 33;
		snprintf(head, sizeof(head),
			 "POST " PREFIX "/invocation/%.*s/response HTTP/1.1\r\n"
			 "Host: 127.0.0.1\r\nContent-Length: 2\r\n\r\n",
			 (int)(e - id), id);
		if (write(fd, head, strlen(head)) != (ssize_t)strlen(head) ||
		    write(fd, "{}", 2) != 2 || raw_read_reply(fd, &b) != 202) {
			bench_failures++;
			break;
		}
	}
out:
	if (fd != -1)
		close(fd);
	buf_release(&b);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The owner's side: dispatch, wait for on_result, dispatch the next, n
 * times, while runtime() plays the runtime. Reports rate and latency
 * (dispatch -> /next -> /response -> on_result) as a TAP diagnostic.
 */
static void round_trips(struct rapi *r, void *(*runtime)(void *), int n,
			const char *what)
{
	static int64_t lat[BENCH_N];
	struct rapi_invocation inv = make_inv(NULL);
	pthread_t t;
	char id[32], name[128];
	int i, base, done = 0;
	int64_t t0, t1, start;

	ASSERT(n <= BENCH_N);
	bench_failures = 0;
	base = get_results();
	pthread_create(&t, NULL, runtime, &n);
	start = util_mono_ns();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "warm-%04d", i);
		inv.request_id = id;
		t0 = util_mono_ns();
		if (rapi_dispatch(r, &inv) < 0)
			break;
		if (!wait_for(&rec.results, base + i + 1))
			break;
		lat[i] = util_mono_ns() - t0;
		done++;
	}
	t1 = util_mono_ns();
	pthread_join(t, NULL);
	snprintf(name, sizeof(name), "%d warm round trips, %s", n, what);
	is_int(done, n, name);
	is_int(bench_failures, 0, "... every /next 200, every /response 202");
	if (done == n) {
		qsort(lat, n, sizeof(lat[0]), cmp_i64);
		printf("# %s: %d round trips in %.1f ms, %.0f/s, "
		       "p50 %.1f us, p99 %.1f us\n",
		       what, n, (t1 - start) / 1e6, n / ((t1 - start) / 1e9),
		       lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3);
	}
}

int main(void)
{
	struct rapi *r = NULL;
	bool fds[256];

	plan_no_plan();
	/* before any thread: curl_global_init is not thread-safe */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		BUG("curl_global_init");
	printf("# libmicrohttpd %s\n", rapi_mhd_version());

	fds_snapshot(fds);
	is_int(rapi_start(&callbacks, NULL, &r, &port), 0, "rapi_start");
	ok(port > 0, "a port was chosen");
	ok(fds_cloexec(fds), "the server's descriptors are close-on-exec");

	test_routes();
	test_basic_cycle(r);
	test_errors(r);
	test_payloads(r);
	test_streaming(r);
	test_two_waiters(r);
	round_trips(r, curl_runtime, BENCH_N, "libcurl, one keep-alive handle");
	round_trips(r, split_runtime, SPLIT_N,
		    "raw socket, Nagle on, headers and body in two writes");
	rapi_stop(r);

	test_cold_start();
	test_init_error();
	test_stop();

	pthread_mutex_lock(&rec.lock);
	free(rec.id);
	free(rec.body);
	free(rec.ctype);
	free(rec.etype);
	pthread_mutex_unlock(&rec.lock);
	curl_global_cleanup();
	return done_testing();
}
