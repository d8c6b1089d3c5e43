#!/usr/bin/env bash
# --executor docker: a zip function in the runtime's image, an Image
# function, warm reuse, instances/ and status, the memory limit and Max
# Memory Used, a timeout kills the container, Zip <-> Image by writing
# config.json, containers removed at unmount.
# shellcheck disable=SC2320 # echo's status is the write's: the invocation's
. "$(dirname "$0")/lib.sh"
require_fuse
require_docker
vols0=$(docker volume ls -q | wc -l)
mount_fs --executor docker

ctr_of() { # function -> container id of its (only) warm environment
	local i
	i=$(ls "$MNT/functions/$1/instances" | head -n1)
	[ -n "$i" ] && json_get "$MNT/functions/$1/instances/$i" container
}
ours() { docker ps -aq --filter "label=lambdafs.owner=$STATE" | wc -l; }

# a zip function, python, in public.ecr.aws/lambda/python:3.11
F=$MNT/functions/zip
mkdir "$F"
cat > "$WORK/lambda_function.py" <<'PY'
import os, sys
def lambda_handler(event, context):
    if event.get("sleep"):
        import time; time.sleep(event["sleep"])
    if event.get("eat"):
        hog = bytearray(event["eat"] * 1024 * 1024)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
    print("in a container:", os.path.exists("/.dockerenv"))
    with open("/tmp/scratch", "w") as f:
        f.write("tmp is writable")
    return {"task_root": os.environ["LAMBDA_TASK_ROOT"], "cwd": os.getcwd(),
            "file": __file__, "api": os.environ["AWS_LAMBDA_RUNTIME_API"],
            "tmp": open("/tmp/scratch").read(), "event": event,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis()}
PY
(cd "$WORK" && zip -q zip.zip lambda_function.py)
cp "$WORK/zip.zip" "$F/code.zip"
echo '{"MemorySize": 256, "Timeout": 3}' > "$F/config.json"
assert_eq "$(json_get "$F/config.json" Runtime)" "python3.11" "runtime inferred (the host's python)"
echo '{"n":1}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "invoke in docker succeeds"
out=$(cat "$F/invoke")
assert_eq "$(json_get "$out" task_root)" "/var/task" "LAMBDA_TASK_ROOT is /var/task"
assert_eq "$(json_get "$out" file)" "/var/task/lambda_function.py" "the code is at /var/task"
assert_eq "$(json_get "$out" tmp)" "tmp is writable" "/tmp is writable"
assert_eq "$(json_get "$out" memory)" "256" "context.memory_limit_in_mb"
# the container's start and the runtime's init do not count against
# Timeout (3 s): the deadline runs from when the event is handed over
rem=$(json_get "$out" remaining)
assert_true "a cold start's handler has nearly all of Timeout left ($rem ms of 3000)" test "$rem" -gt 2900
assert_match "$(json_get "$out" api)" '^127\.0\.0\.1:[0-9]+$' "AWS_LAMBDA_RUNTIME_API on the host network"
assert_match "$(cat "$F/logs")" 'in a container: True' "print() reaches the log"
inst=$(ls "$F/instances")
assert_eq "$(json_get "$F/instances/$inst" executor)" "docker" "instances/ shows the executor"
ctr=$(ctr_of zip)
assert_match "$ctr" '^[0-9a-f]{64}$' "instances/ names the container"
assert_eq "$(docker inspect -f '{{.HostConfig.Memory}}' "$ctr")" "$((256 * 1024 * 1024))" "MemorySize is the container's memory limit"
assert_eq "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$ctr")" "host" "host network"
assert_eq "$(docker inspect -f '{{index .Config.Labels "lambdafs.function"}}' "$ctr")" "zip" "labelled with the function"
assert_eq "$(docker inspect -f '{{index .Config.Labels "lambdafs.owner"}}' "$ctr")" "$STATE" "labelled with the state dir"
assert_match "$(docker inspect -f '{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}' "$ctr")" '/var/task=false' "code bind-mounted read-only"
assert_eq "$(json_get "$MNT/status" executor)" "docker" "status shows the executor"
assert_eq "$(json_get "$MNT/status" docker.reachable)" "True" "status: dockerd reachable"
assert_eq "$(json_get "$MNT/status" docker.network)" "host" "status: host network"
assert_eq "$(json_get "$MNT/status" warm_envs_by_executor.docker)" "1" "status counts docker environments"

# warm reuse: same container, no Init Duration
echo '{"n":2}' > "$F/invoke"
echo '{"n":3}' > "$F/invoke"
assert_eq "$(ctr_of zip)" "$ctr" "warm invocations reuse the container"
assert_eq "$(grep -c 'Init Duration' "$F/logs")" "1" "only the first invocation is cold"
assert_eq "$(ours)" "1" "one container for one warm environment"

# Max Memory Used comes from the container's cgroup
echo '{"eat": 60}' > "$F/invoke"
used=$(grep REPORT "$F/logs" | tail -n1 | sed -n 's/.*Max Memory Used: \([0-9]*\) MB.*/\1/p')
assert_true "Max Memory Used ($used MB) measured after eating 60 MB" test "${used:-0}" -ge 60

# out of memory: the container is killed, ENOMEM, Runtime.OutOfMemory
# (a generous Timeout: reclaim before the kill is slow on a loaded machine)
echo '{"Timeout": 60}' > "$F/config.json"
out=$(python3 - "$F/invoke" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, b'{"eat": 400}')
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.read(fd, 1 << 20).decode().strip())
PY
)
assert_eq "$(echo "$out" | head -n1)" "ENOMEM" "over MemorySize: ENOMEM"
assert_match "$(echo "$out" | tail -n1)" 'Runtime.OutOfMemory' "Runtime.OutOfMemory"
echo '{"Timeout": 3}' > "$F/config.json"

# a timeout kills the container; the next call starts a new one
bash -c 'echo "{\"sleep\": 10}" > "$1"' _ "$F/invoke" 2>/dev/null; rc=$?
assert_eq "$rc" 1 "timeout fails the write"
assert_match "$(cat "$F/invoke")" 'Task timed out after 3.00 seconds' "timeout error"
for _ in $(seq 1 100); do docker inspect "$ctr" >/dev/null 2>&1 || break; sleep 0.1; done
assert_true "the timed-out container is gone" bash -c "! docker inspect '$ctr' >/dev/null 2>&1"
echo '{"n":4}' > "$F/invoke"
assert_eq "$(json_get "$(cat "$F/invoke")" event.n)" "4" "next call works (cold start)"
assert_true "in a new container" test "$(ctr_of zip)" != "$ctr"

# layers at /opt: two layers with the same directory python/ merge at
# every depth (an overlay, as on AWS), the later layer winning a file
for l in la lb; do
	mkdir -p "$WORK/$l/python" "$WORK/$l/$l-only"
	echo "WHO = '$l'" > "$WORK/$l/python/who.py"
	echo "X = 1" > "$WORK/$l/python/only_$l.py"
	(cd "$WORK/$l" && zip -qr "../$l.zip" .)
	mkdir "$MNT/layers/$l"
	cp "$WORK/$l.zip" "$MNT/layers/$l/layer.zip"
done
L=$MNT/functions/layered
mkdir "$L"
cat > "$WORK/lambda_function.py" <<'PY'
import os, who
def lambda_handler(event, context):
    return {"who": who.WHO, "opt": sorted(os.listdir("/opt")),
            "python": sorted(os.listdir("/opt/python")),
            "ro": not os.access("/opt/python", os.W_OK)}
PY
(cd "$WORK" && zip -q layered.zip lambda_function.py)
cp "$WORK/layered.zip" "$L/code.zip"
echo '{"Layers": ["la", "lb"]}' > "$L/config.json"
echo '{}' > "$L/invoke"; rc=$?
assert_eq "$rc" 0 "a function with two layers runs"
out=$(cat "$L/invoke")
assert_eq "$(json_get "$out" who)" "lb" "the later layer wins /opt/python"
assert_eq "$(json_get "$out" opt)" '["la-only", "lb-only", "python"]' "every layer's entries are in /opt"
assert_eq "$(json_get "$out" python)" '["only_la.py", "only_lb.py", "who.py"]' "a directory in two layers holds both layers' files"
assert_eq "$(json_get "$out" ro)" "True" "/opt is read-only"

# an Image function: the image's entrypoint and command
I=$MNT/functions/img
mkdir "$I"
echo '{"PackageType": "Image", "ImageUri": "lambdafs-test/fn:1"}' > "$I/config.json"; rc=$?
assert_eq "$rc" 0 "PackageType Image accepted"
assert_eq "$(json_get "$I/config.json" PackageType)" "Image" "config.json shows PackageType Image"
echo '{"i":1}' > "$I/invoke"; rc=$?
assert_eq "$rc" 0 "Image function invoke succeeds"
out=$(cat "$I/invoke")
assert_eq "$(json_get "$out" image)" "True" "the image's handler ran"
assert_eq "$(json_get "$out" function)" "img" "context.function_name"
assert_match "$(cat "$I/logs")" 'image function says hello' "its output is in the log"
icmd=$(docker inspect -f '{{json .Config.Cmd}}' "$(ctr_of img)")
assert_eq "$icmd" '["app.handler"]' "the image's own CMD"
# output printed before the answer stays between START and END: the
# daemon is local, so lambdafs sends a marker down the container's own
# stdout/stderr pipes and waits for it to come back through dockerd
for i in $(seq 1 20); do echo "{\"i\":$i}" > "$I/invoke"; done
outside=$(awk '{ m = $0; sub(/^[^ ]+ /, "", m) }
	m ~ /^START/ { inside = 1 } m ~ /^END/ { inside = 0 }
	m ~ /says hello/ && !inside { n++ } END { print n + 0 }' "$I/logs")
assert_eq "$outside" 0 "the Image function's lines stay inside START..END"

# the same with a flood: 200 lines on stdout and 200 on stderr just
# before each answer, 15 times; none lost, none outside, and text that
# looks like a marker passes through unchanged
C=$MNT/functions/chatty
mkdir "$C"
cat > "$WORK/lambda_function.py" <<'PY'
import sys
def lambda_handler(event, context):
    n = event["n"]
    for i in range(200):
        print("out %d.%d" % (n, i))
        sys.stderr.write("err %d.%d\n" % (n, i))
    sys.stdout.write("decoy \x1elambdafs-sync:0123456789abcdef\x1f \x1e\x1e end\n")
    sys.stdout.write("partial no newline")
    sys.stdout.flush(); sys.stderr.flush()
    return n
PY
(cd "$WORK" && rm -f chatty.zip && zip -q chatty.zip lambda_function.py)
cp "$WORK/chatty.zip" "$C/code.zip"
# with the CPUs busy, as on a loaded CI machine, where dockerd lags most
hogs=()
for _ in 1 2 3; do sh -c 'while :; do :; done' & hogs+=($!); done
for n in $(seq 1 15); do echo "{\"n\":$n}" > "$C/invoke" || echo "invoke $n failed" >&2; done
kill "${hogs[@]}"; for h in "${hogs[@]}"; do wait "$h" 2>/dev/null; done
read -r inside outside <<<"$(awk '{ m = $0; sub(/^[^ ]+ /, "", m) }
	m ~ /^START/ { in_ = 1 } m ~ /^END/ { in_ = 0 }
	m ~ /(out|err) [0-9]+\.[0-9]+/ { if (in_) a++; else b++ }
	END { print a + 0, b + 0 }' "$C/logs")"
assert_eq "$outside" 0 "no line of a flood lands outside START..END"
assert_eq "$inside" 6000 "every line of the flood is logged once"
assert_eq "$(grep -c $'decoy \x1elambdafs-sync:0123456789abcdef\x1f \x1e\x1e end' "$C/logs")" 15 "marker-like output passes through unchanged"
assert_eq "$(grep -c 'partial no newline' "$C/logs")" 15 "a last line without a newline is logged"
assert_eq "$(grep -o 'lambdafs-sync:' "$C/logs" | wc -l)" 15 "no marker of ours reaches the log (only the decoys)"
rmdir "$C" 2>/dev/null || rm -r "$C"

# ImageConfig overrides the command; WorkingDirectory too
echo '{"ImageConfig": {"Command": ["app.handler"], "WorkingDirectory": "/tmp"}}' > "$I/config.json"
echo '{"i":2}' > "$I/invoke"
assert_eq "$(json_get "$(cat "$I/invoke")" cwd)" "/tmp" "ImageConfig.WorkingDirectory"
assert_eq "$(json_get "$I/config.json" ImageConfigResponse.ImageConfig.WorkingDirectory)" "/tmp" "ImageConfigResponse"

# Zip -> Image -> Zip by writing config.json
echo '{"PackageType": "Image", "ImageUri": "lambdafs-test/fn:1"}' > "$F/config.json"
echo '{"z":1}' > "$F/invoke"
assert_eq "$(json_get "$(cat "$F/invoke")" image)" "True" "a zip function switched to Image runs the image"
echo '{"PackageType": "Zip"}' > "$F/config.json"
echo '{"z":2}' > "$F/invoke"
assert_eq "$(json_get "$(cat "$F/invoke")" task_root)" "/var/task" "and back to Zip runs the code"
echo '{"ImageUri": null, "PackageType": "Image"}' > "$F/config.json"
out=$(python3 - "$F/invoke" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, b"{}")
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.read(fd, 1 << 20).decode().strip())
PY
)
assert_eq "$(echo "$out" | head -n1)" "ENOEXEC" "PackageType Image without ImageUri: ENOEXEC"
assert_match "$(echo "$out" | tail -n1)" 'no ImageUri: set it in config.json' "with the fix"
echo '{"PackageType": "Zip"}' > "$F/config.json"
echo '{"z":3}' > "$F/invoke"

# --image RUNTIME=REF: restart with an override for python3.11
n=$(ours)
assert_true "containers exist before unmount ($n)" test "$n" -ge 2
umount_fs
assert_eq "$(ours)" "0" "containers removed at unmount"
assert_eq "$(docker volume ls -q | wc -l)" "$vols0" "and the layers' overlay volumes with them"
mount_fs --executor docker --image python3.11=lambdafs-test/python:3.11
echo '{"n":5}' > "$F/invoke"
assert_eq "$(docker inspect -f '{{.Config.Image}}' "$(ctr_of zip)")" "lambdafs-test/python:3.11" "--image picks the runtime's image"
done_testing
