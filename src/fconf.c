/* SPDX-License-Identifier: MIT */
/*
 * fconf.c - a function's configuration: validation, merge, inference of
 * Runtime/Handler from a zip, and the AWS FunctionConfiguration object
 * (see fconf.h).
 *
 * Design notes
 *
 * - One table, settable[], names every key a caller may write, with the
 *   function that validates it. A check either fails (-EINVAL and a
 *   cause) or returns the value to store: a new reference, normalised
 *   (Layers resolved to [{Arn, CodeSize}], empty Environment/Tags/...
 *   turned into "not set"), or NULL for "remove the key". A JSON null in
 *   the update removes the key before any check runs.
 *
 * - fconf_merge works on a deep copy of current and hands it out only
 *   when every key of the update and the whole result passed, so a
 *   failed write never touches current, and the stored conf never
 *   shares a node with the caller's update or current.
 *
 * - The first failing key, in the update's order, gives the cause. A
 *   cause is one line: the key, the bad value (as compact JSON, cut at
 *   FCONF_SHOW bytes, so control characters arrive escaped) and what is
 *   allowed. AWS wording is reused where AWS has one (reserved and
 *   oversized environment variables, the variable name pattern).
 *
 * - Round trip invariant: fconf_render's output is a valid update that
 *   changes nothing. Read-only keys are skipped, every settable key is
 *   rendered in a form its check accepts (Layers as {Arn, CodeSize}
 *   objects), and defaults written back explicitly mean the same as
 *   absent ones. ImageUri is stored but not rendered (AWS shows it in
 *   GetFunction's Code), so a write-back leaves it alone.
 *
 * - jansson's iterators take a non-const json_t *; we cast the const
 *   away only to iterate, never to modify (ITER()).
 *
 * - Pure: no I/O, no locks, no global state; safe from any thread.
 */
#include <jansson.h>

#include "common.h"
#include "fconf.h"
#include "bundle.h"
#include "log.h"
#include "util.h"

/* Bytes of a value or name quoted in a cause, "..." included. */
#define FCONF_SHOW 80
#define FCONF_ENV_MAX 4096	/* JSON of Environment.Variables, bytes */
#define FCONF_DEFAULT_ROLE "arn:aws:iam::" LAMBDAFS_ACCOUNT ":role/lambda-role"

/* jansson's iterators do not modify the object but take it non-const. */
#define ITER(v) ((json_t *)(v))

struct merge {
	fconf_layer_resolve_fn resolve;
	void *arg;
	char **cause;
};

struct fconf_key {
	const char *name;
	int (*check)(struct merge *m, const struct fconf_key *k,
		     const json_t *v, json_t **norm);
	json_int_t min, max; /* integer range, or string length in chars */
};

/* Every AWS Runtime identifier, current and deprecated (API Runtime). */
static const char *const runtimes[] = {
	"nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10",
	"nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x",
	"nodejs20.x", "nodejs22.x", "nodejs24.x",
	"python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
	"python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
	"java8", "java8.al2", "java8.al2023", "java11", "java11.al2023",
	"java17", "java17.al2023", "java21", "java25",
	"dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",
	"dotnet6", "dotnet8", "dotnet10",
	"ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3", "ruby3.4",
	"go1.x", "provided", "provided.al2", "provided.al2023",
};

/* LAMBDA-CONTRACT.md §3: names Create/UpdateFunctionConfiguration refuse. */
static const char *const reserved_env[] = {
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
	"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
	"LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
};

/* What GetFunctionConfiguration returns but a write may not change. */
static const char *const read_only[] = {
	"FunctionName", "FunctionArn", "CodeSize", "CodeSha256",
	"LastModified", "Version", "State", "StateReason", "StateReasonCode",
	"LastUpdateStatus", "LastUpdateStatusReason",
	"LastUpdateStatusReasonCode", "RevisionId", "ImageConfigResponse",
	"SnapStart", "RuntimeVersionConfig", "MasterArn", "SigningJobArn",
	"SigningProfileVersionArn", "VpcConfig", "FileSystemConfigs",
};

static const char *const package_types[] = { "Zip", "Image", NULL };
static const char *const architectures[] = { "x86_64", "arm64", NULL };
static const char *const tracing_modes[] = { "Active", "PassThrough", NULL };
static const char *const log_formats[] = { "Text", "JSON", NULL };
static const char *const app_levels[] = { "TRACE", "DEBUG", "INFO", "WARN",
					  "ERROR", "FATAL", NULL };
static const char *const system_levels[] = { "DEBUG", "INFO", "WARN", NULL };
static const char *const executors[] = { "subprocess", "docker", NULL };

static bool in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* NULL-terminated variant of in_list. */
static bool one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Writes "\"a\", \"b\" or \"c\"" for a NULL-terminated set into out. */
static const char *set_text(const char *const *set, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (; *set && len < n; set++)
		len += (size_t)snprintf(out + len, n - len, "%s\"%s\"",
					len == 0 ? "" : set[1] ? ", " : " or ",
					*set);
	return out;
}

/* Copies s into out[n], cut at a UTF-8 boundary with "..." if too long. */
static void clip(const char *s, char *out, size_t n)
{
	size_t len = strlen(s);

	if (len < n) {
		memcpy(out, s, len + 1);
		return;
	}
	len = n - 4;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	memcpy(out, s, len);
	memcpy(out + len, "...", 4);
}

/* A value for a cause: compact JSON, clipped. Returns out. */
static const char *show(const json_t *v, char *out, size_t n)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	clip(s ? s : "?", out, n);
	free(s);
	return out;
}

/* A name for a cause, to go inside '': JSON-escaped, clipped. */
static const char *quote(const char *name, char *out, size_t n)
{
	json_t *j = json_string(name);
	char *s = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	if (s) {
		s[strlen(s) - 1] = '\0';
		clip(s + 1, out, n);
	} else {
		clip("?", out, n);
	}
	free(s);
	json_decref(j);
	return out;
}

static int set_cause(char **cause, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets *cause to a new one-line message; returns -EINVAL. */
static int set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;
	int r;

	free(*cause);
	va_start(ap, fmt);
	r = vasprintf(cause, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatalx("out of memory formatting a configuration error");
	return -EINVAL;
}

#define fail(m, ...) set_cause((m)->cause, __VA_ARGS__)

/* Characters (UTF-8 code points) in s; jansson strings are valid UTF-8. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A JSON string without embedded NULs, or NULL. */
static const char *str_of(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

static const char *conf_str(const json_t *conf, const char *key)
{
	return conf ? json_string_value(json_object_get(conf, key)) : NULL;
}

static bool is_image(const json_t *conf)
{
	const char *p = conf_str(conf, "PackageType");

	return p && !strcmp(p, "Image");
}

/* Sub-keys of an object value must come from keys[] (NULL-terminated). */
static int only_keys(struct merge *m, const char *what, const json_t *v,
		     const char *const *keys)
{
	char q[FCONF_SHOW], set[256];
	const char *key;
	json_t *sub;

	json_object_foreach (ITER(v), key, sub) {
		if (!one_of(key, keys))
			return fail(m, "unknown key '%s' in %s; it may hold %s",
				    quote(key, q, sizeof(q)), what,
				    set_text(keys, set, sizeof(set)));
	}
	return 0;
}

static int check_runtime(struct merge *m, const struct fconf_key *k,
			 const json_t *v, json_t **norm)
{
	char got[FCONF_SHOW], list[1024];
	size_t i, len = 0;

	if (!fconf_is_runtime(str_of(v))) {
		for (i = 0; i < ARRAY_SIZE(runtimes) && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", i ? ", " : "",
						runtimes[i]);
		return fail(m, "%s must be one of %s, got %s", k->name, list,
			    show(v, got, sizeof(got)));
	}
	*norm = json_deep_copy(v);
	return 0;
}

/* Handler: 1..max characters, AWS pattern [^\s]+ (Java \s). */
static int check_handler(struct merge *m, const struct fconf_key *k,
			 const json_t *v, json_t **norm)
{
	const char *s = str_of(v);
	char got[FCONF_SHOW];
	size_t len;

	len = s ? utf8_len(s) : 0;
	if (!s || len < (size_t)k->min || len > (size_t)k->max ||
	    strpbrk(s, " \t\n\v\f\r")) {
		return fail(m,
			    "%s must be %lld to %lld characters without "
			    "whitespace (e.g. \"index.handler\"), got %s",
			    k->name, (long long)k->min, (long long)k->max,
			    show(v, got, sizeof(got)));
	}
	*norm = json_deep_copy(v);
	return 0;
}

/* Any string of at most k->max characters. */
static int check_string(struct merge *m, const struct fconf_key *k,
			const json_t *v, json_t **norm)
{
	const char *s = str_of(v);
	char got[FCONF_SHOW];

	if (!s || utf8_len(s) > (size_t)k->max)
		return fail(m,
			    "%s must be a string of at most %lld characters, "
			    "got %s",
			    k->name, (long long)k->max,
			    show(v, got, sizeof(got)));
	*norm = json_deep_copy(v);
	return 0;
}

/* A string where "" means "not set", as on AWS (KMSKeyArn). */
static int check_string_or_empty(struct merge *m, const struct fconf_key *k,
				 const json_t *v, json_t **norm)
{
	const char *s = str_of(v);

	if (s && !*s)
		return 0;
	return check_string(m, k, v, norm);
}

static int check_int(struct merge *m, const struct fconf_key *k,
		     const json_t *v, json_t **norm)
{
	char got[FCONF_SHOW];
	json_int_t i = json_integer_value(v);

	if (!json_is_integer(v) || i < k->min || i > k->max)
		return fail(m,
			    "%s must be an integer from %lld to %lld, got %s",
			    k->name, (long long)k->min, (long long)k->max,
			    show(v, got, sizeof(got)));
	*norm = json_deep_copy(v);
	return 0;
}

static int check_package_type(struct merge *m, const struct fconf_key *k,
			      const json_t *v, json_t **norm)
{
	char got[FCONF_SHOW], set[64];

	if (!one_of(str_of(v), package_types))
		return fail(m, "%s must be %s, got %s", k->name,
			    set_text(package_types, set, sizeof(set)),
			    show(v, got, sizeof(got)));
	*norm = json_deep_copy(v);
	return 0;
}

/* Environment variable names: [a-zA-Z]([a-zA-Z0-9_])+ */
static bool is_env_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return i >= 2;
}

static int check_environment(struct merge *m, const struct fconf_key *k,
			     const json_t *v, json_t **norm)
{
	static const char *const env_keys[] = { "Variables", NULL };
	char got[FCONF_SHOW], q[FCONF_SHOW], used[1024];
	const json_t *vars;
	const char *name;
	char *dump = NULL;
	size_t used_len = 0;
	json_t *val, *env = NULL;
	int r;

	if (!json_is_object(v)) {
		r = fail(m, "%s must be an object {\"Variables\": {\"NAME\": "
			    "\"value\", ...}}, got %s",
			 k->name, show(v, got, sizeof(got)));
		goto out;
	}
	r = only_keys(m, k->name, v, env_keys);
	if (r < 0)
		goto out;
	vars = json_object_get(v, "Variables");
	if (!vars || json_is_null(vars) ||
	    (json_is_object(vars) && !json_object_size(vars))) {
		r = 0; /* no variables: same as not set */
		goto out;
	}
	if (!json_is_object(vars)) {
		r = fail(m, "%s.Variables must be an object of strings, got %s",
			 k->name, show(vars, got, sizeof(got)));
		goto out;
	}
	used[0] = '\0';
	json_object_foreach (ITER(vars), name, val) {
		if (!is_env_name(name)) {
			r = fail(m, "%s.Variables name '%s' must satisfy "
				    "regular expression pattern: "
				    "[a-zA-Z]([a-zA-Z0-9_])+",
				 k->name, quote(name, q, sizeof(q)));
			goto out;
		}
		if (!str_of(val)) {
			r = fail(m, "%s.Variables value of '%s' must be a "
				    "string, got %s",
				 k->name, name, show(val, got, sizeof(got)));
			goto out;
		}
		if (in_list(name, reserved_env, ARRAY_SIZE(reserved_env)) &&
		    used_len < sizeof(used))
			used_len += (size_t)snprintf(used + used_len,
						     sizeof(used) - used_len,
						     "%s%s",
						     used_len ? "," : "", name);
	}
	if (used_len) {
		r = fail(m, "Lambda was unable to configure your environment "
			    "variables because the environment variables you "
			    "have provided contains reserved keys that are "
			    "currently not supported for modification. "
			    "Reserved keys used in this request: %s",
			 used);
		goto out;
	}
	/* AWS measures the compact JSON of the map (LAMBDA-CONTRACT §2.4). */
	dump = json_dumps(vars, JSON_COMPACT);
	if (!dump) {
		r = -ENOMEM;
		goto out;
	}
	if (strlen(dump) > FCONF_ENV_MAX) {
		clip(dump, got, sizeof(got));
		r = fail(m, "Lambda was unable to configure your environment "
			    "variables because the environment variables you "
			    "have provided exceeded the 4KB limit. String "
			    "measured: %s (%zu bytes, at most %d allowed)",
			 got, strlen(dump), FCONF_ENV_MAX);
		goto out;
	}
	env = json_object();
	if (!env || json_object_set_new(env, "Variables",
					json_deep_copy(vars))) {
		r = -ENOMEM;
		goto out;
	}
	*norm = env;
	env = NULL;
	r = 0;
out:
	json_decref(env);
	free(dump);
	return r;
}

/* True if ref ends in ":N" (a version number). */
static bool ref_has_version(const char *ref)
{
	const char *c = strrchr(ref, ':');

	if (!c || !c[1])
		return false;
	for (c++; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* Length of the layer ARN part of a version ARN (up to the last ':'). */
static size_t layer_arn_len(const char *arn)
{
	const char *c = strrchr(arn, ':');

	return c ? (size_t)(c - arn) : strlen(arn);
}

/*
 * A Layers item: a string reference, or what GetFunctionConfiguration
 * renders, {"Arn": ..., "CodeSize": ...} (the other keys are ignored).
 */
static const char *layer_ref(const json_t *item)
{
	static const char *const item_keys[] = {
		"Arn", "CodeSize", "SigningProfileVersionArn", "SigningJobArn",
		NULL
	};
	const char *key;
	json_t *sub;

	if (json_is_string(item))
		return str_of(item);
	if (!json_is_object(item))
		return NULL;
	json_object_foreach (ITER(item), key, sub) {
		if (!one_of(key, item_keys))
			return NULL;
	}
	return str_of(json_object_get(item, "Arn"));
}

static int check_layers(struct merge *m, const struct fconf_key *k,
			const json_t *v, json_t **norm)
{
	char got[FCONF_SHOW], q[FCONF_SHOW], q2[FCONF_SHOW];
	json_t *list = NULL, *item, *prev;
	const char *ref, *parn;
	char *arn = NULL;
	int64_t size;
	size_t i, j, n;
	int r;

	if (!json_is_array(v) || json_array_size(v) > (size_t)k->max) {
		r = fail(m, "%s must be an array of at most %lld layer version "
			    "ARNs, \"name:version\" or \"name\", got %s",
			 k->name, (long long)k->max,
			 show(v, got, sizeof(got)));
		goto out;
	}
	if (!json_array_size(v)) {
		r = 0; /* no layers: same as not set */
		goto out;
	}
	list = json_array();
	if (!list) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach (v, i, item) {
		ref = layer_ref(item);
		if (!ref || !*ref) {
			r = fail(m, "%s[%zu] must be a layer version ARN, "
				    "\"name:version\", \"name\" or "
				    "{\"Arn\": ...}, got %s",
				 k->name, i, show(item, got, sizeof(got)));
			goto out;
		}
		if (!m->resolve) {
			r = fail(m, "%s cannot be set here: no layer store",
				 k->name);
			goto out;
		}
		r = m->resolve(ref, &arn, &size, m->arg);
		if (r == -ENOENT) {
			r = fail(m, "layer%s '%s' does not exist",
				 ref_has_version(ref) ? " version" : "",
				 quote(ref, q, sizeof(q)));
			goto out;
		} else if (r == -EINVAL) {
			r = fail(m, "%s[%zu] '%s' is not a layer version ARN "
				    "(arn:aws:lambda:REGION:ACCOUNT:layer:"
				    "NAME:N), \"NAME:N\" or \"NAME\"",
				 k->name, i, quote(ref, q, sizeof(q)));
			goto out;
		} else if (r < 0) {
			set_cause(m->cause, "cannot resolve layer '%s': %s",
				  quote(ref, q, sizeof(q)), strerror(-r));
			goto out;
		}
		ASSERT(arn);
		n = layer_arn_len(arn);
		json_array_foreach (list, j, prev) {
			parn = json_string_value(json_object_get(prev, "Arn"));
			if (layer_arn_len(parn) != n || strncmp(parn, arn, n))
				continue;
			r = fail(m, "%s must not name a layer twice: '%s' "
				    "and '%s' are versions of the same layer",
				 k->name, quote(parn, q, sizeof(q)),
				 quote(arn, q2, sizeof(q2)));
			goto out;
		}
		if (json_array_append_new(list,
					  json_pack("{s:s, s:I}", "Arn", arn,
						    "CodeSize",
						    (json_int_t)size))) {
			r = -ENOMEM;
			goto out;
		}
		free(arn);
		arn = NULL;
	}
	*norm = list;
	list = NULL;
	r = 0;
out:
	free(arn);
	json_decref(list);
	return r;
}

static int check_ephemeral(struct merge *m, const struct fconf_key *k,
			   const json_t *v, json_t **norm)
{
	static const char *const keys[] = { "Size", NULL };
	const json_t *size = json_object_get(v, "Size");
	char got[FCONF_SHOW];
	json_int_t n = json_integer_value(size);

	if (!json_is_object(v) || only_keys(m, k->name, v, keys) < 0 ||
	    !json_is_integer(size) || n < k->min || n > k->max)
		return fail(m,
			    "%s must be {\"Size\": N} with N an integer "
			    "from %lld to %lld, got %s",
			    k->name, (long long)k->min, (long long)k->max,
			    show(v, got, sizeof(got)));
	*norm = json_deep_copy(v);
	return 0;
}

static int check_architectures(struct merge *m, const struct fconf_key *k,
			       const json_t *v, json_t **norm)
{
	char got[FCONF_SHOW], set[64];

	if (!json_is_array(v) || json_array_size(v) != 1 ||
	    !one_of(str_of(json_array_get(v, 0)), architectures))
		return fail(m, "%s must be an array of exactly one of %s, "
			       "got %s",
			    k->name, set_text(architectures, set, sizeof(set)),
			    show(v, got, sizeof(got)));
	*norm = json_deep_copy(v);
	return 0;
}

/* An array of at most max strings (ImageConfig EntryPoint, Command). */
static bool is_string_array(const json_t *v, size_t max)
{
	json_t *item;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) > max)
		return false;
	json_array_foreach (v, i, item) {
		if (!str_of(item))
			return false;
	}
	return true;
}

static int check_image_config(struct merge *m, const struct fconf_key *k,
			      const json_t *v, json_t **norm)
{
	static const char *const keys[] = { "EntryPoint", "Command",
					    "WorkingDirectory", NULL };
	char got[FCONF_SHOW];
	json_t *out = NULL, *sub;
	const char *key, *wd;
	int r;

	if (!json_is_object(v)) {
		r = fail(m, "%s must be an object with EntryPoint, Command "
			    "and/or WorkingDirectory, got %s",
			 k->name, show(v, got, sizeof(got)));
		goto out;
	}
	r = only_keys(m, k->name, v, keys);
	if (r < 0)
		goto out;
	out = json_object();
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	json_object_foreach (ITER(v), key, sub) {
		if (json_is_null(sub))
			continue;
		if (!strcmp(key, "WorkingDirectory")) {
			wd = str_of(sub);
			if (!wd || utf8_len(wd) > 1000) {
				r = fail(m, "%s.%s must be a string of at most "
					    "1000 characters, got %s",
					 k->name, key,
					 show(sub, got, sizeof(got)));
				goto out;
			}
		} else if (!is_string_array(sub, 1500)) {
			r = fail(m, "%s.%s must be an array of at most 1500 "
				    "strings, got %s",
				 k->name, key, show(sub, got, sizeof(got)));
			goto out;
		}
		if (json_object_set_new(out, key, json_deep_copy(sub))) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (json_object_size(out)) {
		*norm = out;
		out = NULL;
	}
	r = 0;
out:
	json_decref(out);
	return r;
}

/* CloudWatch log group names: [\.\-_/#A-Za-z0-9]+, 1..512. */
static bool is_log_group(const char *s)
{
	size_t i;

	if (!s || !*s || strlen(s) > 512)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._-/#", c)))
			return false;
	}
	return true;
}

static int check_logging(struct merge *m, const struct fconf_key *k,
			 const json_t *v, json_t **norm)
{
	static const char *const keys[] = { "LogFormat", "ApplicationLogLevel",
					    "SystemLogLevel", "LogGroup",
					    NULL };
	static const struct {
		const char *key;
		const char *const *set;
	} enums[] = {
		{ "LogFormat", log_formats },
		{ "ApplicationLogLevel", app_levels },
		{ "SystemLogLevel", system_levels },
	};
	char got[FCONF_SHOW], set[128];
	const json_t *sub, *fmt;
	json_t *out = NULL;
	size_t i;
	int r;

	if (!json_is_object(v)) {
		r = fail(m, "%s must be an object with LogFormat, "
			    "ApplicationLogLevel, SystemLogLevel and/or "
			    "LogGroup, got %s",
			 k->name, show(v, got, sizeof(got)));
		goto out;
	}
	r = only_keys(m, k->name, v, keys);
	if (r < 0)
		goto out;
	out = json_deep_copy(v);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(enums); i++) {
		sub = json_object_get(v, enums[i].key);
		if (!sub || json_is_null(sub)) {
			json_object_del(out, enums[i].key);
			continue;
		}
		if (!one_of(str_of(sub), enums[i].set)) {
			r = fail(m, "%s.%s must be %s, got %s", k->name,
				 enums[i].key,
				 set_text(enums[i].set, set, sizeof(set)),
				 show(sub, got, sizeof(got)));
			goto out;
		}
	}
	sub = json_object_get(v, "LogGroup");
	if (json_is_null(sub)) {
		json_object_del(out, "LogGroup");
	} else if (sub && !is_log_group(str_of(sub))) {
		r = fail(m, "%s.LogGroup must be 1 to 512 characters from "
			    "letters, digits and . - _ / #, got %s",
			 k->name, show(sub, got, sizeof(got)));
		goto out;
	}
	/* As on AWS, log levels filter JSON records only. */
	fmt = json_object_get(out, "LogFormat");
	if ((json_object_get(out, "ApplicationLogLevel") ||
	     json_object_get(out, "SystemLogLevel")) &&
	    !(fmt && !strcmp(json_string_value(fmt), "JSON"))) {
		r = fail(m, "%s.ApplicationLogLevel and SystemLogLevel need "
			    "LogFormat \"JSON\", got %s",
			 k->name, show(v, got, sizeof(got)));
		goto out;
	}
	if (json_object_size(out)) {
		*norm = out;
		out = NULL;
	}
	r = 0;
out:
	json_decref(out);
	return r;
}

static int check_tracing(struct merge *m, const struct fconf_key *k,
			 const json_t *v, json_t **norm)
{
	static const char *const keys[] = { "Mode", NULL };
	const json_t *mode = json_object_get(v, "Mode");
	char got[FCONF_SHOW], set[64];

	if (!json_is_object(v) || only_keys(m, k->name, v, keys) < 0 ||
	    (mode && !json_is_null(mode) &&
	     !one_of(str_of(mode), tracing_modes)))
		return fail(m, "%s must be {\"Mode\": M} with M %s, got %s",
			    k->name, set_text(tracing_modes, set, sizeof(set)),
			    show(v, got, sizeof(got)));
	if (mode && !json_is_null(mode))
		*norm = json_pack("{s:s}", "Mode", str_of(mode));
	return 0;
}

static int check_dead_letter(struct merge *m, const struct fconf_key *k,
			     const json_t *v, json_t **norm)
{
	static const char *const keys[] = { "TargetArn", NULL };
	const json_t *arn = json_object_get(v, "TargetArn");
	char got[FCONF_SHOW];
	const char *s = str_of(arn);

	if (!json_is_object(v) || only_keys(m, k->name, v, keys) < 0 ||
	    (arn && !json_is_null(arn) && (!s || utf8_len(s) > 2048)))
		return fail(m, "%s must be {\"TargetArn\": \"arn:...\"} (an "
			       "SQS queue or SNS topic ARN), got %s",
			    k->name, show(v, got, sizeof(got)));
	/* As on AWS, {} or an empty TargetArn removes the dead-letter queue. */
	if (s && *s)
		*norm = json_pack("{s:s}", "TargetArn", s);
	return 0;
}

static int check_tags(struct merge *m, const struct fconf_key *k,
		      const json_t *v, json_t **norm)
{
	char got[FCONF_SHOW], q[FCONF_SHOW], set[64];
	const char *key, *s;
	json_t *val;

	if (!json_is_object(v))
		return fail(m, "%s must be an object of strings, got %s",
			    k->name, show(v, got, sizeof(got)));
	json_object_foreach (ITER(v), key, val) {
		s = str_of(val);
		if (!*key || utf8_len(key) > 128)
			return fail(m, "%s key '%s' must be 1 to 128 "
				       "characters",
				    k->name, quote(key, q, sizeof(q)));
		if (!s || utf8_len(s) > 256)
			return fail(m, "%s value of '%s' must be a string of "
				       "at most 256 characters, got %s",
				    k->name, quote(key, q, sizeof(q)),
				    show(val, got, sizeof(got)));
		if (!strcmp(key, "lambdafs:executor") && !one_of(s, executors))
			return fail(m, "%s.%s must be %s, got %s", k->name, key,
				    set_text(executors, set, sizeof(set)),
				    show(val, got, sizeof(got)));
	}
	if (json_object_size(v))
		*norm = json_deep_copy(v);
	return 0;
}

/* Settable keys, in the order the unknown-key message lists them. */
static const struct fconf_key settable[] = {
	{ "Runtime", check_runtime, 0, 0 },
	{ "Handler", check_handler, 1, 128 },
	{ "Role", check_string, 0, 2048 },
	{ "Description", check_string, 0, 256 },
	{ "Timeout", check_int, 1, 900 },
	{ "MemorySize", check_int, 128, 10240 },
	{ "Environment", check_environment, 0, 0 },
	{ "Layers", check_layers, 0, LAMBDAFS_MAX_LAYERS },
	{ "PackageType", check_package_type, 0, 0 },
	{ "ImageUri", check_string, 0, 2048 },
	{ "ImageConfig", check_image_config, 0, 0 },
	{ "EphemeralStorage", check_ephemeral, 512, 10240 },
	{ "Architectures", check_architectures, 0, 0 },
	{ "LoggingConfig", check_logging, 0, 0 },
	{ "TracingConfig", check_tracing, 0, 0 },
	{ "DeadLetterConfig", check_dead_letter, 0, 0 },
	{ "KMSKeyArn", check_string_or_empty, 0, 2048 },
	{ "ReservedConcurrentExecutions", check_int, 0, 1000 },
	{ "Tags", check_tags, 0, 0 },
};

static const struct fconf_key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(settable); i++)
		if (!strcmp(name, settable[i].name))
			return &settable[i];
	return NULL;
}

static int unknown_key(struct merge *m, const char *key)
{
	char q[FCONF_SHOW], list[512];
	size_t i, len = 0;

	for (i = 0; i < ARRAY_SIZE(settable) && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i ? ", " : "", settable[i].name);
	return fail(m,
		    "unknown key '%s' in configuration; settable keys are %s",
		    quote(key, q, sizeof(q)), list);
}

/* Rules between keys, checked on the merged result. */
static int check_whole(struct merge *m, const json_t *conf)
{
	if (is_image(conf) && json_object_get(conf, "Layers"))
		return fail(m, "Layers are not supported for functions with "
			       "PackageType Image");
	return 0;
}

int fconf_merge(const json_t *current, const json_t *update,
		fconf_layer_resolve_fn resolve, void *arg, json_t **out,
		char **cause)
{
	struct merge m = { .resolve = resolve, .arg = arg, .cause = cause };
	const struct fconf_key *k;
	json_t *conf = NULL, *val, *norm;
	const char *key;
	int r;

	*out = NULL;
	*cause = NULL;
	if (!json_is_object(update)) {
		r = fail(&m, "configuration must be a JSON object");
		goto out;
	}
	ASSERT(!current || json_is_object(current));
	conf = current ? json_deep_copy(current) : json_object();
	if (!conf) {
		r = -ENOMEM;
		goto out;
	}
	json_object_foreach (ITER(update), key, val) {
		if (in_list(key, read_only, ARRAY_SIZE(read_only)))
			continue;
		k = find_key(key);
		if (!k) {
			r = unknown_key(&m, key);
			goto out;
		}
		norm = NULL;
		if (!json_is_null(val)) {
			r = k->check(&m, k, val, &norm);
			if (r < 0)
				goto out;
		}
		if (!norm) {
			json_object_del(conf, key);
		} else if (json_object_set_new(conf, key, norm)) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = check_whole(&m, conf);
	if (r < 0)
		goto out;
	*out = conf;
	conf = NULL;
out:
	if (r == -ENOMEM && !*cause)
		set_cause(cause, "out of memory");
	json_decref(conf);
	return r;
}

enum family { FAM_NONE, FAM_PROVIDED, FAM_PYTHON, FAM_NODE, FAM_OTHER };

static enum family runtime_family(const char *runtime)
{
	if (!strncmp(runtime, "provided", 8))
		return FAM_PROVIDED;
	if (!strncmp(runtime, "python", 6))
		return FAM_PYTHON;
	if (!strncmp(runtime, "nodejs", 6))
		return FAM_NODE;
	return FAM_OTHER;
}

/* "app.py" -> "app" into out, for an example handler. */
static const char *stem(const char *file, char *out, size_t n)
{
	const char *dot = strrchr(file, '.');
	size_t len = dot ? (size_t)(dot - file) : strlen(file);

	snprintf(out, n, "%.*s", (int)len, file);
	return out;
}

_Static_assert(sizeof(((struct bundle_info *)0)->first_py) ==
		       sizeof(((struct bundle_info *)0)->first_js),
	       "handler_cause bounds both names alike");

/* The cause for a python or node zip without the default handler file. */
static int handler_cause(const struct bundle_info *info, enum family fam,
			 const char *runtime, char **cause)
{
	bool py = fam == FAM_PYTHON;
	unsigned n = py ? info->root_py : info->root_js;
	const char *first = py ? info->first_py : info->first_js;
	const char *lang = py ? "Python" : "JavaScript";
	const char *want = py ? "lambda_function.py" :
				"index.js, index.mjs or index.cjs";
	char raw[sizeof(info->first_py)], name[FCONF_SHOW], s[FCONF_SHOW];

	/* A file name from the zip: bounded, and escaped to stay one line. */
	snprintf(raw, sizeof(raw), "%.*s", (int)sizeof(raw) - 1, first);
	quote(raw, name, sizeof(name));

	if (!n)
		return set_cause(cause,
				 "cannot infer the handler for %s: the zip has "
				 "no %s files at its root; set Handler in "
				 "config.json (e.g. \"%s\")",
				 runtime, lang,
				 py ? "lambda_function.lambda_handler" :
				      "index.handler");
	return set_cause(cause,
			 "cannot infer the handler: the zip has %u %s file%s "
			 "at its root (%s%s) and no %s; set Handler in "
			 "config.json (e.g. \"%s.handler\")",
			 n, lang, n > 1 ? "s" : "", *raw ? name : "...",
			 n > 1 && *raw ? ", ..." : "", want,
			 *raw ? stem(name, s, sizeof(s)) : "file");
}

/* Runtime set, Handler not: the default handler of the runtime's family. */
static int infer_handler(const struct bundle_info *info, const char *runtime,
			 const char **handler, char **cause)
{
	enum family fam = runtime_family(runtime);
	bool node = info->has_index_js || info->has_index_mjs ||
		    info->has_index_cjs;

	switch (fam) {
	case FAM_PROVIDED:
		return 0; /* bootstrap reads _HANDLER if it wants one */
	case FAM_PYTHON:
		if (!info->has_lambda_function_py)
			return handler_cause(info, fam, runtime, cause);
		*handler = "lambda_function.lambda_handler";
		return 0;
	case FAM_NODE:
		if (!node)
			return handler_cause(info, fam, runtime, cause);
		*handler = "index.handler";
		return 0;
	case FAM_NONE:
	case FAM_OTHER:
	default:
		return set_cause(cause,
				 "cannot infer the handler for runtime %s; set "
				 "Handler in config.json",
				 runtime);
	}
}

/*
 * Runtime not set: the runtime from the zip's entry point (bootstrap,
 * lambda_function.py, index.*), and its default handler unless the user
 * set one. Without an entry point file, a zip of only Python (or only
 * JavaScript) files still names its language; the handler must then be
 * set by hand.
 */
static int infer_runtime(const struct bundle_info *info, bool has_handler,
			 const char *python_runtime, const char *node_runtime,
			 const char **runtime, const char **handler,
			 char **cause)
{
	bool node = info->has_index_js || info->has_index_mjs ||
		    info->has_index_cjs;
	enum family fam = FAM_NONE;
	const char *found[3];
	size_t kinds = 0;

	if (info->has_bootstrap) {
		/*
		 * A bootstrap makes it a custom runtime, whatever else the zip
		 * holds (aws-lambda-ric setups ship index.mjs beside it); the
		 * handler defaults to the one the other file suggests.
		 */
		*runtime = "provided.al2023";
		if (!has_handler && node)
			*handler = "index.handler";
		else if (!has_handler && info->has_lambda_function_py)
			*handler = "lambda_function.lambda_handler";
		return 0;
	}
	if (info->has_lambda_function_py) {
		found[kinds++] = "lambda_function.py";
		fam = FAM_PYTHON;
	}
	if (node) {
		found[kinds++] = info->has_index_mjs ? "index.mjs" :
				 info->has_index_js  ? "index.js" :
						       "index.cjs";
		fam = FAM_NODE;
	}
	if (kinds > 1)
		return set_cause(cause,
				 "cannot infer the runtime: the zip has both "
				 "%s and %s%s%s at its root; set Runtime and "
				 "Handler in config.json",
				 found[0], found[1], kinds > 2 ? " and " : "",
				 kinds > 2 ? found[2] : "");
	if (!kinds) {
		if (info->root_py && !info->root_js)
			fam = FAM_PYTHON;
		else if (info->root_js && !info->root_py)
			fam = FAM_NODE;
		else
			return set_cause(cause,
					 "cannot infer the runtime: the zip "
					 "has no bootstrap, lambda_function.py "
					 "or index.js/index.mjs; set Runtime "
					 "and Handler in config.json");
		if (!has_handler)
			return handler_cause(info, fam, "", cause);
	}

	switch (fam) {
	case FAM_PROVIDED:
		*runtime = "provided.al2023";
		break;
	case FAM_PYTHON:
		*runtime = python_runtime;
		*handler = "lambda_function.lambda_handler";
		break;
	case FAM_NODE:
		*runtime = node_runtime;
		*handler = "index.handler";
		break;
	case FAM_NONE:
	case FAM_OTHER:
	default:
		BUG("no runtime family after inference");
	}
	if (!*runtime)
		return set_cause(cause,
				 "cannot infer the runtime: the zip holds %s "
				 "code but no %s runtime was found on this "
				 "host; set Runtime in config.json",
				 fam == FAM_PYTHON ? "Python" : "Node.js",
				 fam == FAM_PYTHON ? "python" : "nodejs");
	if (has_handler)
		*handler = NULL; /* keep the user's */
	return 0;
}

int fconf_infer(json_t *conf, const struct bundle_info *info,
		const char *python_runtime, const char *node_runtime,
		char **cause)
{
	const char *runtime = fconf_runtime(conf);
	const char *handler = fconf_handler(conf);
	const char *new_rt = NULL, *new_h = NULL;
	int r;

	ASSERT(conf && info);
	*cause = NULL;
	if (is_image(conf) || (runtime && handler))
		return 0;
	if (runtime)
		r = infer_handler(info, runtime, &new_h, cause);
	else
		r = infer_runtime(info, handler != NULL, python_runtime,
				  node_runtime, &new_rt, &new_h, cause);
	if (r < 0)
		return r;
	/* Nothing was changed before this point: a failure leaves conf. */
	if ((new_rt && json_object_set_new(conf, "Runtime",
					   json_string(new_rt))) ||
	    (new_h && json_object_set_new(conf, "Handler",
					  json_string(new_h)))) {
		set_cause(cause, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Sets key to v (stolen); remembers a failure (v NULL: out of memory). */
static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, key, v))
		*bad = true;
}

/* A deep copy of conf[key], or dflt (stolen) when unset. */
static json_t *copy_or(const json_t *conf, const char *key, json_t *dflt)
{
	json_t *v = conf ? json_object_get(conf, key) : NULL;

	if (!v)
		return dflt;
	json_decref(dflt);
	return json_deep_copy(v);
}

/* LoggingConfig with AWS's defaults filled in, in AWS's key order. */
static json_t *render_logging(const json_t *conf, const char *name)
{
	const json_t *lc = conf ? json_object_get(conf, "LoggingConfig") : NULL;
	const char *fmt = json_string_value(json_object_get(lc, "LogFormat"));
	const char *app = json_string_value(
		json_object_get(lc, "ApplicationLogLevel"));
	const char *sys = json_string_value(
		json_object_get(lc, "SystemLogLevel"));
	const char *group = json_string_value(json_object_get(lc, "LogGroup"));
	json_t *o = json_object();
	bool bad = false;

	if (!o)
		return NULL;
	if (!fmt)
		fmt = "Text";
	put(o, "LogFormat", json_string(fmt), &bad);
	if (!strcmp(fmt, "JSON")) {
		put(o, "ApplicationLogLevel", json_string(app ? app : "INFO"),
		    &bad);
		put(o, "SystemLogLevel", json_string(sys ? sys : "INFO"), &bad);
	}
	if (group)
		put(o, "LogGroup", json_string(group), &bad);
	else
		put(o, "LogGroup", json_sprintf("/aws/lambda/%s", name), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *fconf_render(const json_t *conf, const struct fconf_state *st)
{
	static const char *const optional[] = {
		"KMSKeyArn", "DeadLetterConfig", "ReservedConcurrentExecutions",
		"Tags",
	};
	const char *name = st->name ? st->name : "";
	const char *arch = st->architecture ? st->architecture : "x86_64";
	const json_t *v;
	char when[40];
	bool bad = false;
	json_t *o;
	size_t i;

	ASSERT(st);
	o = json_object();
	if (!o)
		goto nomem;
	put(o, "FunctionName", json_string(name), &bad);
	put(o, "FunctionArn",
	    json_sprintf("arn:aws:lambda:%s:%s:function:%s", LAMBDAFS_REGION,
			 LAMBDAFS_ACCOUNT, name),
	    &bad);
	if (fconf_runtime(conf) && !is_image(conf))
		put(o, "Runtime", json_string(fconf_runtime(conf)), &bad);
	put(o, "Role", copy_or(conf, "Role", json_string(FCONF_DEFAULT_ROLE)),
	    &bad);
	if (fconf_handler(conf))
		put(o, "Handler", json_string(fconf_handler(conf)), &bad);
	put(o, "CodeSize", json_integer(st->code_size), &bad);
	put(o, "Description", copy_or(conf, "Description", json_string("")),
	    &bad);
	put(o, "Timeout", json_integer(fconf_timeout(conf)), &bad);
	put(o, "MemorySize", json_integer(fconf_memory(conf)), &bad);
	util_format_aws_time(st->modified_ms, when);
	put(o, "LastModified", json_string(when), &bad);
	put(o, "CodeSha256",
	    json_string(st->code_sha256 ? st->code_sha256 : ""), &bad);
	put(o, "Version", json_string("$LATEST"), &bad);
	if (conf && json_object_get(conf, "Environment"))
		put(o, "Environment", copy_or(conf, "Environment", NULL), &bad);
	put(o, "TracingConfig",
	    copy_or(conf, "TracingConfig",
		    json_pack("{s:s}", "Mode", "PassThrough")),
	    &bad);
	if (st->revision_id)
		put(o, "RevisionId", json_string(st->revision_id), &bad);
	if (conf && json_object_get(conf, "Layers"))
		put(o, "Layers", copy_or(conf, "Layers", NULL), &bad);
	put(o, "State", json_string(st->state ? st->state : "Active"), &bad);
	if (st->state_reason)
		put(o, "StateReason", json_string(st->state_reason), &bad);
	if (st->state_reason_code)
		put(o, "StateReasonCode", json_string(st->state_reason_code),
		    &bad);
	put(o, "LastUpdateStatus",
	    json_string(st->update_status ? st->update_status : "Successful"),
	    &bad);
	if (st->update_reason)
		put(o, "LastUpdateStatusReason", json_string(st->update_reason),
		    &bad);
	put(o, "PackageType", copy_or(conf, "PackageType", json_string("Zip")),
	    &bad);
	v = conf ? json_object_get(conf, "ImageConfig") : NULL;
	if (v)
		put(o, "ImageConfigResponse",
		    json_pack("{s:o}", "ImageConfig", json_deep_copy(v)), &bad);
	put(o, "Architectures",
	    copy_or(conf, "Architectures", json_pack("[s]", arch)), &bad);
	put(o, "EphemeralStorage",
	    copy_or(conf, "EphemeralStorage", json_pack("{s:i}", "Size", 512)),
	    &bad);
	put(o, "LoggingConfig", render_logging(conf, name), &bad);
	put(o, "SnapStart",
	    json_pack("{s:s, s:s}", "ApplyOn", "None", "OptimizationStatus",
		      "Off"),
	    &bad);
	/* lambdafs extensions: config.json is the only place to set them. */
	for (i = 0; i < ARRAY_SIZE(optional); i++)
		if (conf && json_object_get(conf, optional[i]))
			put(o, optional[i], copy_or(conf, optional[i], NULL),
			    &bad);
	if (bad)
		goto nomem;
	return o;
nomem:
	json_decref(o);
	errno = ENOMEM;
	return NULL;
}

int fconf_timeout(const json_t *conf)
{
	const json_t *v = conf ? json_object_get(conf, "Timeout") : NULL;

	return json_is_integer(v) ? (int)json_integer_value(v) : 3;
}

int fconf_memory(const json_t *conf)
{
	const json_t *v = conf ? json_object_get(conf, "MemorySize") : NULL;

	return json_is_integer(v) ? (int)json_integer_value(v) : 128;
}

const char *fconf_runtime(const json_t *conf)
{
	return conf_str(conf, "Runtime");
}

const char *fconf_handler(const json_t *conf)
{
	return conf_str(conf, "Handler");
}

size_t fconf_layers(const json_t *conf, const char *arns[], size_t max)
{
	const json_t *layers = conf ? json_object_get(conf, "Layers") : NULL;
	const char *arn;
	json_t *item;
	size_t i, n = 0;

	json_array_foreach (layers, i, item) {
		arn = json_string_value(json_object_get(item, "Arn"));
		if (arn && n < max)
			arns[n++] = arn;
	}
	return n;
}

bool fconf_is_runtime(const char *runtime)
{
	return in_list(runtime, runtimes, ARRAY_SIZE(runtimes));
}
