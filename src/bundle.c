/* SPDX-License-Identifier: MIT */
/*
 * bundle.c - validate a deployment zip and unpack it into a new directory.
 * The only file that includes <archive.h>.
 *
 * Design notes
 *
 * - Reading. libarchive's seekable zip reader only
 *   (archive_read_support_format_zip_seekable), fed by our own callbacks
 *   that pread(2) 1 MiB blocks from the caller's fd: the fd is never
 *   closed and its file offset is left alone, so the caller may keep using
 *   it. The seekable reader trusts the central directory, which is what
 *   unzip and AWS use; a zip without one (cut short) is "truncated", a
 *   file that does not even start like a zip is "not a zip file".
 *   Every libarchive warning (inconsistent sizes or CRC between local and
 *   central headers, bad CRC, undecodable names) is treated as corruption:
 *   a package that different unzip tools could read differently is refused.
 *
 * - Names. libarchive converts names to the locale's charset, and in the
 *   "C" locale of a daemon every non-ASCII UTF-8 name fails. We switch this
 *   thread (uselocale, not setlocale: thread-safe) to C.UTF-8 for the call.
 *   A name is split on '/': empty and "." components are dropped, ".."
 *   anywhere is refused (even when it would stay inside), a leading '/' is
 *   refused. Every component must fit NAME_MAX, the whole path
 *   BUNDLE_PATH_MAX.
 *
 * - Writing. We never use archive_write_disk. Everything is created with
 *   *at() calls relative to the temp directory's fd: parents are opened
 *   one component at a time with O_NOFOLLOW|O_DIRECTORY (created 0755 when
 *   missing: zips often leave directory entries out), files with
 *   O_CREAT|O_EXCL|O_NOFOLLOW. So a symlink unpacked earlier ("a" -> "..")
 *   is never followed by a later entry ("a/b"): that entry is refused.
 *   Duplicate names are refused too ("last one wins" would make the result
 *   depend on which tool unpacks it); a directory entry for a directory
 *   that already exists (made implicitly or listed twice) is fine.
 *   Only regular files, directories and symlinks are created; device and
 *   socket entries are refused. libarchive itself reads a fifo entry as a
 *   regular file (Info-ZIP's `zip -FI` stores piped data with the pipe's
 *   mode), so those unpack as plain files; our fifo check is a backstop.
 *
 * - Symlinks. The target must be relative and must not climb above the
 *   root counting from the link's directory ("lib/x" -> "../y" is fine,
 *   "x" -> "../y" is not). That lexical check is not enough on its own:
 *   "up" -> "." plus "esc" -> "up/.." each look harmless, yet esc names
 *   the parent of the package. So once everything is unpacked, every link
 *   is resolved for real inside the tree (bundle_check_link), following
 *   links that point to links, and refused if the walk leaves the root or
 *   loops.
 *
 * - Limits. Entries are counted as they come (directories too). Sizes are
 *   counted from the bytes libarchive hands us, never from headers, which
 *   a zip bomb fills with small numbers; a header that declares more than
 *   what is left is refused early, before any data is inflated.
 *
 * - Modes. Permission bits come from the zip, minus setuid, setgid,
 *   sticky and the group/other write bits: the tree lives in the host's
 *   store, where a world-writable file would let any local user change
 *   deployed code. Entries without Unix modes (DOS zips: libarchive says
 *   0664/0775, or 0444 for read-only) therefore end up 0644/0755 (0444);
 *   an entry whose permission bits are all zero gets 0644/0755.
 *   Directories are created with the owner's rwx bits so their content can
 *   be written; a directory whose mode takes some of them away (0555) gets
 *   its mode at the end, deepest first (bundle_fix_dirs). File mtimes come
 *   from the zip (Python compares them with the ones in shipped .pyc).
 *
 * - Atomicity. We unpack into mkdtemp(dest + ".tmp.XXXXXX") next to dest
 *   (same filesystem), make it durable, then rename it to dest with
 *   RENAME_NOREPLACE and fsync the parent. Any failure removes the temp
 *   dir (or dest, if only the last fsync failed): dest exists only when
 *   the whole package is there.
 *
 * - Durability. One syncfs(2) on the temp dir instead of an fsync per file
 *   and directory: it makes every file and directory we wrote durable
 *   (and since Linux 5.8 reports write-back errors) at the cost of one
 *   flush, where 20,000 fsyncs of node_modules would cost 20,000 journal
 *   commits. The catch is that it also waits for other dirty data on the
 *   same filesystem.
 *
 * - Errors. -EINVAL for a bad or unsafe zip, -EFBIG for limits, -errno of
 *   the failing system call otherwise; *cause is always set on failure,
 *   one line, with names escaped (control bytes become \xNN).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "bundle.h"
#include "log.h"
#include "util.h"

#define BUNDLE_BUFSZ	  (1024 * 1024) /* zip read block */
#define BUNDLE_PATH_MAX	  4096 /* longest path inside a package */
#define BUNDLE_NAME_SHOWN 200  /* longest name quoted in a cause */
#define BUNDLE_MAX_HOPS	  40   /* symlinks followed per resolution */

/* The archive's view of the caller's fd: offset tracked here, pread only. */
struct bundle_reader {
	int fd;
	int64_t off;  /* next byte libarchive will get */
	int64_t size; /* size of the zip at the start */
	int err;      /* errno of a failed pread, 0 if none */
	char *buf;    /* BUNDLE_BUFSZ bytes */
	const _Atomic bool *cancel; /* lim->cancel */
};

/* A directory whose mode is applied once its content is in place. */
struct bundle_dirmode {
	char *path;
	mode_t mode;
	unsigned depth; /* number of '/' in path */
	size_t seq;	/* order in the zip: later entries win */
};

struct bundle_ctx {
	/* set up by bundle_unpack, read-only afterwards */
	const struct bundle_limits *lim;
	struct bundle_info *info;
	struct archive *a;
	struct bundle_reader *rd;
	int rootfd; /* the temp dir */

	/* the entry being unpacked */
	char path[BUNDLE_PATH_MAX]; /* normalised: "a/b/c", no "." or "" */
	char *ename;		    /* escaped raw name for causes */

	/* parent directory of the previous entry, kept open */
	char cache[BUNDLE_PATH_MAX];
	int cachefd; /* -1 when cache is not valid */

	struct bundle_dirmode *dirs; /* modes to apply at the end */
	size_t ndirs, adirs;
	char **links; /* every symlink, checked at the end */
	size_t nlinks, alinks;

	char *cause; /* first failure reason, malloc'd */
};

static char *bundle_escape(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0, len = strlen(s);
	char *out = xmalloc(BUNDLE_NAME_SHOWN * 4 + 4);

	for (i = 0; i < len && i < BUNDLE_NAME_SHOWN; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		} else {
			out[n++] = (char)ch;
		}
	}
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* Records the first failure reason; returns err so callers can return it. */
static int bundle_fail(struct bundle_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bundle_fail(struct bundle_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (c->cause)
		return err;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	c->cause = s ? s : xstrdup("cannot unpack the zip");
	return err;
}

/* A failed system call on the current entry: err is -errno. */
static int bundle_fail_sys(struct bundle_ctx *c, int err, const char *what)
{
	const char *name = c->ename ? c->ename : "";

	if (err == -ENOSPC)
		return bundle_fail(c, err, "no space left while unpacking '%s'",
				   name);
	if (err == -EDQUOT)
		return bundle_fail(c, err,
				   "disk quota exceeded while unpacking '%s'",
				   name);
	return bundle_fail(c, err, "cannot %s '%s': %s", what, name,
			   strerror(-err));
}

/* libarchive failed: our read error, or a bad zip. */
static int bundle_fail_archive(struct bundle_ctx *c)
{
	const char *msg = archive_error_string(c->a);

	if (c->rd->err)
		return bundle_fail(c, -c->rd->err, "cannot read the zip: %s",
				   strerror(c->rd->err));
	return bundle_fail(c, -EINVAL, "zip is truncated or corrupt: %s",
			   msg ? msg : "unknown error");
}

static la_ssize_t bundle_read_cb(struct archive *a, void *data,
				 const void **buf)
{
	struct bundle_reader *rd = data;
	ssize_t n;

	if (rd->cancel && *rd->cancel) {
		rd->err = ECANCELED;
		archive_set_error(a, ECANCELED, "canceled");
		return -1;
	}
	do {
		n = pread(rd->fd, rd->buf, BUNDLE_BUFSZ, (off_t)rd->off);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		rd->err = errno;
		archive_set_error(a, errno, "read error");
		return -1;
	}
	rd->off += n;
	*buf = rd->buf;
	return n;
}

static la_int64_t bundle_seek_cb(struct archive *a, void *data, la_int64_t off,
				 int whence)
{
	struct bundle_reader *rd = data;
	int64_t pos;

	switch (whence) {
	case SEEK_SET:
		pos = off;
		break;
	case SEEK_CUR:
		pos = rd->off + off;
		break;
	case SEEK_END:
		pos = rd->size + off;
		break;
	default:
		pos = -1;
		break;
	}
	if (pos < 0) {
		archive_set_error(a, EINVAL, "bad seek in zip");
		return ARCHIVE_FATAL;
	}
	rd->off = pos;
	return pos;
}

static la_int64_t bundle_skip_cb(struct archive *a, void *data,
				 la_int64_t request)
{
	struct bundle_reader *rd = data;
	int64_t left = rd->size > rd->off ? rd->size - rd->off : 0;

	(void)a;
	if (request <= 0)
		return 0;
	if (request > left)
		request = left;
	rd->off += request;
	return request;
}

/*
 * Normalises the raw entry name into c->path and sets *depth to the number
 * of components before the last one. Returns 0 (c->path may be "" for the
 * root itself) or -EINVAL.
 */
static int bundle_normalise(struct bundle_ctx *c, const char *raw,
			    unsigned *depth)
{
	const char *p = raw, *q;
	size_t n = 0, len;

	*depth = 0;
	if (raw[0] == '/')
		return bundle_fail(c, -EINVAL, "absolute path '%s' in zip",
				   c->ename);
	while (*p) {
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return bundle_fail(c, -EINVAL,
					   "unsafe path '%s' in zip", c->ename);
		if (len > NAME_MAX)
			return bundle_fail(c, -EINVAL,
					   "name too long in zip: '%s'",
					   c->ename);
		if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > sizeof(c->path))
				return bundle_fail(c, -EINVAL,
						   "path too long in zip: '%s'",
						   c->ename);
			if (n) {
				c->path[n++] = '/';
				(*depth)++;
			}
			memcpy(c->path + n, p, len);
			n += len;
		}
		p = *q ? q + 1 : q;
	}
	c->path[n] = '\0';
	return 0;
}

/* Remembers a path in a growable array; -ENOMEM if it cannot grow. */
static int bundle_push_link(struct bundle_ctx *c, const char *path)
{
	char *s = strdup(path);

	if (!s)
		return bundle_fail(c, -ENOMEM, "out of memory");
	if (c->nlinks == c->alinks) {
		size_t na = c->alinks ? c->alinks * 2 : 16;
		char **nl = reallocarray(c->links, na, sizeof(*nl));

		if (!nl) {
			free(s);
			return bundle_fail(c, -ENOMEM, "out of memory");
		}
		c->links = nl;
		c->alinks = na;
	}
	c->links[c->nlinks++] = s;
	return 0;
}

static int bundle_push_dir(struct bundle_ctx *c, const char *path,
			   unsigned depth, mode_t mode)
{
	char *s = strdup(path);

	if (!s)
		return bundle_fail(c, -ENOMEM, "out of memory");
	if (c->ndirs == c->adirs) {
		size_t na = c->adirs ? c->adirs * 2 : 16;
		struct bundle_dirmode *nd =
			reallocarray(c->dirs, na, sizeof(*nd));

		if (!nd) {
			free(s);
			return bundle_fail(c, -ENOMEM, "out of memory");
		}
		c->dirs = nd;
		c->adirs = na;
	}
	c->dirs[c->ndirs].path = s;
	c->dirs[c->ndirs].mode = mode;
	c->dirs[c->ndirs].depth = depth;
	c->dirs[c->ndirs].seq = c->ndirs;
	c->ndirs++;
	return 0;
}

/*
 * Opens the directory parent[0..plen) below the root, one component at a
 * time without following symlinks, creating missing ones 0755. On success
 * *out is an fd the caller closes. Returns 0 or -errno.
 */
static int bundle_walk(struct bundle_ctx *c, const char *parent, size_t plen,
		       int *out)
{
	char comp[NAME_MAX + 1];
	struct stat st;
	size_t i = 0, j;
	int cur = c->rootfd, fd, r = 0;

	while (i < plen) {
		for (j = i; j < plen && parent[j] != '/'; j++)
			;
		memcpy(comp, parent + i, j - i);
		comp[j - i] = '\0';
		fd = openat(cur, comp,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT) {
			if (mkdirat(cur, comp, 0755) == -1) {
				r = bundle_fail_sys(c, -errno,
						    "create a directory for");
				goto out;
			}
			fd = openat(cur, comp,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			/* mkdirat's mode went through the umask */
			if (fd != -1 && fchmod(fd, 0755) == -1) {
				r = bundle_fail_sys(c, -errno,
						    "create a directory for");
				close(fd);
				goto out;
			}
		}
		if (fd == -1) {
			r = -errno;
			if (r == -ELOOP || r == -ENOTDIR) {
				char *in = xasprintf("%.*s", (int)j, parent);
				char *ein = bundle_escape(in);
				bool lnk = fstatat(cur, comp, &st,
						   AT_SYMLINK_NOFOLLOW) == 0 &&
					   S_ISLNK(st.st_mode);

				r = bundle_fail(c, -EINVAL,
						"entry '%s' is inside %s '%s'",
						c->ename,
						lnk ? "symlink" : "file", ein);
				free(ein);
				free(in);
			} else {
				r = bundle_fail_sys(c, r,
						    "open the directory of");
			}
			goto out;
		}
		if (cur != c->rootfd)
			close(cur);
		cur = fd;
		i = j + 1;
	}
	*out = cur;
	cur = c->rootfd;
out:
	if (cur != c->rootfd)
		close(cur);
	return r;
}

/*
 * Finds the directory that holds c->path. *pfd is borrowed (the root or
 * the cached parent), *name points into c->path. Returns 0 or -errno.
 */
static int bundle_parent(struct bundle_ctx *c, int *pfd, const char **name)
{
	const char *slash = strrchr(c->path, '/');
	size_t plen;
	int fd, r;

	if (!slash) {
		*pfd = c->rootfd;
		*name = c->path;
		return 0;
	}
	plen = (size_t)(slash - c->path);
	*name = slash + 1;
	if (c->cachefd != -1 && strlen(c->cache) == plen &&
	    !memcmp(c->cache, c->path, plen)) {
		*pfd = c->cachefd;
		return 0;
	}
	r = bundle_walk(c, c->path, plen, &fd);
	if (r < 0)
		return r;
	if (c->cachefd != -1)
		close(c->cachefd);
	memcpy(c->cache, c->path, plen);
	c->cache[plen] = '\0';
	c->cachefd = fd;
	*pfd = fd;
	return 0;
}

static mode_t bundle_mode(struct archive_entry *e, bool dir)
{
	mode_t mode = archive_entry_perm(e) & 0755;

	if (!(archive_entry_perm(e) & 0777))
		mode = dir ? 0755 : 0644;
	return mode;
}

static int bundle_dir(struct bundle_ctx *c, struct archive_entry *e,
		      unsigned depth)
{
	mode_t mode = bundle_mode(e, true);
	const char *name;
	struct stat st;
	bool existed = false;
	int pfd, fd, r;

	r = bundle_parent(c, &pfd, &name);
	if (r < 0)
		return r;
	if (mkdirat(pfd, name, 0700) == -1) {
		if (errno != EEXIST)
			return bundle_fail_sys(c, -errno, "create directory");
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return bundle_fail_sys(c, -errno, "create directory");
		if (!S_ISDIR(st.st_mode))
			return bundle_fail(c, -EINVAL,
					   "duplicate entry '%s' in zip",
					   c->ename);
		existed = true;
	}
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return bundle_fail_sys(c, -errno, "create directory");
	if (fchmod(fd, mode | 0700) == -1)
		r = bundle_fail_sys(c, -errno, "set the mode of");
	close(fd);
	if (r == 0 && ((mode & 0700) != 0700 || existed))
		r = bundle_push_dir(c, c->path, depth, mode);
	return r;
}

/* Writes n bytes at off, all of them. Returns 0 or -errno. */
static int bundle_pwrite_all(int fd, const char *p, size_t n, int64_t off)
{
	ssize_t w;

	while (n) {
		w = pwrite(fd, p, n, (off_t)off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -errno;
		if (w == 0)
			return -EIO;
		util_start_writeback(fd, off, (size_t)w);
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int bundle_too_big(struct bundle_ctx *c)
{
	return bundle_fail(c, -EFBIG, "unpacked size exceeds %" PRIu64 " bytes",
			   c->lim->max_unpacked);
}

static int bundle_file(struct bundle_ctx *c, struct archive_entry *e)
{
	uint64_t *total = &c->info->unpacked_size;
	int64_t end = 0, written = 0;
	const char *name;
	const void *p;
	size_t n;
	la_int64_t off;
	int pfd, fd = -1, r;

	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (uint64_t)archive_entry_size(e) > c->lim->max_unpacked - *total)
		return bundle_too_big(c);
	r = bundle_parent(c, &pfd, &name);
	if (r < 0)
		return r;
	fd = openat(pfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		r = -errno;
		if (r == -EEXIST)
			r = bundle_fail(c, -EINVAL,
					"duplicate entry '%s' in zip",
					c->ename);
		else
			r = bundle_fail_sys(c, r, "create");
		goto out;
	}
	for (;;) {
		r = archive_read_data_block(c->a, &p, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK || off < 0) {
			r = bundle_fail_archive(c);
			goto out;
		}
		/* count the file's growth: holes count as if written */
		if (off + (int64_t)n > end) {
			uint64_t grow = (uint64_t)(off + (int64_t)n - end);

			if (grow > c->lim->max_unpacked - *total) {
				r = bundle_too_big(c);
				goto out;
			}
			*total += grow;
			end = off + (int64_t)n;
		}
		r = bundle_pwrite_all(fd, p, n, off);
		if (r < 0) {
			r = bundle_fail_sys(c, r, "write");
			goto out;
		}
		if (off + (int64_t)n > written)
			written = off + (int64_t)n;
	}
	r = 0;
	if (end > written && ftruncate(fd, (off_t)end) == -1) {
		r = bundle_fail_sys(c, -errno, "write");
		goto out;
	}
	if (fchmod(fd, bundle_mode(e, false)) == -1) {
		r = bundle_fail_sys(c, -errno, "set the mode of");
		goto out;
	}
	if (archive_entry_mtime_is_set(e)) {
		struct timespec ts[2];

		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
		/* a time the filesystem cannot store is not worth failing */
		if (futimens(fd, ts) == -1)
			log_debug("bundle: cannot set the mtime of '%s'",
				  c->ename);
	}
out:
	if (fd != -1 && close(fd) == -1 && r == 0)
		r = bundle_fail_sys(c, -errno, "write");
	return r;
}

static int bundle_symlink(struct bundle_ctx *c, struct archive_entry *e,
			  unsigned depth)
{
	const char *target = archive_entry_symlink(e);
	const char *p, *q, *name;
	long level = depth;
	char *et;
	size_t len;
	int pfd, r;

	if (!target || !*target)
		return bundle_fail(c, -EINVAL, "symlink '%s' has no target",
				   c->ename);
	if (strlen(target) >= BUNDLE_PATH_MAX)
		return bundle_fail(c, -EINVAL, "symlink '%s' target too long",
				   c->ename);
	if (target[0] == '/')
		level = -1;
	for (p = target; level >= 0 && *p; p = *q ? q + 1 : q) {
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			level--;
		else if (len && !(len == 1 && p[0] == '.'))
			level++;
	}
	if (level < 0) {
		et = bundle_escape(target);
		r = bundle_fail(
			c, -EINVAL,
			"symlink '%s' points outside the package ('%s')",
			c->ename, et);
		free(et);
		return r;
	}
	r = bundle_parent(c, &pfd, &name);
	if (r < 0)
		return r;
	if (symlinkat(target, pfd, name) == -1) {
		if (errno == EEXIST)
			return bundle_fail(c, -EINVAL,
					   "duplicate entry '%s' in zip",
					   c->ename);
		return bundle_fail_sys(c, -errno, "create symlink");
	}
	return bundle_push_link(c, c->path);
}

/* Root names fit: bundle_normalise caps components at NAME_MAX. */
static void bundle_copy_name(char dst[NAME_MAX + 1], const char *name)
{
	size_t len = strnlen(name, NAME_MAX);

	memcpy(dst, name, len);
	dst[len] = '\0';
}

/* Root entries feed runtime inference. */
static void bundle_note_root(struct bundle_ctx *c)
{
	struct bundle_info *in = c->info;
	const char *n = c->path, *dot = strrchr(n, '.');

	if (strchr(n, '/'))
		return;
	/* bootstrap_exec: bundle_note_bootstrap, once links are checked */
	if (!strcmp(n, "bootstrap"))
		in->has_bootstrap = true;
	if (!strcmp(n, "lambda_function.py"))
		in->has_lambda_function_py = true;
	if (!strcmp(n, "index.js"))
		in->has_index_js = true;
	if (!strcmp(n, "index.mjs"))
		in->has_index_mjs = true;
	if (!strcmp(n, "index.cjs"))
		in->has_index_cjs = true;
	if (!dot || dot == n)
		return;
	if (!strcmp(dot, ".py")) {
		if (!in->root_py++)
			bundle_copy_name(in->first_py, n);
	} else if (!strcmp(dot, ".js") || !strcmp(dot, ".mjs") ||
		   !strcmp(dot, ".cjs")) {
		if (!in->root_js++)
			bundle_copy_name(in->first_js, n);
	}
}

static int bundle_entry(struct bundle_ctx *c, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	unsigned depth;
	int r;

	if (!raw)
		return bundle_fail(c, -EINVAL, "zip entry without a name");
	free(c->ename);
	c->ename = bundle_escape(raw);
	r = bundle_normalise(c, raw, &depth);
	if (r < 0)
		return r;
	if (archive_entry_hardlink(e))
		return bundle_fail(c, -EINVAL, "hard link '%s' not allowed",
				   c->ename);
	if (archive_entry_is_encrypted(e))
		return bundle_fail(c, -EINVAL,
				   "encrypted entry '%s' not supported",
				   c->ename);
	if (!c->path[0]) {
		/* "./" or "/" squeezed to nothing: the root itself */
		if (archive_entry_filetype(e) == AE_IFDIR)
			return 0;
		return bundle_fail(c, -EINVAL, "entry with empty name in zip");
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return bundle_dir(c, e, depth);
	case AE_IFREG:
		r = bundle_file(c, e);
		break;
	case AE_IFLNK:
		r = bundle_symlink(c, e, depth);
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		return bundle_fail(c, -EINVAL, "device entry '%s' not allowed",
				   c->ename);
	case AE_IFIFO:
		return bundle_fail(c, -EINVAL, "fifo entry '%s' not allowed",
				   c->ename);
	case AE_IFSOCK:
		return bundle_fail(c, -EINVAL, "socket entry '%s' not allowed",
				   c->ename);
	default:
		return bundle_fail(c, -EINVAL,
				   "entry '%s' has an unknown file type",
				   c->ename);
	}
	if (r == 0)
		bundle_note_root(c);
	return r;
}

/*
 * Resolves the symlink at linkpath inside the tree the way the kernel
 * would, following links to links, and fails if the walk leaves the root.
 * Every directory in `cur` is a real directory (links are replaced by
 * their targets before being pushed), so fstatat/readlinkat on it cannot
 * be redirected. Missing components are taken literally: a ".." after one
 * is judged lexically, which only errs on the safe side.
 */
static int bundle_check_link(struct bundle_ctx *c, const char *linkpath)
{
	char cur[BUNDLE_PATH_MAX * 2], orig[BUNDLE_PATH_MAX],
		tgt[BUNDLE_PATH_MAX];
	char *rest = NULL, *next, *et;
	const char *p, *q, *step, *slash = strrchr(linkpath, '/');
	size_t n = slash ? (size_t)(slash - linkpath) : 0, base, len;
	struct stat st;
	ssize_t tl;
	int hops = 0, r = 0;

	memcpy(cur, linkpath, n);
	cur[n] = '\0';
	tl = readlinkat(c->rootfd, linkpath, orig, sizeof(orig) - 1);
	if (tl == -1)
		return bundle_fail_sys(c, -errno, "check symlink");
	orig[tl] = '\0';
	rest = xstrdup(orig);
	p = rest;
	while (*p) {
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		step = *q ? q + 1 : q;
		if (!len || (len == 1 && p[0] == '.')) {
			p = step;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (!n)
				goto escape;
			while (n && cur[n - 1] != '/')
				n--;
			n = n ? n - 1 : 0;
			cur[n] = '\0';
			p = step;
			continue;
		}
		if (n + len + 2 > sizeof(cur))
			goto escape;
		base = n;
		if (n)
			cur[n++] = '/';
		memcpy(cur + n, p, len);
		n += len;
		cur[n] = '\0';
		if (fstatat(c->rootfd, cur, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISLNK(st.st_mode)) {
			p = step;
			continue;
		}
		/* a link: its target replaces it in front of what is left */
		if (++hops > BUNDLE_MAX_HOPS) {
			r = bundle_fail(c, -EINVAL, "symlink loop at '%s'",
					c->ename);
			goto out;
		}
		tl = readlinkat(c->rootfd, cur, tgt, sizeof(tgt) - 1);
		if (tl == -1) {
			r = bundle_fail_sys(c, -errno, "check symlink");
			goto out;
		}
		tgt[tl] = '\0';
		if (tgt[0] == '/')
			goto escape;
		n = base;
		cur[n] = '\0';
		next = xasprintf("%s%s", tgt, q);
		free(rest);
		rest = next;
		p = rest;
	}
	goto out;
escape:
	et = bundle_escape(orig);
	r = bundle_fail(c, -EINVAL,
			"symlink '%s' points outside the package ('%s')",
			c->ename, et);
	free(et);
out:
	free(rest);
	return r;
}

static int bundle_check_links(struct bundle_ctx *c)
{
	size_t i;
	int r;

	for (i = 0; i < c->nlinks; i++) {
		free(c->ename);
		c->ename = bundle_escape(c->links[i]);
		r = bundle_check_link(c, c->links[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int bundle_dir_cmp(const void *x, const void *y)
{
	const struct bundle_dirmode *a = x, *b = y;

	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Applies the recorded directory modes, deepest first, so a directory
 * loses its owner bits only once nothing below it needs them; entries for
 * the same directory apply in zip order (the last one wins).
 */
static int bundle_fix_dirs(struct bundle_ctx *c)
{
	const char *name;
	size_t i;
	int pfd, r;

	if (!c->ndirs)
		return 0;
	qsort(c->dirs, c->ndirs, sizeof(*c->dirs), bundle_dir_cmp);
	for (i = 0; i < c->ndirs; i++) {
		free(c->ename);
		c->ename = bundle_escape(c->dirs[i].path);
		snprintf(c->path, sizeof(c->path), "%s", c->dirs[i].path);
		r = bundle_parent(c, &pfd, &name);
		if (r < 0)
			return r;
		/*
		 * fchmodat follows symlinks, but name was made by bundle_dir
		 * as a directory and nothing replaces it in our 0700 tree;
		 * an fd would need read permission the mode may deny.
		 */
		if (fchmodat(pfd, name, c->dirs[i].mode, 0) == -1)
			return bundle_fail_sys(c, -errno, "set the mode of");
	}
	return 0;
}

/* After every entry: whether bootstrap, possibly a link, is executable. */
static void bundle_note_bootstrap(struct bundle_ctx *c)
{
	struct stat st;

	if (!c->info->has_bootstrap)
		return;
	/* links were checked: following one stays inside the tree */
	c->info->bootstrap_exec =
		fstatat(c->rootfd, "bootstrap", &st, 0) == 0 &&
		S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* Opening failed: say whether this is a zip at all. */
static int bundle_fail_open(struct bundle_ctx *c)
{
	unsigned char sig[4];
	ssize_t n;

	if (c->rd->err)
		return bundle_fail_archive(c);
	n = pread(c->rd->fd, sig, sizeof(sig), 0);
	if (n == (ssize_t)sizeof(sig) && sig[0] == 'P' && sig[1] == 'K' &&
	    ((sig[2] == 3 && sig[3] == 4) || (sig[2] == 5 && sig[3] == 6)))
		return bundle_fail(c, -EINVAL,
				   "zip is truncated or corrupt: "
				   "no central directory");
	return bundle_fail(c, -EINVAL, "not a zip file");
}

static int bundle_read_all(struct bundle_ctx *c)
{
	struct archive_entry *e;
	uint64_t *count = &c->info->entries;
	int r;

	archive_read_support_format_zip_seekable(c->a);
	archive_read_set_callback_data(c->a, c->rd);
	archive_read_set_read_callback(c->a, bundle_read_cb);
	archive_read_set_seek_callback(c->a, bundle_seek_cb);
	archive_read_set_skip_callback(c->a, bundle_skip_cb);
	if (archive_read_open1(c->a) != ARCHIVE_OK)
		return bundle_fail_open(c);
	for (;;) {
		r = archive_read_next_header(c->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			if (r == ARCHIVE_WARN && !archive_entry_pathname(e) &&
			    !c->rd->err)
				return bundle_fail(
					c, -EINVAL,
					"zip entry %" PRIu64
					" has a name that is not valid UTF-8",
					*count + 1);
			return bundle_fail_archive(c);
		}
		if (++*count > c->lim->max_entries)
			return bundle_fail(c, -EFBIG,
					   "zip has more than %" PRIu64
					   " entries",
					   c->lim->max_entries);
		r = bundle_entry(c, e);
		if (r < 0)
			return r;
	}
	if (c->cachefd != -1) {
		close(c->cachefd);
		c->cachefd = -1;
	}
	r = bundle_check_links(c);
	if (r < 0)
		return r;
	bundle_note_bootstrap(c);
	return bundle_fix_dirs(c);
}

/* The directory that holds path, as a new string. */
static char *bundle_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

/* rename(2) that never replaces dest, even an empty directory. */
static int bundle_rename(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* filesystem without RENAME_NOREPLACE: check, then rename */
	if (lstat(to, &st) == 0)
		return -EEXIST;
	if (rename(from, to) == -1)
		return -errno;
	return 0;
}

int bundle_unpack(int zipfd, const char *dest, const struct bundle_limits *lim,
		  struct bundle_info *info, char **cause)
{
	struct bundle_reader rd = { .fd = zipfd, .cancel = lim->cancel };
	struct bundle_ctx c = { .lim = lim, .info = info, .rd = &rd };
	locale_t utf8 = (locale_t)0, old = (locale_t)0;
	char *tmp = NULL, *parent = NULL, *edest = bundle_escape(dest);
	struct stat st;
	bool renamed = false;
	int r = 0;

	c.rootfd = -1;
	c.cachefd = -1;
	memset(info, 0, sizeof(*info));
	*cause = NULL;

	if (fstat(zipfd, &st) == -1) {
		r = bundle_fail(&c, -errno, "cannot read the zip: %s",
				strerror(errno));
		goto out;
	}
	rd.size = st.st_size;
	if (rd.size == 0) {
		r = bundle_fail(&c, -EINVAL, "not a zip file (it is empty)");
		goto out;
	}
	if (lstat(dest, &st) == 0)
		r = -EEXIST;
	else if (errno != ENOENT)
		r = -errno;
	if (r < 0) {
		r = bundle_fail(&c, r, "cannot unpack into '%s': %s", edest,
				strerror(-r));
		goto out;
	}
	rd.buf = malloc(BUNDLE_BUFSZ);
	c.a = archive_read_new();
	if (!rd.buf || !c.a) {
		r = bundle_fail(&c, -ENOMEM, "out of memory");
		goto out;
	}
	tmp = xasprintf("%s.tmp.XXXXXX", dest);
	if (!mkdtemp(tmp)) {
		r = bundle_fail(&c, -errno,
				"cannot create a directory next to '%s': %s",
				edest, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	c.rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c.rootfd == -1) {
		r = bundle_fail(&c, -errno, "cannot open '%s': %s", tmp,
				strerror(errno));
		goto out;
	}

	/* names in UTF-8 whatever the process locale (design notes) */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8)
		old = uselocale(utf8);
	r = bundle_read_all(&c);
	if (utf8)
		uselocale(old);
	if (r < 0)
		goto out;

	free(c.ename);
	c.ename = NULL;
	if (lim->gate && !lim->gate(lim->gate_arg)) {
		r = bundle_fail(&c, -ECANCELED, "canceled");
		goto out;
	}
	if (fchmod(c.rootfd, 0755) == -1 || syncfs(c.rootfd) == -1) {
		r = bundle_fail(&c, -errno, "cannot write the package: %s",
				strerror(errno));
		goto out;
	}
	r = bundle_rename(tmp, dest);
	if (r < 0) {
		bundle_fail(&c, r, "cannot rename the package to '%s': %s",
			    edest, strerror(-r));
		goto out;
	}
	renamed = true;
	parent = bundle_dirname(dest);
	r = util_fsync_dir(parent);
	if (r < 0) {
		bundle_fail(&c, r, "cannot write the package: %s",
			    strerror(-r));
		goto out;
	}
out:
	if (utf8)
		freelocale(utf8);
	if (c.cachefd != -1)
		close(c.cachefd);
	if (c.rootfd != -1)
		close(c.rootfd);
	if (c.a)
		archive_read_free(c.a);
	if (r < 0 && tmp) {
		const char *victim = renamed ? dest : tmp;

		if (util_rm_rf(victim) < 0)
			log_warn("bundle: cannot remove '%s'", victim);
	}
	while (c.nlinks)
		free(c.links[--c.nlinks]);
	free(c.links);
	while (c.ndirs)
		free(c.dirs[--c.ndirs].path);
	free(c.dirs);
	free(c.ename);
	free(rd.buf);
	free(parent);
	free(tmp);
	free(edest);
	if (r < 0)
		*cause = c.cause;
	else
		free(c.cause);
	return r;
}

const char *bundle_version(void)
{
	return archive_version_string();
}
