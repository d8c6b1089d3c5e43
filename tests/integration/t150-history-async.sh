#!/usr/bin/env bash
# invocations/<id>/ history (kept, trimmed, persisted) and invoke-async:
# durable queue, AWS retry rule, survives SIGKILL of the daemon.
. "$(dirname "$0")/lib.sh"
require_fuse
command -v curl >/dev/null || skip_all "curl missing (make deps)"
mount_fs --history 3
F=$MNT/functions/sh
mkdir "$F"
(cd "$TOP/examples/custom-runtime-bash" && zip -q "$WORK/sh.zip" bootstrap function.sh)
cp "$WORK/sh.zip" "$F/code.zip"
echo '{"Handler": "function.handler", "Timeout": 5}' > "$F/config.json"

newest() { ls -t "$F/invocations" | head -1; }
# report FIELD [ID]: a field of an invocation's report.json
report() { json_get "$F/invocations/${2:-$(newest)}/report.json" "$1"; }
# find_event TEXT: the id of the invocation whose event is TEXT
find_event() {
	local d
	for d in "$F"/invocations/*/; do
		[ "$(cat "$d/event" 2>/dev/null)" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}

# --- synchronous invocations are recorded ---
assert_eq "$(ls "$F/invocations" | wc -l)" 0 "no history before the first invocation"
for i in 1 2 3 4 5; do echo "{\"n\":$i}" > "$F/invoke"; done
assert_eq "$(ls "$F/invocations" | wc -l)" 3 "--history 3 keeps the newest 3"
id=$(find_event '{"n":5}')
assert_match "$id" '^[0-9a-f-]{36}$' "the newest invocation is listed by request id"
assert_true "the oldest ones were dropped" test -z "$(find_event '{"n":1}')"
assert_eq "$(ls "$F/invocations/$id" | tr '\n' ' ')" "event logs report.json response " "an invocation has event, response, logs, report.json"
assert_eq "$(cat "$F/invocations/$id/response")" '{"echo":{"n":5}}' "response is the function's answer"
assert_eq "$(stat -c %s "$F/invocations/$id/response")" 16 "sizes are real"
logs=$(cat "$F/invocations/$id/logs")
assert_match "$logs" "^[0-9T:.Z-]+ START RequestId: $id Version: \\\$LATEST" "its logs start with its START"
assert_match "$logs" 'handling \{"n":5\}' "and hold the function's output"
assert_match "$logs" "REPORT RequestId: $id"$'\t'"Duration: " "and end with its REPORT"
assert_eq "$(grep -c 'START RequestId' <<<"$logs")" 1 "only this invocation's lines"
assert_eq "$(report Status "$id")" "Success" "report.json: Status"
assert_eq "$(report InvocationType "$id")" "RequestResponse" "report.json: InvocationType"
assert_eq "$(report RequestId "$id")" "$id" "report.json: RequestId"
assert_eq "$(report MemorySizeMB "$id")" 128 "report.json: MemorySizeMB"
assert_match "$(report MaxMemoryUsedMB "$id")" '^[1-9][0-9]*$' "report.json: measured MaxMemoryUsedMB"
assert_match "$(report DurationMs "$id")" '^[0-9.]+$' "report.json: DurationMs"
assert_true "invocations/ is read-only" bash -c "! echo x > '$F/invocations/$id/event'"

echo '{"fail":"sync"}' > "$F/invoke" 2>/dev/null
id=$(find_event '{"fail":"sync"}')
assert_eq "$(report Status "$id")" "Error" "a function error is recorded as Error"
assert_eq "$(report Errno "$id")" "EREMOTEIO" "with the errno the writer got"
assert_match "$(cat "$F/invocations/$id/response")" '"errorType"' "and the error document as the response"

# --- invoke-async ---
echo '{"async":1}' > "$F/invoke-async"; rc=$?
assert_eq "$rc" 0 "echo > invoke-async succeeds"
assert_true "the Event runs in the background" wait_for 20 eval "find_event '{\"async\":1}' >/dev/null"
id=$(find_event '{"async":1}')
assert_true "and finishes" wait_for 20 bash -c "grep -q Success '$F/invocations/$id/report.json'"
assert_eq "$(report InvocationType "$id")" "Event" "report.json says Event"
assert_eq "$(cat "$F/invocations/$id/response")" '{"echo":{"async":1}}' "its response is recorded"
assert_fails_with 'Permission denied' "invoke-async has nothing to read" cat "$F/invoke-async"
out=$(echo 'nope' 2>&1 > "$F/invoke-async")
assert_match "$out" 'Invalid argument' "not JSON: EINVAL"
out=$(python3 -c 'print("{\"k\":\"" + "x" * (1024 * 1024) + "\"}")' 2>&1 > "$F/invoke-async")
assert_match "$(python3 - "$F/invoke-async" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
data = b'{"k":"' + b"x" * (1024 * 1024) + b'"}'
try:
    while data:
        data = data[os.write(fd, data):]
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
)" 'EFBIG' "an Event over 1 MB: EFBIG"

# a failing Event is tried 3 times (AWS: 2 retries), then recorded
echo '{"fail":"async"}' > "$F/invoke-async"
assert_true "a failing Event is retried twice" wait_for 30 bash -c "[ \$(grep -c 'handling {\"fail\":\"async\"}' '$F/logs') = 3 ]"
assert_true "then recorded as failed" wait_for 10 bash -c "id=\$(ls -t '$F/invocations' | head -1); grep -q '\"Error\"' '$F/invocations/'*/report.json"
id=$(find_event '{"fail":"async"}')
assert_true "its report says attempt 3" wait_for 10 bash -c "grep -q '\"Attempt\": 3' '$F/invocations/$id/report.json'"
sleep 3.5
assert_eq "$(grep -c 'handling {"fail":"async"}' "$F/logs")" 3 "and it is not tried a 4th time"

# --- durable: SIGKILL with a queued Event, then restart ---
G=$MNT/functions/held
mkdir "$G"
cp "$WORK/sh.zip" "$G/code.zip"
echo '{"Handler": "function.handler", "ReservedConcurrentExecutions": 0}' > "$G/config.json"
echo '{"held":1}' > "$G/invoke-async"
assert_eq "$(json_get "$MNT/status" async_pending)" 1 "a throttled Event waits in the queue"
q=$(ls "$G/invocations")
assert_eq "$(json_get "$G/invocations/$q/report.json" Status)" "Queued" "listed as Queued"
kill_fs
mount_fs --history 3
assert_eq "$(json_get "$MNT/status" async_pending)" 1 "after SIGKILL and restart it is still queued"
assert_eq "$(cat "$G/invocations/$q/event")" '{"held":1}' "with its event"
echo '{"ReservedConcurrentExecutions": 5}' > "$G/config.json"
assert_true "once unthrottled it runs" wait_for 20 bash -c "grep -q Success '$G/invocations/$q/report.json' 2>/dev/null"
assert_eq "$(cat "$G/invocations/$q/response")" '{"echo":{"held":1}}' "with the same request id and its answer"
assert_eq "$(json_get "$MNT/status" async_pending)" 0 "the queue is empty"

# --- history persists across restarts ---
id=$(newest)
want=$(cat "$F/invocations/$id/response")
umount_fs
mount_fs --history 3
assert_eq "$(ls "$F/invocations" | wc -l)" 3 "the history survives a restart"
assert_eq "$(cat "$F/invocations/$id/response" 2>&1)" "$want" "contents too"
umount_fs
mount_fs --history 1
assert_eq "$(ls "$F/invocations" | wc -l)" 1 "a smaller --history trims at start"

# --- deleting a function deletes its history ---
assert_true "rm -r of a function with history works" rm -r "$F"
mkdir "$F"
assert_eq "$(ls "$F/invocations" | wc -l)" 0 "a new function of that name starts empty"
done_testing
