/* SPDX-License-Identifier: MIT */
/*
 * subproc.c - starting and stopping runtime processes (see subproc.h).
 *
 * fork, then in the child only async-signal-safe system calls: default
 * signal dispositions, a new session, joining the memory cgroup (before
 * the runtime allocates anything), entering the sandbox (sandbox.c
 * replays a plan prepared before the fork), stdio, exec. A failure on the
 * way is written to a CLOEXEC pipe as {errno, step}; the parent reads it
 * until EOF, so a successful exec reads nothing and a failed one becomes
 * a clear error instead of a runtime that silently died.
 *
 * Every signal is blocked around fork so no handler of the daemon's runs
 * in the child; the child unblocks them just before exec.
 *
 * "fork" is clone(CLONE_VM | CLONE_VFORK), as posix_spawn does, unless
 * the sandbox needs a user namespace (unshare(CLONE_NEWUSER) refuses a
 * shared address space): a real fork of the threaded daemon write-
 * protects every page and shoots down the TLB of every CPU its threads
 * ran on, which measured 3-7 ms per spawn on a 2-core VM, a tenth of a
 * python cold start; the shared-memory child costs about 0.1 ms. The
 * child runs on its own stack, touches only that stack, and the parent
 * thread sleeps until it has exec'd or exited.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "sandbox.h"
#include "subproc.h"
#include "util.h"

struct child_error {
	int err;
	char what[256];
};

/* ce->what = a + " " + b; no stdio in the child */
static void child_what(struct child_error *ce, const char *a, const char *b)
{
	size_t n = 0, size = sizeof(ce->what);

	while (*a && n + 1 < size)
		ce->what[n++] = *a++;
	if (b && *b && n + 1 < size)
		ce->what[n++] = ' ';
	while (b && *b && n + 1 < size)
		ce->what[n++] = *b++;
	ce->what[n] = '\0';
}

static void close_from_3(int keep)
{
	/* Linux 5.11: mark everything CLOEXEC, keep's own flag included */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0U, 0);
}

static __attribute__((noreturn)) void
child_main(const struct subproc_spec *spec, int errfd, int devnull)
{
	struct child_error ce = { 0 };
	struct sigaction sa;
	sigset_t none;
	int sig, r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL); /* EINVAL for glibc's own */
	if (setsid() == -1) {
		ce.err = errno;
		child_what(&ce, "setsid", NULL);
		goto fail;
	}
	if (spec->cgroup_fd >= 0 && write(spec->cgroup_fd, "0", 1) != 1) {
		ce.err = errno;
		child_what(&ce, "join the memory cgroup", NULL);
		goto fail;
	}
	if (spec->sandbox) {
		r = sandbox_enter(spec->sandbox, ce.what, sizeof(ce.what));
		if (r < 0) {
			ce.err = -r;
			goto fail;
		}
	}
	if (chdir(spec->cwd) == -1) {
		ce.err = errno;
		child_what(&ce, "chdir", spec->cwd);
		goto fail;
	}
	if (dup2(devnull, 0) == -1 || dup2(spec->out_fd, 1) == -1 ||
	    dup2(spec->out_fd, 2) == -1) {
		ce.err = errno;
		child_what(&ce, "dup2", NULL);
		goto fail;
	}
	close_from_3(errfd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(spec->path, spec->argv, spec->envp);
	ce.err = errno;
	child_what(&ce, "execve", spec->path);
	/* a signal arriving now is harmless: the parent sees EOF or this */
fail:
	if (write(errfd, &ce, sizeof(ce)) < 0)
		_exit(126);
	_exit(127);
}

struct child_args {
	const struct subproc_spec *spec;
	int errfd, devnull;
};

static int child_entry(void *arg)
{
	struct child_args *a = arg;

	child_main(a->spec, a->errfd, a->devnull);
}

#define CHILD_STACK (256 * 1024)

/* AddressSanitizer cannot follow instrumented code onto a child's own
 * stack in a shared address space (false reports): sanitized builds fork */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_NEEDS_FORK 1
#else
#define SPAWN_NEEDS_FORK 0
#endif

/* fork(), or its shared-memory form when the child allows (above) */
static pid_t spawn_child(const struct subproc_spec *spec, int errfd,
			 int devnull)
{
	struct child_args a = { spec, errfd, devnull };
	void *stack;
	pid_t child;

	if (SPAWN_NEEDS_FORK ||
	    (spec->sandbox && sandbox_uses_userns(spec->sandbox))) {
		child = fork();
		if (child == 0)
			child_main(spec, errfd, devnull);
		return child;
	}
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	child = clone(child_entry, (char *)stack + CHILD_STACK,
		      CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	munmap(stack, CHILD_STACK);
	return child;
}

int subproc_start(const struct subproc_spec *spec, pid_t *pid, int *pidfd,
		  char **why)
{
	struct child_error ce;
	sigset_t all, saved;
	int ep[2], devnull, fd, r;
	pid_t child;
	int64_t t0, t1;
	ssize_t n;

	*why = NULL;
	if (pipe2(ep, O_CLOEXEC) == -1) {
		r = -errno;
		*why = xasprintf("pipe: %s", strerror(-r));
		return r;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull == -1) {
		r = -errno;
		*why = xasprintf("/dev/null: %s", strerror(-r));
		close(ep[0]);
		close(ep[1]);
		return r;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	t0 = util_mono_ns();
	child = spawn_child(spec, ep[1], devnull);
	r = child == -1 ? -errno : 0;
	t1 = util_mono_ns();
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	close(ep[1]);
	close(devnull);
	if (r < 0) {
		close(ep[0]);
		*why = xasprintf("fork: %s", strerror(-r));
		return r;
	}
	do
		n = read(ep[0], &ce, sizeof(ce));
	while (n == -1 && errno == EINTR);
	close(ep[0]);
	log_debug("spawn of %s: fork %.2f ms, to exec %.2f ms", spec->path,
		  (t1 - t0) / 1e6, (util_mono_ns() - t0) / 1e6);
	if (n != 0) {
		while (waitpid(child, NULL, 0) == -1 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof(ce) && ce.err > 0) {
			ce.what[sizeof(ce.what) - 1] = '\0';
			*why = xasprintf("%s: %s", ce.what, strerror(ce.err));
			return -ce.err;
		}
		*why = xstrdup("the process died before it could exec");
		return -ECHILD;
	}
	*pid = child;
	fd = (int)syscall(SYS_pidfd_open, child, 0);
	if (fd == -1 && errno == ENOSYS) {
		/* kernels before 5.3, and valgrind 3.19: the caller falls
		 * back to waiting once the output pipe closes */
		*pidfd = -1;
		return 0;
	}
	if (fd == -1) {
		r = -errno;
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) == -1 && errno == EINTR)
			;
		*why = xasprintf("pidfd_open: %s", strerror(-r));
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

static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

long subproc_peak_kb(pid_t pid)
{
	return status_kb(pid, "VmHWM");
}

long subproc_rss_kb(pid_t pid)
{
	return status_kb(pid, "VmRSS");
}
