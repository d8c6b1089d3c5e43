/* SPDX-License-Identifier: MIT */
/*
 * invoke.c - warm pools and synchronous invocations (see invoke.h).
 *
 * An execution environment ("env") is one runtime process with its own
 * Runtime API server (rapi.c) on its own port. Where the process runs is
 * an executor's business (executor.h): a host process group or a
 * container, chosen per environment by pick_executor (--executor, and in
 * auto mode the function's package type, tag and runtime). invoke.c only
 * starts, stops and measures through it, and reads its output pipe.
 *
 *        env_spawn            first /next           answer posted
 *   (none) ----> STARTING ----------------> BUSY -------------------> IDLE
 *                   |                         ^  invoke_sync takes it    |
 *                   |                         +--------------------------+
 *                   | exit, init error,        | exit, timeout, interrupt
 *                   v timeout                  v
 *                  DEAD <----------------------+   reaper: idle > TTL -> DEAD
 *
 * | transition          | performed by                       |
 * |---------------------|------------------------------------|
 * | none -> STARTING    | pool_take_locked (new env)          |
 * | STARTING -> BUSY    | invoke_sync, once the process runs  |
 * | BUSY -> IDLE        | invoke_sync after a clean answer    |
 * | IDLE -> BUSY        | pool_take_locked                    |
 * | any -> DEAD         | env_kill_locked, reader (exit)      |
 * | DEAD -> freed       | reaper thread / invoker_stop        |
 *
 * Invariants: a BUSY env has exactly one caller in invoke_sync that owns
 * env->cur; a DEAD env is never handed out; envs are freed only by the
 * reaper or at stop, never while a caller references them (env->users).
 *
 * One mutex (iv->lock) covers all pools and envs; one condition variable
 * (iv->cond) is broadcast on every change. Invocations are short and
 * envs few, so this stays simple and fast enough.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cgroup.h"
#include "common.h"
#include "config.h"
#include "executor.h"
#include "flog.h"
#include "history.h"
#include "invoke.h"
#include "log.h"
#include "rapi.h"
#include "registry.h"
#include "sandbox.h"
#include "subproc.h"
#include "util.h"

#define POOL_QUEUE_MAX 256	/* callers waiting for an env, per function */
#define ASYNC_WORKERS 4		/* Events run concurrently */
#define ASYNC_ATTEMPTS 3	/* AWS: the first try and 2 retries */
#define MAX_PAYLOAD (6 * 1024 * 1024)
#define INIT_LIMIT_S 10		/* AWS's limit on a runtime's init phase */

enum env_state { ENV_STARTING, ENV_IDLE, ENV_BUSY, ENV_DEAD };

struct pool;

struct inv {
	char id[37];
	bool done;
	enum rapi_outcome outcome;
	char *body;
	size_t len;
	char *error_type;
};

struct env {
	struct invoker *iv;
	struct pool *pool;
	unsigned id;
	enum env_state state;	/* protected by iv->lock */
	int users;		/* callers holding a pointer */
	struct rapi *rapi;
	uint16_t port;
	char api_addr[16];	/* where the runtime reaches its Runtime API */
	const struct executor *x; /* where it runs; set by env_spawn */
	struct exec_env *xe;	/* the executor's handle, NULL before */
	pid_t pid;
	int pidfd;
	int outfd;		/* read end of the stdout/stderr pipe */
	atomic_bool reading;	/* the reader holds output not yet logged */
	_Atomic int64_t last_read_ns; /* when the reader last got output */
	/* output read but not logged: a line without its newline yet;
	 * the reader's, and drain_output's once the pipe is quiet */
	pthread_mutex_t out_lock;
	char *obuf;		/* FLOG_MAX_LINE bytes */
	size_t oused;
	_Atomic int64_t end_ns;	/* END of the last invocation logged; 0 while
				 * one runs (see drain_output) */
	struct flog_tap tap;	/* the current invocation's log lines */
	pthread_t reader;
	bool reader_started;
	char revision[37];
	int memory_mb;
	int64_t spawned_ns;
	int64_t ready_ns;	/* first /next; 0 before */
	bool init_reported;	/* Init Duration already logged */
	int64_t idle_since_ns;
	struct inv *cur;	/* BUSY: the invocation in flight */
	bool exited;
	int status;		/* waitpid status once exited */
	char *init_error;	/* body of /init/error, if any */
	size_t init_error_len;
	char *tmpdir;
	struct cgroup *cg;	/* memory cgroup, NULL in RSS mode */
	bool oom;		/* RSS mode: killed for going over */
	long watched_kb;	/* RSS mode: largest resident set seen */
	struct env *next;	/* in pool->envs */
};

struct pool {
	char *name;
	struct env *envs;
	int nlive;		/* envs not DEAD */
	int waiting;
	struct flog *log;
	char *latest;		/* latest completed response */
	size_t latest_len;
	struct pool *next;
};

struct invoker {
	struct registry *reg;
	char *state_dir;
	char *runtimes_dir;
	int max_envs;
	int idle_ttl;
	_Atomic int64_t late_ns; /* learned output lag, see drain_output */
	enum config_executor mode;
	struct executor *docker; /* NULL in subprocess mode */
	const struct config_image *images; /* --image, borrowed */
	size_t nimages;
	void (*on_log)(const char *name, void *arg);
	void *on_log_arg;
	enum sandbox_mode sandbox;	/* probed at start */
	char *isolation;		/* for status: mode (reason) */
	struct cgroup_parent *cgroups;	/* NULL: RSS accounting */
	char *memory;			/* for status: mode (reason) */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct history *history;

	/* protected by lock */
	struct pool *pools;
	unsigned next_env_id;
	bool stopping;
	pthread_t reaper;
	bool reaper_started;

	/* the asynchronous queue; protected by lock */
	struct async_item *aq;	/* by not_before, then arrival */
	size_t aq_len;		/* queued + running */
	pthread_cond_t acond;	/* aq changed, or stopping */
	pthread_t async_worker[ASYNC_WORKERS];
	int nasync_workers;
};

/* One queued Event. Its row in the store is the durable copy. */
struct async_item {
	char id[37];
	char *function;
	char *event;
	size_t len;
	int attempts;		/* finished tries */
	int64_t queued_ms;
	int64_t not_before_ns;	/* retry delay */
	struct async_item *next;
};

static void *async_main(void *arg);
static int async_reload_one(const struct history_record *r, void *arg);
static void async_item_free(struct async_item *it);

/* ---------- pools ---------- */
static struct pool *pool_find_locked(struct invoker *iv, const char *name)
{
	struct pool *p;

	for (p = iv->pools; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static struct pool *pool_get_locked(struct invoker *iv, const char *name)
{
	struct pool *p = pool_find_locked(iv, name);

	if (p)
		return p;
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	if (flog_open(iv->state_dir, name, &p->log) < 0)
		log_warn("cannot open the log of '%s'", name);
	p->next = iv->pools;
	iv->pools = p;
	return p;
}

static void inv_free(struct inv *inv)
{
	if (!inv)
		return;
	free(inv->body);
	free(inv->error_type);
	free(inv);
}

/* ---------- Runtime API callbacks (MHD thread) ---------- */

static void env_on_result(void *arg, enum rapi_outcome outcome,
			  const char *request_id, const char *body, size_t len,
			  const char *content_type, const char *error_type)
{
	struct env *e = arg;
	struct invoker *iv = e->iv;

	(void)content_type;
	pthread_mutex_lock(&iv->lock);
	if (outcome == RAPI_INIT_ERROR) {
		free(e->init_error);
		e->init_error = xmalloc(len + 1);
		memcpy(e->init_error, body, len);
		e->init_error[len] = '\0';
		e->init_error_len = len;
	} else if (e->cur && request_id && !strcmp(e->cur->id, request_id) &&
		   !e->cur->done) {
		e->cur->done = true;
		e->cur->outcome = outcome;
		e->cur->body = xmalloc(len + 1);
		memcpy(e->cur->body, body, len);
		e->cur->body[len] = '\0';
		e->cur->len = len;
		e->cur->error_type = error_type ? xstrdup(error_type) : NULL;
	}
	pthread_cond_broadcast(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
}

static void env_on_ready(void *arg, bool first)
{
	struct env *e = arg;
	struct invoker *iv = e->iv;

	pthread_mutex_lock(&iv->lock);
	if (first && !e->ready_ns)
		e->ready_ns = util_mono_ns();
	pthread_cond_broadcast(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
}

static const struct rapi_callbacks env_callbacks = {
	.on_result = env_on_result,
	.on_ready = env_on_ready,
};

/* ---------- output of the runtime -> the function's log ---------- */

/* Node's console lines carry AWS's own timestamp; don't add a second. */
static void log_runtime_line(struct flog *l, struct flog_tap *tap,
			     const char *p, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ\t";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1 && i < n; i++)
		if (shape[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9')
				    : p[i] != shape[i])
			break;
	flog_write(l, tap, p, n, i == sizeof(shape) - 1);
}

/*
 * Output of an executor with lag (docker) that arrives shortly after its
 * invocation's END tells how late output can be: drain_output waits
 * twice that from then on (capped at LATE_MAX), and the figure decays
 * again while output keeps its order. Output much later than END is a
 * background thread's, not lag, and teaches nothing.
 */
#define LATE_MAX (20 * 1000000LL)

static void note_late_output(struct env *e)
{
	int64_t end = atomic_load(&e->end_ns), late, cur;

	if (!end || !e->x || !e->x->ops->output_lag_ns ||
	    util_mono_ns() - end > LATE_MAX)
		return;
	late = 2 * (util_mono_ns() - end + e->x->ops->output_lag_ns);
	if (late > LATE_MAX)
		late = LATE_MAX;
	cur = atomic_load(&e->iv->late_ns);
	while (late > cur &&
	       !atomic_compare_exchange_weak(&e->iv->late_ns, &cur, late))
		;
}

/*
 * Without a memory cgroup, MemorySize is enforced by watching the
 * runtime's resident set (its children are not counted).
 */
static void env_watch_rss(struct env *e)
{
	long kb = subproc_rss_kb(e->pid);
	bool over = kb > (long)e->memory_mb * 1024;

	pthread_mutex_lock(&e->iv->lock);
	if (kb > e->watched_kb)
		e->watched_kb = kb;
	if (over)
		e->oom = true;
	pthread_mutex_unlock(&e->iv->lock);
	if (over)
		subproc_kill(e->pid);
}

static void *env_reader(void *arg)
{
	struct env *e = arg;
	struct invoker *iv = e->iv;
	char *buf = e->obuf;
	struct pollfd pfd[2];
	bool out_open = true, proc_open = e->pidfd >= 0;
	bool watch = !e->cg && e->memory_mb > 0 && e->x == &exec_subproc;
	int64_t last_note = 0, last_watch = 0;

	pfd[0].fd = e->outfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = e->pidfd;
	pfd[1].events = POLLIN;
	while (out_open || proc_open) {
		int n = poll(pfd + (out_open ? 0 : 1),
			     (nfds_t)(out_open + proc_open), watch ? 100 : -1);

		if (watch && util_mono_ns() - last_watch >= 100000000LL) {
			last_watch = util_mono_ns();
			env_watch_rss(e);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0)
			continue; /* the RSS watch's tick */
		if (out_open && pfd[0].revents) {
			size_t used;
			ssize_t r;
			char *nl, *start = buf;

			/* set before the pipe empties: see drain_output */
			atomic_store(&e->reading, true);
			pthread_mutex_lock(&e->out_lock);
			used = e->oused;
			r = read(e->outfd, buf + used, FLOG_MAX_LINE - used);
			if (r <= 0) {
				out_open = false;
				if (used)
					flog_write(e->pool->log, &e->tap, buf,
						   used, false);
				used = 0;
			} else {
				bool logged;

				used += (size_t)r;
				while ((nl = memchr(start, '\n',
						    used - (size_t)(start - buf)))) {
					log_runtime_line(e->pool->log, &e->tap,
							 start,
							 (size_t)(nl - start));
					start = nl + 1;
				}
				logged = start != buf;
				used -= (size_t)(start - buf);
				memmove(buf, start, used);
				if (iv->on_log && logged &&
				    util_mono_ns() - last_note > 50000000LL) {
					last_note = util_mono_ns();
					iv->on_log(e->pool->name, iv->on_log_arg);
				}
				if (used == FLOG_MAX_LINE) {
					flog_write(e->pool->log, &e->tap, buf,
						   used, false);
					used = 0;
				}
			}
			e->oused = used;
			pthread_mutex_unlock(&e->out_lock);
			atomic_store(&e->last_read_ns, util_mono_ns());
			note_late_output(e);
			atomic_store(&e->reading, false);
		}
		if (proc_open && pfd[1].revents) {
			int status = e->x->ops->reap(e->x->ctx, e->xe);

			proc_open = false;
			pthread_mutex_lock(&iv->lock);
			e->exited = true;
			e->status = status;
			if (e->state != ENV_DEAD) {
				e->state = ENV_DEAD;
				e->pool->nlive--;
			}
			pthread_cond_broadcast(&iv->cond);
			pthread_mutex_unlock(&iv->lock);
			/* children of the runtime may hold the pipe open */
			e->x->ops->stop(e->x->ctx, e->xe);
		}
	}
	if (e->pidfd < 0) {
		/* no pidfd: the output closed, so the runtime is gone */
		int status;

		e->x->ops->stop(e->x->ctx, e->xe);
		status = e->x->ops->reap(e->x->ctx, e->xe);
		pthread_mutex_lock(&iv->lock);
		e->exited = true;
		e->status = status;
		if (e->state != ENV_DEAD) {
			e->state = ENV_DEAD;
			e->pool->nlive--;
		}
		pthread_cond_broadcast(&iv->cond);
		pthread_mutex_unlock(&iv->lock);
	}
	return NULL;
}

/* ---------- starting and stopping environments ---------- */

static const char *runtime_family(const char *runtime)
{
	if (!runtime)
		return NULL;
	if (!strncmp(runtime, "python", 6))
		return "python";
	if (!strncmp(runtime, "nodejs", 6))
		return "node";
	if (!strncmp(runtime, "provided", 8))
		return "provided";
	return NULL;
}

static char *find_in_path(const char *prog)
{
	static const char *const dirs[] = { "/usr/local/bin", "/usr/bin",
					    "/bin" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p = xasprintf("%s/%s", dirs[i], prog);

		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/*
 * Paths as the runtime sees them: in the sandbox (code at /var/task,
 * layers merged at /opt) or, without one, the real directories.
 */
struct env_view {
	bool container;		/* docker: the AWS paths inside the image */
	bool isolated;
	const char *task_root;
	const char *runtime_dir;
	const char *tmp_dir;
};

static void env_view_init(struct env_view *v, const struct invoker *iv,
			  const struct env *e, const struct function_exec *fe)
{
	v->container = e->x && e->x != &exec_subproc;
	v->isolated = v->container || iv->sandbox != SANDBOX_NONE;
	v->task_root = v->container   ? "/var/task"
		       : v->isolated ? SANDBOX_TASK_ROOT
				     : fe->code_dir;
	v->runtime_dir = v->container	? "/var/runtime"
			 : v->isolated ? SANDBOX_RUNTIME_DIR
				       : iv->runtimes_dir;
	v->tmp_dir = v->container   ? "/tmp"
		     : v->isolated ? SANDBOX_TMP
				   : e->tmpdir;
}

/*
 * The bootstrap of a provided runtime, searched as AWS does: /var/task,
 * then the last layer that has one (it wins the merged /opt). Returns its
 * host path (malloc'd) and whether it is the code's, or NULL with *why.
 */
static char *find_bootstrap(const struct function_exec *fe, bool *in_code,
			    char **why)
{
	char *p = xasprintf("%s/bootstrap", fe->code_dir);
	size_t i;

	for (i = fe->nlayers; access(p, F_OK) != 0 && i > 0; i--) {
		free(p);
		p = xasprintf("%s/bootstrap", fe->layer_dirs[i - 1]);
	}
	if (access(p, F_OK) != 0) {
		*why = util_error_json("Runtime.InvalidEntrypoint",
				       "Couldn't find valid bootstrap(s): "
				       "[/var/task/bootstrap /opt/bootstrap]");
		free(p);
		return NULL;
	}
	if (access(p, X_OK) != 0) {
		*why = util_error_json("Runtime.InvalidEntrypoint",
				       "bootstrap is not executable: zip it "
				       "with its x bit (chmod +x bootstrap; "
				       "zip ...)");
		free(p);
		return NULL;
	}
	*in_code = i == fe->nlayers;
	return p;
}

/*
 * Works out the program and arguments that run fe, as seen through v.
 * Returns 0, or -ENOEXEC with *why set to an error document naming the
 * fix.
 */
static int env_command(const struct env_view *v,
		       const struct function_exec *fe, char **path,
		       char **arg1, char **why)
{
	const char *family = runtime_family(fe->runtime);
	char *p = NULL;

	*path = *arg1 = NULL;
	if (!fe->code_dir) {
		*why = util_error_json("Runtime.InvalidEntrypoint",
				  "function '%s' has no code: copy a zip to "
				  "functions/%s/code.zip",
				  fe->name, fe->name);
		return -ENOEXEC;
	}
	if (!family) {
		*why = util_error_json("Runtime.Unknown",
				  "runtime '%s' cannot run as a host "
				  "subprocess: use --executor docker, or set "
				  "Runtime to a python3.x, nodejs*.x or "
				  "provided runtime",
				  fe->runtime ? fe->runtime : "(none)");
		return -ENOEXEC;
	}
	if (!strcmp(family, "provided")) {
		bool in_code;

		p = find_bootstrap(fe, &in_code, why);
		if (!p)
			return -ENOEXEC;
		if (v->isolated) {
			free(p);
			p = xstrdup(in_code ? SANDBOX_TASK_ROOT "/bootstrap"
					    : SANDBOX_OPT "/bootstrap");
		}
		*path = p;
		return 0;
	}
	p = find_in_path(!strcmp(family, "python") ? "python3" : "node");
	if (!p) {
		*why = util_error_json("Runtime.Unknown",
				  "runtime '%s' needs %s on this host: "
				  "install it, or use --executor docker",
				  fe->runtime,
				  !strcmp(family, "python") ? "python3"
							    : "node");
		return -ENOEXEC;
	}
	*path = p;
	*arg1 = xasprintf("%s/%s", v->runtime_dir,
			  !strcmp(family, "python") ? "python/bootstrap.py"
						    : "node/bootstrap.mjs");
	return 0;
}

struct envv {
	char **v;
	size_t n, cap;
};

static void envv_add(struct envv *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void envv_add(struct envv *ev, const char *fmt, ...)
{
	va_list ap;
	char *s;
	size_t klen, i;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	/* later wins: platform values override the function's own */
	klen = strcspn(s, "=");
	for (i = 0; i < ev->n; i++) {
		if (!strncmp(ev->v[i], s, klen) && ev->v[i][klen] == '=') {
			free(ev->v[i]);
			ev->v[i] = s;
			return;
		}
	}
	if (ev->n + 2 > ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 64;
		ev->v = xrealloc(ev->v, ev->cap * sizeof(*ev->v));
	}
	ev->v[ev->n++] = s;
	ev->v[ev->n] = NULL;
}

static void envv_free(struct envv *ev)
{
	size_t i;

	for (i = 0; i < ev->n; i++)
		free(ev->v[i]);
	free(ev->v);
}

/* "dirN<suffix>:...:dir1<suffix>": a function's layers, later first. */
static char *join_layer_dirs(const struct function_exec *fe,
			     const char *suffix)
{
	char *joined = xstrdup("");
	size_t i;

	for (i = fe->nlayers; i > 0; i--) {
		char *n = xasprintf("%s%s%s%s", joined, *joined ? ":" : "",
				    fe->layer_dirs[i - 1], suffix);

		free(joined);
		joined = n;
	}
	return joined;
}

/* The major version in "nodejs20.x" (0 if none). */
static int node_major(const char *runtime)
{
	return (int)strtol(runtime + strlen("nodejs"), NULL, 10);
}

/*
 * The complete environment of a runtime (LAMBDA-CONTRACT.md §3): the
 * function's variables first, platform values over them.
 */
static void env_build(const struct env_view *v, const struct env *e,
		      const struct function_exec *fe, struct envv *ev)
{
	const char *family = runtime_family(fe->runtime);
	char day[16], stream[37];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	for (i = 0; i < fe->nenv; i++)
		envv_add(ev, "%s", fe->env[i]);
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y/%m/%d", &tm);
	util_uuid(stream); /* 36 chars; keep the 32 hex digits */
	for (i = 0; stream[i];)
		if (stream[i] == '-')
			memmove(stream + i, stream + i + 1, strlen(stream + i));
		else
			i++;
	if (v->container) {
		/* the AWS layout (LAMBDA-CONTRACT.md §3); an image function's
		 * own PATH and library path stay as its image sets them */
		if (!fe->is_image) {
			envv_add(ev, "PATH=/var/lang/bin:/usr/local/bin:"
				     "/usr/bin/:/bin:/opt/bin");
			envv_add(ev, "LD_LIBRARY_PATH=/var/lang/lib:/lib64:"
				     "/usr/lib64:/var/runtime:/var/runtime/lib:"
				     "/var/task:/var/task/lib:/opt/lib");
		}
	} else if (v->isolated) {
		/* AWS's values (LAMBDA-CONTRACT.md §3) */
		envv_add(ev, "PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin");
		envv_add(ev, "LD_LIBRARY_PATH=/lib64:/usr/lib64:%s:%s/lib:"
			 "%s:%s/lib:/opt/lib", v->runtime_dir, v->runtime_dir,
			 v->task_root, v->task_root);
	} else {
		/* /opt/bin of every layer, later layers first */
		char *bins = join_layer_dirs(fe, "/bin");
		char *libs = join_layer_dirs(fe, "/lib");

		envv_add(ev, "PATH=/usr/local/bin:/usr/bin/:/bin%s%s",
			 *bins ? ":" : "", bins);
		envv_add(ev, "LD_LIBRARY_PATH=/lib64:/usr/lib64:%s:%s/lib%s%s",
			 v->task_root, v->task_root, *libs ? ":" : "", libs);
		free(bins);
		free(libs);
	}
	envv_add(ev, "LANG=en_US.UTF-8");
	envv_add(ev, "TZ=:UTC");
	envv_add(ev, "TMPDIR=%s", v->tmp_dir);
	if (fe->nlayers && !v->isolated) {
		/* Without the sandbox the layers are not at /opt, so the
		 * runtimes get every layer directory explicitly. */
		char *joined = join_layer_dirs(fe, "");

		envv_add(ev, "LAMBDAFS_OPT_DIRS=%s", joined);
		envv_add(ev, "LAMBDAFS_OPT_DIR=%s",
			 fe->layer_dirs[fe->nlayers - 1]);
		free(joined);
	}
	if (family && !strcmp(family, "python")) {
		envv_add(ev, "AWS_EXECUTION_ENV=AWS_Lambda_%s", fe->runtime);
		envv_add(ev, "PYTHONUNBUFFERED=1");
		envv_add(ev, "PYTHONDONTWRITEBYTECODE=1");
		if (v->isolated && !v->container)
			envv_add(ev, "PYTHONPATH=%s", v->runtime_dir);
	} else if (family && !strcmp(family, "node")) {
		envv_add(ev, "AWS_EXECUTION_ENV=AWS_Lambda_%s", fe->runtime);
		if (v->container)
			envv_add(ev, "NODE_PATH=/opt/nodejs/node_modules:"
				     "/var/runtime/node_modules:/var/runtime:"
				     "/var/task");
		else if (v->isolated)
			envv_add(ev, "NODE_PATH=/opt/nodejs/node%d/node_modules:"
				 "/opt/nodejs/node_modules:%s/node_modules",
				 node_major(fe->runtime), v->runtime_dir);
		else
			envv_add(ev, "NODE_PATH=%s%s%s/node_modules",
				 fe->nlayers ? fe->layer_dirs[fe->nlayers - 1]
					     : "",
				 fe->nlayers ? "/nodejs/node_modules:" : "",
				 fe->code_dir);
	}
	/* an image's entrypoint sets _HANDLER from its command */
	if (!fe->is_image)
		envv_add(ev, "_HANDLER=%s", fe->handler ? fe->handler : "");
	envv_add(ev, "LAMBDA_TASK_ROOT=%s", v->task_root);
	envv_add(ev, "LAMBDA_RUNTIME_DIR=%s", v->runtime_dir);
	envv_add(ev, "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", fe->name);
	envv_add(ev, "AWS_LAMBDA_LOG_STREAM_NAME=%s/[$LATEST]%s", day, stream);
	envv_add(ev, "AWS_ACCESS_KEY_ID=test");
	envv_add(ev, "AWS_SECRET_ACCESS_KEY=test");
	envv_add(ev, "AWS_SESSION_TOKEN=test");
	envv_add(ev, "AWS_REGION=" LAMBDAFS_REGION);
	envv_add(ev, "AWS_DEFAULT_REGION=" LAMBDAFS_REGION);
	envv_add(ev, "AWS_LAMBDA_FUNCTION_NAME=%s", fe->name);
	envv_add(ev, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", fe->memory_mb);
	envv_add(ev, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
	envv_add(ev, "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
	envv_add(ev, "AWS_LAMBDA_RUNTIME_API=%s:%u", e->api_addr, e->port);
}

/*
 * The image of a runtime in a container: --image RUNTIME=REF, else AWS's
 * base image public.ecr.aws/lambda/<language>:<version> (python3.12 ->
 * python:3.12, nodejs20.x -> nodejs:20, provided.al2023 ->
 * provided:al2023, java21 -> java:21). Caller frees.
 */
static char *runtime_image(const struct invoker *iv, const char *runtime)
{
	size_t i, n;
	char *ver;

	for (i = 0; i < iv->nimages; i++)
		if (!strcmp(iv->images[i].runtime, runtime))
			return xstrdup(iv->images[i].ref);
	if (!strncmp(runtime, "provided", 8))
		return xasprintf("public.ecr.aws/lambda/provided:%s",
				 runtime[8] == '.' ? runtime + 9 : "alami");
	n = strspn(runtime, "abcdefghijklmnopqrstuvwxyz");
	ver = xstrdup(runtime + n);
	if (strlen(ver) > 2 && !strcmp(ver + strlen(ver) - 2, ".x"))
		ver[strlen(ver) - 2] = '\0';
	{
		char *img = xasprintf("public.ecr.aws/lambda/%.*s:%s", (int)n,
				      runtime, *ver ? ver : "latest");

		free(ver);
		return img;
	}
}

/* What a container runs: the image, and entrypoint/command overrides
 * (NULL = the image's own). Strings borrowed from fe except image. */
struct ctr_cmd {
	char *image;
	const char *const *entrypoint;
	const char *const *cmd;
	const char *workdir;
	const char *one[2];	/* storage for a one-word entrypoint/cmd */
	const char *none[1];	/* an empty command */
};

/*
 * Works out the container of fe (DESIGN.md §3): an Image function runs
 * its ImageUri with its ImageConfig; a zip function the runtime's image
 * with the handler as command (AWS base images' entrypoint takes it), or
 * for provided runtimes the bootstrap as entrypoint. Returns 0, or
 * -ENOEXEC with *why set.
 */
static int container_command(struct invoker *iv,
			     const struct function_exec *fe,
			     struct ctr_cmd *cc, char **why)
{
	const char *family = runtime_family(fe->runtime);
	char *p;

	memset(cc, 0, sizeof(*cc));
	if (fe->is_image && !fe->image_uri) {
		*why = util_error_json("Runtime.InvalidEntrypoint",
				  "function '%s' is PackageType Image but has "
				  "no ImageUri: set it in config.json, e.g. "
				  "{\"ImageUri\": \"my-function:latest\"}",
				  fe->name);
		return -ENOEXEC;
	}
	if (fe->is_image) {
		cc->image = xstrdup(fe->image_uri);
		cc->entrypoint = (const char *const *)fe->entrypoint;
		cc->cmd = (const char *const *)fe->command;
		cc->workdir = fe->workdir;
		return 0;
	}
	if (!fe->code_dir) {
		*why = util_error_json("Runtime.InvalidEntrypoint",
				  "function '%s' has no code: copy a zip to "
				  "functions/%s/code.zip",
				  fe->name, fe->name);
		return -ENOEXEC;
	}
	if (!fe->runtime) {
		*why = util_error_json("Runtime.Unknown",
				  "function '%s' has no Runtime: set it in "
				  "config.json",
				  fe->name);
		return -ENOEXEC;
	}
	cc->image = runtime_image(iv, fe->runtime);
	if (family && !strcmp(family, "provided")) {
		bool in_code;

		/* the same file, bind-mounted: fail as a subprocess would */
		p = find_bootstrap(fe, &in_code, why);
		if (!p) {
			free(cc->image);
			cc->image = NULL;
			return -ENOEXEC;
		}
		free(p);
		cc->one[0] = in_code ? "/var/task/bootstrap" : "/opt/bootstrap";
		cc->entrypoint = cc->one;
		cc->cmd = cc->none;
		return 0;
	}
	cc->one[0] = fe->handler ? fe->handler : "";
	cc->cmd = cc->one;
	return 0;
}

/* Whether this host can run fe as a subprocess. */
static bool host_runs(const struct function_exec *fe)
{
	const char *family = runtime_family(fe->runtime);
	char *p;

	if (fe->is_image || !family)
		return false;
	if (!strcmp(family, "provided"))
		return true;
	p = find_in_path(!strcmp(family, "python") ? "python3" : "node");
	free(p);
	return p != NULL;
}

/*
 * The executor of fe (DESIGN.md §3): the daemon's --executor, or in auto
 * mode docker for Image functions, the tag lambdafs:executor=docker or a
 * runtime the host lacks. Returns 0, or -ENOEXEC with *why set.
 */
static int pick_executor(struct invoker *iv, const struct function_exec *fe,
			 const struct executor **x, char **why)
{
	bool docker;

	switch (iv->mode) {
	case EXECUTOR_DOCKER:
		docker = true;
		break;
	case EXECUTOR_AUTO:
		if (fe->is_image)
			docker = true;
		else if (fe->executor)
			docker = !strcmp(fe->executor, "docker");
		else
			docker = !host_runs(fe);
		break;
	case EXECUTOR_SUBPROCESS:
	default:
		docker = false;
		if (fe->is_image) {
			*why = util_error_json("Runtime.InvalidEntrypoint",
					  "function '%s' is PackageType Image: "
					  "images run in containers; mount "
					  "with --executor docker or auto",
					  fe->name);
			return -ENOEXEC;
		}
		break;
	}
	*x = docker ? iv->docker : &exec_subproc;
	ASSERT(*x);
	return 0;
}

/*
 * Starts an environment for fe: its Runtime API first (clients give up
 * connecting after 1 s), then the process. Called without iv->lock; e is
 * STARTING and owned by the caller. Returns 0 or -errno with *why set.
 */
static int env_spawn(struct invoker *iv, struct env *e,
		     const struct function_exec *fe, char **why)
{
	struct subproc_spec spec;
	struct exec_spec xs = { 0 };
	struct exec_env *xe = NULL;
	struct ctr_cmd cc = { 0 };
	struct env_view view;
	struct envv ev = { 0 };
	struct sandbox *sb = NULL;
	char *path = NULL, *arg1 = NULL, *msg = NULL, *xwhy = NULL;
	char *argv[3];
	int pfd[2] = { -1, -1 };
	int r;

	r = pick_executor(iv, fe, &e->x, why);
	if (r < 0)
		return r;
	e->tmpdir = xasprintf("%s/run/%s/%u/tmp", iv->state_dir, fe->name,
			      e->id);
	env_view_init(&view, iv, e, fe);
	if (view.container)
		r = container_command(iv, fe, &cc, why);
	else
		r = env_command(&view, fe, &path, &arg1, why);
	if (r < 0)
		return r;
	util_rm_rf(e->tmpdir);
	r = util_mkdir_p(e->tmpdir, 0700);
	if (r < 0) {
		*why = util_error_json("Sandbox.Failure", "cannot create /tmp: %s",
				  strerror(-r));
		goto out;
	}
	if (view.isolated && !view.container) {
		struct sandbox_layout l = {
			.task_dir = fe->code_dir,
			.layer_dirs = fe->layer_dirs,
			.nlayers = fe->nlayers,
			.tmp_dir = e->tmpdir,
			.runtime_dir = iv->runtimes_dir,
		};

		sb = sandbox_new(iv->sandbox, &l, &msg);
		if (!sb) {
			*why = util_error_json("Sandbox.Failure", "%s", msg);
			free(msg);
			msg = NULL;
			r = -EIO;
			goto out;
		}
	}
	if (iv->cgroups && !view.container) {
		char name[96];

		/* on failure (logged) the reader watches RSS instead */
		snprintf(name, sizeof(name), "%s-%u", fe->name, e->id);
		(void)cgroup_new(iv->cgroups, name, fe->memory_mb, &e->cg);
	}
	/* 127.0.0.1, or the gateway of a container's network */
	snprintf(e->api_addr, sizeof(e->api_addr), "127.0.0.1");
	if (e->x->ops->api_addr) {
		r = e->x->ops->api_addr(e->x->ctx, e->api_addr, why);
		if (r < 0)
			goto out;
	}
	r = rapi_start_on(&env_callbacks, e, e->api_addr, &e->rapi, &e->port);
	if (r < 0) {
		*why = util_error_json("Sandbox.Failure",
				  "cannot start the Runtime API on %s: %s",
				  e->api_addr, strerror(-r));
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		r = -errno;
		*why = util_error_json("Sandbox.Failure", "pipe: %s", strerror(-r));
		goto out;
	}
	env_build(&view, e, fe, &ev);
	argv[0] = path;
	argv[1] = arg1;
	argv[2] = NULL;
	spec.path = path;
	spec.argv = argv;
	spec.envp = ev.v;
	spec.cwd = view.task_root;
	spec.out_fd = pfd[1];
	spec.sandbox = sb;
	spec.cgroup_fd = cgroup_procs_fd(e->cg);
	xs.fe = fe;
	xs.env_id = e->id;
	xs.proc = &spec;
	xs.image = cc.image;
	xs.entrypoint = cc.entrypoint;
	xs.cmd = cc.cmd;
	xs.workdir = cc.workdir;
	xs.tmp_dir = e->tmpdir;
	e->spawned_ns = util_mono_ns();
	r = e->x->ops->start(e->x->ctx, &xs, &xe, &e->pid, &e->pidfd,
			     &xwhy);
	pthread_mutex_lock(&iv->lock);
	e->xe = xe; /* others look at it under the lock */
	pthread_mutex_unlock(&iv->lock);
	close(pfd[1]);
	pfd[1] = -1;
	if (r < 0 && xwhy) {
		*why = xwhy;
		goto out;
	}
	if (r < 0) {
		/* AWS: "Error: fork/exec /var/task/bootstrap: ..." */
		*why = util_error_json("Runtime.InvalidEntrypoint",
				  "cannot start the runtime: %s", msg);
		r = -ENOEXEC;
		goto out;
	}
	e->outfd = pfd[0];
	pfd[0] = -1;
	{
		sigset_t saved;

		util_signals_block(&saved);
		r = -pthread_create(&e->reader, NULL, env_reader, e);
		util_signals_restore(&saved);
	}
	if (r < 0) {
		e->x->ops->stop(e->x->ctx, e->xe);
		*why = util_error_json("Sandbox.Failure", "pthread_create: %s",
				  strerror(-r));
		goto out;
	}
	e->reader_started = true;
	log_debug("function '%s': environment %u started (%s, pid %d, "
		  "port %u)",
		  fe->name, e->id, e->x->ops->name, (int)e->pid, e->port);
out:
	free(cc.image);
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	envv_free(&ev);
	sandbox_free(sb);
	free(msg);
	free(path);
	free(arg1);
	return r;
}

static void env_kill_locked(struct env *e)
{
	if (e->state != ENV_DEAD) {
		e->state = ENV_DEAD;
		e->pool->nlive--;
	}
	if (e->xe && !e->exited)
		e->x->ops->stop(e->x->ctx, e->xe);
	pthread_cond_broadcast(&e->iv->cond);
}

/* Frees a DEAD env nobody uses. Called without iv->lock. */
static void env_destroy(struct env *e)
{
	if (e->xe && !e->exited)
		e->x->ops->stop(e->x->ctx, e->xe);
	rapi_stop(e->rapi);
	if (e->reader_started)
		pthread_join(e->reader, NULL);
	if (e->xe)
		e->x->ops->release(e->x->ctx, e->xe);
	if (e->outfd > 0)
		close(e->outfd);
	if (e->pidfd > 0)
		close(e->pidfd);
	cgroup_free(e->cg); /* after the reader reaped the runtime */
	if (e->tmpdir) {
		char *dir = xstrdup(e->tmpdir);
		char *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0'; /* run/<fn>/<id> */
		util_rm_rf(dir);
		free(dir);
	}
	inv_free(e->cur);
	free(e->init_error);
	free(e->tmpdir);
	flog_tap_destroy(&e->tap);
	pthread_mutex_destroy(&e->out_lock);
	free(e->obuf);
	free(e);
}

/* Unlinks DEAD, unused envs of every pool into *list. */
static void collect_dead_locked(struct invoker *iv, struct env **list,
				bool expire_idle)
{
	int64_t now = util_mono_ns();
	struct pool *p;
	struct env **pe, *e;

	for (p = iv->pools; p; p = p->next) {
		for (pe = &p->envs; (e = *pe);) {
			if (expire_idle && e->state == ENV_IDLE &&
			    now - e->idle_since_ns >
				    (int64_t)iv->idle_ttl * 1000000000)
				env_kill_locked(e);
			if (e->state == ENV_DEAD && e->users == 0) {
				*pe = e->next;
				e->next = *list;
				*list = e;
			} else {
				pe = &e->next;
			}
		}
	}
}

static void destroy_list(struct env *list)
{
	while (list) {
		struct env *next = list->next;

		env_destroy(list);
		list = next;
	}
}

static void *reaper_main(void *arg)
{
	struct invoker *iv = arg;
	struct env *dead;
	struct timespec ts;

	pthread_mutex_lock(&iv->lock);
	while (!iv->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&iv->cond, &iv->lock, &ts);
		dead = NULL;
		collect_dead_locked(iv, &dead, true);
		if (dead) {
			pthread_mutex_unlock(&iv->lock);
			destroy_list(dead);
			pthread_mutex_lock(&iv->lock);
		}
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

/* ---------- invoking ---------- */

/* Max Memory Used so far, in KiB: the cgroup's peak, else VmHWM. */
static long env_peak_kb(const struct env *e)
{
	long kb;

	if (e->x && e->x != &exec_subproc) {
		/* the container's own cgroup, read by its executor */
		struct exec_usage u = { 0 };

		if (e->xe)
			e->x->ops->measure(e->x->ctx, e->xe, &u);
		return u.peak_kb;
	}
	kb = cgroup_peak_kb(e->cg);

	if (kb < 0)
		kb = e->pid > 0 && !e->exited ? subproc_peak_kb(e->pid) : 0;
	return kb > e->watched_kb ? kb : e->watched_kb;
}

/* Whether the environment went over MemorySize. */
static bool env_oom(const struct env *e)
{
	if (e->x && e->x != &exec_subproc) {
		struct exec_usage u = { 0 };

		if (e->xe)
			e->x->ops->measure(e->x->ctx, e->xe, &u);
		return u.oom;
	}
	return e->oom || cgroup_oom_kills(e->cg) > 0;
}

static bool runtimes_dir_ok(const char *dir)
{
	char *p = xasprintf("%s/python/bootstrap.py", dir);
	bool ok = access(p, R_OK) == 0;

	free(p);
	return ok;
}

/* Bootstrap programs: $LAMBDAFS_RUNTIMES_DIR, the source tree next to a
 * binary in build/, or the installed copy. */
static char *find_runtimes_dir(void)
{
	const char *envdir = getenv("LAMBDAFS_RUNTIMES_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (envdir && *envdir)
		return xstrdup(envdir);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash, *cand;
		int up;

		exe[n] = '\0';
		for (up = 0; up < 3; up++) {
			slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			cand = xasprintf("%s/src/runtimes", exe);
			if (runtimes_dir_ok(cand))
				return cand;
			free(cand);
		}
	}
	return xstrdup(LAMBDAFS_RUNTIMES_DIR);
}

/*
 * What the host allows, decided once: a mount namespace for /var/task and
 * /opt, a memory cgroup per environment. Falls back, saying why.
 */
static void invoker_probe(struct invoker *iv)
{
	enum cgroup_mode cg;
	char *why = NULL;

	iv->sandbox = sandbox_probe(&why);
	if (why)
		iv->isolation = xasprintf("%s (%s)",
					  sandbox_mode_name(iv->sandbox), why);
	else
		iv->isolation = xstrdup(sandbox_mode_name(iv->sandbox));
	free(why);
	why = NULL;
	cg = cgroup_parent_open(&iv->cgroups, &why);
	if (why)
		iv->memory = xasprintf("%s (%s)", cgroup_mode_name(cg), why);
	else
		iv->memory = xasprintf("%s (%s)", cgroup_mode_name(cg),
				       cgroup_parent_path(iv->cgroups));
	free(why);
}

int invoker_start(const struct invoker_params *p, struct invoker **out)
{
	struct invoker *iv = xcalloc(1, sizeof(*iv));
	sigset_t saved;
	int r;

	iv->reg = p->reg;
	iv->state_dir = xstrdup(p->state_dir);
	iv->runtimes_dir = find_runtimes_dir();
	iv->max_envs = p->max_envs;
	iv->idle_ttl = p->idle_ttl;
	iv->mode = p->executor;
	iv->images = p->images;
	iv->nimages = p->nimages;
	iv->on_log = p->on_log;
	iv->on_log_arg = p->arg;
	invoker_probe(iv);
	pthread_mutex_init(&iv->lock, NULL);
	pthread_cond_init(&iv->cond, NULL);
	{
		char *run = xasprintf("%s/run", iv->state_dir);

		util_rm_rf(run); /* /tmp dirs of environments before a crash */
		free(run);
	}
	util_signals_block(&saved);
	pthread_cond_init(&iv->acond, NULL);
	{
		char *cause = NULL;

		r = history_open(iv->state_dir, p->history, &iv->history,
				 &cause);
		if (r < 0) {
			log_warnx("%s", cause);
			free(cause);
			util_signals_restore(&saved);
			invoker_stop(iv);
			return r;
		}
	}
	pthread_mutex_lock(&iv->lock);
	r = history_foreach_queued(iv->history, async_reload_one, iv);
	pthread_mutex_unlock(&iv->lock);
	if (r < 0)
		log_warnx("cannot reload queued Events: %s", strerror(-r));
	else if (iv->aq_len)
		log_info("%zu queued Event(s) from before the restart",
			 iv->aq_len);
	r = -pthread_create(&iv->reaper, NULL, reaper_main, iv);
	iv->reaper_started = r == 0;
	while (r == 0 && iv->nasync_workers < ASYNC_WORKERS) {
		r = -pthread_create(&iv->async_worker[iv->nasync_workers],
				    NULL, async_main, iv);
		if (r == 0)
			iv->nasync_workers++;
	}
	util_signals_restore(&saved);
	if (r == 0 && iv->mode != EXECUTOR_SUBPROCESS) {
		struct exec_docker_params dp = {
			.host = NULL,
			.owner = iv->state_dir,
			.network = p->docker_network,
		};

		r = exec_docker_new(&dp, &iv->docker);
		if (r < 0) {
			pthread_mutex_lock(&iv->lock);
			iv->stopping = true;
			pthread_cond_broadcast(&iv->cond);
			pthread_mutex_unlock(&iv->lock);
			pthread_join(iv->reaper, NULL);
		}
	}
	if (r < 0) {
		invoker_stop(iv);
		return r;
	}
	log_info("runtimes from '%s'", iv->runtimes_dir);
	log_info("isolation: %s; memory: %s", iv->isolation, iv->memory);
	*out = iv;
	return 0;
}

void invoker_stop(struct invoker *iv)
{
	struct env *dead = NULL, *e;
	struct pool *p, *pn;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	iv->stopping = true;
	for (p = iv->pools; p; p = p->next)
		for (e = p->envs; e; e = e->next)
			env_kill_locked(e);
	pthread_cond_broadcast(&iv->cond);
	pthread_cond_broadcast(&iv->acond);
	pthread_mutex_unlock(&iv->lock);
	if (iv->reaper_started)
		pthread_join(iv->reaper, NULL);
	for (int i = 0; i < iv->nasync_workers; i++)
		pthread_join(iv->async_worker[i], NULL);
	while (iv->aq) { /* still queued in the store */
		struct async_item *it = iv->aq;

		iv->aq = it->next;
		async_item_free(it);
	}
	/* wait for callers still inside invoke_sync to leave */
	pthread_mutex_lock(&iv->lock);
	for (;;) {
		bool busy = false;

		for (p = iv->pools; p; p = p->next) {
			for (e = p->envs; e; e = e->next)
				busy |= e->users > 0;
			busy |= p->waiting > 0;
		}
		if (!busy)
			break;
		pthread_cond_wait(&iv->cond, &iv->lock);
	}
	collect_dead_locked(iv, &dead, false);
	pthread_mutex_unlock(&iv->lock);
	destroy_list(dead);
	for (p = iv->pools; p; p = pn) {
		pn = p->next;
		flog_close(p->log);
		free(p->latest);
		free(p->name);
		free(p);
	}
	history_close(iv->history);
	pthread_cond_destroy(&iv->acond);
	exec_docker_free(iv->docker);
	pthread_cond_destroy(&iv->cond);
	pthread_mutex_destroy(&iv->lock);
	cgroup_parent_close(iv->cgroups); /* every env's cgroup is gone */
	free(iv->isolation);
	free(iv->memory);
	free(iv->state_dir);
	free(iv->runtimes_dir);
	free(iv);
}

const char *invoke_isolation(struct invoker *iv)
{
	return iv->isolation;
}

const char *invoke_memory_accounting(struct invoker *iv)
{
	return iv->memory;
}

void invoke_result_release(struct invoke_result *res)
{
	free(res->payload);
	res->payload = NULL;
	res->len = 0;
	free(res->logs);
	res->logs = NULL;
	res->logs_len = 0;
}


static void set_result(struct invoke_result *res, int err, char *payload,
		       bool function_error)
{
	res->err = err;
	free(res->payload);
	res->payload = payload;
	res->len = payload ? strlen(payload) : 0;
	res->function_error = function_error;
}

static void timed_wait_locked(struct invoker *iv, int64_t until_ns)
{
	int64_t now = util_mono_ns(), wait = until_ns - now;
	int64_t step = 200 * 1000000LL; /* poll interrupts 5x a second */

	if (wait > step)
		wait = step;
	if (wait < 0)
		wait = 0;
	util_cond_wait_ns(&iv->cond, &iv->lock, wait);
}

static bool is_interrupted(const struct invoke_opts *o)
{
	return o && o->interrupted && o->interrupted(o->arg);
}

/*
 * Finds an environment for the caller: an idle one of the current
 * revision, else a new one (returned STARTING with *fresh set), else
 * waits. Returns the env with users incremented, or NULL and *err.
 */
static struct env *pool_take_locked(struct invoker *iv, struct pool *p,
				    const struct function_exec *fe,
				    const struct invoke_opts *opts,
				    bool *fresh, int *err)
{
	int limit = iv->max_envs;
	struct env *e;
	bool queued = false;

	if (fe->reserved >= 0 && fe->reserved < limit)
		limit = fe->reserved;
	*fresh = false;
	for (;;) {
		if (iv->stopping) {
			*err = -ESHUTDOWN;
			break;
		}
		/* drain: idle envs of an older deploy or configuration */
		for (e = p->envs; e; e = e->next)
			if (e->state == ENV_IDLE &&
			    strcmp(e->revision, fe->revision))
				env_kill_locked(e);
		for (e = p->envs; e; e = e->next) {
			if (e->state == ENV_IDLE) {
				e->state = ENV_BUSY;
				e->users++;
				goto out;
			}
		}
		if (p->nlive < limit) {
			e = xcalloc(1, sizeof(*e));
			e->iv = iv;
			e->pool = p;
			e->id = ++iv->next_env_id;
			e->state = ENV_STARTING;
			e->users = 1;
			e->pid = -1;
			e->outfd = e->pidfd = -1;
			pthread_mutex_init(&e->out_lock, NULL);
			e->obuf = xmalloc(FLOG_MAX_LINE);
			flog_tap_init(&e->tap);
			e->memory_mb = fe->memory_mb;
			memcpy(e->revision, fe->revision, sizeof(e->revision));
			e->next = p->envs;
			p->envs = e;
			p->nlive++;
			*fresh = true;
			goto out;
		}
		if (limit == 0 || (!queued && p->waiting >= POOL_QUEUE_MAX)) {
			*err = -EAGAIN;
			break;
		}
		if (is_interrupted(opts)) {
			*err = -EINTR;
			break;
		}
		if (!queued) {
			p->waiting++;
			queued = true;
		}
		timed_wait_locked(iv, util_mono_ns() + 200000000LL);
	}
	e = NULL;
out:
	if (queued) {
		p->waiting--;
		pthread_cond_broadcast(&iv->cond);
	}
	return e;
}

/*
 * A signal as Go's os.ProcessState prints it, which is what RIE and AWS
 * put in "Runtime exited with error: signal: killed": glibc's description
 * with its first letter in lower case ("segmentation fault"), except where
 * the word is an acronym ("CPU time limit exceeded").
 */
static void signal_text(int sig, char *out, size_t size)
{
	const char *d = sigdescr_np(sig);

	if (!d) {
		snprintf(out, size, "signal %d", sig);
		return;
	}
	snprintf(out, size, "%s", d);
	if (out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

static char *exit_reason(const char *id, int status)
{
	char sig[64];

	if (WIFSIGNALED(status)) {
		signal_text(WTERMSIG(status), sig, sizeof(sig));
		return util_error_json("Runtime.ExitError",
				  "RequestId: %s Error: Runtime exited with "
				  "error: signal: %s",
				  id, sig);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return util_error_json("Runtime.ExitError",
				  "RequestId: %s Error: Runtime exited with "
				  "error: exit status %d",
				  id, WEXITSTATUS(status));
	return util_error_json("Runtime.ExitError",
			  "RequestId: %s Error: Runtime exited without "
			  "providing a reason",
			  id);
}

/*
 * A runtime prints, then posts its answer: the two race through different
 * threads (pipe -> reader, socket -> MHD). Before END is logged, wait
 * until the reader has logged everything already written to the pipe, so
 * a function's output always lands between its START and END, as on AWS.
 * The reader sets e->reading before read() empties the pipe, so "pipe
 * empty and not reading" means nothing is in flight. Output of a
 * container travels through dockerd and may still be on its way: for
 * such executors also wait until the pipe has been quiet for their lag
 * (ten times that after a cold start), or the lag learned from output
 * that came after END (note_late_output), unless the executor can say
 * when its output is through (sync_output). A last line without its
 * newline is logged then. Bounded: a runtime whose children keep writing
 * cannot hold the caller.
 */
#define SYNC_MAX (500 * 1000000LL)

static void drain_output(struct env *e, bool cold)
{
	int64_t start = util_mono_ns(), until = start + 100 * 1000000LL;
	int64_t quiet = e->x ? e->x->ops->output_lag_ns : 0;
	int64_t learned = atomic_load(&e->iv->late_ns);
	int pending;

	if (quiet && learned > quiet)
		quiet = learned;
	if (learned) /* decays by 1/32 per invocation */
		atomic_compare_exchange_strong(&e->iv->late_ns, &learned,
					       learned - learned / 32);

	/* a fresh output path (a new attach) lags more; a cold start
	 * takes far longer than this anyway */
	if (cold)
		quiet *= 10;
	/* an executor that can tell when its output is through needs no
	 * quiet period (docker with a local daemon: markers) */
	if (quiet && e->xe && e->x->ops->sync_output &&
	    e->x->ops->sync_output(e->x->ctx, e->xe, SYNC_MAX) == 0) {
		quiet = 0;
		start = util_mono_ns();
		until = start + 100 * 1000000LL;
	}

	if (e->outfd < 0)
		return;
	while (util_mono_ns() < until) {
		if (ioctl(e->outfd, FIONREAD, &pending) == -1)
			return;
		/* an executor whose output arrives late (through dockerd)
		 * must also have been quiet for a while */
		if (pending == 0 && !atomic_load(&e->reading) &&
		    util_mono_ns() - start >= quiet &&
		    util_mono_ns() - atomic_load(&e->last_read_ns) >= quiet) {
			/* a last line without its newline is this
			 * invocation's too (print(..., end="")) */
			pthread_mutex_lock(&e->out_lock);
			if (e->oused)
				log_runtime_line(e->pool->log, &e->tap,
						 e->obuf, e->oused);
			e->oused = 0;
			pthread_mutex_unlock(&e->out_lock);
			return;
		}
		usleep(100);
	}
}

/* What one run looked like, for report.json. */
struct run_facts {
	const char *type;	/* "RequestResponse" | "Event" */
	int attempt;		/* 1-based, Events only */
	int64_t start_ms, end_ms;
	double duration_ms, init_ms;
	int memory_mb;
	long peak_mb;
	const char *status;	/* "Success" | "Error" | "Timeout" */
	const char *error_type;
};

static char *report_json(const struct run_facts *f,
			 const struct invoke_result *res, const char *name)
{
	char start[40], end[40];
	json_t *j;
	char *out;
	size_t len;

	util_format_iso_time(f->start_ms, start);
	util_format_iso_time(f->end_ms, end);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "RequestId",
		      res->request_id, "FunctionName", name, "InvocationType",
		      f->type, "Status", f->status, "Errno",
		      res->err ? strerrorname_np(-res->err) : "0",
		      "StartTime", start, "EndTime", end);
	if (!j)
		return NULL;
	if (f->error_type)
		json_object_set_new(j, "ErrorType", json_string(f->error_type));
	if (f->memory_mb) {
		json_object_set_new(j, "DurationMs",
				    json_real((double)(int64_t)(f->duration_ms *
								100) / 100));
		json_object_set_new(j, "BilledDurationMs",
				    json_integer((json_int_t)(f->duration_ms +
							      0.999999)));
		json_object_set_new(j, "InitDurationMs",
				    f->init_ms > 0
					    ? json_real((double)(int64_t)(
							f->init_ms * 100) / 100)
					    : json_null());
		json_object_set_new(j, "MemorySizeMB",
				    json_integer(f->memory_mb));
		json_object_set_new(j, "MaxMemoryUsedMB",
				    json_integer(f->peak_mb));
	}
	if (f->attempt)
		json_object_set_new(j, "Attempt", json_integer(f->attempt));
	out = util_json_pretty(j, &len);
	json_decref(j);
	return out;
}

static int invoke_run(struct invoker *iv, const char *name, const char *event,
		      size_t event_len, const struct invoke_opts *opts,
		      const char *request_id, struct run_facts *facts,
		      struct invoke_result *res)
{
	struct function_exec fe;
	struct rapi_invocation ri = { 0 };
	struct pool *p;
	struct env *e = NULL;
	struct inv *inv = NULL;
	char *why = NULL, *payload = NULL;
	const char *status = NULL, *etype = NULL;
	int64_t t0, t_end, deadline_ns, init_ns = 0;
	double dur_ms;
	long peak_kb;
	struct exec_usage usage = { 0 };
	bool fresh = false, cold;
	int r;

	memset(res, 0, sizeof(*res));
	if (request_id)
		snprintf(res->request_id, sizeof(res->request_id), "%s",
			 request_id);
	else
		util_uuid(res->request_id);
	facts->start_ms = util_now_ms();
	facts->status = "Error";
	r = registry_function_exec(iv->reg, name, &fe);
	if (r < 0) {
		res->err = r;
		return r;
	}
	if (!event_len) {
		event = "{}";
		event_len = 2;
	}
	pthread_mutex_lock(&iv->lock);
	p = pool_get_locked(iv, name);
	e = pool_take_locked(iv, p, &fe, opts, &fresh, &r);
	pthread_mutex_unlock(&iv->lock);
	if (!e) {
		res->err = r;
		goto out;
	}
	t0 = util_mono_ns();
	cold = fresh;
	if (fresh) {
		r = env_spawn(iv, e, &fe, &why);
		pthread_mutex_lock(&iv->lock);
		if (r < 0) {
			env_kill_locked(e);
			e->users--;
			pthread_mutex_unlock(&iv->lock);
			set_result(res, r, why, true);
			why = NULL;
			goto out;
		}
		e->state = ENV_BUSY;
		pthread_mutex_unlock(&iv->lock);
	}
	inv = xcalloc(1, sizeof(*inv));
	memcpy(inv->id, res->request_id, sizeof(inv->id));
	deadline_ns = t0 + (int64_t)fe.timeout_s * 1000000000;
	pthread_mutex_lock(&iv->lock);
	e->cur = inv;
	pthread_mutex_unlock(&iv->lock);
	flog_tap_arm(&e->tap);
	atomic_store(&e->end_ns, 0);
	flog_tap_printf(p->log, &e->tap, "START RequestId: %s Version: $LATEST",
			inv->id);
	ri.request_id = inv->id;
	ri.event = event;
	ri.event_len = event_len;
	ri.timeout_ms = (int64_t)fe.timeout_s * 1000; /* from the hand-over */
	ri.function_arn = fe.arn;
	ri.client_context = opts ? opts->client_context : NULL;
	r = rapi_dispatch(e->rapi, &ri);

	pthread_mutex_lock(&iv->lock);
	/*
	 * As on AWS, a cold start's init does not count against Timeout:
	 * the runtime gets max(Timeout, INIT_LIMIT) to reach its first
	 * /next, then Timeout from there. (A container can take a second
	 * to start on a loaded machine.)
	 */
	if (cold)
		deadline_ns = t0 + (int64_t)(fe.timeout_s > INIT_LIMIT_S
						     ? fe.timeout_s
						     : INIT_LIMIT_S) *
					   1000000000;
	for (;;) {
		if (cold && e->ready_ns)
			deadline_ns = e->ready_ns +
				      (int64_t)fe.timeout_s * 1000000000;
		if (r != 0 || inv->done || e->exited || e->init_error ||
		    e->state == ENV_DEAD || util_mono_ns() >= deadline_ns ||
		    is_interrupted(opts))
			break;
		timed_wait_locked(iv, deadline_ns);
	}
	t_end = util_mono_ns();
	if (cold && e->ready_ns)
		init_ns = e->ready_ns - e->spawned_ns;
	if (e->xe)
		e->x->ops->measure(e->x->ctx, e->xe, &usage);
	peak_kb = env_peak_kb(e);
	if (r < 0) {
		payload = util_error_json("Sandbox.Failure",
				     "cannot hand the event to the runtime: "
				     "%s", strerror(-r));
		res->err = -EREMOTEIO;
		status = "error";
		etype = "Sandbox.Failure";
		env_kill_locked(e);
	} else if (!(inv->done && inv->outcome == RAPI_RESPONSE) &&
		   env_oom(e)) {
		/* the whole environment goes, as on AWS */
		payload = util_error_json("Runtime.OutOfMemory",
				     "RequestId: %s Error: Runtime exited "
				     "with error: signal: killed",
				     inv->id);
		res->err = -ENOMEM;
		res->function_error = true;
		status = "error";
		etype = "Runtime.OutOfMemory";
		env_kill_locked(e);
	} else if (inv->done && inv->outcome == RAPI_RESPONSE) {
		payload = inv->body;
		inv->body = NULL;
		res->len = inv->len;
		res->err = 0;
		res->function_error = false;
	} else if (inv->done) {
		payload = inv->body;
		inv->body = NULL;
		res->len = inv->len;
		res->err = -EREMOTEIO;
		res->function_error = true;
		status = "error";
		etype = inv->error_type ? inv->error_type : "Unhandled";
		if (inv->error_type &&
		    !strcmp(inv->error_type, "Function.ResponseSizeTooLarge"))
			env_kill_locked(e);
	} else if (e->init_error) {
		payload = xstrdup(e->init_error);
		res->err = -EREMOTEIO;
		res->function_error = true;
		status = "error";
		etype = "Runtime.InitError";
		env_kill_locked(e);
	} else if ((e->exited || e->state == ENV_DEAD) && usage.why_ended) {
		payload = util_error_json("Runtime.ExitError",
				     "RequestId: %s Error: %s", inv->id,
				     usage.why_ended);
		res->err = -EREMOTEIO;
		res->function_error = true;
		status = "error";
		etype = "Runtime.ExitError";
		env_kill_locked(e);
	} else if (e->exited || e->state == ENV_DEAD) {
		payload = exit_reason(inv->id, e->status);
		res->err = -EREMOTEIO;
		res->function_error = true;
		status = "error";
		etype = "Runtime.ExitError";
		env_kill_locked(e);
	} else if (is_interrupted(opts)) {
		payload = NULL;
		res->err = -EINTR;
		status = "error";
		etype = "Runtime.Interrupted";
		env_kill_locked(e);
	} else {
		payload = util_error_json("Sandbox.Timedout",
				     "RequestId: %s Error: Task timed out "
				     "after %d.00 seconds",
				     inv->id, fe.timeout_s);
		res->err = -ETIMEDOUT;
		res->function_error = true;
		status = "timeout";
		env_kill_locked(e);
	}
	if (payload && !res->len)
		res->len = strlen(payload);
	res->payload = payload;
	e->cur = NULL;
	if (res->payload && (res->err == 0 || res->function_error)) {
		free(p->latest);
		p->latest = xmalloc(res->len + 1);
		memcpy(p->latest, res->payload, res->len);
		p->latest[res->len] = '\0';
		p->latest_len = res->len;
	}
	pthread_cond_broadcast(&iv->cond);
	pthread_mutex_unlock(&iv->lock);

	dur_ms = (double)(t_end - t0 - init_ns) / 1e6;
	if (dur_ms < 0)
		dur_ms = 0;
	drain_output(e, cold);
	if (e->x != &exec_subproc) {
		/* a container's figure may come from a sample taken by
		 * sync_output (the stats API of a remote daemon) */
		long kb = env_peak_kb(e);

		if (kb > peak_kb)
			peak_kb = kb;
	}
	flog_tap_printf(p->log, &e->tap, "END RequestId: %s", inv->id);
	atomic_store(&e->end_ns, util_mono_ns());
	{
		char init[64] = "", st[128] = "";

		if (init_ns && !e->init_reported)
			snprintf(init, sizeof(init),
				 "Init Duration: %.2f ms\t", init_ns / 1e6);
		if (status && !strcmp(status, "timeout"))
			snprintf(st, sizeof(st), "Status: timeout");
		else if (status)
			snprintf(st, sizeof(st), "Status: error\tError Type: %s",
				 etype);
		flog_tap_printf(p->log, &e->tap,
				"REPORT RequestId: %s\tDuration: %.2f ms\tBilled "
				"Duration: %lld ms\tMemory Size: %d MB\tMax "
				"Memory Used: %ld MB\t%s%s",
				inv->id, dur_ms, (long long)(dur_ms + 0.999999),
				fe.memory_mb, (peak_kb + 1023) / 1024, init, st);
		e->init_reported = true;
		facts->duration_ms = dur_ms;
		facts->init_ms = init_ns / 1e6;
		facts->memory_mb = fe.memory_mb;
		facts->peak_mb = (peak_kb + 1023) / 1024;
		facts->status = !status ? "Success"
			      : !strcmp(status, "timeout") ? "Timeout"
							   : "Error";
		facts->error_type = status && etype ? xstrdup(etype) : NULL;
	}
	res->logs = flog_tap_take(&e->tap, &res->logs_len);
	pthread_mutex_lock(&iv->lock);
	/* only now, with its log lines written, may others take e */
	if (e->state == ENV_BUSY) {
		e->state = ENV_IDLE;
		e->idle_since_ns = util_mono_ns();
	}
	e->users--;
	pthread_cond_broadcast(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
	if (iv->on_log)
		iv->on_log(name, iv->on_log_arg);
	r = res->err;
out:
	facts->end_ms = util_now_ms();
	inv_free(inv);
	free(why);
	registry_function_exec_release(&fe);
	return r;
}

/* Whether an outcome is an invocation worth a history entry: not one
 * that never reached the function (throttled, interrupted, gone). */
static bool worth_recording(int err)
{
	return err != -ENOENT && err != -EAGAIN && err != -EINTR &&
	       err != -ESHUTDOWN;
}

static void record(struct invoker *iv, const char *name, const char *event,
		   size_t event_len, const struct run_facts *f,
		   const struct invoke_result *res, int64_t queued_ms)
{
	struct history_record h = {
		.id = res->request_id,
		.function = name,
		.type = f->type,
		.attempts = f->attempt,
		.queued_ms = queued_ms ? queued_ms : f->start_ms,
		.start_ms = f->start_ms,
		.end_ms = f->end_ms,
	};
	struct function_info fi;
	char *report;

	/* deleted while it ran: its history is gone, don't start a new one */
	if (registry_function_stat(iv->reg, name, &fi) < 0)
		return;
	report = report_json(f, res, name);
	h.part[HISTORY_EVENT] = event_len ? event : "{}";
	h.len[HISTORY_EVENT] = event_len ? event_len : 2;
	h.part[HISTORY_RESPONSE] = res->payload;
	h.len[HISTORY_RESPONSE] = res->len;
	h.part[HISTORY_LOGS] = res->logs;
	h.len[HISTORY_LOGS] = res->logs_len;
	h.part[HISTORY_REPORT] = report;
	h.len[HISTORY_REPORT] = report ? strlen(report) : 0;
	history_add(iv->history, &h);
	free(report);
}

int invoke_sync(struct invoker *iv, const char *name, const char *event,
		size_t event_len, const struct invoke_opts *opts,
		struct invoke_result *res)
{
	struct run_facts f = { .type = "RequestResponse" };
	int r;

	r = invoke_run(iv, name, event, event_len, opts, NULL, &f, res);
	if (iv->history && worth_recording(r))
		record(iv, name, event, event_len, &f, res, 0);
	free((char *)f.error_type);
	return r;
}

/* ---------- asynchronous invocations ---------- */

/* Inserts it in not_before order (FIFO among equals). iv->lock held. */
static void aq_insert_locked(struct invoker *iv, struct async_item *it)
{
	struct async_item **pp = &iv->aq;

	while (*pp && (*pp)->not_before_ns <= it->not_before_ns)
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
	pthread_cond_signal(&iv->acond);
}

/* report.json of an Event still waiting for a try. */
static char *queued_report(const char *id, const char *name, int attempts,
			   int64_t queued_ms)
{
	char queued[40];
	json_t *j;
	char *out;
	size_t len;

	util_format_iso_time(queued_ms, queued);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "RequestId", id,
		      "FunctionName", name, "InvocationType", "Event",
		      "Status", "Queued", "QueuedTime", queued, "Attempts",
		      attempts);
	out = j ? util_json_pretty(j, &len) : NULL;
	json_decref(j);
	return out;
}

static void async_item_free(struct async_item *it)
{
	if (!it)
		return;
	free(it->function);
	free(it->event);
	free(it);
}

/* AWS waits a minute, then two, between tries; locally the same shape,
 * in seconds, keeps tests and development loops short. */
static int64_t retry_delay_ns(int attempts)
{
	return (int64_t)attempts * 1000000000LL;
}

/* Runs one try of it; returns true when it is finished with. */
static bool async_try(struct invoker *iv, struct async_item *it)
{
	struct run_facts f = { .type = "Event", .attempt = it->attempts + 1 };
	struct invoke_result res;
	bool finished = true;
	int r;

	r = invoke_run(iv, it->function, it->event, it->len, NULL, it->id, &f,
		       &res);
	pthread_mutex_lock(&iv->lock);
	if (iv->stopping && r != 0) {
		/* cut short by the unmount: the row stays queued, and the
		 * next start runs it again */
		pthread_mutex_unlock(&iv->lock);
		goto out;
	}
	pthread_mutex_unlock(&iv->lock);
	if (r == -ENOENT) {
		log_info("dropped Event %s: function '%s' no longer exists",
			 it->id, it->function);
		goto out;
	}
	if (r == -EAGAIN) {
		/* throttled: AWS keeps such events for hours; retry soon,
		 * without spending a try */
		it->not_before_ns = util_mono_ns() + 1000000000LL;
		finished = false;
		goto out;
	}
	it->attempts++;
	if (r != 0 && it->attempts < ASYNC_ATTEMPTS) {
		struct history_record h = {
			.id = it->id, .function = it->function,
			.type = "Event", .queued = true,
			.attempts = it->attempts, .queued_ms = it->queued_ms,
		};

		char *rep = queued_report(it->id, it->function, it->attempts,
					  it->queued_ms);

		h.part[HISTORY_EVENT] = it->event;
		h.len[HISTORY_EVENT] = it->len;
		h.part[HISTORY_REPORT] = rep;
		h.len[HISTORY_REPORT] = rep ? strlen(rep) : 0;
		int w = history_enqueue(iv->history, &h);

		free(rep);
		if (w < 0)
			log_warnx("cannot record the retry count of Event %s",
				  it->id);
		log_info("Event %s of '%s' failed (%s), try %d of %d in %lld s",
			 it->id, it->function, strerror(-r), it->attempts + 1,
			 ASYNC_ATTEMPTS,
			 (long long)(retry_delay_ns(it->attempts) /
				     1000000000LL));
		it->not_before_ns = util_mono_ns() +
				    retry_delay_ns(it->attempts);
		finished = false;
		goto out;
	}
	record(iv, it->function, it->event, it->len, &f, &res, it->queued_ms);
out:
	invoke_result_release(&res);
	free((char *)f.error_type);
	return finished;
}

static void *async_main(void *arg)
{
	struct invoker *iv = arg;
	struct async_item *it;
	int64_t now, wait;

	pthread_mutex_lock(&iv->lock);
	while (!iv->stopping) {
		it = iv->aq;
		now = util_mono_ns();
		if (!it) {
			pthread_cond_wait(&iv->acond, &iv->lock);
			continue;
		}
		if (it->not_before_ns > now) {
			wait = it->not_before_ns - now;
			util_cond_wait_ns(&iv->acond, &iv->lock, wait);
			continue;
		}
		iv->aq = it->next;
		pthread_mutex_unlock(&iv->lock);
		if (async_try(iv, it)) {
			async_item_free(it);
			pthread_mutex_lock(&iv->lock);
			iv->aq_len--;
		} else {
			pthread_mutex_lock(&iv->lock);
			if (iv->stopping)
				async_item_free(it);
			else
				aq_insert_locked(iv, it);
		}
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

static struct async_item *async_item_new(const char *id, const char *name,
					 const char *event, size_t len,
					 int attempts, int64_t queued_ms)
{
	struct async_item *it = xcalloc(1, sizeof(*it));

	snprintf(it->id, sizeof(it->id), "%s", id);
	it->function = xstrdup(name);
	it->event = xmalloc(len + 1);
	memcpy(it->event, event, len);
	it->event[len] = '\0';
	it->len = len;
	it->attempts = attempts;
	it->queued_ms = queued_ms;
	it->not_before_ns = util_mono_ns();
	return it;
}

int invoke_async(struct invoker *iv, const char *name, const char *event,
		 size_t event_len, char *request_id)
{
	struct function_info fi;
	struct history_record h = { .function = name, .type = "Event",
				    .queued = true };
	struct async_item *it;
	char id[37], *report;
	int r;

	request_id[0] = '\0';
	if (!event_len) {
		event = "{}";
		event_len = 2;
	}
	if (event_len > INVOKE_ASYNC_MAX)
		return -EFBIG;
	{
		json_t *j = json_loadb(event, event_len, JSON_DECODE_ANY,
				       NULL);

		if (!j)
			return -EINVAL;
		json_decref(j);
	}
	r = registry_function_stat(iv->reg, name, &fi);
	if (r < 0)
		return r;
	util_uuid(id);
	h.id = id;
	h.queued_ms = util_now_ms();
	h.part[HISTORY_EVENT] = event;
	h.len[HISTORY_EVENT] = event_len;
	report = queued_report(id, name, 0, h.queued_ms);
	h.part[HISTORY_REPORT] = report;
	h.len[HISTORY_REPORT] = report ? strlen(report) : 0;
	r = history_enqueue(iv->history, &h);
	free(report);
	if (r < 0)
		return r;
	it = async_item_new(id, name, event, event_len, 0, h.queued_ms);
	pthread_mutex_lock(&iv->lock);
	if (iv->stopping) {
		/* durable already: the next start runs it */
		async_item_free(it);
	} else {
		iv->aq_len++;
		aq_insert_locked(iv, it);
	}
	pthread_mutex_unlock(&iv->lock);
	memcpy(request_id, id, sizeof(id));
	return 0;
}

static int async_reload_one(const struct history_record *r, void *arg)
{
	struct invoker *iv = arg;

	iv->aq_len++;
	aq_insert_locked(iv, async_item_new(r->id, r->function,
					    r->part[HISTORY_EVENT],
					    r->len[HISTORY_EVENT], r->attempts,
					    r->queued_ms));
	return 0;
}

size_t invoke_async_pending(struct invoker *iv)
{
	size_t n;

	pthread_mutex_lock(&iv->lock);
	n = iv->aq_len;
	pthread_mutex_unlock(&iv->lock);
	return n;
}

struct history *invoke_history(struct invoker *iv)
{
	return iv->history;
}

char *invoke_latest(struct invoker *iv, const char *name, size_t *len)
{
	struct pool *p;
	char *out = NULL;

	pthread_mutex_lock(&iv->lock);
	p = pool_find_locked(iv, name);
	if (p && p->latest) {
		out = xmalloc(p->latest_len + 1);
		memcpy(out, p->latest, p->latest_len + 1);
		*len = p->latest_len;
	}
	pthread_mutex_unlock(&iv->lock);
	return out;
}

void invoke_forget(struct invoker *iv, const char *name)
{
	struct pool *p;
	struct env *e;

	pthread_mutex_lock(&iv->lock);
	p = pool_find_locked(iv, name);
	for (e = p ? p->envs : NULL; e; e = e->next)
		env_kill_locked(e);
	pthread_mutex_unlock(&iv->lock);	history_forget(iv->history, name);
}

char *invoke_log_path(struct invoker *iv, const char *name)
{
	return flog_path_for(iv->state_dir, name);
}

size_t invoke_env_count(struct invoker *iv)
{
	struct pool *p;
	size_t n = 0;

	pthread_mutex_lock(&iv->lock);
	for (p = iv->pools; p; p = p->next)
		n += (size_t)p->nlive;
	pthread_mutex_unlock(&iv->lock);
	return n;
}

size_t invoke_env_count_by(struct invoker *iv, const char *executor)
{
	struct pool *p;
	struct env *e;
	size_t n = 0;

	pthread_mutex_lock(&iv->lock);
	for (p = iv->pools; p; p = p->next)
		for (e = p->envs; e; e = e->next)
			if (e->state != ENV_DEAD && e->x &&
			    !strcmp(e->x->ops->name, executor))
				n++;
	pthread_mutex_unlock(&iv->lock);
	return n;
}

size_t invoke_instances(struct invoker *iv, const char *name, unsigned **ids)
{
	struct pool *p;
	struct env *e;
	size_t n = 0;

	pthread_mutex_lock(&iv->lock);
	p = pool_find_locked(iv, name);
	*ids = xcalloc(p ? (size_t)p->nlive + 1 : 1, sizeof(**ids));
	for (e = p ? p->envs : NULL; e; e = e->next)
		if (e->state != ENV_DEAD && n < (size_t)p->nlive)
			(*ids)[n++] = e->id;
	pthread_mutex_unlock(&iv->lock);
	return n;
}

char *invoke_instance_json(struct invoker *iv, const char *name, unsigned id,
			   size_t *len)
{
	static const char *const states[] = { "starting", "idle", "busy",
					      "dead" };
	struct pool *p;
	struct env *e;
	json_t *j = NULL;
	char *out;
	int64_t now = util_mono_ns(), wall = util_now_ms();
	char since[40];

	pthread_mutex_lock(&iv->lock);
	p = pool_find_locked(iv, name);
	for (e = p ? p->envs : NULL; e; e = e->next) {
		if (e->id != id || e->state == ENV_DEAD)
			continue;
		const char *what = NULL;

		util_format_iso_time(wall - (now - e->spawned_ns) / 1000000,
				     since);
		/* e->xe is set once STARTING is over (env_spawn) */
		if (e->xe && e->x->ops->describe)
			what = e->x->ops->describe(e->x->ctx, e->xe);
		j = json_pack("{s:i, s:s, s:i, s:s, s:i, s:s, s:I, s:I, s:s, "
			      "s:s?}",
			      "id", (int)e->id, "executor",
			      e->x ? e->x->ops->name : "pending", "pid",
			      (int)e->pid, "state", states[e->state], "port",
			      (int)e->port, "since", since, "peak_rss_kb",
			      (json_int_t)env_peak_kb(e),
			      "idle_ms",
			      (json_int_t)(e->state == ENV_IDLE
						   ? (now - e->idle_since_ns) /
							     1000000
						   : 0),
			      "revision", e->revision, "container", what);
		break;
	}
	pthread_mutex_unlock(&iv->lock);
	if (!j) {
		errno = ENOENT;
		return NULL;
	}
	out = util_json_pretty(j, len);
	json_decref(j);
	return out;
}
