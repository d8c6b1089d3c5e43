#!/usr/bin/env bash
# The HTTP API's place in the daemon's life: a busy port or a bad address
# is one line on stderr and exit 1 before anything is mounted; --http off;
# SIGTERM with an invocation in flight and idle keep-alive connections
# answers the invocation (503) and exits 0.
. "$(dirname "$0")/lib.sh"
require_fuse
require_aws
mount_fs_http
port=${HTTP_ADDR##*:}

# a second daemon on the same port (own state dir and mountpoint)
mkdir -p "$WORK/mnt2"
out=$("$LAMBDAFS" -f --state-dir "$WORK/state2" --http "127.0.0.1:$port" "$WORK/mnt2" 2>&1); rc=$?
assert_eq "$rc" 1 "busy port: exit 1"
assert_eq "$out" "lambdafs: cannot listen on 127.0.0.1:$port for the HTTP API: Address already in use (use --http ADDR:PORT, or --http off)" \
	"busy port: one clear line on stderr"
assert_true "busy port: nothing was mounted" bash -c "! grep -q ' $WORK/mnt2 ' /proc/self/mounts"
out=$("$LAMBDAFS" -f --state-dir "$WORK/state2" --http "no.such.host.invalid:1" "$WORK/mnt2" 2>&1); rc=$?
assert_eq "$rc" 1 "unresolvable address: exit 1"
assert_match "$out" "^lambdafs: cannot listen on 'no.such.host.invalid:1': " "unresolvable address: one line"
assert_eq "$(wc -l <<<"$out")" 1 "... just one"
out=$("$LAMBDAFS" -f --state-dir "$WORK/state2" --http 127.0.0.1:70000 "$WORK/mnt2" 2>&1); rc=$?
assert_eq "$rc" 1 "port out of range: exit 1"

# the slow function, and a client blocked in it at SIGTERM
printf 'import time\ndef handler(event, context):\n    time.sleep(60)\n' > "$WORK/lambda_function.py"
(cd "$WORK" && zip -q slow.zip lambda_function.py)
awsl lambda create-function --function-name slow --runtime python3.11 --timeout 120 \
	--handler lambda_function.handler --role arn:aws:iam::000000000000:role/r \
	--zip-file "fileb://$WORK/slow.zip" >/dev/null
curl -sS -D "$WORK/slow.hdr" -o "$WORK/slow.out" -X POST --data '{}' \
	"$HTTP_URL/2015-03-31/functions/slow/invocations" &
CURL=$!
# an idle keep-alive connection (it has made one request and waits)
/usr/bin/python3 - "$HTTP_ADDR" > "$WORK/idle.out" 2>&1 <<'PY' &
import http.client, sys, time
c = http.client.HTTPConnection(sys.argv[1], timeout=120)
c.request("GET", "/health"); r = c.getresponse(); r.read()
print("idle connection open", r.status, flush=True)
time.sleep(60)
PY
IDLE=$!
# shellcheck disable=SC2016 # evaluated by cleanup
# shellcheck disable=SC2034 # run by lib.sh's cleanup
CLEANUP_HOOK='kill $IDLE $CURL 2>/dev/null'
# (the log file itself, not through the mount: a file handle the kernel
# has not released yet when SIGTERM arrives is another test's subject)
SLOG=$STATE/logs/functions/slow.log
for _ in $(seq 1 600); do
	grep -q START "$SLOG" 2>/dev/null && grep -q 'idle connection open 200' "$WORK/idle.out" && break
	sleep 0.05
done
assert_match "$(cat "$SLOG")" "START RequestId" "the slow invocation is running"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"; rc=$?
DAEMON_PID=
assert_eq "$rc" 0 "SIGTERM with an invocation in flight and an idle connection: exit 0"
wait "$CURL"
assert_match "$(head -1 "$WORK/slow.hdr")" '^HTTP/1.1 503' "the invocation in flight was answered: 503"
assert_match "$(cat "$WORK/slow.hdr")" 'x-amzn-ErrorType: ServiceException' "... ServiceException"
assert_match "$(cat "$WORK/slow.out")" 'shutting down' "... saying why"
kill "$IDLE" 2>/dev/null; wait "$IDLE" 2>/dev/null
check_daemon_log

# --http off: status says so
mount_fs
assert_eq "$(json_get "$MNT/status" http.listening)" False "--http off: status says not listening"
assert_eq "$(json_get "$MNT/status" http.address)" None "--http off: no address"
done_testing
