#!/usr/bin/env bash
# make bench: measures what DESIGN.md and the issues set goals for, with a
# floor measured in the same run wherever one exists. Prints one line per
# figure; numbers go into the README by hand.
#
# BENCH_ONLY=docker,cold make bench runs only those sections: fs (ls, idle
# RSS), deploy, invoke (mount, HTTP, throughput), cold, docker.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
LAMBDAFS=$BUILD/lambdafs
WORK=$(mktemp -d /tmp/lambdafs-bench.XXXXXX)
MNT=$WORK/mnt
STATE=$WORK/state
mkdir -p "$MNT"
PID=
. "$TOP/tests/lib/dockerd.sh"
cleanup() {
	[ -n "$PID" ] && { fusermount3 -u "$MNT" 2>/dev/null; wait "$PID" 2>/dev/null; }
	docker_down
	rm -rf "$WORK" /dev/shm/lambdafs-bench.zip
}
trap cleanup EXIT
start() { # [--http ADDR:PORT] [--executor ...] extra daemon args
	"$LAMBDAFS" -f --state-dir "$STATE" --http off "$@" "$MNT" >>"$WORK/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 200); do [ -e "$MNT/status" ] && return 0; sleep 0.05; done
	echo "bench: mount failed" >&2; cat "$WORK/daemon.log" >&2; exit 1
}
stop() { fusermount3 -u "$MNT"; wait "$PID"; PID=; }
ms() { python3 -c 'import sys;print("%.1f"%(float(sys.argv[1])*1000))' "$1"; }
# median wall time in seconds of N runs of a command
median() {
	local n=$1; shift
	python3 - "$n" "$@" <<'PY'
import subprocess, sys, time
n = int(sys.argv[1]); cmd = sys.argv[2:]
ts = []
for _ in range(n):
    t = time.perf_counter(); subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    ts.append(time.perf_counter() - t)
ts.sort(); print("%.6f" % ts[len(ts)//2])
PY
}

want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }
mkdir -p "$WORK/echo"
printf 'def handler(event, context):\n    return event\n' > "$WORK/echo/echo.py"
(cd "$WORK/echo" && zip -q ../echo.zip echo.py)

echo "lambdafs bench $(date -u +%FT%TZ) on $(nproc) cores, kernel $(uname -r), load average $(cut -d" " -f1-3 /proc/loadavg)"
start
if want fs; then
# 1,000 functions
for i in $(seq -w 1 1000); do echo "$MNT/functions/fn$i"; done | xargs mkdir
stop; start
t_ls_cold=$(median 1 ls -l "$MNT/functions")
sleep 1.1	# let the 1 s attribute cache expire
t_ls=$(median 1 ls -l "$MNT/functions")
t_ls_cached=$(median 11 ls -l "$MNT/functions")
mkdir -p "$WORK/plain"; for i in $(seq -w 1 1000); do mkdir "$WORK/plain/fn$i"; done
t_ls_disk=$(median 11 ls -l "$WORK/plain")
echo "ls -l functions/ (1000 functions): first after mount $(ms "$t_ls_cold") ms, attributes expired $(ms "$t_ls") ms, cached $(ms "$t_ls_cached") ms (goal < 50 ms); same listing on the local disk: $(ms "$t_ls_disk") ms"

# idle RSS with 1,000 functions
sleep 1
rss=$(awk '/VmRSS/{print $2}' "/proc/$PID/status")
anon=$(awk '/^Anonymous/{print $2}' "/proc/$PID/smaps_rollup")
echo "daemon RSS idle with 1000 functions: $((rss / 1024)) MB ($rss kB, of which $anon kB private anonymous; the rest is shared library pages) (goal <= 20 MB)"
fi

# deploy of a 50 MB zip vs cp to tmpfs
if want deploy; then
python3 "$TOP/tests/lib/mkzip.py" big:49 "$WORK/big.zip"
mkdir "$MNT/functions/big"
t_floor=$(median 5 cp "$WORK/big.zip" /dev/shm/lambdafs-bench.zip)
# distinct zips so no deploy reuses an unpacked tree
tot=()
for i in 1 2 3; do
	python3 "$TOP/tests/lib/mkzip.py" "big:49:$i" "$WORK/b$i.zip"
	s=$(date +%s.%N); cp "$WORK/b$i.zip" "$MNT/functions/big/code.zip"; e=$(date +%s.%N)
	tot+=("$(python3 -c "print($e-$s)")")
	rm -f "$WORK/b$i.zip"
done
t_dep=$(printf '%s\n' "${tot[@]}" | sort -n | sed -n 2p)
echo "deploy of a $(($(stat -c %s "$WORK/big.zip") / 1048576)) MB zip: $(ms "$t_dep") ms; cp to tmpfs: $(ms "$t_floor") ms; ratio $(python3 -c "print('%.1f'%($t_dep/$t_floor))")x (goal <= 3x)"
fi

# invoke: a python echo function, warm, through the mount and over HTTP
# (the same daemon, so the two figures are comparable)
stop; start --http 127.0.0.1:0
mkdir "$MNT/functions/echo"
echo '{"Runtime": "python3.11", "Handler": "echo.handler"}' > "$MNT/functions/echo/config.json"
cp "$WORK/echo.zip" "$MNT/functions/echo/code.zip"
if want invoke; then
"$BUILD/bench/invoke_bench" "$MNT/functions/echo/invoke" "$MNT/status" 2000
addr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"]["address"])' "$MNT/status")
"$BUILD/bench/http_bench" "http://$addr/2015-03-31/functions/echo/invocations" 4000 16
t_shell=$(python3 - "$MNT/functions/echo/invoke" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(50):
    t = time.perf_counter()
    subprocess.run(["sh", "-c", 'echo "{}" > "$1"; cat "$1" > /dev/null', "_", sys.argv[1]], check=True)
    ts.append(time.perf_counter() - t)
ts.sort(); print("%.1f" % (ts[len(ts)//2] * 1000))
PY
)
echo "warm invoke with sh -c 'echo > invoke; cat invoke' (includes sh start): p50 $t_shell ms"
# throughput: N concurrent callers, each its own descriptor for the whole
# run (the same-fd conversation), on one function and spread over N
# functions. Callers open without O_TRUNC, so calls on one invoke file run
# in parallel (fschan.c); the environment count after each run shows how
# many ran at once (at most --max-envs, default 10).
for i in $(seq 2 32); do
	mkdir "$MNT/functions/echo$i"
	echo '{"Runtime": "python3.11", "Handler": "echo.handler"}' > "$MNT/functions/echo$i/config.json"
	cp "$WORK/echo.zip" "$MNT/functions/echo$i/code.zip"
done
throughput() { # callers invoke-files...: one line from invoke_bench, then envs used
	local n=$1 envs=0 f
	shift
	# a configuration change drains the warm pool: count only this run's
	for f in "$@"; do echo "{\"Description\": \"$n callers\"}" > "$(dirname "$f")/config.json"; done
	"$BUILD/bench/invoke_bench" -c "$n" -t 3 "$@" | tr -d '\n'
	for f in "$@"; do envs=$((envs + $(ls "$(dirname "$f")/instances" | wc -l))); done
	echo "; $envs environments"
}
echo "throughput (python echo, each caller its own fd for its whole run, 3 s): N callers on one function, then N callers over N functions"
for n in 1 2 8 32; do
	throughput "$n" "$MNT/functions/echo/invoke"
done
for n in 2 8 32; do
	files=("$MNT/functions/echo/invoke")
	for i in $(seq 2 "$n"); do files+=("$MNT/functions/echo$i/invoke"); done
	throughput "$n" "${files[@]}"
done
for i in $(seq 2 32); do rm -r "$MNT/functions/echo$i"; done
fi

# cold start (spawn to first /next, the Init Duration of REPORT): a config
# change drains the environment, so the next call is cold. Floors, with the
# interpreter the daemon runs (the first of /usr/local/bin, /usr/bin, /bin):
# the bare interpreter; python plus importing our bootstrap; and our
# bootstrap spawned directly against a trivial Runtime API, timed the same
# way (spawn to first /next, tests/bench/floor.py). The machine is
# shared, so the samples are interleaved: one of each per round, medians
# of 9 rounds.
interp() { for d in /usr/local/bin /usr/bin /bin; do [ -x "$d/$1" ] && { echo "$d/$1"; return; }; done; }
med() { sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
# Floors run in an environment like the one the daemon gives a runtime
# (ours may carry NODE_EXTRA_CA_CERTS and the like, which cost node 100 ms).
CLEAN=(env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=en_US.UTF-8 TZ=:UTC)
cold_vs() { # function task-root handler interpreter bootstrap floor-cmd...
	local fn=$1 root=$2 handler=$3 interp=$4 boot=$5 i
	shift 5
	: > "$WORK/floors"
	for i in 1 2 3 4 5 6 7 8 9; do
		echo "{\"Description\": \"cold $i\"}" > "$MNT/functions/$fn/config.json"
		echo '{}' > "$MNT/functions/$fn/invoke"
		printf '%s %s\n' \
			"$("${CLEAN[@]}" python3 "$TOP/tests/bench/floor.py" spawn 1 "$root" "$handler" "$interp" "$boot")" \
			"$("${CLEAN[@]}" python3 "$TOP/tests/bench/floor.py" run 1 "$@")" >> "$WORK/floors"
	done
	COLD=$(grep -o 'Init Duration: [0-9.]*' "$STATE/logs/functions/$fn.log" | tail -9 | awk '{print $3}' | med)
	SPAWN=$(awk '{print $1}' "$WORK/floors" | med)
	FLOOR=$(awk '{print $2}' "$WORK/floors" | med)
}
if want cold; then
PY=$(interp python3)
PYBOOT=$TOP/src/runtimes/python/bootstrap.py
cold_vs echo "$WORK/echo" echo.handler "$PY" "$PYBOOT" "$PY" -c pass
echo "cold start python (median of 9): $COLD ms; floors: $PY -c pass $FLOOR ms ($(ratio "$COLD" "$FLOOR")x); our bootstrap spawned directly to its first /next $SPAWN ms ($(ratio "$COLD" "$SPAWN")x)"
cold_vs echo "$WORK/echo" echo.handler "$PY" "$PYBOOT" \
	"$PY" -c "import sys; sys.path.insert(0, '$TOP/src/runtimes/python'); import bootstrap"
echo "cold start python (median of 9): $COLD ms; floor: $PY -c pass + importing our bootstrap $FLOOR ms ($(ratio "$COLD" "$FLOOR")x, goal <= 1.15x)"
NODE=$(interp node)
if [ -n "$NODE" ]; then
	mkdir -p "$WORK/echojs"
	printf 'export const handler = async (event) => event;\n' > "$WORK/echojs/index.mjs"
	(cd "$WORK/echojs" && zip -q ../echojs.zip index.mjs)
	mkdir "$MNT/functions/echojs"
	cp "$WORK/echojs.zip" "$MNT/functions/echojs/code.zip"
	cold_vs echojs "$WORK/echojs" index.handler "$NODE" "$TOP/src/runtimes/node/bootstrap.mjs" "$NODE" -e 0
	echo "cold start node (median of 9): $COLD ms; floors: $NODE -e 0 $FLOOR ms ($(ratio "$COLD" "$FLOOR")x, goal <= 1.15x); our bootstrap spawned directly to its first /next $SPAWN ms ($(ratio "$COLD" "$SPAWN")x)"
else
	echo "cold start node: not measured, node not installed"
fi
fi
stop
want docker || exit 0

# docker: `docker run --rm` of the same image (the floor: container start
# plus interpreter start), our cold start, our warm invoke
if ! docker_up; then
	echo "docker: not measured: $DOCKER_WHY"
	exit 0
fi
if ! "$TOP/tests/lib/mkimage.sh" images >"$WORK/mkimage.log" 2>&1; then
	echo "docker: not measured: cannot build the test images (see tests/lib/mkimage.sh)"
	exit 0
fi
IMG=lambdafs-test/python:3.11
docker run --rm --network host --init --entrypoint /usr/bin/python3 "$IMG" -c pass
t_floor=$(median 5 docker run --rm --network host --init --entrypoint /usr/bin/python3 "$IMG" -c pass)
start --executor docker --image "python3.11=$IMG"
D=$MNT/functions/echo
: > "$D/logs"
walls=()
for i in 1 2 3 4 5; do
	echo "{\"Description\": \"docker cold $i\"}" > "$D/config.json"
	s=$(date +%s.%N); echo '{}' > "$D/invoke"; e=$(date +%s.%N)
	walls+=("$(python3 -c "print($e-$s)")")
done
t_cold=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)
init=$(grep -o 'Init Duration: [0-9.]*' "$STATE/logs/functions/echo.log" | awk '{print $3}' | sort -n | sed -n 3p)
echo "docker cold start (config change, then echo > invoke; median of 5): $(ms "$t_cold") ms end to end, Init Duration $init ms; floor docker run --rm --init $IMG python3 -c pass: $(ms "$t_floor") ms; difference $(python3 -c "print('%.0f' % (($t_cold - $t_floor) * 1000))") ms (goal <= floor + 20 ms)"
printf 'docker warm: '
"$BUILD/bench/invoke_bench" "$D/invoke" "$MNT/status" 2000
# a function that prints: its line must come back through dockerd before
# END (the output marker, exec_docker.c)
mkdir -p "$WORK/chatty" "$MNT/functions/chatty"
printf 'def handler(event, context):\n    print("one line")\n    return event\n' > "$WORK/chatty/echo.py"
(cd "$WORK/chatty" && zip -q ../chatty.zip echo.py)
echo '{"Runtime": "python3.11", "Handler": "echo.handler"}' > "$MNT/functions/chatty/config.json"
cp "$WORK/chatty.zip" "$MNT/functions/chatty/code.zip"
printf 'docker warm, printing a line per call: '
"$BUILD/bench/invoke_bench" "$MNT/functions/chatty/invoke" "$MNT/status" 2000
stop