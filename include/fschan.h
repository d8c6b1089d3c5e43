/* SPDX-License-Identifier: MIT */
/*
 * fschan.h - the /dev/fuse channel of the mount, with one addition to
 * what libfuse 3.14 sends: FOPEN_PARALLEL_DIRECT_WRITES on chosen opens.
 *
 * Without that flag the kernel holds the inode lock across every
 * direct_io write, so all writers of one invoke file would run one at a
 * time; libfuse gained a way to set it only in 3.15
 * (fuse_file_info.parallel_direct_writes). This shim reads requests and
 * writes replies on libfuse's behalf (fuse_session_custom_io), notes
 * which requests are opens, and sets the flag in their replies when the
 * caller's predicate accepts the file handle. Everything else passes
 * through untouched. Part of the fs face; only fs.c uses it.
 */
#ifndef LAMBDAFS_FSCHAN_H
#define LAMBDAFS_FSCHAN_H

#include "common.h"

struct fuse_session;

/*
 * Takes over the session's device I/O (after fuse_mount). parallel(fh)
 * is called from reply context for every successful direct_io open and
 * must be cheap and thread-safe. Returns 0 or -errno.
 */
int fschan_install(struct fuse_session *se, bool (*parallel)(uint64_t fh));

#endif
