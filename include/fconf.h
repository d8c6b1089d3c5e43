/* SPDX-License-Identifier: MIT */
/*
 * fconf.h - a function's configuration: validation, merge and the AWS
 * FunctionConfiguration JSON. One code path for the file system
 * (config.json) and the HTTP API (CreateFunction,
 * UpdateFunctionConfiguration). Pure: jansson objects in and out, no I/O,
 * no locks.
 *
 * The stored form ("conf") is a JSON object holding only the settable
 * keys that have a value: Runtime, Handler, Role, Description, Timeout,
 * MemorySize, Environment {Variables}, Layers [{Arn, CodeSize}],
 * PackageType, ImageUri, ImageConfig, EphemeralStorage {Size},
 * Architectures, LoggingConfig, TracingConfig, DeadLetterConfig,
 * KMSKeyArn, ReservedConcurrentExecutions, Tags. Defaults (Timeout 3,
 * MemorySize 128, ...) are applied when rendering, not stored.
 *
 * Update rules (AWS UpdateFunctionConfiguration): keys of the update
 * replace the stored ones whole (Environment, Layers included); a null
 * value resets a key to its default; read-only keys that
 * GetFunctionConfiguration returns (FunctionName, FunctionArn, CodeSize,
 * CodeSha256, LastModified, Version, State, StateReason, StateReasonCode,
 * LastUpdateStatus, LastUpdateStatusReason, LastUpdateStatusReasonCode,
 * RevisionId, ImageConfigResponse, SnapStart, RuntimeVersionConfig,
 * MasterArn, SigningJobArn, SigningProfileVersionArn, VpcConfig,
 * FileSystemConfigs) are ignored, so writing back what was read works;
 * any other key is unknown and rejected.
 */
#ifndef LAMBDAFS_FCONF_H
#define LAMBDAFS_FCONF_H

#include <jansson.h>

#include "common.h"

struct bundle_info;

/*
 * Resolves a layer reference (a version ARN
 * "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N", "NAME:N" or "NAME" = the
 * latest version) to the canonical version ARN and the zip size.
 * Returns 0 and sets *arn (malloc'd, caller frees) and *size, or -ENOENT
 * when no such layer version exists, -EINVAL when ref is malformed.
 */
typedef int (*fconf_layer_resolve_fn)(const char *ref, char **arn,
				      int64_t *size, void *arg);

/*
 * Validates update (a JSON object) and merges it into a copy of current
 * (NULL = empty). Layer references are resolved with resolve(arg).
 * Returns 0 and sets *out to the new conf (new reference, caller
 * json_decref's it); or -EINVAL and sets *cause (malloc'd, one line, what
 * was wrong and what is allowed; caller frees). current is not modified.
 */
int fconf_merge(const json_t *current, const json_t *update,
		fconf_layer_resolve_fn resolve, void *arg, json_t **out,
		char **cause);

/*
 * Fills in Runtime and Handler when the conf has none, from what a zip
 * holds at its root (DESIGN.md §2): "bootstrap" -> provided.al2023 (no
 * Handler needed; "bootstrap" is not required to be executable here);
 * lambda_function.py -> the host's python runtime, handler
 * lambda_function.lambda_handler; index.mjs|index.js|index.cjs -> nodejs,
 * handler index.handler. An ambiguous or unrecognised zip returns -EINVAL
 * with a cause that says which keys to set. With PackageType Image or a
 * Runtime already set, nothing changes and 0 is returned. conf is
 * modified in place. python_runtime/node_runtime name the runtimes to
 * infer ("python3.11", "nodejs20.x"), chosen by the caller from the host.
 */
int fconf_infer(json_t *conf, const struct bundle_info *info,
		const char *python_runtime, const char *node_runtime,
		char **cause);

/* Read-only facts about a function that the conf does not hold. */
struct fconf_state {
	const char *name;
	const char *code_sha256;   /* base64, "" if no code */
	int64_t code_size;
	int64_t modified_ms;	   /* LastModified */
	const char *state;	   /* "Active", "Pending", "Failed" */
	const char *state_reason;  /* NULL or text */
	const char *state_reason_code; /* NULL or e.g. "Creating" */
	const char *update_status; /* "Successful" | "Failed" */
	const char *update_reason; /* NULL or text */
	const char *revision_id;   /* NULL or a UUID */
	const char *architecture;  /* host: "x86_64" | "arm64" */
};

/*
 * Renders the AWS FunctionConfiguration object: every key of the conf
 * with defaults applied, plus the state. Returns a new reference.
 */
json_t *fconf_render(const json_t *conf, const struct fconf_state *st);

/* Convenience getters on a conf (defaults applied). */
int fconf_timeout(const json_t *conf);	   /* seconds, default 3 */
int fconf_memory(const json_t *conf);	   /* MB, default 128 */
const char *fconf_runtime(const json_t *conf); /* NULL if unset */
const char *fconf_handler(const json_t *conf); /* NULL if unset */
/* Layer version ARNs, in order, into arns[] (borrowed); returns count. */
size_t fconf_layers(const json_t *conf, const char *arns[], size_t max);

/* true if runtime is one lambdafs knows (any AWS runtime identifier). */
bool fconf_is_runtime(const char *runtime);

#endif
