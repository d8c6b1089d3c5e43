/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the core: functions and layers, their configuration and
 * their code. Both faces (fs.c, http.c) call this module and nothing
 * below it, so validation and semantics exist once (DESIGN.md §8).
 *
 * State lives in three places, written in this order so that a crash at
 * any point leaves either the old or the new state visible, never half:
 *   1. blobs/<sha256>.zip     the deployment package, content addressed
 *   2. tree/<sha256>/         the package unpacked (bundle.c), shared by
 *                              every function and layer with that zip
 *   3. lambdafs.db            the rows that point at 1 and 2 (store.c)
 * Files of 1 and 2 are complete (fsync + rename) before 3 names them;
 * anything not named by 3 is garbage, collected at start-up.
 *
 * Locking: one mutex (reg->lock) covers the in-memory tables. No I/O
 * that can take long (hashing, unpacking) happens under it; the store
 * (sqlite) is written under it so memory and disk change together.
 * Lock order: registry -> instance -> invoke.
 *
 * Snapshots: lookups copy what the caller needs into caller-owned structs
 * or malloc'd strings, so no reference into the tables escapes the lock.
 */
#ifndef LAMBDAFS_REGISTRY_H
#define LAMBDAFS_REGISTRY_H

#include "common.h"

struct registry;

struct registry_params {
	const char *state_dir;	/* absolute */
	const char *architecture; /* "x86_64" | "arm64" */
};

/* A snapshot of one function. */
struct function_info {
	char name[65];
	bool has_code;
	char digest[65];	/* hex SHA-256 of code.zip; "" if none */
	int64_t code_size;
	int64_t created_ms;
	int64_t modified_ms;	/* LastModified */
	int64_t code_mtime_ms;	/* last successful deploy */
	size_t nlayers;
};

/* A snapshot of one layer version. */
struct layer_version_info {
	int64_t version;
	char digest[65];
	int64_t size;
	int64_t created_ms;
};

/*
 * Opens the state directory (creating it), takes its lock (a second
 * daemon gets -EBUSY with a cause naming the holder's pid), opens the
 * store, loads everything and removes garbage from interrupted deploys.
 * Caller owns *out (registry_close). On failure sets *cause (free it).
 */
int registry_open(const struct registry_params *p, struct registry **out,
		  char **cause);
void registry_close(struct registry *reg);
/* Rewrites the pid in the state directory's lock file (after fork). */
void registry_note_pid(struct registry *reg);

/* Counts for the status file. */
void registry_counts(struct registry *reg, size_t *functions, size_t *layers);

/* --- functions --- */

/* -EINVAL bad name, -EEXIST exists, -ENOSPC/-EIO from the store. */
int registry_function_create(struct registry *reg, const char *name);
/* -ENOENT. Its code stays on disk while other users of the digest exist. */
int registry_function_delete(struct registry *reg, const char *name);
/* Fills *out. -ENOENT. */
int registry_function_stat(struct registry *reg, const char *name,
			   struct function_info *out);
typedef void (*registry_function_fn)(const struct function_info *fi,
				     void *arg);
/* Calls fn for every function in name order, without the lock held
 * (on a snapshot). Returns the number of functions. */
size_t registry_function_foreach(struct registry *reg,
				 registry_function_fn fn, void *arg);
/* Mtime of functions/ (last create or delete), ms. */
int64_t registry_functions_mtime(struct registry *reg);

/* config.json: the rendered FunctionConfiguration, pretty-printed, with a
 * trailing newline. Caller frees. NULL with errno ENOENT if absent. */
char *registry_function_config(struct registry *reg, const char *name,
			       size_t *len);
/*
 * Applies a config.json write (UpdateFunctionConfiguration semantics).
 * On -EINVAL the previous configuration stays in force, and
 * LastUpdateStatus becomes Failed with the reason (also in *cause).
 */
int registry_function_configure(struct registry *reg, const char *name,
				const char *json, size_t len, char **cause);
/*
 * Deploys the zip readable from fd (any offset; read with pread). On
 * success new invocations use the new code. On failure (-EINVAL bad
 * zip or runtime not inferable, -EFBIG too large, -ENOSPC, -EIO) the
 * old code stays, LastUpdateStatus is Failed with the reason, *cause set.
 */
int registry_function_deploy(struct registry *reg, const char *name, int fd,
			     char **cause);
/* Path of the deployed zip (caller frees); NULL/ENOENT without code. */
char *registry_function_zip_path(struct registry *reg, const char *name);
/* Path of the unpacked code (caller frees); NULL/ENOENT without code. */
char *registry_function_code_dir(struct registry *reg, const char *name);
/*
 * The unpacked trees of the function's layers, in the order listed
 * (later wins). *dirs is a malloc'd array of malloc'd strings; free with
 * registry_free_strv. Returns the count or -errno.
 */
int registry_function_layer_dirs(struct registry *reg, const char *name,
				 char ***dirs);
void registry_free_strv(char **v, size_t n);

/* What it takes to run a function, copied out of the tables. */
struct function_exec {
	char *name;
	char *arn;
	char *runtime;	   /* NULL if unset */
	char *handler;	   /* NULL if unset */
	char *code_dir;	   /* unpacked code; NULL without code */
	char **layer_dirs; /* unpacked layers in order (later wins) */
	size_t nlayers;
	char **env;	   /* the function's variables, "KEY=value" */
	size_t nenv;
	int timeout_s;
	int memory_mb;
	int reserved;	   /* ReservedConcurrentExecutions, -1 unset */
	char revision[37]; /* changes with every deploy or config change */
	bool is_image;	   /* PackageType Image */
	char *image_uri;   /* ImageUri, NULL unset */
	char **entrypoint; /* ImageConfig.EntryPoint, NULL-terminated; NULL */
	char **command;	   /* ImageConfig.Command, likewise */
	char *workdir;	   /* ImageConfig.WorkingDirectory or NULL */
	char *executor;	   /* Tags["lambdafs:executor"] or NULL */
};

/* Fills *out (release with registry_function_exec_release). -ENOENT. */
int registry_function_exec(struct registry *reg, const char *name,
			   struct function_exec *out);
void registry_function_exec_release(struct function_exec *fe);
/* The state directory (for logs). */
const char *registry_state_dir(struct registry *reg);

/* --- layers --- */

int registry_layer_create(struct registry *reg, const char *name);
/* -ENOTEMPTY while versions are listed. */
int registry_layer_delete(struct registry *reg, const char *name);
/* -ENOENT if absent. *latest = newest listed version, 0 if none. */
int registry_layer_stat(struct registry *reg, const char *name,
			int64_t *created_ms, int64_t *latest);
typedef void (*registry_layer_fn)(const char *name, void *arg);
size_t registry_layer_foreach(struct registry *reg, registry_layer_fn fn,
			      void *arg);
/* Listed versions of a layer, oldest first: malloc'd array (free it),
 * count returned, or -ENOENT. */
int registry_layer_versions(struct registry *reg, const char *name,
			    struct layer_version_info **out);
/* Publishes the zip in fd as version N+1. Same errors as deploy. */
int registry_layer_publish(struct registry *reg, const char *name, int fd,
			   int64_t *version, char **cause);
/* Removes a version from listings; functions that use it keep it. */
int registry_layer_version_delete(struct registry *reg, const char *name,
				  int64_t version);
/* GetLayerVersion JSON, pretty, trailing newline; NULL/ENOENT. */
char *registry_layer_version_json(struct registry *reg, const char *name,
				  int64_t version, size_t *len);
/* Unpacked tree / zip path of a listed version; NULL/ENOENT. */
char *registry_layer_version_dir(struct registry *reg, const char *name,
				 int64_t version);
char *registry_layer_version_zip(struct registry *reg, const char *name,
				 int64_t version);

/* Directory for staging uploads (on the state file system). */
const char *registry_tmp_dir(struct registry *reg);

#endif
