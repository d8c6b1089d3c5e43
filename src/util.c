/* SPDX-License-Identifier: MIT */
/*
 * util.c - see util.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "log.h"
#include "util.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatalx("out of memory allocating %zu bytes", n);
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (!p)
		fatalx("out of memory allocating %zu bytes", n * m);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		fatalx("out of memory allocating %zu bytes", n);
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		fatalx("out of memory duplicating a string");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatalx("out of memory formatting a string");
	return p;
}

static bool is_name(const char *s, size_t max)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool util_is_function_name(const char *s)
{
	return is_name(s, 64);
}

bool util_is_layer_name(const char *s)
{
	return is_name(s, 140);
}

int util_mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	char *s;
	int r = 0;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			r = -errno;
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, mode) == -1 && errno != EEXIST)
		r = -errno;
out:
	free(p);
	return r;
}

int util_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd == -1)
		return -errno;
	if (fsync(fd) == -1)
		r = -errno;
	close(fd);
	return r;
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
			return -errno;
		return 0;
	}
	fd = openat(dfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	/* Unpacked trees may hold read-only directories. */
	fchmod(fd, 0700);
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = rm_rf_at(dirfd(d), de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) == -1 &&
	    errno != ENOENT)
		r = -errno;
	return r;
}

int util_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

char *util_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	ssize_t n;

	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto fail;
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	p[got] = '\0';
	if (len)
		*len = got;
	close(fd);
	return p;
fail:
	n = errno;
	close(fd);
	free(p);
	errno = (int)n;
	return NULL;
}

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void format_time(int64_t ms, char out[40], const char *zone)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%.5s",
		 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000), zone);
}

void util_format_aws_time(int64_t ms, char out[40])
{
	format_time(ms, out, "+0000");
}

void util_format_iso_time(int64_t ms, char out[40])
{
	format_time(ms, out, "Z");
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int util_json_scan(const char *p, size_t n, size_t *end)
{
	size_t i = 0;
	int depth = 0;
	bool in_str = false, esc = false;

	while (i < n && is_ws(p[i]))
		i++;
	if (i == n)
		return 0;
	switch (p[i]) {
	case '{':
	case '[':
	case '"':
		break;
	default:
		if (p[i] == '-' || (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == 't' || p[i] == 'f' || p[i] == 'n') {
			/* A scalar ends at whitespace or a delimiter; at the
			 * end of the input it may still grow. */
			for (; i < n; i++) {
				if (is_ws(p[i]) || p[i] == '{' || p[i] == '[' ||
				    p[i] == '"') {
					*end = i;
					return 1;
				}
			}
			return 0;
		}
		return -1;
	}
	for (; i < n; i++) {
		char c = p[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"') {
				in_str = false;
				if (depth == 0) {
					*end = i + 1;
					return 1;
				}
			}
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth <= 0) {
				*end = i + 1;
				return depth < 0 ? -1 : 1;
			}
		}
	}
	return 0;
}

void util_uuid(char out[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n <= 0)
			fatal("getrandom");
		got += n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

char *util_json_pretty(const struct json_t *j, size_t *len)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	char *out;
	size_t n;

	if (!text) {
		errno = ENOMEM;
		return NULL;
	}
	n = strlen(text);
	out = xmalloc(n + 2);
	memcpy(out, text, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(text);
	if (len)
		*len = n + 1;
	return out;
}

void util_signals_block(sigset_t *saved)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, saved);
}

void util_signals_restore(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

int util_cond_wait_ns(pthread_cond_t *cond, pthread_mutex_t *mutex,
		      int64_t ns)
{
	struct timespec ts;

	if (ns < 0)
		ns = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000);
	ts.tv_nsec += (long)(ns % 1000000000);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(cond, mutex, &ts);
}

char *util_error_json(const char *type, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL, *out;
	json_t *j;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	j = json_pack("{s:s, s:s}", "errorMessage", msg ? msg : "",
		      "errorType", type);
	out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(msg);
	return out;
}

#define WRITEBACK_STRETCH (8 << 20)

void util_start_writeback(int fd, int64_t off, size_t len)
{
	int64_t from = off / WRITEBACK_STRETCH, to = (off + (int64_t)len) /
						       WRITEBACK_STRETCH;

	if (to > from)
		(void)sync_file_range(fd, from * WRITEBACK_STRETCH,
				      (to - from) * WRITEBACK_STRETCH,
				      SYNC_FILE_RANGE_WRITE);
}
