#!/usr/bin/env bash
# docker errors users can act on: dockerd not reachable (and recovery
# when it is back), image not present, container exits at init, dockerd
# restarted mid-invoke. Each is a clear invoke error; nothing hangs.
. "$(dirname "$0")/lib.sh"
require_fuse
require_docker
errno_of() { # file event: writes event, prints errno name then the response
	python3 - "$1" "$2" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, sys.argv[2].encode())
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.read(fd, 1 << 20).decode().strip())
PY
}
ours() { docker ps -aq --filter "label=lambdafs.owner=$STATE" | wc -l; }
mkfn() { # name: a python zip function
	mkdir "$MNT/functions/$1"
	cat > "$WORK/lambda_function.py" <<'PY'
import time
def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": event}
PY
	(cd "$WORK" && zip -q "$1.zip" lambda_function.py)
	cp "$WORK/$1.zip" "$MNT/functions/$1/code.zip"
}

# 1. dockerd not reachable: a DOCKER_HOST where nothing listens
DOCKER_HOST=unix://$WORK/nothing.sock mount_fs --executor docker
mkfn f
out=$(errno_of "$MNT/functions/f/invoke" '{}')
assert_eq "$(echo "$out" | head -n1)" "ENOEXEC" "dockerd unreachable: ENOEXEC"
assert_match "$(echo "$out" | tail -n1)" "cannot reach dockerd at unix://$WORK/nothing.sock.*start the Docker daemon" "the error says where and what to do"
assert_eq "$(json_get "$(echo "$out" | tail -n1)" errorType)" "Sandbox.DockerUnreachable" "errorType"
umount_fs

mount_fs --executor docker
F=$MNT/functions/f

# 2. image not present: named, with how to provide it
I=$MNT/functions/noimg
mkdir "$I"
echo '{"PackageType": "Image", "ImageUri": "lambdafs-test/absent:1"}' > "$I/config.json"
out=$(errno_of "$I/invoke" '{}')
assert_eq "$(echo "$out" | head -n1)" "ENOEXEC" "image not present: ENOEXEC"
msg=$(json_get "$(echo "$out" | tail -n1)" errorMessage)
assert_match "$msg" "image 'lambdafs-test/absent:1' is not present" "the error names the image"
assert_match "$msg" 'docker load.*docker import.*ImageUri' "and how to provide it"
echo '{"Runtime": "python3.12"}' > "$F/config.json"
out=$(errno_of "$F/invoke" '{}')
assert_eq "$(echo "$out" | head -n1)" "ENOEXEC" "runtime image not present: ENOEXEC"
assert_match "$(echo "$out" | tail -n1)" "public.ecr.aws/lambda/python:3.12.*--image RUNTIME=REF" "names the default image and --image"
echo '{"Runtime": "python3.11"}' > "$F/config.json"

# 3. the container exits at init
X=$MNT/functions/exits
mkdir "$X"
echo '{"PackageType": "Image", "ImageUri": "lambdafs-test/fn:1", "ImageConfig": {"EntryPoint": ["/bin/sh", "-c", "echo init is failing >&2; exit 3"]}}' > "$X/config.json"
out=$(errno_of "$X/invoke" '{}')
assert_eq "$(echo "$out" | head -n1)" "EREMOTEIO" "container exits at init: EREMOTEIO"
assert_match "$(echo "$out" | tail -n1)" 'exit status 3.*Runtime.ExitError' "Runtime.ExitError with the exit status"
assert_match "$(cat "$X/logs")" 'init is failing' "its output is in the log"
X=$MNT/functions/noentry
mkdir "$X"
echo '{"PackageType": "Image", "ImageUri": "lambdafs-test/fn:1", "ImageConfig": {"EntryPoint": ["/no/such/entrypoint"]}}' > "$X/config.json"
out=$(errno_of "$X/invoke" '{}')
# docker-init is PID 1 and cannot exec it: exit status 127, its reason logged
assert_eq "$(echo "$out" | head -n1)" "EREMOTEIO" "an entrypoint that does not exist: EREMOTEIO"
assert_match "$(echo "$out" | tail -n1)" 'exit status 127.*Runtime.ExitError' "Runtime.ExitError, exit status 127"
assert_match "$(cat "$X/logs")" 'exec /no/such/entrypoint failed' "the log names the entrypoint"

# 4. dockerd restarted mid-invoke (needs the daemon we started)
if [ -z "$DOCKERD_PID" ]; then
	diag "dockerd restart not tested: the Docker daemon is not ours to restart"
else
	echo '{"Timeout": 120}' > "$F/config.json"
	echo '{}' > "$F/invoke"
	starts=$(grep -c START "$F/logs")
	errno_of "$F/invoke" '{"sleep": 100}' > "$WORK/mid.out" &
	ipid=$!
	# restart once the invocation runs in the container
	for _ in $(seq 1 300); do
		[ "$(grep -c START "$F/logs")" -gt "$starts" ] && break
		sleep 0.1
	done
	sleep 0.5
	t0=$(date +%s)
	dockerd_restart
	for _ in $(seq 1 600); do kill -0 "$ipid" 2>/dev/null || break; sleep 0.1; done
	assert_true "the invocation in flight ended (did not hang)" bash -c "! kill -0 $ipid 2>/dev/null"
	wait "$ipid"
	diag "invoke ended $(( $(date +%s) - t0 )) s after the restart began: $(tail -n1 "$WORK/mid.out")"
	assert_eq "$(head -n1 "$WORK/mid.out")" "EREMOTEIO" "dockerd restart: EREMOTEIO"
	assert_match "$(tail -n1 "$WORK/mid.out")" 'Runtime.ExitError' "Runtime.ExitError"
	echo '{"again": 1}' > "$F/invoke"; rc=$?
	assert_eq "$rc" 0 "invoke works again once dockerd is back"
	assert_eq "$(json_get "$(cat "$F/invoke")" ok.again)" "1" "with the right answer"
	for _ in $(seq 1 50); do [ "$(ours)" -le 1 ] && break; sleep 0.1; done
	assert_eq "$(docker ps -aq --filter "label=lambdafs.owner=$STATE" --filter status=running | wc -l)" "1" "one running container"
	# now stop it for good: invocations fail fast, then recover
	dockerd_stop
	out=$(errno_of "$F/invoke" '{}')
	# the warm container died with dockerd: a cold start finds no daemon
	assert_eq "$(echo "$out" | head -n1)" "ENOEXEC" "dockerd stopped: ENOEXEC"
	assert_match "$(echo "$out" | tail -n1)" 'cannot reach dockerd' "says dockerd is unreachable"
	dockerd_start
	echo '{"back": 1}' > "$F/invoke"; rc=$?
	assert_eq "$rc" 0 "recovery when dockerd is back"
fi
umount_fs
assert_eq "$(ours)" "0" "no container left behind"
done_testing
