"""httptap.py - helpers for the HTTP API tests (tests/integration/t6xx).

Prints "ok WHAT" / "not ok WHAT" / "# ..." lines that lib.sh's py_tap folds
into the calling shell test's TAP stream. Clients are the real ones:
boto3 from python3-boto3 and http.client for the raw wire checks.
"""
import http.client
import io
import json
import os
import sys
import zipfile

FAILED = 0


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line)


def ok(cond, what, *details):
    global FAILED
    print(("ok " if cond else "not ok ") + what)
    if not cond:
        FAILED += 1
        for d in details:
            diag(d)
    return cond


def eq(got, want, what):
    return ok(got == want, what, "got:  %r" % (got,), "want: %r" % (want,))


def raises(fn, exc_name, what, status=None, cls=None):
    """fn() must raise botocore ClientError whose error code is exc_name
    and whose class is cls (default: the modelled class of that name,
    client.exceptions.<exc_name>), with HTTP status if given."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - we report what it was
        name = type(e).__name__
        code = getattr(e, "response", {}).get("Error", {}).get("Code")
        st = getattr(e, "response", {}).get("ResponseMetadata", {}).get(
            "HTTPStatusCode")
        good = name == (cls or exc_name) and code == exc_name and (
            status is None or st == status)
        return ok(good, what, "raised %s (code %s, status %s): %s" %
                  (name, code, st, e))
    return ok(False, what, "nothing raised, want " + exc_name)


def done():
    sys.exit(1 if FAILED else 0)


def boto(service, addr):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url="http://" + addr, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(read_timeout=900, connect_timeout=10,
                      retries={"max_attempts": 1}))


def make_zip(files):
    """files: {name: text or (text, mode)} -> zip bytes."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, v in files.items():
            text, mode = v if isinstance(v, tuple) else (v, 0o644)
            zi = zipfile.ZipInfo(name)
            zi.external_attr = (0o100000 | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, text)
    return b.getvalue()


PY_ECHO = "def handler(event, context):\n    return event\n"


def request(addr, method, path, body=None, headers=None, conn=None):
    """One request; returns (status, headers dict lower-case, body bytes).
    Pass conn to reuse a keep-alive connection."""
    c = conn or http.client.HTTPConnection(addr, timeout=900)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    if conn is None:
        c.close()
    return r.status, hdrs, data


def jbody(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


def args():
    """ADDR MNT WORK from argv."""
    if len(sys.argv) < 4:
        print("usage: %s ADDR MNT WORK" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    return sys.argv[1], sys.argv[2], sys.argv[3]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def exists(path):
    return os.path.exists(path)
