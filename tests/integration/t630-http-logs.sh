#!/usr/bin/env bash
# CloudWatch Logs habits against the functions' logs: aws logs tail
# [--follow], filter-log-events (patterns, pages), get-log-events,
# describe-log-groups/streams, with the real aws CLI.
. "$(dirname "$0")/lib.sh"
require_fuse
require_aws
mount_fs_http

printf 'def handler(event, context):\n    print("marker-%%s" %% event["n"])\n    return event\n' > "$WORK/lambda_function.py"
(cd "$WORK" && zip -q lg.zip lambda_function.py)
awsl lambda create-function --function-name lg --runtime python3.11 --timeout 60 \
	--handler lambda_function.handler --role arn:aws:iam::000000000000:role/r \
	--zip-file "fileb://$WORK/lg.zip" >/dev/null
inv() { awsl lambda invoke --function-name lg --cli-binary-format raw-in-base64-out \
	--payload "{\"n\": \"$1\"}" "$WORK/o.json" >/dev/null; }
inv 1
inv 2
G=/aws/lambda/lg

out=$(awsl logs tail "$G")
assert_match "$out" $'[0-9T:.-]+\+00:00 \\[\\$LATEST\\]lambdafs START RequestId: [0-9a-f-]+ Version: \\$LATEST' "aws logs tail: START lines with time and stream"
assert_match "$out" $'lambdafs marker-1\n.*lambdafs marker-2\n' "aws logs tail: the function's output in order"
assert_eq "$(grep -c 'REPORT RequestId' <<<"$out")" 2 "aws logs tail: both REPORT lines"
assert_eq "$(wc -l <<<"$out")" "$(wc -l < "$MNT/functions/lg/logs")" "aws logs tail: one event per line of the logs file"

# --follow: new lines show up, old ones are not repeated
"$AWS" --endpoint-url "$HTTP_URL" logs tail "$G" --follow > "$WORK/follow.out" 2>&1 &
FOLLOW=$!
# shellcheck disable=SC2016 # evaluated by cleanup
# shellcheck disable=SC2034 # run by lib.sh's cleanup
CLEANUP_HOOK='kill $FOLLOW 2>/dev/null'
assert_true "aws logs tail --follow shows the existing events" wait_for 30 grep -q marker-2 "$WORK/follow.out"
inv 3
assert_true "... then the new invocation's lines (polled every 5 s)" wait_for 30 grep -q marker-3 "$WORK/follow.out"
inv 4
assert_true "... and the next" wait_for 30 grep -q marker-4 "$WORK/follow.out"
kill "$FOLLOW"; wait "$FOLLOW" 2>/dev/null
assert_eq "$(grep -c marker-2 "$WORK/follow.out")" 1 "--follow repeats no event (stable eventIds)"
assert_eq "$(grep -c 'START RequestId' "$WORK/follow.out")" 4 "--follow: one START per invocation"

# filter-log-events
q() { awsl logs filter-log-events --log-group-name "$G" "$@" --query 'events[].message' --output text; }
assert_eq "$(q --filter-pattern '"marker-3"')" "marker-3" "filter-log-events: a quoted term"
assert_eq "$(q --filter-pattern 'RequestId -END -REPORT' | tr '\t' '\n' | grep -c '^START')" 4 "filter-log-events: -excluded terms"
assert_eq "$(q --filter-pattern '?marker-1 ?marker-4' | tr '\t' '\n' | sort | tr '\n' ' ')" "marker-1 marker-4 " "filter-log-events: ?any terms"
assert_eq "$(q --start-time 4102444800000)" "" "filter-log-events: a start time in the future finds nothing"
all=$(awsl logs filter-log-events --log-group-name "$G" --query 'length(events)')
paged=$(awsl logs filter-log-events --log-group-name "$G" --page-size 3 --query 'length(events)')
assert_eq "$paged" "$all" "filter-log-events in pages of 3 (nextToken) finds every event"
assert_eq "$all" "$(wc -l < "$MNT/functions/lg/logs")" "... which is every line"
assert_fails_with 'InvalidParameterException' "filter-log-events: JSON patterns are refused, not mis-matched" \
	awsl logs filter-log-events --log-group-name "$G" --filter-pattern '{ $.level = "ERROR" }'

# get-log-events
# shellcheck disable=SC2016 # a literal $LATEST
S='[$LATEST]lambdafs'
out=$(awsl logs get-log-events --log-group-name "$G" --log-stream-name "$S" --start-from-head --limit 2)
assert_match "$(json_get "$out" events.0.message)" '^START RequestId' "get-log-events --start-from-head: the first event"
assert_eq "$(json_get "$out" events.1.message)" "marker-1" "... and the second"
fwd=$(json_get "$out" nextForwardToken)
out=$(awsl logs get-log-events --log-group-name "$G" --log-stream-name "$S" --next-token "$fwd" --limit 1)
assert_match "$(json_get "$out" events.0.message)" '^END RequestId' "get-log-events --next-token: continues forward"
out=$(awsl logs get-log-events --log-group-name "$G" --log-stream-name "$S" --limit 1)
assert_match "$(json_get "$out" events.0.message)" '^REPORT RequestId' "get-log-events without start-from-head: the newest"
assert_fails_with 'ResourceNotFoundException.*log stream' "get-log-events: unknown stream" \
	awsl logs get-log-events --log-group-name "$G" --log-stream-name nope

# describe, and a missing group
assert_eq "$(awsl logs describe-log-groups --log-group-name-prefix /aws/lambda/l --query 'logGroups[].logGroupName' --output text)" "$G" "describe-log-groups with a prefix"
assert_eq "$(awsl logs describe-log-streams --log-group-name "$G" --query 'logStreams[].logStreamName' --output text)" "$S" "describe-log-streams"
assert_fails_with 'ResourceNotFoundException.*log group does not exist' "a missing log group: ResourceNotFoundException" \
	awsl logs filter-log-events --log-group-name /aws/lambda/ghost

# cleared with : > logs
: > "$MNT/functions/lg/logs"
assert_eq "$(awsl logs filter-log-events --log-group-name "$G" --query 'length(events)')" 0 "after : > logs there are no events"
inv 5
assert_eq "$(q --filter-pattern marker)" "marker-5" "new events after clearing"
done_testing
