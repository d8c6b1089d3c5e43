/* SPDX-License-Identifier: MIT */
/*
 * test_bundle.c - bundle_unpack against the zips of tests/lib/mkzip.py:
 * good packages unpack with their content, modes and info flags; every
 * unsafe or broken zip is refused with a cause, leaves no dest, no temp
 * dir and nothing outside; limits hold, including a real zip bomb.
 *
 * Run from the repo root (prove does), or set LAMBDAFS_SRCDIR.
 * BUNDLE_BENCH_MB=50 adds a timed unpack of a 50 MB stored zip.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "bundle.h"
#include "util.h"
#include "tap.h"

static char srcdir[PATH_MAX];
static char work[PATH_MAX];
static unsigned dest_seq;
static const struct bundle_limits deflim = {
	.max_entries = LAMBDAFS_MAX_ENTRIES,
	.max_unpacked = LAMBDAFS_MAX_UNPACKED,
};

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool find_srcdir(void)
{
	const char *env = getenv("LAMBDAFS_SRCDIR");
	char probe[PATH_MAX + 64];
	char *slash;

	if (env) {
		snprintf(srcdir, sizeof(srcdir), "%s", env);
		return true;
	}
	if (!getcwd(srcdir, sizeof(srcdir)))
		return false;
	for (;;) {
		snprintf(probe, sizeof(probe), "%s/tests/lib/mkzip.py", srcdir);
		if (exists(probe))
			return true;
		slash = strrchr(srcdir, '/');
		if (!slash || slash == srcdir)
			return false;
		*slash = '\0';
	}
}

/* Runs mkzip.py with KIND OUT pairs. Returns true if it exits 0. */
static bool mkzip(char **argv)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		execvp("python3", argv);
		_exit(127);
	}
	return pid != -1 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static char *zip_path(const char *kind)
{
	return xasprintf("%s/zips/%s.zip", work, kind);
}

/* Every zip the tests use, in one python3 run (start-up is slow). */
/* clang-format off */
static const char *const kinds[] = {
	"good", "bootstrap", "bootstrap-noexec", "node", "ambiguous",
	"layer-python", "symlink-in", "modes", "utf8", "dotslash", "fifo",
	"slip", "slip-deep", "abs", "symlink-out", "symlink-abs",
	"symlink-chain", "symlink-parent", "device", "socket", "dup",
	"file-parent", "truncated", "notzip", "empty", "badcrc", "ctrlname",
	"badutf8",
	"many", "bomb", "bomb-lie", "big:4", "big:8",
};
/* clang-format on */

static bool make_zips(void)
{
	char *argv[3 + 2 * ARRAY_SIZE(kinds)];
	size_t i, n = 0;
	bool r;

	argv[n++] = (char *)"python3";
	argv[n++] = xasprintf("%s/tests/lib/mkzip.py", srcdir);
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		argv[n++] = (char *)kinds[i];
		argv[n++] = zip_path(kinds[i]);
	}
	argv[n] = NULL;
	r = mkzip(argv);
	free(argv[1]);
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		free(argv[3 + 2 * i]);
	return r;
}

/* The zip of that kind, made on demand if not made yet. Caller frees. */
static char *zip_of(const char *kind)
{
	char *out = zip_path(kind);
	char *argv[] = { (char *)"python3", NULL, (char *)kind, out, NULL };

	if (exists(out))
		return out;
	argv[1] = xasprintf("%s/tests/lib/mkzip.py", srcdir);
	if (!mkzip(argv))
		printf("# mkzip.py %s failed\n", kind);
	free(argv[1]);
	return out;
}

/* Unpacks kind into a new dest under work. Caller frees *dest, *cause. */
static int unpack(const char *kind, const struct bundle_limits *lim,
		  struct bundle_info *info, char **cause, char **dest)
{
	char *zip = zip_of(kind);
	int fd = open(zip, O_RDONLY | O_CLOEXEC);
	int r;

	*dest = xasprintf("%s/out%u", work, ++dest_seq);
	*cause = NULL;
	if (fd == -1) {
		printf("# cannot open %s\n", zip);
		free(zip);
		return -999;
	}
	/* bundle reads from offset 0 whatever the fd's offset */
	lseek(fd, 7, SEEK_SET);
	r = bundle_unpack(fd, *dest, lim, info, cause);
	if (fcntl(fd, F_GETFD) == -1 || lseek(fd, 0, SEEK_CUR) != 7)
		printf("# fd closed or moved by bundle_unpack\n"), r = -998;
	close(fd);
	free(zip);
	return r;
}

/* Whether a temp dir of bundle_unpack is still in work. */
static bool tmp_left(void)
{
	DIR *d = opendir(work);
	struct dirent *de;
	bool found = false;

	if (!d)
		return true;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp."))
			found = true;
	closedir(d);
	return found;
}

static bool evil_left(void)
{
	char *a = xasprintf("%s/evil.txt", work);
	char *b = xasprintf("%s/../evil.txt", work);
	bool r = exists(a) || exists(b);

	free(a);
	free(b);
	return r;
}

static void reject(const char *kind, const struct bundle_limits *lim, int want,
		   const char *needle)
{
	struct bundle_info info;
	char *cause, *dest, name[160];
	int r;

	r = unpack(kind, lim, &info, &cause, &dest);
	snprintf(name, sizeof(name), "%s: refused with %s", kind,
		 strerror(-want));
	is_int(r, want, name);
	snprintf(name, sizeof(name), "%s: cause mentions '%s'", kind, needle);
	ok(cause && strstr(cause, needle), name);
	if (cause) {
		printf("#   cause: %s\n", cause);
		ok(!strchr(cause, '\n'), "cause is one line");
	}
	snprintf(name, sizeof(name),
		 "%s: no dest, no temp dir, nothing outside", kind);
	ok(!exists(dest) && !tmp_left() && !evil_left(), name);
	free(cause);
	free(dest);
}

static char *path_in(const char *dir, const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

static bool has_content(const char *dir, const char *rel, const char *want)
{
	char *p = path_in(dir, rel);
	char *got = util_read_file(p, 1 << 20, NULL);
	bool r = got && !strcmp(got, want);

	free(got);
	free(p);
	return r;
}

static int mode_of(const char *dir, const char *rel)
{
	char *p = path_in(dir, rel);
	struct stat st;
	int m = -1;

	if (lstat(p, &st) == 0)
		m = (int)(st.st_mode & 07777);
	free(p);
	return m;
}

static bool is_kind(const char *dir, const char *rel, mode_t fmt)
{
	char *p = path_in(dir, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == fmt;

	free(p);
	return r;
}

static void test_good(void)
{
	struct bundle_info info;
	char *cause, *dest, *p;
	struct stat st;
	int r;

	r = unpack("good", &deflim, &info, &cause, &dest);
	is_int(r, 0, "good: unpacks");
	ok(!cause, "good: no cause on success");
	ok(has_content(dest, "lambda_function.py",
		       "import json\n\n\ndef lambda_handler(event, context):\n"
		       "    return {'statusCode': 200, 'body': "
		       "json.dumps(event)}\n"),
	   "good: lambda_function.py content");
	ok(has_content(dest, "pkg/helper.py", "def helper():\n    return 42\n"),
	   "good: file in implicit directory");
	ok(has_content(dest, "pkg/__init__.py", ""), "good: empty file");
	ok(has_content(dest, "data/config.json", "{\"answer\": 42}\n"),
	   "good: file in explicit directory");
	is_int(mode_of(dest, "."), 0755, "good: root is 0755");
	is_int(mode_of(dest, "pkg"), 0755, "good: implicit directory is 0755");
	is_int(mode_of(dest, "data"), 0755, "good: explicit directory 0755");
	is_int(mode_of(dest, "lambda_function.py"), 0644, "good: file 0644");
	p = path_in(dest, "lambda_function.py");
	ok(lstat(p, &st) == 0 && st.st_mtime > 1704067200 &&
		   st.st_mtime < 1704326400,
	   "good: mtime from the zip (2024-01-02)");
	free(p);
	is_int(info.entries, 5, "good: 5 entries");
	is_int(info.unpacked_size, 108 + 28 + 15, "good: unpacked size");
	ok(info.has_lambda_function_py, "good: has lambda_function.py");
	ok(!info.has_bootstrap && !info.has_index_js && !info.has_index_mjs &&
		   !info.has_index_cjs,
	   "good: no bootstrap or index");
	is_int(info.root_py, 1, "good: one root .py");
	is_str(info.first_py, "lambda_function.py", "good: first_py");
	is_int(info.root_js, 0, "good: no root js");
	is_str(info.first_js, "", "good: first_js empty");
	ok(!tmp_left(), "good: no temp dir left");
	free(cause);
	free(dest);
}

static void test_bootstrap(void)
{
	struct bundle_info info;
	char *cause, *dest;
	int r;

	r = unpack("bootstrap", &deflim, &info, &cause, &dest);
	is_int(r, 0, "bootstrap: unpacks");
	is_int(mode_of(dest, "bootstrap"), 0755, "bootstrap: mode 0755 kept");
	ok(info.has_bootstrap && info.bootstrap_exec,
	   "bootstrap: has_bootstrap, bootstrap_exec");
	ok(!info.has_lambda_function_py && info.root_py == 0,
	   "bootstrap: no python");
	free(cause);
	free(dest);

	r = unpack("bootstrap-noexec", &deflim, &info, &cause, &dest);
	is_int(r, 0, "bootstrap-noexec: unpacks");
	is_int(mode_of(dest, "bootstrap"), 0644, "bootstrap-noexec: mode 0644");
	ok(info.has_bootstrap && !info.bootstrap_exec,
	   "bootstrap-noexec: has_bootstrap, not exec");
	free(cause);
	free(dest);
}

static void test_runtimes(void)
{
	struct bundle_info info;
	char *cause, *dest;
	int r;

	r = unpack("node", &deflim, &info, &cause, &dest);
	is_int(r, 0, "node: unpacks");
	ok(info.has_index_mjs && !info.has_index_js && !info.has_index_cjs,
	   "node: has_index_mjs only");
	is_int(info.root_js, 1, "node: one root js");
	is_str(info.first_js, "index.mjs", "node: first_js");
	free(cause);
	free(dest);

	r = unpack("ambiguous", &deflim, &info, &cause, &dest);
	is_int(r, 0, "ambiguous: unpacks (inference is the caller's)");
	ok(!info.has_lambda_function_py, "ambiguous: no lambda_function.py");
	is_int(info.root_py, 2, "ambiguous: two root .py");
	is_str(info.first_py, "app.py", "ambiguous: first_py is the first");
	free(cause);
	free(dest);

	r = unpack("layer-python", &deflim, &info, &cause, &dest);
	is_int(r, 0, "layer-python: unpacks");
	ok(has_content(dest, "python/mylib.py",
		       "def helper():\n    return 42\n"),
	   "layer-python: python/mylib.py");
	is_int(info.root_py, 0, "layer-python: nothing at the root");
	free(cause);
	free(dest);
}

static void test_symlink_in(void)
{
	struct bundle_info info;
	char *cause, *dest, *p, buf[256];
	ssize_t n;
	int r;

	r = unpack("symlink-in", &deflim, &info, &cause, &dest);
	is_int(r, 0, "symlink-in: unpacks");
	p = path_in(dest, "link");
	n = readlink(p, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	is_str(buf, "lambda_function.py", "symlink-in: link target kept");
	free(p);
	p = path_in(dest, "lib/up");
	n = readlink(p, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	is_str(buf, "../lambda_function.py", "symlink-in: ../ from a subdir");
	free(p);
	ok(has_content(dest, "lib/up",
		       "import json\n\n\ndef lambda_handler("
		       "event, context):\n    return {'statusCode': 200, "
		       "'body': json.dumps(event)}\n"),
	   "symlink-in: link resolves inside");
	free(cause);
	free(dest);
}

static void test_modes(void)
{
	struct bundle_info info;
	char *cause, *dest;
	int r;

	r = unpack("modes", &deflim, &info, &cause, &dest);
	is_int(r, 0, "modes: unpacks");
	is_int(mode_of(dest, "suid"), 0755, "modes: setuid dropped");
	is_int(mode_of(dest, "private"), 0600, "modes: 0600 kept");
	is_int(mode_of(dest, "groupw"), 0644,
	       "modes: group/other write dropped");
	is_int(mode_of(dest, "dosfile"), 0644, "modes: DOS file gets 0644");
	is_int(mode_of(dest, "dosro"), 0444, "modes: DOS read-only file 0444");
	is_int(mode_of(dest, "dosdir"), 0755, "modes: DOS directory gets 0755");
	is_int(mode_of(dest, "ro"), 0555, "modes: read-only directory 0555");
	is_int(mode_of(dest, "ro/f.txt"), 0444, "modes: file in it 0444");
	is_int(mode_of(dest, "ro/sub"), 0500, "modes: nested directory 0500");
	ok(has_content(dest, "ro/sub/g.txt", "deeper\n"),
	   "modes: content under read-only directories");
	is_int(mode_of(dest, "ro/sub/g.txt"), 0400, "modes: nested file 0400");
	free(cause);
	util_rm_rf(dest);
	free(dest);
}

/* libarchive reads a fifo entry as a regular file (zip -FI): no fifo. */
static void test_fifo(void)
{
	struct bundle_info info;
	char *cause, *dest;
	int r;

	r = unpack("fifo", &deflim, &info, &cause, &dest);
	is_int(r, 0, "fifo: unpacks");
	ok(is_kind(dest, "fifo", S_IFREG),
	   "fifo: as a regular file, never a fifo");
	free(cause);
	free(dest);
}

static void test_names(void)
{
	struct bundle_info info;
	char *cause, *dest;
	int r;

	r = unpack("utf8", &deflim, &info, &cause, &dest);
	is_int(r, 0, "utf8: unpacks in the C locale");
	ok(has_content(dest,
		       "donn\xc3\xa9"
		       "es/caf\xc3\xa9.txt",
		       "caf\xc3\xa9\n"),
	   "utf8: UTF-8 names kept byte for byte");
	free(cause);
	free(dest);

	r = unpack("dotslash", &deflim, &info, &cause, &dest);
	is_int(r, 0, "dotslash: unpacks");
	ok(info.has_lambda_function_py,
	   "dotslash: ./lambda_function.py is root");
	ok(is_kind(dest, "a/b/c.txt", S_IFREG), "dotslash: a//./b/c.txt");
	free(cause);
	free(dest);
}

static void test_rejects(void)
{
	const char *abs_evil = "/tmp/evil.txt";
	bool had_abs = exists(abs_evil);

	reject("slip", &deflim, -EINVAL, "unsafe path '../evil.txt'");
	reject("slip-deep", &deflim, -EINVAL, "unsafe path");
	reject("abs", &deflim, -EINVAL, "absolute path '/tmp/evil.txt'");
	if (!had_abs)
		ok(!exists(abs_evil), "abs: /tmp/evil.txt not written");
	reject("symlink-out", &deflim, -EINVAL,
	       "symlink 'link' points outside the package "
	       "('../../etc/passwd')");
	reject("symlink-abs", &deflim, -EINVAL,
	       "symlink 'link' points outside the package ('/etc/passwd')");
	reject("symlink-chain", &deflim, -EINVAL,
	       "symlink 'esc' points outside the package ('up/..')");
	reject("symlink-parent", &deflim, -EINVAL,
	       "entry 'a/b.txt' is inside symlink 'a'");
	reject("device", &deflim, -EINVAL, "device entry 'dev' not allowed");
	reject("socket", &deflim, -EINVAL, "socket entry 'sock' not allowed");
	reject("dup", &deflim, -EINVAL, "duplicate entry 'lambda_function.py'");
	reject("file-parent", &deflim, -EINVAL,
	       "entry 'lambda_function.py/x' is inside file");
	reject("truncated", &deflim, -EINVAL, "zip is truncated or corrupt");
	reject("notzip", &deflim, -EINVAL, "not a zip file");
	reject("empty", &deflim, -EINVAL, "not a zip file");
	reject("badcrc", &deflim, -EINVAL, "zip is truncated or corrupt");
	reject("badutf8", &deflim, -EINVAL, "not valid UTF-8");
	reject("ctrlname", &deflim, -EINVAL, "unsafe path 'a\\x0ab/../../x'");
}

static void test_limits(void)
{
	struct bundle_limits lim;
	struct bundle_info info;
	char *cause, *dest;
	int r;

	reject("many", &deflim, -EFBIG, "zip has more than 20000 entries");
	lim = deflim;
	lim.max_entries = 4;
	reject("good", &lim, -EFBIG, "zip has more than 4 entries");
	lim.max_entries = 5;
	r = unpack("good", &lim, &info, &cause, &dest);
	is_int(r, 0, "good: exactly max_entries is fine");
	free(cause);
	free(dest);

	lim = deflim;
	lim.max_unpacked = 150;
	reject("good", &lim, -EFBIG, "unpacked size exceeds 150 bytes");
	lim.max_unpacked = 151;
	r = unpack("good", &lim, &info, &cause, &dest);
	is_int(r, 0, "good: exactly max_unpacked is fine");
	free(cause);
	free(dest);

	reject("bomb", &deflim, -EFBIG,
	       "unpacked size exceeds 262144000 bytes");
	/* the headers say 1000 bytes: only counting the output stops it */
	lim = deflim;
	lim.max_unpacked = 8 << 20;
	reject("bomb-lie", &lim, -EFBIG, "unpacked size exceeds 8388608 bytes");
	reject("bomb-lie", &deflim, -EFBIG,
	       "unpacked size exceeds 262144000 bytes");
}

static void test_dest(void)
{
	struct bundle_info info;
	char *cause, *dest, *zip = zip_of("good"), *p;
	int fd = open(zip, O_RDONLY | O_CLOEXEC), r;

	dest = xasprintf("%s/existing", work);
	mkdir(dest, 0755);
	r = bundle_unpack(fd, dest, &deflim, &info, &cause);
	is_int(r, -EEXIST, "existing empty dest: refused with EEXIST");
	ok(cause && strstr(cause, "exists"), "existing dest: cause says so");
	p = path_in(dest, "lambda_function.py");
	ok(!exists(p) && !tmp_left(), "existing dest: untouched");
	free(p);
	free(cause);
	free(dest);

	dest = xasprintf("%s/no/such/parent", work);
	r = bundle_unpack(fd, dest, &deflim, &info, &cause);
	is_int(r, -ENOENT, "missing parent: ENOENT");
	ok(cause != NULL, "missing parent: cause set");
	free(cause);
	free(dest);
	close(fd);
	free(zip);
}

/*
 * ENOSPC: in a child with its own mount namespace (as root, or through a
 * user namespace), unpack 4 MiB into a 1 MiB tmpfs. Exit codes: 0 pass,
 * 2 wrong result, 3 debris left, 77 cannot set up.
 */
/* Writes s to a /proc file; true on success. */
static bool write_proc(const char *path, const char *s)
{
	int f = open(path, O_WRONLY | O_CLOEXEC);
	bool r = f != -1 && write(f, s, strlen(s)) == (ssize_t)strlen(s);

	if (f != -1)
		close(f);
	return r;
}

/* A mount namespace of our own: as root, or as root of a user namespace. */
static bool private_mounts(void)
{
	char map[64];
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();

	if (unshare(CLONE_NEWNS) == -1) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == -1)
			return false;
		write_proc("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "0 %u 1", uid);
		if (!write_proc("/proc/self/uid_map", map))
			return false;
		snprintf(map, sizeof(map), "0 %u 1", gid);
		if (!write_proc("/proc/self/gid_map", map))
			return false;
	}
	/* keep our mounts from propagating to the parent namespace */
	return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0;
}

/*
 * ENOSPC: in a child with its own mount namespace, unpack 4 MiB into a
 * 1 MiB tmpfs. Exit codes: 0 pass, 2 wrong result, 3 debris left,
 * 77 cannot set up.
 */
static int enospc_child(const char *zip, const char *mnt)
{
	struct bundle_info info;
	char *cause = NULL, *dest = path_in(mnt, "pkg");
	struct dirent *de;
	DIR *d;
	int fd = -1, n = 0, r;

	if (!private_mounts() ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == -1 ||
	    (fd = open(zip, O_RDONLY | O_CLOEXEC)) == -1) {
		r = 77;
		goto out;
	}
	r = bundle_unpack(fd, dest, &deflim, &info, &cause);
	printf("#   enospc: %d %s\n", r, cause ? cause : "(no cause)");
	if (r != -ENOSPC || !cause ||
	    !strstr(cause, "no space left while unpacking 'data.bin'")) {
		r = 2;
		goto out;
	}
	d = opendir(mnt);
	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	/* "." and ".." only: neither dest nor a temp dir */
	r = n == 2 ? 0 : 3;
out:
	if (fd != -1)
		close(fd);
	free(cause);
	free(dest);
	return r;
}

static void test_enospc(void)
{
	char *zip = zip_of("big:4"), *mnt = path_in(work, "tiny");
	int status = 0;
	pid_t pid;

	mkdir(mnt, 0755);
	pid = fork();
	if (pid == 0) {
		int r = enospc_child(zip, mnt);

		free(mnt);
		free(zip);
		_exit(r);
	}
	if (pid == -1 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		status = 1 << 8;
	if (WEXITSTATUS(status) == 77)
		ok(1, "# SKIP ENOSPC: cannot mount a tmpfs here");
	else
		is_int(WEXITSTATUS(status), 0,
		       "ENOSPC comes through as -ENOSPC with a cause, no "
		       "debris");
	free(mnt);
	free(zip);
}

static void test_speed(const char *kind, unsigned mib)
{
	struct bundle_info info;
	struct timespec t0, t1;
	char *cause, *dest, *zip = zip_of(kind), name[128];
	int fd = open(zip, O_RDONLY | O_CLOEXEC), r;
	double ms;

	dest = xasprintf("%s/speed-%u", work, mib);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = bundle_unpack(fd, dest, &deflim, &info, &cause);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	snprintf(name, sizeof(name), "%s: unpacks", kind);
	is_int(r, 0, name);
	is_int(info.unpacked_size, (uint64_t)mib * 1048576 + 108,
	       "unpacked size counts every byte");
	printf("# %u MiB stored zip unpacked in %.0f ms (%.0f MiB/s, syncfs "
	       "included)\n",
	       mib, ms, ms > 0 ? mib * 1000.0 / ms : 0.0);
	util_rm_rf(dest);
	close(fd);
	free(cause);
	free(dest);
	free(zip);
}

int main(void)
{
	const char *bench = getenv("BUNDLE_BENCH_MB");
	char *zips;

	plan_no_plan();
	if (!find_srcdir()) {
		printf("1..0 # SKIP cannot find tests/lib/mkzip.py\n");
		return 0;
	}
	snprintf(work, sizeof(work), "%s/test_bundle.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(work)) {
		printf("1..0 # SKIP cannot create a temp dir\n");
		return 0;
	}
	zips = path_in(work, "zips");
	mkdir(zips, 0755);
	free(zips);
	ok(make_zips(), "mkzip.py makes the test zips");

	ok(bundle_version() && strstr(bundle_version(), "libarchive"),
	   "bundle_version names libarchive");
	test_good();
	test_bootstrap();
	test_runtimes();
	test_symlink_in();
	test_modes();
	test_names();
	test_fifo();
	test_rejects();
	test_limits();
	test_dest();
	test_enospc();
	test_speed("big:8", 8);
	if (bench) {
		char kind[32];
		unsigned mib = (unsigned)strtoul(bench, NULL, 10);

		snprintf(kind, sizeof(kind), "big:%u", mib);
		test_speed(kind, mib);
	}
	util_rm_rf(work);
	return done_testing();
}
