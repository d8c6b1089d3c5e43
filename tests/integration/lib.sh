#!/usr/bin/env bash
# lib.sh - helpers for integration tests (sourced). Each test mounts a real
# lambdafs in a private directory, drives it with real tools and prints TAP.
#
#   . "$(dirname "$0")/lib.sh"
#   require_fuse
#   mount_fs            # daemon in the foreground, private state dir
#   assert_eq "$(cat "$MNT/status" | jq ...)" "..." "what"
#   done_testing
#
# Environment: LAMBDAFS_BUILD (build dir, default build), VALGRIND=1 runs
# the daemon under valgrind; KEEP=1 keeps the work dir; EXECUTOR=docker
# (or auto) mounts with that --executor, with a Docker daemon and the
# test images ready (require_docker).

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${LAMBDAFS_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
LAMBDAFS=$BUILD/lambdafs
MKZIP="python3 $TOP/tests/lib/mkzip.py"
T_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/lambdafs-$T_NAME.XXXXXX")
MNT=$WORK/mnt
STATE=$WORK/state
DLOG=$WORK/daemon.log
DAEMON_PID=
N=0
FAILED=0
mkdir -p "$MNT"

. "$TOP/tests/lib/dockerd.sh"

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
diag() { echo "# $*"; }

assert_eq() { # got want what
	if [ "$1" == "$2" ]; then ok "$3"; else
		not_ok "$3"; diag "got:  '$1'"; diag "want: '$2'"; fi
}
assert_match() { # got regex what
	if [[ $1 =~ $2 ]]; then ok "$3"; else
		not_ok "$3"; diag "got: '$1'"; diag "want match: '$2'"; fi
}
assert_true() { # what cmd...
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; diag "failed: $*"; fi
}
# assert_errno ERRNAME what -- cmd...: cmd must fail and print strerror
assert_fails_with() { # message-regex what cmd...
	local re=$1 what=$2 out rc; shift 2
	out=$("$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ $out =~ $re ]]; then ok "$what"; else
		not_ok "$what"; diag "rc=$rc out='$out' want /$re/"; fi
}

skip_all() { echo "1..0 # SKIP $*"; echo "# skipped: $*" >&2; cleanup; exit 0; }

require_fuse() {
	[ -e /dev/fuse ] || skip_all "no /dev/fuse on this machine"
	command -v fusermount3 >/dev/null || skip_all "fusermount3 missing (make deps)"
	[ -x "$LAMBDAFS" ] || { echo "Bail out! $LAMBDAFS not built"; exit 1; }
}

# require_docker: a Docker daemon (a private one if none answers) and the
# test images of tests/lib/mkimage.sh; skips with the reason otherwise.
require_docker() {
	[ -n "${DOCKER_READY:-}" ] && return 0
	docker_up || skip_all "docker: $DOCKER_WHY"
	if ! "$TOP/tests/lib/mkimage.sh" images >"$WORK/mkimage.log" 2>&1; then
		sed 's/^/# mkimage: /' "$WORK/mkimage.log" | tail -20
		skip_all "docker: cannot build the test images offline (see above)"
	fi
	DOCKER_READY=1
}

# wait_mount: until the mount answers or the daemon dies (10 s)
wait_mount() {
	local i
	for i in $(seq 1 200); do
		if mountpoint -q "$MNT" && [ -e "$MNT/status" ]; then return 0; fi
		if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			diag "daemon died during start-up:"; sed 's/^/# /' "$DLOG"
			return 1
		fi
		sleep 0.05
	done
	diag "mount did not come up"; return 1
}

mount_fs() { # extra daemon args...
	local pre=()
	if [ "${VALGRIND:-0}" = 1 ]; then
		pre=(valgrind -q --error-exitcode=99 --leak-check=full
		     --errors-for-leak-kinds=definite
		     --suppressions="$TOP/tests/valgrind.supp")
	fi
	if [ -n "${EXECUTOR:-}" ]; then
		[ "$EXECUTOR" != subprocess ] && require_docker
		set -- --executor "$EXECUTOR" "$@"
	fi
	"${pre[@]}" "$LAMBDAFS" -f --state-dir "$STATE" --http off "$@" "$MNT" \
		>>"$DLOG" 2>&1 &
	DAEMON_PID=$!
	wait_mount || { echo "Bail out! mount failed"; exit 1; }
}

# umount_fs: fusermount3 -u; the daemon must exit 0
umount_fs() {
	local rc
	[ -n "$DAEMON_PID" ] || return 0
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	wait "$DAEMON_PID"; rc=$?
	DAEMON_PID=
	assert_eq "$rc" 0 "daemon exits 0 after unmount"
	check_daemon_log
}

is_mounted() { grep -q " $1 " /proc/self/mounts; }

kill_fs() { # SIGKILL the daemon; auto_unmount cleans the mount
	[ -n "$DAEMON_PID" ] || return 0
	kill -9 "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	local i
	for i in $(seq 1 100); do
		is_mounted "$MNT" || return 0
		sleep 0.05
	done
	diag "auto_unmount did not remove the mount"
	fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"
}

# A daemon log with a sanitizer or valgrind report is a failure.
check_daemon_log() {
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error|^==[0-9]+==|BUG at' "$DLOG" 2>/dev/null; then
		not_ok "daemon log is clean of sanitizer/valgrind reports"
		sed 's/^/# /' "$DLOG" | head -60
	fi
}

cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	is_mounted "$MNT" && umount -l "$MNT"
	[ -n "${CLEANUP_HOOK:-}" ] && eval "$CLEANUP_HOOK"
	docker_down
	if [ "$FAILED" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
		echo "# work dir kept: $WORK" >&2
		[ -f "$DLOG" ] && tail -30 "$DLOG" | sed 's/^/# daemon: /' >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

done_testing() {
	[ -n "$DAEMON_PID" ] && umount_fs
	echo "1..$N"
	[ "$FAILED" -eq 0 ]
	exit $?
}

json_get() { # file-or-string jq-path using python (no jq dependency)
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1])) if not sys.argv[1].startswith("{") else json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    if k: d=d[int(k)] if isinstance(d,list) else d.get(k)
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$1" "$2"
}
