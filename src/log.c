/* SPDX-License-Identifier: MIT */
/*
 * log.c - daemon log. One write(2) per line so concurrent threads never
 * interleave inside a line; errno is preserved across every call.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

static const char *log_prog = "lambdafs";
static int log_verbose;
static int log_fd = 2;

void log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
}

void log_set_fd(int fd)
{
	log_fd = fd < 0 ? 2 : fd;
}

static void log_vwrite(const char *level, int err, const char *fmt,
		       va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d]: %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_prog,
		     (int)getpid(), level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 80)
		n = sizeof(line) - 80;
	if (err)
		n += snprintf(line + n, sizeof(line) - n, ": %s",
			      strerror(err));
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* nowhere left to report it */
	}
}

#define LOG_BODY(level, err)                                \
	do {                                                \
		int saved = errno;                          \
		va_list ap;                                 \
		va_start(ap, fmt);                          \
		log_vwrite(level, err, fmt, ap);            \
		va_end(ap);                                 \
		errno = saved;                              \
	} while (0)

void log_debug(const char *fmt, ...)
{
	if (log_verbose)
		LOG_BODY("debug", 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY("info", 0);
}

void log_warn(const char *fmt, ...)
{
	LOG_BODY("warning", errno);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning", 0);
}

void fatal(const char *fmt, ...)
{
	LOG_BODY("fatal", errno);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}

void bug_fl(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("BUG at %s:%d: %s", file, line, msg);
	abort();
}
