/* SPDX-License-Identifier: MIT */
/*
 * subproc.h - the subprocess executor's process handling: start a runtime
 * as the leader of its own session and process group, with an explicit
 * argv, environment and working directory, stdout and stderr into one
 * pipe; watch it through a pidfd; kill the whole group.
 */
#ifndef LAMBDAFS_SUBPROC_H
#define LAMBDAFS_SUBPROC_H

#include <sys/types.h>

#include "common.h"

struct subproc_spec {
	const char *path;	 /* program to execute (absolute) */
	char *const *argv;
	char *const *envp;	 /* the complete environment */
	const char *cwd;
	int out_fd;		 /* stdout and stderr go here */
};

/*
 * Starts the program. Returns 0 and sets *pid and *pidfd (close it; -1
 * where pidfd_open is missing: then wait once the output pipe closes), or
 * -errno (e.g. -ENOENT, -EACCES: the program cannot be executed).
 */
int subproc_start(const struct subproc_spec *spec, pid_t *pid, int *pidfd);
/* SIGKILLs the process group of pid (the runtime and its children). */
void subproc_kill(pid_t pid);
/* Peak resident memory of pid (VmHWM) in KiB, 0 if unknown. */
long subproc_peak_kb(pid_t pid);

#endif
