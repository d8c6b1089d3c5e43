/* SPDX-License-Identifier: MIT */
/*
 * test_cgroup.c - a memory cgroup per environment: a child joins through
 * cgroup.procs, its peak is measured, going past the limit is an OOM kill
 * that is counted, and nothing is left after free and close. Skips
 * (saying why) without a writable memory controller.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "common.h"
#include "tap.h"
#include "util.h"

/* A child in cg that touches mb MiB; returns its wait status. */
static int run_child(struct cgroup *cg, size_t mb)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		char *p;

		if (write(cgroup_procs_fd(cg), "0", 1) != 1)
			_exit(3);
		p = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(4);
		memset(p, 1, mb << 20);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	return status;
}

int main(void)
{
	struct cgroup_parent *parent = NULL;
	struct cgroup *cg = NULL;
	enum cgroup_mode mode;
	char *why = NULL, *ppath, *cpath;
	struct stat st;
	int status;

	plan_no_plan();
	mode = cgroup_parent_open(&parent, &why);
	printf("# %s: %s\n", cgroup_mode_name(mode),
	       why ? why : cgroup_parent_path(parent));
	if (mode == CGROUP_NONE) {
		ok(why && *why && !parent, "no controller: NULL and a reason");
		printf("ok %d # SKIP cgroup checks: %s\n", ++tap_n, why);
		free(why);
		return done_testing();
	}
	ppath = xstrdup(cgroup_parent_path(parent));
	ok(stat(ppath, &st) == 0 && S_ISDIR(st.st_mode), "parent created");
	is_int(cgroup_new(parent, "unit-1", 64, &cg), 0, "cgroup_new");
	cpath = xasprintf("%s/unit-1", ppath);
	ok(stat(cpath, &st) == 0, "environment cgroup created");

	status = run_child(cg, 24);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "24 MiB under a 64 MiB limit: exits 0");
	ok(cgroup_peak_kb(cg) >= 24 * 1024, "peak counts the 24 MiB");
	is_int(cgroup_oom_kills(cg), 0, "no OOM kill");

	status = run_child(cg, 200);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "200 MiB past a 64 MiB limit: SIGKILL");
	ok(cgroup_oom_kills(cg) >= 1, "the OOM kill is counted");
	ok(cgroup_peak_kb(cg) <= 64 * 1024, "peak stays at the limit");

	cgroup_free(cg);
	ok(stat(cpath, &st) == -1 && errno == ENOENT, "cgroup_free removes it");
	cgroup_parent_close(parent);
	ok(stat(ppath, &st) == -1 && errno == ENOENT,
	   "cgroup_parent_close removes the parent");
	free(cpath);
	free(ppath);
	return done_testing();
}
