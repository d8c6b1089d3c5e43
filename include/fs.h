/* SPDX-License-Identifier: MIT */
/*
 * fs.h - the file system face (DESIGN.md §2): struct fuse_operations and
 * path dispatch. Calls the registry; never the store or libarchive.
 */
#ifndef LAMBDAFS_FS_H
#define LAMBDAFS_FS_H

#include "common.h"

struct config;
struct invoker;
struct registry;

/*
 * Mounts cfg->mountpoint and serves requests until it is unmounted
 * (fusermount3 -u) or SIGINT/SIGTERM/SIGHUP arrives; daemonizes after
 * mounting unless cfg->foreground, then calls ready(). Returns the process exit status:
 * 0 after a clean unmount, 1 when mounting failed (message logged).
 */
/* Called once mounted and daemonized, before serving; returns the
 * invoker the file system uses, or NULL to give up (message logged). */
typedef struct invoker *(*fs_ready_fn)(void *arg);

int fs_main(struct registry *reg, const struct config *cfg,
	    fs_ready_fn ready, void *arg);

/* Checks that mnt is an existing, empty directory. On failure returns -1
 * and sets *cause (free it) to one line for the user. */
int fs_check_mountpoint(const char *mnt, char **cause);

/* Tells the kernel a function's log grew (invoke.h's on_log hook). */
void fs_note_log(const char *name, void *arg);
/* Tells the kernel a function was created, changed or deleted by the
 * other face (http.h's on_change hook). */
void fs_note_function(const char *name, void *arg);
/* The address the HTTP API listens on, for status (borrowed: it must
 * outlive the mount); NULL while it does not listen. */
void fs_set_http(const char *address);

/* "3.14.0" */
const char *fs_fuse_version(void);

#endif
