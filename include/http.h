/* SPDX-License-Identifier: MIT */
/*
 * http.h - the Lambda HTTP API (DESIGN.md §4): the Lambda REST paths the
 * aws CLI and boto3 call (Invoke, the RIE path, the control plane), the
 * CloudWatch Logs calls of `aws logs tail` (cwlogs.c), GET /health and
 * GET /status. A peer of fs.c: it calls the core (registry, invoker) and
 * nothing below it, and only translates requests and answers; validation
 * is the core's. With rapi.c the only module that includes <microhttpd.h>.
 *
 * Start-up happens in two steps because the daemon forks after mounting
 * and threads do not survive a fork: http_bind() takes the address
 * before the mount (so a busy port is an error on the terminal, exit 1),
 * http_start() starts serving on that socket once daemonized.
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION), so
 * a slow invocation holds only its own connection; keep-alive works.
 */
#ifndef LAMBDAFS_HTTP_H
#define LAMBDAFS_HTTP_H

#include "common.h"

struct http;
struct invoker;
struct registry;

/*
 * Creates the listening socket for addr ("HOST:PORT"; HOST an IPv4 or
 * IPv6 address or a name, "[::1]:PORT" for IPv6 literals; PORT 0 lets the
 * kernel choose). Returns 0 and *out (free with http_stop), or -errno with
 * *cause set to one line for the user (free it).
 */
int http_bind(const char *addr, struct http **out, char **cause);

/* What http_start serves; all borrowed until http_stop returns. */
struct http_params {
	struct registry *reg;
	struct invoker *iv;
	const char *executor; /* shown by GET /status */
	/* Called (no locks held) after a function was created, changed or
	 * deleted over HTTP, so the other face can drop its caches; may be
	 * NULL. */
	void (*on_change)(const char *name, void *arg);
	void *arg;
};

/*
 * Starts serving on the bound socket (threads: call after daemonizing).
 * Returns 0 or -errno (logged).
 */
int http_start(struct http *h, const struct http_params *p);

/* The bound address with the real port, "127.0.0.1:9000" (borrowed until
 * http_stop). */
const char *http_address(const struct http *h);

/*
 * Stops serving: requests in flight are answered (an invocation still
 * running gets 503 ServiceException, its environment is stopped, as a
 * blocked `invoke` writer is at unmount), then every connection is closed
 * and everything freed. Call before invoker_stop. NULL-safe.
 */
void http_stop(struct http *h);

#endif
