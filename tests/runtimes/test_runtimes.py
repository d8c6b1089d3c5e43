#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
Tests lambdafs's runtime bootstraps (src/runtimes/python/bootstrap.py and
src/runtimes/node/bootstrap.mjs) alone, against an in-process fake Runtime
API that speaks LAMBDA-CONTRACT.md §1: /next serves queued events with the
§1.3 headers, /response, /error and /init/error are recorded and answered
202 {"status":"OK"}. Prints TAP; exits 1 if a test fails.

    tests/runtimes/test_runtimes.py            # both runtimes
    tests/runtimes/test_runtimes.py python     # one of them
"""

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY_BOOTSTRAP = os.path.join(ROOT, "src", "runtimes", "python", "bootstrap.py")
NODE_BOOTSTRAP = os.path.join(ROOT, "src", "runtimes", "node", "bootstrap.mjs")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
NODE = shutil.which("node") or "/usr/bin/node"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
WAIT = 15.0

# ------------------------------------------------------------------ TAP

_count = 0
_failed = 0


def ok(cond, name, diag=None):
    global _count, _failed
    _count += 1
    if cond:
        print("ok %d - %s" % (_count, name))
    else:
        _failed += 1
        print("not ok %d - %s" % (_count, name))
        if diag is not None:
            for line in str(diag).splitlines() or [""]:
                print("#   " + line)
    sys.stdout.flush()
    return cond


def is_(got, want, name):
    return ok(got == want, name, "got:  %r\nwant: %r" % (got, want))


def diag(msg):
    print("# " + msg)
    sys.stdout.flush()


def skip(name, why):
    global _count
    _count += 1
    print("ok %d - %s # SKIP %s" % (_count, name, why))


# ------------------------------------------------- fake Runtime API server


class Invocation:
    def __init__(self, body, request_id=None, deadline_ms=None, arn=ARN,
                 client_context=None, cognito=None, trace_id=None,
                 content_type="application/json"):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.request_id = request_id or str(uuid.uuid4())
        self.deadline_ms = deadline_ms or int(time.time() * 1000) + 30000
        self.arn = arn
        self.client_context = client_context
        self.cognito = cognito
        self.trace_id = trace_id
        self.content_type = content_type


class Result:
    def __init__(self, kind, request_id, body, headers):
        self.kind = kind  # "response", "error", "init_error"
        self.request_id = request_id
        self.body = body
        self.headers = headers  # lower-case names
        self.at = time.monotonic()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Result(%s, %s, %r)" % (self.kind, self.request_id, self.body[:300])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=None, close=False):
        # status line, headers and body in one write (CLIENTS.md #6)
        lines = ["HTTP/1.1 %d %s" % (status, self.responses.get(status, ("",))[0])]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        lines.append("Content-Length: %d" % len(body))
        if close:
            lines.append("Connection: close")
            self.close_connection = True
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body)

    def _ok(self):
        fake = self.server.fake
        close, drop = fake.close_after_post, fake.drop_after_post
        fake.close_after_post = fake.drop_after_post = False
        self._send(202, b'{"status":"OK"}\n', {"Content-Type": "application/json"}, close)
        if drop:
            # closed without saying so, as an idle keep-alive timeout does
            self.close_connection = True

    def do_GET(self):
        fake = self.server.fake
        if self.path != "/2018-06-01/runtime/invocation/next":
            self._send(404, b"{}")
            return
        with fake.cond:
            fake.next_times.append(time.monotonic())
            fake.cond.notify_all()
        inv = fake.events.get()
        if inv is None:
            self._send(500, b'{"errorMessage":"Internal Server Error","errorType":"InternalServerError"}\n',
                       {"Content-Type": "application/json"})
            return
        h = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.arn,
            "Content-Type": inv.content_type,
        }
        if inv.trace_id:
            h["Lambda-Runtime-Trace-Id"] = inv.trace_id
        if inv.client_context is not None:
            h["Lambda-Runtime-Client-Context"] = inv.client_context
        if inv.cognito is not None:
            h["Lambda-Runtime-Cognito-Identity"] = inv.cognito
        self._send(200, inv.body, h)

    def do_POST(self):
        fake = self.server.fake
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        p = self.path
        prefix = "/2018-06-01/runtime/invocation/"
        if p == "/2018-06-01/runtime/init/error":
            fake.results.put(Result("init_error", None, body, headers))
        elif p.startswith(prefix) and p.endswith("/response"):
            fake.results.put(Result("response", p[len(prefix):-len("/response")], body, headers))
        elif p.startswith(prefix) and p.endswith("/error"):
            fake.results.put(Result("error", p[len(prefix):-len("/error")], body, headers))
        else:
            self._send(404, b"{}")
            return
        self._ok()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a runtime killed at the end of a test resets its connection
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class FakeRuntimeAPI:
    def __init__(self):
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.next_times = []
        self.cond = threading.Condition()
        self.close_after_post = False
        self.drop_after_post = False
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def push(self, *args, **kw):
        inv = Invocation(*args, **kw)
        self.events.put(inv)
        return inv

    def result(self, timeout=WAIT):
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_next(self, n, timeout=WAIT):
        """Waits until /next has been called n times; returns the time of the nth."""
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.next_times) < n:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.next_times[n - 1]

    def invoke(self, *args, **kw):
        inv = self.push(*args, **kw)
        return inv, self.result()

    def stop(self):
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------ the runtime


class Runtime:
    def __init__(self, kind, task_root, handler, env=None, memory="256"):
        self.api = FakeRuntimeAPI()
        self.kind = kind
        e = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(PY_BOOTSTRAP if kind == "python" else NODE_BOOTSTRAP),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory,
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
        }
        if kind == "python":
            e["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.11"
            e["PYTHONUNBUFFERED"] = "1"
            e["PYTHONDONTWRITEBYTECODE"] = "1"
            argv = [PYTHON, PY_BOOTSTRAP]
        else:
            e["AWS_EXECUTION_ENV"] = "AWS_Lambda_nodejs20.x"
            argv = [NODE, NODE_BOOTSTRAP]
        e.update(env or {})
        self.lines = []
        self.lines_cond = threading.Condition()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            argv, cwd=task_root, env=e, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if line.endswith("\n"):
                line = line[:-1]
            with self.lines_cond:
                self.lines.append(line)
                self.lines_cond.notify_all()

    def wait_line(self, pred, timeout=5.0):
        end = time.monotonic() + timeout
        with self.lines_cond:
            while True:
                for line in self.lines:
                    if pred(line):
                        return line
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.lines_cond.wait(left)

    def output(self):
        with self.lines_cond:
            return "\n".join(self.lines)

    def wait_exit(self, timeout=WAIT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(2)
        self.api.stop()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def write_files(root, files):
    for name, text in files.items():
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


def make_root(files):
    root = tempfile.mkdtemp(prefix="lambdafs-rt-")
    write_files(root, files)
    return root


# ====================================================================
# python


PY_MAIN = '''\
import json, logging, os, sys, time

COUNT = 0
log = logging.getLogger("app")

def lambda_handler(event, context):
    global COUNT
    COUNT += 1
    if isinstance(event, (bytes, bytearray)):
        return {"raw": event.decode()}
    what = event.get("what") if isinstance(event, dict) else None
    if what == "raise":
        raise ValueError("x")
    if what == "string":
        return "hi"
    if what == "none":
        return None
    if what == "bytes":
        return b"\\x00raw"
    if what == "set":
        return {1, 2}
    if what == "unicode":
        return {"s": "h\\u00e9"}
    if what == "print":
        print("hello from print")
        sys.stderr.write("to stderr\\n")
        return "printed"
    if what == "log":
        logging.warning("warned %d", 7)
        logging.info("info line")
        log.error("two\\nlines")
        return "logged"
    if what == "count":
        return COUNT
    if what == "exit":
        sys.exit(3)
    if what == "context":
        cc = context.client_context
        return {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "cognito_identity_id": context.identity.cognito_identity_id,
            "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
            "client_custom": cc.custom if cc else None,
            "client_env": cc.env if cc else None,
            "client_installation_id": cc.client.installation_id if cc and cc.client else None,
            "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            "sys_path_0": sys.path[0],
            "cwd": os.getcwd(),
        }
    if what == "layers":
        import layer_mod, layer_sp
        return [layer_mod.WHO, layer_sp.WHO]
    return {"echo": event}
'''

RAISE_LINE = PY_MAIN.splitlines().index('        raise ValueError("x")') + 1


def python_tests():
    diag("python runtime: %s %s" % (PYTHON, PY_BOOTSTRAP))
    root = make_root({
        "lambda_function.py": PY_MAIN,
        "pkg/__init__.py": "",
        "pkg/sub.py": "def handler(e, c):\n    return 'pkg.sub'\n",
        "bad.py": "def handler(e, c):\n    return (\n",
        "boom.py": "raise RuntimeError('at import')\n",
        "needs_missing.py": "import does_not_exist_xyz\ndef handler(e, c): pass\n",
    })

    # --- success, cold start, warm
    with Runtime("python", root, "lambda_function.lambda_handler") as rt:
        t_next = rt.api.wait_next(1)
        ok(t_next is not None, "python: runtime calls /next", rt.output())
        cold_ms = (t_next - rt.t0) * 1000 if t_next else -1
        inv, res = rt.api.invoke({"a": 1})
        ok(res is not None and res.kind == "response", "python: success posts /response", (res, rt.output()))
        if res:
            is_(res.request_id, inv.request_id, "python: response for the right request id")
            is_(res.json(), {"echo": {"a": 1}}, "python: result JSON")
            is_(res.headers.get("content-type"), "application/json", "python: Content-Type application/json")
        _, res = rt.api.invoke({"what": "string"})
        is_(res and res.body, b'"hi"', "python: a string result is JSON-encoded")
        _, res = rt.api.invoke({"what": "none"})
        is_(res and res.body, b"null", "python: None gives null")
        _, res = rt.api.invoke({"what": "bytes"})
        ok(res and res.body == b"\x00raw" and res.headers.get("content-type") == "application/unknown",
           "python: bytes sent raw as application/unknown", res and (res.body, res.headers))
        _, res = rt.api.invoke({"what": "unicode"})
        is_(res and res.body, b'{"s": "h\\u00e9"}', "python: ensure_ascii before python3.12 (awslambdaric)")
        _, res = rt.api.invoke(b"plain text", content_type="text/plain")
        is_(res and res.json(), {"raw": "plain text"}, "python: non-JSON Content-Type gives raw bytes")
        _, res = rt.api.invoke(b"{not json")
        ok(res and res.kind == "error" and res.json()["errorType"] == "Runtime.UnmarshalError"
           and res.json()["errorMessage"].startswith("Unable to unmarshal input: "),
           "python: bad JSON event is Runtime.UnmarshalError", res)

        # marshal error
        inv, res = rt.api.invoke({"what": "set"})
        ok(res and res.kind == "error", "python: unserialisable result is an error", res)
        if res and res.kind == "error":
            is_(res.json(), {
                "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
                "errorType": "Runtime.MarshalError",
                "requestId": inv.request_id,
                "stackTrace": [],
            }, "python: Runtime.MarshalError document")

        # exception
        inv, res = rt.api.invoke({"what": "raise"})
        ok(res and res.kind == "error", "python: exception posts /error", res)
        if res and res.kind == "error":
            doc = res.json()
            is_(list(doc), ["errorMessage", "errorType", "requestId", "stackTrace"], "python: error keys in order")
            is_((doc["errorMessage"], doc["errorType"], doc["requestId"]), ("x", "ValueError", inv.request_id),
                "python: errorMessage/errorType/requestId")
            want = '  File "%s/lambda_function.py", line %d, in lambda_handler\n    raise ValueError("x")\n' % (root, RAISE_LINE)
            is_(doc["stackTrace"], [want], "python: stackTrace frames as awslambdaric (no bootstrap frames)")
            ok("lambda-runtime-function-xray-error-cause" in res.headers, "python: X-Ray cause header sent")
        line = rt.wait_line(lambda l: l.startswith("[ERROR] ValueError: x"))
        want_line = ("[ERROR] ValueError: x\rTraceback (most recent call last):\r"
                     "\u00a0\u00a0File \"%s/lambda_function.py\", line %d, in lambda_handler\r"
                     "\u00a0\u00a0\u00a0\u00a0raise ValueError(\"x\")" % (root, RAISE_LINE))
        is_(line, want_line, "python: [ERROR] log line, one line joined by \\r, NBSP indents")

        # print and logging
        _, res = rt.api.invoke({"what": "print"})
        is_(res and res.body, b'"printed"', "python: print handler answers")
        ok(rt.wait_line(lambda l: l == "hello from print", 2) is not None,
           "python: print() output reaches stdout", rt.output())
        ok(rt.wait_line(lambda l: l == "to stderr", 2) is not None,
           "python: stderr output reaches the daemon too", rt.output())
        inv, res = rt.api.invoke({"what": "log"})
        line = rt.wait_line(lambda l: l.startswith("[WARNING]"), 2)
        ok(line is not None and line.split("\t")[0] == "[WARNING]" and line.split("\t")[2] == inv.request_id
           and line.split("\t")[3] == "warned 7" and len(line.split("\t")[1]) == 24
           and line.split("\t")[1].endswith("Z"),
           "python: logging line [LEVEL]\\t<ISO ms Z>\\t<request id>\\t<message>", line)
        ok(rt.wait_line(lambda l: "info line" in l, 0.3) is None,
           "python: root logger stays at WARNING without AWS_LAMBDA_LOG_LEVEL (awslambdaric)")
        line = rt.wait_line(lambda l: l.startswith("[ERROR]\t") and "two" in l, 2)
        ok(line is not None and line.endswith("\ttwo\rlines"), "python: multi-line log record is one line (\\r)", line)

        # context
        inv, res = rt.api.invoke({"what": "context"}, trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                                 client_context=json.dumps({"custom": {"k": "v"}, "env": {"e": "1"},
                                                            "client": {"installation_id": "inst"}}),
                                 cognito=json.dumps({"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}),
                                 deadline_ms=int(time.time() * 1000) + 5000)
        c = res.json() if res and res.kind == "response" else {}
        is_({k: c.get(k) for k in ("aws_request_id", "function_name", "function_version", "invoked_function_arn",
                                   "memory_limit_in_mb", "log_group_name", "log_stream_name")},
            {"aws_request_id": inv.request_id, "function_name": "fn", "function_version": "$LATEST",
             "invoked_function_arn": ARN, "memory_limit_in_mb": "256", "log_group_name": "/aws/lambda/fn",
             "log_stream_name": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef"},
            "python: context fields (memory_limit_in_mb is a string, as in awslambdaric)")
        ok(3000 < (c.get("remaining") or 0) <= 5000, "python: get_remaining_time_in_millis from the deadline",
           c.get("remaining"))
        is_((c.get("client_custom"), c.get("client_env"), c.get("client_installation_id")),
            ({"k": "v"}, {"e": "1"}, "inst"), "python: client_context from Lambda-Runtime-Client-Context")
        is_((c.get("cognito_identity_id"), c.get("cognito_identity_pool_id")), ("cid", "pool"),
            "python: identity from Lambda-Runtime-Cognito-Identity")
        is_(c.get("trace"), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "python: _X_AMZN_TRACE_ID set from the trace header")
        is_((c.get("sys_path_0"), c.get("cwd")), (root, root), "python: task root first on sys.path, cwd")
        _, res = rt.api.invoke({"what": "context"})
        is_(res and res.json().get("trace"), None, "python: _X_AMZN_TRACE_ID removed when the header is absent")
        _, res = rt.api.invoke({"what": "context"}, client_context="{bad")
        ok(res and res.kind == "error" and res.json()["errorType"] == "Runtime.LambdaContextUnmarshalError",
           "python: bad client context is Runtime.LambdaContextUnmarshalError", res)

        # keep-alive connection dropped by the server
        rt.api.close_after_post = True
        _, res = rt.api.invoke({"a": 2})
        _, res = rt.api.invoke({"a": 3})
        is_(res and res.json(), {"echo": {"a": 3}}, "python: reconnects after the server closed the connection")
        rt.api.drop_after_post = True
        _, res = rt.api.invoke({"a": 4})
        time.sleep(0.05)
        _, res = rt.api.invoke({"a": 5})
        is_(res and res.json(), {"echo": {"a": 5}}, "python: reconnects after a silent close")
        big = "x" * (5 * 1024 * 1024)
        _, res = rt.api.invoke({"big": big})
        ok(res is not None and res.kind == "response" and len(res.body) > 5 * 1024 * 1024
           and res.json() == {"echo": {"big": big}}, "python: 5 MB event and response")

        # warm invocations
        n = 100
        t0 = time.monotonic()
        good = 0
        for i in range(n):
            _, res = rt.api.invoke({"i": i})
            good += bool(res and res.kind == "response" and res.json() == {"echo": {"i": i}})
        dt = time.monotonic() - t0
        is_(good, n, "python: %d warm invocations on one process" % n)
        diag("python: cold start (spawn to first /next) %.1f ms; warm %d invokes in %.1f ms: "
             "%.0f/s, %.3f ms round trip" % (cold_ms, n, dt * 1000, n / dt, dt * 1000 / n))
        _, res = rt.api.invoke({"what": "count"})
        ok(res and res.json() >= n, "python: one process served all of them (module state kept)", res)

        inv, res = rt.api.invoke({"what": "exit"})
        is_(rt.wait_exit(), 3, "python: sys.exit in the handler ends the runtime (Runtime.ExitError for the daemon)")

    # cold start, several samples
    samples = []
    for _ in range(5):
        with Runtime("python", root, "lambda_function.lambda_handler") as rt:
            t = rt.api.wait_next(1)
            if t:
                samples.append((t - rt.t0) * 1000)
    if samples:
        samples.sort()
        diag("python: cold start spawn to first /next: min %.1f ms, median %.1f ms (%d runs)"
             % (samples[0], samples[len(samples) // 2], len(samples)))

    # --- handler forms
    with Runtime("python", root, "pkg/sub.handler") as rt:
        _, res = rt.api.invoke({})
        is_(res and res.body, b'"pkg.sub"', "python: 'pkg/sub.handler' ('/' becomes '.')")

    # --- init errors
    def init_error(handler, env=None):
        with Runtime("python", root, handler, env) as rt:
            res = rt.api.result()
            code = rt.wait_exit()
            return res, code, rt.output()

    res, code, out = init_error("nomod.handler")
    ok(res and res.kind == "init_error", "python: missing module posts /init/error", (res, out))
    if res and res.kind == "init_error":
        is_(res.json(), {"errorMessage": "Unable to import module 'nomod': No module named 'nomod'",
                         "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []},
            "python: Runtime.ImportModuleError document")
        is_(res.headers.get("lambda-runtime-function-error-type"), "Runtime.ImportModuleError",
            "python: Lambda-Runtime-Function-Error-Type header")
    is_(code, 1, "python: exit status 1 after an init error")
    is_(out.split("\n")[0] if out else out,
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'nomod': No module named 'nomod'\r"
        "Traceback (most recent call last):",
        "python: init error [ERROR] line on stdout")

    res, code, out = init_error("needs_missing.handler")
    is_(res and res.json()["errorMessage"],
        "Unable to import module 'needs_missing': No module named 'does_not_exist_xyz'",
        "python: import error inside the module")

    res, code, out = init_error("lambda_function.nope")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]),
        ("Runtime.HandlerNotFound", "Handler 'nope' missing on module 'lambda_function'"),
        "python: Runtime.HandlerNotFound")

    res, code, out = init_error("bad.handler")
    d = res.json() if res else {}
    ok(d.get("errorType") == "Runtime.UserCodeSyntaxError"
       and d.get("errorMessage", "").startswith("Syntax error in module 'bad': ")
       and len(d.get("stackTrace", [])) == 1 and d["stackTrace"][0].startswith('  File "%s/bad.py" Line ' % root),
       "python: Runtime.UserCodeSyntaxError", d)
    is_(code, 1, "python: exit status 1 after a syntax error")

    res, code, out = init_error("nodot")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]),
        ("Runtime.MalformedHandlerName", "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"),
        "python: Runtime.MalformedHandlerName")

    res, code, out = init_error("sys.handler")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]),
        ("Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
        "python: Runtime.BuiltInModuleConflict")

    res, code, out = init_error("boom.handler")
    d = res.json() if res else {}
    ok(d.get("errorType") == "RuntimeError" and d.get("errorMessage") == "at import"
       and any("boom.py" in f for f in d.get("stackTrace", [])),
       "python: exception at import is reported with its own type", d)

    # --- logging level and JSON format
    with Runtime("python", root, "lambda_function.lambda_handler", {"AWS_LAMBDA_LOG_LEVEL": "INFO"}) as rt:
        inv, res = rt.api.invoke({"what": "log"})
        line = rt.wait_line(lambda l: "info line" in l, 2)
        ok(line is not None and line.startswith("[INFO]\t") and ("\t%s\t" % inv.request_id) in line,
           "python: AWS_LAMBDA_LOG_LEVEL=INFO shows logging.info", rt.output())
    with Runtime("python", root, "lambda_function.lambda_handler",
                 {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}) as rt:
        inv, res = rt.api.invoke({"what": "log"})
        line = rt.wait_line(lambda l: "warned 7" in l, 2)
        try:
            rec = json.loads(line)
        except Exception:
            rec = {}
        ok(rec.get("level") == "WARNING" and rec.get("message") == "warned 7" and rec.get("requestId") == inv.request_id
           and rec.get("logger") == "root" and rec.get("timestamp", "").endswith("Z"),
           "python: AWS_LAMBDA_LOG_FORMAT=JSON log records", line)
        inv, res = rt.api.invoke({"what": "raise"})
        line = rt.wait_line(lambda l: '"errorType": "ValueError"' in l, 2)
        ok(line is not None and json.loads(line).get("level") == "ERROR",
           "python: JSON-format error record", line)

    # --- the Runtime API goes away
    with Runtime("python", root, "lambda_function.lambda_handler") as rt:
        rt.api.wait_next(1)
        rt.api.events.put(None)  # /next answers 500
        ok(rt.wait_exit() not in (None, 0), "python: exits when /next fails", rt.output())

    # --- layers
    opt1 = make_root({
        "python/layer_mod.py": "WHO = 'opt1 python'\n",
        "python/lib/python%d.%d/site-packages/layer_sp.py" % sys.version_info[:2]: "WHO = 'opt1 site-packages'\n",
    })
    opt2 = make_root({"python/layer_mod.py": "WHO = 'opt2 python'\n"})
    with Runtime("python", root, "lambda_function.lambda_handler", {"LAMBDAFS_OPT_DIR": opt1}) as rt:
        _, res = rt.api.invoke({"what": "layers"})
        is_(res and res.json(), ["opt1 python", "opt1 site-packages"],
            "python: layers: python/ and python/lib/python3.X/site-packages under LAMBDAFS_OPT_DIR")
    with Runtime("python", root, "lambda_function.lambda_handler",
                 {"LAMBDAFS_OPT_DIRS": opt2 + ":" + opt1, "LAMBDAFS_OPT_DIR": opt2}) as rt:
        _, res = rt.api.invoke({"what": "layers"})
        is_(res and res.json(), ["opt2 python", "opt1 site-packages"],
            "python: LAMBDAFS_OPT_DIRS: every layer, the later one wins")
    for d in (root, opt1, opt2):
        shutil.rmtree(d, ignore_errors=True)


# ====================================================================
# node

NODE_MAIN_MJS = '''\
let count = 0;
export const handler = async (event, context) => {
  count++;
  const what = event && event.what;
  if (what === 'raise') throw new Error('boom');
  if (what === 'unicode') throw new Error('caf\u00e9 \u2603');
  if (what === 'string') return 'hi';
  if (what === 'undefined') return undefined;
  if (what === 'circular') { const o = {}; o.o = o; return o; }
  if (what === 'count') return count;
  if (what === 'log') {
    console.log('hello %d', 42);
    console.warn('two\\nlines');
    console.debug('dbg');
    return 'logged';
  }
  if (what === 'reject') {
    Promise.reject(new Error('HelloError'));
    await new Promise((r) => setTimeout(r, 200));
    return 'late';
  }
  if (what === 'hang') return new Promise(() => {});
  if (what === 'context') {
    return {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remaining: context.getRemainingTimeInMillis(),
      waits: context.callbackWaitsForEmptyEventLoop,
      clientContext: context.clientContext,
      identity: context.identity,
      trace: process.env._X_AMZN_TRACE_ID || null,
      cwd: process.cwd(),
    };
  }
  return { echo: event };
};
export const nested = { deep: { fn: async () => 'nested' } };
export const notfn = 5;
'''

NODE_CALLBACK_JS = '''\
exports.handler = function (event, context, callback) {
  if (event.what === 'wait') {
    setTimeout(() => {}, 300);
    callback(null, 'waited');
    return;
  }
  if (event.what === 'nowait') {
    context.callbackWaitsForEmptyEventLoop = false;
    setTimeout(() => {}, 300);
    callback(null, 'nowait');
    return;
  }
  if (event.what === 'err') { callback(new TypeError('bad type')); return; }
  if (event.what === 'errstr') { callback('plain string'); return; }
  if (event.what === 'nothing') { return; }
  if (event.what === 'throw') { throw new RangeError('sync throw'); }
  if (event.what === 'layer') { callback(null, [require('layerpkg').who, require('layer20').who]); return; }
  if (event.what === 'succeed') { context.succeed('via succeed'); return; }
  callback(null, { cjs: event });
};
'''


def node_tests():
    if not os.path.exists(NODE):
        skip("node runtime", "node not installed")
        return
    ver = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout.strip()
    diag("node runtime: %s %s (%s)" % (NODE, NODE_BOOTSTRAP, ver))
    major = ver.lstrip("v").split(".")[0]
    root = make_root({
        "index.mjs": NODE_MAIN_MJS,
        "cb.js": NODE_CALLBACK_JS,
        "other.cjs": "module.exports.handler = async () => 'cjs ext';\n",
        "noext": "module.exports.handler = async () => 'extensionless';\n",
        "sub/dir/app.js": "exports.handler = async () => 'in sub/dir';\n",
        "esm/package.json": '{"type": "module"}\n',
        "esm/app.js": "export const handler = async () => 'esm .js';\n",
        "bad.js": "exports.handler = async () => {;\n",
        "badm.mjs": "export const handler = async () => {;\n",
        "needs.mjs": "import x from 'no-such-pkg-xyz';\nexport const handler = async () => x;\n",
        "throws.js": "throw new Error('at load');\n",
        "stream.mjs": ("export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {\n"
                       "  responseStream.setContentType('text/plain');\n"
                       "  responseStream.write('a');\n  responseStream.write('b');\n  responseStream.end();\n});\n"),
    })

    with Runtime("node", root, "index.handler") as rt:
        t_next = rt.api.wait_next(1)
        ok(t_next is not None, "node: runtime calls /next", rt.output())
        cold_ms = (t_next - rt.t0) * 1000 if t_next else -1
        inv, res = rt.api.invoke({"a": 1})
        ok(res is not None and res.kind == "response", "node: async ESM (.mjs) handler answers", (res, rt.output()))
        if res:
            is_(res.request_id, inv.request_id, "node: response for the right request id")
            is_(res.json(), {"echo": {"a": 1}}, "node: result JSON")
            is_(res.headers.get("content-type"), "application/json", "node: Content-Type application/json")
        _, res = rt.api.invoke({"what": "string"})
        is_(res and res.body, b'"hi"', "node: a string result is JSON-encoded")
        _, res = rt.api.invoke({"what": "undefined"})
        is_(res and res.body, b"null", "node: undefined gives null")

        inv, res = rt.api.invoke({"what": "raise"})
        ok(res and res.kind == "error", "node: throw posts /error", res)
        if res and res.kind == "error":
            d = res.json()
            is_(list(d), ["errorType", "errorMessage", "trace"], "node: error keys in order")
            is_((d["errorType"], d["errorMessage"]), ("Error", "boom"), "node: errorType/errorMessage")
            ok(d["trace"][0] == "Error: boom" and "index.mjs" in d["trace"][1], "node: trace is the stack lines", d)
        line = rt.wait_line(lambda l: "\tERROR\tInvoke Error \t" in l, 2)
        ok(line is not None and line.split("\t")[1] == inv.request_id
           and json.loads(line.split("\t", 4)[4])["errorMessage"] == "boom"
           and json.loads(line.split("\t", 4)[4])["stack"][0] == "Error: boom",
           "node: 'Invoke Error' log line with the error JSON", line)

        _, res = rt.api.invoke({"what": "circular"})
        is_(res and res.kind == "error" and (res.json()["errorType"], res.json()["errorMessage"]),
            ("Error", "Unable to stringify response body"), "node: unserialisable result")

        _, res = rt.api.invoke(b"{not json")
        ok(res and res.kind == "error" and res.json()["errorType"] == "SyntaxError",
           "node: non-JSON event is a SyntaxError invocation error", res)

        inv, res = rt.api.invoke({"what": "log"})
        line = rt.wait_line(lambda l: l.endswith("\tINFO\thello 42"), 2)
        ok(line is not None and line.split("\t")[1] == inv.request_id and line.split("\t")[0].endswith("Z")
           and len(line.split("\t")[0]) == 24,
           "node: console.log is <ISO time>\\t<request id>\\tINFO\\t<message>", rt.output())
        line = rt.wait_line(lambda l: "\tWARN\t" in l, 2)
        ok(line is not None and line.endswith("\tWARN\ttwo\rlines"), "node: multi-line message is one line (\\r)", line)

        inv, res = rt.api.invoke({"what": "context"}, trace_id="Root=1-abc;Sampled=1",
                                 client_context=json.dumps({"custom": {"k": "v"}, "env": {}, "client": {}}),
                                 cognito=json.dumps({"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}),
                                 deadline_ms=int(time.time() * 1000) + 5000)
        c = res.json() if res and res.kind == "response" else {}
        is_({k: c.get(k) for k in ("awsRequestId", "functionName", "functionVersion", "invokedFunctionArn",
                                   "memoryLimitInMB", "logGroupName", "logStreamName", "waits")},
            {"awsRequestId": inv.request_id, "functionName": "fn", "functionVersion": "$LATEST",
             "invokedFunctionArn": ARN, "memoryLimitInMB": "256", "logGroupName": "/aws/lambda/fn",
             "logStreamName": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef", "waits": True},
            "node: context fields (memoryLimitInMB a string)")
        ok(3000 < (c.get("remaining") or 0) <= 5000, "node: getRemainingTimeInMillis from the deadline", c.get("remaining"))
        is_((c.get("clientContext"), c.get("identity")),
            ({"custom": {"k": "v"}, "env": {}, "client": {}}, {"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}),
            "node: clientContext and identity")
        is_((c.get("trace"), c.get("cwd")), ("Root=1-abc;Sampled=1", root), "node: _X_AMZN_TRACE_ID and cwd")

        rt.api.close_after_post = True
        _, res = rt.api.invoke({"a": 2})
        _, res = rt.api.invoke({"a": 3})
        is_(res and res.json(), {"echo": {"a": 3}}, "node: reconnects after the server closed the connection")
        rt.api.drop_after_post = True
        _, res = rt.api.invoke({"a": 4})
        time.sleep(0.05)
        _, res = rt.api.invoke({"a": 5})
        is_(res and res.json(), {"echo": {"a": 5}}, "node: reconnects after a silent close")
        big = "x" * (5 * 1024 * 1024)
        _, res = rt.api.invoke({"big": big})
        ok(res is not None and res.kind == "response" and len(res.body) > 5 * 1024 * 1024
           and res.json() == {"echo": {"big": big}}, "node: 5 MB event and response")
        _, res = rt.api.invoke({"what": "unicode"})
        ok(res and res.kind == "error" and res.json()["errorMessage"] == "caf\u00e9 \u2603"
           and res.headers.get("lambda-runtime-function-xray-error-cause", "").isascii(),
           "node: non-ASCII error message (X-Ray header kept ASCII)", res)

        n = 100
        t0 = time.monotonic()
        good = 0
        for i in range(n):
            _, res = rt.api.invoke({"i": i})
            good += bool(res and res.kind == "response" and res.json() == {"echo": {"i": i}})
        dt = time.monotonic() - t0
        is_(good, n, "node: %d warm invocations on one process" % n)
        diag("node: cold start (spawn to first /next) %.1f ms; warm %d invokes in %.1f ms: "
             "%.0f/s, %.3f ms round trip" % (cold_ms, n, dt * 1000, n / dt, dt * 1000 / n))
        _, res = rt.api.invoke({"what": "count"})
        ok(res and res.json() >= n, "node: one process served all of them", res)

        inv, res = rt.api.invoke({"what": "hang"})
        ok(res and res.kind == "error" and res.json()["errorType"] == "Runtime.NodeJsExit",
           "node: async handler whose promise never settles, event loop empty: Runtime.NodeJsExit", res)
        _, res = rt.api.invoke({"a": 4})
        is_(res and res.json(), {"echo": {"a": 4}}, "node: keeps serving after that")

        inv, res = rt.api.invoke({"what": "reject"})
        ok(res and res.kind == "error" and res.json()["errorType"] == "Runtime.UnhandledPromiseRejection"
           and res.json()["errorMessage"] == "Error: HelloError",
           "node: unhandled rejection is Runtime.UnhandledPromiseRejection", res)
        is_(rt.wait_exit(), 128, "node: exit status 128 after an unhandled rejection")

    samples = []
    for _ in range(5):
        with Runtime("node", root, "index.handler") as rt:
            t = rt.api.wait_next(1)
            if t:
                samples.append((t - rt.t0) * 1000)
    if samples:
        samples.sort()
        diag("node: cold start spawn to first /next: min %.1f ms, median %.1f ms (%d runs)"
             % (samples[0], samples[len(samples) // 2], len(samples)))

    # callback-style CommonJS
    opt = make_root({
        "nodejs/node_modules/layerpkg/index.js": "exports.who = 'layer nodejs/node_modules';\n",
        "nodejs/node_modules/layer20/index.js": "exports.who = 'generic';\n",
        "nodejs/node%s/node_modules/layer20/index.js" % major: "exports.who = 'node%s';\n" % major,
    })
    with Runtime("node", root, "cb.handler", {"LAMBDAFS_OPT_DIR": opt}) as rt:
        _, res = rt.api.invoke({"x": 1})
        is_(res and res.json(), {"cjs": {"x": 1}}, "node: CommonJS .js callback handler")
        inv = rt.api.push({"what": "wait"})
        t0 = time.monotonic()
        res = rt.api.result()
        waited = time.monotonic() - t0
        ok(res and res.body == b'"waited"' and waited >= 0.25,
           "node: callback waits for the empty event loop (%.0f ms)" % (waited * 1000), res)
        inv = rt.api.push({"what": "nowait"})
        t0 = time.monotonic()
        res = rt.api.result()
        waited = time.monotonic() - t0
        ok(res and res.body == b'"nowait"' and waited < 0.25,
           "node: callbackWaitsForEmptyEventLoop = false answers at once (%.0f ms)" % (waited * 1000), res)
        _, res = rt.api.invoke({"what": "err"})
        is_(res and res.kind == "error" and (res.json()["errorType"], res.json()["errorMessage"]),
            ("TypeError", "bad type"), "node: callback(err)")
        _, res = rt.api.invoke({"what": "errstr"})
        is_(res and res.kind == "error" and res.json(),
            {"errorType": "string", "errorMessage": "plain string", "trace": []}, "node: callback('string')")
        _, res = rt.api.invoke({"what": "throw"})
        is_(res and res.kind == "error" and res.json()["errorType"], "RangeError", "node: sync throw")
        _, res = rt.api.invoke({"what": "nothing"})
        is_(res and res.kind == "response" and res.body, b"null",
            "node: sync handler that never calls back answers null when the loop drains")
        _, res = rt.api.invoke({"what": "succeed"})
        is_(res and res.body, b'"via succeed"', "node: context.succeed")
        _, res = rt.api.invoke({"what": "layer"})
        is_(res and res.json(), ["layer nodejs/node_modules", "node%s" % major],
            "node: layers via LAMBDAFS_OPT_DIR (nodejs/node_modules, nodejs/node%s/node_modules first)" % major)

    for handler, want, name in [
        ("other.handler", "cjs ext", ".cjs"),
        ("noext.handler", "extensionless", "extensionless file"),
        ("sub/dir/app.handler", "in sub/dir", "directory prefix"),
        ("esm/app.handler", "esm .js", ".js in a \"type\": \"module\" package"),
        ("index.nested.deep.fn", "nested", "dotted property path"),
        ("stream.handler", "ab", "streamifyResponse handler (buffered)"),
    ]:
        with Runtime("node", root, handler) as rt:
            _, res = rt.api.invoke({})
            if handler == "stream.handler":
                ok(res and res.body == b"ab" and res.headers.get("content-type") == "text/plain",
                   "node: " + name, (res, rt.output()))
            else:
                is_(res and res.json(), want, "node: " + name)

    def init_error(handler):
        with Runtime("node", root, handler) as rt:
            res = rt.api.result()
            code = rt.wait_exit()
            return res, code, rt.output()

    res, code, out = init_error("nomod.handler")
    d = res.json() if res else {}
    is_((res and res.kind, d.get("errorType"), d.get("errorMessage")),
        ("init_error", "Runtime.ImportModuleError",
         "Error: Cannot find module 'nomod'\nRequire stack:\n- " + NODE_BOOTSTRAP),
        "node: missing module is Runtime.ImportModuleError")
    ok(isinstance(d.get("trace"), list) and d["trace"][0].startswith("Runtime.ImportModuleError: Error: Cannot find"),
       "node: init error trace", d)
    is_(res and res.headers.get("lambda-runtime-function-error-type"), "Runtime.ImportModuleError",
        "node: Lambda-Runtime-Function-Error-Type header")
    is_(code, 129, "node: exit status 129 after an init error")
    line = out.split("\n")[0] if out else ""
    ok(line.split("\t")[1:4] == ["undefined", "ERROR", "Uncaught Exception "]
       and json.loads(line.split("\t", 4)[4])["errorType"] == "Runtime.ImportModuleError",
       "node: 'Uncaught Exception' log line", out)

    res, code, out = init_error("index.nope")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]),
        ("Runtime.HandlerNotFound", "index.nope is undefined or not exported"), "node: Runtime.HandlerNotFound")
    res, code, out = init_error("index.notfn")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]),
        ("Runtime.HandlerNotFound", "index.notfn is not a function"), "node: handler that is not a function")
    for h in ("bad.handler", "badm.handler"):
        res, code, out = init_error(h)
        ok(res and res.json()["errorType"] == "Runtime.UserCodeSyntaxError"
           and res.json()["errorMessage"].startswith("SyntaxError: "),
           "node: Runtime.UserCodeSyntaxError (%s)" % h, res)
    res, code, out = init_error("nodot")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]),
        ("Runtime.MalformedHandlerName", "Bad handler"), "node: Runtime.MalformedHandlerName")
    res, code, out = init_error("../x.handler")
    is_(res and res.json()["errorType"], "Runtime.MalformedHandlerName", "node: '..' in the handler is refused")
    res, code, out = init_error("needs.handler")
    ok(res and res.json()["errorType"] == "Error"
       and res.json()["errorMessage"].startswith("Cannot find package 'no-such-pkg-xyz' imported from"),
       "node: ESM import of a missing package fails as AWS does (plain Error)", res)
    res, code, out = init_error("throws.handler")
    is_(res and (res.json()["errorType"], res.json()["errorMessage"]), ("Error", "at load"),
        "node: exception while loading the module")

    with Runtime("node", root, "index.handler", {"AWS_LAMBDA_LOG_LEVEL": "WARN"}) as rt:
        _, res = rt.api.invoke({"what": "log"})
        ok(rt.wait_line(lambda l: "\tWARN\t" in l, 2) is not None
           and rt.wait_line(lambda l: "hello 42" in l, 0.3) is None,
           "node: AWS_LAMBDA_LOG_LEVEL=WARN filters console.log", rt.output())
    with Runtime("node", root, "index.handler", {"AWS_LAMBDA_LOG_FORMAT": "JSON"}) as rt:
        inv, res = rt.api.invoke({"what": "log"})
        line = rt.wait_line(lambda l: "hello 42" in l, 2)
        try:
            rec = json.loads(line)
        except Exception:
            rec = {}
        ok(rec.get("level") == "INFO" and rec.get("message") == "hello 42" and rec.get("requestId") == inv.request_id,
           "node: AWS_LAMBDA_LOG_FORMAT=JSON", line)

    with Runtime("node", root, "index.handler") as rt:
        rt.api.wait_next(1)
        rt.api.events.put(None)
        ok(rt.wait_exit() not in (None, 0), "node: exits when /next fails", rt.output())

    for d in (root, opt):
        shutil.rmtree(d, ignore_errors=True)


def main():
    which = sys.argv[1:] or ["python", "node"]
    if "python" in which:
        python_tests()
    if "node" in which:
        node_tests()
    print("1..%d" % _count)
    sys.exit(1 if _failed else 0)


if __name__ == "__main__":
    main()
