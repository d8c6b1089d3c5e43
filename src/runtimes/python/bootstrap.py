# SPDX-License-Identifier: MIT
"""
lambdafs runtime for python3.x functions (LAMBDA-CONTRACT.md §1, §3-§7).

Run by the daemon as `python3 bootstrap.py` with cwd = LAMBDA_TASK_ROOT and
the environment of §3. Speaks the Runtime API at AWS_LAMBDA_RUNTIME_API the
way the AWS Python runtime interface client (awslambdaric) does: same error
types, messages and JSON shapes, same `logging` set-up, same `[ERROR]` log
line for unhandled exceptions. Standard library only.

Written for fast cold starts: the Runtime API client below is a small
HTTP/1.1 client over one keep-alive socket, because http.client pulls in
the email package and ssl (about 25 ms, a third of a cold start);
traceback is only needed for errors and comes with logging anyway.

Deliberate differences from awslambdaric, none visible to a handler:
no SnapStart hooks, no response streaming, no framed telemetry log fd,
no "LAMBDA_WARNING: Unhandled exception..." banner before an init error.
"""

import json
import logging
import os
import socket
import sys
import time

# ---------------------------------------------------------------------------
# stdout/stderr: line buffered, UTF-8, so print() reaches the daemon (which
# reads a pipe and timestamps each line itself) as soon as a line is done.
# Both are flushed again before every answer to the Runtime API, so a
# function's last line is logged before its invocation ends.


def _line_buffered(fd, errors):
    import io

    return io.TextIOWrapper(
        io.open(fd, "wb", buffering=65536, closefd=False),
        encoding="utf-8",
        errors=errors,
        line_buffering=True,
    )


try:
    sys.stdout = _line_buffered(1, "strict")
    sys.stderr = _line_buffered(2, "backslashreplace")
except (OSError, ValueError):
    for _stream in (sys.stdout, sys.stderr):
        try:
            _stream.reconfigure(line_buffering=True)
        except Exception:
            pass


def _flush_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# ---------------------------------------------------------------------------
# Errors, as awslambdaric names them (§1.6).

MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
MARSHAL_ERROR = "Runtime.MarshalError"
LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE


class FaultException(Exception):
    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _extract_traceback(tb):
    import traceback

    return [
        (f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)
    ]


def _user_frames(tb_tuples):
    """Drops the leading frames of this file, as awslambdaric does."""
    for i in range(len(tb_tuples)):
        if "/bootstrap.py" not in tb_tuples[i][0]:
            return tb_tuples[i:]
    return tb_tuples


def _format_list(tb_tuples):
    import traceback

    return traceback.format_list(tb_tuples)


def build_fault_result(exc_info, invoke_id=None):
    etype, value, tb = exc_info
    tb_tuples = _user_frames(_extract_traceback(tb))
    return (
        make_error(str(value), etype.__name__, _format_list(tb_tuples), invoke_id),
        tb_tuples,
    )


def make_xray_fault(ex_type, ex_msg, working_dir, tb_tuples):
    stack = []
    files = set()
    for tb_file, tb_line, tb_method, _ in tb_tuples:
        stack.append({"label": tb_method, "path": tb_file, "line": tb_line})
        files.add(tb_file)
    return {
        "working_directory": working_dir,
        "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
        "paths": list(files),
    }


def _replace_line_indentation(line, indent_char, new_indent_char):
    n = len(line) - len(line.lstrip(indent_char))
    return new_indent_char * n + line[n:]


def log_error(error_result):
    """The `[ERROR] Type: message` line (§6.3): one line, parts joined by \\r."""
    if _JSON_LOGS:
        record = {
            "timestamp": _iso_now(),
            "level": "ERROR",
        }
        record.update(error_result)
        _write_stdout(to_json(record) + "\n")
        return
    description = "[ERROR]"
    error_type = error_result.get("errorType")
    if error_type:
        description += " " + error_type
    message = error_result.get("errorMessage")
    if message:
        if error_type:
            description += ":"
        description += " " + message
    lines = [description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
            else:
                for trace_line in element.splitlines():
                    lines.append(
                        _replace_line_indentation(trace_line, " ", ERROR_LOG_IDENT)
                    )
    _write_stdout(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _write_stdout(text):
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except Exception:
        pass


def _iso_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (
        int(now * 1000) % 1000
    )


# ---------------------------------------------------------------------------
# JSON, as awslambdaric's marshaller: ensure_ascii=False from python3.12 on
# (it switches on AWS_EXECUTION_ENV), Decimal encoded as a number.


def _python_minor_of_runtime():
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    prefix = "AWS_Lambda_python3."
    if env.startswith(prefix):
        try:
            return int(env[len(prefix):])
        except ValueError:
            return None
    return None


_RUNTIME_MINOR = _python_minor_of_runtime()


class _Encoder(json.JSONEncoder):
    def default(self, obj):
        import decimal

        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return float("nan")
            if obj == obj.to_integral_value():
                return int(obj)
            return float(obj)
        return super().default(obj)


_encoder = _Encoder(
    ensure_ascii=not (_RUNTIME_MINOR is not None and _RUNTIME_MINOR >= 12)
)


def to_json(obj):
    return _encoder.encode(obj)


def unmarshal_request(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)), None
        )


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return _encoder.encode(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)), None
        )


# ---------------------------------------------------------------------------
# The Runtime API client: HTTP/1.1 over one keep-alive TCP connection.


class RuntimeAPIError(Exception):
    pass


class RuntimeClient:
    def __init__(self, address):
        host, sep, port = address.rpartition(":")
        if not sep:
            host, port = address, "80"
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self.address = address
        self.host = host
        self.port = int(port)
        self.sock = None
        self.buf = bytearray()

    def _connect(self):
        host = self.host
        try:
            # bytes: getaddrinfo would load the idna codec for a str (2 ms)
            host = host.encode("ascii")
        except UnicodeError:
            pass
        self.sock = socket.create_connection((host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = bytearray()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("Runtime API closed the connection")
        self.buf += chunk

    def _read_exact(self, n):
        have = len(self.buf)
        if have >= n:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        # large bodies (events up to 6 MB): straight into one buffer
        data = bytearray(n)
        data[:have] = self.buf
        self.buf = bytearray()
        view = memoryview(data)
        while have < n:
            got = self.sock.recv_into(view[have:])
            if not got:
                raise ConnectionResetError("Runtime API closed the connection")
            have += got
        return bytes(data)

    def _read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def _read_response(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            self._fill()
        head = bytes(self.buf[:i]).decode("utf-8", "replace")
        del self.buf[: i + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise RuntimeAPIError("bad status line from Runtime API: %r" % lines[0])
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            return self._read_response()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self._read_line().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self._read_line():  # trailers
                        pass
                    break
                body += self._read_exact(size)
                self._read_line()
            body = bytes(body)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            # no length: the body ends with the connection
            try:
                while True:
                    self._fill()
            except ConnectionResetError:
                pass
            body = bytes(self.buf)
            self.close()
            return status, headers, body
        if headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0":
            self.close()
        return status, headers, body

    def request(self, method, path, body=None, headers=None):
        out = ["%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, self.address)]
        if headers:
            for name, value in headers.items():
                out.append("%s: %s\r\n" % (name, value))
        if body is not None:
            out.append("Content-Length: %d\r\n" % len(body))
        out.append("\r\n")
        msg = "".join(out).encode("latin-1", "replace")
        if body:
            msg += body
        for attempt in (0, 1):
            fresh = self.sock is None
            try:
                if fresh:
                    self._connect()
                self.sock.sendall(msg)
                return self._read_response()
            except (OSError, ValueError, RuntimeAPIError):
                self.close()
                # A kept-alive connection may have been closed by the
                # server while idle: try once more on a new one.
                if attempt or fresh:
                    raise

    # Runtime API calls (§1.2)

    def next(self):
        status, headers, body = self.request(
            "GET", "/2018-06-01/runtime/invocation/next"
        )
        if status != 200:
            raise RuntimeAPIError(
                "Request to Lambda Runtime 'next' endpoint failed. Reason: '%d'. "
                "Response body: '%s'" % (status, body.decode("utf-8", "replace"))
            )
        return headers, body

    def _post(self, endpoint, path, body, headers):
        _flush_output()
        status, _, rbody = self.request("POST", path, body, headers)
        if status != 202:
            raise RuntimeAPIError(
                "Request to Lambda Runtime '%s' endpoint failed. Reason: '%d'. "
                "Response body: '%s'"
                % (endpoint, status, rbody.decode("utf-8", "replace"))
            )

    def post_response(self, invoke_id, body, content_type):
        self._post(
            "response",
            "/2018-06-01/runtime/invocation/%s/response" % _quote(invoke_id),
            body,
            {"Content-Type": content_type},
        )

    def post_error(self, invoke_id, error_json, xray_json):
        headers = {"Content-Type": "application/json"}
        if xray_json and len(xray_json) < 1024 * 1024:
            headers["Lambda-Runtime-Function-XRay-Error-Cause"] = xray_json
        self._post(
            "error",
            "/2018-06-01/runtime/invocation/%s/error" % _quote(invoke_id),
            error_json.encode("utf-8"),
            headers,
        )

    def post_init_error(self, error_result):
        headers = {"Content-Type": "application/json"}
        error_type = error_result["errorType"]
        if error_type.isascii() and error_type.isprintable():
            headers["Lambda-Runtime-Function-Error-Type"] = error_type
        self._post(
            "init/error",
            "/2018-06-01/runtime/init/error",
            to_json(error_result).encode("utf-8"),
            headers,
        )


def _quote(s):
    safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    if all(c in safe for c in s):
        return s
    return "".join(
        c if c in safe else "".join("%%%02X" % b for b in c.encode("utf-8"))
        for c in s
    )


# ---------------------------------------------------------------------------
# The context object (awslambdaric lambda_context.py).


class LambdaContext(object):
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # a string, as in awslambdaric (it is the environment variable)
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id

        self.client_context = _make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _make_obj_from_dict(
                Client, self.client_context.client
            )

        self.identity = _make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get(
                "cognitoIdentityId"
            )
            self.identity.cognito_identity_pool_id = cognito_identity.get(
                "cognitoIdentityPoolId"
            )

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        epoch_now_in_ms = int(time.time() * 1000)
        delta_ms = self._epoch_deadline_time_in_ms - epoch_now_in_ms
        return delta_ms if delta_ms > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}"
            "])"
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}"
            "])"
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"custom={self.custom},"
            f"env={self.env},"
            f"client={self.client}"
            "])"
        )


def _make_obj_from_dict(_class, _dict):
    if _dict is None:
        return None
    obj = _class()
    for field in _class.__slots__:
        setattr(obj, field, _dict.get(field, None))
    return obj


def _parse_json_header(header, name):
    try:
        return json.loads(header)
    except Exception as e:
        raise FaultException(
            LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, str(e)),
            None,
        )


# ---------------------------------------------------------------------------
# logging (awslambdaric _setup_logging; §6.3).

_AWS_REQUEST_ID = None
_TENANT_ID = None
_JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
_RESERVED_FIELDS = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename",
    "module", "exc_info", "exc_text", "stack_info", "lineno", "funcName",
    "created", "msecs", "relativeCreated", "thread", "threadName",
    "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
    "taskName",
}


class LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        try:
            msg = self.format(record)
            if msg.endswith("\n"):
                msg = msg[:-1]
            # one record is one log event (§6.1)
            sys.stdout.write(msg.replace("\n", "\r") + "\n")
        except Exception:
            self.handleError(record)


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _AWS_REQUEST_ID or ""
        record.tenant_id = _TENANT_ID
        return True


class JsonFormatter(logging.Formatter):
    def formatTime(self, record, datefmt=None):
        return time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)
        ) + ".%03dZ" % int(record.msecs)

    def format(self, record):
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc = record.exc_info
        if exc:
            import traceback

            stack = traceback.format_tb(exc[2])
        result = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": stack if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            if exc
            else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_FIELDS and key not in result:
                result[key] = value
        result = {k: v for k, v in result.items() if v is not None}
        return json.dumps(result, ensure_ascii=False, default=str) + "\n"


def _setup_logging():
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    level = {None: "", "TRACE": "DEBUG"}.get(level, level).upper()
    logging.Formatter.converter = time.gmtime
    logger = logging.getLogger()
    handler = LambdaLoggerHandler()
    if _JSON_LOGS:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    # As awslambdaric: the root level is only set when AWS_LAMBDA_LOG_LEVEL
    # is (so by default it stays WARNING and logging.info() prints nothing).
    if level in logging._nameToLevel:
        logger.setLevel(level)
    handler.addFilter(LambdaLoggerFilter())
    logger.addHandler(handler)


# ---------------------------------------------------------------------------
# sys.path (§4): task root first, then the layers' python directories.


def _opt_dirs():
    dirs = os.environ.get("LAMBDAFS_OPT_DIRS")
    if dirs:
        return [d for d in dirs.split(":") if d]
    one = os.environ.get("LAMBDAFS_OPT_DIR")
    if one:
        return [one]
    return ["/opt"]


def _setup_sys_path(task_root):
    here = os.path.dirname(os.path.abspath(__file__))
    # our own directory is not part of the function's world
    sys.path[:] = [
        p for p in sys.path if os.path.abspath(p or ".") != here or p == task_root
    ]
    versions = ["python%d.%d" % sys.version_info[:2]]
    if _RUNTIME_MINOR is not None and "python3.%d" % _RUNTIME_MINOR not in versions:
        # the host's python may not be the declared runtime's: pure-python
        # packages built for that one work too
        versions.append("python3.%d" % _RUNTIME_MINOR)
    front = [task_root]
    for opt in _opt_dirs():
        for v in versions:
            front.append(os.path.join(opt, "python", "lib", v, "site-packages"))
        front.append(os.path.join(opt, "python"))
    front = [front[0]] + [p for p in front[1:] if os.path.isdir(p)]
    rest = [p for p in sys.path if p not in front]
    sys.path[:] = front + rest


# ---------------------------------------------------------------------------
# Handler loading (awslambdaric _get_handler; §5).


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e))
        )
    import importlib

    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )
    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException(
            HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
            None,
        )


# ---------------------------------------------------------------------------
# One invocation.


def handle_event_request(client, request_handler, headers, body):
    invoke_id = headers.get("lambda-runtime-aws-request-id")
    error_result = None
    xray_fault = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        client_context = (
            _parse_json_header(client_context, "Client Context")
            if client_context
            else None
        )
        cognito = headers.get("lambda-runtime-cognito-identity")
        cognito = _parse_json_header(cognito, "Cognito Identity") if cognito else None
        try:
            deadline = int(headers.get("lambda-runtime-deadline-ms", "0"))
        except ValueError:
            deadline = 0
        context = LambdaContext(
            invoke_id,
            client_context,
            cognito,
            deadline,
            headers.get("lambda-runtime-invoked-function-arn"),
            headers.get("lambda-runtime-aws-tenant-id"),
        )
        event = unmarshal_request(body, headers.get("content-type"))
        response = request_handler(event, context)
        result, result_content_type = marshal_response(response)
    except FaultException as e:
        xray_fault = make_xray_fault("LambdaValidationError", e.msg, os.getcwd(), [])
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
    except Exception:
        etype, value, _ = exc = sys.exc_info()
        error_result, tb_tuples = build_fault_result(exc, invoke_id)
        xray_fault = make_xray_fault(etype.__name__, str(value), os.getcwd(), tb_tuples)
        del exc

    if error_result is not None:
        log_error(error_result)
        try:
            xray = json.dumps(xray_fault, default=str)
        except Exception:
            xray = ""
        client.post_error(invoke_id, to_json(error_result), xray)
    else:
        client.post_response(invoke_id, result, result_content_type)


def _fatal(message):
    _flush_output()
    try:
        sys.stderr.write("lambdafs python runtime: %s\n" % message)
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(1)


def main():
    global _AWS_REQUEST_ID, _TENANT_ID

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    _setup_sys_path(task_root)
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _setup_logging()

    try:
        request_handler = _get_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        if isinstance(e, FaultException):
            error_result = make_error(e.msg, e.exception_type, e.trace)
        else:
            error_result, _ = build_fault_result(sys.exc_info())
        log_error(error_result)
        try:
            client.post_init_error(error_result)
        except Exception as e:
            _fatal(str(e))
        sys.exit(1)

    while True:
        try:
            headers, body = client.next()
        except Exception as e:
            _fatal(str(e))
        _AWS_REQUEST_ID = headers.get("lambda-runtime-aws-request-id")
        _TENANT_ID = headers.get("lambda-runtime-aws-tenant-id")
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id is not None:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in os.environ:
            del os.environ["_X_AMZN_TRACE_ID"]
        try:
            handle_event_request(client, request_handler, headers, body)
        except (RuntimeAPIError, OSError) as e:
            # awslambdaric raises (and the process dies) when the Runtime
            # API refuses an answer, e.g. 413 for a response over 6 MB
            _fatal(str(e))


if __name__ == "__main__":
    main()
