/* SPDX-License-Identifier: MIT */
/*
 * main.c - start-up order and shutdown in reverse; no logic here.
 *   parse the command line -> log -> libraries -> registry (state dir,
 *   lock, store) -> mount and serve -> close everything.
 */
#include <malloc.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common.h"
#include "config.h"
#include "docker.h"
#include "bundle.h"
#include "cgroup.h"
#include "fs.h"
#include "http.h"
#include "invoke.h"
#include "log.h"
#include "rapi.h"
#include "registry.h"
#include "sandbox.h"
#include "store.h"
#include "util.h"

static const char *host_arch(void)
{
	struct utsname u;

	if (uname(&u) == 0 && (!strcmp(u.machine, "aarch64") ||
			       !strcmp(u.machine, "arm64")))
		return "arm64";
	return "x86_64";
}

static int print_check(const struct config *cfg);

struct start_params {
	struct invoker_params p;
	struct invoker *iv; /* set by start_invoker */
	struct http *http;  /* bound before mounting; NULL with --http off */
	const char *executor;
};

/* fs_main's ready hook: the invoker's and the HTTP API's threads must
 * start after the daemonizing fork. */
static struct invoker *start_invoker(void *arg)
{
	struct start_params *sp = arg;
	int r;

	/* the daemon's own log (after daemonizing): program and libraries */
	log_info("lambdafs %s: fuse %s, sqlite %s, %s, jansson %s, "
		 "libmicrohttpd %s",
		 LAMBDAFS_VERSION, fs_fuse_version(), store_sqlite_version(),
		 bundle_version(), JANSSON_VERSION, rapi_mhd_version());
	r = invoker_start(&sp->p, &sp->iv);

	if (r < 0) {
		log_warnx("cannot start the invoker: %s", strerror(-r));
		return NULL;
	}
	if (sp->http) {
		struct http_params hp = {
			.reg = sp->p.reg,
			.iv = sp->iv,
			.executor = sp->executor,
			.on_change = fs_note_function,
		};

		if (http_start(sp->http, &hp) < 0)
			return NULL;
		fs_set_http(http_address(sp->http));
	}
	return sp->iv;
}

int main(int argc, char **argv)
{
	struct registry_params rp;
	struct registry *reg = NULL;
	struct start_params sp = { 0 };
	struct config cfg;
	char *cause = NULL;
	int status = 1, r;

	switch (config_parse(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK:
		config_release(&cfg);
		return 0;
	case CONFIG_EXIT_ERROR:
		config_release(&cfg);
		return 1;
	case CONFIG_RUN:
	default:
		break;
	}
	log_init("lambdafs", cfg.verbose);
	/*
	 * libfuse starts up to 64 worker threads under load; glibc gives
	 * each its own malloc arena, which keeps its pages after the thread
	 * exits. Two arenas keep the idle daemon small.
	 */
	mallopt(M_ARENA_MAX, 2);
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0)
		fatalx("cannot initialise libcurl");
	if (cfg.check) {
		status = print_check(&cfg);
		goto out;
	}
	/* Start-up errors are one plain line on stderr (no log prefix). */
	if (fs_check_mountpoint(cfg.mountpoint, &cause) < 0) {
		fprintf(stderr, "lambdafs: %s\n", cause);
		goto out;
	}
	/* the port before anything else: a busy one is one line, exit 1 */
	if (cfg.http) {
		r = http_bind(cfg.http, &sp.http, &cause);
		if (r < 0) {
			fprintf(stderr, "lambdafs: %s\n", cause);
			goto out;
		}
	}
	rp.state_dir = cfg.state_dir;
	rp.architecture = host_arch();
	r = registry_open(&rp, &reg, &cause);
	if (r < 0) {
		fprintf(stderr, "lambdafs: %s\n", cause ? cause : strerror(-r));
		goto out;
	}
	/*
	 * A shell starts background jobs with SIGINT ignored, and libfuse
	 * only installs its handlers over SIG_DFL: make SIGINT and SIGTERM
	 * unmount cleanly however we were started. (SIGHUP is left alone
	 * so nohup keeps working.)
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sp.executor = config_executor_name(cfg.executor);
	sp.p.reg = reg;
	sp.p.state_dir = cfg.state_dir;
	sp.p.max_envs = cfg.max_envs;
	sp.p.idle_ttl = cfg.idle_ttl;
	sp.p.history = cfg.history;
	sp.p.executor = (int)cfg.executor;
	sp.p.images = cfg.images;
	sp.p.nimages = cfg.nimages;
	sp.p.docker_network = cfg.docker_network;
	sp.p.on_log = fs_note_log;
	status = fs_main(reg, &cfg, start_invoker, &sp);
out:
	/* HTTP first: its invocations end before the invoker goes away */
	http_stop(sp.http);
	invoker_stop(sp.iv);
	free(cause);
	registry_close(reg);
	curl_global_cleanup();
	config_release(&cfg);
	return status;
}

static int print_check(const struct config *cfg)
{
	static const char *const probes[][2] = {
		{ "python3", "/usr/bin/python3" },
		{ "node", "/usr/bin/node" },
		{ "fusermount3", "/usr/bin/fusermount3" },
		{ "/dev/fuse", "/dev/fuse" },
		{ "user namespaces", "/proc/self/ns/user" },
	};
	struct cgroup_parent *parent;
	enum sandbox_mode mode;
	enum cgroup_mode cg;
	char *why = NULL;
	size_t i;

	printf("lambdafs %s\n", LAMBDAFS_VERSION);
	printf("state dir: %s\n", cfg->state_dir);
	printf("executor: %s\n", config_executor_name(cfg->executor));
	printf("architecture: %s\n", host_arch());
	for (i = 0; i < ARRAY_SIZE(probes); i++)
		printf("%-16s %s (%s)\n", probes[i][0],
		       access(probes[i][1], F_OK) == 0 ? "found" : "missing",
		       probes[i][1]);
	/* the same probes the invoker runs at start */
	mode = sandbox_probe(&why);
	printf("%-16s %s%s%s%s\n", "isolation", sandbox_mode_name(mode),
	       why ? " (" : "", why ? why : "", why ? ")" : "");
	free(why);
	why = NULL;
	cg = cgroup_parent_open(&parent, &why);
	printf("%-16s %s (%s)\n", "memory", cgroup_mode_name(cg),
	       why ? why : cgroup_parent_path(parent));
	cgroup_parent_close(parent);
	free(why);
	{
		/* the real thing: connect and negotiate, as invocations do */
		const char *host = getenv("DOCKER_HOST");
		struct docker *d = NULL;
		int r = docker_open(NULL, &d);

		if (!host || !*host)
			host = "unix:///var/run/docker.sock";
		if (r == 0)
			printf("%-16s reachable (%s, API %s)\n", "docker", host,
			       docker_api_version(d));
		else
			printf("%-16s not reachable (%s: %s)\n", "docker", host,
			       strerror(-r));
		docker_close(d);
	}
	return 0;
}
