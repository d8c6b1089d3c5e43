/* SPDX-License-Identifier: MIT */
/*
 * test_docker.c - docker.c against a fake Docker Engine API on a temporary
 * unix socket: version negotiation, the status -> errno table with the
 * daemon's message, create/start/kill/wait/list, the attach stream's
 * frames split at every byte, reply caps, and an absent daemon.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "docker.h"
#include "tap.h"
#include "util.h"

/* ---------- the fake daemon ---------- */

struct fake {
	int lfd;
	char path[108];
	const char *api;	/* ApiVersion it reports */
	pthread_t thread;
	char last[512];		/* request line of the last request */
};

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, int status, const char *body)
{
	char head[256];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, strlen(body));
	send_all(fd, head, strlen(head));
	send_all(fd, body, strlen(body));
}

/* attach: a raw stream of frames, one byte per write, then close */
static void attach(int fd)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: "
				   "application/vnd.docker.raw-stream\r\n\r\n";
	static const unsigned char frames[] = {
		1, 0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o', '\n',
		2, 0, 0, 0, 0, 0, 0, 4, 'e', 'r', 'r', '\n',
		1, 0, 0, 0, 0, 0, 0, 0, /* an empty frame */
		1, 0, 0, 0, 0, 0, 0, 3, 'b', 'y', 'e',
	};
	size_t i;

	send_all(fd, head, strlen(head));
	usleep(20000); /* the client sees the headers before any frame */
	for (i = 0; i < sizeof(frames); i++)
		send_all(fd, frames + i, 1);
}

static void serve_one(struct fake *f, int fd)
{
	char req[8192];
	size_t used = 0;
	ssize_t r;
	char *end;

	/* read the head; bodies of our requests are small and follow */
	while (used < sizeof(req) - 1) {
		r = read(fd, req + used, sizeof(req) - 1 - used);
		if (r <= 0)
			return;
		used += (size_t)r;
		req[used] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (end) {
			const char *cl = strcasestr(req, "Content-Length:");
			size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;

			if (used >= (size_t)(end + 4 - req) + want)
				break;
		}
	}
	snprintf(f->last, sizeof(f->last), "%.*s", (int)strcspn(req, "\r"),
		 req);
	if (strstr(req, "GET /version ")) {
		char b[128];

		snprintf(b, sizeof(b), "{\"ApiVersion\":\"%s\"}", f->api);
		reply(fd, 200, b);
	} else if (strstr(req, "GET /_ping ")) {
		reply(fd, 200, "OK");
	} else if (strstr(req, "/containers/create?name=missing ")) {
		reply(fd, 404, "{\"message\":\"No such image: nope:1\"}");
	} else if (strstr(req, "/containers/create?name=")) {
		reply(fd, 201, "{\"Id\":\"c0ffee\",\"Warnings\":[]}");
	} else if (strstr(req, "/containers/c0ffee/start ")) {
		reply(fd, 304, "");
	} else if (strstr(req, "/containers/c0ffee/kill?signal=KILL ")) {
		reply(fd, 409, "{\"message\":\"container is not running\"}");
	} else if (strstr(req, "/containers/c0ffee/wait ")) {
		reply(fd, 200, "{\"StatusCode\":137}");
	} else if (strstr(req, "GET /v1.41/containers/c0ffee/stats?stream=false&one-shot=true ")) {
		reply(fd, 200, "{\"memory_stats\":{\"max_usage\":1048576}}");
	} else if (strstr(req, "/containers/c0ffee/attach?")) {
		attach(fd);
	} else if (strstr(req, "GET /v1.41/containers/json?all=1&filters=")) {
		reply(fd, 200, "[{\"Id\":\"a1\"},{\"Id\":\"b2\"}]");
	} else if (strstr(req, "/containers/huge/json ")) {
		size_t n = 5 * 1024 * 1024;
		char *big = xmalloc(n + 1);

		memset(big, ' ', n);
		big[n] = '\0';
		reply(fd, 200, big);
		free(big);
	} else if (strstr(req, "DELETE /v1.41/containers/gone?")) {
		reply(fd, 404, "{\"message\":\"No such container: gone\"}");
	} else {
		reply(fd, 500, "{\"message\":\"fake: unexpected request\"}");
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd;

	while ((fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		serve_one(f, fd);
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *dir, const char *api)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->api = api;
	snprintf(f->path, sizeof(f->path), "%s/docker-%s.sock", dir, api);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(f->lfd, 16)) {
		perror("fake socket");
		exit(1);
	}
	pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->thread, NULL);
	unlink(f->path);
}

/* ---------- attach output ---------- */

struct out {
	char text[256];
	size_t len;
	int streams[8];
	int n;
};

static bool collect_out(int stream, const char *data, size_t len, void *arg)
{
	struct out *o = arg;

	if (o->len + len < sizeof(o->text)) {
		memcpy(o->text + o->len, data, len);
		o->len += len;
	}
	if (o->n < 8 && (o->n == 0 || o->streams[o->n - 1] != stream))
		o->streams[o->n++] = stream;
	return true;
}

static int up_calls;

static void on_up(void *arg)
{
	(void)arg;
	up_calls++;
}

int main(void)
{
	char dir[] = "/tmp/lambdafs-test-docker.XXXXXX";
	struct docker_reply rep = { 0 };
	struct docker *d = NULL;
	struct fake f, old, ancient;
	struct out o = { 0 };
	char id[65], host[200], **ids = NULL;
	json_t *body, *j = NULL;
	long code = 0;
	int r, i;

	plan_no_plan();
	/* the fake keeps writing a reply the client gave up on */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_NOTHING);
	if (!mkdtemp(dir))
		return 1;

	/* the status -> errno table */
	is_int(docker_errno(200), 0, "200 -> 0");
	is_int(docker_errno(204), 0, "204 -> 0");
	is_int(docker_errno(304), -EALREADY, "304 -> EALREADY");
	is_int(docker_errno(400), -EINVAL, "400 -> EINVAL");
	is_int(docker_errno(404), -ENOENT, "404 -> ENOENT");
	is_int(docker_errno(409), -EBUSY, "409 -> EBUSY");
	is_int(docker_errno(500), -EIO, "500 -> EIO");
	is_int(docker_errno(502), -EIO, "other 5xx -> EIO");
	is_int(docker_errno(418), -EPROTO, "other statuses -> EPROTO");

	/* no daemon */
	snprintf(host, sizeof(host), "unix://%s/none.sock", dir);
	r = docker_open(host, &d);
	is_int(r, -ECONNREFUSED, "nothing listens: ECONNREFUSED");
	ok(d == NULL, "and no handle");
	is_int(docker_open("http://x", &d), -EINVAL, "bad DOCKER_HOST: EINVAL");

	/* version negotiation */
	fake_start(&old, dir, "1.30");
	snprintf(host, sizeof(host), "unix://%s", old.path);
	r = docker_open(host, &d);
	is_int(r, 0, "open an older daemon");
	is_str(d ? docker_api_version(d) : NULL, "1.30", "its version is used");
	docker_close(d);
	fake_stop(&old);
	fake_start(&ancient, dir, "1.12");
	snprintf(host, sizeof(host), "unix://%s", ancient.path);
	is_int(docker_open(host, &d), -EPROTO, "an API older than 1.25: EPROTO");
	fake_stop(&ancient);

	fake_start(&f, dir, "1.43");
	snprintf(host, sizeof(host), "unix://%s", f.path);
	r = docker_open(host, &d);
	is_int(r, 0, "open a newer daemon");
	if (r < 0)
		return done_testing();
	is_str(docker_api_version(d), "1.41", "capped at the version we speak");
	ok(docker_is_local(d), "a unix socket is local");
	is_int(docker_ping(d), 0, "ping");

	body = json_pack("{s:s}", "Image", "img:1");
	r = docker_create(d, "fn-1", body, id, &rep);
	is_int(r, 0, "create");
	is_str(id, "c0ffee", "the container id");
	is_str(f.last, "POST /v1.41/containers/create?name=fn-1 HTTP/1.1",
	       "versioned path, name in the query");
	docker_reply_release(&rep);
	r = docker_create(d, "missing", body, id, &rep);
	is_int(r, -ENOENT, "create from a missing image: ENOENT");
	is_int(rep.status, 404, "status kept");
	is_str(rep.message, "No such image: nope:1", "the daemon's message");
	docker_reply_release(&rep);
	json_decref(body);

	is_int(docker_start(d, "c0ffee", NULL), 0, "start: 304 is success");
	is_int(docker_kill(d, "c0ffee", "KILL"), -EBUSY,
	       "kill of a stopped container: EBUSY");
	is_int(docker_remove(d, "gone"), -ENOENT, "remove of a gone one: ENOENT");
	r = docker_wait(d, "c0ffee", 5000, &code);
	is_int(r, 0, "wait");
	is_int(code, 137, "StatusCode");
	r = docker_list(d, "lambdafs.owner=/x", &ids);
	is_int(r, 2, "list by label");
	ok(ids && !strcmp(ids[0], "a1") && !strcmp(ids[1], "b2") && !ids[2],
	   "ids in order, NULL-terminated");
	ok(strstr(f.last, "filters=%7B%22label%22%3A%5B%22lambdafs.owner%3D%2Fx"),
	   "the label filter is URL-encoded");
	for (i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
	r = docker_stats(d, "c0ffee", &j);
	is_int(r, 0, "stats, one shot");
	is_int(json_integer_value(json_object_get(
		       json_object_get(j, "memory_stats"), "max_usage")),
	       1048576, "memory_stats parsed");
	json_decref(j);
	j = NULL;
	is_int(docker_inspect(d, "huge", &j), -E2BIG,
	       "a reply over the cap: E2BIG");
	ok(j == NULL, "and no document");

	r = docker_attach(d, "c0ffee", on_up, collect_out, &o);
	is_int(r, 0, "attach ends when the stream closes");
	is_int(up_calls, 1, "attached callback once");
	o.text[o.len] = '\0';
	is_str(o.text, "hello\nerr\nbye", "frames reassembled byte by byte");
	ok(o.n == 3 && o.streams[0] == 1 && o.streams[1] == 2 &&
		   o.streams[2] == 1,
	   "stdout, stderr, stdout");

	docker_close(d);
	fake_stop(&f);
	rmdir(dir);
	curl_global_cleanup();
	return done_testing();
}
