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

void flog_tap_init(struct flog_tap *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void flog_tap_destroy(struct flog_tap *t)
{
	free(t->data);
	t->data = NULL;
	pthread_mutex_destroy(&t->lock);
}

void flog_tap_arm(struct flog_tap *t)
{
	pthread_mutex_lock(&t->lock);
	t->armed = true;
	t->len = 0;
	pthread_mutex_unlock(&t->lock);
}

char *flog_tap_take(struct flog_tap *t, size_t *len)
{
	char *out;

	pthread_mutex_lock(&t->lock);
	t->armed = false;
	out = t->data;
	*len = t->len;
	t->data = NULL;
	t->len = 0;
	pthread_mutex_unlock(&t->lock);
	return out;
}

/* Appends one complete line, keeping the newest FLOG_TAP_MAX bytes. */
static void tap_add(struct flog_tap *t, const char *line, size_t n)
{
	pthread_mutex_lock(&t->lock);
	if (!t->armed)
		goto out;
	if (n > FLOG_TAP_MAX) {
		line += n - FLOG_TAP_MAX;
		n = FLOG_TAP_MAX;
	}
	if (!t->data)
		t->data = xmalloc(FLOG_TAP_MAX + 1);
	if (t->len + n > FLOG_TAP_MAX) {
		/* drop whole lines from the front until the new one fits */
		size_t drop = t->len + n - FLOG_TAP_MAX;
		const char *nl = memchr(t->data + drop - 1, '\n',
					t->len - (drop - 1));

		drop = nl ? (size_t)(nl - t->data) + 1 : t->len;
		memmove(t->data, t->data + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->data + t->len, line, n);
	t->len += n;
	t->data[t->len] = '\0';
out:
	pthread_mutex_unlock(&t->lock);
}

void flog_write(struct flog *l, struct flog_tap *tap, const char *msg,
		size_t len, bool raw)
{
	char ts[40];
	char *line;
	size_t i, n = 0;

	if (len > FLOG_MAX_LINE) {
		flog_write(l, tap, msg, FLOG_MAX_LINE, raw);
		flog_write(l, tap, msg + FLOG_MAX_LINE, len - FLOG_MAX_LINE,
			   raw);
		return;
	}
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	line = xmalloc(40 + len + 2);
	if (!raw) {
		util_format_iso_time(util_now_ms(), ts);
		n = strlen(ts);
		memcpy(line, ts, n);
		line[n++] = ' ';
	}
	for (i = 0; i < len; i++)
		line[n + i] = msg[i] == '\n' ? '\r' : msg[i];
	line[n + len] = '\n';
	if (tap)
		tap_add(tap, line, n + len + 1);
	if (l) {
		pthread_mutex_lock(&l->lock);
		if (write(l->fd, line, n + len + 1) < 0)
			log_warn("cannot append to '%s'", l->path);
		rotate_locked(l);
		pthread_mutex_unlock(&l->lock);
	}
	free(line);
}

static void flog_vprintf(struct flog *l, struct flog_tap *tap,
			 const char *fmt, va_list ap)
{
	char *msg;
	int n;

	n = vasprintf(&msg, fmt, ap);
	if (n < 0)
		return;
	flog_write(l, tap, msg, (size_t)n, false);
	free(msg);
}

void flog_tap_printf(struct flog *l, struct flog_tap *tap, const char *fmt,
		     ...)
{
	va_list ap;

	va_start(ap, fmt);
	flog_vprintf(l, tap, fmt, ap);
	va_end(ap);
}

void flog_line(struct flog *l, const char *msg, size_t len)
{
	flog_write(l, NULL, msg, len, false);
}

void flog_raw(struct flog *l, const char *msg, size_t len)
{
	flog_write(l, NULL, msg, len, true);
}

void flog_printf(struct flog *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	flog_vprintf(l, NULL, fmt, ap);
	va_end(ap);
}
