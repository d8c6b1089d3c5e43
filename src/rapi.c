/* SPDX-License-Identifier: MIT */
/*
 * rapi.c - the Lambda Runtime API (2018-06-01) for one execution
 * environment, on libmicrohttpd (see rapi.h; LAMBDA-CONTRACT.md §1).
 *
 * One MHD daemon per struct rapi, bound to 127.0.0.1 on a kernel-chosen
 * port, with its own polling thread (MHD_USE_INTERNAL_POLLING_THREAD |
 * MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME). Every handler and callback
 * runs on that thread; rapi_dispatch and rapi_stop run on others.
 *
 * Runtime states (RIE core/states.go; names as they appear in the 403
 * bodies). RIE's transient InvocationResponse/InvocationErrorResponse
 * states collapse into the answer itself here:
 *
 *            /next, nothing queued
 *   Started -----------------------> Ready
 *    |   |                            ^  |
 *    |   | /next, one queued          |  | rapi_dispatch resumes the /next
 *    |   v                            |  |
 *    |  Running <---------------------|--+
 *    |   |  ^                         |
 *    |   |  | /next, one queued       | /next, nothing queued
 *    |   |  +------------------+      |
 *    |   | first /response     |      |
 *    |   v or /error           |      |
 *    |  RuntimeResponseSentState -----+
 *    |
 *    | /init/error         (a /next while Running gets the same event)
 *    v
 *   InitError
 *
 * | transition                         | performed by                |
 * |------------------------------------|-----------------------------|
 * | Started -> Ready                   | rapi_handle_next (suspends) |
 * | Started -> Running                 | rapi_handle_next            |
 * | Ready -> Running                   | rapi_handle_next, resumed   |
 * |                                    | by rapi_dispatch            |
 * | Running -> Running (same event)    | rapi_handle_next            |
 * | Running -> RuntimeResponseSent     | rapi_handle_response,       |
 * |                                    | rapi_handle_error           |
 * | RuntimeResponseSent -> Ready       | rapi_handle_next (suspends) |
 * | RuntimeResponseSent -> Running     | rapi_handle_next            |
 * | Started -> InitError               | rapi_handle_init_error      |
 *
 * Everything else is refused: /next in InitError and /init/error outside
 * Started with 403 InvalidStateTransition ("State transition from <FROM>
 * to <TO> failed ..."), a /response or /error whose id is not the one
 * handed out last (none yet, a wrong one, or one from before the
 * runtime's latest /next) with 400 InvalidRequestID, checked before the
 * state, and a second answer to the current id with 403.
 *
 * Invariants (all under r->lock):
 * - cur is the invocation handed out last; it stays until the next /next
 *   so that stale ids are told apart from duplicate answers. It is set in
 *   Running and RuntimeResponseSentState only.
 * - pending is an invocation given by rapi_dispatch and not yet handed
 *   out; there is at most one, and none while Running.
 * - waiters lists the suspended /next requests; each is on the list
 *   exactly while MHD has it suspended. They are resumed (and taken off
 *   the list) all at once by rapi_dispatch and rapi_stop; each resumed
 *   request re-runs rapi_handle_next, so two waiting /next both get the
 *   event, which is what RIE does for a repeated /next while Running.
 *
 * Callbacks: on_result is called once per invocation, at its first
 * answer (so rapi_dispatch accepts the next one from then on, and the
 * next /next picks it up directly), and once per accepted /init/error.
 * on_ready(arg, true) is called on the first /next of the environment,
 * always, and before the event is handed out if one is already queued
 * (cold start): that is the moment init finished. Later, on_ready(arg,
 * false) is called when a /next finds nothing queued and the environment
 * goes idle. Callbacks run on the MHD thread without r->lock held, and
 * never once rapi_stop has begun.
 *
 * Bodies: POST bodies are read into a buf capped at RAPI_MAX_PAYLOAD.
 * Past the cap the rest is still read and counted, then dropped, so the
 * runtime gets its 413 on a connection that stays usable and the invoker
 * gets the real size in the Function.ResponseSizeTooLarge message, as
 * AWS prints it. An oversized /error is treated like an oversized
 * /response; an oversized /init/error gets 413 and is reported with the
 * synthesised "Unknown application error occurred" body. Chunked bodies
 * and Expect: 100-continue are handled by MHD. A streamed response
 * (Lambda-Runtime-Function-Response-Mode: streaming) is buffered and
 * reported as one RAPI_RESPONSE, or as RAPI_ERROR when the runtime sent
 * the Lambda-Runtime-Function-Error-Type trailer (its base64
 * Lambda-Runtime-Function-Error-Body trailer becomes the body). A body
 * cut off by a closed connection reports nothing: the runtime is gone
 * and the owner learns it from the process.
 *
 * Latency: accepted sockets get TCP_NODELAY (MHD_OPTION_NOTIFY_CONNECTION)
 * and every response is a small buffer MHD writes in one go, so no answer
 * waits for Nagle + delayed ACK on our side. The other side is a client
 * without TCP_NODELAY that writes a POST's headers and body separately:
 * its body waits for our ACK of the headers, which Linux delays by ~40 ms
 * (measured: 23 round trips/s). rapi_quickack sends that ACK as soon as
 * the headers are parsed (10,000+/s). Connections have no timeout: a
 * waiting /next must never be closed (CLIENTS.md). Request headers may
 * be large (the X-Ray cause header is ~1 KB; 40 KB fit).
 *
 * rapi_stop and MHD_stop_daemon must not run on the MHD thread: never
 * call rapi_stop from a callback.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common.h"
#include "rapi.h"
#include "base64.h"
#include "buf.h"
#include "log.h"
#include "util.h"

#define RAPI_PREFIX "/2018-06-01/runtime/"
#define RAPI_MEMORY_LIMIT (64 * 1024) /* per connection: ~40 KB of headers */
#define RAPI_STOP_WAIT_NS (1000LL * 1000 * 1000)
#define RAPI_UNKNOWN_ERROR "Unknown application error occurred"

#define HDR_REQUEST_ID "Lambda-Runtime-Aws-Request-Id"
#define HDR_DEADLINE "Lambda-Runtime-Deadline-Ms"
#define HDR_ARN "Lambda-Runtime-Invoked-Function-Arn"
#define HDR_TRACE "Lambda-Runtime-Trace-Id"
#define HDR_CLIENT_CONTEXT "Lambda-Runtime-Client-Context"
#define HDR_COGNITO "Lambda-Runtime-Cognito-Identity"
#define HDR_ERROR_TYPE "Lambda-Runtime-Function-Error-Type"
#define HDR_ERROR_BODY "Lambda-Runtime-Function-Error-Body"
#define HDR_RESPONSE_MODE "Lambda-Runtime-Function-Response-Mode"

enum rapi_state {
	RAPI_STARTED,
	RAPI_READY,
	RAPI_RUNNING,
	RAPI_RESPONSE_SENT,
	RAPI_INIT_FAILED,
};

static const char *const rapi_state_names[] = {
	[RAPI_STARTED] = "Started",
	[RAPI_READY] = "Ready",
	[RAPI_RUNNING] = "Running",
	[RAPI_RESPONSE_SENT] = "RuntimeResponseSentState",
	[RAPI_INIT_FAILED] = "InitError",
};

enum rapi_route {
	RAPI_ROUTE_NEXT,
	RAPI_ROUTE_RESPONSE,
	RAPI_ROUTE_ERROR,
	RAPI_ROUTE_INIT_ERROR,
	RAPI_ROUTE_NOT_FOUND,
	RAPI_ROUTE_BAD_METHOD,
};

/* Our copy of a struct rapi_invocation, ready to be served. */
struct rapi_inv {
	char *request_id;
	char *event;
	size_t event_len;
	char deadline[24];	/* decimal epoch ms */
	int64_t timeout_ms;	/* deadline set at hand-over, if > 0 */
	char *function_arn;
	char *client_context;	/* or NULL */
	char *cognito_identity; /* or NULL */
	char *trace_id;		/* or NULL */
};

struct rapi_req;

struct rapi {
	/* set by rapi_start, read-only afterwards */
	struct rapi_callbacks cb;
	void *arg;
	struct MHD_Daemon *mhd;
	uint16_t port;

	/* state, protected by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;	   /* signalled when nreqs drops */
	enum rapi_state state;
	bool seen_next;		   /* the runtime called /next once */
	struct rapi_inv *cur;	   /* handed out last (see invariants) */
	struct rapi_inv *pending;  /* dispatched, not handed out yet */
	struct rapi_req *waiters;  /* suspended /next requests */
	unsigned nreqs;		   /* live struct rapi_req */
	_Atomic bool stopping;	   /* written under lock */
};

/* Per-request state in *con_cls, freed in rapi_completed. */
struct rapi_req {
	struct rapi *r;
	struct MHD_Connection *con;
	enum rapi_route route;
	char *id;		/* {id} of .../response and .../error */
	bool keep_body;		/* POST routes: collect the body */
	struct buf body;	/* up to RAPI_MAX_PAYLOAD bytes */
	size_t total;		/* body bytes received, kept or not */
	bool too_big;		/* total went past RAPI_MAX_PAYLOAD */
	bool oom;		/* could not store the body */
	bool waited;		/* /next: suspended once, on_ready done */
	bool suspended;		/* on r->waiters; protected by r->lock */
	struct rapi_req *next;	/* r->waiters link; protected by r->lock */
};

const char *rapi_mhd_version(void)
{
	return MHD_get_version();
}

/* ---------- small helpers ---------- */

/* Copies an untrusted string for the log: printable ASCII, at most 64. */
static void rapi_escape(const char *s, char out[68])
{
	size_t i;

	for (i = 0; s && s[i] && i < 64; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s && s[i]) {
		out[i++] = '.';
		out[i++] = '.';
	}
	out[i] = '\0';
}

/* strdup that turns CR and LF into spaces, as Go's net/http does for
 * header values (the only place they occur in JSON is whitespace). */
static char *rapi_header_dup(const char *s)
{
	char *p, *d;

	if (!s)
		return NULL;
	d = xstrdup(s);
	for (p = d; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	return d;
}

static void rapi_inv_free(struct rapi_inv *inv)
{
	if (!inv)
		return;
	free(inv->request_id);
	free(inv->event);
	free(inv->function_arn);
	free(inv->client_context);
	free(inv->cognito_identity);
	free(inv->trace_id);
	free(inv);
}

/* Returns NULL and sets errno (ENOMEM) if the event cannot be copied. */
static struct rapi_inv *rapi_inv_dup(const struct rapi_invocation *in)
{
	struct rapi_inv *inv = xcalloc(1, sizeof(*inv));
	const char *event = in->event;
	size_t len = in->event_len;

	if (!len || !event) {
		event = "{}";
		len = 2;
	}
	inv->event = malloc(len);
	if (!inv->event) {
		free(inv);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(inv->event, event, len);
	inv->event_len = len;
	inv->request_id = rapi_header_dup(in->request_id);
	snprintf(inv->deadline, sizeof(inv->deadline), "%" PRId64,
		 in->deadline_ms);
	inv->timeout_ms = in->deadline_ms ? 0 : in->timeout_ms;
	inv->function_arn =
		rapi_header_dup(in->function_arn ? in->function_arn : "");
	inv->client_context = rapi_header_dup(in->client_context);
	inv->cognito_identity = rapi_header_dup(in->cognito_identity);
	inv->trace_id = rapi_header_dup(in->trace_id);
	return inv;
}

/* A header of the request, NULL when absent or empty. */
static const char *rapi_header(struct MHD_Connection *con,
			       enum MHD_ValueKind kind, const char *name)
{
	const char *v = MHD_lookup_connection_value(con, kind, name);

	return v && *v ? v : NULL;
}

/* ---------- responses ---------- */

/* Queues a response and drops our reference; MHD_NO if it could not. */
static enum MHD_Result rapi_queue(struct MHD_Connection *con,
				  unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A JSON response; the body is copied (it usually lives on the stack). */
static struct MHD_Response *rapi_json_response(const char *body, size_t len,
					       bool close)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)body,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return NULL;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/json") != MHD_YES ||
	    (close && MHD_add_response_header(resp,
					      MHD_HTTP_HEADER_CONNECTION,
					      "close") != MHD_YES)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* 202 {"status":"OK"}: what every accepted POST gets (RIE RenderAccepted). */
static enum MHD_Result rapi_reply_accepted(struct MHD_Connection *con)
{
	static const char ok[] = "{\"status\":\"OK\"}\n";

	return rapi_queue(con, MHD_HTTP_ACCEPTED,
			  rapi_json_response(ok, sizeof(ok) - 1, false));
}

/*
 * status + {"errorMessage":msg,"errorType":type}\n. Both strings are ours
 * and need no JSON escaping. close asks the client to go away (rapi_stop).
 */
static enum MHD_Result rapi_reply_error(struct MHD_Connection *con,
					unsigned status, const char *type,
					const char *msg, bool close)
{
	char body[512];
	int n;

	n = snprintf(body, sizeof(body),
		     "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}\n", msg,
		     type);
	ASSERT(n > 0 && (size_t)n < sizeof(body));
	return rapi_queue(con, status, rapi_json_response(body, n, close));
}

static enum MHD_Result rapi_reply_bad_id(struct MHD_Connection *con)
{
	return rapi_reply_error(con, MHD_HTTP_BAD_REQUEST, "InvalidRequestID",
				"Invalid request ID", false);
}

static enum MHD_Result rapi_reply_transition(struct MHD_Connection *con,
					     enum rapi_state from,
					     const char *to)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "State transition from %s to %s failed for runtime. "
		 "Error: State transition is not allowed",
		 rapi_state_names[from], to);
	return rapi_reply_error(con, MHD_HTTP_FORBIDDEN,
				"InvalidStateTransition", msg, false);
}

static enum MHD_Result rapi_reply_too_large(struct MHD_Connection *con)
{
	char msg[128];

	snprintf(msg, sizeof(msg),
		 "Exceeded maximum allowed payload size (%d bytes).",
		 RAPI_MAX_PAYLOAD);
	return rapi_reply_error(con, MHD_HTTP_CONTENT_TOO_LARGE,
				"RequestEntityTooLarge", msg, false);
}

static enum MHD_Result rapi_reply_internal(struct MHD_Connection *con,
					   bool close)
{
	return rapi_reply_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR,
				"InternalServerError", "Internal Server Error",
				close);
}

/* The /next answer for inv. Called with r->lock held (no I/O). */
static struct MHD_Response *rapi_event_response(const struct rapi_inv *inv)
{
	struct MHD_Response *resp;
	const struct {
		const char *name, *value;
	} hdrs[] = {
		{ HDR_REQUEST_ID, inv->request_id },
		{ HDR_DEADLINE, inv->deadline },
		{ HDR_ARN, inv->function_arn },
		{ MHD_HTTP_HEADER_CONTENT_TYPE, "application/json" },
		{ HDR_TRACE, inv->trace_id },
		{ HDR_CLIENT_CONTEXT, inv->client_context },
		{ HDR_COGNITO, inv->cognito_identity },
	};
	size_t i;

	/* MUST_COPY: cur keeps the event for a repeated /next. */
	resp = MHD_create_response_from_buffer(inv->event_len, inv->event,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(hdrs); i++) {
		if (!hdrs[i].value || !*hdrs[i].value)
			continue;
		if (MHD_add_response_header(resp, hdrs[i].name,
					    hdrs[i].value) != MHD_YES) {
			MHD_destroy_response(resp);
			return NULL;
		}
	}
	return resp;
}

/*
 * The error document the invoker gets when the runtime gave none:
 * {"errorMessage":"Unknown application error occurred"[,"errorType":t]}
 * (RIE interop/sandbox_model.go). Caller frees.
 */
static char *rapi_unknown_error(const char *type, size_t *len)
{
	json_t *o = json_object();
	char *s = NULL;

	if (!o)
		goto out;
	json_object_set_new(o, "errorMessage", json_string(RAPI_UNKNOWN_ERROR));
	/* json_string refuses invalid UTF-8; the type is then left out */
	if (type)
		json_object_set_new(o, "errorType", json_string(type));
	s = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	if (!s)
		s = xstrdup("{\"errorMessage\":\"" RAPI_UNKNOWN_ERROR "\"}");
	*len = strlen(s);
	return s;
}

/* ---------- handlers ---------- */

/*
 * GET /runtime/invocation/next. Called once when the request is complete
 * and again each time rapi_dispatch or rapi_stop resumes it.
 */
static enum MHD_Result rapi_handle_next(struct rapi_req *q)
{
	struct rapi *r = q->r;
	struct MHD_Response *resp = NULL;
	enum rapi_state from;
	bool call = false, first = false;

	if (!q->waited) {
		pthread_mutex_lock(&r->lock);
		if (!r->stopping && r->state == RAPI_STARTED && !r->seen_next) {
			r->seen_next = true;
			call = first = true;
		} else if (!r->stopping && r->state == RAPI_RESPONSE_SENT &&
			   !r->pending) {
			call = true;
		}
		pthread_mutex_unlock(&r->lock);
		if (call)
			r->cb.on_ready(r->arg, first);
	}

	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		return rapi_reply_internal(q->con, true);
	}
	from = r->state;
	switch (from) {
	case RAPI_INIT_FAILED:
		pthread_mutex_unlock(&r->lock);
		return rapi_reply_transition(q->con, from, "Ready");
	case RAPI_RUNNING:
		/* a repeated /next gets the same event (RIE) */
		break;
	case RAPI_STARTED:
	case RAPI_READY:
	case RAPI_RESPONSE_SENT:
		rapi_inv_free(r->cur);
		r->cur = r->pending;
		r->pending = NULL;
		if (r->cur) {
			r->state = RAPI_RUNNING;
			break;
		}
		r->state = RAPI_READY;
		q->waited = true;
		q->suspended = true;
		q->next = r->waiters;
		r->waiters = q;
		/* under r->lock so that no resume can come before it */
		MHD_suspend_connection(q->con);
		pthread_mutex_unlock(&r->lock);
		return MHD_YES;
	default:
		BUG("bad runtime state %d", (int)from);
	}
	if (r->cur->timeout_ms) /* Timeout runs from the hand-over */
		snprintf(r->cur->deadline, sizeof(r->cur->deadline),
			 "%" PRId64, util_now_ms() + r->cur->timeout_ms);
	resp = rapi_event_response(r->cur);
	pthread_mutex_unlock(&r->lock);
	return rapi_queue(q->con, MHD_HTTP_OK, resp);
}

/*
 * Checks that q answers the invocation in flight and moves Running to
 * RuntimeResponseSentState. Returns true if it did; otherwise the refusal
 * has been queued in *ret.
 */
static bool rapi_take_answer(struct rapi_req *q, const char *to,
			     enum MHD_Result *ret)
{
	struct rapi *r = q->r;
	enum rapi_state from;
	char esc[68];

	pthread_mutex_lock(&r->lock);
	from = r->state;
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		*ret = rapi_reply_internal(q->con, true);
		return false;
	}
	if (!r->cur || strcmp(r->cur->request_id, q->id)) {
		pthread_mutex_unlock(&r->lock);
		rapi_escape(q->id, esc);
		log_debug("runtime api: %s for unknown request id '%s'", to,
			  esc);
		*ret = rapi_reply_bad_id(q->con);
		return false;
	}
	if (from != RAPI_RUNNING) {
		pthread_mutex_unlock(&r->lock);
		*ret = rapi_reply_transition(q->con, from, to);
		return false;
	}
	r->state = RAPI_RESPONSE_SENT;
	pthread_mutex_unlock(&r->lock);
	return true;
}

/* Reports a body over the limit: the invoker gets the AWS error. */
static void rapi_result_too_large(struct rapi_req *q)
{
	char body[256];
	int n;

	n = snprintf(body, sizeof(body),
		     "{\"errorMessage\":\"Response payload size (%zu bytes) "
		     "exceeded maximum allowed payload size (%d bytes).\","
		     "\"errorType\":\"Function.ResponseSizeTooLarge\"}",
		     q->total, RAPI_MAX_PAYLOAD);
	ASSERT(n > 0 && (size_t)n < sizeof(body));
	q->r->cb.on_result(q->r->arg, RAPI_ERROR, q->id, body, n,
			   "application/json", "Function.ResponseSizeTooLarge");
}

/*
 * A streamed response that ended with the error trailers: reports
 * RAPI_ERROR with the decoded error body (or the synthesised one).
 */
static void rapi_result_stream_error(struct rapi_req *q, const char *type)
{
	const char *b64 = rapi_header(q->con, MHD_FOOTER_KIND, HDR_ERROR_BODY);
	struct buf doc;
	char *body = NULL;
	size_t len = 0;

	buf_init(&doc, RAPI_MAX_PAYLOAD);
	if (b64 && !base64_decode(b64, strlen(b64), &doc) && doc.len) {
		q->r->cb.on_result(q->r->arg, RAPI_ERROR, q->id, doc.data,
				   doc.len, "application/json", type);
	} else {
		body = rapi_unknown_error(type, &len);
		q->r->cb.on_result(q->r->arg, RAPI_ERROR, q->id, body, len,
				   "application/json", type);
	}
	free(body);
	buf_release(&doc);
}

/* POST /runtime/invocation/{id}/response */
static enum MHD_Result rapi_handle_response(struct rapi_req *q)
{
	struct rapi *r = q->r;
	const char *mode, *ctype, *etype;
	char *body = NULL;
	size_t len = 0;
	enum MHD_Result ret;

	if (!rapi_take_answer(q, "InvocationResponse", &ret))
		return ret;
	mode = rapi_header(q->con, MHD_HEADER_KIND, HDR_RESPONSE_MODE);
	ctype = rapi_header(q->con, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (mode && strcmp(mode, "streaming")) {
		body = rapi_unknown_error("Runtime.InvalidResponseModeHeader",
					  &len);
		r->cb.on_result(r->arg, RAPI_ERROR, q->id, body, len,
				"application/json",
				"Runtime.InvalidResponseModeHeader");
		ret = rapi_reply_error(q->con, MHD_HTTP_BAD_REQUEST,
				       "InvalidFunctionResponseMode",
				       "Invalid function response mode", false);
		goto out;
	}
	if (q->too_big) {
		rapi_result_too_large(q);
		ret = rapi_reply_too_large(q->con);
		goto out;
	}
	if (q->oom) {
		body = rapi_unknown_error("Runtime.Unknown", &len);
		r->cb.on_result(r->arg, RAPI_ERROR, q->id, body, len,
				"application/json", "Runtime.Unknown");
		ret = rapi_reply_internal(q->con, false);
		goto out;
	}
	etype = mode ? rapi_header(q->con, MHD_FOOTER_KIND, HDR_ERROR_TYPE)
		     : NULL;
	if (etype)
		rapi_result_stream_error(q, etype);
	else
		r->cb.on_result(r->arg, RAPI_RESPONSE, q->id,
				q->body.data ? q->body.data : "", q->body.len,
				ctype, NULL);
	ret = rapi_reply_accepted(q->con);
out:
	free(body);
	return ret;
}

/*
 * Reports an /error or /init/error body: error_type from the header, or
 * else the errorType of a JSON body; an empty body becomes the RIE
 * "Unknown application error occurred" document.
 */
static void rapi_result_error(struct rapi_req *q, enum rapi_outcome outcome)
{
	struct rapi *r = q->r;
	const char *type, *ctype;
	json_t *doc = NULL, *v;
	char *body = NULL;
	size_t len = 0;

	type = rapi_header(q->con, MHD_HEADER_KIND, HDR_ERROR_TYPE);
	ctype = rapi_header(q->con, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!type && q->body.len && !q->too_big && !q->oom) {
		doc = json_loadb(q->body.data, q->body.len, 0, NULL);
		v = json_object_get(doc, "errorType");
		if (json_is_string(v) && json_string_length(v))
			type = json_string_value(v);
	}
	if (!q->body.len || q->too_big || q->oom) {
		body = rapi_unknown_error(type, &len);
		r->cb.on_result(r->arg, outcome, q->id, body, len,
				"application/json", type);
	} else {
		r->cb.on_result(r->arg, outcome, q->id, q->body.data,
				q->body.len, ctype, type);
	}
	free(body);
	json_decref(doc);
}

/* POST /runtime/invocation/{id}/error */
static enum MHD_Result rapi_handle_error(struct rapi_req *q)
{
	enum MHD_Result ret;

	if (!rapi_take_answer(q, "InvocationErrorResponse", &ret))
		return ret;
	if (q->too_big) {
		rapi_result_too_large(q);
		return rapi_reply_too_large(q->con);
	}
	rapi_result_error(q, RAPI_ERROR);
	return q->oom ? rapi_reply_internal(q->con, false)
		      : rapi_reply_accepted(q->con);
}

/* POST /runtime/init/error */
static enum MHD_Result rapi_handle_init_error(struct rapi_req *q)
{
	struct rapi *r = q->r;
	enum rapi_state from;

	pthread_mutex_lock(&r->lock);
	from = r->state;
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		return rapi_reply_internal(q->con, true);
	}
	if (from != RAPI_STARTED) {
		pthread_mutex_unlock(&r->lock);
		return rapi_reply_transition(q->con, from, "InitError");
	}
	r->state = RAPI_INIT_FAILED;
	pthread_mutex_unlock(&r->lock);
	rapi_result_error(q, RAPI_INIT_ERROR);
	if (q->too_big)
		return rapi_reply_too_large(q->con);
	return q->oom ? rapi_reply_internal(q->con, false)
		      : rapi_reply_accepted(q->con);
}

static enum MHD_Result rapi_handle_not_found(struct rapi_req *q)
{
	return rapi_reply_error(q->con, MHD_HTTP_NOT_FOUND, "NotFound",
				"Not Found", false);
}

static enum MHD_Result rapi_handle_bad_method(struct rapi_req *q)
{
	return rapi_reply_error(q->con, MHD_HTTP_METHOD_NOT_ALLOWED,
				"MethodNotAllowed", "Method Not Allowed",
				false);
}

/* ---------- MHD plumbing ---------- */

/* Sorts a request into its route; sets q->id for the per-invocation ones. */
static void rapi_route(struct rapi_req *q, const char *url,
		       const char *method)
{
	static const char inv[] = "invocation/";
	const char *p, *slash, *want = "POST";
	bool is_get = !strcmp(method, MHD_HTTP_METHOD_GET);
	bool is_post = !strcmp(method, MHD_HTTP_METHOD_POST);

	q->route = RAPI_ROUTE_NOT_FOUND;
	if (strncmp(url, RAPI_PREFIX, strlen(RAPI_PREFIX)))
		return;
	p = url + strlen(RAPI_PREFIX);
	if (!strcmp(p, "invocation/next")) {
		q->route = RAPI_ROUTE_NEXT;
		want = "GET";
	} else if (!strcmp(p, "init/error")) {
		q->route = RAPI_ROUTE_INIT_ERROR;
	} else if (!strncmp(p, inv, strlen(inv))) {
		p += strlen(inv);
		slash = strchr(p, '/');
		if (!slash || strchr(slash + 1, '/'))
			return;
		if (!strcmp(slash + 1, "response"))
			q->route = RAPI_ROUTE_RESPONSE;
		else if (!strcmp(slash + 1, "error"))
			q->route = RAPI_ROUTE_ERROR;
		else
			return;
		q->id = xmalloc(slash - p + 1);
		memcpy(q->id, p, slash - p);
		q->id[slash - p] = '\0';
	} else {
		return;
	}
	if (!strcmp(want, "GET") ? !is_get : !is_post) {
		q->route = RAPI_ROUTE_BAD_METHOD;
		return;
	}
	q->keep_body = q->route != RAPI_ROUTE_NEXT;
}

/*
 * A POST whose headers have arrived: ACK them now. A client without
 * TCP_NODELAY that writes headers and body separately holds the body back
 * (Nagle) until this ACK, which the kernel would otherwise delay by up to
 * 40 ms since we have nothing to send yet. TCP_QUICKACK is not sticky;
 * setting it sends a scheduled ACK at once, which is all we need here.
 */
static void rapi_quickack(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci;
	int one = 1;

	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_QUICKACK,
				 &one, sizeof(one)); /* best effort */
}

static void rapi_consume(struct rapi_req *q, const char *data, size_t n)
{
	int r;

	q->total += n;
	if (!q->keep_body || q->too_big || q->oom)
		return;
	r = buf_append(&q->body, data, n);
	if (r == -EFBIG) {
		q->too_big = true;
		buf_release(&q->body);
	} else if (r < 0) {
		q->oom = true;
		buf_release(&q->body);
	}
}

static enum MHD_Result rapi_access(void *cls, struct MHD_Connection *con,
				   const char *url, const char *method,
				   const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct rapi *r = cls;
	struct rapi_req *q = *con_cls;

	(void)version;
	if (!q) {
		/* first call: headers only; MHD answers Expect itself */
		q = xcalloc(1, sizeof(*q));
		q->r = r;
		q->con = con;
		buf_init(&q->body, RAPI_MAX_PAYLOAD);
		rapi_route(q, url, method);
		if (q->keep_body)
			rapi_quickack(con);
		pthread_mutex_lock(&r->lock);
		r->nreqs++;
		pthread_mutex_unlock(&r->lock);
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_data_size) {
		rapi_consume(q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (q->route) {
	case RAPI_ROUTE_NEXT:
		return rapi_handle_next(q);
	case RAPI_ROUTE_RESPONSE:
		return rapi_handle_response(q);
	case RAPI_ROUTE_ERROR:
		return rapi_handle_error(q);
	case RAPI_ROUTE_INIT_ERROR:
		return rapi_handle_init_error(q);
	case RAPI_ROUTE_BAD_METHOD:
		return rapi_handle_bad_method(q);
	case RAPI_ROUTE_NOT_FOUND:
	default:
		return rapi_handle_not_found(q);
	}
}

static void rapi_completed(void *cls, struct MHD_Connection *con,
			   void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct rapi *r = cls;
	struct rapi_req *q = *con_cls, **pp;

	(void)con;
	(void)toe;
	if (!q)
		return;
	*con_cls = NULL;
	pthread_mutex_lock(&r->lock);
	if (q->suspended) {
		/* only at MHD_stop_daemon, which we never reach with one */
		for (pp = &r->waiters; *pp; pp = &(*pp)->next) {
			if (*pp == q) {
				*pp = q->next;
				break;
			}
		}
	}
	r->nreqs--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	buf_release(&q->body);
	free(q->id);
	free(q);
}

/* Small responses must not wait for Nagle + delayed ACK (CLIENTS.md 6). */
static void rapi_notify_connection(void *cls, struct MHD_Connection *con,
				   void **socket_context,
				   enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	int one = 1;

	(void)cls;
	(void)socket_context;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one,
			     sizeof(one)) == -1)
		log_warn("runtime api: cannot set TCP_NODELAY");
}

__attribute__((format(printf, 2, 0))) static void
rapi_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("runtime api: libmicrohttpd: %s", msg);
}

/* Resumes every suspended /next; each re-runs rapi_handle_next. */
static void rapi_resume_all_locked(struct rapi *r)
{
	struct rapi_req *q;

	while ((q = r->waiters)) {
		r->waiters = q->next;
		q->next = NULL;
		q->suspended = false;
		MHD_resume_connection(q->con);
	}
}

/* ---------- public ---------- */

static void rapi_free(struct rapi *r)
{
	if (!r)
		return;
	rapi_inv_free(r->cur);
	rapi_inv_free(r->pending);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int rapi_start(const struct rapi_callbacks *cb, void *arg, struct rapi **out,
	       uint16_t *port)
{
	return rapi_start_on(cb, arg, NULL, out, port);
}

int rapi_start_on(const struct rapi_callbacks *cb, void *arg,
		  const char *addr, struct rapi **out, uint16_t *port)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sin;
	struct in_addr ip;
	pthread_condattr_t ca;
	sigset_t old;
	struct rapi *r;
	int ret, err;

	*out = NULL;
	ip.s_addr = htonl(INADDR_LOOPBACK);
	if (addr && inet_pton(AF_INET, addr, &ip) != 1)
		return -EINVAL;
	if (!addr)
		addr = "127.0.0.1";
	r = xcalloc(1, sizeof(*r));
	r->cb = *cb;
	r->arg = arg;
	r->state = RAPI_STARTED;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = ip;
	sin.sin_port = 0;

	/* MHD's thread inherits this mask: signals go to the FUSE thread */
	util_signals_block(&old);
	errno = 0;
	r->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, rapi_access, r,
		/* first, or MHD logs the options before it to stderr */
		MHD_OPTION_EXTERNAL_LOGGER, rapi_mhd_log, r,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)RAPI_MEMORY_LIMIT,
		MHD_OPTION_NOTIFY_COMPLETED, rapi_completed, r,
		MHD_OPTION_NOTIFY_CONNECTION, rapi_notify_connection, r,
		MHD_OPTION_END);
	err = errno;
	util_signals_restore(&old);
	if (!r->mhd) {
		ret = err ? -err : -EIO;
		log_warnx("runtime api: cannot start the server on %s: %s",
			  addr, strerror(-ret));
		goto out;
	}
	info = MHD_get_daemon_info(r->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		ret = -EIO;
		log_warnx("runtime api: cannot read back the port");
		goto out;
	}
	r->port = info->port;
	*port = r->port;
	*out = r;
	r = NULL;
	ret = 0;
out:
	if (r && r->mhd)
		MHD_stop_daemon(r->mhd);
	rapi_free(r);
	return ret;
}

int rapi_dispatch(struct rapi *r, const struct rapi_invocation *inv)
{
	struct rapi_inv *copy;
	int ret;

	if (!inv->request_id || !*inv->request_id)
		return -EINVAL;
	if (inv->event_len > RAPI_MAX_PAYLOAD)
		return -EFBIG;
	copy = rapi_inv_dup(inv);
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		ret = -ESHUTDOWN;
	} else if (r->pending || r->state == RAPI_RUNNING) {
		ret = -EBUSY;
	} else {
		r->pending = copy;
		copy = NULL;
		rapi_resume_all_locked(r);
		ret = 0;
	}
	pthread_mutex_unlock(&r->lock);
	rapi_inv_free(copy);
	return ret;
}

void rapi_stop(struct rapi *r)
{
	struct timespec ts;
	int64_t deadline;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	rapi_resume_all_locked(r);
	/* give the resumed /next (and any request under way) their 500 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000000000LL + ts.tv_nsec + RAPI_STOP_WAIT_NS;
	ts.tv_sec = deadline / 1000000000LL;
	ts.tv_nsec = deadline % 1000000000LL;
	while (r->nreqs)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&r->lock);
	MHD_stop_daemon(r->mhd);
	rapi_free(r);
}
