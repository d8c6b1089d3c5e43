"""invoke.py ADDR MNT WORK - Invoke over the Lambda HTTP API: the body
byte for byte, empty body, DryRun, Tail logs, function errors,
ClientContext, the RIE path, keep-alive, and concurrency (a slow
invocation does not hold up others; many clients each get their own
answer). Run by tests/integration/t610-http-invoke.sh."""
import base64
import json
import os
import threading

from httptap import (PY_ECHO, args, boto, done, eq, jbody, make_zip, ok,
                     raises, read, request)

addr, mnt, work = args()
lam = boto("lambda", addr)
ROLE = "arn:aws:iam::000000000000:role/lambda"
INV = "/2015-03-31/functions/%s/invocations"


def create(name, files, runtime="python3.11", handler="fn.handler",
           **kw):
    return lam.create_function(FunctionName=name, Runtime=runtime,
                               Role=ROLE, Handler=handler,
                               Code={"ZipFile": make_zip(files)}, **kw)


# a custom runtime that answers with the event's bytes, untouched
RAW_BOOTSTRAP = r"""#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
while :; do
	curl -sS -D "$TMPDIR/h" -o "$TMPDIR/ev" "$API/next"
	id=$(grep -i '^lambda-runtime-aws-request-id:' "$TMPDIR/h" | tr -d '\r' | cut -d' ' -f2)
	echo "raw runtime got $(wc -c < "$TMPDIR/ev") bytes"
	curl -sS -o /dev/null --data-binary @"$TMPDIR/ev" "$API/$id/response"
done
"""
create("raw", {"bootstrap": (RAW_BOOTSTRAP, 0o755)},
       runtime="provided.al2023", handler="x")
create("echo", {"fn.py": PY_ECHO}, Timeout=60)  # slow under valgrind
create("err", {"fn.py": "def handler(event, context):\n"
               "    print('about to fail')\n"
               "    raise ValueError('bad ' + str(event.get('n')))\n"})
create("chatty", {"fn.py": "def handler(event, context):\n"
                  "    for i in range(200):\n"
                  "        print('line %03d ' % i + 'x' * 60)\n"
                  "    return 'done'\n"})
create("ctx", {"fn.py": "def handler(event, context):\n"
               "    cc = context.client_context\n"
               "    return {'custom': cc.custom if cc else None}\n"})
create("slow", {"fn.py": "import time\n"
                "def handler(event, context):\n"
                "    time.sleep(event.get('sleep', 0))\n"
                "    return event\n"}, Timeout=60)
create("tmo", {"fn.py": "import time\n"
               "def handler(event, context):\n"
               "    time.sleep(10)\n"}, Timeout=1)

# --- the body, byte for byte, and the headers ---
body = '{"a" :  [1,2 ,3],\n "s": "\u00e9 \u2713", "n": 1.50}'.encode()
st, h, data = request(addr, "POST", INV % "raw", body)
eq(st, 200, "Invoke: 200")
eq(data, body, "Invoke: the payload comes back byte for byte")
eq(h.get("x-amz-executed-version"), "$LATEST", "X-Amz-Executed-Version")
ok("x-amz-function-error" not in h, "no X-Amz-Function-Error on success")
rid = h.get("x-amzn-requestid", "")
log = read(os.path.join(mnt, "functions", "raw", "logs")).decode()
ok(rid and ("START RequestId: %s " % rid) in log,
   "x-amzn-RequestId is the invocation's request id (START line)", rid)
st, h, data = request(addr, "POST", INV % "raw", b"")
eq((st, data), (200, b"{}"), "Invoke with no payload: the event is {}")
st, h, data = request(addr, "POST", INV % "raw" + "?Qualifier=%24LATEST",
                      b"[1]")
eq((st, data), (200, b"[1]"), "Invoke with Qualifier $LATEST")

# --- DryRun ---
before = read(os.path.join(mnt, "functions", "echo", "logs"))
r = lam.invoke(FunctionName="echo", InvocationType="DryRun", Payload=b"{}")
eq(r["StatusCode"], 204, "DryRun: 204")
eq(read(os.path.join(mnt, "functions", "echo", "logs")), before,
   "DryRun: nothing ran")
raises(lambda: lam.invoke(FunctionName="ghost", InvocationType="DryRun"),
       "ResourceNotFoundException", "DryRun of a missing function", 404)
st, h, data = request(addr, "POST", INV % "echo", b"{}",
                      {"X-Amz-Invocation-Type": "Sometimes"})
eq((st, h.get("x-amzn-errortype")), (400, "InvalidParameterValueException"),
   "an unknown X-Amz-Invocation-Type: 400")

# --- Tail and function errors ---
r = lam.invoke(FunctionName="err", Payload=b'{"n": 7}', LogType="Tail")
payload = json.loads(r["Payload"].read())
eq((r["StatusCode"], r.get("FunctionError")), (200, "Unhandled"),
   "a raised exception: 200 with FunctionError Unhandled")
eq((payload.get("errorType"), payload.get("errorMessage")),
   ("ValueError", "bad 7"), "... the error document is the payload")
tail = base64.b64decode(r["LogResult"]).decode()
lines = tail.splitlines()
ok(lines[0].startswith("START RequestId: ") and
   lines[-1].startswith("REPORT RequestId: ") and "about to fail" in tail,
   "LogResult: START, the function's output, ... REPORT", tail)
ok(not any(x[:4].isdigit() and x[10:11] == "T" for x in lines),
   "LogResult: lines without our timestamps, as AWS shows them", tail)
ok("Status: error" in lines[-1], "LogResult: REPORT says Status: error")
r = lam.invoke(FunctionName="chatty", Payload=b"{}", LogType="Tail")
tail = base64.b64decode(r["LogResult"])
eq(len(tail), 4096, "LogResult: the last 4 KB of a longer log")
ok(tail.decode().rstrip("\n").splitlines()[-1].startswith("REPORT"),
   "... ending with the REPORT line")
r = lam.invoke(FunctionName="echo", Payload=b"{}")
ok("LogResult" not in r, "no LogResult without LogType Tail")
r = lam.invoke(FunctionName="tmo", Payload=b"{}")
payload = json.loads(r["Payload"].read())
eq((r.get("FunctionError"), payload.get("errorType")),
   ("Unhandled", "Sandbox.Timedout"), "a timeout: FunctionError Unhandled")

# --- ClientContext reaches the runtime ---
cc = base64.b64encode(json.dumps({"custom": {"k": "v"}, "env": {},
                                  "client": {}}).encode()).decode()
r = lam.invoke(FunctionName="ctx", Payload=b"{}", ClientContext=cc)
eq(json.loads(r["Payload"].read()), {"custom": {"k": "v"}},
   "ClientContext: the handler sees context.client_context.custom")
raises(lambda: lam.invoke(FunctionName="ctx", Payload=b"{}",
                          ClientContext="!!not base64"),
       "InvalidRequestContentException", "a bad ClientContext", 400)

# --- the RIE path ---
st, h, data = request(addr, "POST", INV % "function", b"{}")
eq((st, h.get("x-amzn-errortype")), (404, "ResourceNotFoundException"),
   "RIE path with several functions and none named 'function': 404")
create("function", {"fn.py": "def handler(event, context):\n"
                    "    return {'rie': event}\n"})
st, h, data = request(addr, "POST", INV % "function", b'{"a": 1}')
eq((st, jbody(data)), (200, {"rie": {"a": 1}}),
   "RIE path runs the function named 'function'")

# --- keep-alive: one connection, many requests ---
import http.client  # noqa: E402

c = http.client.HTTPConnection(addr, timeout=60)
c.connect()
sock = c.sock
good = 0
for i in range(50):
    st, h, data = request(addr, "POST", INV % "echo",
                          json.dumps({"i": i}).encode(), conn=c)
    good += st == 200 and jbody(data) == {"i": i}
eq(good, 50, "keep-alive: 50 invocations on one connection")
ok(c.sock is sock, "... without reconnecting")
c.close()

# --- a slow invocation does not hold up others ---
order = []
lock = threading.Lock()


def slow():
    st, h, data = request(addr, "POST", INV % "slow", b'{"sleep": 4}')
    with lock:
        order.append(("slow", st))


t = threading.Thread(target=slow)
t.start()
# wait until it is running (its START line is in the log)
slog = os.path.join(mnt, "functions", "slow", "logs")
for _ in range(600):
    if os.path.exists(slog) and b"START" in read(slog):
        break
    threading.Event().wait(0.05)
fast = 0
for i in range(20):
    st, h, data = request(addr, "POST", INV % "echo", b'{"fast": 1}')
    fast += st == 200
st, _, _ = request(addr, "GET", "/2015-03-31/functions/echo")
with lock:
    order.append(("fast", fast, st))
t.join()
eq(order, [("fast", 20, 200), ("slow", 200)],
   "20 invocations and a GetFunction finish while a slow one runs")

# --- many clients at once, each with its own answers ---
N, M = 32, 15
bad = []


def client(k):
    conn = http.client.HTTPConnection(addr, timeout=120)
    for i in range(M):
        ev = {"client": k, "seq": i}
        try:
            st, h, data = request(addr, "POST", INV % "echo",
                                  json.dumps(ev).encode(), conn=conn)
        except Exception as e:  # noqa: BLE001
            bad.append((k, i, repr(e)))
            return
        if st != 200 or jbody(data) != ev:
            bad.append((k, i, st, data[:100]))
    conn.close()


ts = [threading.Thread(target=client, args=(k,)) for k in range(N)]
for t in ts:
    t.start()
for t in ts:
    t.join()
ok(not bad, "%d concurrent keep-alive clients x %d invocations: each gets "
   "its own answer" % (N, M), *[repr(b) for b in bad[:5]])
done()
