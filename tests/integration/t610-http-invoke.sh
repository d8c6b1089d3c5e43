#!/usr/bin/env bash
# Invoke over the Lambda HTTP API with boto3, http.client and the aws CLI:
# payload byte for byte, DryRun, Tail logs, function errors, ClientContext,
# the RIE path, keep-alive, and a slow invocation that blocks nobody.
. "$(dirname "$0")/lib.sh"
require_fuse
require_aws
mount_fs_http

py_tap "$TOP/tests/http/invoke.py" "$HTTP_ADDR" "$MNT" "$WORK"

# the aws CLI: StatusCode, FunctionError (exit 0: scripts must check it),
# LogResult
out=$(awsl lambda invoke --function-name err --cli-binary-format raw-in-base64-out \
	--payload '{"n": 1}' --log-type Tail "$WORK/out.json")
assert_eq "$(json_get "$out" StatusCode)" 200 "aws lambda invoke: StatusCode 200"
assert_eq "$(json_get "$out" FunctionError)" Unhandled "aws lambda invoke: FunctionError Unhandled"
assert_eq "$(json_get "$WORK/out.json" errorType)" ValueError "aws lambda invoke: the error document in the outfile"
assert_match "$(json_get "$out" LogResult | base64 -d)" $'^START RequestId.*\nabout to fail\n.*\nREPORT RequestId' "aws lambda invoke --log-type Tail"
out=$(awsl lambda invoke --function-name echo --invocation-type DryRun "$WORK/dry.json")
assert_eq "$(json_get "$out" StatusCode)" 204 "aws lambda invoke --invocation-type DryRun: 204"
# curl with no body at all (Content-Length: 0), as RIE users do
assert_eq "$(curl -sS -X POST "$HTTP_URL/2015-03-31/functions/function/invocations")" '{"rie": {}}' \
	"curl to the RIE path with no body"
done_testing
