#!/usr/bin/env bash
# Event invocations over the Lambda HTTP API: 202 once durable, the run
# recorded under invocations/<request id>, limits and errors, and an
# accepted Event that survives SIGKILL of the daemon.
. "$(dirname "$0")/lib.sh"
require_fuse
require_aws
mount_fs_http

# event_post NAME BODY: POSTs an Event; prints "STATUS REQUEST-ID"
event_post() {
	printf '%s' "$2" > "$WORK/ev.in"
	rm -f "$WORK/ev.out" "$WORK/ev.hdr"
	local code
	code=$(curl -sS -o "$WORK/ev.out" -D "$WORK/ev.hdr" -w '%{http_code}' -X POST \
		-H 'X-Amz-Invocation-Type: Event' --data-binary @"$WORK/ev.in" \
		"$HTTP_URL/2015-03-31/functions/$1/invocations")
	echo "$code $(grep -i '^x-amzn-RequestId:' "$WORK/ev.hdr" | tr -d '\r' | cut -d' ' -f2)"
}

printf 'def handler(event, context):\n    return {"echo": event}\n' > "$WORK/lambda_function.py"
(cd "$WORK" && zip -q ev.zip lambda_function.py)
awsl lambda create-function --function-name ev --runtime python3.11 \
	--handler lambda_function.handler --role arn:aws:iam::000000000000:role/r \
	--zip-file "fileb://$WORK/ev.zip" >/dev/null
F=$MNT/functions/ev

out=$(awsl lambda invoke --function-name ev --invocation-type Event \
	--cli-binary-format raw-in-base64-out --payload '{"cli":1}' "$WORK/o.json")
assert_eq "$(json_get "$out" StatusCode)" 202 "aws lambda invoke --invocation-type Event: 202"
read -r st id < <(event_post ev '{"curl":2}')
assert_eq "$st" 202 "Event over curl: 202"
assert_match "$id" '^[0-9a-f-]{36}$' "x-amzn-RequestId is the invocation's id"
assert_true "it runs in the background and lands in invocations/<id>" \
	wait_for 30 bash -c "grep -q Success '$F/invocations/$id/report.json' 2>/dev/null"
assert_eq "$(cat "$F/invocations/$id/response")" '{"echo": {"curl": 2}}' "with its answer"
read -r st id < <(event_post ev '')
assert_eq "$st" 202 "an Event with no payload is accepted"
assert_true "and runs with {}" wait_for 30 bash -c "grep -q Success '$F/invocations/$id/report.json' 2>/dev/null"
assert_eq "$(cat "$F/invocations/$id/event")" '{}' "its event is {}"

read -r st id < <(event_post ev "{\"k\":\"$(head -c 1048576 /dev/zero | tr '\0' x)\"}")
assert_eq "$st" 413 "an Event over 1 MB: 413"
assert_match "$(cat "$WORK/ev.out")" 'byte payload is too large for the Event invocation type' "with AWS's message"
assert_match "$(cat "$WORK/ev.hdr")" 'x-amzn-ErrorType: RequestEntityTooLargeException' "RequestEntityTooLargeException"
read -r st id < <(event_post ev 'not json')
assert_eq "$st" 400 "an Event that is not JSON: 400"
assert_match "$(cat "$WORK/ev.hdr")" 'x-amzn-ErrorType: InvalidRequestContentException' "InvalidRequestContentException"
read -r st id < <(event_post ghost '{}')
assert_eq "$st" 404 "an Event for a missing function: 404"

# durable: throttle the function (PutFunctionConcurrency 0 as a raw
# UpdateFunctionConfiguration key), queue an Event, SIGKILL, restart
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --data '{"ReservedConcurrentExecutions": 0}' \
	"$HTTP_URL/2015-03-31/functions/ev/configuration")
assert_eq "$code" 200 "UpdateFunctionConfiguration passes any core key through"
read -r st id < <(event_post ev '{"held":1}')
assert_eq "$st" 202 "a throttled Event is accepted (durable, queued)"
assert_eq "$(json_get "$MNT/status" async_pending)" 1 "it waits in the queue"
kill_fs
mount_fs_http
assert_eq "$(json_get "$MNT/status" async_pending)" 1 "after SIGKILL and restart it is still queued"
curl -sS -o /dev/null -X PUT --data '{"ReservedConcurrentExecutions": null}' \
	"$HTTP_URL/2015-03-31/functions/ev/configuration"
assert_true "once unthrottled it runs, under the id the 202 gave" \
	wait_for 30 bash -c "grep -q Success '$F/invocations/$id/report.json' 2>/dev/null"
assert_eq "$(cat "$F/invocations/$id/response")" '{"echo": {"held": 1}}' "with its answer"
done_testing
