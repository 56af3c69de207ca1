"""python:// workers for runtime tests. Each call appends its Idempotency-Key to the file named by
GOFLOW_TEST_CALLS (when set) with one O_APPEND write, so calls are counted across processes and
crashes."""
import os


def _count(request):
    path = os.environ.get("GOFLOW_TEST_CALLS")
    if path:
        line = f"{request['instance']}:{request['step']} {request['action']}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def ok(request):
    _count(request)
    return {"action": request["action"], "step": request["step"]}


def fail(request):
    _count(request)
    raise RuntimeError("worker failure")


def unencodable(request):
    return {"bad": {1, 2, 3}}      # a set: msgpack cannot encode it, so the host's handler crashes
