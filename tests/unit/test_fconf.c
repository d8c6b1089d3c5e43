/* SPDX-License-Identifier: MIT */
/*
 * test_fconf.c - unit tests for fconf.c: every validation rule with a
 * passing and a failing value, null reset, read-only and unknown keys,
 * failed merges leaving current alone, Runtime/Handler inference for each
 * kind of zip, rendering defaults and the config.json round trip
 * (read, change one key, write back).
 *
 * Layer references go through fake_resolve(), a fixed table standing in
 * for the store.
 */
#include <jansson.h>

#include "common.h"
#include "fconf.h"
#include "bundle.h"
#include "util.h"
#include "tap.h"

#define ARN(name, n) \
	"arn:aws:lambda:us-east-1:000000000000:layer:" name ":" #n

#define ALL_SETTABLE                                                       \
	"Runtime, Handler, Role, Description, Timeout, MemorySize, "       \
	"Environment, Layers, PackageType, ImageUri, ImageConfig, "        \
	"EphemeralStorage, Architectures, LoggingConfig, TracingConfig, "  \
	"DeadLetterConfig, KMSKeyArn, ReservedConcurrentExecutions, Tags"

static const struct fake_layer {
	const char *ref;
	const char *arn;
	int64_t size;
	int err;
} fake_layers[] = {
	{ ARN("deps", 1), ARN("deps", 1), 1000, 0 },
	{ "deps:1", ARN("deps", 1), 1000, 0 },
	{ ARN("deps", 2), ARN("deps", 2), 2000, 0 },
	{ "deps:2", ARN("deps", 2), 2000, 0 },
	{ "deps", ARN("deps", 2), 2000, 0 },
	{ ARN("tools", 1), ARN("tools", 1), 300, 0 },
	{ "tools", ARN("tools", 1), 300, 0 },
	{ "l1", ARN("l1", 1), 1, 0 },
	{ "l2", ARN("l2", 1), 2, 0 },
	{ "l3", ARN("l3", 1), 3, 0 },
	{ "l4", ARN("l4", 1), 4, 0 },
	{ "l5", ARN("l5", 1), 5, 0 },
	{ "l6", ARN("l6", 1), 6, 0 },
	{ "bad ref", NULL, 0, -EINVAL },
	{ "broken", NULL, 0, -EIO },
};

static int fake_resolve(const char *ref, char **arn, int64_t *size,
			void *arg)
{
	int *calls = arg;
	size_t i;

	(*calls)++;
	for (i = 0; i < ARRAY_SIZE(fake_layers); i++) {
		if (strcmp(ref, fake_layers[i].ref))
			continue;
		if (fake_layers[i].err)
			return fake_layers[i].err;
		*arn = xstrdup(fake_layers[i].arn);
		*size = fake_layers[i].size;
		return 0;
	}
	return -ENOENT;
}

static int resolve_calls;

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (!v)
		BUG("bad test JSON %s: %s", text, err.text);
	return v;
}

/* A test name: text cut to 100 bytes. */
static const char *label(const char *text, char out[104])
{
	snprintf(out, 104, "%.100s", text);
	return out;
}

static char *dump(const json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) :
		   xstrdup("(null)");
}

/* Merges the JSON text update into cur; returns the result. */
static int merge(const json_t *cur, const char *update, json_t **out,
		 char **cause)
{
	json_t *u = parse(update);
	int r = fconf_merge(cur, u, fake_resolve, &resolve_calls, out, cause);

	json_decref(u);
	return r;
}

/* update must succeed; returns the new conf (caller decrefs). */
static json_t *merge_ok(const json_t *cur, const char *update)
{
	char *cause = NULL, name[104];
	json_t *out = NULL;
	int r = merge(cur, update, &out, &cause);

	if (!ok(r == 0 && out && !cause, label(update, name)))
		printf("#   r=%d cause=%s\n", r, cause ? cause : "(null)");
	free(cause);
	return out;
}

/*
 * update must fail with -EINVAL and a one-line cause containing want
 * (or equal to it when exact), leaving cur as it was.
 */
static void merge_fail_at(const json_t *cur, const char *update,
			  const char *want, bool exact, int line)
{
	char *before = dump(cur), *after, *cause = NULL, name[104];
	json_t *out = (json_t *)1;
	int r = merge(cur, update, &out, &cause);
	bool good;

	after = dump(cur);
	good = r == -EINVAL && !out && cause && !strchr(cause, '\n') &&
	       (exact ? !strcmp(cause, want) : !!strstr(cause, want)) &&
	       !strcmp(before, after);
	if (!ok_at(good, __FILE__, line, label(update, name)))
		printf("#   r=%d cause=%s\n#   want %s\n", r,
		       cause ? cause : "(null)", want);
	json_decref(out == (json_t *)1 ? NULL : out);
	free(cause);
	free(before);
	free(after);
}

#define merge_fail(cur, update, want) \
	merge_fail_at(cur, update, want, false, __LINE__)
#define merge_fail_exact(cur, update, want) \
	merge_fail_at(cur, update, want, true, __LINE__)

/* conf[key] as compact JSON equals want ("(null)" if absent). */
static void is_json_at(const json_t *conf, const char *key, const char *want,
		       int line)
{
	char *got = dump(conf ? json_object_get(conf, key) : NULL);
	bool good = !strcmp(got, want);

	if (!ok_at(good, __FILE__, line, key))
		printf("#   got %s\n#   want %s\n", got, want);
	free(got);
}

#define is_json(conf, key, want) is_json_at(conf, key, want, __LINE__)

/* Merges update into an empty conf and checks the stored value of key. */
static void stores_at(const char *key, const char *update, const char *want,
		      int line)
{
	json_t *c = merge_ok(NULL, update);

	is_json_at(c, key, want, line);
	json_decref(c);
}

#define stores(key, update, want) stores_at(key, update, want, __LINE__)

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_shape(void)
{
	json_t *cur = merge_ok(NULL, "{\"Timeout\":10}");

	merge_fail_exact(cur, "[]", "configuration must be a JSON object");
	merge_fail_exact(cur, "3", "configuration must be a JSON object");
	merge_fail_exact(cur, "\"x\"", "configuration must be a JSON object");
	merge_fail_exact(cur, "null", "configuration must be a JSON object");
	merge_fail_exact(cur, "{\"Foo\":1}",
			 "unknown key 'Foo' in configuration; settable keys "
			 "are " ALL_SETTABLE);
	merge_fail(cur, "{\"timeout\":3}", "unknown key 'timeout'");
	merge_fail(cur, "{\"a\\nb\":3}", "unknown key 'a\\nb'");
	/* One bad key spoils the whole update, whatever its position. */
	merge_fail(cur, "{\"Timeout\":20,\"MemorySize\":1}", "MemorySize");
	json_decref(cur);
}

static void test_read_only(void)
{
	json_t *cur = merge_ok(NULL, "{\"Timeout\":10,\"Runtime\":"
				     "\"python3.12\"}");
	json_t *c;

	c = merge_ok(cur,
		     "{\"FunctionName\":\"x\",\"FunctionArn\":\"y\","
		     "\"CodeSize\":1,\"CodeSha256\":\"z\",\"LastModified\":"
		     "\"t\",\"Version\":\"1\",\"State\":\"Failed\","
		     "\"StateReason\":\"r\",\"StateReasonCode\":\"c\","
		     "\"LastUpdateStatus\":\"Failed\","
		     "\"LastUpdateStatusReason\":\"r\","
		     "\"LastUpdateStatusReasonCode\":\"c\",\"RevisionId\":"
		     "\"u\",\"ImageConfigResponse\":{\"ImageConfig\":"
		     "{\"Command\":[\"x\"]}},\"SnapStart\":{\"ApplyOn\":"
		     "\"PublishedVersions\"},\"RuntimeVersionConfig\":{},"
		     "\"MasterArn\":\"m\",\"SigningJobArn\":\"s\","
		     "\"SigningProfileVersionArn\":\"s\",\"VpcConfig\":{},"
		     "\"FileSystemConfigs\":[]}");
	ok(c && json_equal(c, cur), "read-only keys are ignored");
	json_decref(c);
	json_decref(cur);
}

static void test_runtime(void)
{
	static const char *const good[] = {
		"nodejs",	"nodejs4.3",  "nodejs24.x", "python2.7",
		"python3.14", "java8.al2",  "java25",	    "dotnet10",
		"dotnet6",	"ruby3.4",    "go1.x",	    "provided",
		"provided.al2", "provided.al2023",
	};
	char update[64], want[80];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(update, sizeof(update), "{\"Runtime\":\"%s\"}",
			 good[i]);
		snprintf(want, sizeof(want), "\"%s\"", good[i]);
		stores("Runtime", update, want);
		ok(fconf_is_runtime(good[i]), good[i]);
	}
	ok(!fconf_is_runtime("python3.99"), "python3.99 is no runtime");
	ok(!fconf_is_runtime(NULL), "NULL is no runtime");
	ok(!fconf_is_runtime(""), "\"\" is no runtime");
	merge_fail(NULL, "{\"Runtime\":\"python3.99\"}",
		   "Runtime must be one of nodejs, nodejs4.3, ");
	merge_fail(NULL, "{\"Runtime\":\"python3.99\"}",
		   "provided.al2023, got \"python3.99\"");
	merge_fail(NULL, "{\"Runtime\":3}", "got 3");
	merge_fail(NULL, "{\"Runtime\":\"\"}", "Runtime must be one of");
}

static void test_handler(void)
{
	char *h128 = repeat('h', 128), *h129 = repeat('h', 129);
	char *u;

	stores("Handler", "{\"Handler\":\"index.handler\"}",
	       "\"index.handler\"");
	u = xasprintf("{\"Handler\":\"%s\"}", h128);
	merge_fail(NULL, "{\"Handler\":\"\"}", "Handler must be 1 to 128");
	json_decref(merge_ok(NULL, u));
	free(u);
	u = xasprintf("{\"Handler\":\"%s\"}", h129);
	merge_fail(NULL, u, "Handler must be 1 to 128 characters without "
			    "whitespace");
	free(u);
	merge_fail(NULL, "{\"Handler\":\"a b\"}", "got \"a b\"");
	merge_fail(NULL, "{\"Handler\":\"a\\tb\"}", "got \"a\\tb\"");
	merge_fail(NULL, "{\"Handler\":5}", "Handler must be");
	free(h128);
	free(h129);
}

static void test_numbers(void)
{
	stores("Timeout", "{\"Timeout\":1}", "1");
	stores("Timeout", "{\"Timeout\":900}", "900");
	merge_fail_exact(NULL, "{\"Timeout\":901}",
			 "Timeout must be an integer from 1 to 900, got 901");
	merge_fail_exact(NULL, "{\"Timeout\":0}",
			 "Timeout must be an integer from 1 to 900, got 0");
	merge_fail(NULL, "{\"Timeout\":30.5}", "got 30.5");
	merge_fail(NULL, "{\"Timeout\":\"30\"}", "got \"30\"");
	merge_fail(NULL, "{\"Timeout\":true}", "got true");
	stores("MemorySize", "{\"MemorySize\":128}", "128");
	stores("MemorySize", "{\"MemorySize\":10240}", "10240");
	merge_fail_exact(NULL, "{\"MemorySize\":127}",
			 "MemorySize must be an integer from 128 to 10240, "
			 "got 127");
	merge_fail(NULL, "{\"MemorySize\":10241}", "got 10241");
	stores("ReservedConcurrentExecutions",
	       "{\"ReservedConcurrentExecutions\":0}", "0");
	stores("ReservedConcurrentExecutions",
	       "{\"ReservedConcurrentExecutions\":1000}", "1000");
	merge_fail(NULL, "{\"ReservedConcurrentExecutions\":-1}",
		   "ReservedConcurrentExecutions must be an integer from 0 to "
		   "1000, got -1");
	merge_fail(NULL, "{\"ReservedConcurrentExecutions\":1001}",
		   "got 1001");
}

static void test_strings(void)
{
	char *d256 = repeat('d', 256), *d257 = repeat('d', 257);
	char *r2048 = repeat('r', 2048), *r2049 = repeat('r', 2049);
	json_t *c, *c2;
	char *u;
	size_t i;

	u = xasprintf("{\"Description\":\"%s\"}", d256);
	json_decref(merge_ok(NULL, u));
	free(u);
	u = xasprintf("{\"Description\":\"%s\"}", d257);
	merge_fail(NULL, u, "Description must be a string of at most 256 "
			    "characters, got \"ddd");
	free(u);
	/* Characters, not bytes: 256 two-byte characters fit. */
	c = json_object();
	u = xmalloc(2 * 256 + 1);
	for (i = 0; i < 256; i++)
		memcpy(u + 2 * i, "\xc3\xa9", 2);
	u[2 * 256] = '\0';
	json_object_set_new(c, "Description", json_string(u));
	free(u);
	u = dump(c);
	json_decref(c);
	json_decref(merge_ok(NULL, u));
	free(u);
	merge_fail(NULL, "{\"Description\":1}", "got 1");

	stores("Role", "{\"Role\":\"arn:aws:iam::1:role/r\"}",
	       "\"arn:aws:iam::1:role/r\"");
	u = xasprintf("{\"Role\":\"%s\"}", r2048);
	json_decref(merge_ok(NULL, u));
	free(u);
	u = xasprintf("{\"Role\":\"%s\"}", r2049);
	merge_fail(NULL, u, "Role must be a string of at most 2048");
	free(u);
	merge_fail(NULL, "{\"Role\":{}}", "Role must be a string");

	stores("KMSKeyArn", "{\"KMSKeyArn\":\"arn:aws:kms:k\"}",
	       "\"arn:aws:kms:k\"");
	c = merge_ok(NULL, "{\"KMSKeyArn\":\"arn:aws:kms:k\"}");
	c2 = merge_ok(c, "{\"KMSKeyArn\":\"\"}");
	is_json(c2, "KMSKeyArn", "(null)");
	json_decref(c2);
	json_decref(c);
	merge_fail(NULL, "{\"KMSKeyArn\":1}", "KMSKeyArn must be a string");

	stores("ImageUri", "{\"ImageUri\":\"repo/img:1\"}",
	       "\"repo/img:1\"");
	merge_fail(NULL, "{\"ImageUri\":5}", "ImageUri must be a string");

	stores("PackageType", "{\"PackageType\":\"Zip\"}", "\"Zip\"");
	stores("PackageType", "{\"PackageType\":\"Image\"}", "\"Image\"");
	merge_fail_exact(NULL, "{\"PackageType\":\"zip\"}",
			 "PackageType must be \"Zip\" or \"Image\", got "
			 "\"zip\"");
	free(d256);
	free(d257);
	free(r2048);
	free(r2049);
}

static void test_environment(void)
{
	char *big, *u;
	size_t fill;
	json_t *c, *c2;

	stores("Environment",
	       "{\"Environment\":{\"Variables\":{\"FOO\":\"bar\",\"a1_\":"
	       "\"\"}}}",
	       "{\"Variables\":{\"FOO\":\"bar\",\"a1_\":\"\"}}");
	merge_fail_exact(NULL, "{\"Environment\":{\"Variables\":{\"N\":1}}}",
			 "Environment.Variables name 'N' must satisfy regular "
			 "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+");
	merge_fail_exact(NULL, "{\"Environment\":{\"Variables\":{\"NN\":1}}}",
			 "Environment.Variables value of 'NN' must be a "
			 "string, got 1");
	merge_fail(NULL, "{\"Environment\":{\"Variables\":{\"NN\":null}}}",
		   "got null");
	merge_fail(NULL, "{\"Environment\":{\"Variables\":{\"1X\":\"v\"}}}",
		   "name '1X' must satisfy");
	merge_fail(NULL, "{\"Environment\":{\"Variables\":{\"A-B\":\"v\"}}}",
		   "name 'A-B' must satisfy");
	merge_fail(NULL, "{\"Environment\":{\"Variables\":{\"_X\":\"v\"}}}",
		   "name '_X' must satisfy");
	merge_fail_exact(NULL,
			 "{\"Environment\":{\"Variables\":{\"AWS_REGION\":"
			 "\"eu\"}}}",
			 "Lambda was unable to configure your environment "
			 "variables because the environment variables you "
			 "have provided contains reserved keys that are "
			 "currently not supported for modification. Reserved "
			 "keys used in this request: AWS_REGION");
	merge_fail(NULL,
		   "{\"Environment\":{\"Variables\":{"
		   "\"LAMBDA_TASK_ROOT\":\"a\",\"OK\":\"b\","
		   "\"AWS_SESSION_TOKEN\":\"c\"}}}",
		   "Reserved keys used in this request: "
		   "LAMBDA_TASK_ROOT,AWS_SESSION_TOKEN");
	stores("Environment",
	       "{\"Environment\":{\"Variables\":{\"AWS_REGIONX\":\"x\"}}}",
	       "{\"Variables\":{\"AWS_REGIONX\":\"x\"}}");
	merge_fail(NULL, "{\"Environment\":{\"Variables\":[]}}",
		   "Environment.Variables must be an object of strings");
	merge_fail(NULL, "{\"Environment\":[]}", "Environment must be an "
						 "object");
	merge_fail(NULL, "{\"Environment\":{\"Variables\":{},\"Error\":{}}}",
		   "unknown key 'Error' in Environment; it may hold "
		   "\"Variables\"");
	/* The measured string is {"BIG":"..."}: 10 bytes around the value. */
	fill = 4096 - strlen("{\"BIG\":\"\"}");
	big = repeat('x', fill);
	u = xasprintf("{\"Environment\":{\"Variables\":{\"BIG\":\"%s\"}}}",
		      big);
	json_decref(merge_ok(NULL, u));
	free(u);
	free(big);
	big = repeat('x', fill + 1);
	u = xasprintf("{\"Environment\":{\"Variables\":{\"BIG\":\"%s\"}}}",
		      big);
	merge_fail(NULL, u, "exceeded the 4KB limit. String measured: "
			    "{\"BIG\":\"xxx");
	merge_fail(NULL, u, "(4097 bytes, at most 4096 allowed)");
	free(u);
	free(big);
	/* Empty maps mean "no variables", like unset. */
	c = merge_ok(NULL, "{\"Environment\":{\"Variables\":{\"A1\":\"b\"}}}");
	c2 = merge_ok(c, "{\"Environment\":{\"Variables\":{}}}");
	is_json(c2, "Environment", "(null)");
	json_decref(c2);
	c2 = merge_ok(c, "{\"Environment\":{}}");
	is_json(c2, "Environment", "(null)");
	json_decref(c2);
	/* The update replaces the map whole. */
	c2 = merge_ok(c, "{\"Environment\":{\"Variables\":{\"C1\":\"d\"}}}");
	is_json(c2, "Environment", "{\"Variables\":{\"C1\":\"d\"}}");
	json_decref(c2);
	json_decref(c);
}

static void test_layers(void)
{
	json_t *c, *c2, *u;
	char *cause = NULL;
	const char *arns[8];
	int calls = 0, r;

	stores("Layers", "{\"Layers\":[\"deps:1\"]}",
	       "[{\"Arn\":\"" ARN("deps", 1) "\",\"CodeSize\":1000}]");
	stores("Layers", "{\"Layers\":[\"deps\"]}",
	       "[{\"Arn\":\"" ARN("deps", 2) "\",\"CodeSize\":2000}]");
	stores("Layers", "{\"Layers\":[\"" ARN("deps", 1) "\"]}",
	       "[{\"Arn\":\"" ARN("deps", 1) "\",\"CodeSize\":1000}]");
	/* The rendered form; CodeSize comes from the store, not the input. */
	stores("Layers",
	       "{\"Layers\":[{\"Arn\":\"" ARN("deps", 1) "\",\"CodeSize\":5},"
	       "\"tools\"]}",
	       "[{\"Arn\":\"" ARN("deps", 1) "\",\"CodeSize\":1000},"
	       "{\"Arn\":\"" ARN("tools", 1) "\",\"CodeSize\":300}]");
	c = merge_ok(NULL, "{\"Layers\":[\"l1\",\"l2\",\"l3\",\"l4\",\"l5\"]}");
	is_int(fconf_layers(c, arns, 8), 5, "five layers");
	is_str(arns[0], ARN("l1", 1), "first layer first");
	is_str(arns[4], ARN("l5", 1), "last layer last");
	is_int(fconf_layers(c, arns, 2), 2, "fconf_layers stops at max");
	is_int(fconf_layers(NULL, arns, 8), 0, "no conf, no layers");
	/* [] removes them all. */
	c2 = merge_ok(c, "{\"Layers\":[]}");
	is_json(c2, "Layers", "(null)");
	json_decref(c2);
	json_decref(c);
	merge_fail(NULL,
		   "{\"Layers\":[\"l1\",\"l2\",\"l3\",\"l4\",\"l5\",\"l6\"]}",
		   "Layers must be an array of at most 5 layer version ARNs");
	merge_fail_exact(NULL, "{\"Layers\":[\"nope\"]}",
			 "layer 'nope' does not exist");
	merge_fail_exact(NULL, "{\"Layers\":[\"deps:3\"]}",
			 "layer version 'deps:3' does not exist");
	merge_fail_exact(NULL, "{\"Layers\":[\"" ARN("gone", 7) "\"]}",
			 "layer version '" ARN("gone", 7) "' does not exist");
	merge_fail(NULL, "{\"Layers\":[\"bad ref\"]}",
		   "Layers[0] 'bad ref' is not a layer version ARN");
	merge_fail(NULL, "{\"Layers\":[\"deps:1\",\"deps:2\"]}",
		   "Layers must not name a layer twice: '" ARN("deps", 1) "' "
		   "and '" ARN("deps", 2) "'");
	merge_fail(NULL, "{\"Layers\":[\"deps\",\"deps:2\"]}",
		   "must not name a layer twice");
	merge_fail(NULL, "{\"Layers\":[5]}", "Layers[0] must be a layer "
					     "version ARN");
	merge_fail(NULL, "{\"Layers\":[\"deps:1\",{\"CodeSize\":1}]}",
		   "Layers[1] must be");
	merge_fail(NULL, "{\"Layers\":[{\"Arn\":\"deps:1\",\"X\":1}]}",
		   "Layers[0] must be");
	merge_fail(NULL, "{\"Layers\":[\"\"]}", "Layers[0] must be");
	merge_fail(NULL, "{\"Layers\":\"deps:1\"}", "Layers must be an array");
	/* Store failures pass through with their errno. */
	u = parse("{\"Layers\":[\"broken\"]}");
	c = (json_t *)1;
	r = fconf_merge(NULL, u, fake_resolve, &calls, &c, &cause);
	is_int(r, -EIO, "resolver errors other than ENOENT/EINVAL pass "
			"through");
	ok(!c && cause && strstr(cause, "cannot resolve layer 'broken'"),
	   "... with a cause");
	is_int(calls, 1, "the resolver was called once");
	free(cause);
	cause = NULL;
	/* No resolver: Layers cannot be set, everything else can. */
	c = (json_t *)1;
	r = fconf_merge(NULL, u, NULL, NULL, &c, &cause);
	ok(r == -EINVAL && !c && cause, "no resolver, no layers");
	free(cause);
	cause = NULL;
	json_decref(u);
	u = parse("{\"Timeout\":5}");
	r = fconf_merge(NULL, u, NULL, NULL, &c, &cause);
	ok(r == 0 && c, "no resolver is fine without Layers");
	json_decref(c);
	json_decref(u);

	/* Layers apply to Zip functions only, checked on the merged result. */
	merge_fail_exact(NULL,
			 "{\"PackageType\":\"Image\",\"Layers\":[\"deps\"]}",
			 "Layers are not supported for functions with "
			 "PackageType Image");
	c = merge_ok(NULL, "{\"Layers\":[\"deps\"]}");
	merge_fail(c, "{\"PackageType\":\"Image\"}", "Layers are not "
						     "supported");
	c2 = merge_ok(c, "{\"PackageType\":\"Image\",\"Layers\":null}");
	is_json(c2, "Layers", "(null)");
	json_decref(c2);
	json_decref(c);
	c = merge_ok(NULL, "{\"PackageType\":\"Image\"}");
	merge_fail(c, "{\"Layers\":[\"deps\"]}", "Layers are not supported");
	json_decref(c);
}

static void test_objects(void)
{
	char *s = repeat('w', 1000), *u;
	char *big;
	size_t i;
	json_t *c, *c2;

	stores("EphemeralStorage", "{\"EphemeralStorage\":{\"Size\":512}}",
	       "{\"Size\":512}");
	stores("EphemeralStorage", "{\"EphemeralStorage\":{\"Size\":10240}}",
	       "{\"Size\":10240}");
	merge_fail_exact(NULL, "{\"EphemeralStorage\":{\"Size\":511}}",
			 "EphemeralStorage must be {\"Size\": N} with N an "
			 "integer from 512 to 10240, got {\"Size\":511}");
	merge_fail(NULL, "{\"EphemeralStorage\":{\"Size\":10241}}", "10241");
	merge_fail(NULL, "{\"EphemeralStorage\":{\"Size\":\"1024\"}}",
		   "EphemeralStorage must be");
	merge_fail(NULL, "{\"EphemeralStorage\":{\"Size\":1024,\"X\":1}}",
		   "EphemeralStorage must be");
	merge_fail(NULL, "{\"EphemeralStorage\":1024}",
		   "EphemeralStorage must be");

	stores("Architectures", "{\"Architectures\":[\"arm64\"]}",
	       "[\"arm64\"]");
	stores("Architectures", "{\"Architectures\":[\"x86_64\"]}",
	       "[\"x86_64\"]");
	merge_fail_exact(NULL, "{\"Architectures\":[\"mips\"]}",
			 "Architectures must be an array of exactly one of "
			 "\"x86_64\" or \"arm64\", got [\"mips\"]");
	merge_fail(NULL, "{\"Architectures\":[]}", "exactly one");
	merge_fail(NULL, "{\"Architectures\":[\"x86_64\",\"arm64\"]}",
		   "exactly one");
	merge_fail(NULL, "{\"Architectures\":\"arm64\"}", "exactly one");

	stores("ImageConfig",
	       "{\"ImageConfig\":{\"EntryPoint\":[\"/bin/sh\",\"-c\"],"
	       "\"Command\":[\"app.handler\"],\"WorkingDirectory\":"
	       "\"/var/task\"}}",
	       "{\"EntryPoint\":[\"/bin/sh\",\"-c\"],\"Command\":"
	       "[\"app.handler\"],\"WorkingDirectory\":\"/var/task\"}");
	stores("ImageConfig",
	       "{\"ImageConfig\":{\"Command\":[\"a\"],\"EntryPoint\":null}}",
	       "{\"Command\":[\"a\"]}");
	stores("ImageConfig", "{\"ImageConfig\":{}}", "(null)");
	u = xasprintf("{\"ImageConfig\":{\"WorkingDirectory\":\"%s\"}}", s);
	json_decref(merge_ok(NULL, u));
	free(u);
	u = xasprintf("{\"ImageConfig\":{\"WorkingDirectory\":\"%sw\"}}", s);
	merge_fail(NULL, u, "ImageConfig.WorkingDirectory must be a string "
			    "of at most 1000 characters");
	free(u);
	big = xstrdup("{\"ImageConfig\":{\"EntryPoint\":[\"a\"");
	for (i = 1; i < 1500; i++) {
		char *n = xasprintf("%s,\"a\"", big);

		free(big);
		big = n;
	}
	u = xasprintf("%s]}}", big);
	json_decref(merge_ok(NULL, u));
	free(u);
	u = xasprintf("%s,\"a\"]}}", big);
	merge_fail(NULL, u, "ImageConfig.EntryPoint must be an array of at "
			    "most 1500 strings");
	free(u);
	free(big);
	merge_fail(NULL, "{\"ImageConfig\":{\"Command\":[1]}}",
		   "ImageConfig.Command must be an array of at most 1500 "
		   "strings, got [1]");
	merge_fail(NULL, "{\"ImageConfig\":{\"Cmd\":[]}}",
		   "unknown key 'Cmd' in ImageConfig; it may hold "
		   "\"EntryPoint\", \"Command\" or \"WorkingDirectory\"");
	merge_fail(NULL, "{\"ImageConfig\":[]}", "ImageConfig must be an "
						 "object");

	stores("LoggingConfig",
	       "{\"LoggingConfig\":{\"LogFormat\":\"JSON\","
	       "\"ApplicationLogLevel\":\"TRACE\",\"SystemLogLevel\":"
	       "\"WARN\",\"LogGroup\":\"/custom/group-1_#.x\"}}",
	       "{\"LogFormat\":\"JSON\",\"ApplicationLogLevel\":\"TRACE\","
	       "\"SystemLogLevel\":\"WARN\",\"LogGroup\":"
	       "\"/custom/group-1_#.x\"}");
	stores("LoggingConfig", "{\"LoggingConfig\":{\"LogFormat\":\"Text\"}}",
	       "{\"LogFormat\":\"Text\"}");
	stores("LoggingConfig", "{\"LoggingConfig\":{}}", "(null)");
	merge_fail_exact(NULL, "{\"LoggingConfig\":{\"LogFormat\":\"XML\"}}",
			 "LoggingConfig.LogFormat must be \"Text\" or "
			 "\"JSON\", got \"XML\"");
	merge_fail(NULL,
		   "{\"LoggingConfig\":{\"LogFormat\":\"JSON\","
		   "\"ApplicationLogLevel\":\"VERBOSE\"}}",
		   "LoggingConfig.ApplicationLogLevel must be \"TRACE\", "
		   "\"DEBUG\", \"INFO\", \"WARN\", \"ERROR\" or \"FATAL\"");
	merge_fail(NULL,
		   "{\"LoggingConfig\":{\"LogFormat\":\"JSON\","
		   "\"SystemLogLevel\":\"TRACE\"}}",
		   "LoggingConfig.SystemLogLevel must be \"DEBUG\", \"INFO\" "
		   "or \"WARN\", got \"TRACE\"");
	merge_fail(NULL,
		   "{\"LoggingConfig\":{\"ApplicationLogLevel\":\"INFO\"}}",
		   "need LogFormat \"JSON\"");
	merge_fail(NULL,
		   "{\"LoggingConfig\":{\"LogFormat\":\"Text\","
		   "\"SystemLogLevel\":\"INFO\"}}",
		   "need LogFormat \"JSON\"");
	merge_fail(NULL, "{\"LoggingConfig\":{\"LogGroup\":\"\"}}",
		   "LoggingConfig.LogGroup must be 1 to 512 characters");
	merge_fail(NULL, "{\"LoggingConfig\":{\"LogGroup\":\"a b\"}}",
		   "got \"a b\"");
	merge_fail(NULL, "{\"LoggingConfig\":{\"Format\":\"JSON\"}}",
		   "unknown key 'Format' in LoggingConfig");

	stores("TracingConfig", "{\"TracingConfig\":{\"Mode\":\"Active\"}}",
	       "{\"Mode\":\"Active\"}");
	stores("TracingConfig", "{\"TracingConfig\":{}}", "(null)");
	merge_fail_exact(NULL, "{\"TracingConfig\":{\"Mode\":\"Off\"}}",
			 "TracingConfig must be {\"Mode\": M} with M "
			 "\"Active\" or \"PassThrough\", got "
			 "{\"Mode\":\"Off\"}");
	merge_fail(NULL, "{\"TracingConfig\":{\"Mode\":\"Active\",\"X\":1}}",
		   "TracingConfig must be");
	merge_fail(NULL, "{\"TracingConfig\":\"Active\"}",
		   "TracingConfig must be");

	stores("DeadLetterConfig",
	       "{\"DeadLetterConfig\":{\"TargetArn\":\"arn:aws:sqs:q\"}}",
	       "{\"TargetArn\":\"arn:aws:sqs:q\"}");
	c = merge_ok(NULL, "{\"DeadLetterConfig\":{\"TargetArn\":\"arn:q\"}}");
	c2 = merge_ok(c, "{\"DeadLetterConfig\":{\"TargetArn\":\"\"}}");
	is_json(c2, "DeadLetterConfig", "(null)");
	json_decref(c2);
	c2 = merge_ok(c, "{\"DeadLetterConfig\":{}}");
	is_json(c2, "DeadLetterConfig", "(null)");
	json_decref(c2);
	json_decref(c);
	merge_fail(NULL, "{\"DeadLetterConfig\":{\"TargetArn\":5}}",
		   "DeadLetterConfig must be {\"TargetArn\": \"arn:...\"}");
	merge_fail(NULL, "{\"DeadLetterConfig\":\"arn:q\"}",
		   "DeadLetterConfig must be");

	stores("Tags",
	       "{\"Tags\":{\"team\":\"x\",\"lambdafs:executor\":\"docker\"}}",
	       "{\"team\":\"x\",\"lambdafs:executor\":\"docker\"}");
	stores("Tags", "{\"Tags\":{\"lambdafs:executor\":\"subprocess\"}}",
	       "{\"lambdafs:executor\":\"subprocess\"}");
	stores("Tags", "{\"Tags\":{}}", "(null)");
	merge_fail_exact(NULL,
			 "{\"Tags\":{\"lambdafs:executor\":\"podman\"}}",
			 "Tags.lambdafs:executor must be \"subprocess\" or "
			 "\"docker\", got \"podman\"");
	merge_fail(NULL, "{\"Tags\":{\"team\":5}}",
		   "Tags value of 'team' must be a string of at most 256 "
		   "characters, got 5");
	u = xasprintf("{\"Tags\":{\"team\":\"%.257s\"}}", s);
	merge_fail(NULL, u, "Tags value of 'team' must be");
	free(u);
	u = xasprintf("{\"Tags\":{\"%.129s\":\"x\"}}", s);
	merge_fail(NULL, u, "must be 1 to 128 characters");
	free(u);
	merge_fail(NULL, "{\"Tags\":{\"\":\"x\"}}", "Tags key '' must be");
	merge_fail(NULL, "{\"Tags\":[]}", "Tags must be an object of strings");
	free(s);
}

/* Every settable key at a non-default value (a Zip function). */
static const char full_update[] =
	"{\"Runtime\":\"python3.12\",\"Handler\":\"app.main\","
	"\"Role\":\"arn:aws:iam::000000000000:role/custom\","
	"\"Description\":\"all keys\",\"Timeout\":60,\"MemorySize\":512,"
	"\"Environment\":{\"Variables\":{\"STAGE\":\"test\",\"Q_1\":"
	"\"\\\"quoted\\\" \\\\ \\n \\u00e9\"}},"
	"\"Layers\":[\"deps:1\",\"tools\"],\"PackageType\":\"Zip\","
	"\"ImageUri\":\"repo/img:latest\","
	"\"ImageConfig\":{\"EntryPoint\":[\"/e\"],\"Command\":[\"c\"],"
	"\"WorkingDirectory\":\"/w\"},"
	"\"EphemeralStorage\":{\"Size\":1024},\"Architectures\":[\"arm64\"],"
	"\"LoggingConfig\":{\"LogFormat\":\"JSON\",\"ApplicationLogLevel\":"
	"\"DEBUG\",\"SystemLogLevel\":\"WARN\",\"LogGroup\":\"/g\"},"
	"\"TracingConfig\":{\"Mode\":\"Active\"},"
	"\"DeadLetterConfig\":{\"TargetArn\":\"arn:aws:sqs:us-east-1:0:q\"},"
	"\"KMSKeyArn\":\"arn:aws:kms:us-east-1:0:key/k\","
	"\"ReservedConcurrentExecutions\":7,"
	"\"Tags\":{\"lambdafs:executor\":\"subprocess\",\"team\":\"a\"}}";

static void test_null_reset(void)
{
	json_t *full, *c, *u, *val;
	const char *key;

	u = parse(full_update);
	full = merge_ok(NULL, full_update);
	is_int(json_object_size(full), 19, "every settable key is stored");
	json_object_foreach (u, key, val) {
		char *upd = xasprintf("{\"%s\":null}", key);

		c = merge_ok(full, upd);
		ok(c && !json_object_get(c, key), upd);
		ok(c && json_object_size(c) == 18, "... and only that key");
		free(upd);
		json_decref(c);
	}
	json_decref(u);
	c = merge_ok(full, "{\"Timeout\":null,\"MemorySize\":null}");
	is_int(fconf_timeout(c), 3, "Timeout null: back to 3");
	is_int(fconf_memory(c), 128, "MemorySize null: back to 128");
	json_decref(c);
	c = merge_ok(NULL, "{\"Timeout\":null}");
	is_int(json_object_size(c), 0, "null on an unset key is fine");
	json_decref(c);
	json_decref(full);
}

static void test_no_sharing(void)
{
	json_t *cur = merge_ok(NULL, "{\"Timeout\":10,\"Tags\":{\"a\":\"b\"},"
				     "\"Environment\":{\"Variables\":{\"AB\":"
				     "\"c\"}}}");
	char *before = dump(cur), *after;
	json_t *u = parse("{\"MemorySize\":256,\"Environment\":{\"Variables\":"
			  "{\"XY\":\"z\"}}}");
	char *cause = NULL;
	json_t *out = NULL;
	int r;

	r = fconf_merge(cur, u, fake_resolve, &resolve_calls, &out, &cause);
	ok(r == 0 && out, "merge succeeds");
	after = dump(cur);
	is_str(after, before, "current is not modified by a merge");
	free(after);
	/* Changing the result or the update does not reach current. */
	json_object_set_new(json_object_get(out, "Tags"), "a",
			    json_string("changed"));
	json_object_set_new(json_object_get(json_object_get(u, "Environment"),
					    "Variables"),
			    "XY", json_string("changed"));
	after = dump(cur);
	is_str(after, before, "result shares nothing with current");
	free(after);
	is_json(out, "Environment", "{\"Variables\":{\"XY\":\"z\"}}");
	is_json(out, "Timeout", "10");
	is_json(out, "MemorySize", "256");
	json_decref(out);
	json_decref(u);
	free(before);
	json_decref(cur);
}

static struct bundle_info zip_info(void)
{
	struct bundle_info i;

	memset(&i, 0, sizeof(i));
	i.entries = 1;
	return i;
}

static void set_name(char dst[256], const char *name)
{
	snprintf(dst, 256, "%s", name);
}

/* Runs fconf_infer on a conf made from conf_json; checks the outcome. */
static void infer_at(const char *conf_json, const struct bundle_info *info,
		     const char *want_runtime, const char *want_handler,
		     const char *want_cause, int line)
{
	json_t *conf = parse(conf_json);
	char *before = dump(conf), *after, *cause = NULL;
	int r = fconf_infer(conf, info, "python3.11", "nodejs20.x", &cause);
	const char *rt = fconf_runtime(conf), *h = fconf_handler(conf);
	bool good;

	if (want_cause) {
		after = dump(conf);
		good = r == -EINVAL && cause && !strchr(cause, '\n') &&
		       !strcmp(cause, want_cause) && !strcmp(before, after);
		free(after);
	} else {
		good = r == 0 && !cause &&
		       (rt && want_runtime ? !strcmp(rt, want_runtime) :
					     rt == want_runtime) &&
		       (h && want_handler ? !strcmp(h, want_handler) :
					    h == want_handler);
	}
	if (!ok_at(good, __FILE__, line, want_cause ? want_cause : conf_json))
		printf("#   r=%d runtime=%s handler=%s cause=%s\n", r,
		       rt ? rt : "(null)", h ? h : "(null)",
		       cause ? cause : "(null)");
	free(cause);
	free(before);
	json_decref(conf);
}

#define infer(conf, info, rt, h, cause) \
	infer_at(conf, info, rt, h, cause, __LINE__)

static void test_infer(void)
{
	struct bundle_info i;
	json_t *conf;
	char *cause = NULL;
	int r;

	i = zip_info();
	i.has_bootstrap = true;
	infer("{}", &i, "provided.al2023", NULL, NULL);
	i.bootstrap_exec = true;
	infer("{}", &i, "provided.al2023", NULL, NULL);
	infer("{\"Handler\":\"my.handler\"}", &i, "provided.al2023",
	      "my.handler", NULL);

	i = zip_info();
	i.has_lambda_function_py = true;
	i.root_py = 3;
	set_name(i.first_py, "a.py");
	infer("{}", &i, "python3.11", "lambda_function.lambda_handler", NULL);
	infer("{\"Handler\":\"a.main\"}", &i, "python3.11", "a.main", NULL);
	infer("{\"Timeout\":9}", &i, "python3.11",
	      "lambda_function.lambda_handler", NULL);

	i = zip_info();
	i.has_index_js = true;
	i.root_js = 1;
	set_name(i.first_js, "index.js");
	infer("{}", &i, "nodejs20.x", "index.handler", NULL);
	i.has_index_js = false;
	i.has_index_mjs = true;
	set_name(i.first_js, "index.mjs");
	infer("{}", &i, "nodejs20.x", "index.handler", NULL);
	i.has_index_mjs = false;
	i.has_index_cjs = true;
	set_name(i.first_js, "index.cjs");
	infer("{}", &i, "nodejs20.x", "index.handler", NULL);

	/* A bootstrap wins: a custom runtime with its handler's code. */
	i = zip_info();
	i.has_bootstrap = true;
	i.has_lambda_function_py = true;
	i.root_py = 1;
	infer("{}", &i, "provided.al2023", "lambda_function.lambda_handler",
	      NULL);
	i.has_index_mjs = true;
	infer("{}", &i, "provided.al2023", "index.handler", NULL);
	infer("{\"Handler\":\"app.run\"}", &i, "provided.al2023", "app.run",
	      NULL);

	/* Ambiguous: two entry points. */
	i = zip_info();
	i.has_lambda_function_py = true;
	i.has_index_js = true;
	infer("{\"Handler\":\"x.y\"}", &i, NULL, NULL,
	      "cannot infer the runtime: the zip has both lambda_function.py "
	      "and index.js at its root; set Runtime and Handler in "
	      "config.json");

	/* Nothing recognisable. */
	i = zip_info();
	infer("{}", &i, NULL, NULL,
	      "cannot infer the runtime: the zip has no bootstrap, "
	      "lambda_function.py or index.js/index.mjs; set Runtime and "
	      "Handler in config.json");
	i.root_py = 1;
	i.root_js = 1;
	infer("{\"Handler\":\"a.b\"}", &i, NULL, NULL,
	      "cannot infer the runtime: the zip has no bootstrap, "
	      "lambda_function.py or index.js/index.mjs; set Runtime and "
	      "Handler in config.json");

	/* Python files but no lambda_function.py: the handler is unknown. */
	i = zip_info();
	i.root_py = 2;
	set_name(i.first_py, "a.py");
	infer("{}", &i, NULL, NULL,
	      "cannot infer the handler: the zip has 2 Python files at its "
	      "root (a.py, ...) and no lambda_function.py; set Handler in "
	      "config.json (e.g. \"a.handler\")");
	infer("{\"Handler\":\"a.handler\"}", &i, "python3.11", "a.handler",
	      NULL);
	i = zip_info();
	i.root_js = 1;
	set_name(i.first_js, "app.mjs");
	infer("{}", &i, NULL, NULL,
	      "cannot infer the handler: the zip has 1 JavaScript file at its "
	      "root (app.mjs) and no index.js, index.mjs or index.cjs; set "
	      "Handler in config.json (e.g. \"app.handler\")");
	infer("{\"Handler\":\"app.handler\"}", &i, "nodejs20.x",
	      "app.handler", NULL);
	/* A file name from the zip stays on one line. */
	i = zip_info();
	i.root_py = 1;
	set_name(i.first_py, "a\n.py");
	infer("{}", &i, NULL, NULL,
	      "cannot infer the handler: the zip has 1 Python file at its "
	      "root (a\\n.py) and no lambda_function.py; set Handler in "
	      "config.json (e.g. \"a\\n.handler\")");

	/* Runtime set, Handler not: the handler of that runtime's family. */
	i = zip_info();
	i.has_lambda_function_py = true;
	i.has_index_js = true;
	i.has_bootstrap = true;
	infer("{\"Runtime\":\"python3.13\"}", &i, "python3.13",
	      "lambda_function.lambda_handler", NULL);
	infer("{\"Runtime\":\"nodejs22.x\"}", &i, "nodejs22.x",
	      "index.handler", NULL);
	infer("{\"Runtime\":\"provided.al2\"}", &i, "provided.al2", NULL,
	      NULL);
	infer("{\"Runtime\":\"java21\"}", &i, NULL, NULL,
	      "cannot infer the handler for runtime java21; set Handler in "
	      "config.json");
	i = zip_info();
	i.root_js = 2;
	set_name(i.first_js, "index.ts.js");
	infer("{\"Runtime\":\"python3.12\"}", &i, NULL, NULL,
	      "cannot infer the handler for python3.12: the zip has no "
	      "Python files at its root; set Handler in config.json "
	      "(e.g. \"lambda_function.lambda_handler\")");
	infer("{\"Runtime\":\"nodejs20.x\"}", &i, NULL, NULL,
	      "cannot infer the handler: the zip has 2 JavaScript files at "
	      "its root (index.ts.js, ...) and no index.js, index.mjs or "
	      "index.cjs; set Handler in config.json (e.g. "
	      "\"index.ts.handler\")");

	/* Nothing to do. */
	i = zip_info();
	infer("{\"Runtime\":\"python3.12\",\"Handler\":\"x.y\"}", &i,
	      "python3.12", "x.y", NULL);
	infer("{\"PackageType\":\"Image\"}", &i, NULL, NULL, NULL);

	/* No python on the host. */
	i = zip_info();
	i.has_lambda_function_py = true;
	conf = json_object();
	r = fconf_infer(conf, &i, NULL, "nodejs20.x", &cause);
	ok(r == -EINVAL && cause && strstr(cause, "no python runtime") &&
		   !json_object_size(conf),
	   "no python runtime on the host");
	free(cause);
	json_decref(conf);
}

static const struct fconf_state test_state = {
	.name = "hello",
	.code_sha256 = "Qf0hMc1I2di6YFMi9aXm3JtGTmcDbjniEuiYonYptAk=",
	.code_size = 1234,
	.modified_ms = 1795420800000LL,
	.state = "Active",
	.update_status = "Successful",
	.architecture = "x86_64",
};

/* Keys of an object, comma-separated, in order. */
static char *keys_of(const json_t *o)
{
	char *s = xstrdup(""), *n;
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)o, key, v) {
		n = xasprintf("%s%s%s", s, *s ? "," : "", key);
		free(s);
		s = n;
	}
	return s;
}

static void test_render_defaults(void)
{
	struct fconf_state st = test_state;
	json_t *conf = json_object(), *o;
	char *keys;

	o = fconf_render(conf, &st);
	keys = keys_of(o);
	is_str(keys,
	       "FunctionName,FunctionArn,Role,CodeSize,Description,Timeout,"
	       "MemorySize,LastModified,CodeSha256,Version,TracingConfig,State,"
	       "LastUpdateStatus,PackageType,Architectures,EphemeralStorage,"
	       "LoggingConfig,SnapStart",
	       "default keys in AWS order");
	free(keys);
	is_json(o, "FunctionName", "\"hello\"");
	is_json(o, "FunctionArn",
		"\"arn:aws:lambda:us-east-1:000000000000:function:hello\"");
	is_json(o, "Role", "\"arn:aws:iam::000000000000:role/lambda-role\"");
	is_json(o, "CodeSize", "1234");
	is_json(o, "Description", "\"\"");
	is_json(o, "Timeout", "3");
	is_json(o, "MemorySize", "128");
	is_json(o, "LastModified", "\"2026-11-23T08:00:00.000+0000\"");
	is_json(o, "CodeSha256",
		"\"Qf0hMc1I2di6YFMi9aXm3JtGTmcDbjniEuiYonYptAk=\"");
	is_json(o, "Version", "\"$LATEST\"");
	is_json(o, "TracingConfig", "{\"Mode\":\"PassThrough\"}");
	is_json(o, "State", "\"Active\"");
	is_json(o, "LastUpdateStatus", "\"Successful\"");
	is_json(o, "PackageType", "\"Zip\"");
	is_json(o, "Architectures", "[\"x86_64\"]");
	is_json(o, "EphemeralStorage", "{\"Size\":512}");
	is_json(o, "LoggingConfig",
		"{\"LogFormat\":\"Text\",\"LogGroup\":\"/aws/lambda/hello\"}");
	is_json(o, "SnapStart",
		"{\"ApplyOn\":\"None\",\"OptimizationStatus\":\"Off\"}");
	json_decref(o);

	/* The host's architecture, optional state, a NULL conf. */
	st.architecture = "arm64";
	st.state = "Failed";
	st.state_reason = "bad zip";
	st.state_reason_code = "InvalidZipFileException";
	st.update_status = "Failed";
	st.update_reason = "Timeout must be ...";
	st.revision_id = "8c4c7b5e-0000-4000-8000-000000000000";
	o = fconf_render(NULL, &st);
	keys = keys_of(o);
	is_str(keys,
	       "FunctionName,FunctionArn,Role,CodeSize,Description,Timeout,"
	       "MemorySize,LastModified,CodeSha256,Version,TracingConfig,"
	       "RevisionId,State,StateReason,StateReasonCode,LastUpdateStatus,"
	       "LastUpdateStatusReason,PackageType,Architectures,"
	       "EphemeralStorage,LoggingConfig,SnapStart",
	       "state keys in AWS order");
	free(keys);
	is_json(o, "Architectures", "[\"arm64\"]");
	is_json(o, "StateReason", "\"bad zip\"");
	is_json(o, "StateReasonCode", "\"InvalidZipFileException\"");
	is_json(o, "LastUpdateStatusReason", "\"Timeout must be ...\"");
	is_json(o, "RevisionId", "\"8c4c7b5e-0000-4000-8000-000000000000\"");
	json_decref(o);

	/* JSON logging shows AWS's default levels. */
	json_decref(conf);
	conf = merge_ok(NULL, "{\"LoggingConfig\":{\"LogFormat\":\"JSON\"}}");
	o = fconf_render(conf, &test_state);
	is_json(o, "LoggingConfig",
		"{\"LogFormat\":\"JSON\",\"ApplicationLogLevel\":\"INFO\","
		"\"SystemLogLevel\":\"INFO\",\"LogGroup\":"
		"\"/aws/lambda/hello\"}");
	json_decref(o);
	json_decref(conf);

	/* Image functions: no Runtime, no ImageUri, ImageConfigResponse. */
	conf = merge_ok(NULL, "{\"PackageType\":\"Image\",\"Runtime\":"
			      "\"python3.12\",\"ImageUri\":\"img:1\","
			      "\"ImageConfig\":{\"Command\":[\"app.h\"]}}");
	o = fconf_render(conf, &test_state);
	is_json(o, "Runtime", "(null)");
	is_json(o, "ImageUri", "(null)");
	is_json(o, "PackageType", "\"Image\"");
	is_json(o, "ImageConfigResponse",
		"{\"ImageConfig\":{\"Command\":[\"app.h\"]}}");
	json_decref(o);
	json_decref(conf);

	/* Getters. */
	is_int(fconf_timeout(NULL), 3, "fconf_timeout default");
	is_int(fconf_memory(NULL), 128, "fconf_memory default");
	ok(!fconf_runtime(NULL) && !fconf_handler(NULL), "no runtime/handler");
}

/* jq '.Timeout=30' config.json > c && cp c config.json, in C. */
static json_t *write_back(const json_t *conf, const char *key, json_t *val)
{
	json_t *shown = fconf_render(conf, &test_state), *file, *out;
	char *text = json_dumps(shown, JSON_INDENT(2)), *t2;

	file = parse(text);
	if (val)
		json_object_set_new(file, key, val);
	t2 = dump(file);
	out = merge_ok(conf, t2);
	free(t2);
	free(text);
	json_decref(file);
	json_decref(shown);
	return out;
}

static void test_round_trip(void)
{
	json_t *full, *back, *want, *o1, *o2, *empty;
	char *keys;

	full = merge_ok(NULL, full_update);
	o1 = fconf_render(full, &test_state);
	keys = keys_of(o1);
	is_str(keys,
	       "FunctionName,FunctionArn,Runtime,Role,Handler,CodeSize,"
	       "Description,Timeout,MemorySize,LastModified,CodeSha256,Version,"
	       "Environment,TracingConfig,Layers,State,LastUpdateStatus,"
	       "PackageType,ImageConfigResponse,Architectures,EphemeralStorage,"
	       "LoggingConfig,SnapStart,KMSKeyArn,DeadLetterConfig,"
	       "ReservedConcurrentExecutions,Tags",
	       "every key rendered, in order");
	free(keys);
	is_json(o1, "Layers",
		"[{\"Arn\":\"" ARN("deps", 1) "\",\"CodeSize\":1000},"
		"{\"Arn\":\"" ARN("tools", 1) "\",\"CodeSize\":300}]");
	is_json(o1, "Environment",
		"{\"Variables\":{\"STAGE\":\"test\",\"Q_1\":"
		"\"\\\"quoted\\\" \\\\ \\n \xc3\xa9\"}}");
	is_json(o1, "ImageUri", "(null)");
	json_decref(o1);

	/* Writing back what was read changes nothing. */
	back = write_back(full, NULL, NULL);
	ok(back && json_equal(back, full), "full conf: write-back is a no-op");
	json_decref(back);
	/* Changing one key changes just that key. */
	back = write_back(full, "Timeout", json_integer(30));
	want = json_deep_copy(full);
	json_object_set_new(want, "Timeout", json_integer(30));
	ok(back && json_equal(back, want), "full conf: .Timeout=30");
	json_decref(want);
	json_decref(back);
	/* ... a layer by its rendered object, and removing a key. */
	back = write_back(full, "Layers",
			  parse("[{\"Arn\":\"" ARN("deps", 2) "\","
				"\"CodeSize\":1}]"));
	is_json(back, "Layers",
		"[{\"Arn\":\"" ARN("deps", 2) "\",\"CodeSize\":2000}]");
	json_decref(back);
	back = write_back(full, "Environment", json_null());
	is_json(back, "Environment", "(null)");
	json_decref(back);
	json_decref(full);

	/* An image function. */
	full = merge_ok(NULL, "{\"PackageType\":\"Image\",\"ImageUri\":"
			      "\"img:1\",\"ImageConfig\":{\"EntryPoint\":"
			      "[\"/x\"],\"WorkingDirectory\":\"/w\"},"
			      "\"MemorySize\":1024,\"Runtime\":"
			      "\"python3.12\"}");
	back = write_back(full, NULL, NULL);
	o1 = fconf_render(full, &test_state);
	o2 = fconf_render(back, &test_state);
	ok(o2 && json_equal(o1, o2), "image conf: write-back, same meaning");
	is_json(back, "Runtime", "\"python3.12\"");
	is_json(back, "ImageUri", "\"img:1\"");
	json_decref(o1);
	json_decref(o2);
	json_decref(back);
	json_decref(full);

	/* Defaults: written back explicitly, they mean the same. */
	empty = json_object();
	back = write_back(empty, "Description", json_string("new"));
	o1 = fconf_render(empty, &test_state);
	o2 = fconf_render(back, &test_state);
	json_object_set_new(o1, "Description", json_string("new"));
	ok(o2 && json_equal(o1, o2), "empty conf: write-back, same meaning");
	is_json(back, "Description", "\"new\"");
	json_decref(o1);
	json_decref(o2);
	json_decref(back);
	json_decref(empty);
}

int main(void)
{
	plan_no_plan();
	test_shape();
	test_read_only();
	test_runtime();
	test_handler();
	test_numbers();
	test_strings();
	test_environment();
	test_layers();
	test_objects();
	test_null_reset();
	test_no_sharing();
	test_infer();
	test_render_defaults();
	test_round_trip();
	return done_testing();
}
