/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - a private root for each execution environment (see
 * sandbox.h).
 *
 * Design notes
 * - The host is never changed: no /var/task or /opt is created on it. The
 *   child unshares its mount namespace (and its user namespace when the
 *   daemon is not root), makes every mount a slave so nothing propagates
 *   back, mounts a tmpfs over /tmp and pivots into it, which leaves the
 *   host's tree reachable at /oldroot. The new root is built in
 *   /newroot from binds of /oldroot/..., then the old root is detached and
 *   /newroot pivoted to "/" (bubblewrap's sequence, bubblewrap.c
 *   setup_newroot and main). Pivoting through /tmp first is what keeps
 *   sources under the host's /tmp (test state directories) reachable.
 * - Everything the child needs is computed here before fork: realpath'd
 *   sources, "/oldroot"/"/newroot" prefixed strings, the overlay options,
 *   the uid/gid maps. sandbox_enter only walks an array of steps with
 *   system calls, so it is async-signal-safe.
 * - Read-only binds use mount_setattr(AT_RECURSIVE) (Linux 5.12): it only
 *   adds MOUNT_ATTR_RDONLY, so flags locked by a user namespace (nosuid,
 *   nodev, ...) are kept. Older kernels take the MS_REMOUNT path with the
 *   flags read back from statfs, as bubblewrap does.
 * - Several layers are merged with a read-only overlayfs (lowerdirs only,
 *   later layer first); one layer is a plain bind, none an empty /opt.
 *   Unprivileged overlayfs needs Linux 5.11; the probe tries it.
 * - Where mount(2) ignores the source or type (binds, remounts,
 *   propagation changes) we still pass "none": valgrind checks both
 *   strings.
 * - /proc is a recursive bind of the host's: mounting a fresh procfs needs
 *   a PID namespace of our own in a user namespace, which we don't create.
 *   /dev is a tmpfs with binds of the usual character devices.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h> /* ST_* flag values, as statfs f_flags */
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

#define BASE "/tmp"		/* tmpfs mounted here becomes the first root */
#define NEWROOT "/newroot"
#define OLDROOT "/oldroot"

enum step_kind {
	STEP_MKDIR,	/* dst */
	STEP_FILE,	/* dst: an empty file to bind a device on */
	STEP_SYMLINK,	/* dst -> src */
	STEP_BIND,	/* src on dst, writable */
	STEP_BIND_RO,	/* src on dst, read-only (recursive) */
	STEP_TMPFS,	/* tmpfs on dst with options data */
	STEP_OVERLAY,	/* read-only overlay on dst, lowerdirs in data */
};

struct step {
	enum step_kind kind;
	char *src;
	char *dst;
	char *data;
};

struct sandbox {
	enum sandbox_mode mode;
	char uid_map[64];
	char gid_map[64];
	struct step *steps;
	size_t nsteps, cap;
};

const char *sandbox_mode_name(enum sandbox_mode mode)
{
	switch (mode) {
	case SANDBOX_MOUNTNS:
		return "mount-namespace";
	case SANDBOX_USERNS:
		return "user-namespace";
	case SANDBOX_NONE:
	default:
		return "none";
	}
}

/* ---------- building the plan (in the daemon) ---------- */

static void plan_add(struct sandbox *sb, enum step_kind kind, char *src,
		     char *dst, char *data)
{
	struct step *s;

	if (sb->nsteps == sb->cap) {
		sb->cap = sb->cap ? sb->cap * 2 : 32;
		sb->steps = xrealloc(sb->steps, sb->cap * sizeof(*sb->steps));
	}
	s = &sb->steps[sb->nsteps++];
	s->kind = kind;
	s->src = src;
	s->dst = dst;
	s->data = data;
}

static void plan_mkdir(struct sandbox *sb, const char *inside)
{
	plan_add(sb, STEP_MKDIR, NULL, xasprintf(NEWROOT "%s", inside), NULL);
}

/* A host path (already canonical) bound at inside, which is created. */
static void plan_bind(struct sandbox *sb, enum step_kind kind,
		      const char *host, const char *inside)
{
	plan_mkdir(sb, inside);
	plan_add(sb, kind, xasprintf(OLDROOT "%s", host),
		 xasprintf(NEWROOT "%s", inside), NULL);
}

/*
 * /etc/resolv.conf is often a symlink out of /etc (systemd-resolved:
 * /run/systemd/resolve/stub-resolv.conf); bind the file it names at the
 * same place, creating the directories above it, so DNS keeps working.
 */
static void plan_etc_link(struct sandbox *sb, const char *path)
{
	char *real = realpath(path, NULL), *dir, *slash;

	if (!real || !strncmp(real, "/etc/", 5) || !strncmp(real, "/usr/", 5)) {
		free(real);
		return;
	}
	dir = xstrdup(real);
	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		plan_mkdir(sb, dir);
		*slash = '/';
	}
	free(dir);
	plan_add(sb, STEP_FILE, NULL, xasprintf(NEWROOT "%s", real), NULL);
	plan_add(sb, STEP_BIND_RO, xasprintf(OLDROOT "%s", real),
		 xasprintf(NEWROOT "%s", real), NULL);
	free(real);
}

/*
 * /bin, /sbin, /lib* are symlinks into /usr on merged-/usr systems and
 * directories elsewhere: copy whichever the host has.
 */
static void plan_top_dir(struct sandbox *sb, const char *path)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) == -1)
		return; /* e.g. no /lib32 on this host */
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			return;
		target[n] = '\0';
		plan_add(sb, STEP_SYMLINK, xstrdup(target),
			 xasprintf(NEWROOT "%s", path), NULL);
	} else if (S_ISDIR(st.st_mode)) {
		plan_bind(sb, STEP_BIND_RO, path, path);
	}
}

/* Appends p to the overlay option string, escaping its separators. */
static void overlay_append(char **opts, const char *p)
{
	size_t len = strlen(*opts), i;
	char *o = xrealloc(*opts, len + 2 * strlen(p) + 2);

	if (len > strlen("lowerdir="))
		o[len++] = ':';
	for (i = 0; p[i]; i++) {
		if (p[i] == ':' || p[i] == ',' || p[i] == '\\')
			o[len++] = '\\';
		o[len++] = p[i];
	}
	o[len] = '\0';
	*opts = o;
}

static char *canonical(const char *path, char **why)
{
	char *r = realpath(path, NULL);

	if (!r)
		*why = xasprintf("cannot resolve '%s': %s", path,
				 strerror(errno));
	return r;
}

static int plan_opt(struct sandbox *sb, const struct sandbox_layout *l,
		    char **why)
{
	char *real[LAMBDAFS_MAX_LAYERS + 1], *opts = NULL;
	size_t i, j, n = 0;
	int r = 0;

	plan_mkdir(sb, SANDBOX_OPT);
	if (l->nlayers > ARRAY_SIZE(real)) {
		*why = xasprintf("too many layers (%zu)", l->nlayers);
		return -E2BIG;
	}
	/* top first (the last layer); the same tree twice (same zip)
	 * only once, where it wins */
	for (i = l->nlayers; i > 0; i--) {
		char *p = canonical(l->layer_dirs[i - 1], why);

		if (!p) {
			r = -errno;
			goto out;
		}
		for (j = 0; j < n && strcmp(real[j], p); j++)
			;
		if (j < n)
			free(p);
		else
			real[n++] = p;
	}
	if (n == 1) {
		plan_add(sb, STEP_BIND_RO, xasprintf(OLDROOT "%s", real[0]),
			 xasprintf(NEWROOT "%s", SANDBOX_OPT), NULL);
	} else if (n > 1) {
		opts = xstrdup("lowerdir=");
		for (j = 0; j < n; j++) {
			char *p = xasprintf(OLDROOT "%s", real[j]);

			overlay_append(&opts, p);
			free(p);
		}
		if (strlen(opts) >= 4000) {
			/* mount(2) copies one page of options */
			*why = xasprintf("layer paths too long for an overlay "
					 "mount (%zu bytes)", strlen(opts));
			free(opts);
			r = -ENAMETOOLONG;
			goto out;
		}
		plan_add(sb, STEP_OVERLAY, NULL,
			 xasprintf(NEWROOT "%s", SANDBOX_OPT), opts);
	}
out:
	for (j = 0; j < n; j++)
		free(real[j]);
	if (r < 0)
		errno = -r;
	return r;
}

static void plan_dev(struct sandbox *sb)
{
	static const char *const devs[] = { "null", "zero", "full",
					    "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	size_t i;

	plan_mkdir(sb, "/dev");
	plan_add(sb, STEP_TMPFS, NULL, xstrdup(NEWROOT "/dev"),
		 xstrdup("mode=0755,size=64k"));
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		char *host = xasprintf("/dev/%s", devs[i]);

		if (access(host, F_OK) == 0) {
			plan_add(sb, STEP_FILE, NULL,
				 xasprintf(NEWROOT "/dev/%s", devs[i]), NULL);
			plan_add(sb, STEP_BIND, xasprintf(OLDROOT "%s", host),
				 xasprintf(NEWROOT "/dev/%s", devs[i]), NULL);
		}
		free(host);
	}
	for (i = 0; i < ARRAY_SIZE(links); i++)
		plan_add(sb, STEP_SYMLINK, xstrdup(links[i][0]),
			 xasprintf(NEWROOT "/dev/%s", links[i][1]), NULL);
	/* POSIX shared memory (python's multiprocessing) */
	plan_mkdir(sb, "/dev/shm");
	plan_add(sb, STEP_TMPFS, NULL, xstrdup(NEWROOT "/dev/shm"),
		 xstrdup("mode=1777"));
}

struct sandbox *sandbox_new(enum sandbox_mode mode,
			    const struct sandbox_layout *l, char **why)
{
	static const char *const tops[] = { "/bin", "/sbin", "/lib", "/lib32",
					    "/lib64", "/libx32" };
	struct sandbox *sb;
	char *task = NULL, *tmp = NULL, *rt = NULL;
	size_t i;
	int r;

	ASSERT(mode != SANDBOX_NONE);
	*why = NULL;
	sb = xcalloc(1, sizeof(*sb));
	sb->mode = mode;
	snprintf(sb->uid_map, sizeof(sb->uid_map), "%u %u 1\n",
		 (unsigned)getuid(), (unsigned)getuid());
	snprintf(sb->gid_map, sizeof(sb->gid_map), "%u %u 1\n",
		 (unsigned)getgid(), (unsigned)getgid());
	task = canonical(l->task_dir, why);
	if (!task)
		goto fail;
	tmp = canonical(l->tmp_dir, why);
	if (!tmp)
		goto fail;
	if (l->runtime_dir) {
		/* optional: a custom runtime does not need ours */
		rt = realpath(l->runtime_dir, NULL);
		if (!rt && errno != ENOENT) {
			*why = xasprintf("cannot resolve '%s': %s",
					 l->runtime_dir, strerror(errno));
			goto fail;
		}
	}
	plan_bind(sb, STEP_BIND_RO, "/usr", "/usr");
	plan_bind(sb, STEP_BIND_RO, "/etc", "/etc");
	plan_etc_link(sb, "/etc/resolv.conf");
	for (i = 0; i < ARRAY_SIZE(tops); i++)
		plan_top_dir(sb, tops[i]);
	plan_mkdir(sb, "/var");
	plan_bind(sb, STEP_BIND_RO, task, SANDBOX_TASK_ROOT);
	if (rt)
		plan_bind(sb, STEP_BIND_RO, rt, SANDBOX_RUNTIME_DIR);
	r = plan_opt(sb, l, why);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	plan_bind(sb, STEP_BIND, tmp, SANDBOX_TMP);
	plan_dev(sb);
	plan_bind(sb, STEP_BIND, "/proc", "/proc");
	free(task);
	free(tmp);
	free(rt);
	return sb;
fail:
	r = errno;
	free(task);
	free(tmp);
	free(rt);
	sandbox_free(sb);
	errno = r;
	return NULL;
}

void sandbox_free(struct sandbox *sb)
{
	size_t i;

	if (!sb)
		return;
	for (i = 0; i < sb->nsteps; i++) {
		free(sb->steps[i].src);
		free(sb->steps[i].dst);
		free(sb->steps[i].data);
	}
	free(sb->steps);
	free(sb);
}

/* ---------- replaying it (in the child: system calls only) ---------- */

/* what = a + " " + b, truncated; no stdio here */
static void set_what(char *what, size_t size, const char *a, const char *b)
{
	size_t n = 0;

	if (!size)
		return;
	while (*a && n + 1 < size)
		what[n++] = *a++;
	if (b && *b && n + 1 < size)
		what[n++] = ' ';
	while (b && *b && n + 1 < size)
		what[n++] = *b++;
	what[n] = '\0';
}

/* The path as the function will see it, for messages. */
static const char *inside(const char *dst)
{
	return strncmp(dst, NEWROOT, strlen(NEWROOT)) ? dst
						      : dst + strlen(NEWROOT);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd == -1)
		return -errno;
	n = write(fd, s, strlen(s));
	err = errno;
	close(fd);
	if (n != (ssize_t)strlen(s))
		return n < 0 ? -err : -EIO;
	return 0;
}

static unsigned long locked_flags(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_NOSUID, MS_NOSUID },	{ ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },	{ ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	struct statfs sfs;
	unsigned long ms = 0;
	size_t i;

	if (statfs(path, &sfs) == -1)
		return 0;
	for (i = 0; i < ARRAY_SIZE(map); i++)
		if ((unsigned long)sfs.f_flags & map[i].st)
			ms |= map[i].ms;
	return ms;
}

static int make_readonly(const char *path, bool recursive)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr,
			  sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	if (mount("none", path, "none",
		  MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path),
		  NULL) == -1)
		return -errno;
	return 0;
}

static int run_step(const struct step *s)
{
	int fd;

	switch (s->kind) {
	case STEP_MKDIR:
		if (mkdir(s->dst, 0755) == -1 && errno != EEXIST)
			return -errno;
		return 0;
	case STEP_FILE:
		fd = open(s->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd == -1)
			return -errno;
		close(fd);
		return 0;
	case STEP_SYMLINK:
		return symlink(s->src, s->dst) == -1 ? -errno : 0;
	case STEP_BIND:
		return mount(s->src, s->dst, "none", MS_BIND | MS_REC, NULL) == -1
			       ? -errno
			       : 0;
	case STEP_BIND_RO:
		if (mount(s->src, s->dst, "none", MS_BIND | MS_REC, NULL) == -1)
			return -errno;
		return make_readonly(s->dst, true);
	case STEP_TMPFS:
		return mount("tmpfs", s->dst, "tmpfs", MS_NOSUID | MS_NODEV,
			     s->data) == -1
			       ? -errno
			       : 0;
	case STEP_OVERLAY:
		return mount("overlay", s->dst, "overlay",
			     MS_RDONLY | MS_NOSUID | MS_NODEV, s->data) == -1
			       ? -errno
			       : 0;
	default:
		return -EINVAL;
	}
}

static const char *step_name(enum step_kind kind)
{
	switch (kind) {
	case STEP_MKDIR:
		return "mkdir";
	case STEP_FILE:
		return "create";
	case STEP_SYMLINK:
		return "symlink";
	case STEP_BIND:
		return "bind";
	case STEP_BIND_RO:
		return "read-only bind on";
	case STEP_TMPFS:
		return "tmpfs on";
	case STEP_OVERLAY:
		return "overlay of the layers on";
	default:
		return "step";
	}
}

#define FAIL(a, b)                                 \
	do {                                       \
		r = -errno;                        \
		set_what(what, size, (a), (b));    \
		return r;                          \
	} while (0)

bool sandbox_uses_userns(const struct sandbox *sb)
{
	return sb->mode == SANDBOX_USERNS;
}

int sandbox_enter(const struct sandbox *sb, char *what, size_t size)
{
	int flags = CLONE_NEWNS, oldroot, r;
	size_t i;

	if (sb->mode == SANDBOX_USERNS)
		flags |= CLONE_NEWUSER;
	if (unshare(flags) == -1)
		FAIL("unshare", sb->mode == SANDBOX_USERNS
					? "(user and mount namespace)"
					: "(mount namespace)");
	if (sb->mode == SANDBOX_USERNS) {
		/* setgroups must be denied before an unprivileged gid_map */
		r = write_file("/proc/self/setgroups", "deny");
		if (r < 0 && r != -ENOENT) {
			set_what(what, size, "write", "/proc/self/setgroups");
			return r;
		}
		r = write_file("/proc/self/uid_map", sb->uid_map);
		if (r < 0) {
			set_what(what, size, "write", "/proc/self/uid_map");
			return r;
		}
		r = write_file("/proc/self/gid_map", sb->gid_map);
		if (r < 0) {
			set_what(what, size, "write", "/proc/self/gid_map");
			return r;
		}
	}
	/* nothing we mount may propagate back to the host */
	if (mount("none", "/", "none", MS_SLAVE | MS_REC, NULL) == -1)
		FAIL("make / a slave mount", NULL);
	if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=1m") == -1)
		FAIL("tmpfs on", BASE);
	if (chdir(BASE) == -1)
		FAIL("chdir", BASE);
	if (mkdir("newroot", 0755) == -1)
		FAIL("mkdir", BASE "/newroot");
	if (mount("newroot", "newroot", "none", MS_BIND | MS_REC, NULL) == -1)
		FAIL("bind", BASE "/newroot");
	if (mkdir("oldroot", 0755) == -1)
		FAIL("mkdir", BASE "/oldroot");
	if (syscall(SYS_pivot_root, ".", "oldroot") == -1)
		FAIL("pivot_root", BASE);
	if (chdir("/") == -1)
		FAIL("chdir", "/");
	for (i = 0; i < sb->nsteps; i++) {
		r = run_step(&sb->steps[i]);
		if (r < 0) {
			set_what(what, size, step_name(sb->steps[i].kind),
				 inside(sb->steps[i].dst));
			return r;
		}
	}
	/* private first, or the detach would reach the host's mounts */
	if (mount(OLDROOT, OLDROOT, "none", MS_REC | MS_PRIVATE, NULL) == -1)
		FAIL("make private", OLDROOT);
	if (umount2(OLDROOT, MNT_DETACH) == -1)
		FAIL("detach", OLDROOT);
	oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot == -1)
		FAIL("open", "/");
	if (chdir(NEWROOT) == -1 || syscall(SYS_pivot_root, ".", ".") == -1 ||
	    fchdir(oldroot) == -1 || umount2(".", MNT_DETACH) == -1) {
		r = -errno;
		close(oldroot);
		set_what(what, size, "pivot_root", NEWROOT);
		return r;
	}
	close(oldroot);
	if (chdir("/") == -1)
		FAIL("chdir", "/");
	/* like AWS: only /tmp is writable; not recursive, so /tmp, /dev
	 * and /proc keep their own mode */
	r = make_readonly("/", false);
	if (r < 0) {
		set_what(what, size, "make read-only", "/");
		return r;
	}
	return 0;
}

/* ---------- probing ---------- */

/*
 * Builds a sandbox like a real one (two layers, so overlayfs is tried) in
 * a child and reports the first failure.
 */
static int probe_mode(enum sandbox_mode mode, char **why)
{
	char *layers[] = { (char *)"/usr/lib", (char *)"/usr/share" };
	struct sandbox_layout l = {
		.task_dir = "/usr/bin",
		.layer_dirs = layers,
		.nlayers = 2,
		.tmp_dir = "/usr",
		.runtime_dir = NULL,
	};
	struct {
		int err;
		char what[200];
	} res = { 0 };
	char *true_argv[] = { (char *)"true", NULL }, *true_envp[] = { NULL };
	struct sandbox *sb;
	int pfd[2], status, r;
	ssize_t n;
	pid_t pid;

	sb = sandbox_new(mode, &l, why);
	if (!sb)
		return -errno;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		r = -errno;
		sandbox_free(sb);
		*why = xasprintf("pipe: %s", strerror(-r));
		return r;
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		r = sandbox_enter(sb, res.what, sizeof(res.what));
		if (r == 0 && access(SANDBOX_TASK_ROOT, X_OK) == -1) {
			r = -errno;
			set_what(res.what, sizeof(res.what), "access",
				 SANDBOX_TASK_ROOT);
		}
		res.err = -r;
		if (write(pfd[1], &res, sizeof(res)) < 0)
			_exit(2);
		/* the answer is in the pipe; leave by exec like a real
		 * environment (under valgrind, exiting the forked copy of
		 * the daemon would run a leak check of all of it) */
		execve("/bin/true", true_argv, true_envp);
		_exit(r ? 1 : 0);
	}
	r = pid == -1 ? -errno : 0;
	close(pfd[1]);
	sandbox_free(sb);
	if (r < 0) {
		close(pfd[0]);
		*why = xasprintf("fork: %s", strerror(-r));
		return r;
	}
	do
		n = read(pfd[0], &res, sizeof(res));
	while (n == -1 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(res)) {
		*why = xstrdup("the probe process died");
		return -ECHILD;
	}
	if (res.err) {
		res.what[sizeof(res.what) - 1] = '\0';
		*why = xasprintf("%s: %s", res.what, strerror(res.err));
		return -res.err;
	}
	return 0;
}

enum sandbox_mode sandbox_probe(char **why)
{
	const char *off = getenv("LAMBDAFS_NO_NAMESPACES");
	char *why_ns = NULL, *why_user = NULL;

	*why = NULL;
	if (off && *off && strcmp(off, "0")) {
		*why = xstrdup("LAMBDAFS_NO_NAMESPACES is set");
		return SANDBOX_NONE;
	}
	/* root: a mount namespace is enough; in a container without
	 * CAP_SYS_ADMIN a user namespace may still work */
	if (geteuid() == 0 && probe_mode(SANDBOX_MOUNTNS, &why_ns) == 0)
		return SANDBOX_MOUNTNS;
	if (probe_mode(SANDBOX_USERNS, &why_user) == 0) {
		free(why_ns);
		return SANDBOX_USERNS;
	}
	if (why_ns)
		*why = xasprintf("%s; with a user namespace: %s", why_ns,
				 why_user);
	else
		*why = xstrdup(why_user);
	free(why_ns);
	free(why_user);
	return SANDBOX_NONE;
}
