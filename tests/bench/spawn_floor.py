#!/usr/bin/env python3
"""Cold-start floor without lambdafs: spawn a runtime bootstrap directly
against a trivial Runtime API and time spawn -> its first GET /next, the
same span lambdafs reports as Init Duration. Prints the median in ms.

    spawn_floor.py N TASK_ROOT HANDLER INTERPRETER BOOTSTRAP
"""
import os
import socket
import subprocess
import sys
import time


def main():
    n, root, handler = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cmd = sys.argv[4:]
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
            sys.exit("spawn_floor: unexpected first request %r" % data[:80])
        spans.append(t1 - t0)
        proc.kill()
        proc.wait()
        con.close()
    spans.sort()
    print("%.1f" % (spans[len(spans) // 2] * 1000))


if __name__ == "__main__":
    main()
