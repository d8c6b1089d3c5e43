#!/usr/bin/env bash
# Faults through the mount with real runtimes: responses at and past the
# 6 MB limit, incomplete JSON at close, handlers that exit (python, node), a runtime
# killed by a signal mid-invoke, syntax errors in the handler module, and
# a runtime that posts a wrong request id or answers twice (a bash
# bootstrap doing so with curl). Each fault leaves the function usable.
# shellcheck disable=SC2320 # echo's status is the write's: the invocation's
. "$(dirname "$0")/lib.sh"
require_fuse
command -v curl >/dev/null || skip_all "curl missing (make deps)"
mount_fs

# out=$(invoke_errno ...): line N of it
line() { sed -n "$1p" <<<"$2"; }

mkdir -p "$WORK/py"
cat > "$WORK/py/faults.py" <<'PY'
import os, signal, sys, time

def handler(event, context):
    what = event.get("what")
    if what == "size":  # a JSON string of exactly n bytes
        return "x" * (event["n"] - 2)
    if what == "exit":
        sys.exit(event["code"])
    if what == "_exit":
        os._exit(0)
    if what == "signal":
        os.kill(os.getpid(), getattr(signal, event["sig"]))
    if what == "sleep":
        time.sleep(event["s"])
    if what == "partial":  # a last line without its newline
        print("no newline %d" % event["n"], end="", flush=True)
    return event
PY
(cd "$WORK/py" && zip -q ../py.zip faults.py)
F=$MNT/functions/py
mkdir "$F"
echo '{"Runtime": "python3.11", "Handler": "faults.handler", "Timeout": 60}' > "$F/config.json"
cp "$WORK/py.zip" "$F/code.zip"
colds() { grep -c 'Init Duration' "$F/logs"; }

# a last line without its newline is logged before its END, not held
# until the next invocation's output
for n in 1 2; do echo "{\"what\": \"partial\", \"n\": $n}" > "$F/invoke"; done
assert_eq "$(grep -A1 'no newline 1' "$F/logs" | sed -n 2p | cut -d' ' -f2)" "END" "a line without a newline is logged before END"
assert_match "$(tail -n3 "$F/logs" | head -n1)" ' no newline 2$' "the last one too, without waiting for more output"

# --- payload limits of the response: 6 MB + 100 bytes (RAPI_MAX_PAYLOAD,
# RIE's MaxPayloadSize and the size AWS's message names) is the largest
limit=$((6 * 1024 * 1024 + 100))
for n in $((6 * 1024 * 1024)) $((6 * 1024 * 1024 + 1)) $limit; do
	out=$(invoke_errno "$F/invoke" "{\"what\":\"size\",\"n\":$n}")
	assert_eq "$(line 1 "$out")" OK "response of $n bytes: the write succeeds"
	got=$(line 2 "$out")
	assert_eq "${#got}" "$n" "response of $n bytes arrives whole"
	assert_eq "$(cat "$F/invoke" | wc -c)" "$((n + 1))" "cat invoke gives the $n bytes and a newline"
done
c0=$(colds)
n=$((limit + 1))
out=$(invoke_errno "$F/invoke" "{\"what\":\"size\",\"n\":$n}")
assert_eq "$(line 1 "$out")" EREMOTEIO "response of $n bytes: EREMOTEIO"
assert_eq "$(json_get "$(line 2 "$out")" errorType)" "Function.ResponseSizeTooLarge" "Function.ResponseSizeTooLarge"
assert_eq "$(json_get "$(line 2 "$out")" errorMessage)" \
	"Response payload size ($n bytes) exceeded maximum allowed payload size ($limit bytes)." \
	"the AWS message with the real size"
assert_match "$(cat "$F/logs")" $'Status: error\tError Type: Function.ResponseSizeTooLarge' "REPORT says so"
echo '{"after": "big"}' > "$F/invoke"
assert_eq "$(cat "$F/invoke")" '{"after": "big"}' "works again after a too large response"
assert_eq "$(colds)" "$((c0 + 1))" "in a new environment (AWS resets it too)"

# --- incomplete JSON at close: close() fails, nothing runs
starts=$(grep -c 'START RequestId' "$F/logs")
out=$(invoke_errno "$F/invoke" '{"what": "sleep", "s": ')
assert_eq "$(line 1 "$out")" OK "incomplete JSON: the write waits for more"
assert_eq "$(line 3 "$out")" EINVAL "incomplete JSON at close: close fails with EINVAL"
printf '{"a":1}\n{"b":' > "$F/invoke" 2>/dev/null
assert_eq "$(cat "$F/invoke")" '{"a": 1}' "the complete value before it ran, the rest did not"
assert_eq "$(grep -c 'START RequestId' "$F/logs")" "$((starts + 1))" "one invocation, not two"

# --- the handler exits
out=$(invoke_errno "$F/invoke" '{"what":"exit","code":3}')
assert_eq "$(line 1 "$out")" EREMOTEIO "sys.exit(3) in the handler: EREMOTEIO"
assert_eq "$(json_get "$(line 2 "$out")" errorType)" "Runtime.ExitError" "Runtime.ExitError"
assert_match "$(json_get "$(line 2 "$out")" errorMessage)" \
	'^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3$' "exit status 3"
out=$(invoke_errno "$F/invoke" '{"what":"_exit"}')
assert_eq "$(line 1 "$out")" EREMOTEIO "os._exit(0) in the handler: EREMOTEIO"
assert_match "$(json_get "$(line 2 "$out")" errorMessage)" \
	'Error: Runtime exited without providing a reason$' "exit 0 without an answer"
assert_match "$(cat "$F/logs")" $'Status: error\tError Type: Runtime.ExitError' "REPORT: Status: error, Runtime.ExitError"

# --- killed by a signal: by itself, and from outside while it works
out=$(invoke_errno "$F/invoke" '{"what":"signal","sig":"SIGSEGV"}')
assert_eq "$(line 1 "$out")" EREMOTEIO "SIGSEGV in the handler: EREMOTEIO"
assert_match "$(json_get "$(line 2 "$out")" errorMessage)" \
	'Error: Runtime exited with error: signal: segmentation fault$' "signal named like AWS (Go's text)"
invoke_errno "$F/invoke" '{"what":"sleep","s":50}' > "$WORK/killed.out" &
caller=$!
pid=
for _ in $(seq 200); do
	for j in "$F"/instances/*.json; do
		[ -e "$j" ] && [ "$(json_get "$j" state)" = busy ] && pid=$(json_get "$j" pid)
	done
	[ -n "$pid" ] && break
	sleep 0.05
done
assert_match "$pid" '^[0-9]+$' "the environment is busy (pid $pid)"
[ -n "$pid" ] && kill -KILL "$pid"
wait "$caller"
out=$(cat "$WORK/killed.out")
assert_eq "$(line 1 "$out")" EREMOTEIO "killed mid-invoke: the caller gets EREMOTEIO at once"
assert_match "$(json_get "$(line 2 "$out")" errorMessage)" \
	'Error: Runtime exited with error: signal: killed$' "signal: killed"
assert_true "the killed runtime is reaped" test ! -e "/proc/$pid"
echo '{"after": "kill"}' > "$F/invoke"
assert_eq "$(cat "$F/invoke")" '{"after": "kill"}' "works again after the kill"

# --- a syntax error in the handler module, python and node
printf 'def handler(event, context)\n    return 1\n' > "$WORK/py/faults.py"
(cd "$WORK/py" && rm -f ../bad.zip && zip -q ../bad.zip faults.py)
cp "$WORK/bad.zip" "$F/code.zip"
out=$(invoke_errno "$F/invoke" '{}')
assert_eq "$(line 1 "$out")" EREMOTEIO "python syntax error: EREMOTEIO"
assert_eq "$(json_get "$(line 2 "$out")" errorType)" "Runtime.UserCodeSyntaxError" "python: Runtime.UserCodeSyntaxError"
assert_match "$(json_get "$(line 2 "$out")" errorMessage)" "faults.py" "python: the message names the file"
cp "$WORK/py.zip" "$F/code.zip"
echo '{"fixed": 1}' > "$F/invoke"
assert_eq "$(cat "$F/invoke")" '{"fixed": 1}' "python: a fixed deploy works"
if command -v node >/dev/null; then
	mkdir -p "$WORK/js" "$MNT/functions/js"
	printf 'export const handler = async (event) => {\n  return event +;\n};\n' > "$WORK/js/index.mjs"
	(cd "$WORK/js" && zip -q ../js.zip index.mjs)
	cp "$WORK/js.zip" "$MNT/functions/js/code.zip"
	out=$(invoke_errno "$MNT/functions/js/invoke" '{}')
	assert_eq "$(line 1 "$out")" EREMOTEIO "node syntax error: EREMOTEIO"
	assert_eq "$(json_get "$(line 2 "$out")" errorType)" "Runtime.UserCodeSyntaxError" "node: Runtime.UserCodeSyntaxError"
	printf 'export const handler = async (event) => {\n  if (event.exit) process.exit(event.exit);\n  return event;\n};\n' > "$WORK/js/index.mjs"
	(cd "$WORK/js" && rm -f ../js.zip && zip -q ../js.zip index.mjs)
	cp "$WORK/js.zip" "$MNT/functions/js/code.zip"
	out=$(invoke_errno "$MNT/functions/js/invoke" '{"exit": 2}')
	assert_eq "$(line 1 "$out")" EREMOTEIO "node: process.exit(2) in the handler: EREMOTEIO"
	assert_match "$(json_get "$(line 2 "$out")" errorMessage)" \
		'Error: Runtime exited with error: exit status 2$' "node: exit status 2"
else
	not_ok "node syntax error and exit (node missing)"
fi

# --- a runtime that posts a wrong request id, answers twice, or answers
# a stale id: the daemon refuses each with RIE's status and error body,
# and the caller gets the one real answer
mkdir -p "$WORK/rogue"
cat > "$WORK/rogue/bootstrap" <<'SH'
#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
H=$(mktemp)
post() { # what path body: posts, logs "what: <status> <body>"
	local out
	out=$(curl -sS -w '\n%{http_code}' "$API/invocation/$2" -d "$3" 2>&1)
	echo "$1: ${out##*$'\n'} $(tr -d '\n' <<<"${out%$'\n'*}")"
}
PREV=
while true; do
	EVENT=$(curl -sS -LD "$H" "$API/invocation/next")
	ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$H" | tr -d '[:space:]' | cut -d: -f2)
	case $EVENT in
	*wrong*)
		post wrong 11111111-2222-3333-4444-555555555555/response '"stolen"'
		post right "$ID/response" '"right"' ;;
	*twice*)
		post first "$ID/response" '"first"'
		post second "$ID/response" '"second"'
		post late-error "$ID/error" '{"errorType":"X","errorMessage":"late"}' ;;
	*stale*)
		post stale "$PREV/response" '"stale"'
		post fresh "$ID/response" '"fresh"' ;;
	*) post echo "$ID/response" "$EVENT" >/dev/null ;;
	esac
	PREV=$ID
done
SH
chmod +x "$WORK/rogue/bootstrap"
(cd "$WORK/rogue" && zip -q ../rogue.zip bootstrap)
R=$MNT/functions/rogue
# rogue_log REGEX: the log once a line matches (the runtime prints what the
# API told it after posting, so a line may land just after the answer)
rogue_log() {
	local i
	for _ in $(seq 1 50); do
		[[ $(cat "$R/logs") =~ $1 ]] && break
		sleep 0.1
	done
	cat "$R/logs"
}
mkdir "$R"
cp "$WORK/rogue.zip" "$R/code.zip"
echo '{"n": 1}' > "$R/invoke"
assert_eq "$(cat "$R/invoke")" '{"n": 1}' "rogue runtime: a plain call works"
echo '"wrong"' > "$R/invoke"; rc=$?
assert_eq "$rc" 0 "wrong request id: the call still succeeds"
assert_eq "$(cat "$R/invoke")" '"right"' "wrong request id: the caller gets the real answer"
assert_match "$(rogue_log 'wrong: 400 \{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"\}')" 'wrong: 400 \{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"\}' \
	"wrong request id: 400 InvalidRequestID to the runtime"
assert_match "$(rogue_log 'right: 202 \{"status":"OK"\}')" 'right: 202 \{"status":"OK"\}' "then the right id: 202"
echo '"twice"' > "$R/invoke"
assert_eq "$(cat "$R/invoke")" '"first"' "posting twice: the caller gets the first answer"
assert_match "$(rogue_log 'first: 202 ')" 'first: 202 ' "first answer: 202"

assert_match "$(rogue_log 'second: 403 \{"errorMessage":"State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"\}')" 'second: 403 \{"errorMessage":"State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"\}' \
	"second answer: 403 InvalidStateTransition"
assert_match "$(rogue_log 'late-error: 403 \{"errorMessage":"State transition from RuntimeResponseSentState to InvocationErrorResponse')" 'late-error: 403 \{"errorMessage":"State transition from RuntimeResponseSentState to InvocationErrorResponse' \
	"an error after the answer: 403"
echo '"stale"' > "$R/invoke"
assert_eq "$(cat "$R/invoke")" '"fresh"' "stale id: the caller gets the real answer"
assert_match "$(rogue_log 'stale: 400 \{"errorMessage":"Invalid request ID"')" 'stale: 400 \{"errorMessage":"Invalid request ID"' "the previous invocation's id: 400"
echo '{"n": 2}' > "$R/invoke"
assert_eq "$(cat "$R/invoke")" '{"n": 2}' "and the runtime goes on serving"
assert_eq "$(grep -c 'Init Duration' "$R/logs")" 1 "on one environment"
done_testing
