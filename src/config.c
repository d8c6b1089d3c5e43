/* SPDX-License-Identifier: MIT */
/*
 * config.c - command line parsing (see config.h). Option table in the
 * spirit of sshfs: every option has one line of help, and --help is
 * generated from the same table so the two cannot drift apart.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "util.h"

enum {
	OPT_STATE_DIR = 256,
	OPT_EXECUTOR,
	OPT_HTTP,
	OPT_MAX_ENVS,
	OPT_IDLE_TTL,
	OPT_HISTORY,
	OPT_IMAGE,
	OPT_DOCKER_NETWORK,
	OPT_CHECK,
	OPT_VERSION,
};

static const struct option config_longopts[] = {
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "executor", required_argument, NULL, OPT_EXECUTOR },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "max-envs", required_argument, NULL, OPT_MAX_ENVS },
	{ "idle-ttl", required_argument, NULL, OPT_IDLE_TTL },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "docker-network", required_argument, NULL, OPT_DOCKER_NETWORK },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char config_usage[] =
	"usage: lambdafs [OPTIONS] MOUNTPOINT\n"
	"       lambdafs --check\n"
	"\n"
	"Mounts AWS Lambda functions as files: a function is a directory;\n"
	"copy a zip to deploy it, edit config.json to configure it.\n"
	"\n"
	"options:\n"
	"  -f                     stay in the foreground (default: daemonize "
	"once mounted)\n"
	"  --state-dir DIR        where functions, layers and logs live\n"
	"                         (default $XDG_STATE_HOME/lambdafs, or\n"
	"                         /var/lib/lambdafs for root)\n"
	"  --executor MODE        subprocess | docker | auto (default "
	"subprocess)\n"
	"  --http ADDR:PORT       Lambda HTTP API address, or \"off\"\n"
	"                         (default 127.0.0.1:9000; port 0: any free\n"
	"                         port, shown in status)\n"
	"  --max-envs N           warm environments per function (default 10)\n"
	"  --idle-ttl SECONDS     idle environment lifetime (default 300)\n"
	"  --history N            invocations kept per function (default 100)\n"
	"  --image RUNTIME=REF    container image for a runtime (repeatable)\n"
	"  --docker-network NET   host (default), bridge, or a bridge network's\n"
	"                         name; the Runtime API then listens on its gateway\n"
	"  -o OPTIONS             FUSE mount options (allow_other, ...)\n"
	"  -v, --verbose          log more (repeat for debug)\n"
	"  --check                print what this host can do and exit\n"
	"  --version              print the version and exit\n"
	"  -h, --help             print this help and exit\n"
	"\n"
	"debugging (environment): LAMBDAFS_NO_NAMESPACES=1 runs functions on\n"
	"real paths instead of /var/task and /opt; LAMBDAFS_NO_CGROUPS=1\n"
	"limits and measures memory by RSS instead of a memory cgroup.\n"
	"\n"
	"example:\n"
	"  lambdafs -f ~/lambda &\n"
	"  mkdir ~/lambda/functions/hello\n"
	"  cp hello.zip ~/lambda/functions/hello/code.zip\n"
	"  cat ~/lambda/functions/hello/config.json\n"
	"  fusermount3 -u ~/lambda\n";

static void config_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void config_error(const char *fmt, ...)
{
	va_list ap;

	fputs("lambdafs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see lambdafs --help)\n", stderr);
}

static bool parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return xstrdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

static char *default_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (geteuid() == 0)
		return xstrdup("/var/lib/lambdafs");
	if (xdg && *xdg == '/')
		return xasprintf("%s/lambdafs", xdg);
	if (home && *home == '/')
		return xasprintf("%s/.local/state/lambdafs", home);
	return xstrdup("/var/lib/lambdafs");
}

const char *config_executor_name(enum config_executor e)
{
	switch (e) {
	case EXECUTOR_SUBPROCESS:
		return "subprocess";
	case EXECUTOR_DOCKER:
		return "docker";
	case EXECUTOR_AUTO:
		return "auto";
	default:
		return "?";
	}
}

static bool valid_http(const char *s)
{
	const char *colon = strrchr(s, ':');
	int port;

	return colon && colon != s && parse_int(colon + 1, 0, 65535, &port);
}

enum config_action config_parse(struct config *cfg, int argc, char **argv)
{
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->executor = EXECUTOR_SUBPROCESS;
	cfg->http = xstrdup("127.0.0.1:9000");
	cfg->max_envs = 10;
	cfg->idle_ttl = 300;
	cfg->history = 100;
	cfg->docker_network = xstrdup("host");

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fvho:", config_longopts,
				NULL)) != -1) {
		switch (c) {
		case 'f':
			cfg->foreground = true;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			fputs(config_usage, stdout);
			return CONFIG_EXIT_OK;
		case 'o':
			cfg->fuse_opts = xrealloc(cfg->fuse_opts,
						  (cfg->nfuse_opts + 1) *
							  sizeof(char *));
			cfg->fuse_opts[cfg->nfuse_opts++] = xstrdup(optarg);
			break;
		case OPT_STATE_DIR:
			free(cfg->state_dir);
			cfg->state_dir = absolute(optarg);
			break;
		case OPT_EXECUTOR:
			if (!strcmp(optarg, "subprocess"))
				cfg->executor = EXECUTOR_SUBPROCESS;
			else if (!strcmp(optarg, "docker"))
				cfg->executor = EXECUTOR_DOCKER;
			else if (!strcmp(optarg, "auto"))
				cfg->executor = EXECUTOR_AUTO;
			else {
				config_error("unknown executor '%s': use "
					     "subprocess, docker or auto",
					     optarg);
				return CONFIG_EXIT_ERROR;
			}
			break;
		case OPT_HTTP:
			free(cfg->http);
			cfg->http = NULL;
			if (strcmp(optarg, "off")) {
				if (!valid_http(optarg)) {
					config_error("bad --http address '%s': "
						     "use ADDR:PORT or off",
						     optarg);
					return CONFIG_EXIT_ERROR;
				}
				cfg->http = xstrdup(optarg);
			}
			break;
		case OPT_MAX_ENVS:
			if (!parse_int(optarg, 1, 1000, &cfg->max_envs)) {
				config_error("bad --max-envs '%s': use 1 to "
					     "1000", optarg);
				return CONFIG_EXIT_ERROR;
			}
			break;
		case OPT_IDLE_TTL:
			if (!parse_int(optarg, 0, 86400, &cfg->idle_ttl)) {
				config_error("bad --idle-ttl '%s': use 0 to "
					     "86400 seconds", optarg);
				return CONFIG_EXIT_ERROR;
			}
			break;
		case OPT_HISTORY:
			if (!parse_int(optarg, 0, 100000, &cfg->history)) {
				config_error("bad --history '%s': use 0 to "
					     "100000", optarg);
				return CONFIG_EXIT_ERROR;
			}
			break;
		case OPT_IMAGE: {
			const char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || !eq[1]) {
				config_error("bad --image '%s': use "
					     "RUNTIME=REF", optarg);
				return CONFIG_EXIT_ERROR;
			}
			cfg->images = xrealloc(cfg->images,
					       (cfg->nimages + 1) *
						       sizeof(*cfg->images));
			cfg->images[cfg->nimages].runtime =
				strndup(optarg, eq - optarg);
			cfg->images[cfg->nimages].ref = xstrdup(eq + 1);
			cfg->nimages++;
			break;
		}
		case OPT_DOCKER_NETWORK:
			if (!strcmp(optarg, "none") ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789_.-") != strlen(optarg) ||
			    !isalnum((unsigned char)optarg[0])) {
				config_error("bad --docker-network '%s': use "
					     "host, bridge or the name of a "
					     "bridge network (none: the "
					     "runtime could not reach its "
					     "Runtime API)",
					     optarg);
				return CONFIG_EXIT_ERROR;
			}
			free(cfg->docker_network);
			cfg->docker_network = xstrdup(optarg);
			break;
		case OPT_CHECK:
			cfg->check = true;
			break;
		case OPT_VERSION:
			printf("lambdafs %s\n", LAMBDAFS_VERSION);
			return CONFIG_EXIT_OK;
		case ':':
			config_error("option '%s' needs an argument",
				     argv[optind - 1]);
			return CONFIG_EXIT_ERROR;
		case '?':
		default:
			if (optopt)
				config_error("unknown option '-%c'", optopt);
			else
				config_error("unknown option '%s'",
					     argv[optind - 1]);
			return CONFIG_EXIT_ERROR;
		}
	}
	if (!cfg->state_dir)
		cfg->state_dir = default_state_dir();
	if (cfg->check)
		return CONFIG_RUN;
	if (optind >= argc) {
		config_error("missing MOUNTPOINT");
		return CONFIG_EXIT_ERROR;
	}
	if (optind + 1 < argc) {
		config_error("unexpected argument '%s'", argv[optind + 1]);
		return CONFIG_EXIT_ERROR;
	}
	cfg->mountpoint = absolute(argv[optind]);
	return CONFIG_RUN;
}

void config_release(struct config *cfg)
{
	size_t i;

	free(cfg->mountpoint);
	free(cfg->state_dir);
	free(cfg->http);
	free(cfg->docker_network);
	for (i = 0; i < cfg->nimages; i++) {
		free(cfg->images[i].runtime);
		free(cfg->images[i].ref);
	}
	free(cfg->images);
	for (i = 0; i < cfg->nfuse_opts; i++)
		free(cfg->fuse_opts[i]);
	free(cfg->fuse_opts);
	memset(cfg, 0, sizeof(*cfg));
}
