/* SPDX-License-Identifier: MIT */
/*
 * rapi.h - the Lambda Runtime API (2018-06-01) for one execution
 * environment: an HTTP/1.1 server on 127.0.0.1, on its own port, that the
 * runtime inside the environment polls (LAMBDA-CONTRACT.md §1). With
 * http.c the only module that includes <microhttpd.h>.
 *
 * The owner (instance.c) hands it one invocation at a time with
 * rapi_dispatch(); the server gives it to the runtime's long-polling
 * GET /next, and reports the runtime's answer through callbacks. The
 * runtime state machine of RIE (§1.7) is enforced here: duplicate and
 * out-of-order calls get the exact 400/403 bodies of §1.5.
 *
 * Threads: each struct rapi runs one MHD daemon with its internal polling
 * thread (MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME);
 * callbacks run on that thread and must not block for long. rapi_dispatch
 * and rapi_stop may be called from any thread.
 */
#ifndef LAMBDAFS_RAPI_H
#define LAMBDAFS_RAPI_H

#include "common.h"

/* RIE's MaxPayloadSize: 6 MiB + 100 bytes. */
#define RAPI_MAX_PAYLOAD (6 * 1024 * 1024 + 100)

struct rapi;

/* One invocation as /next hands it out. All strings are copied by
 * rapi_dispatch; the caller keeps ownership of its own. */
struct rapi_invocation {
	const char *request_id;	    /* UUID */
	const char *event;	    /* body bytes (empty means "{}") */
	size_t event_len;
	int64_t deadline_ms;	    /* absolute, epoch ms; or 0 and: */
	int64_t timeout_ms;	    /* from when /next hands it out (a
				     * cold start's init does not count) */
	const char *function_arn;   /* Lambda-Runtime-Invoked-Function-Arn */
	const char *client_context; /* decoded JSON text, or NULL */
	const char *cognito_identity; /* JSON text, or NULL */
	const char *trace_id;	    /* X-Ray header, or NULL */
};

enum rapi_outcome {
	RAPI_RESPONSE,	 /* POST .../response: body is the payload */
	RAPI_ERROR,	 /* POST .../error, or a response over the limit
			    (then body is the Function.ResponseSizeTooLarge
			    error JSON and error_type that type) */
	RAPI_INIT_ERROR, /* POST /init/error (request_id is NULL) */
};

struct rapi_callbacks {
	/*
	 * The runtime answered. body/len/content_type/error_type are
	 * borrowed for the duration of the call. error_type is the
	 * Lambda-Runtime-Function-Error-Type header, or else the errorType
	 * of a JSON body, or NULL. Called once per invocation (the first
	 * answer; later ones are refused with 400/403 as RIE does) and once
	 * per /init/error.
	 */
	void (*on_result)(void *arg, enum rapi_outcome outcome,
			  const char *request_id, const char *body,
			  size_t len, const char *content_type,
			  const char *error_type);
	/*
	 * The runtime called GET /next and nothing is queued for it: it is
	 * initialised (first call) or finished with the previous invocation.
	 * first is true on the first /next of this environment.
	 */
	void (*on_ready)(void *arg, bool first);
};

/*
 * Starts a Runtime API server on 127.0.0.1 with a kernel-chosen port
 * (port 0) and returns the port in *port; the socket is listening when
 * this returns, so the runtime can be started right away. cb and arg
 * must stay valid until rapi_stop returns. Returns 0 or -errno.
 */
int rapi_start(const struct rapi_callbacks *cb, void *arg, struct rapi **out,
	       uint16_t *port);
/* The same on addr (IPv4, e.g. a docker bridge's gateway that containers
 * reach; NULL: 127.0.0.1). -EINVAL for a bad address. */
int rapi_start_on(const struct rapi_callbacks *cb, void *arg,
		  const char *addr, struct rapi **out, uint16_t *port);

/*
 * Hands one invocation to the runtime: a suspended GET /next is resumed
 * with it, or the next /next gets it. Returns 0, or -EBUSY while a
 * previous invocation has not been answered, or -ESHUTDOWN after stop.
 */
int rapi_dispatch(struct rapi *r, const struct rapi_invocation *inv);

/*
 * Stops the server: suspended /next requests are resumed and answered
 * with 500 (the runtime is being killed anyway), the MHD daemon is
 * stopped and everything freed. NULL-safe. No callback runs after it
 * returns.
 */
void rapi_stop(struct rapi *r);

/* "0.9.75" */
const char *rapi_mhd_version(void);

#endif
