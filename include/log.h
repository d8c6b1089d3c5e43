/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon log: one line per event on stderr (or a file once
 * daemonized), "lambdafs[pid]: LEVEL message". Functions keep errno.
 * log_warn appends strerror(errno), log_warnx does not (relayd, tmux).
 * Untrusted strings are escaped with log_escape() by the caller.
 */
#ifndef LAMBDAFS_LOG_H
#define LAMBDAFS_LOG_H

#include "common.h"

/* Sets the program name and verbosity (0 info, 1 debug). Not thread-safe. */
void log_init(const char *progname, int verbose);
/* Sends further output to fd (dup'd); -1 goes back to stderr. */
void log_set_fd(int fd);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void fatalx(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

#endif
