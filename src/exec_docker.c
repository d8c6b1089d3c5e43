/* SPDX-License-Identifier: MIT */
/*
 * exec_docker.c - the docker executor behind executor.h: one container
 * per execution environment, driven through docker.c.
 *
 * Life of a container
 *
 *   start (caller's thread)            monitor thread (one per container)
 *   -----------------------            ----------------------------------
 *   create (labelled)
 *   spawn monitor ------------------>  attach (stdout/stderr frames
 *   wait until attached  <-----------    -> the environment's out pipe)
 *   start                                ... until the output closes
 *                                      wait (exit code), inspect (OOM)
 *                                      peak memory from the cgroup
 *                                      close out pipe, remove container,
 *                                      close exit pipe (= "ended")
 *
 * stop never talks to dockerd on the caller's thread (the caller may hold
 * the invoker's lock): it queues a kill for the worker thread, and the
 * container's death ends the attach stream, which lets the monitor
 * finish. A dockerd that stops or restarts drops the attach connection:
 * the monitor then reports the environment lost (the invocation fails
 * with a message that says so) and keeps the container id on a list that
 * is removed whenever the daemon answers again, at the latest at the next
 * start of lambdafs (containers carry the label lambdafs.owner=<state
 * dir>, and every container with this daemon's label is removed when a
 * daemon is first reached).
 *
 * Output order: the runtime's output travels runtime -> pipe -> shim ->
 * dockerd -> attach, so it can arrive after the runtime's answer. When
 * the daemon is local, sync_output writes a marker (a random token that
 * starts with a byte found nowhere else in it) into the container's
 * stdout and stderr pipes through /proc/<init>/fd/{1,2}; the pipe keeps
 * it behind everything written before, and once the attach stream has
 * brought both markers back (and on_output has cut them out), all that
 * output is in the environment's pipe. Remote daemons fall back to the
 * quiet-period wait of output_lag_ns.
 *
 * Memory: MemorySize is the container's memory limit (swap included).
 * Max Memory Used comes from the container's memory cgroup, read as a
 * file when the daemon is local (cgroup v1 memory.max_usage_in_bytes,
 * v2 memory.peak); a remote daemon's comes from the stats API.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "docker.h"
#include "executor.h"
#include "log.h"
#include "registry.h"
#include "subproc.h"
#include "util.h"

#define ATTACH_WAIT_MS 15000	/* create -> attached, generous under load */
#define EXIT_WAIT_MS 10000L	/* output closed -> exit code */
#define MARKER_LEN 32		/* RS "lambdafs-sync:" 16 hex US */

struct job {
	char id[65];
	struct job *next;
};

struct dk {
	char *host;		/* NULL: $DOCKER_HOST or the default socket */
	char *owner;		/* label value of our containers */
	char *network;
	char marker[MARKER_LEN + 1]; /* see "Output order" */

	pthread_mutex_t open_lock; /* one open (and sweep) at a time */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* protected by lock */
	struct docker *d;	/* opened on first use, kept */
	struct job *kills;	/* for the worker */
	struct job *lost;	/* containers whose removal failed */
	bool stopping;
	pthread_t worker;
};

struct exec_env {
	struct dk *dk;
	struct docker *d;	/* borrowed from dk, lives as long */
	char id[65];
	char name[128];
	int out_fd;		/* ours (a dup); closed by the monitor */
	int exit_r, exit_w;	/* exit_w closed by the monitor at the end */
	char *cgroup_peak;	/* local: file with the peak memory */
	char *cgroup_oom;	/* local: memory.oom_control / memory.events */
	pthread_t monitor;
	bool monitor_started;
	/* output sync: /proc/<pid> of the container's init (-1 not looked
	 * up yet, -2 unusable); held: bytes of a marker seen so far on
	 * stream 1/2 (monitor thread only) */
	int proc_dir;
	size_t held[3];

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* protected by lock */
	bool attached, attach_done;
	int attach_err;
	bool started;
	bool ended;
	int status;		/* wait status, once ended */
	long peak_kb;		/* last figure read */
	bool oom;
	char *lost;		/* why the container was lost, if it was */
	unsigned long markers[3]; /* markers seen on stream 1/2 */
	atomic_bool stop_queued;
};

/* ---------- the worker: kills queued by stop ---------- */

static void *worker_main(void *arg)
{
	struct dk *dk = arg;
	struct docker *d;
	struct job *j;

	pthread_mutex_lock(&dk->lock);
	for (;;) {
		while (!dk->kills && !dk->stopping)
			pthread_cond_wait(&dk->cond, &dk->lock);
		if (!dk->kills)
			break;
		j = dk->kills;
		dk->kills = j->next;
		d = dk->d;
		pthread_mutex_unlock(&dk->lock);
		/* the monitor removes it once its output closes */
		if (d)
			docker_kill(d, j->id, "KILL");
		free(j);
		pthread_mutex_lock(&dk->lock);
	}
	pthread_mutex_unlock(&dk->lock);
	return NULL;
}

static void remember_lost_locked(struct dk *dk, const char *id)
{
	struct job *j = xcalloc(1, sizeof(*j));

	snprintf(j->id, sizeof(j->id), "%s", id);
	j->next = dk->lost;
	dk->lost = j;
}

/* Removes containers left by an earlier run and those we lost since. */
static void sweep(struct dk *dk, struct docker *d, bool orphans)
{
	struct job *lost, *j;
	char **ids = NULL, *label;
	int n, i;

	pthread_mutex_lock(&dk->lock);
	lost = dk->lost;
	dk->lost = NULL;
	pthread_mutex_unlock(&dk->lock);
	while ((j = lost)) {
		lost = j->next;
		if (docker_remove(d, j->id) < 0 && docker_ping(d) < 0) {
			pthread_mutex_lock(&dk->lock);
			remember_lost_locked(dk, j->id);
			pthread_mutex_unlock(&dk->lock);
		}
		free(j);
	}
	if (!orphans)
		return;
	label = xasprintf("lambdafs.owner=%s", dk->owner);
	n = docker_list(d, label, &ids);
	if (n < 0)
		log_warnx("docker: cannot list old containers: %s",
			  strerror(-n));
	for (i = 0; i < n; i++) {
		int r = docker_remove(d, ids[i]);

		if (r < 0 && r != -ENOENT)
			log_warnx("docker: cannot remove old container %.12s: "
				  "%s",
				  ids[i], strerror(-r));
		else
			log_info("docker: removed container %.12s left by an "
				 "earlier run",
				 ids[i]);
		free(ids[i]);
	}
	free(ids);
	free(label);
}

/* The daemon, opened (and swept) on first use; NULL and -errno if none. */
static struct docker *dk_docker(struct dk *dk, int *err)
{
	struct docker *d;
	bool lost;
	int r;

	pthread_mutex_lock(&dk->lock);
	d = dk->d;
	lost = dk->lost != NULL;
	pthread_mutex_unlock(&dk->lock);
	if (d) {
		if (lost)
			sweep(dk, d, false);
		return d;
	}
	pthread_mutex_lock(&dk->open_lock);
	pthread_mutex_lock(&dk->lock);
	d = dk->d;
	pthread_mutex_unlock(&dk->lock);
	if (d) {
		/* another thread opened it while we waited */
		pthread_mutex_unlock(&dk->open_lock);
		return d;
	}
	r = docker_open(dk->host, &d);
	if (r < 0) {
		pthread_mutex_unlock(&dk->open_lock);
		*err = r;
		return NULL;
	}
	log_info("docker: %s, API %s", docker_host(d), docker_api_version(d));
	/* before any container of ours exists: every labelled one is old */
	sweep(dk, d, true);
	pthread_mutex_lock(&dk->lock);
	dk->d = d;
	pthread_mutex_unlock(&dk->lock);
	pthread_mutex_unlock(&dk->open_lock);
	return d;
}

/* ---------- errors users can act on ---------- */

static const char *host_name(const struct dk *dk)
{
	const char *h = dk->host ? dk->host : getenv("DOCKER_HOST");

	return h && *h ? h : "unix:///var/run/docker.sock";
}

/* No answer from dockerd (r from curl: refused, timed out, reset). */
static char *unreachable(const struct dk *dk, int r)
{
	return util_error_json("Sandbox.DockerUnreachable",
			 "cannot reach dockerd at %s: %s; start the Docker "
			 "daemon (or point DOCKER_HOST at one), or run this "
			 "function with --executor subprocess",
			 host_name(dk), strerror(-r));
}

/* ---------- the monitor ---------- */

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void marker_seen(struct exec_env *e, int stream)
{
	pthread_mutex_lock(&e->lock);
	e->markers[stream]++;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/*
 * Copies output to the environment's pipe, cutting out our markers. A
 * marker may be split across chunks: its first bytes are held back until
 * the rest matches or does not. Its first byte occurs nowhere else in it,
 * so a mismatch can restart the search at the byte that broke it.
 */
static bool on_output(int stream, const char *data, size_t len, void *arg)
{
	struct exec_env *e = arg;
	const char *m = e->dk->marker, *p = data, *end = data + len, *q;
	size_t *held;

	/* stdout and stderr share the log, as on AWS; a reader that went
	 * away is no reason to stop the container, so writes may fail */
	if (stream != 1 && stream != 2) {
		write_all(e->out_fd, data, len);
		return true;
	}
	held = &e->held[stream];
	while (p < end) {
		if (*held) {
			size_t k = 0;

			while (p + k < end && *held + k < MARKER_LEN &&
			       p[k] == m[*held + k])
				k++;
			if (*held + k == MARKER_LEN) {
				*held = 0;
				p += k;
				marker_seen(e, stream);
				continue;
			}
			if (p + k == end) {
				*held += k;
				return true;
			}
			/* not a marker: what was held is output */
			write_all(e->out_fd, m, *held);
			*held = 0;
		}
		q = memchr(p, m[0], (size_t)(end - p));
		if (!q) {
			write_all(e->out_fd, p, (size_t)(end - p));
			break;
		}
		write_all(e->out_fd, p, (size_t)(q - p));
		*held = 1;
		p = q + 1;
	}
	return true;
}

static void on_attached(void *arg)
{
	struct exec_env *e = arg;

	pthread_mutex_lock(&e->lock);
	e->attached = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static long read_long_file(const char *path)
{
	char buf[64];
	long v = -1;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		v = strtol(buf, NULL, 10);
	}
	return v;
}

static void read_peak(struct exec_env *e)
{
	long bytes;

	if (!e->cgroup_peak)
		return;
	bytes = read_long_file(e->cgroup_peak);
	if (bytes > 0)
		e->peak_kb = bytes / 1024;
}

/* Docker's StatusCode as a wait status: 128+N is "killed by signal N". */
static int wait_status(long code)
{
	if (code > 128 && code < 128 + 65)
		return (int)(code - 128) & 0x7f;
	return (int)((code & 0xff) << 8);
}

static void *monitor_main(void *arg)
{
	struct exec_env *e = arg;
	struct docker *d = e->d;
	bool started, lost = false;
	long code = -1;
	json_t *j = NULL;
	int r;

	r = docker_attach(d, e->id, on_attached, on_output, e);
	/* a marker cut short by the end was output after all */
	write_all(e->out_fd, e->dk->marker, e->held[1]);
	write_all(e->out_fd, e->dk->marker, e->held[2]);
	pthread_mutex_lock(&e->lock);
	e->attach_done = true;
	e->attach_err = r;
	started = e->started;
	pthread_cond_broadcast(&e->cond);
	/* until start() says whether the container runs (it may have run
	 * and exited before docker_start's reply came back) */
	while (!e->started && !atomic_load(&e->stop_queued))
		pthread_cond_wait(&e->cond, &e->lock);
	started = e->started;
	pthread_mutex_unlock(&e->lock);
	if (started) {
		r = docker_wait(d, e->id, EXIT_WAIT_MS, &code);
		if (r < 0)
			lost = true;
		else if (code == 137 && docker_inspect(d, e->id, &j) == 0) {
			json_t *oom = json_object_get(
				json_object_get(j, "State"), "OOMKilled");

			pthread_mutex_lock(&e->lock);
			e->oom = json_is_true(oom);
			pthread_mutex_unlock(&e->lock);
		}
		json_decref(j);
	}
	pthread_mutex_lock(&e->lock);
	read_peak(e);
	if (lost) {
		free(e->lost);
		e->lost = xasprintf("lost the connection to dockerd at %s while "
				    "container %.12s ran (%s): was dockerd "
				    "stopped or restarted?",
				    host_name(e->dk), e->id, strerror(-r));
	}
	pthread_mutex_unlock(&e->lock);
	if (lost) {
		char *line = xasprintf("lambdafs: %s\n", e->lost);

		write_all(e->out_fd, line, strlen(line));
		free(line);
	}
	close(e->out_fd);
	e->out_fd = -1;
	if (docker_remove(d, e->id) < 0 && docker_ping(d) < 0) {
		pthread_mutex_lock(&e->dk->lock);
		remember_lost_locked(e->dk, e->id);
		pthread_mutex_unlock(&e->dk->lock);
	}
	pthread_mutex_lock(&e->lock);
	e->ended = true;
	/* an unknown end reads as "killed": the environment is gone */
	e->status = code >= 0 ? wait_status(code) : SIGKILL;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	close(e->exit_w);
	e->exit_w = -1;
	return NULL;
}

/* ---------- ops ---------- */

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/*
 * Several layers merged at /opt as on AWS (later layers win, directories
 * merge at every depth): a read-only overlayfs with the layers as lower
 * directories, made by dockerd as an anonymous volume of the "local"
 * driver, so it is mounted with the container and removed with it
 * (DELETE ?v=1). NULL if the paths cannot be said in mount options.
 */
static json_t *layers_overlay(const struct function_exec *fe)
{
	char *o = xstrdup("lowerdir="), *next;
	json_t *m;
	size_t i;

	for (i = fe->nlayers; i > 0; i--) {
		const char *dir = fe->layer_dirs[i - 1];

		if (strpbrk(dir, ":,\\")) {
			free(o);
			return NULL;
		}
		next = xasprintf("%s%s%s", o, i < fe->nlayers ? ":" : "", dir);
		free(o);
		o = next;
	}
	if (strlen(o) > 3000) { /* mount data is one page */
		free(o);
		return NULL;
	}
	/* read-only without saying so (dockerd refuses ReadOnly on an
	 * anonymous volume): an overlay without an upper dir is */
	m = json_pack("{s:s, s:s, s:{s:{s:s, s:{s:s, s:s, s:s}}}}",
		      "Type", "volume", "Target", "/opt", "VolumeOptions", "DriverConfig", "Name", "local",
		      "Options", "type", "overlay", "device", "overlay", "o", o);
	free(o);
	return m;
}

/* Binds: code at /var/task, layers at /opt, a private /tmp; *mounts gets
 * the layers' overlay when there is one. */
static json_t *binds(const struct exec_spec *spec, json_t **mounts)
{
	const struct function_exec *fe = spec->fe;
	json_t *b = json_array(), *ovl;
	size_t i;

	*mounts = NULL;
	if (fe->code_dir && !fe->is_image)
		json_array_append_new(b, json_sprintf("%s:/var/task:ro",
						      fe->code_dir));
	if (fe->nlayers == 1) {
		json_array_append_new(b, json_sprintf("%s:/opt:ro",
						      fe->layer_dirs[0]));
	} else if (fe->nlayers > 1 && (ovl = layers_overlay(fe))) {
		*mounts = json_array();
		json_array_append_new(*mounts, ovl);
	} else if (fe->nlayers > 1) {
		/*
		 * Layer paths that mount options cannot carry: each
		 * top-level entry of each layer is bound at /opt/<entry>,
		 * the latest layer having it winning (dockerd refuses two
		 * mounts on one path); entries present in two layers are
		 * not merged below the top level.
		 */
		json_t *seen = json_object();

		for (i = fe->nlayers; i > 0; i--) {
			const char *dir = fe->layer_dirs[i - 1];
			DIR *dh = opendir(dir);
			struct dirent *de;

			while (dh && (de = readdir(dh))) {
				if (!strcmp(de->d_name, ".") ||
				    !strcmp(de->d_name, "..") ||
				    json_object_get(seen, de->d_name))
					continue;
				json_object_set_new(seen, de->d_name,
						    json_true());
				json_array_append_new(
					b, json_sprintf("%s/%s:/opt/%s:ro", dir,
							de->d_name,
							de->d_name));
			}
			if (dh)
				closedir(dh);
		}
		json_decref(seen);
	}
	if (spec->tmp_dir)
		json_array_append_new(b, json_sprintf("%s:/tmp", spec->tmp_dir));
	return b;
}

static json_t *create_body(struct dk *dk, const struct exec_spec *spec)
{
	const struct function_exec *fe = spec->fe;
	json_int_t mem = (json_int_t)fe->memory_mb * 1024 * 1024;
	char envid[16];
	json_t *body, *hc, *mounts;

	snprintf(envid, sizeof(envid), "%u", spec->env_id);
	/*
	 * Init: docker-init is PID 1 and the runtime its child, as on AWS,
	 * so a runtime that kills itself dies (PID 1 ignores signals it has
	 * no handler for) and SIGTERM from a stopping dockerd is passed on.
	 * LogConfig none: output comes through attach; nothing on disk.
	 */
	hc = json_pack("{s:s, s:o, s:I, s:I, s:b, s:{s:s}}", "NetworkMode",
		       dk->network, "Binds", binds(spec, &mounts), "Memory", mem,
		       "MemorySwap", mem, "Init", 1, "LogConfig", "Type",
		       "none");
	if (hc && mounts)
		json_object_set_new(hc, "Mounts", mounts);
	else
		json_decref(mounts);
	body = json_pack("{s:s, s:o, s:{s:s, s:s, s:s}, s:b, s:b, s:b, s:b, "
			 "s:o}",
			 "Image", spec->image, "Env",
			 strv_json((const char *const *)spec->proc->envp), "Labels",
			 "lambdafs.owner", dk->owner, "lambdafs.function",
			 fe->name, "lambdafs.env", envid, "AttachStdout", 1,
			 "AttachStderr", 1, "Tty", 0, "OpenStdin", 0,
			 "HostConfig", hc);
	if (!body)
		return NULL;
	if (spec->entrypoint)
		json_object_set_new(body, "Entrypoint",
				    strv_json(spec->entrypoint));
	if (spec->cmd)
		json_object_set_new(body, "Cmd", strv_json(spec->cmd));
	if (spec->workdir)
		json_object_set_new(body, "WorkingDir",
				    json_string(spec->workdir));
	return body;
}

/* The container's memory cgroup files, when the daemon is local. */
static void find_cgroup(struct exec_env *e)
{
	char *cand[3];
	size_t i;

	if (!docker_is_local(e->d))
		return;
	cand[0] = xasprintf("/sys/fs/cgroup/memory/docker/%s/"
			    "memory.max_usage_in_bytes",
			    e->id);
	cand[1] = xasprintf("/sys/fs/cgroup/system.slice/docker-%s.scope/"
			    "memory.peak",
			    e->id);
	cand[2] = xasprintf("/sys/fs/cgroup/docker/%s/memory.peak", e->id);
	for (i = 0; i < ARRAY_SIZE(cand); i++) {
		if (!e->cgroup_peak && access(cand[i], R_OK) == 0)
			e->cgroup_peak = cand[i];
		else
			free(cand[i]);
	}
}

static void env_free(struct exec_env *e)
{
	if (e->out_fd >= 0)
		close(e->out_fd);
	if (e->exit_r >= 0)
		close(e->exit_r);
	if (e->exit_w >= 0)
		close(e->exit_w);
	if (e->proc_dir >= 0)
		close(e->proc_dir);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e->cgroup_peak);
	free(e->cgroup_oom);
	free(e->lost);
	free(e);
}

static void dk_stop(void *ctx, struct exec_env *e);

static int dk_start(void *ctx, const struct exec_spec *spec,
		    struct exec_env **out, pid_t *pid, int *exit_fd,
		    char **why)
{
	struct dk *dk = ctx;
	const struct function_exec *fe = spec->fe;
	struct docker_reply rep = { 0 };
	struct exec_env *e = NULL;
	struct docker *d;
	json_t *body = NULL;
	int pfd[2], r;
	int64_t until;

	*why = NULL;
	*out = NULL;
	*pid = -1;
	*exit_fd = -1;
	d = dk_docker(dk, &r);
	if (!d) {
		*why = unreachable(dk, r);
		return -ENOEXEC;
	}
	e = xcalloc(1, sizeof(*e));
	e->dk = dk;
	e->d = d;
	e->out_fd = e->exit_r = e->exit_w = -1;
	e->proc_dir = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	atomic_init(&e->stop_queued, false);
	snprintf(e->name, sizeof(e->name), "lambdafs-%d-%s-%u", (int)getpid(),
		 fe->name, spec->env_id);
	body = create_body(dk, spec);
	if (!body) {
		r = -ENOMEM;
		*why = util_error_json("Sandbox.Failure", "out of memory");
		goto fail;
	}
	r = docker_create(d, e->name, body, e->id, &rep);
	if (r == -ENOENT) {
		*why = util_error_json(
			"Sandbox.ImageNotFound",
			"image '%s' is not present in the Docker daemon at %s "
			"(lambdafs never pulls): provide it with `docker load "
			"-i IMAGE.tar` or `docker import ROOTFS.tar %s`, %s",
			spec->image, host_name(dk), spec->image,
			fe->is_image ? "or set ImageUri in config.json to an "
				       "image that `docker images` lists"
				     : "or choose another image with --image "
				       "RUNTIME=REF");
		r = -ENOEXEC;
		goto fail;
	}
	if (r < 0 && !rep.status) {
		*why = unreachable(dk, r);
		r = -ENOEXEC;
		goto fail;
	}
	if (r < 0) {
		*why = util_error_json("Sandbox.Failure",
				 "cannot create a container from '%s': %s",
				 spec->image,
				 rep.message ? rep.message : strerror(-r));
		r = -ENOEXEC; /* not the event's fault: no EINVAL */
		goto fail;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		r = -errno;
		*why = util_error_json("Sandbox.Failure", "pipe: %s", strerror(-r));
		goto fail_rm;
	}
	e->exit_r = pfd[0];
	e->exit_w = pfd[1];
	e->out_fd = fcntl(spec->proc->out_fd, F_DUPFD_CLOEXEC, 3);
	if (e->out_fd == -1) {
		r = -errno;
		*why = util_error_json("Sandbox.Failure", "dup: %s", strerror(-r));
		goto fail_rm;
	}
	{
		sigset_t saved;

		util_signals_block(&saved);
		r = -pthread_create(&e->monitor, NULL, monitor_main, e);
		util_signals_restore(&saved);
	}
	if (r < 0) {
		*why = util_error_json("Sandbox.Failure", "pthread_create: %s",
				 strerror(-r));
		goto fail_rm;
	}
	e->monitor_started = true;
	/* output written before the attach would be lost: wait for it */
	until = util_mono_ns() + ATTACH_WAIT_MS * 1000000LL;
	pthread_mutex_lock(&e->lock);
	while (!e->attached && !e->attach_done && util_mono_ns() < until)
		util_cond_wait_ns(&e->cond, &e->lock, 50 * 1000000LL);
	r = e->attached ? 0 : e->attach_err ? e->attach_err : -ETIMEDOUT;
	pthread_mutex_unlock(&e->lock);
	if (r < 0) {
		*why = util_error_json("Sandbox.Failure",
				 "cannot attach to container %.12s: %s", e->id,
				 strerror(-r));
		goto fail_rm;
	}
	docker_reply_release(&rep);
	r = docker_start(d, e->id, &rep);
	if (r < 0) {
		*why = util_error_json("Runtime.InvalidEntrypoint",
				 "cannot start a container from '%s': %s",
				 spec->image,
				 rep.message ? rep.message : strerror(-r));
		r = -ENOEXEC;
		goto fail_rm;
	}
	find_cgroup(e); /* exists once started */
	pthread_mutex_lock(&e->lock);
	e->started = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	docker_reply_release(&rep);
	json_decref(body);
	*exit_fd = e->exit_r; /* the caller's from now on */
	e->exit_r = -1;
	*out = e;
	return 0;

fail_rm:
	/* removal ends the attach of a container that never started */
	docker_remove(d, e->id);
	if (e->monitor_started) {
		pthread_mutex_lock(&e->lock);
		atomic_store(&e->stop_queued, true);
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->monitor, NULL);
	}
fail:
	docker_reply_release(&rep);
	json_decref(body);
	env_free(e);
	return r;
}

static void dk_stop(void *ctx, struct exec_env *e)
{
	struct dk *dk = ctx;
	struct job *j;

	if (!e || atomic_exchange(&e->stop_queued, true))
		return;
	pthread_mutex_lock(&e->lock);
	pthread_cond_broadcast(&e->cond);
	if (e->ended) {
		pthread_mutex_unlock(&e->lock);
		return;
	}
	pthread_mutex_unlock(&e->lock);
	j = xcalloc(1, sizeof(*j));
	memcpy(j->id, e->id, sizeof(j->id));
	pthread_mutex_lock(&dk->lock);
	j->next = dk->kills;
	dk->kills = j;
	pthread_cond_broadcast(&dk->cond);
	pthread_mutex_unlock(&dk->lock);
}

/*
 * /proc/<pid> of the container's init (docker-init, whose stdout and
 * stderr are the container's), or -1. The pid is dockerd's word; it is
 * trusted only if that process is in the container's cgroup, and holding
 * the directory open pins that very process: once it dies, opening its
 * fd/1 fails instead of reaching a process that reused the pid.
 */
static int open_init_proc(struct exec_env *e)
{
	json_t *j = NULL;
	json_int_t pid;
	char path[64], buf[4096];
	ssize_t n;
	int dir, fd;

	if (!docker_is_local(e->d) || docker_inspect(e->d, e->id, &j) < 0)
		return -1;
	pid = json_integer_value(json_object_get(json_object_get(j, "State"),
						 "Pid"));
	json_decref(j);
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%lld", (long long)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir == -1)
		return -1;
	fd = openat(dir, "cgroup", O_RDONLY | O_CLOEXEC);
	n = fd == -1 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd != -1)
		close(fd);
	if (n <= 0) {
		close(dir);
		return -1;
	}
	buf[n] = '\0';
	if (!strstr(buf, e->id)) {
		log_debug("docker: pid %lld is not in container %.12s's cgroup",
			  (long long)pid, e->id);
		close(dir);
		return -1;
	}
	return dir;
}

/* Writes the marker into one of the init's fds; false if it cannot. */
static bool send_marker(struct exec_env *e, const char *fdpath,
			struct stat *st, int64_t until)
{
	int fd = openat(e->proc_dir, fdpath, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	bool ok = false;

	if (fd == -1)
		return false;
	if (fstat(fd, st) == 0 && S_ISFIFO(st->st_mode)) {
		/* one write of less than PIPE_BUF: never interleaved, but
		 * the pipe may be full for a moment */
		for (;;) {
			ssize_t w = write(fd, e->dk->marker, MARKER_LEN);

			if (w == MARKER_LEN) {
				ok = true;
				break;
			}
			if ((w >= 0 || (errno != EAGAIN && errno != EINTR)) ||
			    util_mono_ns() >= until)
				break;
			usleep(200);
		}
	}
	close(fd);
	return ok;
}

/*
 * Without the container's cgroup files (a remote daemon): its memory from
 * the stats API, sampled once per invocation before END. cgroup v1 keeps
 * the peak (max_usage); v2 reports only current usage, so the figure is
 * the largest sample seen.
 */
static void stats_peak(struct exec_env *e)
{
	json_t *j = NULL, *m;
	json_int_t bytes;

	if (docker_stats(e->d, e->id, &j) < 0)
		return;
	m = json_object_get(j, "memory_stats");
	bytes = json_integer_value(json_object_get(m, "max_usage"));
	if (!bytes)
		bytes = json_integer_value(json_object_get(m, "usage"));
	json_decref(j);
	pthread_mutex_lock(&e->lock);
	if (bytes / 1024 > e->peak_kb)
		e->peak_kb = (long)(bytes / 1024);
	pthread_mutex_unlock(&e->lock);
}

static int dk_sync_output(void *ctx, struct exec_env *e, int64_t timeout_ns)
{
	int64_t until = util_mono_ns() + timeout_ns;
	unsigned long want[3];
	struct stat st1, st2;
	bool sent1, sent2, same;
	int r = 0;

	(void)ctx;
	if (!e->cgroup_peak)
		stats_peak(e);
	if (e->proc_dir == -1) {
		e->proc_dir = open_init_proc(e);
		if (e->proc_dir < 0)
			e->proc_dir = -2;
	}
	if (e->proc_dir < 0)
		return -ENOTSUP;
	pthread_mutex_lock(&e->lock);
	want[1] = e->markers[1] + 1;
	want[2] = e->markers[2] + 1;
	pthread_mutex_unlock(&e->lock);
	sent1 = send_marker(e, "fd/1", &st1, until);
	sent2 = send_marker(e, "fd/2", &st2, until);
	if (!sent1 && !sent2)
		return -ENOTSUP; /* e.g. it ended meanwhile */
	/* one pipe for both: both markers come back on stream 1 */
	same = sent1 && sent2 && st1.st_ino == st2.st_ino &&
	       st1.st_dev == st2.st_dev;
	if (same) {
		want[1]++;
		sent2 = false;
	}
	pthread_mutex_lock(&e->lock);
	while (!e->attach_done && ((sent1 && e->markers[1] < want[1]) ||
				   (sent2 && e->markers[2] < want[2]))) {
		if (util_mono_ns() >= until) {
			r = -ETIMEDOUT;
			break;
		}
		util_cond_wait_ns(&e->cond, &e->lock, 5 * 1000000LL);
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

/* The IPv4 address of a host interface, into addr (16 bytes). */
static bool iface_addr(const char *iface, char addr[16])
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs) == -1)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, iface))
			found = inet_ntop(AF_INET,
					  &((struct sockaddr_in *)(void *)
						    i->ifa_addr)->sin_addr,
					  addr, 16) != NULL;
	freeifaddrs(ifs);
	return found;
}

/*
 * Where containers reach this host: 127.0.0.1 on the host network; on a
 * bridge network its gateway, which is this host's address on the
 * bridge (IPAM's Gateway, else the bridge interface's own address).
 * Asked at every cold start, so a network recreated meanwhile is found.
 */
static int dk_api_addr(void *ctx, char addr[16], char **why)
{
	struct dk *dk = ctx;
	const char *driver, *gw = NULL, *id, *br;
	struct docker *d;
	json_t *j = NULL, *cfg;
	char iface[32];
	size_t i;
	int r;

	if (!strcmp(dk->network, "host")) {
		snprintf(addr, 16, "127.0.0.1");
		return 0;
	}
	d = dk_docker(dk, &r);
	if (!d) {
		*why = unreachable(dk, r);
		return -ENOEXEC;
	}
	r = docker_network_inspect(d, dk->network, &j);
	if (r == -ENOENT) {
		*why = util_error_json("Sandbox.Failure",
				 "network '%s' does not exist in dockerd at "
				 "%s: create it (`docker network create %s`) "
				 "or mount with --docker-network host",
				 dk->network, host_name(dk), dk->network);
		return -ENOEXEC;
	}
	if (r < 0) {
		*why = unreachable(dk, r);
		return -ENOEXEC;
	}
	driver = json_string_value(json_object_get(j, "Driver"));
	if (!driver || strcmp(driver, "bridge")) {
		*why = util_error_json("Sandbox.Failure",
				 "network '%s' has driver '%s': containers "
				 "reach lambdafs's Runtime API from a bridge "
				 "network (its gateway is this host) or the "
				 "host network",
				 dk->network, driver ? driver : "?");
		json_decref(j);
		return -ENOEXEC;
	}
	json_array_foreach (json_object_get(json_object_get(j, "IPAM"),
					    "Config"),
			    i, cfg) {
		const char *g = json_string_value(json_object_get(cfg,
								  "Gateway"));

		if (g && strchr(g, '.') && strlen(g) < 16) {
			gw = g;
			break;
		}
	}
	if (gw) {
		snprintf(addr, 16, "%s", gw);
		json_decref(j);
		return 0;
	}
	/* no Gateway recorded (a subnet given at creation): the bridge's
	 * own address; docker names it br-<id prefix> unless told */
	br = json_string_value(json_object_get(
		json_object_get(j, "Options"),
		"com.docker.network.bridge.name"));
	id = json_string_value(json_object_get(j, "Id"));
	if (br)
		snprintf(iface, sizeof(iface), "%s", br);
	else
		snprintf(iface, sizeof(iface), "br-%.12s", id ? id : "");
	json_decref(j);
	if (docker_is_local(d) && iface_addr(iface, addr))
		return 0;
	*why = util_error_json("Sandbox.Failure",
			 "cannot tell the gateway of network '%s' (no IPAM "
			 "Gateway, no IPv4 address on interface %s): the "
			 "containers could not reach the Runtime API",
			 dk->network, iface);
	return -ENOEXEC;
}

static void dk_measure(void *ctx, struct exec_env *e, struct exec_usage *u)
{
	(void)ctx;
	pthread_mutex_lock(&e->lock);
	if (!e->ended)
		read_peak(e);
	u->peak_kb = e->peak_kb;
	u->oom = e->oom;
	u->why_ended = e->lost;
	pthread_mutex_unlock(&e->lock);
}

static int dk_reap(void *ctx, struct exec_env *e)
{
	int status;

	(void)ctx;
	pthread_mutex_lock(&e->lock);
	while (!e->ended)
		pthread_cond_wait(&e->cond, &e->lock);
	status = e->status;
	pthread_mutex_unlock(&e->lock);
	return status;
}

static void dk_release(void *ctx, struct exec_env *e)
{
	if (!e)
		return;
	dk_stop(ctx, e);
	if (e->monitor_started)
		pthread_join(e->monitor, NULL);
	env_free(e);
}

static const char *dk_describe(void *ctx, struct exec_env *e)
{
	(void)ctx;
	return e->id;
}

static const struct exec_ops dk_ops = {
	.name = "docker",
	/*
	 * Only where sync_output cannot mark the output (a remote daemon):
	 * containerd-shim -> dockerd -> attach. On a loaded 2-core
	 * machine, of 30 lines printed just before the answer, 19 landed
	 * after END without a wait, 1-2 with 1 ms of quiet, none in 60
	 * with 2 ms (invoke.c learns longer windows from late output).
	 */
	.output_lag_ns = 2000 * 1000LL,
	.start = dk_start,
	.stop = dk_stop,
	.measure = dk_measure,
	.reap = dk_reap,
	.release = dk_release,
	.describe = dk_describe,
	.sync_output = dk_sync_output,
	.api_addr = dk_api_addr,
};

/* RS "lambdafs-sync:" 16 random hex digits US: RS occurs only first. */
static void make_marker(char m[MARKER_LEN + 1])
{
	char uuid[37], *p = m;
	size_t i;

	util_uuid(uuid);
	memcpy(p, "\x1elambdafs-sync:", 15);
	p += 15;
	for (i = 0; uuid[i] && p < m + MARKER_LEN - 1; i++)
		if (uuid[i] != '-')
			*p++ = uuid[i];
	*p++ = '\x1f';
	*p = '\0';
}

int exec_docker_new(const struct exec_docker_params *p, struct executor **out)
{
	struct executor *x = xcalloc(1, sizeof(*x));
	struct dk *dk = xcalloc(1, sizeof(*dk));
	sigset_t saved;
	int r;

	dk->host = p->host ? xstrdup(p->host) : NULL;
	dk->owner = xstrdup(p->owner);
	dk->network = xstrdup(p->network ? p->network : "host");
	make_marker(dk->marker);
	pthread_mutex_init(&dk->open_lock, NULL);
	pthread_mutex_init(&dk->lock, NULL);
	pthread_cond_init(&dk->cond, NULL);
	util_signals_block(&saved);
	r = -pthread_create(&dk->worker, NULL, worker_main, dk);
	util_signals_restore(&saved);
	if (r < 0) {
		free(dk->host);
		free(dk->owner);
		free(dk->network);
		free(dk);
		free(x);
		return r;
	}
	x->ops = &dk_ops;
	x->ctx = dk;
	/* orphans of a crashed run go now if a daemon answers */
	(void)dk_docker(dk, &r);
	*out = x;
	return 0;
}

void exec_docker_free(struct executor *x)
{
	struct dk *dk;
	struct job *j;

	if (!x)
		return;
	dk = x->ctx;
	pthread_mutex_lock(&dk->lock);
	dk->stopping = true;
	pthread_cond_broadcast(&dk->cond);
	pthread_mutex_unlock(&dk->lock);
	pthread_join(dk->worker, NULL);
	if (dk->d && dk->lost)
		sweep(dk, dk->d, false);
	while ((j = dk->lost)) {
		dk->lost = j->next;
		log_warnx("docker: container %.12s could not be removed; the "
			  "next start removes it",
			  j->id);
		free(j);
	}
	docker_close(dk->d);
	pthread_cond_destroy(&dk->cond);
	pthread_mutex_destroy(&dk->lock);
	pthread_mutex_destroy(&dk->open_lock);
	free(dk->host);
	free(dk->owner);
	free(dk->network);
	free(dk);
	free(x);
}

bool exec_docker_reachable(struct executor *x)
{
	struct dk *dk = x->ctx;
	struct docker *d;
	int r;

	d = dk_docker(dk, &r);
	return d && docker_ping(d) == 0;
}
