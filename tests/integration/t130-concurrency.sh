#!/usr/bin/env bash
# 200 concurrent callers on one function with --max-envs 4: every caller
# gets its own answer, none lost or crossed; at most 4 environments, and
# more than one: writers of one invoke file run side by side (fschan.h).
. "$(dirname "$0")/lib.sh"
require_fuse
mount_fs --max-envs 4
mkdir -p "$WORK/echo"
printf 'import time\ndef handler(event, context):\n    time.sleep(0.01)\n    return {"i": event["i"], "id": context.aws_request_id}\n' > "$WORK/echo/echo.py"
(cd "$WORK/echo" && zip -q ../echo.zip echo.py)
F=$MNT/functions/echo
mkdir "$F"
echo '{"Runtime": "python3.11", "Handler": "echo.handler"}' > "$F/config.json"
cp "$WORK/echo.zip" "$F/code.zip"
out=$(python3 - "$F/invoke" <<'PY'
import json, os, sys, threading
path = sys.argv[1]
results, errors = {}, []
def call(i):
    try:
        fd = os.open(path, os.O_RDWR)
        os.write(fd, json.dumps({"i": i}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        os.close(fd)
        results[i] = json.loads(data)
    except Exception as e:
        errors.append(f"{i}: {e}")
ts = [threading.Thread(target=call, args=(i,)) for i in range(200)]
for t in ts: t.start()
for t in ts: t.join()
crossed = sum(1 for i, r in results.items() if r.get("i") != i)
ids = len({r.get("id") for r in results.values()})
print(len(results), crossed, ids, len(errors))
for e in errors[:5]: print("#", e)
PY
)
set -- $out
assert_eq "$1" 200 "200 callers all answered"
assert_eq "$2" 0 "no answer crossed to another caller"
assert_eq "$3" 200 "200 distinct request ids"
assert_eq "$4" 0 "no errors"
envs=$(grep -c 'Init Duration' "$STATE/logs/functions/echo.log")
assert_true "at most 4 environments were started ($envs)" test "$envs" -le 4
assert_true "callers ran side by side on several environments ($envs)" test "$envs" -ge 2
done_testing
