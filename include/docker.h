/* SPDX-License-Identifier: MIT */
/*
 * docker.h - the Docker Engine API through libcurl: over the unix socket
 * (/var/run/docker.sock or DOCKER_HOST=unix://PATH) or TCP
 * (DOCKER_HOST=tcp://HOST:PORT, plain HTTP). No docker CLI.
 *
 * Every call has explicit timeouts: a connect timeout, and a total one
 * except on the two calls that stream for a container's lifetime
 * (attach, and wait when asked to block), which end when the container
 * or the connection does. HTTP statuses become -errno through one table
 * (docker_errno); the daemon's own message ({"message": ...}) is handed
 * back to callers that show it to users.
 *
 * Thread-safe: a struct docker is immutable after docker_open, and each
 * call uses its own curl handle (curl_global_init must have run).
 */
#ifndef LAMBDAFS_DOCKER_H
#define LAMBDAFS_DOCKER_H

#include <jansson.h>

#include "common.h"

struct docker;

/* Reply of a call: HTTP status (0 when no answer came) and the daemon's
 * error message if any (malloc'd; free it with docker_reply_release). */
struct docker_reply {
	long status;
	char *message;
};
void docker_reply_release(struct docker_reply *rep);

/*
 * Connects to host (a DOCKER_HOST value; NULL or "" = $DOCKER_HOST, else
 * unix:///var/run/docker.sock) and negotiates the API version with
 * GET /version. Returns 0 and *out (free with docker_close), or -errno:
 * -ECONNREFUSED/-ENOENT (nothing listens), -ETIMEDOUT, -EPROTO (not a
 * Docker daemon, or its API is older than 1.25), -EINVAL (bad host).
 */
int docker_open(const char *host, struct docker **out);
void docker_close(struct docker *d);
/* "unix:///var/run/docker.sock" or "tcp://..." (borrowed). */
const char *docker_host(const struct docker *d);
/* Negotiated API version, e.g. "1.41" (borrowed). */
const char *docker_api_version(const struct docker *d);
/* Whether the daemon is on this machine (unix socket): then container
 * cgroups can be read directly. */
bool docker_is_local(const struct docker *d);

/* GET /_ping with a short timeout: 0 or -errno. */
int docker_ping(struct docker *d);

/* Maps an HTTP status of the Engine API to -errno (0 for 2xx). */
int docker_errno(long status);

/*
 * POST /containers/create?name=NAME with body (borrowed). Returns 0 and
 * fills id (65 bytes), or -errno with rep->message: -ENOENT no such image,
 * -EBUSY name in use, -EINVAL bad request.
 */
int docker_create(struct docker *d, const char *name, const json_t *body,
		  char id[65], struct docker_reply *rep);
/* POST /containers/ID/start. 0 (also when already running) or -errno. */
int docker_start(struct docker *d, const char *id, struct docker_reply *rep);
/* POST /containers/ID/kill?signal=SIG. -ENOENT gone, -EBUSY not running. */
int docker_kill(struct docker *d, const char *id, const char *sig);
/* DELETE /containers/ID?force=1&v=1. 0, or -ENOENT already gone. */
int docker_remove(struct docker *d, const char *id);
/* GET /containers/ID/json into *out (new reference). */
int docker_inspect(struct docker *d, const char *id, json_t **out);
/* GET /networks/NAME into *out (new reference); -ENOENT no such network.
 * name: [A-Za-z0-9][A-Za-z0-9_.-]* (not escaped). */
int docker_network_inspect(struct docker *d, const char *name, json_t **out);
/* GET /containers/ID/stats?stream=false&one-shot=true into *out. */
int docker_stats(struct docker *d, const char *id, json_t **out);
/*
 * POST /containers/ID/wait: blocks until the container stops (at most
 * timeout_ms; 0 = as long as the connection lives) and sets *code to its
 * StatusCode (128+N when signal N killed it).
 */
int docker_wait(struct docker *d, const char *id, long timeout_ms,
		long *code);
/*
 * GET /containers/json?all=1 filtered by label (KEY=VALUE): the ids in a
 * NULL-terminated malloc'd array (free each and the array).
 */
int docker_list(struct docker *d, const char *label, char ***ids);

/*
 * Callback of docker_attach: one chunk of the container's output (stream
 * 1 stdout, 2 stderr). Returning false ends the attach.
 */
typedef bool (*docker_output_fn)(int stream, const char *data, size_t len,
				 void *arg);
/* Called once the attach is established (the container may be started
 * from then on without losing output). */
typedef void (*docker_attached_fn)(void *arg);

/*
 * POST /containers/ID/attach?stream=1&stdout=1&stderr=1 (not a TTY): the
 * multiplexed stream is split into its frames and each payload handed to
 * out. Blocks until the container's output closes (it exited or was
 * killed), the connection drops (dockerd stopped) or out returns false.
 * Returns 0 when the stream ended normally, else -errno.
 */
int docker_attach(struct docker *d, const char *id, docker_attached_fn on_up,
		  docker_output_fn out, void *arg);

#endif
