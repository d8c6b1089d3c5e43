/* SPDX-License-Identifier: MIT */
/*
 * invoke.h - running functions: per-function pools of warm execution
 * environments (subprocess executor), synchronous invocations through
 * the Runtime API (rapi.c), CloudWatch-style logs (flog.c).
 *
 * Lock order: registry -> invoke (iv->lock); the registry is only called
 * without iv->lock held.
 */
#ifndef LAMBDAFS_INVOKE_H
#define LAMBDAFS_INVOKE_H

#include "common.h"

struct invoker;
struct registry;
struct config_image;

struct invoker_params {
	struct registry *reg;
	const char *state_dir;
	int max_envs;	/* per function */
	int idle_ttl;	/* seconds */
	int executor;	/* enum config_executor: --executor */
	const struct config_image *images; /* --image, borrowed until stop */
	size_t nimages;
	const char *docker_network; /* "host" (NULL) | "bridge" */
	int history;	/* invocations kept per function */
	/* Called (without locks) after lines were appended to a function's
	 * log, at most every 50 ms per environment; may be NULL. */
	void (*on_log)(const char *name, void *arg);
	void *arg;
};

/* The answer to one invocation. */
struct invoke_result {
	int err;	   /* 0, or the errno of DESIGN.md §2's table */
	char *payload;	   /* response or error JSON (malloc'd), may be NULL */
	size_t len;
	bool function_error; /* payload is an error document */
	char request_id[37];
	/* This invocation's log lines (START ... REPORT, each
	 * "<ISO time> <message>\n"), at most the last 64 KB; may be NULL. */
	char *logs;
	size_t logs_len;
};

/* Optional per-invocation facts from the caller. */
struct invoke_opts {
	const char *client_context; /* decoded JSON text or NULL */
	/* Polled while waiting: returning true abandons the wait with
	 * -EINTR (the environment is killed). May be NULL. */
	bool (*interrupted)(void *arg);
	void *arg;
};

int invoker_start(const struct invoker_params *p, struct invoker **out);
/* Stops every environment and wakes every waiter (-ESHUTDOWN). */
void invoker_stop(struct invoker *iv);

/*
 * Runs one synchronous invocation of function name with the event
 * (event_len bytes; empty means "{}"). Blocks until the function answers,
 * times out, fails, or opts->interrupted says so. Always fills *res
 * (release with invoke_result_release); returns res->err as -errno.
 */
int invoke_sync(struct invoker *iv, const char *name, const char *event,
		size_t event_len, const struct invoke_opts *opts,
		struct invoke_result *res);
void invoke_result_release(struct invoke_result *res);

/* Largest Event payload (AWS's current asynchronous limit, 1 MB). */
#define INVOKE_ASYNC_MAX (1024 * 1024)

/*
 * Queues an asynchronous (Event) invocation and returns once it is durable
 * in the store: a restart, even after SIGKILL, still runs it. It runs in
 * the background with AWS's retry rule (2 retries after a function error
 * or timeout); its outcome lands in the function's history. request_id
 * (37 bytes) receives its id. -ENOENT no such function, -EINVAL not JSON,
 * -EFBIG over INVOKE_ASYNC_MAX, -ENOSPC/-EIO from the store.
 */
int invoke_async(struct invoker *iv, const char *name, const char *event,
		 size_t event_len, char *request_id);

/* The latest completed response of a function (caller frees), or NULL. */
char *invoke_latest(struct invoker *iv, const char *name, size_t *len);
/* Stops a function's environments (after delete). */
void invoke_forget(struct invoker *iv, const char *name);
/* Path of a function's log file (caller frees). */
char *invoke_log_path(struct invoker *iv, const char *name);
/* Ids of a function's live environments (malloc'd array, free it);
 * returns the count. */
size_t invoke_instances(struct invoker *iv, const char *name, unsigned **ids);
/* One environment as JSON (pid, state, port, since, rss...), with a
 * trailing newline; caller frees. NULL with errno ENOENT. */
char *invoke_instance_json(struct invoker *iv, const char *name, unsigned id,
			   size_t *len);
/* Number of live environments, for status. */
size_t invoke_env_count(struct invoker *iv);
/* Live environments run by one executor ("subprocess", "docker"). */
size_t invoke_env_count_by(struct invoker *iv, const char *executor);
/* How environments are isolated, for status (borrowed): "mount-namespace",
 * "user-namespace" or "none (why)". */
const char *invoke_isolation(struct invoker *iv);
/* How memory is limited and measured, for status (borrowed):
 * "cgroup-v1 (<parent cgroup>)", "cgroup-v2 (...)" or "rss (why)". */
const char *invoke_memory_accounting(struct invoker *iv);
/* Events queued or being retried, for status. */
size_t invoke_async_pending(struct invoker *iv);
/* The invocation history (history.h), for invocations/. */
struct history *invoke_history(struct invoker *iv);

#endif
