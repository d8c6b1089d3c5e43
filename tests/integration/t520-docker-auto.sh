#!/usr/bin/env bash
# --executor auto: subprocess for what the host runs, docker for Image
# functions, the lambdafs:executor=docker tag and runtimes the host lacks;
# orphan containers of a SIGKILLed lambdafs removed at the next start.
. "$(dirname "$0")/lib.sh"
require_fuse
require_docker
mount_fs --executor auto
exec_of() { # function -> executor of its warm environment
	local i
	i=$(ls "$MNT/functions/$1/instances" | head -n1)
	[ -n "$i" ] && json_get "$MNT/functions/$1/instances/$i" executor
}
ours() { docker ps -aq --filter "label=lambdafs.owner=$STATE" | wc -l; }
cat > "$WORK/lambda_function.py" <<'PY'
import os
def lambda_handler(event, context):
    return {"root": os.environ["LAMBDA_TASK_ROOT"]}
PY
(cd "$WORK" && zip -q fn.zip lambda_function.py)

mkdir "$MNT/functions/host"
cp "$WORK/fn.zip" "$MNT/functions/host/code.zip"
echo '{}' > "$MNT/functions/host/invoke"; rc=$?
assert_eq "$rc" 0 "a python zip function runs"
assert_eq "$(exec_of host)" "subprocess" "as a subprocess (the host has python3)"

mkdir "$MNT/functions/tagged"
cp "$WORK/fn.zip" "$MNT/functions/tagged/code.zip"
echo '{"Tags": {"lambdafs:executor": "docker"}}' > "$MNT/functions/tagged/config.json"
echo '{}' > "$MNT/functions/tagged/invoke"
assert_eq "$(exec_of tagged)" "docker" "the tag lambdafs:executor=docker picks docker"
assert_eq "$(json_get "$(cat "$MNT/functions/tagged/invoke")" root)" "/var/task" "and it runs in a container"
echo '{"Tags": {"lambdafs:executor": "subprocess"}}' > "$MNT/functions/tagged/config.json"
echo '{}' > "$MNT/functions/tagged/invoke"
assert_eq "$(exec_of tagged)" "subprocess" "retagged: back to a subprocess (config change drains)"

mkdir "$MNT/functions/image"
echo '{"PackageType": "Image", "ImageUri": "lambdafs-test/fn:1"}' > "$MNT/functions/image/config.json"
echo '{}' > "$MNT/functions/image/invoke"
assert_eq "$(exec_of image)" "docker" "an Image function runs in docker"

assert_eq "$(json_get "$MNT/status" executor)" "auto" "status: executor auto"
assert_eq "$(json_get "$MNT/status" warm_envs_by_executor.docker)" "1" "status: one docker environment"
assert_eq "$(json_get "$MNT/status" warm_envs_by_executor.subprocess)" "2" "status: two subprocess environments"
umount_fs

# a runtime the host lacks goes to docker (here ruby3.3 mapped to the
# python test image, whose runtime client only needs the handler)
mount_fs --executor auto --image ruby3.3=lambdafs-test/python:3.11
echo '{"Runtime": "ruby3.3", "Handler": "lambda_function.lambda_handler"}' > "$MNT/functions/host/config.json"
echo '{}' > "$MNT/functions/host/invoke"; rc=$?
assert_eq "$rc" 0 "a runtime the host lacks runs"
assert_eq "$(exec_of host)" "docker" "in docker"

# orphans: SIGKILL lambdafs with a warm container, then start again
assert_eq "$(ours)" "1" "one container before the crash"
kill_fs
assert_eq "$(ours)" "1" "the container outlives a SIGKILLed lambdafs"
mount_fs --executor auto
for _ in $(seq 1 100); do [ "$(ours)" = 0 ] && break; sleep 0.1; done
assert_eq "$(ours)" "0" "orphans removed at the next start"
assert_match "$(cat "$DLOG")" 'removed container [0-9a-f]{12} left by an earlier run' "and the log says so"
done_testing
