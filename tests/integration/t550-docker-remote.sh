#!/usr/bin/env bash
# A daemon reached over TCP (DOCKER_HOST=tcp://...) is "remote" to
# lambdafs: no cgroup files and no /proc of its containers. Functions
# still run; Max Memory Used comes from the stats API; output order falls
# back to waiting for quiet output (best effort, README). The daemon here
# is the private test dockerd listening on 127.0.0.1 as well, so bind
# mounts of the code still work.
# shellcheck disable=SC2320 # echo's status is the write's: the invocation's
. "$(dirname "$0")/lib.sh"
require_fuse
PORT=$((23000 + $$ % 1000))
export DOCKERD_TCP=$PORT
require_docker
[ -n "$DOCKERD_PID" ] || skip_all "docker: a Docker daemon already runs; the remote test needs the private one with a TCP socket"
DOCKER_HOST=tcp://127.0.0.1:$PORT mount_fs --executor docker
assert_eq "$(json_get "$MNT/status" docker.host)" "tcp://127.0.0.1:$PORT" "status names the TCP daemon"
assert_eq "$(json_get "$MNT/status" docker.reachable)" "None" "and does not probe it from a FUSE thread (null)"

F=$MNT/functions/remote
mkdir "$F"
cat > "$WORK/lambda_function.py" <<'PY'
def lambda_handler(event, context):
    hog = bytearray(event.get("mb", 0) * 1024 * 1024)
    for i in range(0, len(hog), 4096):
        hog[i] = 1
    print("remote says hello", event.get("i"))
    return {"ok": event.get("i")}
PY
(cd "$WORK" && zip -q remote.zip lambda_function.py)
cp "$WORK/remote.zip" "$F/code.zip"
echo '{"MemorySize": 256}' > "$F/config.json"
echo '{"i": 0}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "a function runs through a TCP daemon"
assert_eq "$(cat "$F/invoke")" '{"ok": 0}' "its answer"
assert_match "$(grep 'docker:' "$DLOG" | head -n1)" "tcp://127.0.0.1:$PORT" "the daemon log names it"
echo '{"i": 1, "mb": 80}' > "$F/invoke"
mem=$(grep -o 'Max Memory Used: [0-9]*' "$F/logs" | tail -n1 | awk '{print $4}')
assert_true "Max Memory Used from the stats API ($mem MB after touching 80 MB)" test "${mem:-0}" -ge 80
for i in $(seq 2 11); do echo "{\"i\": $i}" > "$F/invoke"; done
n=$(grep -c 'remote says hello' "$F/logs")
assert_eq "$n" 12 "every line reaches the log"
outside=$(awk '{ m = $0; sub(/^[^ ]+ /, "", m) }
	m ~ /^START/ { inside = 1 } m ~ /^END/ { inside = 0 }
	m ~ /says hello/ && !inside { n++ } END { print n + 0 }' "$F/logs")
diag "lines outside START..END with a remote daemon (best effort): $outside of 12"
assert_true "all but a straggler stay inside START..END ($outside of 12)" test "$outside" -le 1
assert_eq "$(grep -c 'lambdafs-sync' "$F/logs")" 0 "no marker is sent to a remote daemon's containers"
done_testing
