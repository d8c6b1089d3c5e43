/* SPDX-License-Identifier: MIT */
/*
 * test_sandbox.c - the sandbox a forked child builds: code at /var/task
 * (read-only), layers merged at /opt with the later one winning (one of
 * them with ':' and ',' in its path, which overlayfs options must
 * escape), a writable /tmp that is the host directory, nothing of the
 * host's root left. Skips (saying why) where namespaces are not allowed.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "sandbox.h"
#include "tap.h"
#include "util.h"

static void put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(p);
}

static const char *err_name(int e)
{
	return e == 0 ? "0" : e == EROFS ? "EROFS" : e == ENOENT ? "ENOENT"
						   : "other";
}

/* In the sandbox: what the function would see, as one line. */
static void look(char *out, size_t size)
{
	char a[16] = "", cwd[64] = "";
	int fd, werr = 0, terr = 0;
	FILE *f = fopen("/opt/a.txt", "r");

	if (f) {
		if (!fgets(a, sizeof(a), f))
			a[0] = '\0';
		fclose(f);
	}
	a[strcspn(a, "\n")] = '\0';
	fd = open("/var/task/new", O_WRONLY | O_CREAT, 0644);
	if (fd == -1)
		werr = errno;
	else
		close(fd);
	fd = open("/tmp/from-inside", O_WRONLY | O_CREAT, 0644);
	if (fd == -1)
		terr = errno;
	else
		close(fd);
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	snprintf(out, size,
		 "a=%s only1=%d handler=%d task=%s tmp=%s root=%s old=%d "
		 "cwd=%s",
		 a, access("/opt/only1", F_OK) == 0,
		 access("/var/task/handler", F_OK) == 0, err_name(werr),
		 err_name(terr),
		 err_name(mkdir("/newdir", 0755) == -1 ? errno : 0),
		 access("/oldroot", F_OK) == 0 || access("/newroot", F_OK) == 0,
		 cwd);
}

/* Forks, enters sb, reports what the child sees (or why it failed). */
static void enter_and_look(const struct sandbox *sb, char *line, size_t size)
{
	char what[128];
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	line[0] = '\0';
	if (pipe(pfd) == -1)
		return;
	pid = fork();
	if (pid == 0) {
		int r = sandbox_enter(sb, what, sizeof(what));

		if (r < 0)
			snprintf(line, size, "enter failed: %s: %s", what,
				 strerror(-r));
		else if (chdir("/var/task") == 0)
			look(line, size);
		if (write(pfd[1], line, strlen(line)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	n = pid > 0 ? read(pfd[0], line, size - 1) : -1;
	line[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
}

int main(void)
{
	char base[] = "/tmp/test_sandbox.XXXXXX", line[256] = "";
	char *task, *l1, *l2, *tmp, *why = NULL, *layers[3], *missing[1];
	struct sandbox_layout l;
	enum sandbox_mode mode;
	struct sandbox *sb;

	plan_no_plan();
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	task = xasprintf("%s/task", base);
	l1 = xasprintf("%s/layer1", base);
	l2 = xasprintf("%s/layer:2,x", base);
	tmp = xasprintf("%s/tmp", base);
	mkdir(task, 0755);
	mkdir(l1, 0755);
	mkdir(l2, 0755);
	mkdir(tmp, 0700);
	put(task, "handler", "code");
	put(l1, "a.txt", "one\n");
	put(l1, "only1", "");
	put(l2, "a.txt", "two\n");

	l.task_dir = task;
	l.tmp_dir = tmp;
	l.runtime_dir = NULL;
	missing[0] = xasprintf("%s/no-such-layer", base);
	l.layer_dirs = missing;
	l.nlayers = 1;
	errno = 0;
	sb = sandbox_new(SANDBOX_MOUNTNS, &l, &why);
	ok(!sb && errno == ENOENT, "a missing layer: NULL, ENOENT");
	ok(why && strstr(why, "no-such-layer"), "and *why names it");
	free(why);
	why = NULL;
	free(missing[0]);

	mode = sandbox_probe(&why);
	printf("# probe: %s%s%s\n", sandbox_mode_name(mode), why ? ": " : "",
	       why ? why : "");
	if (mode == SANDBOX_NONE) {
		ok(why && *why, "no namespaces: the probe says why");
		printf("ok %d # SKIP sandbox checks: %s\n", ++tap_n, why);
		goto out;
	}
	ok(!why, "the probe found a mode");
	layers[0] = l1;
	layers[1] = l2;
	l.layer_dirs = layers;
	l.nlayers = 2;
	sb = sandbox_new(mode, &l, &why);
	ok(sb != NULL, "plan with two layers");
	if (!sb) {
		printf("# %s\n", why);
		goto out;
	}
	enter_and_look(sb, line, sizeof(line));
	is_str(line,
	       "a=two only1=1 handler=1 task=EROFS tmp=0 root=EROFS old=0 "
	       "cwd=/var/task",
	       "the child sees code, merged layers, its /tmp, a read-only root");
	{
		char *p = xasprintf("%s/from-inside", tmp);

		ok(access(p, F_OK) == 0, "its /tmp is the host directory");
		free(p);
	}
	ok(access("/var/task", F_OK) == -1 || access("/var/task/handler",
						     F_OK) == -1,
	   "the host did not get the code at /var/task");
	sandbox_free(sb);

	/* the same tree twice counts once, where it wins */
	layers[0] = l2;
	layers[1] = l1;
	layers[2] = l1;
	l.nlayers = 3;
	sb = sandbox_new(mode, &l, &why);
	enter_and_look(sb, line, sizeof(line));
	ok(!strncmp(line, "a=one only1=1 ", 14), "a repeated layer: the later copy wins");
	if (strncmp(line, "a=one only1=1 ", 14))
		printf("# %s\n", line);
	sandbox_free(sb);
	layers[1] = l2;
	l.nlayers = 2;
	sb = sandbox_new(mode, &l, &why);
	enter_and_look(sb, line, sizeof(line));
	ok(!strncmp(line, "a=two only1=0 ", 14), "one tree twice: shown once");
	if (strncmp(line, "a=two only1=0 ", 14))
		printf("# %s\n", line);
	sandbox_free(sb);
out:
	free(why);
	util_rm_rf(base);
	free(task);
	free(l1);
	free(l2);
	free(tmp);
	return done_testing();
}
