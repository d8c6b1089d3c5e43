/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - a memory cgroup per execution environment: MemorySize is its
 * limit (the kernel's OOM killer enforces it), its peak is REPORT's Max
 * Memory Used. cgroup v2 (memory.max, memory.peak, memory.events) where
 * the memory controller is mounted there, else v1 (memory.limit_in_bytes,
 * memory.max_usage_in_bytes, memory.oom_control).
 *
 * Layout: <controller root>/lambdafs.<daemon pid>/<function>-<env id>.
 * The parent is created at start and removed at stop; parents of dead
 * daemons are swept at start.
 */
#ifndef LAMBDAFS_CGROUP_H
#define LAMBDAFS_CGROUP_H

#include "common.h"

enum cgroup_mode {
	CGROUP_NONE, /* no usable controller: the caller measures RSS */
	CGROUP_V1,
	CGROUP_V2,
};

struct cgroup_parent;
struct cgroup;

/*
 * Finds a writable memory controller and creates this daemon's parent
 * cgroup. Returns the mode and *out (close with cgroup_parent_close); for
 * CGROUP_NONE, *out is NULL and *why (caller frees) says why.
 * LAMBDAFS_NO_CGROUPS=1 forces CGROUP_NONE.
 */
enum cgroup_mode cgroup_parent_open(struct cgroup_parent **out, char **why);
/* Removes the parent; its children must be freed already. NULL-safe. */
void cgroup_parent_close(struct cgroup_parent *p);
/* The parent's directory (borrowed). */
const char *cgroup_parent_path(const struct cgroup_parent *p);
/* "cgroup-v1", "cgroup-v2" or "rss". */
const char *cgroup_mode_name(enum cgroup_mode mode);

/*
 * Creates the cgroup of one environment (name: [A-Za-z0-9_-]) limited to
 * limit_mb MiB of memory, without swap. Returns 0 and *out (free with
 * cgroup_free), or -errno (logged).
 */
int cgroup_new(struct cgroup_parent *p, const char *name, int limit_mb,
	       struct cgroup **out);
/*
 * cgroup.procs of cg, open for writing (borrowed, O_CLOEXEC): a forked
 * child writes "0" to it to join before it execs.
 */
int cgroup_procs_fd(const struct cgroup *cg);
/* Peak memory use of the cgroup in KiB, or -1 if the kernel lacks it. */
long cgroup_peak_kb(const struct cgroup *cg);
/* How many processes the OOM killer killed in the cgroup (0 if unknown). */
long cgroup_oom_kills(const struct cgroup *cg);
/* SIGKILLs every process still in the cgroup and removes it. NULL-safe. */
void cgroup_free(struct cgroup *cg);

#endif
