/* SPDX-License-Identifier: MIT */
/*
 * config.h - the command line (DESIGN.md §1) parsed into an immutable
 * struct config. Nothing here touches the file system beyond reading
 * the environment.
 */
#ifndef LAMBDAFS_CONFIG_H
#define LAMBDAFS_CONFIG_H

#include "common.h"

enum config_executor {
	EXECUTOR_SUBPROCESS,
	EXECUTOR_DOCKER,
	EXECUTOR_AUTO,
};

struct config_image {
	char *runtime;
	char *ref;
};

struct config {
	char *mountpoint;	  /* absolute path */
	char *state_dir;	  /* absolute path */
	bool foreground;	  /* -f */
	int verbose;		  /* -v, repeatable */
	bool check;		  /* --check */
	enum config_executor executor;
	char *http;		  /* "127.0.0.1:9000", NULL when "off" */
	int max_envs;
	int idle_ttl;
	int history;
	char *docker_network;	  /* "host" | "bridge" */
	struct config_image *images;
	size_t nimages;
	char **fuse_opts;	  /* each -o argument, in order */
	size_t nfuse_opts;
};

enum config_action {
	CONFIG_RUN,
	CONFIG_EXIT_OK,	   /* --help or --version printed */
	CONFIG_EXIT_ERROR, /* bad usage, message printed */
};

/* Parses argv into cfg (zeroed and filled with defaults first). Prints
 * --help/--version and usage errors itself (one line on stderr). */
enum config_action config_parse(struct config *cfg, int argc, char **argv);
/* Frees what config_parse allocated. */
void config_release(struct config *cfg);
const char *config_executor_name(enum config_executor e);

#endif
