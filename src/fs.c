/* SPDX-License-Identifier: MIT */
/*
 * fs.c - the file system face: FUSE operations and path dispatch
 * (DESIGN.md §2). High-level libfuse API; every path is parsed into a
 * struct fs_path and each operation switches on its node kind.
 *
 * Design notes (measured behaviour in FUSE-NOTES.md)
 * - Generated files (status, config.json, layers/X/N.json) are opened
 *   with direct_io and served from a snapshot taken at open, so readers
 *   see one consistent document and sizes never go stale.
 * - code.zip and layer.zip writes go to an O_TMPFILE staging file in the
 *   state directory (a full disk fails the write with ENOSPC) and are
 *   committed by the registry on the first flush with unsubmitted bytes;
 *   that flush's error is what close(2) returns, so `cp` exits 1 on a bad
 *   zip. O_TRUNC alone does not make a handle dirty (`: > code.zip` is a
 *   no-op), and without O_TRUNC the staging file starts as a copy of the
 *   deployed zip so `rsync --inplace` and `dd conv=notrunc` work.
 * - config.json applies a write as soon as the bytes written form one
 *   complete JSON value, so the write(2) itself fails with EINVAL and
 *   even shell builtins (`echo ... > config.json`) report the error.
 * - code/, opt/ and layers/X/N/ are read-only views of unpacked trees;
 *   writes there fail with EROFS.
 * - `rm -r functions/f` works: readdir lists config.json first, and its
 *   unlink arms a short "removal" window for that process in which
 *   unlinks and rmdirs inside the function succeed without effect; the
 *   final rmdir deletes the function. Unlinking code.zip alone hides it
 *   until the next write (`install` unlinks before it creates).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <fuse.h>
#include <fuse_lowlevel.h>
#include <jansson.h>

#include "common.h"
#include "buf.h"
#include "config.h"
#include "fs.h"
#include "fschan.h"
#include "history.h"
#include "invoke.h"
#include "log.h"
#include "registry.h"
#include "util.h"

enum node {
	N_NONE,
	N_ROOT,
	N_STATUS,
	N_FUNCS,
	N_FUNC,
	N_CONFIG,
	N_CODEZIP,
	N_INVOKE,
	N_INVOKE_ASYNC,
	N_LOGS,
	N_INVOCATIONS,	/* functions/F/invocations/ */
	N_INVOCATION,	/* functions/F/invocations/<id>/ */
	N_INVPART,	/* functions/F/invocations/<id>/<part> */
	N_INSTANCES,	/* functions/F/instances/ */
	N_INSTANCE,	/* functions/F/instances/<id>.json */
	N_CODE,	/* code/ and below: rest is the path inside */
	N_OPT,	/* opt/ and below */
	N_LAYERS,
	N_LAYER,
	N_LAYERZIP,
	N_LVER,	/* layers/X/N/ and below */
	N_LVERJSON,
};

struct fs_path {
	enum node kind;
	char name[256];	   /* function or layer name */
	int64_t version;   /* N_LVER, N_LVERJSON */
	char rest[PATH_MAX]; /* inside code/, opt/, N/: "" or "/a/b" */
	char id[40];	   /* N_INVOCATION, N_INVPART */
	enum history_part part; /* N_INVPART */
};

/* The files of invocations/<id>/, in history.h's order. */
static const char *const invpart_names[HISTORY_NPARTS] = {
	[HISTORY_EVENT] = "event",
	[HISTORY_RESPONSE] = "response",
	[HISTORY_LOGS] = "logs",
	[HISTORY_REPORT] = "report.json",
};

enum fh_kind {
	FH_SNAPSHOT, /* generated document, read-only */
	FH_CONFIG,   /* config.json: snapshot + write buffer */
	FH_FD,	     /* a real file: deployed zip or a tree file */
	FH_STAGE,    /* code.zip / layer.zip being written */
	FH_INVOKE,   /* invoke: events in, responses out */
};

struct fh {
	enum fh_kind kind;
	enum node node;
	char name[256];
	char *data;	/* snapshot */
	size_t len;
	struct buf w;	/* FH_CONFIG writes */
	size_t applied; /* bytes of w already applied */
	int fd;		/* FH_FD, FH_STAGE */
	bool dirty;	/* FH_STAGE: written since the last commit */
	bool readable;	/* FH_STAGE opened O_RDWR */
	bool wrote;	/* FH_INVOKE: this handle sent an event */
	bool async;	/* FH_INVOKE: invoke-async (queues, no answers) */
	bool snapped;	/* FH_INVOKE: data holds the latest response */
	size_t rpos;	/* FH_INVOKE: read cursor in data */
	int err;	/* FH_INVOKE: a failed write's error, repeated until
			   the next flush (see invoke_write) */
	pthread_mutex_t io_lock; /* FH_INVOKE: one request at a time (the
				    kernel runs writes in parallel) */
	char *seed;	/* FH_STAGE: zip to start from, copied on first use */
	pid_t pid;	/* FH_STAGE: the process that opened it */
	struct fh *prev, *next; /* in fs.handles */
	uint64_t seq;	/* FH_STAGE: order of opening */
};

struct removal {
	pid_t pid;
	char name[65];
	int64_t until_ms;
};

#define FS_REMOVAL_WINDOW_MS 30000
#define FS_INVOKE_MAX_EVENT (6 * 1024 * 1024)
#define FS_INVOKE_MAX_IN (FS_INVOKE_MAX_EVENT + 64 * 1024)
#define FS_MAX_HIDDEN 64

static struct fs_state {
	struct registry *reg;
	struct invoker *iv;
	const struct config *cfg;
	int64_t start_ms;
	uid_t uid;
	gid_t gid;

	pthread_mutex_t lock;
	/* protected by lock */
	struct removal removal[16];
	char hidden[FS_MAX_HIDDEN][65]; /* functions whose code.zip was
					   unlinked and not rewritten */
	struct fh *staging[FS_MAX_HIDDEN]; /* open FH_STAGE handles: their
					      file exists while open */
	struct fh *handles;	/* every open handle: the kernel does not
				   release those still open at unmount */
	char *inval[64];	/* paths waiting for fuse_invalidate_path */
	size_t ninval;
	bool inval_stop;
	pthread_cond_t inval_cond;

	struct fuse *fuse;	/* set once mounted */
	const char *http_address; /* set by fs_set_http once it listens */
} fs;

/*
 * Kernel cache invalidation runs on its own thread: calling
 * fuse_invalidate_path() from a handler for the same inode can deadlock
 * (the kernel may hold the inode lock while it waits for that handler).
 */
static void fs_invalidate(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void fs_invalidate(const char *fmt, ...)
{
	va_list ap;
	char *path;
	size_t i;

	va_start(ap, fmt);
	if (vasprintf(&path, fmt, ap) < 0)
		path = NULL;
	va_end(ap);
	if (!path)
		return;
	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < fs.ninval; i++)
		if (!strcmp(fs.inval[i], path))
			break;
	if (i == fs.ninval && fs.ninval < ARRAY_SIZE(fs.inval)) {
		fs.inval[fs.ninval++] = path;
		path = NULL;
		pthread_cond_signal(&fs.inval_cond);
	}
	pthread_mutex_unlock(&fs.lock);
	free(path); /* duplicate, or the queue is full: attrs expire in 1 s */
}

static void *fs_inval_thread(void *arg)
{
	char *batch[ARRAY_SIZE(fs.inval)];
	size_t n, i;

	(void)arg;
	pthread_mutex_lock(&fs.lock);
	while (!fs.inval_stop) {
		if (!fs.ninval) {
			pthread_cond_wait(&fs.inval_cond, &fs.lock);
			continue;
		}
		n = fs.ninval;
		memcpy(batch, fs.inval, n * sizeof(*batch));
		fs.ninval = 0;
		pthread_mutex_unlock(&fs.lock);
		for (i = 0; i < n; i++) {
			/* -ENOENT: not in the kernel's cache, fine */
			if (fs.fuse)
				fuse_invalidate_path(fs.fuse, batch[i]);
			free(batch[i]);
		}
		pthread_mutex_lock(&fs.lock);
	}
	for (i = 0; i < fs.ninval; i++)
		free(fs.inval[i]);
	fs.ninval = 0;
	pthread_mutex_unlock(&fs.lock);
	return NULL;
}

void fs_note_log(const char *name, void *arg)
{
	(void)arg;
	/* tail -f sees the new size at its next poll, not a second later */
	fs_invalidate("/functions/%s/logs", name);
}

/* The paths of a function whose code or configuration changed. */
static void fs_invalidate_function(const char *name)
{
	fs_invalidate("/functions/%s", name);
	fs_invalidate("/functions/%s/config.json", name);
	fs_invalidate("/functions/%s/code.zip", name);
	fs_invalidate("/functions/%s/code", name);
	fs_invalidate("/functions/%s/opt", name);
}

void fs_note_function(const char *name, void *arg)
{
	(void)arg;
	fs_invalidate("/functions");
	fs_invalidate_function(name);
}

void fs_set_http(const char *address)
{
	fs.http_address = address;
}

/* ---------- paths ---------- */

static bool next_component(const char **p, char *out, size_t outlen)
{
	const char *s = *p, *e;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	e = strchr(s, '/');
	if (!e)
		e = s + strlen(s);
	if ((size_t)(e - s) >= outlen)
		return false;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	*p = e;
	return true;
}

static bool parse_version(const char *s, int64_t *v)
{
	char *end;

	if (!*s || *s == '0' || strlen(s) > 18)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !errno && !*end && *v > 0;
}

static void parse_path(const char *path, struct fs_path *fp)
{
	const char *p = path;
	char c[256];
	size_t n;

	memset(fp, 0, sizeof(*fp));
	fp->kind = N_NONE;
	if (!next_component(&p, c, sizeof(c))) {
		fp->kind = N_ROOT;
		return;
	}
	if (!strcmp(c, "status")) {
		if (!next_component(&p, c, sizeof(c)))
			fp->kind = N_STATUS;
		return;
	}
	if (!strcmp(c, "functions")) {
		if (!next_component(&p, c, sizeof(c))) {
			fp->kind = N_FUNCS;
			return;
		}
		if (strlen(c) >= sizeof(fp->name))
			return;
		snprintf(fp->name, sizeof(fp->name), "%s", c);
		if (!next_component(&p, c, sizeof(c))) {
			fp->kind = N_FUNC;
			return;
		}
		if (!strcmp(c, "instances")) {
			if (!next_component(&p, c, sizeof(c))) {
				fp->kind = N_INSTANCES;
				return;
			}
			n = strlen(c);
			if (*p || n < 6 || strcmp(c + n - 5, ".json"))
				return;
			c[n - 5] = '\0';
			if (parse_version(c, &fp->version))
				fp->kind = N_INSTANCE;
			return;
		}
		if (!strcmp(c, "invocations")) {
			int i;

			if (!next_component(&p, c, sizeof(c))) {
				fp->kind = N_INVOCATIONS;
				return;
			}
			if (strlen(c) >= sizeof(fp->id))
				return;
			/* length checked: gcc -O1 cannot see it in a
			 * snprintf (-Werror=format-truncation) */
			memcpy(fp->id, c, strlen(c) + 1);
			if (!next_component(&p, c, sizeof(c))) {
				fp->kind = N_INVOCATION;
				return;
			}
			if (*p && strcmp(p, "/"))
				return;
			for (i = 0; i < HISTORY_NPARTS; i++)
				if (!strcmp(c, invpart_names[i])) {
					fp->kind = N_INVPART;
					fp->part = (enum history_part)i;
				}
			return;
		}
		if (!strcmp(c, "code") || !strcmp(c, "opt")) {
			fp->kind = !strcmp(c, "code") ? N_CODE : N_OPT;
			snprintf(fp->rest, sizeof(fp->rest), "%s", p);
			n = strlen(fp->rest);
			while (n > 0 && fp->rest[n - 1] == '/')
				fp->rest[--n] = '\0';
			return;
		}
		if (*p && strcmp(p, "/"))
			return;
		if (!strcmp(c, "config.json"))
			fp->kind = N_CONFIG;
		else if (!strcmp(c, "code.zip"))
			fp->kind = N_CODEZIP;
		else if (!strcmp(c, "invoke"))
			fp->kind = N_INVOKE;
		else if (!strcmp(c, "invoke-async"))
			fp->kind = N_INVOKE_ASYNC;
		else if (!strcmp(c, "logs"))
			fp->kind = N_LOGS;
		return;
	}
	if (!strcmp(c, "layers")) {
		if (!next_component(&p, c, sizeof(c))) {
			fp->kind = N_LAYERS;
			return;
		}
		if (strlen(c) >= sizeof(fp->name))
			return;
		snprintf(fp->name, sizeof(fp->name), "%s", c);
		if (!next_component(&p, c, sizeof(c))) {
			fp->kind = N_LAYER;
			return;
		}
		if (!strcmp(c, "layer.zip")) {
			if (!*p || !strcmp(p, "/"))
				fp->kind = N_LAYERZIP;
			return;
		}
		n = strlen(c);
		if (n > 5 && !strcmp(c + n - 5, ".json")) {
			c[n - 5] = '\0';
			if (parse_version(c, &fp->version) &&
			    (!*p || !strcmp(p, "/")))
				fp->kind = N_LVERJSON;
			return;
		}
		if (parse_version(c, &fp->version)) {
			fp->kind = N_LVER;
			snprintf(fp->rest, sizeof(fp->rest), "%s", p);
			n = strlen(fp->rest);
			while (n > 0 && fp->rest[n - 1] == '/')
				fp->rest[--n] = '\0';
		}
	}
}

/* ---------- helpers ---------- */

static void ms_to_ts(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

static void fill_stat(struct stat *st, mode_t mode, off_t size, int64_t ms)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_size = size;
	st->st_uid = fs.uid;
	st->st_gid = fs.gid;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
	ms_to_ts(ms, &st->st_mtim);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static struct fh *fh_get(struct fuse_file_info *fi)
{
	return fi ? (struct fh *)(uintptr_t)fi->fh : NULL;
}

static struct fh *fh_new(enum fh_kind kind, const struct fs_path *fp)
{
	struct fh *h = xcalloc(1, sizeof(*h));

	h->kind = kind;
	h->node = fp->kind;
	h->fd = -1;
	snprintf(h->name, sizeof(h->name), "%s", fp->name);
	buf_init(&h->w, LAMBDAFS_MAX_CONFIG);
	pthread_mutex_init(&h->io_lock, NULL);
	pthread_mutex_lock(&fs.lock);
	h->next = fs.handles;
	if (fs.handles)
		fs.handles->prev = h;
	fs.handles = h;
	pthread_mutex_unlock(&fs.lock);
	return h;
}

static void fh_free(struct fh *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&fs.lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs.handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs.lock);
	if (h->fd != -1)
		close(h->fd);
	free(h->data);
	free(h->seed);
	buf_release(&h->w);
	pthread_mutex_destroy(&h->io_lock);
	free(h);
}

static bool is_hidden(const char *name)
{
	bool r = false;
	int i;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < FS_MAX_HIDDEN; i++)
		if (!strcmp(fs.hidden[i], name))
			r = true;
	pthread_mutex_unlock(&fs.lock);
	return r;
}

static void set_hidden(const char *name, bool on)
{
	int i, free_slot = -1;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < FS_MAX_HIDDEN; i++) {
		if (!strcmp(fs.hidden[i], name)) {
			if (!on)
				fs.hidden[i][0] = '\0';
			goto out;
		}
		if (!fs.hidden[i][0] && free_slot < 0)
			free_slot = i;
	}
	if (on && free_slot >= 0)
		snprintf(fs.hidden[free_slot], sizeof(fs.hidden[0]), "%s",
			 name);
out:
	pthread_mutex_unlock(&fs.lock);
}

static void removal_arm(const char *name)
{
	pid_t pid = fuse_get_context()->pid;
	int64_t now = util_now_ms();
	size_t i, slot = 0;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < ARRAY_SIZE(fs.removal); i++)
		if (fs.removal[i].until_ms < fs.removal[slot].until_ms)
			slot = i;
	fs.removal[slot].pid = pid;
	snprintf(fs.removal[slot].name, sizeof(fs.removal[slot].name), "%.64s",
		 name);
	fs.removal[slot].until_ms = now + FS_REMOVAL_WINDOW_MS;
	pthread_mutex_unlock(&fs.lock);
}

static bool removal_active(const char *name)
{
	pid_t pid = fuse_get_context()->pid;
	int64_t now = util_now_ms();
	bool r = false;
	size_t i;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < ARRAY_SIZE(fs.removal); i++)
		if (fs.removal[i].pid == pid && fs.removal[i].until_ms > now &&
		    !strcmp(fs.removal[i].name, name))
			r = true;
	pthread_mutex_unlock(&fs.lock);
	return r;
}

static void removal_clear(const char *name)
{
	size_t i;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < ARRAY_SIZE(fs.removal); i++)
		if (!strcmp(fs.removal[i].name, name))
			fs.removal[i].until_ms = 0;
	pthread_mutex_unlock(&fs.lock);
}

/*
 * Uploads in progress: after create(2) the kernel looks the new file up
 * by path (libfuse's create handler, then a path getattr), so a
 * code.zip or layer.zip being written must exist before its first
 * deploy. A full table only means such a lookup fails with ENOENT.
 */
static void staging_add(struct fh *h)
{
	size_t i;

	static uint64_t seq;

	pthread_mutex_lock(&fs.lock);
	h->seq = ++seq;
	for (i = 0; i < ARRAY_SIZE(fs.staging); i++) {
		if (!fs.staging[i]) {
			fs.staging[i] = h;
			break;
		}
	}
	pthread_mutex_unlock(&fs.lock);
}

static void staging_remove(struct fh *h)
{
	size_t i;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < ARRAY_SIZE(fs.staging); i++)
		if (fs.staging[i] == h)
			fs.staging[i] = NULL;
	pthread_mutex_unlock(&fs.lock);
}

static int stage_seed(struct fh *h);

static int stage_truncate(struct fh *h, off_t size)
{
	int r = 0;

	if (size == 0) {
		free(h->seed); /* cp: the old zip is never read */
		h->seed = NULL;
	} else {
		r = stage_seed(h);
	}
	if (r == 0 && ftruncate(h->fd, size) == -1)
		r = -errno;
	if (r == 0)
		h->dirty = true;
	return r;
}

/*
 * The kernel sends the truncate of open(O_TRUNC) without the file handle
 * (atomic_o_trunc is off): it belongs to the staging handle the same
 * process opened last. Without one there is nothing to deploy.
 */
static int staging_truncate(const struct fs_path *fp, off_t size)
{
	pid_t pid = fuse_get_context()->pid;
	struct fh *h = NULL;
	size_t i;
	int r = -EINVAL;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < ARRAY_SIZE(fs.staging); i++)
		if (fs.staging[i] && fs.staging[i]->node == fp->kind &&
		    fs.staging[i]->pid == pid &&
		    !strcmp(fs.staging[i]->name, fp->name) &&
		    (!h || fs.staging[i]->seq > h->seq))
			h = fs.staging[i];
	if (h)
		r = stage_truncate(h, size);
	pthread_mutex_unlock(&fs.lock);
	return r;
}

static bool staging_open(enum node kind, const char *name)
{
	bool r = false;
	size_t i;

	pthread_mutex_lock(&fs.lock);
	for (i = 0; i < ARRAY_SIZE(fs.staging); i++)
		if (fs.staging[i] && fs.staging[i]->node == kind &&
		    !strcmp(fs.staging[i]->name, name))
			r = true;
	pthread_mutex_unlock(&fs.lock);
	return r;
}

/* ---------- generated documents ---------- */

/* status's "docker": where lambdafs finds dockerd and whether a local
 * socket accepts connections (a tcp:// daemon is not probed from a FUSE
 * thread: "reachable" is null then) */
static json_t *docker_status(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *host = getenv("DOCKER_HOST");
	const char *path = "/var/run/docker.sock";
	json_t *reachable;
	int fd, r;

	if (!host || !*host)
		host = "unix:///var/run/docker.sock";
	if (!strncmp(host, "unix://", 7)) {
		path = host + 7;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd == -1 ? -1
			     : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (fd != -1)
			close(fd);
		reachable = json_boolean(r == 0);
	} else {
		reachable = json_null();
	}
	return json_pack("{s:s, s:s, s:o}", "host", host, "network",
			 fs.cfg->docker_network ? fs.cfg->docker_network
						: "host",
			 "reachable", reachable);
}

static char *status_json(size_t *len)
{
	size_t nfn = 0, nly = 0;
	json_t *j, *http;
	char *out;

	registry_counts(fs.reg, &nfn, &nly);
	http = json_pack("{s:s?, s:b}", "address",
			 fs.http_address ? fs.http_address : fs.cfg->http,
			 "listening", fs.http_address != NULL);
	j = json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:I, s:I, s:i, "
		      "s:{s:I, s:I}, s:o, s:o, s:s, s:s?, s:s?}",
		      "version", LAMBDAFS_VERSION, "pid", (int)getpid(),
		      "executor", config_executor_name(fs.cfg->executor),
		      "uptime_seconds",
		      (json_int_t)((util_now_ms() - fs.start_ms) / 1000),
		      "state_dir", fs.cfg->state_dir, "mountpoint",
		      fs.cfg->mountpoint, "functions", (json_int_t)nfn,
		      "layers", (json_int_t)nly, "warm_envs",
		      (int)invoke_env_count(fs.iv), "warm_envs_by_executor",
		      "subprocess",
		      (json_int_t)invoke_env_count_by(fs.iv, "subprocess"),
		      "docker", (json_int_t)invoke_env_count_by(fs.iv, "docker"),
		      "http", http,
		      "docker", docker_status(), "fuse",
		      fs_fuse_version(), "isolation",
		      fs.iv ? invoke_isolation(fs.iv) : NULL, "memory",
		      fs.iv ? invoke_memory_accounting(fs.iv) : NULL);
	if (j)
		json_object_set_new(j, "async_pending",
				    json_integer((json_int_t)
						 invoke_async_pending(fs.iv)));
	out = util_json_pretty(j, len);
	json_decref(j);
	return out;
}

/* The document a generated node shows; NULL + errno if it does not exist. */
static char *gen_doc(const struct fs_path *fp, size_t *len)
{
	switch (fp->kind) {
	case N_STATUS:
		return status_json(len);
	case N_CONFIG:
		return registry_function_config(fs.reg, fp->name, len);
	case N_LVERJSON:
		return registry_layer_version_json(fs.reg, fp->name,
						   fp->version, len);
	case N_INSTANCE:
		return invoke_instance_json(fs.iv, fp->name,
					    (unsigned)fp->version, len);
	default:
		errno = EINVAL;
		return NULL;
	}
}

/* ---------- trees: code/, opt/, layers/X/N/ ---------- */

/*
 * Resolves a tree node to a real path. For opt/ the function's layers
 * are searched from the last to the first (later wins). Returns a
 * malloc'd path, or NULL with errno.
 */
static char *tree_real(const struct fs_path *fp)
{
	char *base = NULL, *real = NULL;
	char **dirs = NULL;
	struct stat st;
	int n, i;

	switch (fp->kind) {
	case N_CODE:
		base = registry_function_code_dir(fs.reg, fp->name);
		break;
	case N_LVER:
		base = registry_layer_version_dir(fs.reg, fp->name,
						  fp->version);
		break;
	case N_OPT:
		n = registry_function_layer_dirs(fs.reg, fp->name, &dirs);
		if (n < 0) {
			errno = -n;
			return NULL;
		}
		for (i = n - 1; i >= 0 && !real; i--) {
			char *p = xasprintf("%s%s", dirs[i], fp->rest);

			if (lstat(p, &st) == 0)
				real = p;
			else
				free(p);
		}
		registry_free_strv(dirs, (size_t)n);
		if (!real)
			errno = ENOENT;
		return real;
	default:
		errno = EINVAL;
		return NULL;
	}
	if (!base)
		return NULL;
	real = xasprintf("%s%s", base, fp->rest);
	free(base);
	return real;
}

static int tree_getattr(const struct fs_path *fp, struct stat *st)
{
	struct function_info fi;
	char *real;
	int r;

	if (fp->kind != N_LVER && !fp->rest[0]) {
		/* code/ and opt/ exist even before a deploy or layers */
		r = registry_function_stat(fs.reg, fp->name, &fi);
		if (r < 0)
			return r;
		fill_stat(st, S_IFDIR | 0555,
			  0, fp->kind == N_CODE && fi.has_code
				     ? fi.code_mtime_ms : fi.modified_ms);
		return 0;
	}
	real = tree_real(fp);
	if (!real)
		return -errno;
	r = lstat(real, st) == -1 ? -errno : 0;
	free(real);
	if (r < 0)
		return r;
	st->st_mode &= ~(mode_t)(S_IWUSR | S_IWGRP | S_IWOTH | S_ISUID |
				 S_ISGID | S_ISVTX);
	st->st_uid = fs.uid;
	st->st_gid = fs.gid;
	return 0;
}

struct dirfill {
	void *buf;
	fuse_fill_dir_t filler;
	enum fuse_readdir_flags flags;
};

static void fill_name(struct dirfill *df, const char *name,
		      const struct stat *st)
{
	df->filler(df->buf, name, st,
		   0, st && (df->flags & FUSE_READDIR_PLUS)
			      ? FUSE_FILL_DIR_PLUS : 0);
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tree_readdir(const struct fs_path *fp, struct dirfill *df)
{
	char **dirs = NULL, **names = NULL;
	size_t nnames = 0, cap = 0, i;
	int n, k, r = 0;
	bool any = false;

	if (fp->kind == N_OPT) {
		n = registry_function_layer_dirs(fs.reg, fp->name, &dirs);
		if (n < 0)
			return n;
	} else {
		char *base = fp->kind == N_CODE
				     ? registry_function_code_dir(fs.reg,
								  fp->name)
				     : registry_layer_version_dir(
					       fs.reg, fp->name, fp->version);

		if (!base) {
			struct function_info fi;

			if (fp->kind == N_CODE && !fp->rest[0] &&
			    registry_function_stat(fs.reg, fp->name, &fi) == 0)
				return 0; /* empty before the first deploy */
			return -errno;
		}
		dirs = xcalloc(1, sizeof(*dirs));
		dirs[0] = base;
		n = 1;
	}
	for (k = 0; k < n; k++) {
		char *p = xasprintf("%s%s", dirs[k], fp->rest);
		DIR *d = opendir(p);
		struct dirent *de;

		free(p);
		if (!d)
			continue;
		any = true;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			if (nnames == cap) {
				cap = cap ? cap * 2 : 64;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[nnames++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	registry_free_strv(dirs, (size_t)n);
	if (!any && (fp->kind != N_OPT || fp->rest[0])) {
		r = -ENOENT;
		goto out;
	}
	if (nnames)
		qsort(names, nnames, sizeof(*names), names_cmp);
	for (i = 0; i < nnames; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]))
			fill_name(df, names[i], NULL);
out:
	registry_free_strv(names, nnames);
	return r;
}

/* ---------- FUSE operations ---------- */

static int zip_getattr(const struct fs_path *fp, struct stat *st,
		       struct fuse_file_info *fi)
{
	struct fh *h = fh_get(fi);
	struct function_info info;
	struct stat real;
	int64_t created, latest;
	char *zip;
	int r;

	if (h && h->kind == FH_STAGE) {
		r = stage_seed(h);
		if (r < 0)
			return r;
		if (fstat(h->fd, &real) == -1)
			return -errno;
		fill_stat(st, S_IFREG | 0644, real.st_size, util_now_ms());
		return 0;
	}
	if (fp->kind == N_CODEZIP) {
		r = registry_function_stat(fs.reg, fp->name, &info);
		if (r < 0)
			return r;
		if (!info.has_code || is_hidden(fp->name)) {
			if (!staging_open(N_CODEZIP, fp->name))
				return -ENOENT;
			fill_stat(st, S_IFREG | 0644, 0, util_now_ms());
			return 0;
		}
		fill_stat(st, S_IFREG | 0644, info.code_size,
			  info.code_mtime_ms);
		return 0;
	}
	r = registry_layer_stat(fs.reg, fp->name, &created, &latest);
	if (r < 0)
		return r;
	if (!latest) {
		if (!staging_open(N_LAYERZIP, fp->name))
			return -ENOENT;
		fill_stat(st, S_IFREG | 0644, 0, util_now_ms());
		return 0;
	}
	zip = registry_layer_version_zip(fs.reg, fp->name, latest);
	if (!zip)
		return -errno;
	r = stat(zip, &real) == -1 ? -errno : 0;
	free(zip);
	if (r == 0)
		fill_stat(st, S_IFREG | 0644, real.st_size, created);
	return r;
}

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct function_info info;
	struct fs_path fp;
	int64_t created, latest;
	size_t len;
	char *doc;
	int r;

	parse_path(path, &fp);
	switch (fp.kind) {
	case N_ROOT:
		fill_stat(st, S_IFDIR | 0755, 0, fs.start_ms);
		st->st_nlink = 4;
		return 0;
	case N_FUNCS:
		fill_stat(st, S_IFDIR | 0755, 0,
			  registry_functions_mtime(fs.reg));
		return 0;
	case N_LAYERS:
		fill_stat(st, S_IFDIR | 0755, 0, fs.start_ms);
		return 0;
	case N_FUNC:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		fill_stat(st, S_IFDIR | 0755, 0, info.modified_ms);
		st->st_nlink = 4;
		return 0;
	case N_INSTANCES:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		fill_stat(st, S_IFDIR | 0555, 0, util_now_ms());
		return 0;
	case N_STATUS:
	case N_CONFIG:
	case N_LVERJSON:
	case N_INSTANCE:
		doc = gen_doc(&fp, &len);
		if (!doc)
			return -errno;
		free(doc);
		if (fp.kind == N_CONFIG) {
			r = registry_function_stat(fs.reg, fp.name, &info);
			if (r < 0)
				return r;
			fill_stat(st, S_IFREG | 0644, (off_t)len,
				  info.modified_ms);
		} else {
			fill_stat(st, S_IFREG | 0444, (off_t)len,
				  fp.kind == N_STATUS ? util_now_ms()
						      : fs.start_ms);
			if (fp.kind == N_LVERJSON &&
			    registry_layer_stat(fs.reg, fp.name, &created,
						&latest) == 0)
				ms_to_ts(created, &st->st_mtim);
		}
		return 0;
	case N_CODEZIP:
	case N_LAYERZIP:
		return zip_getattr(&fp, st, fi);
	case N_INVOKE:
	case N_INVOKE_ASYNC:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		/*
		 * A live endpoint: the size is the largest event accepted.
		 * It must not be 0: the kernel serialises direct_io writes
		 * past the size (fschan.h).
		 */
		fill_stat(st, S_IFREG | (fp.kind == N_INVOKE ? 0666 : 0222),
			  FS_INVOKE_MAX_EVENT, info.modified_ms);
		return 0;
	case N_INVOCATIONS:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		fill_stat(st, S_IFDIR | 0555, 0, util_now_ms());
		return 0;
	case N_INVOCATION:
	case N_INVPART: {
		struct history_item it;

		r = history_stat(invoke_history(fs.iv), fp.name, fp.id, &it);
		if (r < 0)
			return r;
		if (fp.kind == N_INVOCATION)
			fill_stat(st, S_IFDIR | 0555, 0, it.mtime_ms);
		else
			fill_stat(st, S_IFREG | 0444, (off_t)it.len[fp.part],
				  it.mtime_ms);
		return 0;
	}
	case N_LOGS: {
		struct stat real;
		char *lp;

		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		lp = invoke_log_path(fs.iv, fp.name);
		if (stat(lp, &real) == 0) {
			fill_stat(st, S_IFREG | 0644, real.st_size, 0);
			st->st_mtim = real.st_mtim;
			st->st_ctim = real.st_mtim;
		} else {
			fill_stat(st, S_IFREG | 0644, 0, info.created_ms);
		}
		free(lp);
		return 0;
	}
	case N_LAYER:
		r = registry_layer_stat(fs.reg, fp.name, &created, &latest);
		if (r < 0)
			return r;
		fill_stat(st, S_IFDIR | 0755, 0, created);
		return 0;
	case N_CODE:
	case N_OPT:
	case N_LVER:
		return tree_getattr(&fp, st);
	case N_NONE:
	default:
		return -ENOENT;
	}
}

static void fill_function(const struct function_info *info, void *arg)
{
	struct stat st;

	fill_stat(&st, S_IFDIR | 0755, 0, info->modified_ms);
	fill_name(arg, info->name, &st);
}

static void fill_layer(const char *name, void *arg)
{
	fill_name(arg, name, NULL);
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct dirfill df = { buf, filler, flags };
	struct layer_version_info *v = NULL;
	struct function_info info;
	struct fs_path fp;
	char name[48];
	int n, i, r;

	(void)off;
	(void)fi;
	parse_path(path, &fp);
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (fp.kind) {
	case N_ROOT:
		fill_name(&df, "status", NULL);
		fill_name(&df, "functions", NULL);
		fill_name(&df, "layers", NULL);
		return 0;
	case N_FUNCS:
		registry_function_foreach(fs.reg, fill_function, &df);
		return 0;
	case N_LAYERS:
		registry_layer_foreach(fs.reg, fill_layer, &df);
		return 0;
	case N_FUNC:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		/* config.json first: see the rm -r note at the top */
		fill_name(&df, "config.json", NULL);
		if (info.has_code && !is_hidden(fp.name))
			fill_name(&df, "code.zip", NULL);
		fill_name(&df, "code", NULL);
		fill_name(&df, "opt", NULL);
		fill_name(&df, "invoke", NULL);
		fill_name(&df, "invoke-async", NULL);
		fill_name(&df, "logs", NULL);
		fill_name(&df, "invocations", NULL);
		fill_name(&df, "instances", NULL);
		return 0;
	case N_INVOCATIONS: {
		struct history_item *items;
		struct stat st;
		size_t k, cnt;

		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		cnt = history_list(invoke_history(fs.iv), fp.name, &items);
		for (k = 0; k < cnt; k++) {
			fill_stat(&st, S_IFDIR | 0555, 0, items[k].mtime_ms);
			fill_name(&df, items[k].id, &st);
		}
		free(items);
		return 0;
	}
	case N_INVOCATION: {
		struct history_item it;

		r = history_stat(invoke_history(fs.iv), fp.name, fp.id, &it);
		if (r < 0)
			return r;
		for (i = 0; i < HISTORY_NPARTS; i++)
			fill_name(&df, invpart_names[i], NULL);
		return 0;
	}
	case N_INSTANCES: {
		unsigned *ids;
		size_t k, cnt;

		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		cnt = invoke_instances(fs.iv, fp.name, &ids);
		for (k = 0; k < cnt; k++) {
			snprintf(name, sizeof(name), "%u.json", ids[k]);
			fill_name(&df, name, NULL);
		}
		free(ids);
		return 0;
	}
	case N_LAYER:
		n = registry_layer_versions(fs.reg, fp.name, &v);
		if (n < 0)
			return n;
		if (n > 0)
			fill_name(&df, "layer.zip", NULL);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%" PRId64, v[i].version);
			fill_name(&df, name, NULL);
			snprintf(name, sizeof(name), "%" PRId64 ".json",
				 v[i].version);
			fill_name(&df, name, NULL);
		}
		free(v);
		return 0;
	case N_CODE:
	case N_OPT:
	case N_LVER:
		return tree_readdir(&fp, &df);
	case N_NONE:
	default:
		return -ENOTDIR;
	}
}

static int fs_mkdir(const char *path, mode_t mode)
{
	struct fs_path fp;

	(void)mode;
	parse_path(path, &fp);
	switch (fp.kind) {
	case N_FUNC:
		return registry_function_create(fs.reg, fp.name);
	case N_LAYER:
		return registry_layer_create(fs.reg, fp.name);
	case N_CODE:
	case N_OPT:
	case N_LVER:
		return -EROFS;
	case N_NONE:
		return -EPERM;
	default:
		return -EEXIST;
	}
}

static int fs_rmdir(const char *path)
{
	struct fs_path fp;
	int r;

	parse_path(path, &fp);
	switch (fp.kind) {
	case N_FUNC:
		r = registry_function_delete(fs.reg, fp.name);
		if (r == 0) {
			char *lp = invoke_log_path(fs.iv, fp.name);

			invoke_forget(fs.iv, fp.name);
			unlink(lp);
			free(lp);
			removal_clear(fp.name);
			set_hidden(fp.name, false);
		}
		return r;
	case N_LAYER:
		return registry_layer_delete(fs.reg, fp.name);
	case N_LVER:
		if (fp.rest[0])
			return -EROFS;
		r = registry_layer_version_delete(fs.reg, fp.name, fp.version);
		fs_invalidate("/layers/%s/layer.zip", fp.name);
		return r;
	case N_CODE:
	case N_OPT:
	case N_INSTANCES:
	case N_INVOCATIONS:
	case N_INVOCATION:
		return removal_active(fp.name) ? 0 : -EROFS;
	case N_NONE:
		return -ENOENT;
	default:
		return -EPERM;
	}
}

static int fs_unlink(const char *path)
{
	struct function_info info;
	struct fs_path fp;
	int r;

	parse_path(path, &fp);
	switch (fp.kind) {
	case N_CONFIG:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		removal_arm(fp.name);
		return 0;
	case N_CODEZIP:
		if (removal_active(fp.name))
			return 0;
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		if (!info.has_code)
			return -ENOENT;
		/* the deployed code stays in force; see the note on top */
		set_hidden(fp.name, true);
		fs_invalidate("/functions/%s", fp.name);
		return 0;
	case N_CODE:
	case N_OPT:
		return removal_active(fp.name) ? 0 : -EROFS;
	case N_INVOKE:
	case N_INVOKE_ASYNC:
	case N_LOGS:
	case N_INSTANCE:
		return removal_active(fp.name) ? 0 : -EPERM;
	case N_INVPART:
		return removal_active(fp.name) ? 0 : -EROFS;
	case N_LVER:
	case N_LVERJSON:
	case N_LAYERZIP:
		return -EROFS;
	case N_NONE:
		return -ENOENT;
	default:
		return -EPERM;
	}
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	(void)from;
	(void)to;
	(void)flags;
	return -EPERM;
}

static bool wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/*
 * A staging file starts as a copy of the current zip, as any file opened
 * without O_TRUNC does. The kernel sends O_TRUNC as a separate truncate
 * (atomic_o_trunc is off, see fs_init), so the copy waits for the first
 * read, write or stat: `cp new.zip code.zip` truncates first and never
 * pays for copying the old zip.
 */
static int stage_seed(struct fh *h)
{
	struct stat st;
	off_t left;
	int src, r = 0;

	pthread_mutex_lock(&h->io_lock);
	if (!h->seed) {
		pthread_mutex_unlock(&h->io_lock);
		return 0;
	}
	src = open(h->seed, O_RDONLY | O_CLOEXEC);
	free(h->seed);
	h->seed = NULL;
	if (src == -1) {
		r = errno == ENOENT ? 0 : -errno;
		pthread_mutex_unlock(&h->io_lock);
		return r;
	}
	if (fstat(src, &st) == -1)
		r = -errno;
	for (left = r ? 0 : st.st_size; left > 0;) {
		ssize_t n = copy_file_range(src, NULL, h->fd, NULL,
					    (size_t)left, 0);

		if (n <= 0) {
			r = n == 0 ? -EIO : -errno;
			break;
		}
		left -= n;
	}
	close(src);
	pthread_mutex_unlock(&h->io_lock);
	return r;
}

static int open_stage(const struct fs_path *fp, struct fuse_file_info *fi,
		      bool truncate)
{
	struct fh *h;
	char *current = NULL;
	int fd;

	fd = open(registry_tmp_dir(fs.reg), O_TMPFILE | O_RDWR | O_CLOEXEC,
		  0600);
	if (fd == -1)
		return -errno;
	if (!truncate) {
		current = fp->kind == N_CODEZIP
				  ? registry_function_zip_path(fs.reg, fp->name)
				  : NULL;
		if (fp->kind == N_LAYERZIP) {
			int64_t created, latest;

			if (registry_layer_stat(fs.reg, fp->name, &created,
						&latest) == 0 && latest)
				current = registry_layer_version_zip(
					fs.reg, fp->name, latest);
		}
	}
	h = fh_new(FH_STAGE, fp);
	h->fd = fd;
	h->seed = current; /* copied only if not truncated first */
	h->pid = fuse_get_context()->pid;
	h->readable = (fi->flags & O_ACCMODE) == O_RDWR;
	staging_add(h);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	if (fp->kind == N_CODEZIP)
		set_hidden(fp->name, false);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_path fp;
	struct fh *h;
	char *real = NULL;
	int fd, r;

	parse_path(path, &fp);
	switch (fp.kind) {
	case N_STATUS:
	case N_LVERJSON:
	case N_INSTANCE:
	case N_CONFIG:
		if (wants_write(fi->flags) && fp.kind != N_CONFIG)
			return fp.kind == N_STATUS ? -EACCES : -EROFS;
		h = fh_new(fp.kind == N_CONFIG ? FH_CONFIG : FH_SNAPSHOT, &fp);
		h->data = gen_doc(&fp, &h->len);
		if (!h->data) {
			r = -errno;
			fh_free(h);
			return r;
		}
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	case N_CODEZIP:
	case N_LAYERZIP: {
		struct stat st;

		r = zip_getattr(&fp, &st, NULL);
		if (wants_write(fi->flags)) {
			if (r < 0 && r != -ENOENT)
				return r;
			return open_stage(&fp, fi, (fi->flags & O_TRUNC) != 0);
		}
		if (r < 0)
			return r;
		if (fp.kind == N_CODEZIP) {
			real = registry_function_zip_path(fs.reg, fp.name);
		} else {
			int64_t created, latest;

			if (registry_layer_stat(fs.reg, fp.name, &created,
						&latest) == 0 && latest)
				real = registry_layer_version_zip(
					fs.reg, fp.name, latest);
		}
		break;
	}
	case N_CODE:
	case N_OPT:
	case N_LVER:
		if (wants_write(fi->flags) || (fi->flags & O_TRUNC))
			return -EROFS;
		real = tree_real(&fp);
		break;
	case N_INVPART:
		if (wants_write(fi->flags) || (fi->flags & O_TRUNC))
			return -EROFS;
		h = fh_new(FH_SNAPSHOT, &fp);
		r = history_read(invoke_history(fs.iv), fp.name, fp.id, fp.part,
				 &h->data, &h->len);
		if (r < 0) {
			fh_free(h);
			return r;
		}
		fi->fh = (uintptr_t)h;
		fi->keep_cache = 1; /* a finished invocation never changes */
		return 0;
	case N_INVOKE_ASYNC:
	case N_INVOKE: {
		struct function_info info;

		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		if (fp.kind == N_INVOKE_ASYNC && !wants_write(fi->flags))
			return -EACCES; /* write-only: Events have no answer */
		h = fh_new(FH_INVOKE, &fp);
		h->async = fp.kind == N_INVOKE_ASYNC;
		buf_init(&h->w, FS_INVOKE_MAX_IN);
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		fi->nonseekable = 1;
		/*
		 * Writers of one invoke file run side by side: fschan sets
		 * FOPEN_PARALLEL_DIRECT_WRITES on this handle's open reply.
		 * An O_TRUNC open (`echo > invoke`) still waits for writes in
		 * flight: the kernel truncates under the exclusive inode lock.
		 */
		return 0;
	}
	case N_LOGS: {
		struct function_info info;

		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		real = invoke_log_path(fs.iv, fp.name);
		if (fi->flags & O_TRUNC) {
			/* `: > logs` clears it */
			if (truncate(real, 0) == -1 && errno != ENOENT) {
				r = -errno;
				free(real);
				return r;
			}
			fs_invalidate("/functions/%s/logs", fp.name);
		}
		if (wants_write(fi->flags)) {
			/* nothing can be written; the handle only exists so
			 * that the truncating open succeeds */
			free(real);
			h = fh_new(FH_SNAPSHOT, &fp);
			h->data = xstrdup("");
			fi->fh = (uintptr_t)h;
			return 0;
		}
		fd = open(real, O_RDONLY | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT) {
			free(real);
			h = fh_new(FH_SNAPSHOT, &fp);
			h->data = xstrdup("");
			fi->fh = (uintptr_t)h;
			fi->direct_io = 1;
			return 0;
		}
		free(real);
		if (fd == -1)
			return -errno;
		h = fh_new(FH_FD, &fp);
		h->fd = fd;
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	}
	case N_NONE:
		return -ENOENT;
	default:
		return -EISDIR;
	}
	if (!real)
		return -errno;
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	r = -errno;
	free(real);
	if (fd == -1)
		return r;
	h = fh_new(FH_FD, &fp);
	h->fd = fd;
	fi->fh = (uintptr_t)h;
	/* direct_io: with attributes cached for a second (see fs_init), a
	 * page-cached read could stop at a stale size after a redeploy. */
	fi->direct_io = 1;
	return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct function_info info;
	struct fs_path fp;
	int64_t created, latest;
	int r;

	(void)mode;
	parse_path(path, &fp);
	switch (fp.kind) {
	case N_CODEZIP:
		r = registry_function_stat(fs.reg, fp.name, &info);
		if (r < 0)
			return r;
		return open_stage(&fp, fi, true);
	case N_LAYERZIP:
		r = registry_layer_stat(fs.reg, fp.name, &created, &latest);
		if (r < 0)
			return r;
		return open_stage(&fp, fi, true);
	case N_CONFIG:
		return fs_open(path, fi);
	case N_CODE:
	case N_OPT:
	case N_LVER:
	case N_LVERJSON:
		return -EROFS;
	case N_NONE:
	default:
		/* only the files DESIGN.md §2 names can exist */
		return -EPERM;
	}
}

static bool fs_req_interrupted(void *arg)
{
	(void)arg;
	return fuse_interrupted() ||
	       (fs.fuse && fuse_session_exited(fuse_get_session(fs.fuse)));
}

/*
 * Runs the event in h->w[from, from + len) and appends its response and a
 * newline to the handle's output. Returns 0 or the errno of DESIGN.md
 * §2's table.
 */
static int invoke_one(struct fh *h, size_t from, size_t len)
{
	struct invoke_opts opts = { NULL, fs_req_interrupted, NULL };
	struct invoke_result res;
	json_error_t jerr;
	json_t *j;
	int r;

	/* the value without the whitespace that separated it from the last */
	while (len && strchr(" \t\r\n", h->w.data[from])) {
		from++;
		len--;
	}
	if (len > FS_INVOKE_MAX_EVENT)
		return -EFBIG;
	j = json_loadb(h->w.data + from, len, JSON_DECODE_ANY, &jerr);
	if (!j)
		return -EINVAL;
	json_decref(j);
	if (h->async) {
		char id[37];

		if (len > INVOKE_ASYNC_MAX)
			return -EFBIG;
		r = invoke_async(fs.iv, h->name, h->w.data + from, len, id);
		if (r == 0)
			fs_invalidate("/functions/%s/invocations", h->name);
		return r;
	}
	r = invoke_sync(fs.iv, h->name, h->w.data + from, len, &opts, &res);
	if (res.payload) {
		size_t keep = h->len - h->rpos;
		char *nd = xmalloc(keep + res.len + 2);

		if (keep)
			memcpy(nd, h->data + h->rpos, keep);
		memcpy(nd + keep, res.payload, res.len);
		nd[keep + res.len] = '\n';
		nd[keep + res.len + 1] = '\0';
		free(h->data);
		h->data = nd;
		h->len = keep + res.len + 1;
		h->rpos = 0;
	}
	invoke_result_release(&res);
	return r == -ESHUTDOWN ? -EINTR : r;
}

static int invoke_write_run(struct fh *h, const char *data, size_t size);

static int invoke_write(struct fh *h, const char *data, size_t size)
{
	int r;

	if (h->snapped) {
		/* a reader that starts writing reads its own answers */
		free(h->data);
		h->data = NULL;
		h->len = h->rpos = 0;
		h->snapped = false;
	}
	/*
	 * The kernel splits a large write(2) into several requests; when one
	 * fails, the caller sees a short write and sends the rest again (cat
	 * does). Those leftover bytes are the tail of the failed value, so
	 * every write gets the same error until the writer closes (flush).
	 */
	if (h->err)
		return h->err;
	h->wrote = true;
	r = invoke_write_run(h, data, size);
	if (r < 0)
		h->err = r;
	return r;
}

static int invoke_write_run(struct fh *h, const char *data, size_t size)
{
	size_t end;
	int r, s;

	r = buf_append(&h->w, data, size);
	if (r < 0) {
		buf_reset(&h->w);
		h->applied = 0;
		return -EFBIG;
	}
	while (h->applied < h->w.len) {
		s = util_json_scan(h->w.data + h->applied,
				   h->w.len - h->applied, &end);
		if (s == 0) {
			if (h->w.len - h->applied > FS_INVOKE_MAX_EVENT) {
				buf_reset(&h->w);
				h->applied = 0;
				return -EFBIG;
			}
			break;
		}
		if (s < 0) {
			buf_reset(&h->w);
			h->applied = 0;
			return -EINVAL;
		}
		r = invoke_one(h, h->applied, end);
		h->applied += end;
		if (r < 0) {
			buf_reset(&h->w);
			h->applied = 0;
			return r;
		}
	}
	/* compact: drop what has been run */
	if (h->applied == h->w.len) {
		buf_reset(&h->w);
		h->applied = 0;
	}
	return (int)size;
}

static int invoke_read(struct fh *h, char *out, size_t size)
{
	if (h->async)
		return 0;
	if (!h->wrote && !h->snapped) {
		h->data = invoke_latest(fs.iv, h->name, &h->len);
		if (h->data) {
			h->data = xrealloc(h->data, h->len + 2);
			h->data[h->len++] = '\n';
			h->data[h->len] = '\0';
		}
		h->rpos = 0;
		h->snapped = true;
	}
	if (!h->data || h->rpos >= h->len)
		return 0;
	if (size > h->len - h->rpos)
		size = h->len - h->rpos;
	memcpy(out, h->data + h->rpos, size);
	h->rpos += size;
	return (int)size;
}

static int fs_read(const char *path, char *out, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fh *h = fh_get(fi);
	ssize_t n;
	int r;

	(void)path;
	switch (h->kind) {
	case FH_SNAPSHOT:
	case FH_CONFIG:
		if ((size_t)off >= h->len)
			return 0;
		if (size > h->len - (size_t)off)
			size = h->len - (size_t)off;
		memcpy(out, h->data + off, size);
		return (int)size;
	case FH_STAGE:
		r = stage_seed(h);
		if (r < 0)
			return r;
		__attribute__((fallthrough));
	case FH_FD:
		n = pread(h->fd, out, size, off);
		return n == -1 ? -errno : (int)n;
	case FH_INVOKE:
		pthread_mutex_lock(&h->io_lock);
		r = invoke_read(h, out, size);
		pthread_mutex_unlock(&h->io_lock);
		return r;
	default:
		return -EIO;
	}
}

static int config_apply(struct fh *h, size_t end)
{
	char *cause = NULL;
	int r;

	r = registry_function_configure(fs.reg, h->name,
					h->w.data + h->applied,
					end - h->applied, &cause);
	h->applied = end;
	free(cause); /* the registry logged and recorded it */
	fs_invalidate_function(h->name);
	return r;
}

/* Applies every complete JSON value written so far. */
static int config_drain(struct fh *h)
{
	size_t end;
	int r = 0, s;

	while (h->applied < h->w.len) {
		s = util_json_scan(h->w.data + h->applied,
				   h->w.len - h->applied, &end);
		if (s == 0)
			break;
		if (s < 0) {
			config_apply(h, h->w.len);
			return -EINVAL;
		}
		r = config_apply(h, h->applied + end);
		if (r < 0)
			return r;
	}
	return r;
}

static int fs_write(const char *path, const char *data, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	struct fh *h = fh_get(fi);
	ssize_t n;
	int r;

	(void)path;
	switch (h->kind) {
	case FH_CONFIG:
		/* writes append: config.json is replaced, never patched */
		r = buf_append(&h->w, data, size);
		if (r < 0)
			return r;
		r = config_drain(h);
		return r < 0 ? r : (int)size;
	case FH_STAGE:
		if ((uint64_t)off + size > LAMBDAFS_MAX_ZIP)
			return -EFBIG;
		r = stage_seed(h);
		if (r < 0)
			return r;
		n = pwrite(h->fd, data, size, off);
		if (n == -1)
			return -errno;
		h->dirty = true;
		util_start_writeback(h->fd, off, (size_t)n);
		return (int)n;
	case FH_INVOKE:
		pthread_mutex_lock(&h->io_lock);
		r = invoke_write(h, data, size);
		pthread_mutex_unlock(&h->io_lock);
		return r;
	case FH_SNAPSHOT:
		return h->node == N_LOGS ? -EPERM : -EROFS;
	case FH_FD:
	default:
		return -EROFS;
	}
}

static int stage_commit(struct fh *h)
{
	char *cause = NULL;
	int64_t version = 0;
	int r;

	if (h->node == N_CODEZIP) {
		r = registry_function_deploy(fs.reg, h->name, h->fd, &cause);
		fs_invalidate_function(h->name);
	} else {
		r = registry_layer_publish(fs.reg, h->name, h->fd, &version,
					   &cause);
		fs_invalidate("/layers/%s", h->name);
		fs_invalidate("/layers/%s/layer.zip", h->name);
	}
	free(cause);
	h->dirty = false;
	return r;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = fh_get(fi);
	size_t end;

	(void)path;
	if (h->kind == FH_STAGE && h->dirty)
		return stage_commit(h);
	if (h->kind == FH_INVOKE)
		h->err = 0;
	if (h->kind == FH_INVOKE && h->applied < h->w.len) {
		bool blank = strspn(h->w.data + h->applied, " \t\r\n") ==
			     h->w.len - h->applied;

		/* an incomplete value at close is dropped: EINVAL */
		buf_reset(&h->w);
		h->applied = 0;
		return blank ? 0 : -EINVAL;
	}
	if (h->kind == FH_CONFIG && h->applied < h->w.len) {
		/* only whitespace left is fine; anything else is an
		 * incomplete value at close */
		if (util_json_scan(h->w.data + h->applied,
				   h->w.len - h->applied, &end) == 0 &&
		    strspn(h->w.data + h->applied, " \t\r\n") ==
			    h->w.len - h->applied) {
			h->applied = h->w.len;
			return 0;
		}
		return config_apply(h, h->w.len);
	}
	return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = fh_get(fi);

	(void)path;
	if (h->kind == FH_STAGE)
		staging_remove(h);
	fh_free(h);
	return 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fh *h = fh_get(fi);
	struct fs_path fp;

	if (h && h->kind == FH_STAGE)
		return stage_truncate(h, size);
	if (h && h->kind == FH_CONFIG)
		return 0;
	parse_path(path, &fp);
	switch (fp.kind) {
	case N_CONFIG:
	case N_INVOKE:
	case N_INVOKE_ASYNC:
		return 0; /* the next write replaces it whole */
	case N_LOGS: {
		char *lp = invoke_log_path(fs.iv, fp.name);
		int r = 0;

		if (size != 0)
			r = -EPERM;
		else if (truncate(lp, 0) == -1 && errno != ENOENT)
			r = -errno;
		free(lp);
		return r;
	}
	case N_CODEZIP:
	case N_LAYERZIP:
		/* open(O_TRUNC) truncates by path right after the open */
		return staging_truncate(&fp, size);
	case N_CODE:
	case N_OPT:
	case N_LVER:
	case N_LVERJSON:
		return -EROFS;
	case N_STATUS:
		return -EACCES;
	case N_NONE:
		return -ENOENT;
	default:
		return -EISDIR;
	}
}

/* chmod, chown, utimens: accepted and ignored on our own files so that
 * cp -p, install and shutil.copy work; refused inside trees. */
static int meta_change(const char *path)
{
	struct fs_path fp;
	struct stat st;
	int r;

	parse_path(path, &fp);
	switch (fp.kind) {
	case N_CODE:
	case N_OPT:
	case N_LVER:
	case N_LVERJSON:
		return -EROFS;
	default:
		r = fs_getattr(path, &st, NULL);
		return r == -ENOENT && (fp.kind == N_CODEZIP ||
					fp.kind == N_LAYERZIP) ? 0 : r;
	}
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	(void)fi;
	return meta_change(path);
}

static int fs_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	(void)fi;
	return meta_change(path);
}

static int fs_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	(void)tv;
	(void)fi;
	return meta_change(path);
}

static int fs_readlink(const char *path, char *out, size_t size)
{
	struct fs_path fp;
	char *real;
	ssize_t n;

	parse_path(path, &fp);
	if (fp.kind != N_CODE && fp.kind != N_OPT && fp.kind != N_LVER)
		return -EINVAL;
	real = tree_real(&fp);
	if (!real)
		return -errno;
	n = readlink(real, out, size - 1);
	free(real);
	if (n == -1)
		return -errno;
	out[n] = '\0';
	return 0;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	if (statvfs(fs.cfg->state_dir, sv) == -1)
		return -errno;
	sv->f_namemax = 255;
	return 0;
}

/* Writers of one invoke file run side by side (fschan.h). */
static bool fs_parallel_ok(uint64_t fh)
{
	const struct fh *h = (const struct fh *)(uintptr_t)fh;

	return h && h->kind == FH_INVOKE;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/*
	 * O_TRUNC as a separate truncate: with atomic_o_trunc the kernel
	 * sets an invoke file's size to 0 after the open, and a direct_io
	 * write past the size always takes the inode lock exclusively,
	 * which would serialise `echo > invoke` callers again (fschan.h).
	 */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	cfg->use_ino = 0;
	/*
	 * Attributes and entries are cached for a second: `ls -l` of 1,000
	 * functions drops from ~260 ms to ~10 ms. Every file whose content
	 * changes is opened with direct_io, so content is always current;
	 * after our own changes the affected paths are invalidated at once
	 * (fs_invalidate), so only sizes of files inside code/ may lag a
	 * redeploy by up to a second.
	 */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 1;
	/*
	 * Ctrl-C reaches a caller blocked in invoke: libfuse then signals
	 * the worker with SIGUSR1, whose no-op handler fs_main installs
	 * (libfuse 3.14 only installs its own when intr is set before
	 * fuse_new, and has no option for it).
	 */
	cfg->intr = 1;
	cfg->intr_signal = SIGUSR1;
	cfg->nullpath_ok = 0;
	return NULL;
}

static const struct fuse_operations fs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.unlink = fs_unlink,
	.rename = fs_rename,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.truncate = fs_truncate,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.utimens = fs_utimens,
	.readlink = fs_readlink,
	.statfs = fs_statfs,
};

/* ---------- mounting ---------- */

const char *fs_fuse_version(void)
{
	return fuse_pkgversion();
}

int fs_check_mountpoint(const char *mnt, char **cause)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	bool empty = true;

	*cause = NULL;
	if (stat(mnt, &st) == -1) {
		if (errno == ENOTCONN)
			*cause = xasprintf("mountpoint '%s' is a dead mount: "
					   "run 'fusermount3 -u %s' first",
					   mnt, mnt);
		else
			*cause = xasprintf("mountpoint '%s': %s", mnt,
					   strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = xasprintf("mountpoint '%s' is not a directory", mnt);
		return -1;
	}
	d = opendir(mnt);
	if (!d) {
		*cause = xasprintf("mountpoint '%s': %s", mnt, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty) {
		*cause = xasprintf("mountpoint '%s' is not empty", mnt);
		return -1;
	}
	return 0;
}

static void fs_intr_handler(int sig)
{
	(void)sig;
}

static int open_daemon_log(const char *state_dir)
{
	char *dir = xasprintf("%s/logs", state_dir);
	char *path = xasprintf("%s/lambdafs.log", dir);
	int fd;

	util_mkdir_p(dir, 0755);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		log_warn("cannot open daemon log '%s'", path);
	free(dir);
	free(path);
	return fd;
}

int fs_main(struct registry *reg, const struct config *cfg,
	    fs_ready_fn ready, void *arg)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fuse *f = NULL;
	int status = 1, logfd = -1, r;
	bool mounted = false, handlers = false, inval_started = false;
	pthread_t inval_thread;
	sigset_t saved;
	size_t i;

	fs.reg = reg;
	fs.cfg = cfg;
	fs.start_ms = util_now_ms();
	fs.uid = getuid();
	fs.gid = getgid();
	pthread_mutex_init(&fs.lock, NULL);
	pthread_cond_init(&fs.inval_cond, NULL);

	{
		struct sigaction sa = { .sa_handler = fs_intr_handler };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	fuse_opt_add_arg(&args, "lambdafs");
	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, "fsname=lambdafs,subtype=lambdafs,"
				"default_permissions,auto_unmount");
	for (i = 0; i < cfg->nfuse_opts; i++) {
		fuse_opt_add_arg(&args, "-o");
		fuse_opt_add_arg(&args, cfg->fuse_opts[i]);
	}
	f = fuse_new(&args, &fs_ops, sizeof(fs_ops), NULL);
	if (!f) {
		log_warnx("cannot start FUSE: bad -o options?");
		goto out;
	}
	if (fuse_mount(f, cfg->mountpoint) != 0) {
		log_warnx("cannot mount '%s'", cfg->mountpoint);
		goto out;
	}
	mounted = true;
	r = fschan_install(fuse_get_session(f), fs_parallel_ok);
	if (r < 0)
		log_warnx("writers of one invoke file will run one at a "
			  "time: cannot take over the FUSE channel: %s",
			  strerror(-r));
	if (!cfg->foreground)
		logfd = open_daemon_log(cfg->state_dir);
	if (fuse_daemonize(cfg->foreground) != 0) {
		log_warnx("cannot daemonize");
		goto out;
	}
	if (logfd != -1)
		log_set_fd(logfd);
	registry_note_pid(reg);
	/* threads started before fuse_daemonize's fork would be lost */
	fs.iv = ready(arg);
	if (!fs.iv)
		goto out;
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		log_warnx("cannot set signal handlers");
		goto out;
	}
	handlers = true;
	fs.fuse = f;
	/* helper threads must not take the signals meant to end the loop */
	util_signals_block(&saved);
	if (pthread_create(&inval_thread, NULL, fs_inval_thread, NULL) == 0)
		inval_started = true;
	util_signals_restore(&saved);
	log_info("mounted '%s' (state '%s', pid %d)", cfg->mountpoint,
		 cfg->state_dir, (int)getpid());
	lc = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_max_threads(lc, 64);
	fuse_loop_cfg_set_idle_threads(lc, 2);
	r = fuse_loop_mt(f, lc);
	/* libfuse 3.14 returns the signal number after SIGTERM/SIGINT */
	status = (r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP) ? 0
									 : 1;
	log_info("unmounting '%s'%s", cfg->mountpoint,
		 status ? " after an error" : "");
out:
	if (inval_started) {
		pthread_mutex_lock(&fs.lock);
		fs.inval_stop = true;
		pthread_cond_signal(&fs.inval_cond);
		pthread_mutex_unlock(&fs.lock);
		pthread_join(inval_thread, NULL);
	}
	fs.fuse = NULL;
	if (lc)
		fuse_loop_cfg_destroy(lc);
	if (handlers)
		fuse_remove_signal_handlers(fuse_get_session(f));
	if (mounted)
		fuse_unmount(f);
	if (f)
		fuse_destroy(f);
	while (fs.handles) /* files still open when the mount went away */
		fh_free(fs.handles);
	fuse_opt_free_args(&args);
	if (logfd != -1) {
		log_set_fd(-1);
		close(logfd);
	}
	pthread_cond_destroy(&fs.inval_cond);
	pthread_mutex_destroy(&fs.lock);
	return status;
}
