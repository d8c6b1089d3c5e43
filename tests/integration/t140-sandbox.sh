#!/usr/bin/env bash
# The subprocess executor's sandbox and memory limit: code at /var/task,
# layers merged at /opt (later wins), a private /tmp, nothing created on
# the host; MemorySize enforced by a memory cgroup (Runtime.OutOfMemory,
# ENOMEM, Max Memory Used from the cgroup peak), nothing left after
# unmount. Then the fallbacks (LAMBDAFS_NO_NAMESPACES, LAMBDAFS_NO_CGROUPS:
# real paths, RSS watch) and, when possible, an unprivileged daemon in a
# user namespace.
. "$(dirname "$0")/lib.sh"
require_fuse
command -v python3 >/dev/null || skip_all "python3 missing"

had_var_task=no
[ -e /var/task ] && had_var_task=yes

# --- fixtures: one python function, two layers ---------------------------
mkdir -p "$WORK/fn" "$WORK/l1/python" "$WORK/l2/bin" "$WORK/l2/python"
cat > "$WORK/fn/lambda_function.py" <<'PY'
import errno, json, os, subprocess, time

def lambda_handler(event, context):
    act = event.get("act", "look")
    if act == "alloc":
        chunks = [b"x" * (1 << 20) for _ in range(event["mb"])]
        time.sleep(event.get("hold", 0.5))
        return {"held": len(chunks)}
    if act == "write-tmp":
        with open(os.path.join(os.environ["TMPDIR"], event["name"]), "w") as f:
            f.write("secret")
    if act in ("write-tmp", "ls-tmp"):
        return {"tmp": sorted(os.listdir(os.environ["TMPDIR"]))}
    out = {"cwd": os.getcwd(), "task": sorted(os.listdir(".")),
           "env": {k: os.environ.get(k, "") for k in (
               "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TMPDIR", "PATH",
               "LD_LIBRARY_PATH", "PYTHONPATH", "LAMBDAFS_OPT_DIRS")}}
    try:
        out["shared"] = open("/opt/shared.txt").read().strip()
        out["only1"] = os.path.exists("/opt/only1.txt")
        out["hello"] = subprocess.run(["hello"], capture_output=True,
                                      text=True).stdout.strip()
    except OSError as e:
        out["opt_error"] = errno.errorcode[e.errno]
    try:
        import greet  # from a layer's python/ directory, via sys.path
        out["greet"] = greet.WHO
    except ImportError:
        out["greet"] = None
    try:
        open("x", "w")
        out["task_write"] = "ok"
    except OSError as e:
        out["task_write"] = errno.errorcode[e.errno]
    out["root"] = sorted(os.listdir("/"))
    return out
PY
echo one > "$WORK/l1/shared.txt"
echo only > "$WORK/l1/only1.txt"
echo 'WHO = "l1"' > "$WORK/l1/python/greet.py"
echo two > "$WORK/l2/shared.txt"
printf '#!/bin/sh\necho hello from layer 2\n' > "$WORK/l2/bin/hello"
chmod 755 "$WORK/l2/bin/hello"
echo 'WHO = "l2"' > "$WORK/l2/python/greet.py"
(cd "$WORK/fn" && zip -q ../fn.zip lambda_function.py)
(cd "$WORK/l1" && zip -qr ../l1.zip .)
(cd "$WORK/l2" && zip -qr ../l2.zip .)
# a custom runtime whose interpreter does not exist: exec fails in the child
mkdir -p "$WORK/bad"
printf '#!/nonexistent/sh\n' > "$WORK/bad/bootstrap"
chmod 755 "$WORK/bad/bootstrap"
(cd "$WORK/bad" && zip -q ../bad.zip bootstrap)

invoke() { # function event: prints errno name (or OK), then the response
	python3 - "$MNT/functions/$1/invoke" "$2" <<'PY'
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
deploy() { # function zip [config-json]
	mkdir "$MNT/functions/$1" && cp "$2" "$MNT/functions/$1/code.zip" &&
		{ [ -z "${3:-}" ] || echo "$3" > "$MNT/functions/$1/config.json"; }
}
report_mem() { # function: Max Memory Used of the last REPORT
	grep REPORT "$MNT/functions/$1/logs" | tail -1 |
		sed -n 's/.*Max Memory Used: \([0-9]*\) MB.*/\1/p'
}
instance_pids() {
	local f
	for f in "$MNT"/functions/*/instances/*.json; do
		[ -e "$f" ] && json_get "$f" pid
	done
}

# --- phase 1: the default daemon ------------------------------------------
mount_fs
iso=$(json_get "$MNT/status" isolation)
mem=$(json_get "$MNT/status" memory)
diag "isolation: $iso; memory: $mem"
assert_match "$iso" '^(mount-namespace|user-namespace|none \(.+\))$' "status says the isolation"
assert_match "$mem" '^(cgroup-v[12] \(/.+\)|rss \(.+\))$' "status says the memory accounting"
assert_match "$("$LAMBDAFS" --check)" $'isolation +'"${iso%% *}" "--check agrees with status"

mkdir "$MNT/layers/l1" "$MNT/layers/l2"
cp "$WORK/l1.zip" "$MNT/layers/l1/layer.zip"
cp "$WORK/l2.zip" "$MNT/layers/l2/layer.zip"
deploy look "$WORK/fn.zip" '{"Layers": ["l1", "l2"]}'
deploy other "$WORK/fn.zip"

if [[ $iso == none* ]]; then
	diag "no namespaces on this host ($iso): /var/task checks skipped"
	ok "# SKIP /var/task and /opt checks: $iso"
else
	out=$(invoke look '{}')
	assert_eq "$(head -1 <<< "$out")" OK "invoke in the sandbox"
	r=$(tail -1 <<< "$out")
	assert_eq "$(json_get "$r" cwd)" /var/task "cwd is /var/task"
	assert_eq "$(json_get "$r" task)" '["lambda_function.py"]' "/var/task lists the code"
	assert_eq "$(json_get "$r" env.LAMBDA_TASK_ROOT)" /var/task "LAMBDA_TASK_ROOT=/var/task"
	assert_eq "$(json_get "$r" env.TMPDIR)" /tmp "TMPDIR=/tmp"
	assert_eq "$(json_get "$r" env.PATH)" /usr/local/bin:/usr/bin/:/bin:/opt/bin "PATH as on AWS"
	assert_eq "$(json_get "$r" env.LD_LIBRARY_PATH)" /lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib "LD_LIBRARY_PATH as on AWS"
	assert_eq "$(json_get "$r" env.PYTHONPATH)" /var/runtime "PYTHONPATH=/var/runtime"
	assert_eq "$(json_get "$r" env.LAMBDAFS_OPT_DIRS)" "" "no LAMBDAFS_OPT_DIRS"
	assert_eq "$(json_get "$r" shared)" two "layers merged at /opt, the later wins"
	assert_eq "$(json_get "$r" only1)" True "files of the earlier layer are there too"
	assert_eq "$(json_get "$r" hello)" "hello from layer 2" "/opt/bin is on PATH"
	assert_eq "$(json_get "$r" greet)" l2 "/opt/python is on sys.path, later layer first"
	assert_eq "$(json_get "$r" task_write)" EROFS "/var/task is read-only"
	top=$(json_get "$r" root)
	assert_match "$top" '"usr".*"var"' "a small root with /usr and /var"
	assert_true "nothing else of the host at / ($top)" \
		bash -c '! grep -Eq "\"(home|root|work|srv|mnt|boot)\"" <<< "$1"' _ "$top"
	if [ "$had_var_task" = no ]; then
		assert_true "the host has no /var/task" test ! -e /var/task
	fi
	assert_eq "$(grep -c ' /var/task \| /opt ' /proc/self/mountinfo)" 0 "no sandbox mount leaks to the host"

	# a private /tmp per environment
	mark=lambdafs-t140-$$-$RANDOM
	r=$(invoke look "{\"act\": \"write-tmp\", \"name\": \"$mark\"}" | tail -1)
	assert_match "$(json_get "$r" tmp)" "\"$mark\"" "the function sees its /tmp file"
	assert_true "it is not in the host's /tmp" test ! -e "/tmp/$mark"
	r=$(invoke other '{"act": "ls-tmp"}' | tail -1)
	assert_eq "$(json_get "$r" tmp)" '[]' "another function's /tmp is empty"
	r=$(invoke look '{"act": "ls-tmp"}' | tail -1)
	assert_match "$(json_get "$r" tmp)" "\"$mark\"" "the warm environment keeps its /tmp"

	# a failed exec inside the namespace is a clear ENOEXEC
	if [ "${VALGRIND:-0}" = 1 ]; then
		ok "# SKIP failed exec: valgrind kills a forked child whose execve fails"
	else
		deploy bad "$WORK/bad.zip"
		out=$(invoke bad '{}')
		assert_eq "$(head -1 <<< "$out")" ENOEXEC "exec failure in the child: ENOEXEC"
		assert_eq "$(json_get "$(tail -1 <<< "$out")" errorType)" Runtime.InvalidEntrypoint "errorType Runtime.InvalidEntrypoint"
		assert_match "$(tail -1 <<< "$out")" 'execve /var/task/bootstrap: No such file or directory' "and the cause"
	fi
fi

if [[ $mem == rss* ]]; then
	diag "no memory cgroup ($mem): cgroup checks skipped"
	ok "# SKIP cgroup checks: $mem"
	cgdir=
else
	cgdir=$(sed -n 's/^cgroup-v[12] (\(.*\))$/\1/p' <<< "$mem")
	assert_true "the daemon's parent cgroup exists" test -d "$cgdir"
	echo '{"MemorySize": 128, "Timeout": 30}' > "$MNT/functions/look/config.json"
	out=$(invoke look '{"act": "alloc", "mb": 50}')
	assert_eq "$(head -1 <<< "$out")" OK "50 MB within 128 MB works"
	used=$(report_mem look)
	assert_true "Max Memory Used is plausible (50 <= $used < 128)" test "$used" -ge 50 -a "$used" -lt 128
	assert_eq "$(ls -d "$cgdir"/look-* | wc -l)" 1 "one cgroup for the environment"
	assert_eq "$(cat "$cgdir"/look-*/memory.limit_in_bytes 2>/dev/null ||
		cat "$cgdir"/look-*/memory.max)" $((128 << 20)) "its limit is MemorySize"
	inits=$(grep -c 'Init Duration' "$MNT/functions/look/logs")
	out=$(invoke look '{"act": "alloc", "mb": 300}')
	assert_eq "$(head -1 <<< "$out")" ENOMEM "allocating past MemorySize: ENOMEM"
	r=$(tail -1 <<< "$out")
	assert_eq "$(json_get "$r" errorType)" Runtime.OutOfMemory "errorType Runtime.OutOfMemory"
	assert_match "$(json_get "$r" errorMessage)" '^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$' "errorMessage as on AWS"
	rep=$(grep REPORT "$MNT/functions/look/logs" | tail -1)
	assert_match "$rep" $'\tStatus: error\tError Type: Runtime.OutOfMemory' "REPORT says Status: error, Runtime.OutOfMemory"
	used=$(report_mem look)
	assert_true "Max Memory Used is near the limit (100 <= $used <= 128)" test "$used" -ge 100 -a "$used" -le 128
	out=$(invoke look '{"act": "alloc", "mb": 1}')
	assert_eq "$(head -1 <<< "$out")" OK "the next invoke works"
	assert_eq "$(grep -c 'Init Duration' "$MNT/functions/look/logs")" $((inits + 1)) "on a fresh environment (cold start)"
fi

pids=$(instance_pids)
assert_match "$pids" '[0-9]' "environments are running before unmount"
umount_fs
for p in $pids; do
	assert_true "environment $p is gone after unmount" test ! -e "/proc/$p"
done
if [ -n "$cgdir" ]; then
	assert_true "no cgroup left after unmount" test ! -e "$cgdir"
fi

# --- phase 2: no namespaces, no cgroups (debugging knobs) -----------------
STATE=$WORK/state2
DLOG=$WORK/daemon2.log
LAMBDAFS_NO_NAMESPACES=1 LAMBDAFS_NO_CGROUPS=1 mount_fs
assert_eq "$(json_get "$MNT/status" isolation)" "none (LAMBDAFS_NO_NAMESPACES is set)" "LAMBDAFS_NO_NAMESPACES: isolation none"
assert_eq "$(json_get "$MNT/status" memory)" "rss (LAMBDAFS_NO_CGROUPS is set)" "LAMBDAFS_NO_CGROUPS: RSS accounting"
mkdir "$MNT/layers/l1" "$MNT/layers/l2"
cp "$WORK/l1.zip" "$MNT/layers/l1/layer.zip"
cp "$WORK/l2.zip" "$MNT/layers/l2/layer.zip"
deploy look "$WORK/fn.zip" '{"Layers": ["l1", "l2"], "MemorySize": 128, "Timeout": 30}'
r=$(invoke look '{}' | tail -1)
root=$(json_get "$r" env.LAMBDA_TASK_ROOT)
assert_match "$root" "^$STATE/tree/[0-9a-f]{64}\$" "real paths: LAMBDA_TASK_ROOT is the unpacked tree"
assert_eq "$(json_get "$r" cwd)" "$root" "cwd is the tree"
assert_match "$(json_get "$r" env.LAMBDAFS_OPT_DIRS)" "^$STATE/tree/[0-9a-f]{64}:$STATE/tree/[0-9a-f]{64}\$" "layers passed as LAMBDAFS_OPT_DIRS"
assert_eq "$(json_get "$r" greet)" l2 "the later layer still wins"
assert_match "$(json_get "$r" env.TMPDIR)" "^$STATE/run/look/[0-9]+/tmp\$" "TMPDIR is the environment's own directory"
out=$(invoke look '{"act": "alloc", "mb": 300, "hold": 2}')
assert_eq "$(head -1 <<< "$out")" ENOMEM "RSS watch: past MemorySize is ENOMEM"
assert_eq "$(json_get "$(tail -1 <<< "$out")" errorType)" Runtime.OutOfMemory "RSS watch: Runtime.OutOfMemory"
used=$(report_mem look)
assert_true "RSS watch: Max Memory Used is at least the limit ($used)" test "$used" -ge 128
out=$(invoke look '{"act": "alloc", "mb": 20}')
assert_eq "$(head -1 <<< "$out")" OK "RSS watch: within the limit works"
umount_fs

# --- phase 3: an unprivileged daemon (user namespace) ---------------------
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	ok "# SKIP unprivileged daemon: needs root to switch to nobody and setpriv"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$LAMBDAFS"; then
	ok "# SKIP unprivileged daemon: nobody cannot run $LAMBDAFS"
else
	chmod 755 "$WORK"
	chmod 644 "$WORK"/*.zip
	U=$WORK/u
	mkdir -p "$U/mnt"
	chown -R 65534:65534 "$U"
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$U" "$@"; }
	# the probe builds a whole sandbox (binds, overlayfs of two
	# layers, pivot_root) in a user namespace
	chk=$(asnobody "$LAMBDAFS" --check --state-dir "$U/state")
	uiso=$(sed -n 's/^isolation *//p' <<< "$chk")
	diag "unprivileged --check: isolation $uiso"
	assert_match "$uiso" '^(user-namespace|none \(.+\))$' "unprivileged: isolation is a user namespace or says why not"
	assert_match "$(sed -n 's/^memory *//p' <<< "$chk")" '^rss \(' "unprivileged: RSS accounting (the cgroup tree is root's)"
	if [ "$uiso" != user-namespace ]; then
		ok "# SKIP unprivileged invoke: $uiso"
	elif ! asnobody test -r /dev/fuse -a -w /dev/fuse; then
		ok "# SKIP unprivileged invoke: nobody cannot open /dev/fuse here"
	else
		MNT=$U/mnt
		DLOG=$WORK/daemon3.log
		asnobody "$LAMBDAFS" -f --state-dir "$U/state" --http off "$MNT" >> "$DLOG" 2>&1 &
		DAEMON_PID=$!
		if asnobody sh -c 'for i in $(seq 200); do [ -e "$1/status" ] && exit 0; sleep 0.05; done; exit 1' _ "$MNT"; then
			r=$(asnobody sh -c 'mkdir "$1/functions/look" && cp "$2" "$1/functions/look/code.zip" &&
				echo "{}" > "$1/functions/look/invoke" && cat "$1/functions/look/invoke"' _ "$MNT" "$WORK/fn.zip")
			assert_eq "$(json_get "$r" cwd)" /var/task "unprivileged: code at /var/task (user namespace)"
			assert_eq "$(json_get "$r" opt_error)" ENOENT "unprivileged: empty /opt without layers"
			asnobody fusermount3 -u "$MNT"
		else
			not_ok "unprivileged daemon mounts"; sed 's/^/# /' "$DLOG"
			kill "$DAEMON_PID"
		fi
		wait "$DAEMON_PID"; rc=$?
		DAEMON_PID=
		assert_eq "$rc" 0 "unprivileged daemon exits 0"
		check_daemon_log
	fi
fi
done_testing
