#!/usr/bin/env python3
"""Cold-start floors without lambdafs; each prints a median in ms.

    floor.py spawn N TASK_ROOT HANDLER INTERPRETER BOOTSTRAP
        spawn a runtime bootstrap directly against a trivial Runtime API
        and time spawn -> its first GET /next, the span lambdafs reports
        as Init Duration
    floor.py run N COMMAND...
        wall time of a command (python3 -c pass, node -e 0)
"""
import os
import socket
import subprocess
import sys
import time


def run(n, cmd):
    spans = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        spans.append(time.perf_counter() - t0)
    return spans


def spawn(n, root, handler, cmd):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % srv.getsockname()[1],
               _HANDLER=handler, LAMBDA_TASK_ROOT=root)
    spans = []
    for _ in range(n):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        con, _ = srv.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = con.recv(4096)
            if not chunk:
                break
            data += chunk
        t1 = time.perf_counter()
        if not data.startswith(b"GET /2018-06-01/runtime/invocation/next"):
            sys.exit("floor.py: unexpected first request %r" % data[:80])
        spans.append(t1 - t0)
        proc.kill()
        proc.wait()
        con.close()
    return spans


def main():
    if len(sys.argv) > 3 and sys.argv[1] == "run":
        spans = run(int(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) > 6 and sys.argv[1] == "spawn":
        spans = spawn(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(__doc__)
    spans.sort()
    print("%.1f" % (spans[len(spans) // 2] * 1000))


if __name__ == "__main__":
    main()
