#!/usr/bin/env bash
# The command line: help, version, bad options and mountpoints, a second
# daemon on the same state dir, SIGTERM and SIGINT exit 0.
. "$(dirname "$0")/lib.sh"
require_fuse
assert_match "$("$LAMBDAFS" --help)" 'usage: lambdafs' "--help prints usage"
assert_match "$("$LAMBDAFS" --version)" '^lambdafs [0-9]' "--version"
assert_match "$("$LAMBDAFS" --check --state-dir "$STATE")" 'python3' "--check lists python3"
one_line_exit1() { # what args...
	local what=$1 out rc; shift
	out=$("$LAMBDAFS" "$@" 2>&1); rc=$?
	assert_eq "$rc" 1 "$what: exit 1"
	assert_eq "$(printf '%s\n' "$out" | wc -l)" 1 "$what: one line ($out)"
}
one_line_exit1 "unknown option" --bogus "$MNT"
one_line_exit1 "missing mountpoint"
one_line_exit1 "bad --max-envs" --max-envs x "$MNT"
one_line_exit1 "bad --executor" --executor vm "$MNT"
one_line_exit1 "bad --http" --http nope "$MNT"
one_line_exit1 "missing mountpoint dir" -f --state-dir "$STATE" --http off "$WORK/nope"
touch "$WORK/notempty/x" 2>/dev/null || { mkdir "$WORK/notempty"; touch "$WORK/notempty/x"; }
one_line_exit1 "non-empty mountpoint" -f --state-dir "$STATE" --http off "$WORK/notempty"

mount_fs
mkdir "$WORK/mnt2"
out=$("$LAMBDAFS" -f --state-dir "$STATE" --http off "$WORK/mnt2" 2>&1); rc=$?
assert_eq "$rc" 1 "second daemon on the same state dir exits 1"
assert_match "$out" "in use by another lambdafs \\(pid $DAEMON_PID\\)" "and names the first one"
assert_true "first daemon still serves" test -d "$MNT/functions"

kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
assert_eq "$rc" 0 "SIGTERM: exit 0"
assert_true "SIGTERM: unmounted" sh -c "! mountpoint -q '$MNT'"
mount_fs
kill -INT "$DAEMON_PID"; wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
assert_eq "$rc" 0 "SIGINT: exit 0"

# daemon mode: returns once mounted, unmount stops it
"$LAMBDAFS" --state-dir "$STATE" --http off "$MNT"; rc=$?
assert_eq "$rc" 0 "daemon mode returns 0 once mounted"
assert_true "daemon mode: mounted" mountpoint -q "$MNT"
pid=$(head -1 "$STATE/lock")
assert_true "daemon mode: lock names a live pid" kill -0 "$pid"
fusermount3 -u "$MNT"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
assert_true "daemon mode: daemon gone after unmount" sh -c "! kill -0 $pid 2>/dev/null"
assert_match "$(cat "$STATE/logs/lambdafs.log")" 'mounted' "daemon mode logs to state-dir/logs/lambdafs.log"
done_testing
