/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c - memory cgroups for execution environments (see cgroup.h).
 *
 * Design notes
 * - The controller is found in /proc/self/mountinfo: a cgroup2 mount whose
 *   cgroup.controllers lists "memory" wins, else a v1 "cgroup" mount with
 *   the memory option. Hybrid hosts (v1 memory, an empty v2 "unified")
 *   therefore use v1.
 * - The parent lives at the root of the hierarchy, not below the daemon's
 *   own cgroup: under v2 a non-root cgroup holding the daemon could not
 *   enable controllers for its children (no internal processes), and a
 *   service manager owns the daemon's cgroup anyway. It is per daemon
 *   (lambdafs.<pid>) so concurrent daemons never share one.
 * - Swap is excluded (memory.swap.max 0, or memsw = limit and swappiness
 *   0 on v1), so going past MemorySize is an OOM kill, as on AWS, not a
 *   slow swap storm. v2 sets memory.oom.group: the whole environment dies.
 * - v1 counts page cache in usage, so Max Memory Used includes the files
 *   the function read for the first time; AWS's figure does too.
 * - A process can only be removed with its cgroup once it is reaped; the
 *   caller reaps the runtime first, cgroup_free kills stragglers (double
 *   forks that left the process group) and retries rmdir briefly.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "common.h"
#include "log.h"
#include "util.h"

#define PARENT_PREFIX "lambdafs."

struct cgroup_parent {
	enum cgroup_mode mode;
	char *root;	/* mount point of the memory hierarchy */
	char *path;	/* root/lambdafs.<pid> */
};

struct cgroup {
	enum cgroup_mode mode;
	char *path;
	int procs_fd;
};

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_V1:
		return "cgroup-v1";
	case CGROUP_V2:
		return "cgroup-v2";
	case CGROUP_NONE:
	default:
		return "rss";
	}
}

/* Reads a small pseudo-file (their st_size means nothing). */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;
	int err;

	if (fd == -1)
		return -errno;
	while (got + 1 < size) {
		n = read(fd, buf + got, size - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return 0;
}

static int write_str(const char *dir, const char *file, const char *s)
{
	char *path = xasprintf("%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	free(path);
	if (fd == -1)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n == -1)
		err = -errno;
	else if ((size_t)n != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

/* Whether a whitespace-separated word list contains word. */
static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		bool start = p == list || strchr(seps, p[-1]);
		bool end = p[n] == '\0' || strchr(seps, p[n]);

		if (start && end)
			return true;
		p += n;
	}
	return false;
}

/*
 * Finds the memory controller: *root (caller frees) and the mode, or
 * CGROUP_NONE.
 */
static enum cgroup_mode find_controller(char **root)
{
	enum cgroup_mode mode = CGROUP_NONE;
	char line[4096], mnt[PATH_MAX], fstype[64], opts[1024];
	char *v1 = NULL, *v2 = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	*root = NULL;
	if (!f)
		return CGROUP_NONE;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [tags] - type src super */
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash, " - %63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup2") && !v2) {
			char ctl[512], *p = xasprintf("%s/cgroup.controllers",
						      mnt);

			if (read_small(p, ctl, sizeof(ctl)) == 0 &&
			    has_word(ctl, "memory", " \n"))
				v2 = xstrdup(mnt);
			free(p);
		} else if (!strcmp(fstype, "cgroup") && !v1 &&
			   has_word(opts, "memory", ",")) {
			v1 = xstrdup(mnt);
		}
	}
	fclose(f);
	if (v2) {
		*root = v2;
		mode = CGROUP_V2;
		free(v1);
	} else if (v1) {
		*root = v1;
		mode = CGROUP_V1;
	}
	return mode;
}

/* Kills what is left in dir and removes it; waits up to ~2 s for exits. */
static int remove_cgroup(const char *dir)
{
	char *procs = xasprintf("%s/cgroup.procs", dir);
	int tries, r = 0;

	(void)write_str(dir, "cgroup.kill", "1"); /* v2, Linux 5.14 */
	for (tries = 0; tries < 200; tries++) {
		char buf[4096], *p, *end;
		struct timespec ts = { 0, 10 * 1000000L };

		if (rmdir(dir) == 0 || errno == ENOENT) {
			r = 0;
			break;
		}
		r = -errno;
		if (r != -EBUSY)
			break;
		if (read_small(procs, buf, sizeof(buf)) == 0)
			for (p = buf; *p; p = end) {
				long pid = strtol(p, &end, 10);

				if (end == p)
					break;
				if (pid > 0)
					kill((pid_t)pid, SIGKILL);
			}
		nanosleep(&ts, NULL);
	}
	free(procs);
	return r;
}

/* Parents left by daemons that died without cleaning up. */
static void sweep_stale(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end, *dir;
		long pid;

		if (strncmp(de->d_name, PARENT_PREFIX, strlen(PARENT_PREFIX)))
			continue;
		pid = strtol(de->d_name + strlen(PARENT_PREFIX), &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		dir = xasprintf("%s/%s", root, de->d_name);
		{
			DIR *c = opendir(dir);
			struct dirent *ce;

			while (c && (ce = readdir(c))) {
				char *child;

				if (ce->d_type != DT_DIR || ce->d_name[0] == '.')
					continue;
				child = xasprintf("%s/%s", dir, ce->d_name);
				remove_cgroup(child);
				free(child);
			}
			if (c)
				closedir(c);
		}
		if (remove_cgroup(dir) == 0)
			log_info("removed the cgroup '%s' of a dead daemon",
				 dir);
		free(dir);
	}
	closedir(d);
}

enum cgroup_mode cgroup_parent_open(struct cgroup_parent **out, char **why)
{
	const char *off = getenv("LAMBDAFS_NO_CGROUPS");
	struct cgroup_parent *p;
	enum cgroup_mode mode;
	char *root;
	int r;

	*out = NULL;
	*why = NULL;
	if (off && *off && strcmp(off, "0")) {
		*why = xstrdup("LAMBDAFS_NO_CGROUPS is set");
		return CGROUP_NONE;
	}
	mode = find_controller(&root);
	if (mode == CGROUP_NONE) {
		*why = xstrdup("no memory cgroup controller is mounted");
		return CGROUP_NONE;
	}
	sweep_stale(root);
	p = xcalloc(1, sizeof(*p));
	p->mode = mode;
	p->root = root;
	p->path = xasprintf("%s/" PARENT_PREFIX "%d", root, (int)getpid());
	if (mode == CGROUP_V2) {
		/* children of the root get the memory controller */
		r = write_str(root, "cgroup.subtree_control", "+memory");
		if (r < 0) {
			*why = xasprintf("cannot enable the memory controller "
					 "in '%s': %s", root, strerror(-r));
			goto fail;
		}
	}
	if (mkdir(p->path, 0755) == -1 && errno != EEXIST) {
		*why = xasprintf("cannot create the cgroup '%s': %s", p->path,
				 strerror(errno));
		goto fail;
	}
	if (mode == CGROUP_V2) {
		r = write_str(p->path, "cgroup.subtree_control", "+memory");
		if (r < 0) {
			*why = xasprintf("cannot enable the memory controller "
					 "in '%s': %s", p->path, strerror(-r));
			rmdir(p->path);
			goto fail;
		}
	}
	*out = p;
	return mode;
fail:
	free(p->path);
	free(p->root);
	free(p);
	return CGROUP_NONE;
}

void cgroup_parent_close(struct cgroup_parent *p)
{
	int r;

	if (!p)
		return;
	r = remove_cgroup(p->path);
	if (r < 0)
		log_warnx("cannot remove the cgroup '%s': %s", p->path,
			  strerror(-r));
	free(p->path);
	free(p->root);
	free(p);
}

const char *cgroup_parent_path(const struct cgroup_parent *p)
{
	return p ? p->path : NULL;
}

int cgroup_new(struct cgroup_parent *p, const char *name, int limit_mb,
	       struct cgroup **out)
{
	struct cgroup *cg = xcalloc(1, sizeof(*cg));
	char limit[32], *procs = NULL;
	int r;

	cg->mode = p->mode;
	cg->procs_fd = -1;
	cg->path = xasprintf("%s/%s", p->path, name);
	snprintf(limit, sizeof(limit), "%lld", (long long)limit_mb << 20);
	if (mkdir(cg->path, 0755) == -1) {
		r = -errno;
		log_warn("cannot create the cgroup '%s'", cg->path);
		free(cg->path);
		free(cg);
		return r;
	}
	if (p->mode == CGROUP_V2) {
		r = write_str(cg->path, "memory.max", limit);
		if (r == 0) {
			/* optional: no swap controller, old kernels */
			(void)write_str(cg->path, "memory.swap.max", "0");
			(void)write_str(cg->path, "memory.oom.group", "1");
		}
	} else {
		(void)write_str(cg->path, "memory.swappiness", "0");
		r = write_str(cg->path, "memory.limit_in_bytes", limit);
		if (r == 0) {
			/* memsw >= limit is required, so after it */
			int m = write_str(cg->path,
					  "memory.memsw.limit_in_bytes", limit);

			if (m < 0 && m != -ENOENT)
				log_warnx("cannot exclude swap in '%s': %s",
					  cg->path, strerror(-m));
		}
	}
	if (r < 0) {
		log_warnx("cannot set the memory limit of '%s': %s", cg->path,
			  strerror(-r));
		goto fail;
	}
	procs = xasprintf("%s/cgroup.procs", cg->path);
	cg->procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (cg->procs_fd == -1) {
		r = -errno;
		log_warn("cannot open '%s'", procs);
		goto fail;
	}
	free(procs);
	*out = cg;
	return 0;
fail:
	free(procs);
	cgroup_free(cg);
	return r;
}

int cgroup_procs_fd(const struct cgroup *cg)
{
	return cg ? cg->procs_fd : -1;
}

static long long read_ll(const char *dir, const char *file)
{
	char *path = xasprintf("%s/%s", dir, file), buf[64];
	long long v = -1;

	if (read_small(path, buf, sizeof(buf)) == 0)
		v = strtoll(buf, NULL, 10);
	free(path);
	return v;
}

long cgroup_peak_kb(const struct cgroup *cg)
{
	long long b;

	if (!cg)
		return -1;
	b = read_ll(cg->path, cg->mode == CGROUP_V2
				      ? "memory.peak"
				      : "memory.max_usage_in_bytes");
	return b < 0 ? -1 : (long)(b / 1024);
}

long cgroup_oom_kills(const struct cgroup *cg)
{
	char buf[1024], *path, *p;
	long n = 0;

	if (!cg)
		return 0;
	/* v1: "oom_kill N" in oom_control (Linux 4.13); v2: memory.events */
	path = xasprintf("%s/%s", cg->path,
			 cg->mode == CGROUP_V2 ? "memory.events"
					       : "memory.oom_control");
	if (read_small(path, buf, sizeof(buf)) == 0) {
		p = strstr(buf, "oom_kill ");
		if (p)
			n = strtol(p + strlen("oom_kill "), NULL, 10);
	}
	free(path);
	return n;
}

void cgroup_free(struct cgroup *cg)
{
	int r;

	if (!cg)
		return;
	if (cg->procs_fd != -1)
		close(cg->procs_fd);
	r = remove_cgroup(cg->path);
	if (r < 0)
		log_warnx("cannot remove the cgroup '%s': %s", cg->path,
			  strerror(-r));
	free(cg->path);
	free(cg);
}
