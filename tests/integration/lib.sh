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
# shellcheck disable=SC2034 # used by the tests
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

# invoke_errno INVOKE EVENT: writes EVENT (BIG: a 6 MB + 8 byte event) to
# the invoke file like cat does, closes it, and prints the outcome of the
# write ("OK" or the errno name), then the response read back on the same
# descriptor (or the read's errno name), then the outcome of close().
invoke_errno() {
	python3 - "$1" "$2" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
data = sys.argv[2].encode() if sys.argv[2] != "BIG" else b'{"k":"' + b"x" * (6 * 1024 * 1024) + b'"}'
try:
    while data:  # like cat: a short write is retried with the rest
        data = data[os.write(fd, data):]
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
try:
    out = b""
    while not out.endswith(b"\n"):
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        out += chunk
    print(out.decode().strip())
except OSError as e:
    print(errno.errorcode[e.errno])
try:
    os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

# need_ric VERSION: sets RIC to a cached npm install of aws-lambda-ric
# VERSION (LAMBDAFS_CLIENTS_DIR, default /var/tmp/lambdafs-clients),
# installing it first if needed; skips the test only when npm fails.
need_ric() {
	local v=$1 dir tmp
	command -v npm >/dev/null || skip_all "npm missing: cannot install aws-lambda-ric@$v"
	dir=${LAMBDAFS_CLIENTS_DIR:-/var/tmp/lambdafs-clients}/ric-$v
	# shellcheck disable=SC2034 # used by the tests
	RIC=$dir
	[ -x "$dir/node_modules/.bin/aws-lambda-ric" ] && return 0
	diag "installing aws-lambda-ric@$v into $dir (native build, a few minutes; cached)"
	mkdir -p "$(dirname "$dir")" && tmp=$(mktemp -d "$dir.tmp.XXXXXX") ||
		skip_all "cannot create a directory beside $dir"
	if ! (cd "$tmp" && npm init -y >/dev/null &&
		npm_config_nodedir=/usr npm install "aws-lambda-ric@$v" \
			--foreground-scripts >"$WORK/npm-$v.log" 2>&1); then
		rm -rf "$tmp"
		tail -20 "$WORK/npm-$v.log" | sed 's/^/# npm: /'
		skip_all "npm install aws-lambda-ric@$v failed (registry unreachable or build tools missing: make deps)"
	fi
	# another test run may have finished first: keep whichever is complete
	[ -x "$dir/node_modules/.bin/aws-lambda-ric" ] || rm -rf "$dir"
	mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
}

json_get() { # file-or-string jq-path using python (no jq dependency)
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1])) if not sys.argv[1].startswith("{") else json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    if k: d=d[int(k)] if isinstance(d,list) else d.get(k)
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$1" "$2"
}

# --- the HTTP API (t6xx) ---
# mount_fs_http [daemon args]: mount with the HTTP API on a kernel-chosen
# port (tests run concurrently: never a fixed one); sets HTTP_ADDR and
# HTTP_URL from status, and the offline aws CLI / boto3 environment of
# CLIENTS.md (fake credentials, no metadata probe, no pager, one attempt).
AWS=/usr/bin/aws
require_aws() {
	[ -x "$AWS" ] || skip_all "/usr/bin/aws missing (make deps installs awscli)"
	/usr/bin/python3 -c 'import boto3' 2>/dev/null ||
		skip_all "python3-boto3 missing (make deps installs it)"
}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
mount_fs_http() {
	mount_fs --http 127.0.0.1:0 "$@"
	HTTP_ADDR=$(json_get "$MNT/status" http.address)
	HTTP_URL=http://$HTTP_ADDR
}
# wait_for SECONDS cmd...: polls (every 50 ms) until cmd succeeds
wait_for() {
	local i n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
awsl() { "$AWS" --endpoint-url "$HTTP_URL" --cli-read-timeout 0 "$@"; }
# py_tap SCRIPT ARGS...: runs a python helper that prints "ok WHAT",
# "not ok WHAT" and "# ..." lines, folded into this test's TAP stream.
py_tap() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"not ok "*) not_ok "${line#not ok }" ;;
		__rc=0) ;;
		__rc=*) not_ok "$(basename "$1") ran to the end (exit ${line#__rc=})" ;;
		*) echo "# $line" ;;
		esac
	done < <(/usr/bin/python3 -u "$@" 2>&1; echo "__rc=$?")
}
