#!/usr/bin/env bash
# A function that floods stdout (200 MB in one invocation, lines and one
# endless line) cannot make the daemon's memory grow without bound, and
# its log is rotated at the size limit (32 MB, one old file kept).
. "$(dirname "$0")/lib.sh"
require_fuse
# ASan keeps freed blocks in a quarantine (256 MB by default) that would
# count as growth; a small one keeps the measure about the daemon.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
mount_fs
LIMIT=$((32 * 1024 * 1024))	# FLOG_MAX_BYTES
MB=200
[ "${VALGRIND:-0}" = 1 ] && MB=80	# still more than two log files

mkdir -p "$WORK/fn"
cat > "$WORK/fn/flood.py" <<'PY'
import sys

def handler(event, context):
    out = sys.stdout.buffer
    if event.get("endless"):  # no newline at all
        chunk = b"z" * (1 << 20)
    else:
        chunk = (b"y" * 1023 + b"\n") * 1024
    for _ in range(event["mb"]):
        out.write(chunk)
    out.write(b"\nflood done\n")
    out.flush()
    return {"mb": event["mb"]}
PY
(cd "$WORK/fn" && zip -q ../fn.zip flood.py)
F=$MNT/functions/flood
mkdir "$F"
echo '{"Runtime": "python3.11", "Handler": "flood.handler", "Timeout": 600}' > "$F/config.json"
cp "$WORK/fn.zip" "$F/code.zip"
LOG=$STATE/logs/functions/flood.log

hwm() { awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status"; }
echo '{"mb": 1}' > "$F/invoke"	# warm: the environment and its reader exist
before=$(hwm)

echo "{\"mb\": $MB}" > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "$MB MB of output in lines: the invocation succeeds"
assert_eq "$(cat "$F/invoke")" "{\"mb\": $MB}" "and answers"
echo "{\"mb\": $MB, \"endless\": true}" > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "$MB MB of output without a newline: succeeds"
after=$(hwm)
grow=$(( (after - before) / 1024 ))
diag "daemon VmHWM before ${before} kB, after ${after} kB (+$grow MB) for $((2 * MB)) MB of output"
if [ "${VALGRIND:-0}" = 1 ]; then
	diag "memory bound not checked under valgrind: VmHWM is valgrind's"
else
	assert_true "daemon peak memory grew by less than 64 MB (+$grow MB)" test "$grow" -lt 64
fi

size=$(stat -c %s "$LOG")
old=$(stat -c %s "$LOG.1" 2>/dev/null || echo 0)
diag "log $size bytes, rotated log $old bytes"
assert_true "the log was rotated: $LOG.1 exists" test -f "$LOG.1"
assert_true "rotated at the limit ($old >= $LIMIT)" test "$old" -ge "$LIMIT"
assert_true "not much past it (one line at most, $old)" test "$old" -le $((LIMIT + 300 * 1024))
assert_true "the live log is under the limit too ($size)" test "$size" -le $((LIMIT + 300 * 1024))
assert_eq "$(ls "$STATE/logs/functions/" | grep -c '^flood\.log')" 2 "one old file kept, no more"
assert_eq "$(stat -c %s "$F/logs")" "$size" "logs shows the live file"
assert_match "$(tail -c 2000 "$F/logs")" 'flood done' "the end of the flood is in the log"
assert_match "$(tail -n 3 "$F/logs")" $'REPORT RequestId: [0-9a-f-]{36}\tDuration' "followed by its REPORT"
last=$(grep -c '' "$F/logs")
long=$(awk 'length > 262200 {n++} END {print n + 0}' "$F/logs")
assert_eq "$long" 0 "an endless line is split into lines of at most 256 KB"
diag "$last lines in the live log"

echo '{"mb": 0}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "the function still answers"
assert_eq "$(grep -c 'Init Duration' "$F/logs" "$LOG.1" | awk -F: '{s += $2} END {print s}')" 0 \
	"on the same environment (its cold start rotated away)"
done_testing
