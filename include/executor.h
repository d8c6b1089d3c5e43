/* SPDX-License-Identifier: MIT */
/*
 * executor.h - where an execution environment runs: the narrow interface
 * between the warm pools (invoke.c) and the executors (DESIGN.md §3, §7).
 *
 * An executor starts an environment, stops it and measures it; nothing
 * else. The environment's output arrives on a pipe (spec->proc->out_fd)
 * and its end is signalled on a file descriptor, so invoke.c watches
 * every kind of environment with one poll loop. Executors: subprocess
 * (exec_subproc.c, over subproc.c) and docker (exec_docker.c, over
 * docker.c). A Kubernetes or AWS executor would be a third ops table.
 *
 * Locking: stop and measure may be called with the invoker's lock held,
 * so they never wait on the network: stop queues work, measure reads
 * local state. start and release are called without locks.
 */
#ifndef LAMBDAFS_EXECUTOR_H
#define LAMBDAFS_EXECUTOR_H

#include <sys/types.h>

#include "common.h"

struct function_exec;
struct subproc_spec;
struct exec_env;

/* What to start. Borrowed for the duration of start. */
struct exec_spec {
	const struct function_exec *fe;
	unsigned env_id;	/* unique in this daemon */
	/* the process: argv/env/cwd (host paths for subprocess), out_fd
	 * receives stdout and stderr; the executor closes nothing of it */
	const struct subproc_spec *proc;
	/* containers only */
	const char *image;	/* image reference */
	const char *const *entrypoint; /* NULL: the image's own */
	const char *const *cmd;	/* NULL: the image's own */
	const char *workdir;	/* NULL: the image's own */
	const char *tmp_dir;	/* host directory mounted at /tmp */
};

/* Measured facts about a running or finished environment. */
struct exec_usage {
	long peak_kb;		/* peak memory, KiB; 0 unknown */
	bool oom;		/* killed for exceeding its memory limit */
	/* why it ended when the executor knows better than an exit
	 * status (e.g. dockerd went away); borrowed from env, or NULL */
	const char *why_ended;
};

struct exec_ops {
	const char *name;	/* "subprocess", "docker" */
	/* How long output may trail the runtime's answer (it travels
	 * through another process): invoke.c waits for that much quiet
	 * before END, so a function's lines stay inside its invocation. */
	int64_t output_lag_ns;
	/*
	 * Starts an environment. Returns 0 and sets *env, *pid (host pid of
	 * the runtime, -1 when it has none here) and *exit_fd (becomes
	 * readable once the environment has ended, the caller closes it;
	 * -1: watch out_fd's end-of-file instead). On error returns -errno and sets *why to a
	 * Lambda error document (malloc'd) that names the fix.
	 */
	int (*start)(void *ctx, const struct exec_spec *spec,
		     struct exec_env **env, pid_t *pid, int *exit_fd,
		     char **why);
	/* Kills the environment; does not wait. Idempotent. */
	void (*stop)(void *ctx, struct exec_env *env);
	/* Fills *u; cheap, never blocks on the network. */
	void (*measure)(void *ctx, struct exec_env *env, struct exec_usage *u);
	/* Once ended: its wait status (as waitpid's). Blocks until then. */
	int (*reap)(void *ctx, struct exec_env *env);
	/* Frees env (stopping it first if needed). NULL-safe. */
	void (*release)(void *ctx, struct exec_env *env);
	/* A JSON-ready description for instances/ (e.g. container id);
	 * static or borrowed from env; may be NULL. */
	const char *(*describe)(void *ctx, struct exec_env *env);
	/*
	 * Optional: returns 0 once everything the environment wrote before
	 * the call is in out_fd (then no quiet period is needed), -ETIMEDOUT
	 * after timeout_ns, -ENOTSUP when this environment cannot tell
	 * (output_lag_ns applies). Called without locks, by the caller
	 * that owns the environment's current invocation.
	 */
	int (*sync_output)(void *ctx, struct exec_env *env, int64_t timeout_ns);
	/*
	 * Optional: the IPv4 address (at most 15 chars) of this host as the
	 * environments about to start see it, where their Runtime API must
	 * listen; without it, 127.0.0.1. -errno and *why (a Lambda error
	 * document) if there is none.
	 */
	int (*api_addr)(void *ctx, char addr[16], char **why);
};

struct executor {
	const struct exec_ops *ops;
	void *ctx;
};

/* The subprocess executor (always available). */
extern const struct executor exec_subproc;

struct exec_docker_params {
	const char *host;	/* DOCKER_HOST value or NULL */
	const char *owner;	/* label value naming this daemon's containers */
	const char *network;	/* "host" | "bridge" */
};

/*
 * Creates the docker executor. Never fails for an absent daemon: that is
 * found out (and reported to the caller) at each start, so dockerd may
 * come and go while lambdafs runs. At creation, and whenever a daemon is
 * reached for the first time, containers labelled with params->owner
 * (left by a crashed lambdafs) are removed. Returns 0 or -errno.
 */
int exec_docker_new(const struct exec_docker_params *p, struct executor **out);
/* Waits for queued kills/removals, then frees. NULL-safe. */
void exec_docker_free(struct executor *x);
/* Whether a daemon answers now (one short ping). */
bool exec_docker_reachable(struct executor *x);

#endif
