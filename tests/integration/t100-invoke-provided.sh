#!/usr/bin/env bash
# invoke through the Runtime API with the bash custom runtime example
# (provided.al2023, curl): results, errno table, logs, init errors, 100
# warm invocations on one environment.
. "$(dirname "$0")/lib.sh"
require_fuse
command -v curl >/dev/null || skip_all "curl missing (make deps)"
mount_fs
F=$MNT/functions/sh
mkdir "$F"
(cd "$TOP/examples/custom-runtime-bash" && zip -q "$WORK/sh.zip" bootstrap function.sh)
cp "$WORK/sh.zip" "$F/code.zip"
echo '{"Handler": "function.handler", "Timeout": 2}' > "$F/config.json"
assert_eq "$(json_get "$F/config.json" Runtime)" "provided.al2023" "runtime inferred"

echo '{"a":1}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "echo > invoke succeeds"
assert_eq "$(cat "$F/invoke")" '{"echo":{"a":1}}' "cat invoke gives the latest response"
exec 3<>"$F/invoke"
echo '{"b":2}' >&3
assert_eq "$(head -n1 <&3 2>/dev/null)" '{"echo":{"b":2}}' "same-fd conversation"
printf '{"c":3}\n{"c":4}\n' >&3
assert_eq "$(head -n2 <&3 2>/dev/null | tr '\n' ' ')" '{"echo":{"c":3}} {"echo":{"c":4}} ' "JSON Lines run in order"
exec 3>&-

logs=$(cat "$F/logs")
assert_match "$logs" 'START RequestId: [0-9a-f-]{36} Version: \$LATEST' "START line"
assert_match "$logs" 'END RequestId: [0-9a-f-]{36}' "END line"
assert_match "$logs" $'REPORT RequestId: [0-9a-f-]{36}\tDuration: [0-9]+\\.[0-9]{2} ms\tBilled Duration: [0-9]+ ms\tMemory Size: 128 MB\tMax Memory Used: [0-9]+ MB\tInit Duration: [0-9.]+ ms' "first REPORT has Init Duration"
assert_eq "$(grep -c 'Init Duration' "$F/logs")" "1" "later invocations are warm"
assert_match "$logs" 'handling \{"a":1\}' "the function's stderr is in the log"
assert_match "$(head -1 "$F/logs")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z ' "lines start with an ISO timestamp"
assert_eq "$(json_get "$MNT/status" warm_envs)" "1" "one warm environment"
inst=$(ls "$F/instances")
assert_match "$inst" '^[0-9]+\.json$' "instances/ lists the warm environment"
if [ "${EXECUTOR:-subprocess}" = subprocess ]; then
	ipid=$(json_get "$F/instances/$inst" pid)
	assert_true "its pid is a live process" kill -0 "$ipid"
	assert_match "$(tr '\0' ' ' < /proc/$ipid/cmdline)" 'bootstrap' "running the function's bootstrap"
else
	ctr=$(json_get "$F/instances/$inst" container)
	assert_eq "$(docker inspect -f '{{.State.Running}}' "$ctr")" "true" "its container runs"
	assert_eq "$(docker inspect -f '{{json .Config.Entrypoint}}' "$ctr")" '["/var/task/bootstrap"]' "running the function's bootstrap"
fi
assert_eq "$(json_get "$F/instances/$inst" state)" "idle" "and it is idle"

errno_of() { # event: prints the write's errno name (or OK), the response
	invoke_errno "$F/invoke" "$1" | sed -n 1,2p
}
out=$(errno_of '{"x": ')
assert_eq "$(echo "$out" | head -1)" "OK" "incomplete JSON waits for more"
out=$(errno_of 'not json')
assert_eq "$(echo "$out" | head -1)" "EINVAL" "not JSON: EINVAL"
out=$(errno_of 'BIG')
assert_eq "$(echo "$out" | head -1)" "EFBIG" "event over 6 MB: EFBIG"
out=$(errno_of '{"fail":1}')
assert_eq "$(echo "$out" | head -1)" "EREMOTEIO" "handler error: EREMOTEIO"
assert_match "$(echo "$out" | tail -1)" '"errorType":"HandlerError"' "error JSON is the response"
out=$(errno_of '{"crash":1}')
assert_eq "$(echo "$out" | head -1)" "EREMOTEIO" "runtime crash: EREMOTEIO"
assert_match "$(echo "$out" | tail -1)" '"errorType":"Runtime.ExitError".*signal: killed|signal: killed.*"errorType":"Runtime.ExitError"' "Runtime.ExitError, signal: killed"
out=$(errno_of '{"sleep":1}')
assert_eq "$(echo "$out" | head -1)" "ETIMEDOUT" "timeout: ETIMEDOUT"
assert_match "$(echo "$out" | tail -1)" 'Task timed out after 2.00 seconds' "timeout message"
assert_match "$(cat "$F/logs")" $'Status: timeout' "REPORT says Status: timeout"
echo '{}' > "$F/invoke"
assert_eq "$(cat "$F/invoke")" '{"echo":{}}' "works again after a timeout (cold start)"
: > "$F/invoke"
assert_eq "$(cat "$F/invoke")" '{"echo":{}}' "empty input invokes nothing"
/bin/echo '{"fail":1}' > "$F/invoke" 2>/dev/null; rc=$?
assert_eq "$rc" "1" "/bin/echo exits 1 on a function error"
bash -c 'echo "{\"fail\":1}" > "$1"' _ "$F/invoke" 2>/dev/null; rc=$?
assert_eq "$rc" "1" "bash builtin echo exits 1 too (the write fails)"

# a blocked caller gives up on Ctrl-C (SIGINT), long before the timeout
echo '{"Timeout": 60}' > "$F/config.json"
start=$(date +%s)
timeout -s INT 1 /bin/sh -c "/bin/echo '{\"sleep\":1}' > '$F/invoke'" 2>/dev/null
took=$(( $(date +%s) - start ))
assert_true "SIGINT releases a caller blocked in invoke (took ${took}s)" test "$took" -lt 10
echo '{"Timeout": 2}' > "$F/config.json"

# no code, missing bootstrap, bootstrap without x bit: ENOEXEC
mkdir "$MNT/functions/empty"
F=$MNT/functions/empty; out=$(errno_of '{}'); F=$MNT/functions/sh
assert_eq "$(echo "$out" | head -1)" "ENOEXEC" "no code: ENOEXEC"
assert_match "$(echo "$out" | tail -1)" 'code.zip' "and the error names the fix"
mkdir "$MNT/functions/nox"
$MKZIP bootstrap-noexec "$WORK/nox.zip"
cp "$WORK/nox.zip" "$MNT/functions/nox/code.zip"
F=$MNT/functions/nox; out=$(errno_of '{}'); F=$MNT/functions/sh
assert_eq "$(echo "$out" | head -1)" "ENOEXEC" "bootstrap without x bit: ENOEXEC"
assert_match "$(echo "$out" | tail -1)" 'Runtime.InvalidEntrypoint' "Runtime.InvalidEntrypoint"
assert_match "$(echo "$out" | tail -1)" 'bootstrap is not executable: zip it with its x bit' "and says how to fix it"
# a provided function without a bootstrap anywhere; then the bootstrap in
# a layer (/opt/bootstrap), the handler in the code
mkdir "$MNT/functions/nob"
(cd "$TOP/examples/custom-runtime-bash" && zip -q "$WORK/nob.zip" function.sh)
echo '{"Runtime": "provided.al2023", "Handler": "function.handler"}' > "$MNT/functions/nob/config.json"
cp "$WORK/nob.zip" "$MNT/functions/nob/code.zip"
F=$MNT/functions/nob; out=$(errno_of '{}'); F=$MNT/functions/sh
assert_eq "$(echo "$out" | head -1)" "ENOEXEC" "no bootstrap: ENOEXEC"
assert_match "$(echo "$out" | tail -1)" "Couldn't find valid bootstrap\\(s\\): \\[/var/task/bootstrap /opt/bootstrap\\]" "AWS's message"
mkdir "$MNT/layers/rt"
(cd "$TOP/examples/custom-runtime-bash" && zip -q "$WORK/rt.zip" bootstrap)
cp "$WORK/rt.zip" "$MNT/layers/rt/layer.zip"
echo '{"Layers": ["rt"]}' > "$MNT/functions/nob/config.json"
echo '{"from":"layer"}' > "$MNT/functions/nob/invoke"; rc=$?
assert_eq "$rc" 0 "a bootstrap from a layer runs"
assert_eq "$(cat "$MNT/functions/nob/invoke")" '{"echo":{"from":"layer"}}' "its answer"

# a deploy drains the warm environment
cp "$WORK/sh.zip" "$F/code.zip"
echo '{"d":1}' > "$F/invoke"
# cold starts: the first call, after the crash, after the timeout, after
# the interrupt, now
if [ "${EXECUTOR:-subprocess}" = subprocess ]; then
	assert_eq "$(grep -c 'Init Duration' "$F/logs")" "5" "new code: cold start again"
else
	# a container may not finish its init within the 1 s before SIGINT
	assert_match "$(grep -c 'Init Duration' "$F/logs")" '^[45]$' "new code: cold start again"
fi
tail -n0 -s 0.1 -f "$F/logs" > "$WORK/tail.out" 2>/dev/null &
tpid=$!
sleep 0.3
echo '{"t":1}' > "$F/invoke"
sleep 0.5
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
assert_match "$(cat "$WORK/tail.out")" 'REPORT RequestId' "tail -f sees START/END/REPORT within half a second"
: > "$F/logs"
assert_eq "$(stat -c %s "$F/logs")" "0" ": > logs clears the log"
echo '{"e":1}' > "$F/invoke"
assert_match "$(cat "$F/logs")" 'START' "logging goes on after a clear"
# init errors: the bootstrap posts /init/error and exits
echo '{"Handler": "nofile.handler"}' > "$F/config.json"
out=$(errno_of '{}')
assert_eq "$(echo "$out" | head -1)" "EREMOTEIO" "handler file missing: EREMOTEIO"
assert_match "$(echo "$out" | tail -1)" '"errorType":"Runtime.ImportModuleError"' "the bootstrap's /init/error is the response"
echo '{"Handler": "function.nope"}' > "$F/config.json"
out=$(errno_of '{}')
assert_eq "$(echo "$out" | head -1)" "EREMOTEIO" "handler function missing: EREMOTEIO"
assert_match "$(echo "$out" | tail -1)" '"errorType":"Runtime.HandlerNotFound"' "Runtime.HandlerNotFound"
echo '{"Handler": "function.handler"}' > "$F/config.json"
colds=$(grep -c 'Init Duration' "$F/logs")
fails=0
for i in $(seq 100); do
	echo "{\"w\":$i}" > "$F/invoke" || fails=$((fails + 1))
done
assert_eq "$fails" 0 "100 warm invocations"
assert_eq "$(cat "$F/invoke")" '{"echo":{"w":100}}' "the last one's answer"
assert_eq "$(grep -c 'Init Duration' "$F/logs")" "$((colds + 1))" "all on one environment"
done_testing
