/* SPDX-License-Identifier: MIT */
/*
 * http.c - the Lambda HTTP API on libmicrohttpd (see http.h; DESIGN.md
 * §4, LAMBDA-CONTRACT.md §2, CLIENTS.md).
 *
 * Routes (paths as the aws CLI and boto3 send them; a trailing slash is
 * ignored; {fn} is a name, NAME:QUALIFIER, a partial or a full ARN):
 *
 *   POST   /2015-03-31/functions                  CreateFunction
 *   GET    /2015-03-31/functions                  ListFunctions
 *   GET    /2015-03-31/functions/{fn}             GetFunction
 *   DELETE /2015-03-31/functions/{fn}             DeleteFunction
 *   GET    .../functions/{fn}/configuration       GetFunctionConfiguration
 *   PUT    .../functions/{fn}/configuration       UpdateFunctionConfiguration
 *   PUT    .../functions/{fn}/code                UpdateFunctionCode
 *   POST   .../functions/{fn}/invocations         Invoke; RIE's path when
 *                                                 {fn} is "function"
 *   PUT    /2017-10-31/functions/{fn}/concurrency PutFunctionConcurrency
 *   DELETE /2017-10-31/functions/{fn}/concurrency DeleteFunctionConcurrency
 *   GET    /2019-09-30/functions/{fn}/concurrency GetFunctionConcurrency
 *   GET|POST|DELETE /2017-03-31/tags/{arn}        ListTags, TagResource,
 *                                                 UntagResource
 *   GET    /2018-10-31/layers                     ListLayers (with
 *                                                 ?find=LayerVersion&Arn=:
 *                                                 GetLayerVersionByArn)
 *   GET    /2018-10-31/layers/{l}/versions        ListLayerVersions
 *   POST   /2018-10-31/layers/{l}/versions        PublishLayerVersion
 *   GET    .../layers/{l}/versions/{n}            GetLayerVersion
 *   DELETE .../layers/{l}/versions/{n}            DeleteLayerVersion
 *   GET    /lambdafs/functions/{fn}/code.zip      GetFunction's Code.Location
 *   GET    /lambdafs/layers/{l}/{n}/layer.zip     GetLayerVersion's
 *                                                 Content.Location
 *   POST   /  (X-Amz-Target: Logs_20140328.*)     CloudWatch Logs (cwlogs.c)
 *   GET    /health, GET /status
 *
 * Errors (one table, http_errno): status code, x-amzn-ErrorType and
 * {"Type":"User","Message":...}, so boto3 raises the named exception
 * class. The core's errno and cause become the AWS error; validation
 * is never repeated here, except what only exists on the wire (base64,
 * body sizes, the invocation type header, JSON of an Invoke body as fs.c
 * checks it too).
 *
 * Threads: MHD_USE_THREAD_PER_CONNECTION. A synchronous Invoke blocks in
 * invoke_sync on its connection's own thread, so a slow function holds
 * one connection and nothing else. Idle keep-alive connections are
 * closed after HTTP_IDLE_TIMEOUT; the timeout is switched off while an
 * invocation runs (a function may run 900 s) and switched on again
 * after, which also restarts its timer (microhttpd.h).
 *
 * Per-request state (struct http_req) lives in *con_cls from the first
 * call of http_access to http_completed. Bodies are collected in a buf
 * capped by route; past the cap the rest is read and counted, then the
 * request is answered 413 on a connection that stays usable (a client
 * still sending would otherwise see a reset instead of the error).
 *
 * Shutdown (http_stop, before invoker_stop): `stopping` makes new
 * requests answer 503 and makes running invocations give up through
 * invoke_opts.interrupted (their environments are stopped, the caller
 * gets 503 ServiceException); the listening socket is closed
 * (MHD_quiesce_daemon); once every request being answered has been
 * sent (`active`, dropped in http_completed), MHD_stop_daemon closes the
 * idle keep-alive connections and joins the threads.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common.h"
#include "http.h"
#include "base64.h"
#include "buf.h"
#include "cwlogs.h"
#include "invoke.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#define HTTP_IDLE_TIMEOUT 300u		/* s, keep-alive connections */
#define HTTP_MAX_CONNECTIONS 1000u
#define HTTP_MAX_INVOKE 6291456		/* AWS's synchronous request limit */
#define HTTP_MAX_UPLOAD 69905067	/* AWS: CreateFunction request limit */
#define HTTP_MAX_BODY (1024 * 1024)	/* everything else */
#define HTTP_TAIL_BYTES 4096		/* X-Amz-Log-Result */
#define HTTP_PAGE_MAX 50		/* ListFunctions/ListLayers page */
#define HTTP_MAX_SEGS 8
#define HTTP_RIE_NAME "function"
#define HTTP_STOP_WAIT_S 10		/* answers in progress at stop */

#define FN_ARN_PREFIX "arn:aws:lambda:" LAMBDAFS_REGION ":" LAMBDAFS_ACCOUNT \
		      ":function:"
#define LAYER_ARN_PREFIX "arn:aws:lambda:" LAMBDAFS_REGION		   \
			 ":" LAMBDAFS_ACCOUNT ":layer:"

struct http {
	/* set by http_bind */
	int fd;			/* listening socket; MHD's once started */
	char address[80];	/* "127.0.0.1:9000", "[::1]:9000" */

	/* set by http_start, read-only afterwards */
	struct registry *reg;
	struct invoker *iv;
	const char *executor;
	void (*on_change)(const char *name, void *arg);
	void *arg;
	int64_t start_ms;
	struct MHD_Daemon *mhd;

	_Atomic bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* signalled when active drops */
	unsigned active;	/* requests being answered; under lock */
};

/* Per-request state in *con_cls, freed in http_completed. */
struct http_req {
	struct http *h;
	struct MHD_Connection *con;
	struct buf body;	/* capped by route */
	size_t total;		/* body bytes received, kept or not */
	bool too_big;
	bool oom;
	bool counted;		/* in h->active until completed */
	char request_id[37];	/* x-amzn-RequestId of the answer */
};

/* ---------- answers ---------- */

static bool http_is_stopping(void *arg)
{
	return atomic_load(&((struct http *)arg)->stopping);
}

/*
 * Queues resp (consumed) with status, Content-Type and x-amzn-RequestId.
 * NULL resp (out of memory) closes the connection: nothing else can be
 * said.
 */
static enum MHD_Result http_send(struct http_req *q, unsigned status,
				 struct MHD_Response *resp, const char *ctype)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	if (!q->request_id[0])
		util_uuid(q->request_id);
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					ctype);
	MHD_add_response_header(resp, "x-amzn-RequestId", q->request_id);
	ret = MHD_queue_response(q->con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A response owning text (malloc'd, freed by MHD), or an empty one. */
static struct MHD_Response *http_body(char *text, size_t len)
{
	struct MHD_Response *resp;

	if (!text)
		return MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	resp = MHD_create_response_from_buffer(len, text,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(text);
	return resp;
}

/* Sends JSON text (steals it) with status. */
static enum MHD_Result http_send_text(struct http_req *q, unsigned status,
				      char *text, size_t len)
{
	return http_send(q, status, http_body(text, len), "application/json");
}

/* Sends j (steals the reference) compact. */
static enum MHD_Result http_send_json(struct http_req *q, unsigned status,
				      json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!text)
		return MHD_NO;
	return http_send_text(q, status, text, strlen(text));
}

static enum MHD_Result http_send_empty(struct http_req *q, unsigned status)
{
	return http_send(q, status, http_body(NULL, 0), NULL);
}

/*
 * An AWS error: status, x-amzn-ErrorType: type and the JSON body boto3
 * and the aws CLI turn into the exception named type.
 */
static enum MHD_Result http_error(struct http_req *q, unsigned status,
				  const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum MHD_Result http_error(struct http_req *q, unsigned status,
				  const char *type, const char *fmt, ...)
{
	struct MHD_Response *resp;
	json_t *j;
	char *msg = NULL, *text;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	j = json_pack("{s:s, s:s}", "Type", status >= 500 ? "Service" : "User",
		      "Message", msg ? msg : type);
	free(msg);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return MHD_NO;
	resp = http_body(text, strlen(text));
	if (resp)
		MHD_add_response_header(resp, "x-amzn-ErrorType", type);
	log_debug("http: answered %u %s", status, type);
	return http_send(q, status, resp, "application/json");
}

static enum MHD_Result http_not_found(struct http_req *q, const char *name)
{
	return http_error(q, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
			  "Function not found: " FN_ARN_PREFIX "%s", name);
}

static enum MHD_Result http_layer_not_found(struct http_req *q)
{
	return http_error(q, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
			  "The resource you requested does not exist.");
}

/*
 * The one translation of the core's errors: err (-errno) with the
 * core's cause (may be NULL) into an AWS error. name is the function
 * for ResourceNotFoundException.
 */
static enum MHD_Result http_errno(struct http_req *q, int err,
				  const char *cause, const char *name)
{
	const char *why = cause ? cause : strerror(-err);

	switch (-err) {
	case ENOENT:
		return http_not_found(q, name ? name : "");
	case EEXIST:
		return http_error(q, MHD_HTTP_CONFLICT,
				  "ResourceConflictException",
				  "Function already exist: %s", name);
	case EBUSY:
	case ENOTEMPTY:
		return http_error(q, MHD_HTTP_CONFLICT,
				  "ResourceConflictException", "%s", why);
	case EINVAL:
	case EFBIG:
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException", "%s", why);
	case EAGAIN:
		return http_error(q, MHD_HTTP_TOO_MANY_REQUESTS,
				  "TooManyRequestsException", "Rate Exceeded.");
	case EINTR:
	case ESHUTDOWN:
		return http_error(q, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "ServiceException",
				  "lambdafs is shutting down");
	default:
		return http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "ServiceException", "%s", why);
	}
}

static enum MHD_Result http_too_large(struct http_req *q, const char *op)
{
	return http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
			  "RequestEntityTooLargeException",
			  "Request must be smaller than %zu bytes for the %s "
			  "operation",
			  q->body.max, op);
}

/* ---------- request helpers ---------- */

static bool is(const char *a, const char *b)
{
	return !strcmp(a, b);
}

static const char *http_header(struct http_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->con, MHD_HEADER_KIND, name);
}

static const char *http_arg(struct http_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->con, MHD_GET_ARGUMENT_KIND,
					   name);
}

/* "http://host:port" for URLs we hand out: the Host the client used
 * (it reached us that way), else the bound address. */
static char *http_base_url(struct http_req *q)
{
	const char *host = http_header(q, MHD_HTTP_HEADER_HOST);

	if (!host || !*host || strlen(host) > 255 ||
	    host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
			      "VWXYZ0123456789.-:[]")])
		host = q->h->address;
	return xasprintf("http://%s", host);
}

/* The body as JSON; NULL after answering 400 (or MHD_NO) in *ret. */
static json_t *http_json_body(struct http_req *q, enum MHD_Result *ret)
{
	json_error_t jerr;
	json_t *j;

	j = q->body.len ? json_loadb(q->body.data, q->body.len, 0, &jerr)
			: NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		*ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidRequestContentException",
				  "Could not parse request body into json: %s",
				  q->body.len ? jerr.text
					      : "the body is empty");
		return NULL;
	}
	return j;
}

/*
 * Splits a function reference into its name and qualifier: NAME,
 * NAME:QUALIFIER, ACCOUNT:function:NAME[:QUALIFIER] or the full ARN.
 * Returns false if the name is not a valid function name.
 */
static bool http_fn_ref(const char *ref, char name[65], char qual[130])
{
	const char *p = strstr(ref, ":function:");
	size_t n;

	if (p)
		ref = p + strlen(":function:");
	n = strcspn(ref, ":");
	qual[0] = '\0';
	if (n > 64)
		return false;
	memcpy(name, ref, n);
	name[n] = '\0';
	if (ref[n] == ':')
		snprintf(qual, 130, "%s", ref + n + 1);
	return util_is_function_name(name);
}

/*
 * Resolves the {fn} segment and the Qualifier argument. On failure
 * answers (400 or 404) into *ret and returns false.
 */
static bool http_fn(struct http_req *q, const char *seg, char name[65],
		    enum MHD_Result *ret)
{
	const char *arg = http_arg(q, "Qualifier");
	char qual[130];

	if (!http_fn_ref(seg, name, qual)) {
		*ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "invalid function name '%s': use "
				  "[A-Za-z0-9_-]{1,64} or its ARN",
				  seg);
		return false;
	}
	if (!qual[0] && arg)
		snprintf(qual, sizeof(qual), "%s", arg);
	/* only $LATEST exists: versions and aliases are not kept */
	if (qual[0] && strcmp(qual, "$LATEST")) {
		*ret = http_error(q, MHD_HTTP_NOT_FOUND,
				  "ResourceNotFoundException",
				  "Function not found: " FN_ARN_PREFIX "%s:%s",
				  name, qual);
		return false;
	}
	return true;
}

/* A layer name from a segment that may be the layer's ARN. */
static bool http_layer_ref(const char *seg, char name[141])
{
	const char *p = strstr(seg, ":layer:");
	size_t n;

	if (p)
		seg = p + strlen(":layer:");
	n = strcspn(seg, ":");
	if (n > 140)
		return false;
	memcpy(name, seg, n);
	name[n] = '\0';
	return util_is_layer_name(name);
}

static bool http_parse_version(const char *s, int64_t *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end || n < 1)
		return false;
	*v = n;
	return true;
}

/*
 * Decodes a base64 ZipFile into an unlinked file in the state's tmp
 * directory (the core reads it from the fd). Returns the fd, -EINVAL
 * (not base64), -EFBIG (over the zipped limit) or -errno.
 */
static int http_zip_file(struct http *h, const char *b64, size_t n)
{
	struct buf zip;
	size_t off = 0;
	ssize_t w;
	int fd = -1, r;

	buf_init(&zip, LAMBDAFS_MAX_ZIP);
	r = base64_decode(b64, n, &zip);
	if (r < 0)
		goto out;
	fd = open(registry_tmp_dir(h->reg), O_TMPFILE | O_RDWR | O_CLOEXEC,
		  0600);
	if (fd == -1) {
		r = -errno;
		log_warn("cannot create an upload file in '%s'",
			 registry_tmp_dir(h->reg));
		goto out;
	}
	while (off < zip.len) {
		w = write(fd, zip.data + off, zip.len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			r = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	r = fd;
	fd = -1;
out:
	if (fd != -1)
		close(fd);
	buf_release(&zip);
	return r;
}

/* Answers a ZipFile that http_zip_file refused (r < 0). */
static enum MHD_Result http_zip_error(struct http_req *q, int r,
				      const char *op)
{
	if (r == -EINVAL)
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "Could not decode the ZipFile: it must be "
				  "the base64 of a zip");
	if (r == -EFBIG)
		return http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
				  "RequestEntityTooLargeException",
				  "Zipped size must be smaller than %llu "
				  "bytes for the %s operation",
				  (unsigned long long)LAMBDAFS_MAX_ZIP, op);
	return http_errno(q, r, NULL, NULL);
}

/* ---------- functions ---------- */

static void http_changed(struct http *h, const char *name)
{
	if (h->on_change)
		h->on_change(name, h->arg);
}

static enum MHD_Result http_get_configuration(struct http_req *q,
					      const char *name)
{
	size_t len;
	char *text = registry_function_config(q->h->reg, name, &len);

	if (!text)
		return http_errno(q, -errno, NULL, name);
	return http_send_text(q, MHD_HTTP_OK, text, len);
}

/* GetFunction: {"Configuration", "Code", "Tags"}. */
static enum MHD_Result http_get_function(struct http_req *q, const char *name)
{
	json_error_t jerr;
	json_t *conf, *code, *ans, *rce;
	const char *pkg, *image;
	char *text, *base;
	size_t len;

	text = registry_function_config(q->h->reg, name, &len);
	if (!text)
		return http_errno(q, -errno, NULL, name);
	conf = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!conf)
		return http_errno(q, -EIO, "cannot read the configuration",
				  name);
	pkg = json_string_value(json_object_get(conf, "PackageType"));
	if (pkg && !strcmp(pkg, "Image")) {
		struct function_exec fe;

		/* config.json does not render ImageUri (as on AWS): ask the
		 * core for it */
		image = NULL;
		if (registry_function_exec(q->h->reg, name, &fe) == 0) {
			image = fe.image_uri;
			code = json_pack("{s:s, s:s?, s:s?}", "RepositoryType",
					 "ECR", "ImageUri", image,
					 "ResolvedImageUri", image);
			registry_function_exec_release(&fe);
		} else {
			code = json_pack("{s:s}", "RepositoryType", "ECR");
		}
	} else {
		base = http_base_url(q);
		code = json_pack("{s:s}", "RepositoryType", "S3");
		if (json_integer_value(json_object_get(conf, "CodeSize")) > 0)
			json_object_set_new(
				code, "Location",
				json_sprintf("%s/lambdafs/functions/%s/"
					     "code.zip",
					     base, name));
		free(base);
	}
	ans = json_pack("{s:o, s:o}", "Configuration", conf, "Code", code);
	if (ans && json_object_get(conf, "Tags"))
		json_object_set(ans, "Tags", json_object_get(conf, "Tags"));
	rce = json_object_get(conf, "ReservedConcurrentExecutions");
	if (ans && rce)
		json_object_set_new(ans, "Concurrency",
				    json_pack("{s:O}",
					      "ReservedConcurrentExecutions",
					      rce));
	return http_send_json(q, MHD_HTTP_OK, ans);
}

struct http_names {
	char **v;
	size_t n;
	const char *after;	/* Marker */
	size_t max;		/* stop collecting after max + 1 */
};

static void http_collect_fn(const struct function_info *fi, void *arg)
{
	struct http_names *c = arg;

	if ((c->after && strcmp(fi->name, c->after) <= 0) || c->n > c->max)
		return;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = xstrdup(fi->name);
}

static void http_collect_layer(const char *name, void *arg)
{
	struct http_names *c = arg;

	if ((c->after && strcmp(name, c->after) <= 0) || c->n > c->max)
		return;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = xstrdup(name);
}

/* MaxItems: 1..max, default def. false after answering 400. */
static bool http_max_items(struct http_req *q, size_t def, size_t max,
			   size_t *out, enum MHD_Result *ret)
{
	const char *s = http_arg(q, "MaxItems");
	int64_t v;

	*out = def;
	if (!s)
		return true;
	if (!http_parse_version(s, &v) || v > 10000) {
		*ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "MaxItems must be an integer in 1..10000");
		return false;
	}
	*out = (size_t)v < max ? (size_t)v : max;
	return true;
}

static enum MHD_Result http_list_functions(struct http_req *q)
{
	struct http_names c = { 0 };
	enum MHD_Result ret = MHD_NO;
	json_error_t jerr;
	json_t *list, *ans, *conf;
	size_t i, len;
	char *text;

	if (!http_max_items(q, HTTP_PAGE_MAX, HTTP_PAGE_MAX, &c.max, &ret))
		return ret;
	c.after = http_arg(q, "Marker");
	registry_function_foreach(q->h->reg, http_collect_fn, &c);
	list = json_array();
	for (i = 0; i < c.n && i < c.max; i++) {
		text = registry_function_config(q->h->reg, c.v[i], &len);
		if (!text)
			continue; /* deleted meanwhile */
		conf = json_loadb(text, len, 0, &jerr);
		free(text);
		if (conf)
			json_array_append_new(list, conf);
	}
	ans = json_pack("{s:o}", "Functions", list);
	if (ans && c.n > c.max)
		json_object_set_new(ans, "NextMarker",
				    json_string(c.v[c.max - 1]));
	registry_free_strv(c.v, c.n);
	return http_send_json(q, MHD_HTTP_OK, ans);
}

/*
 * CreateFunction: create, apply the configuration keys, deploy the zip;
 * if the configuration or the zip is refused, the function is removed
 * again so a failed create leaves nothing behind.
 */
static enum MHD_Result http_create_function(struct http_req *q)
{
	struct http *h = q->h;
	enum MHD_Result ret = MHD_NO;
	const json_t *code, *zip;
	json_t *body, *conf = NULL;
	const char *fname, *image = NULL;
	char name[65], qual[130], *cause = NULL, *text = NULL;
	size_t len;
	int fd = -1, r;

	if (q->too_big)
		return http_too_large(q, "CreateFunction");
	body = http_json_body(q, &ret);
	if (!body)
		return ret;
	fname = json_string_value(json_object_get(body, "FunctionName"));
	if (!fname || !http_fn_ref(fname, name, qual) || qual[0]) {
		ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				 "InvalidParameterValueException",
				 "FunctionName must be a name matching "
				 "[A-Za-z0-9_-]{1,64} or its ARN");
		goto out;
	}
	code = json_object_get(body, "Code");
	zip = json_object_get(code, "ZipFile");
	image = json_string_value(json_object_get(code, "ImageUri"));
	if (json_object_get(code, "S3Bucket") ||
	    json_object_get(code, "S3Key")) {
		ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				 "InvalidParameterValueException",
				 "lambdafs takes Code.ZipFile or Code.ImageUri;"
				 " S3 locations are not reachable here");
		goto out;
	}
	if (zip && !json_is_string(zip)) {
		ret = http_zip_error(q, -EINVAL, "CreateFunction");
		goto out;
	}
	if (zip) {
		fd = http_zip_file(h, json_string_value(zip),
				   json_string_length(zip));
		if (fd < 0) {
			ret = http_zip_error(q, fd, "CreateFunction");
			goto out;
		}
	}
	/* what is left is configuration, the core's to judge */
	conf = json_deep_copy(body);
	json_object_del(conf, "FunctionName");
	json_object_del(conf, "Code");
	json_object_del(conf, "Publish");
	if (image)
		json_object_set_new(conf, "ImageUri", json_string(image));

	r = registry_function_create(h->reg, name);
	if (r < 0) {
		ret = http_errno(q, r, NULL, name);
		goto out;
	}
	if (json_object_size(conf)) {
		text = json_dumps(conf, JSON_COMPACT);
		r = text ? registry_function_configure(h->reg, name, text,
						       strlen(text), &cause)
			 : -ENOMEM;
	}
	if (r == 0 && fd != -1)
		r = registry_function_deploy(h->reg, name, fd, &cause);
	if (r < 0) {
		(void)registry_function_delete(h->reg, name);
		http_changed(h, name);
		ret = http_errno(q, r, cause, name);
		goto out;
	}
	log_info("function '%s' created over HTTP", name);
	http_changed(h, name);
	free(text);
	text = registry_function_config(h->reg, name, &len);
	if (!text) {
		ret = http_errno(q, -errno, NULL, name);
		goto out;
	}
	ret = http_send_text(q, MHD_HTTP_CREATED, text, len);
	text = NULL;
out:
	if (fd != -1)
		close(fd);
	free(text);
	free(cause);
	json_decref(conf);
	json_decref(body);
	return ret;
}

static enum MHD_Result http_update_configuration(struct http_req *q,
						 const char *name)
{
	char *cause = NULL;
	enum MHD_Result ret;
	int r;

	if (q->too_big)
		return http_too_large(q, "UpdateFunctionConfiguration");
	r = registry_function_configure(q->h->reg, name, q->body.data,
					q->body.len, &cause);
	http_changed(q->h, name); /* a failure changes LastUpdateStatus */
	ret = r < 0 ? http_errno(q, r, cause, name)
		    : http_get_configuration(q, name);
	free(cause);
	return ret;
}

/* UpdateFunctionCode: ZipFile deploys; ImageUri (and Architectures) are
 * configuration. */
static enum MHD_Result http_update_code(struct http_req *q, const char *name)
{
	struct http *h = q->h;
	struct function_info fi;
	enum MHD_Result ret = MHD_NO;
	const json_t *zip;
	json_t *body, *conf = NULL;
	char *cause = NULL, *text = NULL;
	int fd = -1, r;

	if (q->too_big)
		return http_too_large(q, "UpdateFunctionCode");
	body = http_json_body(q, &ret);
	if (!body)
		return ret;
	r = registry_function_stat(h->reg, name, &fi);
	if (r < 0) {
		ret = http_errno(q, r, NULL, name);
		goto out;
	}
	if (json_object_get(body, "S3Bucket") ||
	    json_object_get(body, "S3Key")) {
		ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				 "InvalidParameterValueException",
				 "lambdafs takes ZipFile or ImageUri; S3 "
				 "locations are not reachable here");
		goto out;
	}
	zip = json_object_get(body, "ZipFile");
	if (zip && !json_is_string(zip)) {
		ret = http_zip_error(q, -EINVAL, "UpdateFunctionCode");
		goto out;
	}
	if (json_is_true(json_object_get(body, "DryRun"))) {
		ret = http_get_configuration(q, name);
		goto out;
	}
	conf = json_object();
	if (json_object_get(body, "ImageUri"))
		json_object_set(conf, "ImageUri",
				json_object_get(body, "ImageUri"));
	if (json_object_get(body, "Architectures"))
		json_object_set(conf, "Architectures",
				json_object_get(body, "Architectures"));
	if (json_object_size(conf)) {
		text = json_dumps(conf, JSON_COMPACT);
		r = text ? registry_function_configure(h->reg, name, text,
						       strlen(text), &cause)
			 : -ENOMEM;
		if (r < 0) {
			ret = http_errno(q, r, cause, name);
			goto out;
		}
	}
	if (zip) {
		fd = http_zip_file(h, json_string_value(zip),
				   json_string_length(zip));
		if (fd < 0) {
			ret = http_zip_error(q, fd, "UpdateFunctionCode");
			goto out;
		}
		r = registry_function_deploy(h->reg, name, fd, &cause);
		if (r < 0) {
			ret = http_errno(q, r, cause, name);
			goto out;
		}
	}
	ret = http_get_configuration(q, name);
out:
	http_changed(h, name);
	if (fd != -1)
		close(fd);
	free(text);
	free(cause);
	json_decref(conf);
	json_decref(body);
	return ret;
}

static enum MHD_Result http_delete_function(struct http_req *q,
					    const char *name)
{
	int r = registry_function_delete(q->h->reg, name);

	if (r < 0)
		return http_errno(q, r, NULL, name);
	invoke_forget(q->h->iv, name);
	log_info("function '%s' deleted over HTTP", name);
	http_changed(q->h, name);
	return http_send_empty(q, MHD_HTTP_NO_CONTENT);
}

/* Serves a zip file (Code.Location, Content.Location). */
static enum MHD_Result http_send_file(struct http_req *q, char *path)
{
	struct MHD_Response *resp;
	struct stat st;
	int fd;

	if (!path)
		return http_error(q, MHD_HTTP_NOT_FOUND,
				  "ResourceNotFoundException",
				  "The resource you requested does not "
				  "exist.");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		return http_errno(q, -EIO, "cannot open the zip", NULL);
	}
	/* the response owns fd and closes it when destroyed */
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp)
		close(fd);
	return http_send(q, MHD_HTTP_OK, resp, "application/zip");
}

/*
 * Applies update (a JSON object; not stolen) as a configuration write:
 * the one path of config.json and UpdateFunctionConfiguration.
 */
static int http_configure(struct http *h, const char *name,
			  const json_t *update, char **cause)
{
	char *text = json_dumps(update, JSON_COMPACT);
	int r;

	*cause = NULL;
	if (!text)
		return -ENOMEM;
	r = registry_function_configure(h->reg, name, text, strlen(text),
					cause);
	free(text);
	http_changed(h, name);
	return r;
}

/* The function's rendered configuration as JSON; NULL + errno. */
static json_t *http_conf(struct http *h, const char *name)
{
	json_error_t jerr;
	size_t len;
	char *text = registry_function_config(h->reg, name, &len);
	json_t *j;

	if (!text)
		return NULL;
	j = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!j)
		errno = EIO;
	return j;
}

/* PutFunctionConcurrency, GetFunctionConcurrency,
 * DeleteFunctionConcurrency: the ReservedConcurrentExecutions key. */
static enum MHD_Result http_concurrency(struct http_req *q, const char *name,
					const char *method)
{
	enum MHD_Result ret = MHD_NO;
	json_t *body = NULL, *conf, *update, *v;
	char *cause = NULL;
	int r;

	if (is(method, "GET")) {
		conf = http_conf(q->h, name);
		if (!conf)
			return http_errno(q, -errno, NULL, name);
		v = json_object_get(conf, "ReservedConcurrentExecutions");
		v = v ? json_pack("{s:O}", "ReservedConcurrentExecutions", v)
		      : json_object();
		ret = http_send_json(q, MHD_HTTP_OK, v);
		json_decref(conf);
		return ret;
	}
	if (is(method, "PUT")) {
		body = http_json_body(q, &ret);
		if (!body)
			return ret;
		v = json_object_get(body, "ReservedConcurrentExecutions");
		update = json_pack("{s:O}", "ReservedConcurrentExecutions",
				   v ? v : json_null());
	} else {
		update = json_pack("{s:n}", "ReservedConcurrentExecutions");
	}
	r = http_configure(q->h, name, update, &cause);
	if (r < 0)
		ret = http_errno(q, r, cause, name);
	else if (is(method, "PUT"))
		ret = http_send_json(q, MHD_HTTP_OK, json_incref(update));
	else
		ret = http_send_empty(q, MHD_HTTP_NO_CONTENT);
	free(cause);
	json_decref(update);
	json_decref(body);
	return ret;
}

static enum MHD_Result http_collect_tag_key(void *cls,
					    enum MHD_ValueKind kind,
					    const char *key,
					    const char *value)
{
	(void)kind;
	if (value && !strcmp(key, "tagKeys"))
		json_array_append_new(cls, json_string(value));
	return MHD_YES;
}

/* ListTags, TagResource, UntagResource on a function ARN: the Tags key
 * (where lambdafs:executor lives). */
static enum MHD_Result http_tags(struct http_req *q, const char *arn,
				 const char *method)
{
	enum MHD_Result ret = MHD_NO;
	json_t *conf, *tags, *body = NULL, *keys = NULL, *k, *update = NULL;
	char name[65], qual[130], *cause = NULL;
	size_t i;
	int r;

	if (!strstr(arn, ":function:") || !http_fn_ref(arn, name, qual))
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "'%s' is not a function ARN", arn);
	conf = http_conf(q->h, name);
	if (!conf)
		return http_errno(q, -errno, NULL, name);
	tags = json_object_get(conf, "Tags");
	tags = tags ? json_deep_copy(tags) : json_object();
	if (is(method, "GET")) {
		ret = http_send_json(q, MHD_HTTP_OK,
				     json_pack("{s:O}", "Tags", tags));
		goto out;
	}
	if (is(method, "POST")) {
		body = http_json_body(q, &ret);
		if (!body)
			goto out;
		if (!json_is_object(json_object_get(body, "Tags"))) {
			ret = http_error(q, MHD_HTTP_BAD_REQUEST,
					 "InvalidParameterValueException",
					 "Tags must be an object of strings");
			goto out;
		}
		json_object_update(tags, json_object_get(body, "Tags"));
	} else {
		keys = json_array();
		MHD_get_connection_values(q->con, MHD_GET_ARGUMENT_KIND,
					  http_collect_tag_key, keys);
		json_array_foreach(keys, i, k)
			json_object_del(tags, json_string_value(k));
	}
	/* no tags left: null resets the key */
	update = json_object_size(tags) ? json_pack("{s:O}", "Tags", tags)
					: json_pack("{s:n}", "Tags");
	r = http_configure(q->h, name, update, &cause);
	ret = r < 0 ? http_errno(q, r, cause, name)
		    : http_send_empty(q, MHD_HTTP_NO_CONTENT);
out:
	json_decref(update);
	free(cause);
	json_decref(keys);
	json_decref(body);
	json_decref(tags);
	json_decref(conf);
	return ret;
}

/* ---------- Invoke ---------- */

/*
 * The end of an invocation's log lines as AWS's X-Amz-Log-Result shows
 * them: our "<time> " stamps removed (lines that carry their own, node's,
 * keep it), the last HTTP_TAIL_BYTES, base64. NULL if there is none.
 */
static char *http_log_tail(const char *logs, size_t len)
{
	struct buf plain, b64;
	const char *p = logs, *end = logs + len, *nl;
	size_t from = 0;
	char *out;

	if (!logs || !len)
		return NULL;
	buf_init(&plain, len + 1);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		/* "2026-11-23T08:00:00.000Z " */
		if (nl - p > 25 && p[23] == 'Z' && p[24] == ' ' &&
		    p[10] == 'T')
			p += 25;
		(void)buf_append(&plain, p, (size_t)(nl - p));
		p = nl;
	}
	if (plain.len > HTTP_TAIL_BYTES) {
		from = plain.len - HTTP_TAIL_BYTES;
		/* do not start inside a UTF-8 sequence */
		while (from < plain.len &&
		       ((unsigned char)plain.data[from] & 0xc0) == 0x80)
			from++;
	}
	buf_init(&b64, 2 * HTTP_TAIL_BYTES);
	if (base64_encode(plain.data + from, plain.len - from, &b64) < 0)
		buf_release(&b64);
	buf_release(&plain);
	out = buf_detach(&b64, &len);
	return out;
}

/*
 * The function a RIE-style URL means: the function named "function",
 * else the only function. Copies it into name; false if neither.
 */
struct http_only {
	char name[65];
	size_t n;
};

static void http_only_fn(const struct function_info *fi, void *arg)
{
	struct http_only *o = arg;

	if (o->n++ == 0)
		snprintf(o->name, sizeof(o->name), "%s", fi->name);
}

static bool http_rie_function(struct http *h, char name[65])
{
	struct function_info fi;
	struct http_only o = { "", 0 };

	if (registry_function_stat(h->reg, HTTP_RIE_NAME, &fi) == 0) {
		snprintf(name, 65, "%s", HTTP_RIE_NAME);
		return true;
	}
	registry_function_foreach(h->reg, http_only_fn, &o);
	if (o.n != 1)
		return false;
	memcpy(name, o.name, sizeof(o.name));
	return true;
}

static enum MHD_Result http_invoke_event(struct http_req *q,
					 const char *name, const char *event,
					 size_t len)
{
	char id[37];
	int r;

	r = invoke_async(q->h->iv, name, event, len, id);
	if (r == 0) {
		memcpy(q->request_id, id, sizeof(id));
		return http_send_empty(q, MHD_HTTP_ACCEPTED);
	}
	if (r == -EFBIG)
		return http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
				  "RequestEntityTooLargeException",
				  "%zu byte payload is too large for the Event "
				  "invocation type (limit %d bytes)",
				  len, INVOKE_ASYNC_MAX);
	if (r == -EINVAL)
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidRequestContentException",
				  "Could not parse request body into json");
	if (r == -ENOSYS)
		return http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "ServiceException",
				  "asynchronous invocation is not available "
				  "in this build");
	return http_errno(q, r, NULL, name);
}

static enum MHD_Result http_invoke(struct http_req *q, const char *seg,
				   bool rie)
{
	struct http *h = q->h;
	struct invoke_opts opts = { NULL, http_is_stopping, h };
	struct invoke_result res;
	struct function_info fi;
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;
	const char *type = http_header(q, "X-Amz-Invocation-Type");
	const char *logtype = http_header(q, "X-Amz-Log-Type");
	const char *cc = http_header(q, "X-Amz-Client-Context");
	const char *event = q->body.data ? q->body.data : "";
	size_t len = q->body.len;
	struct buf ctx;
	json_error_t jerr;
	json_t *j;
	char name[65], *tail = NULL;
	int r;

	if (rie) {
		if (!http_rie_function(h, name))
			return http_error(q, MHD_HTTP_NOT_FOUND,
					  "ResourceNotFoundException",
					  "Function not found: " FN_ARN_PREFIX
					  "%s (the RIE path runs the function "
					  "named '%s', or the only function)",
					  HTTP_RIE_NAME, HTTP_RIE_NAME);
	} else if (!http_fn(q, seg, name, &ret)) {
		return ret;
	}
	if (!type)
		type = "RequestResponse";
	if (strcmp(type, "RequestResponse") && strcmp(type, "Event") &&
	    strcmp(type, "DryRun"))
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "X-Amz-Invocation-Type must be "
				  "RequestResponse, Event or DryRun, not '%s'",
				  type);
	if (logtype && strcmp(logtype, "None") && strcmp(logtype, "Tail"))
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "X-Amz-Log-Type must be None or Tail, not "
				  "'%s'",
				  logtype);
	if (q->too_big)
		return http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
				  "RequestEntityTooLargeException",
				  "Request must be smaller than %d bytes for "
				  "the InvokeFunction operation",
				  HTTP_MAX_INVOKE);
	if (!strcmp(type, "DryRun")) {
		r = registry_function_stat(h->reg, name, &fi);
		return r < 0 ? http_errno(q, r, NULL, name)
			     : http_send_empty(q, MHD_HTTP_NO_CONTENT);
	}
	/* no payload means {} (AWS; the node runtime needs JSON) */
	if (!len) {
		event = "{}";
		len = 2;
	}
	if (!strcmp(type, "Event"))
		return http_invoke_event(q, name, event, len);

	j = json_loadb(event, len, JSON_DECODE_ANY, &jerr);
	if (!j)
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidRequestContentException",
				  "Could not parse request body into json: %s",
				  jerr.text);
	json_decref(j);
	buf_init(&ctx, 3583);
	if (cc) {
		j = NULL;
		if (base64_decode(cc, strlen(cc), &ctx) == 0 && ctx.len)
			j = json_loadb(ctx.data, ctx.len, 0, &jerr);
		if (!json_is_object(j)) {
			json_decref(j);
			buf_release(&ctx);
			return http_error(q, MHD_HTTP_BAD_REQUEST,
					  "InvalidRequestContentException",
					  "Client context must be a valid "
					  "Base64-encoded JSON object.");
		}
		json_decref(j);
		opts.client_context = ctx.data;
	}

	/* a function may run for 900 s: no idle timeout meanwhile */
	MHD_set_connection_option(q->con, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	r = invoke_sync(h->iv, name, event, len, &opts, &res);
	MHD_set_connection_option(q->con, MHD_CONNECTION_OPTION_TIMEOUT,
				  HTTP_IDLE_TIMEOUT);
	buf_release(&ctx);
	memcpy(q->request_id, res.request_id, sizeof(q->request_id));

	if (r < 0 && !res.function_error) {
		if (r == -EFBIG)
			ret = http_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
					 "RequestEntityTooLargeException",
					 "Request must be smaller than %d "
					 "bytes for the InvokeFunction "
					 "operation",
					 HTTP_MAX_INVOKE);
		else
			ret = http_errno(q, r, NULL, name);
		goto out;
	}
	if (logtype && !strcmp(logtype, "Tail"))
		tail = http_log_tail(res.logs, res.logs_len);
	resp = http_body(res.payload, res.len);
	res.payload = NULL;
	if (resp) {
		MHD_add_response_header(resp, "X-Amz-Executed-Version",
					"$LATEST");
		if (res.function_error)
			MHD_add_response_header(resp, "X-Amz-Function-Error",
						"Unhandled");
		if (tail)
			MHD_add_response_header(resp, "X-Amz-Log-Result",
						tail);
	}
	ret = http_send(q, MHD_HTTP_OK, resp, "application/json");
out:
	free(tail);
	invoke_result_release(&res);
	return ret;
}

/* ---------- layers ---------- */

/* GetLayerVersion JSON with Content.Location pointing at us; NULL+errno. */
static json_t *http_layer_version(struct http_req *q, const char *name,
				  int64_t version)
{
	json_error_t jerr;
	json_t *j, *content;
	char *text, *base;
	size_t len;

	text = registry_layer_version_json(q->h->reg, name, version, &len);
	if (!text)
		return NULL;
	j = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!j) {
		errno = EIO;
		return NULL;
	}
	content = json_object_get(j, "Content");
	if (content) {
		base = http_base_url(q);
		json_object_set_new(content, "Location",
				    json_sprintf("%s/lambdafs/layers/%s/"
						 "%" PRId64 "/layer.zip",
						 base, name, version));
		free(base);
	}
	return j;
}

static enum MHD_Result http_get_layer_version(struct http_req *q,
					      const char *name,
					      int64_t version)
{
	json_t *j = http_layer_version(q, name, version);

	if (!j)
		return errno == ENOENT ? http_layer_not_found(q)
				       : http_errno(q, -errno, NULL, NULL);
	return http_send_json(q, MHD_HTTP_OK, j);
}

/* The LayerVersionsListItem of a version: GetLayerVersion minus Content
 * and LayerArn. */
static json_t *http_layer_item(struct http_req *q, const char *name,
			       int64_t version)
{
	json_t *j = http_layer_version(q, name, version);

	if (j) {
		json_object_del(j, "Content");
		json_object_del(j, "LayerArn");
	}
	return j;
}

static enum MHD_Result http_publish_layer(struct http_req *q,
					  const char *name)
{
	struct http *h = q->h;
	enum MHD_Result ret = MHD_NO;
	const json_t *content, *zip;
	json_t *body, *j;
	char *cause = NULL;
	int64_t created, latest, version;
	bool fresh;
	int fd = -1, r;

	if (q->too_big)
		return http_too_large(q, "PublishLayerVersion");
	body = http_json_body(q, &ret);
	if (!body)
		return ret;
	content = json_object_get(body, "Content");
	zip = json_object_get(content, "ZipFile");
	if (!json_is_string(zip)) {
		ret = http_error(q, MHD_HTTP_BAD_REQUEST,
				 "InvalidParameterValueException",
				 "lambdafs takes Content.ZipFile (base64); S3 "
				 "locations are not reachable here");
		goto out;
	}
	fd = http_zip_file(h, json_string_value(zip), json_string_length(zip));
	if (fd < 0) {
		ret = http_zip_error(q, fd, "PublishLayerVersion");
		goto out;
	}
	fresh = registry_layer_stat(h->reg, name, &created, &latest) < 0;
	r = fresh ? registry_layer_create(h->reg, name) : 0;
	if (r == -EEXIST) {
		r = 0;
		fresh = false;
	}
	if (r == 0)
		r = registry_layer_publish(h->reg, name, fd, &version, &cause);
	if (r < 0) {
		if (fresh)
			(void)registry_layer_delete(h->reg, name);
		ret = http_errno(q, r, cause, NULL);
		goto out;
	}
	j = http_layer_version(q, name, version);
	ret = j ? http_send_json(q, MHD_HTTP_CREATED, j)
		: http_errno(q, -errno, NULL, NULL);
out:
	if (fd != -1)
		close(fd);
	free(cause);
	json_decref(body);
	return ret;
}

static enum MHD_Result http_list_layer_versions(struct http_req *q,
						const char *name)
{
	struct layer_version_info *v = NULL;
	enum MHD_Result ret = MHD_NO;
	const char *marker = http_arg(q, "Marker");
	json_t *list, *ans, *item;
	int64_t before = INT64_MAX, last = 0;
	size_t max, added = 0;
	int n, i;

	if (!http_max_items(q, HTTP_PAGE_MAX, HTTP_PAGE_MAX, &max, &ret))
		return ret;
	if (marker && !http_parse_version(marker, &before))
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "invalid Marker '%s'", marker);
	n = registry_layer_versions(q->h->reg, name, &v);
	list = json_array();
	ans = json_pack("{s:o}", "LayerVersions", list);
	/* newest first, as AWS lists them */
	for (i = n - 1; i >= 0; i--) {
		if (v[i].version >= before)
			continue;
		if (added == max) {
			json_object_set_new(ans, "NextMarker",
					    json_sprintf("%" PRId64, last));
			break;
		}
		item = http_layer_item(q, name, v[i].version);
		if (!item)
			continue;
		json_array_append_new(list, item);
		last = v[i].version;
		added++;
	}
	free(v);
	return http_send_json(q, MHD_HTTP_OK, ans);
}

static enum MHD_Result http_list_layers(struct http_req *q)
{
	struct http_names c = { 0 };
	enum MHD_Result ret = MHD_NO;
	json_t *list, *ans, *item;
	int64_t created, latest;
	size_t i, max, added = 0;

	if (!http_max_items(q, HTTP_PAGE_MAX, HTTP_PAGE_MAX, &max, &ret))
		return ret;
	c.after = http_arg(q, "Marker");
	c.max = SIZE_MAX - 1; /* layers without versions are skipped below */
	registry_layer_foreach(q->h->reg, http_collect_layer, &c);
	list = json_array();
	ans = json_pack("{s:o}", "Layers", list);
	for (i = 0; i < c.n; i++) {
		if (registry_layer_stat(q->h->reg, c.v[i], &created,
					&latest) < 0 ||
		    !latest)
			continue;
		if (added == max) {
			json_object_set_new(ans, "NextMarker",
					    json_string(c.v[i - 1]));
			break;
		}
		item = http_layer_item(q, c.v[i], latest);
		if (!item)
			continue;
		json_array_append_new(
			list, json_pack("{s:s, s:s+, s:o}", "LayerName", c.v[i],
					"LayerArn", LAYER_ARN_PREFIX, c.v[i],
					"LatestMatchingVersion", item));
		added++;
	}
	registry_free_strv(c.v, c.n);
	return http_send_json(q, MHD_HTTP_OK, ans);
}

/* GET /2018-10-31/layers?find=LayerVersion&Arn=...: GetLayerVersionByArn */
static enum MHD_Result http_layer_by_arn(struct http_req *q, const char *arn)
{
	const char *p = strstr(arn, ":layer:");
	char name[141];
	int64_t version;
	const char *colon;

	if (!p || !http_layer_ref(arn, name) ||
	    !(colon = strrchr(p + strlen(":layer:"), ':')) ||
	    !http_parse_version(colon + 1, &version))
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "invalid layer version ARN '%s'", arn);
	return http_get_layer_version(q, name, version);
}

/* ---------- CloudWatch Logs, health, status ---------- */

static enum MHD_Result http_logs(struct http_req *q, const char *target)
{
	struct MHD_Response *resp;
	const char *op = target + strlen("Logs_20140328.");
	const char *etype;
	char *out, *msg;
	size_t len;
	json_t *j;
	int r;

	r = cwlogs_call(q->h->reg, q->h->iv, op, q->body.data, q->body.len,
			&out, &len, &etype, &msg);
	if (r == 0)
		return http_send(q, MHD_HTTP_OK, http_body(out, len),
				 "application/x-amz-json-1.1");
	/* the JSON 1.1 protocol's error shape */
	j = json_pack("{s:s, s:s}", "__type", etype, "message", msg);
	free(msg);
	out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!out)
		return MHD_NO;
	resp = http_body(out, strlen(out));
	if (resp)
		MHD_add_response_header(resp, "x-amzn-ErrorType", etype);
	return http_send(q, MHD_HTTP_BAD_REQUEST, resp,
			 "application/x-amz-json-1.1");
}

static enum MHD_Result http_status(struct http_req *q)
{
	struct http *h = q->h;
	size_t nfn = 0, nly = 0;

	registry_counts(h->reg, &nfn, &nly);
	return http_send_json(
		q, MHD_HTTP_OK,
		json_pack("{s:s, s:i, s:s, s:I, s:I, s:I, s:i, s:{s:s, s:b}}",
			  "version", LAMBDAFS_VERSION, "pid", (int)getpid(),
			  "executor", h->executor, "uptime_seconds",
			  (json_int_t)((util_now_ms() - h->start_ms) / 1000),
			  "functions", (json_int_t)nfn, "layers",
			  (json_int_t)nly, "warm_envs",
			  (int)invoke_env_count(h->iv), "http", "address",
			  h->address, "listening", 1));
}

/* ---------- routing ---------- */

static enum MHD_Result http_unknown(struct http_req *q, const char *method,
				    const char *url)
{
	return http_error(q, MHD_HTTP_NOT_FOUND, "UnknownOperationException",
			  "lambdafs does not serve %s %s", method, url);
}

/* /2015-03-31/functions[/{fn}[/...]] */
static enum MHD_Result http_route_functions(struct http_req *q,
					    const char *method, char **seg,
					    size_t n, const char *url)
{
	enum MHD_Result ret = MHD_NO;
	char name[65];

	if (n == 2 && is(method, "GET"))
		return http_list_functions(q);
	if (n == 2 && is(method, "POST"))
		return http_create_function(q);
	if (n == 4 && is(seg[3], "invocations") && is(method, "POST"))
		return http_invoke(q, seg[2], is(seg[2], HTTP_RIE_NAME));
	if (n < 3 || n > 4)
		return http_unknown(q, method, url);
	if (!http_fn(q, seg[2], name, &ret))
		return ret;
	if (n == 3 && is(method, "GET"))
		return http_get_function(q, name);
	if (n == 3 && is(method, "DELETE"))
		return http_delete_function(q, name);
	if (n == 4 && is(seg[3], "configuration") && is(method, "GET"))
		return http_get_configuration(q, name);
	if (n == 4 && is(seg[3], "configuration") && is(method, "PUT"))
		return http_update_configuration(q, name);
	if (n == 4 && is(seg[3], "code") && is(method, "PUT"))
		return http_update_code(q, name);
	return http_unknown(q, method, url);
}

/* /2018-10-31/layers[/{l}/versions[/{n}]] */
static enum MHD_Result http_route_layers(struct http_req *q,
					 const char *method, char **seg,
					 size_t n, const char *url)
{
	const char *find = http_arg(q, "find");
	char name[141];
	int64_t version = 0;

	const char *arn = http_arg(q, "Arn");

	if (n == 2 && is(method, "GET") && find && is(find, "LayerVersion"))
		return http_layer_by_arn(q, arn ? arn : "");
	if (n == 2 && is(method, "GET"))
		return http_list_layers(q);
	if (n < 4 || n > 5 || !is(seg[3], "versions"))
		return http_unknown(q, method, url);
	if (!http_layer_ref(seg[2], name))
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "InvalidParameterValueException",
				  "invalid layer name '%s': use "
				  "[A-Za-z0-9_-]{1,140} or its ARN",
				  seg[2]);
	if (n == 5 && !http_parse_version(seg[4], &version))
		return http_layer_not_found(q);
	if (n == 4 && is(method, "GET"))
		return http_list_layer_versions(q, name);
	if (n == 4 && is(method, "POST"))
		return http_publish_layer(q, name);
	if (n == 5 && is(method, "GET"))
		return http_get_layer_version(q, name, version);
	if (n == 5 && is(method, "DELETE")) {
		/* AWS answers 204 for a version that is already gone */
		(void)registry_layer_version_delete(q->h->reg, name, version);
		return http_send_empty(q, MHD_HTTP_NO_CONTENT);
	}
	return http_unknown(q, method, url);
}

/* PUT/DELETE /2017-10-31/functions/{fn}/concurrency,
 * GET /2019-09-30/functions/{fn}/concurrency */
static enum MHD_Result http_route_concurrency(struct http_req *q,
					      const char *method, char **seg,
					      const char *url)
{
	enum MHD_Result ret = MHD_NO;
	char name[65];

	if (!(is(seg[0], "2019-09-30") ? is(method, "GET")
				       : is(method, "PUT") ||
						 is(method, "DELETE")))
		return http_unknown(q, method, url);
	if (!http_fn(q, seg[2], name, &ret))
		return ret;
	return http_concurrency(q, name, method);
}

/* /lambdafs/functions/{fn}/code.zip, /lambdafs/layers/{l}/{n}/layer.zip */
static enum MHD_Result http_route_files(struct http_req *q,
					const char *method, char **seg,
					size_t n, const char *url)
{
	int64_t version;

	if (!is(method, "GET") && !is(method, "HEAD"))
		return http_unknown(q, method, url);
	if (n == 4 && is(seg[1], "functions") && is(seg[3], "code.zip") &&
	    util_is_function_name(seg[2]))
		return http_send_file(
			q, registry_function_zip_path(q->h->reg, seg[2]));
	if (n == 5 && is(seg[1], "layers") && is(seg[4], "layer.zip") &&
	    util_is_layer_name(seg[2]) && http_parse_version(seg[3], &version))
		return http_send_file(q, registry_layer_version_zip(
						 q->h->reg, seg[2], version));
	return http_unknown(q, method, url);
}

static enum MHD_Result http_dispatch(struct http_req *q, const char *url,
				     const char *method)
{
	const char *target = http_header(q, "X-Amz-Target");
	char *copy, *save = NULL, *s, *seg[HTTP_MAX_SEGS];
	enum MHD_Result ret;
	size_t n = 0;

	if (atomic_load(&q->h->stopping))
		return http_errno(q, -ESHUTDOWN, NULL, NULL);
	if (q->oom)
		return http_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "ServiceException",
				  "out of memory reading the request");
	if (target && !strncmp(target, "Logs_20140328.", 14) &&
	    is(method, "POST"))
		return http_logs(q, target);
	if (target)
		return http_error(q, MHD_HTTP_BAD_REQUEST,
				  "UnknownOperationException",
				  "lambdafs does not serve '%s'", target);

	copy = xstrdup(url);
	for (s = strtok_r(copy, "/", &save); s && n < HTTP_MAX_SEGS;
	     s = strtok_r(NULL, "/", &save))
		seg[n++] = s;
	if (s)
		ret = http_unknown(q, method, url);
	else if (n == 1 && is(seg[0], "health") && is(method, "GET"))
		ret = http_send_json(q, MHD_HTTP_OK,
				     json_pack("{s:s}", "status", "ok"));
	else if (n == 1 && is(seg[0], "status") && is(method, "GET"))
		ret = http_status(q);
	else if (n >= 2 && is(seg[0], "2015-03-31") &&
		 is(seg[1], "functions"))
		ret = http_route_functions(q, method, seg, n, url);
	else if (n >= 2 && is(seg[0], "2018-10-31") && is(seg[1], "layers"))
		ret = http_route_layers(q, method, seg, n, url);
	else if (n == 4 && (is(seg[0], "2017-10-31") ||
			    is(seg[0], "2019-09-30")) &&
		 is(seg[1], "functions") && is(seg[3], "concurrency"))
		ret = http_route_concurrency(q, method, seg, url);
	else if (n == 3 && is(seg[0], "2017-03-31") && is(seg[1], "tags") &&
		 (is(method, "GET") || is(method, "POST") ||
		  is(method, "DELETE")))
		ret = http_tags(q, seg[2], method);
	else if (n >= 4 && is(seg[0], "lambdafs"))
		ret = http_route_files(q, method, seg, n, url);
	else
		ret = http_unknown(q, method, url);
	free(copy);
	return ret;
}

/* The body cap of a request, by route (decided from its first line). */
static size_t http_body_cap(const char *method, const char *url)
{
	size_t n = strlen(url);

	while (n > 1 && url[n - 1] == '/')
		n--;
	if (strstr(url, "/invocations"))
		return HTTP_MAX_INVOKE;
	if ((is(method, "POST") && n == strlen("/2015-03-31/functions") &&
	     !strncmp(url, "/2015-03-31/functions", n)) ||
	    (is(method, "PUT") && n > 5 && !strncmp(url + n - 5, "/code", 5)) ||
	    (is(method, "POST") && !strncmp(url, "/2018-10-31/layers/", 19)))
		return HTTP_MAX_UPLOAD;
	return HTTP_MAX_BODY;
}

/* The client's URL, decoded, may hold anything: one log line stays one
 * line. */
static void http_log_safe(const char *s, char *out, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?'
								    : s[i];
	out[i] = '\0';
}

static void http_consume(struct http_req *q, const char *data, size_t n)
{
	int r;

	q->total += n;
	if (q->too_big || q->oom)
		return;
	r = buf_append(&q->body, data, n);
	if (r == -EFBIG) {
		q->too_big = true;
		buf_release(&q->body);
	} else if (r < 0) {
		q->oom = true;
		buf_release(&q->body);
	}
}

/* See rapi.c: ACK a POST's headers at once, so a client that sends the
 * body in a second write does not wait ~40 ms for our delayed ACK. */
static void http_quickack(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci;
	int one = 1;

	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_QUICKACK,
				 &one, sizeof(one)); /* best effort */
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *con,
				   const char *url, const char *method,
				   const char *version,
				   const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct http_req *q = *con_cls;
	enum MHD_Result ret;

	(void)version;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->h = cls;
		q->con = con;
		buf_init(&q->body, http_body_cap(method, url));
		*con_cls = q;
		if (is(method, "POST") || is(method, "PUT"))
			http_quickack(con);
		return MHD_YES;
	}
	if (*upload_data_size) {
		http_consume(q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&q->h->lock);
	q->h->active++;
	q->counted = true;
	pthread_mutex_unlock(&q->h->lock);
	ret = http_dispatch(q, url, method);
	{
		char safe[256];

		http_log_safe(url, safe, sizeof(safe));
		log_debug("http: %s %s (%zu bytes)", method, safe, q->total);
	}
	return ret;
}

static void http_completed(void *cls, struct MHD_Connection *con,
			   void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_req *q = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (!q)
		return;
	if (q->counted) {
		/* the answer is out (or the connection is gone) */
		pthread_mutex_lock(&q->h->lock);
		q->h->active--;
		pthread_cond_broadcast(&q->h->cond);
		pthread_mutex_unlock(&q->h->lock);
	}
	buf_release(&q->body);
	free(q);
	*con_cls = NULL;
}

/* Small answers go out at once instead of waiting for Nagle. */
static void http_notify_connection(void *cls, struct MHD_Connection *con,
				   void **socket_context,
				   enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	int one = 1;

	(void)cls;
	(void)socket_context;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY,
				 &one, sizeof(one)); /* best effort */
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("http api: libmicrohttpd: %s", msg);
}

/* ---------- public ---------- */

int http_bind(const char *addr, struct http **out, char **cause)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], ip[INET6_ADDRSTRLEN];
	const char *colon, *port;
	struct http *h = NULL;
	int fd = -1, one = 1, r, err;
	size_t n;

	*out = NULL;
	*cause = NULL;
	colon = strrchr(addr, ':');
	if (!colon || colon == addr)
		goto bad;
	port = colon + 1;
	n = (size_t)(colon - addr);
	if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, addr, n);
	host[n] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		*cause = xasprintf("cannot listen on '%s': %s", addr,
				   gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd == -1)
		goto fail;
	/* a restart must not wait for TIME_WAIT of the last run */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		goto fail;
	h = xcalloc(1, sizeof(*h));
	h->fd = fd;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(h->address, sizeof(h->address), "[%s]:%u", ip,
			 ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(h->address, sizeof(h->address), "%s:%u", ip,
			 ntohs(s4->sin_port));
	}
	freeaddrinfo(ai);
	*out = h;
	return 0;
fail:
	err = errno;
	*cause = xasprintf("cannot listen on %s:%s for the HTTP API: %s%s",
			   host, port, strerror(err),
			   err == EADDRINUSE ? " (use --http ADDR:PORT, or "
					       "--http off)"
					     : "");
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return -err;
bad:
	*cause = xasprintf("bad --http address '%s': use ADDR:PORT", addr);
	return -EINVAL;
}

int http_start(struct http *h, const struct http_params *p)
{
	sigset_t old;
	int err;

	h->reg = p->reg;
	h->iv = p->iv;
	h->executor = p->executor;
	h->on_change = p->on_change;
	h->arg = p->arg;
	h->start_ms = util_now_ms();
	/* MHD's threads inherit this mask: signals go to the FUSE thread */
	util_signals_block(&old);
	errno = 0;
	h->mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_ITC | MHD_USE_ERROR_LOG,
		0, NULL, NULL, http_access, h,
		/* first, or MHD logs the options before it to stderr */
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
		MHD_OPTION_LISTEN_SOCKET, h->fd,
		MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT,
		MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS,
		MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, h,
		MHD_OPTION_END);
	err = errno;
	util_signals_restore(&old);
	if (!h->mhd) {
		log_warnx("cannot start the HTTP API on %s: %s", h->address,
			  err ? strerror(err) : "libmicrohttpd refused");
		return err ? -err : -EIO;
	}
	h->fd = -1; /* MHD closes it at stop */
	log_info("HTTP API listening on http://%s", h->address);
	return 0;
}

const char *http_address(const struct http *h)
{
	return h->address;
}

void http_stop(struct http *h)
{
	struct timespec until;
	MHD_socket lfd;

	if (!h)
		return;
	atomic_store(&h->stopping, true);
	if (h->mhd) {
		/* no new connections; requests on open ones get 503 */
		lfd = MHD_quiesce_daemon(h->mhd);
		if (lfd != MHD_INVALID_SOCKET)
			close(lfd);
		/*
		 * MHD_stop_daemon closes every connection at once: first let
		 * the answers being made go out. Invocations give up within
		 * 200 ms (invoke_opts.interrupted); a deploy in progress
		 * gets HTTP_STOP_WAIT_S to finish.
		 */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += HTTP_STOP_WAIT_S;
		pthread_mutex_lock(&h->lock);
		while (h->active > 0 &&
		       pthread_cond_timedwait(&h->cond, &h->lock, &until) !=
			       ETIMEDOUT)
			;
		if (h->active)
			log_warnx("http api: %u requests still running at stop",
				  h->active);
		pthread_mutex_unlock(&h->lock);
		MHD_stop_daemon(h->mhd);
	}
	if (h->fd != -1)
		close(h->fd);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
