/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - the file system an execution environment sees: a private
 * mount namespace whose root is a small tmpfs with read-only binds of the
 * host's /usr, /etc, /bin, /lib*, the function's code at /var/task, its
 * layers merged at /opt, our runtime programs at /var/runtime, its own
 * writable /tmp, a minimal /dev and /proc (as bubblewrap builds it).
 *
 * The plan is computed in the daemon (sandbox_new: allocations, realpath,
 * string building); the forked child only replays it with system calls
 * (sandbox_enter), so it is safe between fork and exec of a threaded
 * process.
 */
#ifndef LAMBDAFS_SANDBOX_H
#define LAMBDAFS_SANDBOX_H

#include "common.h"

/* The paths a function sees inside the namespace. */
#define SANDBOX_TASK_ROOT "/var/task"
#define SANDBOX_OPT "/opt"
#define SANDBOX_RUNTIME_DIR "/var/runtime"
#define SANDBOX_TMP "/tmp"

enum sandbox_mode {
	SANDBOX_NONE,	 /* real host paths, no namespace */
	SANDBOX_MOUNTNS, /* a private mount namespace (root) */
	SANDBOX_USERNS,	 /* user + mount namespace (not root) */
};

/* Host directories to show inside; all absolute. */
struct sandbox_layout {
	const char *task_dir;		/* at /var/task, read-only */
	char *const *layer_dirs;	/* merged at /opt, later wins */
	size_t nlayers;
	const char *tmp_dir;		/* at /tmp, writable */
	const char *runtime_dir;	/* at /var/runtime if it exists; or NULL */
};

struct sandbox;

/*
 * Works out once what this host allows: builds a throw-away sandbox in a
 * child process. Returns the mode to use; for SANDBOX_NONE, *why (caller
 * frees) says why not (LAMBDAFS_NO_NAMESPACES=1 forces it).
 */
enum sandbox_mode sandbox_probe(char **why);
/* "mount-namespace", "user-namespace" or "none". */
const char *sandbox_mode_name(enum sandbox_mode mode);

/*
 * Prepares the plan for one environment. Returns it (free with
 * sandbox_free), or NULL with errno and *why (caller frees) set, e.g. a
 * layer directory that does not exist. mode must not be SANDBOX_NONE.
 */
struct sandbox *sandbox_new(enum sandbox_mode mode,
			    const struct sandbox_layout *layout, char **why);
void sandbox_free(struct sandbox *sb);

/*
 * In a freshly forked child only (async-signal-safe): enters a new
 * namespace, builds the root and pivots into it; the cwd is then "/".
 * Returns 0, or -errno with what (size bytes) naming the failed step.
 */
int sandbox_enter(const struct sandbox *sb, char *what, size_t size);
/* Whether entering needs a user namespace, which a child sharing the
 * daemon's address space (vfork) cannot create. */
bool sandbox_uses_userns(const struct sandbox *sb);

#endif
