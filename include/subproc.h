/* SPDX-License-Identifier: MIT */
/*
 * subproc.h - the subprocess executor's process handling: start a runtime
 * as the leader of its own session and process group, with an explicit
 * argv, environment and working directory, stdout and stderr into one
 * pipe, optionally inside a sandbox (sandbox.h) and a memory cgroup
 * (cgroup.h); watch it through a pidfd; kill the whole group.
 */
#ifndef LAMBDAFS_SUBPROC_H
#define LAMBDAFS_SUBPROC_H

#include <sys/types.h>

#include "common.h"

struct sandbox;

struct subproc_spec {
	const char *path;	 /* program to execute, as seen inside */
	char *const *argv;
	char *const *envp;	 /* the complete environment */
	const char *cwd;	 /* as seen inside */
	int out_fd;		 /* stdout and stderr go here */
	const struct sandbox *sandbox; /* NULL: the host's file system */
	int cgroup_fd;		 /* cgroup.procs to join first, or -1 */
};

/*
 * Starts the program: fork, join the cgroup, enter the sandbox, exec.
 * Returns 0 and sets *pid and *pidfd (close it; -1 where pidfd_open is
 * missing: then wait once the output pipe closes), or -errno with *why
 * (caller frees) naming the step that failed, e.g. -ENOENT
 * "execve '/var/task/bootstrap'" or -EPERM "tmpfs on /dev". A child that
 * failed has been reaped.
 */
int subproc_start(const struct subproc_spec *spec, pid_t *pid, int *pidfd,
		  char **why);
/* SIGKILLs the process group of pid (the runtime and its children). */
void subproc_kill(pid_t pid);
/* Peak resident memory of pid (VmHWM) in KiB, 0 if unknown. */
long subproc_peak_kb(pid_t pid);
/* Current resident memory of pid (VmRSS) in KiB, 0 if unknown. */
long subproc_rss_kb(pid_t pid);

#endif
