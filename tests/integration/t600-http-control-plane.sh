#!/usr/bin/env bash
# The Lambda HTTP API's control plane with the real aws CLI and boto3:
# every operation, every error shape, the same store as the mount both ways.
. "$(dirname "$0")/lib.sh"
require_fuse
require_aws
mount_fs_http

assert_match "$HTTP_ADDR" '^127\.0\.0\.1:[0-9]+$' "status shows the real address (port 0 resolved)"
assert_eq "$(json_get "$MNT/status" http.listening)" True "status: listening"
assert_match "$(grep -o 'HTTP API listening on [^ ]*' "$DLOG")" "http://$HTTP_ADDR\$" "the daemon log names the address"
assert_eq "$(curl -sS "$HTTP_URL/health")" '{"status":"ok"}' "GET /health"
assert_eq "$(json_get "$(curl -sS "$HTTP_URL/status")" http.address)" "$HTTP_ADDR" "GET /status"

# boto3: every operation and error class (tests/http/control_plane.py)
py_tap "$TOP/tests/http/control_plane.py" "$HTTP_ADDR" "$MNT" "$WORK"

# the aws CLI: create over HTTP, wait, invoke through the mount
printf 'def handler(event, context):\n    return {"cli": event}\n' > "$WORK/lambda_function.py"
(cd "$WORK" && zip -q cli.zip lambda_function.py)
out=$(awsl lambda create-function --function-name cli1 --runtime python3.11 \
	--handler lambda_function.handler --role arn:aws:iam::000000000000:role/r \
	--zip-file "fileb://$WORK/cli.zip" --query State --output text 2>&1)
assert_eq "$out" Active "aws lambda create-function"
assert_true "aws lambda wait function-active-v2" awsl lambda wait function-active-v2 --function-name cli1
echo '{"from":"mount"}' > "$MNT/functions/cli1/invoke"
assert_eq "$(cat "$MNT/functions/cli1/invoke")" '{"cli": {"from": "mount"}}' "created over HTTP, invoked through the mount"

# the reverse: made in the mount, invoked over HTTP
mkdir "$MNT/functions/fsmade"
cp "$WORK/cli.zip" "$MNT/functions/fsmade/code.zip"
echo '{"Handler": "lambda_function.handler"}' > "$MNT/functions/fsmade/config.json"
awsl lambda invoke --function-name fsmade --cli-binary-format raw-in-base64-out \
	--payload '{"from":"http"}' "$WORK/out.json" >/dev/null
assert_eq "$(cat "$WORK/out.json")" '{"cli": {"from": "http"}}' "created in the mount, invoked over HTTP"
out=$(awsl lambda get-function-configuration --function-name fsmade --query '[Runtime,Handler]' --output text)
assert_eq "$out" $'python3.11\tlambda_function.handler' "the mount's configuration over HTTP"

# ListFunctions with and without the trailing slash
a=$(curl -sS "$HTTP_URL/2015-03-31/functions/" | python3 -c 'import json,sys; print([f["FunctionName"] for f in json.load(sys.stdin)["Functions"]])')
b=$(curl -sS "$HTTP_URL/2015-03-31/functions" | python3 -c 'import json,sys; print([f["FunctionName"] for f in json.load(sys.stdin)["Functions"]])')
assert_eq "$a" "$b" "ListFunctions: /functions/ and /functions answer the same"
assert_match "$a" "'cli1'.*'fsmade'" "ListFunctions lists both faces' functions"
assert_eq "$(awsl lambda list-functions --max-items 1 --query 'length(Functions)')" 1 "aws lambda list-functions --max-items"

# the CLI prints the exception name and exits 254
assert_fails_with 'ResourceNotFoundException.*Function not found: arn:aws:lambda:us-east-1:000000000000:function:ghost' \
	"aws CLI: ResourceNotFoundException" awsl lambda get-function --function-name ghost
assert_fails_with 'ResourceConflictException' "aws CLI: ResourceConflictException" \
	awsl lambda create-function --function-name cli1 --runtime python3.11 \
	--handler lambda_function.handler --role r --zip-file "fileb://$WORK/cli.zip"
assert_fails_with 'InvalidParameterValueException.*Timeout' "aws CLI: InvalidParameterValueException with the core's reason" \
	awsl lambda update-function-configuration --function-name cli1 --timeout 901
# the raw error shape: status, x-amzn-ErrorType, {"Type","Message"}
hdr=$(curl -sS -D - -o "$WORK/err.json" "$HTTP_URL/2015-03-31/functions/ghost")
assert_match "$hdr" $'^HTTP/1.1 404' "raw error: 404"
assert_match "$hdr" $'x-amzn-ErrorType: ResourceNotFoundException' "raw error: x-amzn-ErrorType"
assert_eq "$(json_get "$WORK/err.json" Type)" User "raw error: Type User"
assert_match "$(json_get "$WORK/err.json" Message)" "^Function not found" "raw error: Message"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH "$HTTP_URL/2015-03-31/functions")" 404 "unknown operation: 404"

# delete over HTTP: gone from the mount at once (no stale entry)
stat "$MNT/functions/cli1" >/dev/null
awsl lambda delete-function --function-name cli1
assert_true "deleted over HTTP: stat fails at once" test ! -e "$MNT/functions/cli1"
rmdir "$MNT/functions/fsmade"
assert_fails_with 'ResourceNotFoundException' "deleted in the mount: gone over HTTP" \
	awsl lambda get-function --function-name fsmade
done_testing
