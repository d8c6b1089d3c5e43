/* SPDX-License-Identifier: MIT */
/*
 * flog.c - function log files (see flog.h). One write(2) per line on an
 * O_APPEND descriptor: concurrent writers never interleave inside a line,
 * and a reader truncating the file (`: > logs`) only makes the next line
 * start at offset 0.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "flog.h"
#include "log.h"
#include "util.h"

struct flog {
	char *path;
	pthread_mutex_t lock;
	int fd; /* protected by lock */
};

char *flog_path_for(const char *state_dir, const char *name)
{
	return xasprintf("%s/logs/functions/%s.log", state_dir, name);
}

int flog_open(const char *state_dir, const char *name, struct flog **out)
{
	struct flog *l = xcalloc(1, sizeof(*l));
	char *dir = xasprintf("%s/logs/functions", state_dir);
	int r;

	*out = NULL;
	r = util_mkdir_p(dir, 0755);
	free(dir);
	if (r < 0) {
		free(l);
		return r;
	}
	l->path = flog_path_for(state_dir, name);
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (l->fd == -1) {
		r = -errno;
		free(l->path);
		free(l);
		return r;
	}
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return 0;
}

void flog_close(struct flog *l)
{
	if (!l)
		return;
	if (l->fd != -1)
		close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l);
}

const char *flog_path(const struct flog *l)
{
	return l->path;
}

/* Moves a full log aside and starts a new one. Called with l->lock. */
static void rotate_locked(struct flog *l)
{
	struct stat st;
	char *old;
	int fd;

	if (fstat(l->fd, &st) == -1 || st.st_size < FLOG_MAX_BYTES)
		return;
	old = xasprintf("%s.1", l->path);
	if (rename(l->path, old) == -1)
		log_warn("cannot rotate '%s'", l->path);
	free(old);
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_warn("cannot reopen '%s'", l->path);
		return;
	}
	close(l->fd);
	l->fd = fd;
}

static void flog_append(struct flog *l, const char *msg, size_t len,
			bool stamp)
{
	char ts[40];
	char *line;
	size_t i, n = 0;

	if (!l)
		return;
	if (len > FLOG_MAX_LINE) {
		flog_append(l, msg, FLOG_MAX_LINE, stamp);
		flog_append(l, msg + FLOG_MAX_LINE, len - FLOG_MAX_LINE, stamp);
		return;
	}
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	line = xmalloc(40 + len + 2);
	if (stamp) {
		util_format_iso_time(util_now_ms(), ts);
		n = strlen(ts);
		memcpy(line, ts, n);
		line[n++] = ' ';
	}
	for (i = 0; i < len; i++)
		line[n + i] = msg[i] == '\n' ? '\r' : msg[i];
	line[n + len] = '\n';
	pthread_mutex_lock(&l->lock);
	if (write(l->fd, line, n + len + 1) < 0)
		log_warn("cannot append to '%s'", l->path);
	rotate_locked(l);
	pthread_mutex_unlock(&l->lock);
	free(line);
}

void flog_line(struct flog *l, const char *msg, size_t len)
{
	flog_append(l, msg, len, true);
}

void flog_raw(struct flog *l, const char *msg, size_t len)
{
	flog_append(l, msg, len, false);
}

void flog_printf(struct flog *l, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	flog_line(l, msg, (size_t)n);
	free(msg);
}
