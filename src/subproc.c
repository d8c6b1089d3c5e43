/* SPDX-License-Identifier: MIT */
/*
 * subproc.c - starting and stopping runtime processes (see subproc.h).
 * posix_spawn with POSIX_SPAWN_SETSID, a chdir and closefrom(3) file
 * action: no code of ours runs between fork and exec, which is what a
 * multi-threaded daemon needs.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "subproc.h"

int subproc_start(const struct subproc_spec *spec, pid_t *pid, int *pidfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r, fd;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, spec->out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, spec->out_fd, 2);
	posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* the runtime starts with default signal handling and no mask */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
					       POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(pid, spec->path, &fa, &attr, spec->argv, spec->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return -r;
	fd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (fd == -1 && errno == ENOSYS) {
		/* kernels before 5.3, and valgrind 3.19: the caller falls
		 * back to waiting once the output pipe closes */
		*pidfd = -1;
		return 0;
	}
	if (fd == -1) {
		r = -errno;
		kill(*pid, SIGKILL);
		return r;
	}
	*pidfd = fd;
	return 0;
}

void subproc_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	/* the group first: children of the runtime die with it */
	if (kill(-pid, SIGKILL) == -1)
		kill(pid, SIGKILL);
}

long subproc_peak_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}
