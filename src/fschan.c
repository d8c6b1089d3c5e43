/* SPDX-License-Identifier: MIT */
/*
 * fschan.c - the mount's device channel (see fschan.h).
 *
 * Replies carry no opcode, only the request's unique id, so the reader
 * side remembers the ids of OPEN and CREATE requests and the writer side
 * looks each reply up. Both replies end with a struct fuse_open_out (a
 * CREATE reply puts a struct fuse_entry_out before it), in iov[1], which
 * libfuse builds in its own temporary buffer: patching it in place before
 * writev is safe.
 *
 * The set of open ids is tiny (one entry per open in flight), so a
 * mutex-protected array is enough; it is only searched when non-empty.
 */
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "common.h"
#include "fschan.h"
#include "log.h"

#define FSCHAN_MAX_OPENS 256 /* opens in flight; beyond, no flag (safe) */

static struct {
	pthread_mutex_t lock;
	uint64_t unique[FSCHAN_MAX_OPENS]; /* protected by lock */
	size_t n;			   /* protected by lock */
	atomic_size_t pending;		   /* == n, read without the lock */
	bool (*parallel)(uint64_t fh);
} chan = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void note_open(uint64_t unique)
{
	pthread_mutex_lock(&chan.lock);
	if (chan.n < FSCHAN_MAX_OPENS) {
		chan.unique[chan.n++] = unique;
		atomic_store(&chan.pending, chan.n);
	}
	pthread_mutex_unlock(&chan.lock);
}

/* Removes unique from the set; true if it was there. */
static bool take_open(uint64_t unique)
{
	bool found = false;
	size_t i;

	if (!atomic_load(&chan.pending))
		return false;
	pthread_mutex_lock(&chan.lock);
	for (i = 0; i < chan.n; i++) {
		if (chan.unique[i] == unique) {
			chan.unique[i] = chan.unique[--chan.n];
			atomic_store(&chan.pending, chan.n);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&chan.lock);
	return found;
}

static ssize_t chan_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *in = buf;

	(void)userdata;
	if (n >= (ssize_t)sizeof(*in) &&
	    (in->opcode == FUSE_OPEN || in->opcode == FUSE_CREATE))
		note_open(in->unique);
	return n;
}

static ssize_t chan_writev(int fd, struct iovec *iov, int count,
			   void *userdata)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	struct fuse_open_out *oo;

	(void)userdata;
	if (out->unique && take_open(out->unique) && out->error == 0 &&
	    count >= 2 && iov[1].iov_len >= sizeof(*oo)) {
		oo = (struct fuse_open_out *)((char *)iov[1].iov_base +
					      iov[1].iov_len - sizeof(*oo));
		if ((oo->open_flags & FOPEN_DIRECT_IO) && chan.parallel(oo->fh))
			oo->open_flags |= FOPEN_PARALLEL_DIRECT_WRITES;
	}
	return writev(fd, iov, count);
}

int fschan_install(struct fuse_session *se, bool (*parallel)(uint64_t fh))
{
	static const struct fuse_custom_io io = {
		.read = chan_read,
		.writev = chan_writev,
	};

	chan.parallel = parallel;
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
