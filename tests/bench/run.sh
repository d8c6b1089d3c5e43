#!/usr/bin/env bash
# make bench: measures what DESIGN.md and the issues set goals for, with a
# floor measured in the same run wherever one exists. Prints one line per
# figure; numbers go into the README by hand.
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
start() { # extra daemon args...
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

echo "lambdafs bench $(date -u +%FT%TZ) on $(nproc) cores, kernel $(uname -r)"
start
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

# deploy of a 50 MB zip vs cp to tmpfs
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

# invoke: a python echo function, warm, through the mount
mkdir -p "$WORK/echo"
printf 'def handler(event, context):\n    return event\n' > "$WORK/echo/echo.py"
(cd "$WORK/echo" && zip -q ../echo.zip echo.py)
mkdir "$MNT/functions/echo"
echo '{"Runtime": "python3.11", "Handler": "echo.handler"}' > "$MNT/functions/echo/config.json"
cp "$WORK/echo.zip" "$MNT/functions/echo/code.zip"
"$BUILD/bench/invoke_bench" "$MNT/functions/echo/invoke" "$MNT/status" 2000
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
# cold start: a config change drains the environment, the next call is cold
coldest=()
for i in 1 2 3 4 5; do
	echo "{\"Description\": \"cold $i\"}" > "$MNT/functions/echo/config.json"
	echo '{}' > "$MNT/functions/echo/invoke"
done
cold=$(grep -o 'Init Duration: [0-9.]*' "$STATE/logs/functions/echo.log" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
t_py=$(median 11 /usr/bin/python3 -c pass)
echo "cold start (spawn to first /next, median of 5): $cold ms; /usr/bin/python3 -c pass: $(ms "$t_py") ms; ratio $(python3 -c "print('%.2f' % ($cold / ($t_py * 1000)))")x (goal <= 1.15x of interpreter start + bootstrap import)"
stop

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
: > "$STATE/logs/functions/echo.log"
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
stop