/* SPDX-License-Identifier: MIT */
/*
 * cwlogs.h - the CloudWatch Logs calls (JSON 1.1 protocol, X-Amz-Target
 * Logs_20140328.<Operation>) that `aws logs tail [--follow]`,
 * `aws logs filter-log-events`, `aws logs get-log-events` and the
 * describe-log-groups/streams commands make, answered from the functions'
 * log files, so CloudWatch habits work locally. Part of the HTTP face:
 * http.c routes the request here and renders the answer.
 *
 * Model: function NAME has the log group /aws/lambda/NAME with one log
 * stream, CWLOGS_STREAM, whose events are the lines of its log file
 * (the rotated NAME.log.1, then NAME.log). An event's timestamp is the
 * line's own; its id is the line's place in the file (inode, offset), so
 * ids stay stable while the file grows and across a rotation, which is
 * what `aws logs tail --follow` needs to skip events it has shown.
 */
#ifndef LAMBDAFS_CWLOGS_H
#define LAMBDAFS_CWLOGS_H

#include "common.h"

struct invoker;
struct registry;

#define CWLOGS_STREAM "[$LATEST]lambdafs"
#define CWLOGS_GROUP_PREFIX "/aws/lambda/"

/*
 * Runs operation op ("FilterLogEvents", ...) with the JSON request body.
 * Returns 0 and sets *out to the JSON answer (caller frees) and *out_len;
 * or -errno and sets *etype to the CloudWatch Logs error code (static
 * string: ResourceNotFoundException, InvalidParameterException,
 * SerializationException, UnknownOperationException) and *msg (caller
 * frees). Reads files only; safe from any thread.
 */
int cwlogs_call(struct registry *reg, struct invoker *iv, const char *op,
		const char *body, size_t len, char **out, size_t *out_len,
		const char **etype, char **msg);

#endif
