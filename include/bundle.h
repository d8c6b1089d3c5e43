/* SPDX-License-Identifier: MIT */
/*
 * bundle.h - deployment packages: validate a zip and unpack it into a
 * directory. The only module that includes <archive.h>. Pure: bytes in
 * (an fd), tree out (a new directory); it knows nothing of functions,
 * layers or the store.
 *
 * Security rules (DESIGN.md §2 "code.zip and layer.zip"): only the zip
 * format; no absolute paths, no ".." component, no symlink whose target
 * leaves the tree (absolute targets, or relative targets that climb above
 * the root from where the link sits), no hard links, no device, fifo or
 * socket entries; at most lim->max_entries entries; the bytes actually
 * written (not what headers claim) stay under lim->max_unpacked, which
 * also stops zip bombs. Unix modes from the zip are kept (permission bits
 * only: setuid, setgid and sticky are dropped; entries without Unix modes
 * get 0644, directories 0755).
 */
#ifndef LAMBDAFS_BUNDLE_H
#define LAMBDAFS_BUNDLE_H

#include "common.h"

struct bundle_limits {
	uint64_t max_entries;  /* entries in the archive, directories too */
	uint64_t max_unpacked; /* total bytes of regular file data */
	/* optional: once true, the unpack stops with -ECANCELED (checked
	 * at every 1 MiB read of the zip) */
	const _Atomic bool *cancel;
	/* optional: called once every entry is written, before the tree is
	 * synced to disk; returning false stops with -ECANCELED */
	bool (*gate)(void *arg);
	void *gate_arg;
};

/* What the package holds at its root, for runtime/handler inference. */
struct bundle_info {
	uint64_t entries;	  /* entries unpacked */
	uint64_t unpacked_size;   /* bytes of file data written */
	bool has_bootstrap;	  /* regular file or symlink "bootstrap" */
	bool bootstrap_exec;	  /* ... with an x bit */
	bool has_lambda_function_py; /* "lambda_function.py" */
	bool has_index_js;	  /* "index.js" */
	bool has_index_mjs;	  /* "index.mjs" */
	bool has_index_cjs;	  /* "index.cjs" */
	unsigned root_py;	  /* number of *.py files at the root */
	unsigned root_js;	  /* number of *.js, *.mjs, *.cjs at the root */
	char first_py[256];	  /* name of the first root *.py, "" if none */
	char first_js[256];	  /* name of the first root js file, "" if none */
};

/*
 * Validates the zip read from zipfd (from offset 0; the fd is not closed)
 * and unpacks it into dest, which must not exist; its parent must. On
 * success dest holds the tree and every file and directory in it has been
 * fsync'd, info is filled in, and 0 is returned. On failure dest does not
 * exist, *cause is a malloc'd one-line reason for the user (free it) and
 * the result is -EINVAL (not a zip, truncated, unsafe entry),
 * -EFBIG (entry count or unpacked size over the limits), or the -errno of
 * a system call (-ENOSPC, -EIO...). Thread-safe (no shared state).
 */
int bundle_unpack(int zipfd, const char *dest, const struct bundle_limits *lim,
		  struct bundle_info *info, char **cause);

/* The libarchive version string, for the start-up log. */
const char *bundle_version(void);

#endif
