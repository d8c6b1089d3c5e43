/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the core tables of functions and layers (see registry.h
 * for the on-disk protocol and the locking rules).
 *
 * Design notes
 * - Functions and layers are kept in arrays sorted by name, so readdir is
 *   a walk and lookup a binary search; 1,000 functions cost a few
 *   hundred KB.
 * - Every mutation writes the store first, under reg->lock, and changes
 *   memory only if the store accepted it: a full disk leaves both as
 *   they were.
 * - A zip is "ingested" (hashed, validated and unpacked into tree/,
 *   copied into blobs/) without the lock; only the final switch of the
 *   digest happens under it.
 * - Garbage (trees and blobs no row names, staging files) is removed at
 *   start-up only. While the daemon runs, an environment may still be
 *   using a tree that a newer deploy replaced.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "bundle.h"
#include "fconf.h"
#include "log.h"
#include "registry.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

struct fn {
	char *name;
	json_t *conf;		/* settable keys (fconf.h) */
	char digest[65];	/* "" without code */
	char sha_b64[45];
	int64_t code_size;
	int64_t created_ms;
	int64_t modified_ms;
	int64_t code_mtime_ms;
	char *update_status;	/* "Successful" | "Failed" */
	char *update_reason;	/* NULL or text */
	char revision[37];
};

struct lver {
	int64_t version;
	char digest[65];
	char sha_b64[45];
	int64_t size;
	int64_t created_ms;
	json_t *meta;
	bool deleted;
};

struct layer {
	char *name;
	int64_t created_ms;
	struct lver *v;		/* sorted by version */
	size_t nv;
	int64_t max_version;	/* never reused */
};

struct registry {
	/* configuration, immutable after open */
	char *state_dir;
	char *tree_dir;
	char *blob_dir;
	char *tmp_dir;
	char *arch;
	int lock_fd;
	struct store *store;

	pthread_mutex_t lock;
	/* protected by lock */
	struct fn **fns;
	size_t nfns, capfns;
	struct layer **layers;
	size_t nlayers, caplayers;
	int64_t functions_mtime;

	pthread_mutex_t runtimes_lock;
	bool runtimes_known;	/* protected by runtimes_lock */
	char python_runtime[32];
	char node_runtime[32];
};

/* ---------- small helpers ---------- */

static void hex_to_b64(const char *hex, char out[45])
{
	unsigned char d[32];
	int i;

	if (strlen(hex) != 64) {
		out[0] = '\0';
		return;
	}
	for (i = 0; i < 32; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		d[i] = (unsigned char)v;
	}
	sha256_base64(d, out);
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

static void fn_free(struct fn *f)
{
	if (!f)
		return;
	free(f->name);
	json_decref(f->conf);
	free(f->update_status);
	free(f->update_reason);
	free(f);
}

static void layer_free(struct layer *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nv; i++)
		json_decref(l->v[i].meta);
	free(l->v);
	free(l->name);
	free(l);
}

/*
 * The function and layer tables are arrays of pointers sorted by name;
 * these two helpers serve both, given how to read an element's name.
 */
typedef const char *(*name_at_fn)(const void *arr, size_t i);

/* Binary search; returns the index where name is or would be. */
static size_t sorted_index(const void *arr, size_t n, name_at_fn name_at,
			   const char *name, bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name_at(arr, mid), name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Inserts the pointer item at index at of a growable pointer array. */
static void *sorted_insert(void *arr, size_t *n, size_t *cap, size_t at,
			   void *item)
{
	void **v = arr;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		v = xrealloc(v, *cap * sizeof(*v));
	}
	memmove(v + at + 1, v + at, (*n - at) * sizeof(*v));
	v[at] = item;
	(*n)++;
	return v;
}

static const char *fn_name_at(const void *arr, size_t i)
{
	return ((struct fn *const *)arr)[i]->name;
}

static const char *layer_name_at(const void *arr, size_t i)
{
	return ((struct layer *const *)arr)[i]->name;
}

static size_t fn_index_locked(struct registry *reg, const char *name,
			      bool *found)
{
	return sorted_index(reg->fns, reg->nfns, fn_name_at, name, found);
}

static struct fn *fn_find_locked(struct registry *reg, const char *name)
{
	bool found;
	size_t i = fn_index_locked(reg, name, &found);

	return found ? reg->fns[i] : NULL;
}

static void fn_insert_locked(struct registry *reg, struct fn *f)
{
	bool found;
	size_t i = fn_index_locked(reg, f->name, &found);

	ASSERT(!found);
	reg->fns = sorted_insert(reg->fns, &reg->nfns, &reg->capfns, i, f);
}

static size_t layer_index_locked(struct registry *reg, const char *name,
				 bool *found)
{
	return sorted_index(reg->layers, reg->nlayers, layer_name_at, name,
			    found);
}

static struct layer *layer_find_locked(struct registry *reg, const char *name)
{
	bool found;
	size_t i = layer_index_locked(reg, name, &found);

	return found ? reg->layers[i] : NULL;
}

static void layer_insert_locked(struct registry *reg, struct layer *l)
{
	bool found;
	size_t i = layer_index_locked(reg, l->name, &found);

	ASSERT(!found);
	reg->layers = sorted_insert(reg->layers, &reg->nlayers,
				    &reg->caplayers, i, l);
}

static struct lver *lver_find(struct layer *l, int64_t version)
{
	size_t i;

	for (i = 0; i < l->nv; i++)
		if (l->v[i].version == version)
			return &l->v[i];
	return NULL;
}

static struct lver *lver_latest(struct layer *l)
{
	size_t i;

	for (i = l->nv; i > 0; i--)
		if (!l->v[i - 1].deleted)
			return &l->v[i - 1];
	return NULL;
}

static char *tree_path(struct registry *reg, const char *digest)
{
	return xasprintf("%s/%s", reg->tree_dir, digest);
}

static char *blob_path(struct registry *reg, const char *digest)
{
	return xasprintf("%s/%s.zip", reg->blob_dir, digest);
}

/* ---------- store round trips ---------- */

static int fn_persist_locked(struct registry *reg, const struct fn *f,
			     const json_t *conf)
{
	struct store_function sf;
	char *text = json_dumps(conf, JSON_COMPACT);
	int r;

	if (!text)
		return -ENOMEM;
	sf.name = f->name;
	sf.config = text;
	sf.code_digest = f->digest[0] ? f->digest : NULL;
	sf.code_size = f->code_size;
	sf.created_ms = f->created_ms;
	sf.modified_ms = f->modified_ms;
	sf.code_mtime_ms = f->code_mtime_ms;
	sf.update_status = f->update_status;
	sf.update_reason = f->update_reason;
	r = store_function_put(reg->store, &sf);
	free(text);
	return r;
}

/*
 * Records a failed update (LastUpdateStatus Failed + reason) for a
 * function; best effort on disk (the failure may be a full disk).
 */
static void fn_record_failure_locked(struct registry *reg, struct fn *f,
				     const char *what, const char *reason)
{
	char *msg = xasprintf("%s: %s", what, reason);

	set_str(&f->update_status, "Failed");
	free(f->update_reason);
	f->update_reason = msg;
	if (fn_persist_locked(reg, f, f->conf) < 0)
		log_warnx("could not record the failure of '%s' on disk",
			  f->name);
	log_info("function '%s': %s", f->name, msg);
}

static int load_function(const struct store_function *sf, void *arg)
{
	struct registry *reg = arg;
	struct fn *f = xcalloc(1, sizeof(*f));
	json_error_t err;

	f->name = xstrdup(sf->name);
	f->conf = json_loads(sf->config ? sf->config : "{}", 0, &err);
	if (!f->conf || !json_is_object(f->conf)) {
		log_warnx("function '%s': stored configuration unreadable "
			  "(%s); using defaults", sf->name, err.text);
		json_decref(f->conf);
		f->conf = json_object();
	}
	if (sf->code_digest && strlen(sf->code_digest) == 64) {
		memcpy(f->digest, sf->code_digest, 65);
		hex_to_b64(f->digest, f->sha_b64);
	}
	f->code_size = sf->code_size;
	f->created_ms = sf->created_ms;
	f->modified_ms = sf->modified_ms;
	f->code_mtime_ms = sf->code_mtime_ms;
	f->update_status = xstrdup(sf->update_status ? sf->update_status
						     : "Successful");
	f->update_reason = sf->update_reason ? xstrdup(sf->update_reason)
					     : NULL;
	util_uuid(f->revision);
	fn_insert_locked(reg, f);
	if (f->modified_ms > reg->functions_mtime)
		reg->functions_mtime = f->modified_ms;
	return 0;
}

static int load_layer(const char *name, int64_t created_ms, void *arg)
{
	struct registry *reg = arg;
	struct layer *l = xcalloc(1, sizeof(*l));

	l->name = xstrdup(name);
	l->created_ms = created_ms;
	layer_insert_locked(reg, l);
	return 0;
}

static void lver_add(struct layer *l, const struct store_layer_version *v)
{
	struct lver *n;
	json_error_t err;

	l->v = xrealloc(l->v, (l->nv + 1) * sizeof(*l->v));
	n = &l->v[l->nv++];
	memset(n, 0, sizeof(*n));
	n->version = v->version;
	snprintf(n->digest, sizeof(n->digest), "%s", v->digest);
	hex_to_b64(n->digest, n->sha_b64);
	n->size = v->size;
	n->created_ms = v->created_ms;
	n->meta = v->meta ? json_loads(v->meta, 0, &err) : NULL;
	if (!json_is_object(n->meta)) {
		json_decref(n->meta);
		n->meta = json_object();
	}
	n->deleted = v->deleted;
	if (v->version > l->max_version)
		l->max_version = v->version;
}

static int load_layer_version(const struct store_layer_version *v, void *arg)
{
	struct registry *reg = arg;
	struct layer *l = layer_find_locked(reg, v->name);

	if (!l)
		return 0;
	lver_add(l, v);
	return 0;
}

/* ---------- garbage collection at start-up ---------- */

static bool digest_in_use_locked(struct registry *reg, const char *digest)
{
	size_t i, j;

	for (i = 0; i < reg->nfns; i++)
		if (!strcmp(reg->fns[i]->digest, digest))
			return true;
	for (i = 0; i < reg->nlayers; i++)
		for (j = 0; j < reg->layers[i]->nv; j++)
			if (!strcmp(reg->layers[i]->v[j].digest, digest))
				return true;
	return false;
}

static void gc_dir_locked(struct registry *reg, const char *dir,
			  const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t slen = strlen(suffix);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char digest[65];
		size_t n = strlen(de->d_name);
		char *path;

		if (de->d_name[0] == '.')
			continue;
		if (n == 64 + slen && !strcmp(de->d_name + 64, suffix)) {
			memcpy(digest, de->d_name, 64);
			digest[64] = '\0';
			if (digest_in_use_locked(reg, digest))
				continue;
		}
		path = xasprintf("%s/%s", dir, de->d_name);
		log_info("removing unreferenced '%s'", path);
		util_rm_rf(path);
		free(path);
	}
	closedir(d);
}

/* ---------- open / close ---------- */

static int take_lock(struct registry *reg, char **cause)
{
	char *path = xasprintf("%s/lock", reg->state_dir);
	char pid[32];
	int fd, r = 0;
	ssize_t n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		r = -errno;
		*cause = xasprintf("cannot open '%s': %s", path, strerror(-r));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		*cause = xasprintf("state directory '%s' is in use by another "
				   "lambdafs (pid %s)",
				   reg->state_dir, pid[0] ? pid : "unknown");
		close(fd);
		goto out;
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (pwrite(fd, pid, (size_t)n, 0) < 0)
			log_warn("cannot write pid to '%s'", path);
	}
	reg->lock_fd = fd;
out:
	free(path);
	return r;
}

int registry_open(const struct registry_params *p, struct registry **out,
		  char **cause)
{
	struct registry *reg = xcalloc(1, sizeof(*reg));
	char *db = NULL;
	int r;

	*out = NULL;
	*cause = NULL;
	reg->lock_fd = -1;
	pthread_mutex_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->runtimes_lock, NULL);
	reg->state_dir = xstrdup(p->state_dir);
	reg->arch = xstrdup(p->architecture);
	reg->tree_dir = xasprintf("%s/tree", p->state_dir);
	reg->blob_dir = xasprintf("%s/blobs", p->state_dir);
	reg->tmp_dir = xasprintf("%s/tmp", p->state_dir);

	r = util_mkdir_p(reg->state_dir, 0700);
	if (r < 0) {
		*cause = xasprintf("cannot create state directory '%s': %s",
				   reg->state_dir, strerror(-r));
		goto fail;
	}
	r = take_lock(reg, cause);
	if (r < 0)
		goto fail;
	/* Staging files of writers that were running at a crash. */
	util_rm_rf(reg->tmp_dir);
	if ((r = util_mkdir_p(reg->tree_dir, 0755)) < 0 ||
	    (r = util_mkdir_p(reg->blob_dir, 0755)) < 0 ||
	    (r = util_mkdir_p(reg->tmp_dir, 0700)) < 0) {
		*cause = xasprintf("cannot populate state directory '%s': %s",
				   reg->state_dir, strerror(-r));
		goto fail;
	}
	db = xasprintf("%s/lambdafs.db", reg->state_dir);
	r = store_open(db, &reg->store, cause);
	if (r < 0)
		goto fail;
	pthread_mutex_lock(&reg->lock);
	r = store_function_foreach(reg->store, load_function, reg);
	if (r == 0)
		r = store_layer_foreach(reg->store, load_layer, reg);
	if (r == 0)
		r = store_layer_version_foreach(reg->store, load_layer_version,
						reg);
	if (r == 0) {
		gc_dir_locked(reg, reg->tree_dir, "");
		gc_dir_locked(reg, reg->blob_dir, ".zip");
	}
	pthread_mutex_unlock(&reg->lock);
	if (r < 0) {
		*cause = xasprintf("cannot load '%s': %s", db, strerror(-r));
		goto fail;
	}
	if (!reg->functions_mtime)
		reg->functions_mtime = util_now_ms();
	free(db);
	*out = reg;
	return 0;
fail:
	free(db);
	registry_close(reg);
	return r;
}

void registry_close(struct registry *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = 0; i < reg->nfns; i++)
		fn_free(reg->fns[i]);
	free(reg->fns);
	for (i = 0; i < reg->nlayers; i++)
		layer_free(reg->layers[i]);
	free(reg->layers);
	store_close(reg->store);
	if (reg->lock_fd != -1)
		close(reg->lock_fd);
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->runtimes_lock);
	free(reg->state_dir);
	free(reg->tree_dir);
	free(reg->blob_dir);
	free(reg->tmp_dir);
	free(reg->arch);
	free(reg);
}

void registry_note_pid(struct registry *reg)
{
	char pid[32];
	int n;

	if (reg->lock_fd == -1 || ftruncate(reg->lock_fd, 0) == -1)
		return;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (pwrite(reg->lock_fd, pid, (size_t)n, 0) < 0)
		log_warn("cannot write the pid to the lock file");
}

const char *registry_tmp_dir(struct registry *reg)
{
	return reg->tmp_dir;
}

void registry_counts(struct registry *reg, size_t *functions, size_t *layers)
{
	pthread_mutex_lock(&reg->lock);
	*functions = reg->nfns;
	*layers = reg->nlayers;
	pthread_mutex_unlock(&reg->lock);
}

/* ---------- host runtimes, for inference ---------- */

/* Runs argv (no shell) and returns the first line of its stdout. */
static bool run_first_line(char *const argv[], char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	int pfd[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;
	int status = 0, r;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return false;
	}
	while (got < outlen - 1 &&
	       (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	close(pfd[0]);
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void detect_runtimes(struct registry *reg)
{
	char py0[] = "python3", node0[] = "node", ver[] = "--version";
	char *py[] = { py0, ver, NULL };
	char *node[] = { node0, ver, NULL };
	char line[128];
	int a, b;

	pthread_mutex_lock(&reg->runtimes_lock);
	if (reg->runtimes_known)
		goto out;
	snprintf(reg->python_runtime, sizeof(reg->python_runtime),
		 "python3.12");
	snprintf(reg->node_runtime, sizeof(reg->node_runtime), "nodejs20.x");
	if (run_first_line(py, line, sizeof(line)) &&
	    sscanf(line, "Python %d.%d", &a, &b) == 2)
		snprintf(reg->python_runtime, sizeof(reg->python_runtime),
			 "python%d.%d", a, b);
	if (run_first_line(node, line, sizeof(line)) &&
	    sscanf(line, "v%d.", &a) == 1)
		snprintf(reg->node_runtime, sizeof(reg->node_runtime),
			 "nodejs%d.x", a);
	reg->runtimes_known = true;
out:
	pthread_mutex_unlock(&reg->runtimes_lock);
}

/* ---------- functions ---------- */

int registry_function_create(struct registry *reg, const char *name)
{
	struct fn *f;
	json_t *conf;
	int r;

	if (!util_is_function_name(name))
		return -EINVAL;
	pthread_mutex_lock(&reg->lock);
	if (fn_find_locked(reg, name)) {
		r = -EEXIST;
		goto out;
	}
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->conf = json_object();
	f->created_ms = f->modified_ms = util_now_ms();
	f->update_status = xstrdup("Successful");
	util_uuid(f->revision);
	conf = f->conf;
	r = fn_persist_locked(reg, f, conf);
	if (r < 0) {
		fn_free(f);
		goto out;
	}
	fn_insert_locked(reg, f);
	reg->functions_mtime = f->created_ms;
	log_info("function '%s' created", name);
out:
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int registry_function_delete(struct registry *reg, const char *name)
{
	bool found;
	size_t i;
	int r;

	pthread_mutex_lock(&reg->lock);
	i = fn_index_locked(reg, name, &found);
	if (!found) {
		r = -ENOENT;
		goto out;
	}
	r = store_function_delete(reg->store, name);
	if (r < 0 && r != -ENOENT)
		goto out;
	fn_free(reg->fns[i]);
	memmove(reg->fns + i, reg->fns + i + 1,
		(reg->nfns - i - 1) * sizeof(*reg->fns));
	reg->nfns--;
	reg->functions_mtime = util_now_ms();
	log_info("function '%s' deleted", name);
	r = 0;
out:
	pthread_mutex_unlock(&reg->lock);
	return r;
}

static void fn_info_locked(const struct fn *f, struct function_info *out)
{
	json_t *layers = json_object_get(f->conf, "Layers");

	snprintf(out->name, sizeof(out->name), "%s", f->name);
	out->has_code = f->digest[0] != '\0';
	memcpy(out->digest, f->digest, sizeof(out->digest));
	out->code_size = f->code_size;
	out->created_ms = f->created_ms;
	out->modified_ms = f->modified_ms;
	out->code_mtime_ms = f->code_mtime_ms;
	out->nlayers = json_is_array(layers) ? json_array_size(layers) : 0;
}

int registry_function_stat(struct registry *reg, const char *name,
			   struct function_info *out)
{
	struct fn *f;
	int r = -ENOENT;

	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (f) {
		fn_info_locked(f, out);
		r = 0;
	}
	pthread_mutex_unlock(&reg->lock);
	return r;
}

size_t registry_function_foreach(struct registry *reg,
				 registry_function_fn fn, void *arg)
{
	struct function_info *snap;
	size_t i, n;

	pthread_mutex_lock(&reg->lock);
	n = reg->nfns;
	snap = xcalloc(n ? n : 1, sizeof(*snap));
	for (i = 0; i < n; i++)
		fn_info_locked(reg->fns[i], &snap[i]);
	pthread_mutex_unlock(&reg->lock);
	for (i = 0; i < n; i++)
		fn(&snap[i], arg);
	free(snap);
	return n;
}

int64_t registry_functions_mtime(struct registry *reg)
{
	int64_t t;

	pthread_mutex_lock(&reg->lock);
	t = reg->functions_mtime;
	pthread_mutex_unlock(&reg->lock);
	return t;
}

static json_t *fn_render_locked(struct registry *reg, struct fn *f)
{
	struct fconf_state st = { 0 };
	const char *pkg = json_string_value(
		json_object_get(f->conf, "PackageType"));
	bool image = pkg && !strcmp(pkg, "Image");

	st.name = f->name;
	st.code_sha256 = f->sha_b64;
	st.code_size = f->code_size;
	st.modified_ms = f->modified_ms;
	if (f->digest[0] || image) {
		st.state = "Active";
	} else {
		st.state = "Pending";
		st.state_reason = "no code deployed yet: copy a zip to "
				  "code.zip";
		st.state_reason_code = "Creating";
	}
	st.update_status = f->update_status;
	st.update_reason = f->update_reason;
	st.revision_id = f->revision;
	st.architecture = reg->arch;
	return fconf_render(f->conf, &st);
}

char *registry_function_config(struct registry *reg, const char *name,
			       size_t *len)
{
	struct fn *f;
	json_t *j = NULL;
	char *text;

	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (f)
		j = fn_render_locked(reg, f);
	pthread_mutex_unlock(&reg->lock);
	if (!f) {
		errno = ENOENT;
		return NULL;
	}
	text = util_json_pretty(j, len);
	json_decref(j);
	return text;
}

/* Layer references, resolved with the registry lock held. */
struct resolve_ctx {
	struct registry *reg;
	const json_t *current_layers; /* ARNs the function already uses */
};

static bool parse_layer_ref(const char *ref, char *name, size_t namelen,
			    int64_t *version)
{
	static const char prefix[] = "arn:aws:lambda:";
	const char *p = ref, *colon;
	char *end;

	*version = 0;
	if (!strncmp(ref, prefix, sizeof(prefix) - 1)) {
		/* arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N */
		p = strstr(ref, ":layer:");
		if (!p)
			return false;
		p += strlen(":layer:");
	}
	colon = strchr(p, ':');
	if (colon) {
		if ((size_t)(colon - p) >= namelen)
			return false;
		memcpy(name, p, (size_t)(colon - p));
		name[colon - p] = '\0';
		errno = 0;
		*version = strtoll(colon + 1, &end, 10);
		if (errno || *end || end == colon + 1 || *version < 1)
			return false;
	} else {
		if (strlen(p) >= namelen)
			return false;
		snprintf(name, namelen, "%s", p);
	}
	return util_is_layer_name(name);
}

static char *layer_arn(const char *name, int64_t version)
{
	return xasprintf("arn:aws:lambda:" LAMBDAFS_REGION
			 ":" LAMBDAFS_ACCOUNT ":layer:%s:%" PRId64,
			 name, version);
}

static bool already_used(const json_t *layers, const char *arn)
{
	size_t i;
	json_t *v;

	json_array_foreach(layers, i, v) {
		const char *a = json_string_value(json_object_get(v, "Arn"));

		if (a && !strcmp(a, arn))
			return true;
	}
	return false;
}

static int resolve_layer_locked(const char *ref, char **arn, int64_t *size,
				void *arg)
{
	struct resolve_ctx *ctx = arg;
	char name[160];
	int64_t version;
	struct layer *l;
	struct lver *v;
	char *a;

	if (!parse_layer_ref(ref, name, sizeof(name), &version))
		return -EINVAL;
	l = layer_find_locked(ctx->reg, name);
	if (!l)
		return -ENOENT;
	v = version ? lver_find(l, version) : lver_latest(l);
	if (!v)
		return -ENOENT;
	a = layer_arn(name, v->version);
	if (v->deleted && !already_used(ctx->current_layers, a)) {
		free(a);
		return -ENOENT;
	}
	*arn = a;
	*size = v->size;
	return 0;
}

static int parse_json_object(const char *json, size_t len, json_t **out,
			     char **cause)
{
	json_error_t err;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);

	if (!j) {
		*cause = xasprintf("invalid JSON at line %d column %d: %s",
				   err.line, err.column, err.text);
		return -EINVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*cause = xstrdup("configuration must be a JSON object");
		return -EINVAL;
	}
	*out = j;
	return 0;
}

int registry_function_configure(struct registry *reg, const char *name,
				const char *json, size_t len, char **cause)
{
	struct resolve_ctx ctx = { reg, NULL };
	json_t *update = NULL, *merged = NULL;
	struct fn *f;
	int64_t old_modified;
	int r;

	*cause = NULL;
	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	r = parse_json_object(json, len, &update, cause);
	if (r < 0) {
		fn_record_failure_locked(reg, f, "config.json rejected",
					 *cause);
		goto out;
	}
	ctx.current_layers = json_object_get(f->conf, "Layers");
	r = fconf_merge(f->conf, update, resolve_layer_locked, &ctx, &merged,
			cause);
	if (r < 0) {
		fn_record_failure_locked(reg, f, "config.json rejected",
					 *cause ? *cause : "invalid");
		goto out;
	}
	old_modified = f->modified_ms;
	f->modified_ms = util_now_ms();
	set_str(&f->update_status, "Successful");
	set_str(&f->update_reason, NULL);
	r = fn_persist_locked(reg, f, merged);
	if (r < 0) {
		f->modified_ms = old_modified;
		*cause = xasprintf("cannot save the configuration: %s",
				   strerror(-r));
		fn_record_failure_locked(reg, f, "config.json rejected",
					 *cause);
		goto out;
	}
	json_decref(f->conf);
	f->conf = merged;
	merged = NULL;
	util_uuid(f->revision);
	log_info("function '%s' configured", name);
out:
	pthread_mutex_unlock(&reg->lock);
	json_decref(update);
	json_decref(merged);
	return r;
}

/* ---------- ingesting a zip: hash, validate + unpack, keep ---------- */

struct ingest {
	char digest[65];
	char sha_b64[45];
	int64_t size;
	struct bundle_info info;
	bool have_info;
};

static const struct bundle_limits ingest_limits = {
	.max_entries = LAMBDAFS_MAX_ENTRIES,
	.max_unpacked = LAMBDAFS_MAX_UNPACKED,
};

/* Copies fd (from 0) into a new file at path, fsync'd. */
static int copy_fd_to(int fd, const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	char *chunk = NULL;
	off_t off = 0;
	ssize_t n;
	int r = 0;

	if (out == -1)
		return -errno;
	chunk = xmalloc(1 << 20);
	for (;;) {
		n = pread(fd, chunk, 1 << 20, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t w = 0; w < n;) {
			ssize_t m = write(out, chunk + w, (size_t)(n - w));

			if (m == -1 && errno == EINTR)
				continue;
			if (m == -1) {
				r = -errno;
				goto out;
			}
			w += m;
		}
		off += n;
	}
	if (r == 0 && fsync(out) == -1)
		r = -errno;
out:
	free(chunk);
	close(out);
	if (r < 0)
		unlink(path);
	return r;
}

/*
 * Makes blobs/<digest>.zip hold the bytes of fd: a hard link to the
 * staging file when it is an O_TMPFILE on the same file system, a copy
 * otherwise. Either way the final name appears by rename(2).
 */
static int keep_blob(struct registry *reg, int fd, const char *digest)
{
	char *final = blob_path(reg, digest);
	char tmp[PATH_MAX], proc[64];
	char rnd[37];
	int r = 0;

	if (access(final, F_OK) == 0)
		goto out;
	util_uuid(rnd);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", reg->blob_dir, rnd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (fsync(fd) == -1) {
		r = -errno;
		goto out;
	}
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == -1) {
		r = copy_fd_to(fd, tmp);
		if (r < 0)
			goto out;
	}
	if (rename(tmp, final) == -1) {
		r = -errno;
		unlink(tmp);
		goto out;
	}
	r = util_fsync_dir(reg->blob_dir);
out:
	free(final);
	return r;
}

/*
 * The digest names the tree, but hashing and unpacking both read the
 * whole zip: they run at once (hash on a helper thread, unpack here into
 * a scratch directory renamed to the tree once the digest is known), so a
 * deploy costs the longer of the two, not their sum. If the tree already
 * exists (the same zip deployed before), the unpack is canceled as soon
 * as the hash says so, unless the caller needs what the root holds.
 */
struct hash_job {
	struct registry *reg;
	int fd;
	bool need_info;
	unsigned char d[32];
	uint64_t size;
	int r;
	_Atomic bool known;	/* the tree exists: unpacking is moot */
	pthread_t thread;
	bool threaded, joined;
};

/* bundle's gate before syncing the tree: the hash has the last word */
static bool hash_gate(void *arg)
{
	struct hash_job *j = arg;

	if (j->threaded && !j->joined) {
		pthread_join(j->thread, NULL);
		j->joined = true;
	}
	return !atomic_load(&j->known);
}

static void *hash_main(void *arg)
{
	struct hash_job *j = arg;
	char hex[65], *tree;

	j->r = sha256_fd(j->fd, j->d, &j->size);
	if (j->r == 0 && !j->need_info) {
		sha256_hex(j->d, hex);
		tree = tree_path(j->reg, hex);
		if (access(tree, F_OK) == 0)
			atomic_store(&j->known, true);
		free(tree);
	}
	return NULL;
}

static int ingest_zip(struct registry *reg, int fd, bool need_info,
		      struct ingest *in, char **cause)
{
	struct hash_job job = { .reg = reg, .fd = fd, .need_info = need_info };
	struct bundle_limits lim = ingest_limits;
	char *tree = NULL, *scratch = NULL, *ucause = NULL;
	struct stat st;
	sigset_t saved;
	char rnd[37];
	int64_t t0, t1;
	int r, ru;

	memset(in, 0, sizeof(*in));
	if (fstat(fd, &st) == -1)
		return -errno;
	if (st.st_size == 0) {
		*cause = xstrdup("the file is empty, not a zip");
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > LAMBDAFS_MAX_ZIP) {
		*cause = xasprintf("the zip is %lld bytes; the limit is %llu "
				   "bytes (50 MB zipped)",
				   (long long)st.st_size, LAMBDAFS_MAX_ZIP);
		return -EFBIG;
	}
	atomic_init(&job.known, false);
	lim.cancel = &job.known;
	lim.gate = hash_gate;
	lim.gate_arg = &job;
	t0 = util_mono_ns();
	util_signals_block(&saved);
	job.threaded = pthread_create(&job.thread, NULL, hash_main, &job) == 0;
	util_signals_restore(&saved);
	if (!job.threaded)
		hash_main(&job);
	util_uuid(rnd);
	scratch = xasprintf("%s/unpack-%s", reg->tmp_dir, rnd);
	ru = bundle_unpack(fd, scratch, &lim, &in->info, &ucause);
	t1 = util_mono_ns();
	if (job.threaded && !job.joined)
		pthread_join(job.thread, NULL);
	r = job.r;
	if (r < 0) {
		*cause = xasprintf("cannot read the upload: %s", strerror(-r));
		goto out;
	}
	sha256_hex(job.d, in->digest);
	sha256_base64(job.d, in->sha_b64);
	in->size = (int64_t)job.size;
	tree = tree_path(reg, in->digest);
	if (ru == -ECANCELED && atomic_load(&job.known) &&
	    access(tree, F_OK) == 0) {
		ru = 0; /* the same zip is unpacked already */
	} else if (ru < 0) {
		r = ru;
		*cause = ucause;
		ucause = NULL;
		goto out;
	} else {
		in->have_info = true;
		if (renameat2(AT_FDCWD, scratch, AT_FDCWD, tree,
			      RENAME_NOREPLACE) == 0) {
			r = util_fsync_dir(reg->tree_dir);
		} else if (errno == EEXIST || errno == ENOTEMPTY) {
			r = 0; /* deployed before, or by a concurrent deploy */
		} else {
			r = -errno;
		}
		if (r < 0) {
			*cause = xasprintf("cannot store the package: %s",
					   strerror(-r));
			goto out;
		}
	}
	r = keep_blob(reg, fd, in->digest);
	if (r < 0)
		*cause = xasprintf("cannot store the zip: %s", strerror(-r));
	log_debug("ingest %s: hash and unpack %.1f ms%s, blob %.1f ms",
		  in->digest, (t1 - t0) / 1e6,
		  in->have_info ? "" : " (known, unpack canceled)",
		  (util_mono_ns() - t1) / 1e6);
out:
	util_rm_rf(scratch); /* gone unless unused */
	free(ucause);
	free(scratch);
	free(tree);
	return r;
}

int registry_function_deploy(struct registry *reg, const char *name, int fd,
			     char **cause)
{
	struct ingest in;
	struct fn *f, saved;
	json_t *conf = NULL;
	bool need_info;
	int r;

	*cause = NULL;
	detect_runtimes(reg);
	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	need_info = f && (!fconf_runtime(f->conf) || !fconf_handler(f->conf));
	pthread_mutex_unlock(&reg->lock);
	if (!f)
		return -ENOENT;

	r = ingest_zip(reg, fd, need_info, &in, cause);

	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	if (r < 0) {
		fn_record_failure_locked(reg, f, "code.zip rejected",
					 *cause ? *cause : strerror(-r));
		goto out;
	}
	conf = json_deep_copy(f->conf);
	if (in.have_info) {
		r = fconf_infer(conf, &in.info, reg->python_runtime,
				reg->node_runtime, cause);
		if (r < 0) {
			fn_record_failure_locked(reg, f, "code.zip rejected",
						 *cause);
			goto out;
		}
	}
	saved = *f;
	memcpy(f->digest, in.digest, sizeof(f->digest));
	memcpy(f->sha_b64, in.sha_b64, sizeof(f->sha_b64));
	f->code_size = in.size;
	f->modified_ms = f->code_mtime_ms = util_now_ms();
	f->update_status = xstrdup("Successful");
	f->update_reason = NULL;
	r = fn_persist_locked(reg, f, conf);
	if (r < 0) {
		free(f->update_status);
		*f = saved;
		*cause = xasprintf("cannot save the deploy: %s", strerror(-r));
		fn_record_failure_locked(reg, f, "code.zip rejected", *cause);
		goto out;
	}
	free(saved.update_status);
	free(saved.update_reason);
	json_decref(f->conf);
	f->conf = conf;
	conf = NULL;
	util_uuid(f->revision);
	log_info("function '%s' deployed: %" PRId64 " bytes, sha256 %s",
		 name, in.size, in.digest);
out:
	pthread_mutex_unlock(&reg->lock);
	json_decref(conf);
	return r;
}

static char *fn_path(struct registry *reg, const char *name, bool zip)
{
	struct fn *f;
	char *p = NULL;

	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (f && f->digest[0])
		p = zip ? blob_path(reg, f->digest) : tree_path(reg, f->digest);
	pthread_mutex_unlock(&reg->lock);
	if (!p)
		errno = ENOENT;
	return p;
}

char *registry_function_zip_path(struct registry *reg, const char *name)
{
	return fn_path(reg, name, true);
}

char *registry_function_code_dir(struct registry *reg, const char *name)
{
	return fn_path(reg, name, false);
}

void registry_free_strv(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int registry_function_layer_dirs(struct registry *reg, const char *name,
				 char ***dirs)
{
	const char *arns[LAMBDAFS_MAX_LAYERS];
	struct fn *f;
	size_t n, i, out = 0;
	char **v = NULL;

	*dirs = NULL;
	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (!f) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOENT;
	}
	n = fconf_layers(f->conf, arns, LAMBDAFS_MAX_LAYERS);
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		char lname[160];
		int64_t version;
		struct layer *l;
		struct lver *lv;

		if (!parse_layer_ref(arns[i], lname, sizeof(lname), &version))
			continue;
		l = layer_find_locked(reg, lname);
		lv = l ? lver_find(l, version) : NULL;
		if (lv)
			v[out++] = tree_path(reg, lv->digest);
	}
	pthread_mutex_unlock(&reg->lock);
	*dirs = v;
	return (int)out;
}

/* A JSON array of strings as a NULL-terminated vector; NULL if absent. */
static char **strv_of(const json_t *a)
{
	char **v;
	size_t i, n = 0;

	if (!json_is_array(a))
		return NULL;
	v = xcalloc(json_array_size(a) + 1, sizeof(*v));
	for (i = 0; i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)))
			v[n++] = xstrdup(json_string_value(json_array_get(a, i)));
	return v;
}

static char *str_dup_of(const json_t *s)
{
	return json_is_string(s) ? xstrdup(json_string_value(s)) : NULL;
}

int registry_function_exec(struct registry *reg, const char *name,
			   struct function_exec *out)
{
	const json_t *ic;
	json_t *vars, *v, *rc;
	const char *key;
	struct fn *f;
	char **dirs = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	n = registry_function_layer_dirs(reg, name, &dirs);
	if (n < 0)
		return n;
	pthread_mutex_lock(&reg->lock);
	f = fn_find_locked(reg, name);
	if (!f) {
		pthread_mutex_unlock(&reg->lock);
		registry_free_strv(dirs, (size_t)n);
		return -ENOENT;
	}
	out->name = xstrdup(f->name);
	out->arn = xasprintf("arn:aws:lambda:" LAMBDAFS_REGION
			     ":" LAMBDAFS_ACCOUNT ":function:%s", f->name);
	out->runtime = fconf_runtime(f->conf) ? xstrdup(fconf_runtime(f->conf))
					      : NULL;
	out->handler = fconf_handler(f->conf) ? xstrdup(fconf_handler(f->conf))
					      : NULL;
	out->code_dir = f->digest[0] ? tree_path(reg, f->digest) : NULL;
	out->layer_dirs = dirs;
	out->nlayers = (size_t)n;
	vars = json_object_get(json_object_get(f->conf, "Environment"),
			       "Variables");
	out->env = xcalloc(json_object_size(vars) + 1, sizeof(char *));
	json_object_foreach(vars, key, v) {
		if (json_is_string(v))
			out->env[out->nenv++] =
				xasprintf("%s=%s", key, json_string_value(v));
	}
	out->timeout_s = fconf_timeout(f->conf);
	out->memory_mb = fconf_memory(f->conf);
	rc = json_object_get(f->conf, "ReservedConcurrentExecutions");
	out->reserved = json_is_integer(rc) ? (int)json_integer_value(rc) : -1;
	memcpy(out->revision, f->revision, sizeof(out->revision));
	out->is_image = json_is_string(json_object_get(f->conf, "PackageType")) &&
			!strcmp(json_string_value(json_object_get(
					f->conf, "PackageType")),
				"Image");
	out->image_uri = str_dup_of(json_object_get(f->conf, "ImageUri"));
	ic = json_object_get(f->conf, "ImageConfig");
	out->entrypoint = strv_of(json_object_get(ic, "EntryPoint"));
	out->command = strv_of(json_object_get(ic, "Command"));
	out->workdir = str_dup_of(json_object_get(ic, "WorkingDirectory"));
	out->executor = str_dup_of(json_object_get(
		json_object_get(f->conf, "Tags"), "lambdafs:executor"));
	pthread_mutex_unlock(&reg->lock);
	return 0;
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void registry_function_exec_release(struct function_exec *fe)
{
	if (!fe)
		return;
	free(fe->name);
	free(fe->arn);
	free(fe->runtime);
	free(fe->handler);
	free(fe->code_dir);
	registry_free_strv(fe->layer_dirs, fe->nlayers);
	registry_free_strv(fe->env, fe->nenv);
	free(fe->image_uri);
	strv_free(fe->entrypoint);
	strv_free(fe->command);
	free(fe->workdir);
	free(fe->executor);
	memset(fe, 0, sizeof(*fe));
}

const char *registry_state_dir(struct registry *reg)
{
	return reg->state_dir;
}

/* ---------- layers ---------- */

int registry_layer_create(struct registry *reg, const char *name)
{
	struct layer *l;
	int r;

	if (!util_is_layer_name(name))
		return -EINVAL;
	pthread_mutex_lock(&reg->lock);
	if (layer_find_locked(reg, name)) {
		r = -EEXIST;
		goto out;
	}
	l = xcalloc(1, sizeof(*l));
	l->name = xstrdup(name);
	l->created_ms = util_now_ms();
	r = store_layer_add(reg->store, name, l->created_ms);
	if (r < 0) {
		layer_free(l);
		goto out;
	}
	layer_insert_locked(reg, l);
	log_info("layer '%s' created", name);
out:
	pthread_mutex_unlock(&reg->lock);
	return r;
}

/* Name of a function using a version of layer l, or NULL. */
static const char *layer_user_locked(struct registry *reg, struct layer *l)
{
	const char *arns[LAMBDAFS_MAX_LAYERS];
	size_t i, j, n;

	for (i = 0; i < reg->nfns; i++) {
		n = fconf_layers(reg->fns[i]->conf, arns, LAMBDAFS_MAX_LAYERS);
		for (j = 0; j < n; j++) {
			char lname[160];
			int64_t version;

			if (parse_layer_ref(arns[j], lname, sizeof(lname),
					    &version) &&
			    !strcmp(lname, l->name))
				return reg->fns[i]->name;
		}
	}
	return NULL;
}

int registry_layer_delete(struct registry *reg, const char *name)
{
	bool found;
	struct layer *l;
	const char *user;
	size_t i;
	int r;

	pthread_mutex_lock(&reg->lock);
	i = layer_index_locked(reg, name, &found);
	if (!found) {
		r = -ENOENT;
		goto out;
	}
	l = reg->layers[i];
	if (lver_latest(l)) {
		r = -ENOTEMPTY;
		goto out;
	}
	user = layer_user_locked(reg, l);
	if (user) {
		log_info("layer '%s' not removed: function '%s' uses it",
			 name, user);
		r = -EBUSY;
		goto out;
	}
	r = store_layer_remove(reg->store, name);
	if (r < 0 && r != -ENOENT)
		goto out;
	layer_free(l);
	memmove(reg->layers + i, reg->layers + i + 1,
		(reg->nlayers - i - 1) * sizeof(*reg->layers));
	reg->nlayers--;
	log_info("layer '%s' deleted", name);
	r = 0;
out:
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int registry_layer_stat(struct registry *reg, const char *name,
			int64_t *created_ms, int64_t *latest)
{
	struct layer *l;
	struct lver *v;
	int r = -ENOENT;

	pthread_mutex_lock(&reg->lock);
	l = layer_find_locked(reg, name);
	if (l) {
		v = lver_latest(l);
		*created_ms = v ? v->created_ms : l->created_ms;
		*latest = v ? v->version : 0;
		r = 0;
	}
	pthread_mutex_unlock(&reg->lock);
	return r;
}

size_t registry_layer_foreach(struct registry *reg, registry_layer_fn fn,
			      void *arg)
{
	char **names;
	size_t i, n;

	pthread_mutex_lock(&reg->lock);
	n = reg->nlayers;
	names = xcalloc(n ? n : 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = xstrdup(reg->layers[i]->name);
	pthread_mutex_unlock(&reg->lock);
	for (i = 0; i < n; i++)
		fn(names[i], arg);
	registry_free_strv(names, n);
	return n;
}

int registry_layer_versions(struct registry *reg, const char *name,
			    struct layer_version_info **out)
{
	struct layer *l;
	struct layer_version_info *v;
	size_t i;
	int n = 0;

	*out = NULL;
	pthread_mutex_lock(&reg->lock);
	l = layer_find_locked(reg, name);
	if (!l) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOENT;
	}
	v = xcalloc(l->nv ? l->nv : 1, sizeof(*v));
	for (i = 0; i < l->nv; i++) {
		if (l->v[i].deleted)
			continue;
		v[n].version = l->v[i].version;
		memcpy(v[n].digest, l->v[i].digest, sizeof(v[n].digest));
		v[n].size = l->v[i].size;
		v[n].created_ms = l->v[i].created_ms;
		n++;
	}
	pthread_mutex_unlock(&reg->lock);
	*out = v;
	return n;
}

int registry_layer_publish(struct registry *reg, const char *name, int fd,
			   int64_t *version, char **cause)
{
	struct store_layer_version sv;
	struct ingest in;
	struct layer *l;
	json_t *meta;
	char *metatext;
	int r;

	*cause = NULL;
	pthread_mutex_lock(&reg->lock);
	l = layer_find_locked(reg, name);
	pthread_mutex_unlock(&reg->lock);
	if (!l)
		return -ENOENT;

	r = ingest_zip(reg, fd, false, &in, cause);
	if (r < 0) {
		log_info("layer '%s': layer.zip rejected: %s", name,
			 *cause ? *cause : strerror(-r));
		return r;
	}

	pthread_mutex_lock(&reg->lock);
	l = layer_find_locked(reg, name);
	if (!l) {
		r = -ENOENT;
		goto out;
	}
	meta = json_object();
	metatext = json_dumps(meta, JSON_COMPACT);
	sv.name = name;
	sv.version = l->max_version + 1;
	sv.digest = in.digest;
	sv.size = in.size;
	sv.created_ms = util_now_ms();
	sv.meta = metatext;
	sv.deleted = false;
	r = store_layer_version_put(reg->store, &sv);
	if (r == 0) {
		lver_add(l, &sv);
		*version = sv.version;
		log_info("layer '%s' version %" PRId64 " published: %" PRId64
			 " bytes, sha256 %s",
			 name, sv.version, in.size, in.digest);
	} else {
		*cause = xasprintf("cannot save the layer version: %s",
				   strerror(-r));
	}
	free(metatext);
	json_decref(meta);
out:
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int registry_layer_version_delete(struct registry *reg, const char *name,
				  int64_t version)
{
	struct layer *l;
	struct lver *v;
	int r = -ENOENT;

	pthread_mutex_lock(&reg->lock);
	l = layer_find_locked(reg, name);
	v = l ? lver_find(l, version) : NULL;
	if (v && !v->deleted) {
		r = store_layer_version_mark_deleted(reg->store, name, version);
		if (r == 0) {
			v->deleted = true;
			log_info("layer '%s' version %" PRId64 " deleted",
				 name, version);
		}
	}
	pthread_mutex_unlock(&reg->lock);
	return r;
}

static struct lver *listed_version_locked(struct registry *reg,
					  const char *name, int64_t version)
{
	struct layer *l = layer_find_locked(reg, name);
	struct lver *v = l ? lver_find(l, version) : NULL;

	return v && !v->deleted ? v : NULL;
}

char *registry_layer_version_json(struct registry *reg, const char *name,
				  int64_t version, size_t *len)
{
	struct lver *v;
	json_t *j = NULL, *content, *meta;
	char created[40];
	char *arn, *text, *loc;

	pthread_mutex_lock(&reg->lock);
	v = listed_version_locked(reg, name, version);
	if (v) {
		arn = layer_arn(name, version);
		loc = blob_path(reg, v->digest);
		util_format_aws_time(v->created_ms, created);
		content = json_pack("{s:s, s:s, s:I}", "Location", loc,
				    "CodeSha256", v->sha_b64, "CodeSize",
				    (json_int_t)v->size);
		j = json_pack("{s:o, s:s+, s:s, s:s, s:s, s:I}", "Content",
			      content, "LayerArn",
			      "arn:aws:lambda:" LAMBDAFS_REGION
			      ":" LAMBDAFS_ACCOUNT ":layer:", name,
			      "LayerVersionArn", arn, "Description", "",
			      "CreatedDate", created, "Version",
			      (json_int_t)version);
		meta = v->meta;
		if (j && meta)
			json_object_update(j, meta);
		free(arn);
		free(loc);
	}
	pthread_mutex_unlock(&reg->lock);
	if (!v) {
		errno = ENOENT;
		return NULL;
	}
	text = util_json_pretty(j, len);
	json_decref(j);
	return text;
}

static char *lver_path(struct registry *reg, const char *name,
		       int64_t version, bool zip)
{
	struct lver *v;
	char *p = NULL;

	pthread_mutex_lock(&reg->lock);
	v = listed_version_locked(reg, name, version);
	if (v)
		p = zip ? blob_path(reg, v->digest) : tree_path(reg, v->digest);
	pthread_mutex_unlock(&reg->lock);
	if (!p)
		errno = ENOENT;
	return p;
}

char *registry_layer_version_dir(struct registry *reg, const char *name,
				 int64_t version)
{
	return lver_path(reg, name, version, false);
}

char *registry_layer_version_zip(struct registry *reg, const char *name,
				 int64_t version)
{
	return lver_path(reg, name, version, true);
}
