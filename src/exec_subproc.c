/* SPDX-License-Identifier: MIT */
/*
 * exec_subproc.c - the subprocess executor behind executor.h: a runtime
 * as a host process group (subproc.c does the work). The pidfd is the
 * end-of-environment descriptor; without pidfd_open, invoke.c watches
 * the output pipe's end instead.
 */
#include <sys/wait.h>

#include <jansson.h>

#include "common.h"
#include "executor.h"
#include "subproc.h"
#include "util.h"

struct exec_env {
	pid_t pid;
	bool reaped;
	int status;
};

static int sp_start(void *ctx, const struct exec_spec *spec,
		    struct exec_env **env, pid_t *pid, int *exit_fd,
		    char **why)
{
	struct exec_env *e;
	char *msg = NULL;
	int r;

	(void)ctx;
	*why = NULL;
	r = subproc_start(spec->proc, pid, exit_fd, &msg);
	if (r < 0) {
		/* AWS: "Error: fork/exec /var/task/bootstrap: ..." */
		json_t *j = json_pack("{s:s+, s:s}", "errorMessage",
				      "cannot start the runtime: ",
				      msg ? msg : strerror(-r), "errorType",
				      "Runtime.InvalidEntrypoint");

		*why = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		free(msg);
		return -ENOEXEC;
	}
	e = xcalloc(1, sizeof(*e));
	e->pid = *pid;
	*env = e;
	return 0;
}

static void sp_stop(void *ctx, struct exec_env *e)
{
	(void)ctx;
	if (e && !e->reaped)
		subproc_kill(e->pid);
}

static void sp_measure(void *ctx, struct exec_env *e, struct exec_usage *u)
{
	(void)ctx;
	u->peak_kb = e && !e->reaped ? subproc_peak_kb(e->pid) : 0;
	u->oom = false;
}

static int sp_reap(void *ctx, struct exec_env *e)
{
	int status = 0;

	(void)ctx;
	if (e->reaped)
		return e->status;
	while (waitpid(e->pid, &status, 0) == -1 && errno == EINTR)
		;
	/* children of the runtime may still hold the pipe open */
	subproc_kill(e->pid);
	e->reaped = true;
	e->status = status;
	return status;
}

static void sp_release(void *ctx, struct exec_env *e)
{
	(void)ctx;
	if (!e)
		return;
	if (!e->reaped) {
		subproc_kill(e->pid);
		sp_reap(ctx, e);
	}
	free(e);
}

static const struct exec_ops sp_ops = {
	.name = "subprocess",
	.start = sp_start,
	.stop = sp_stop,
	.measure = sp_measure,
	.reap = sp_reap,
	.release = sp_release,
	.describe = NULL,
};

const struct executor exec_subproc = { .ops = &sp_ops, .ctx = NULL };
