"""The HTTP/JSON API in front of a running daemon, for remote workers (async actions) and services.

    goflow api [--port 7532] [--address 127.0.0.1] [--daemon-port 7531] [--allow-remote]

An aiohttp.web server with one :class:`actors.api.Engine` client inside. Endpoints (docs/http_api.md):

    POST /instances                        {blueprint, input?, id?, version?}   -> 201 {id}
    POST /instances/{id}/events            {event, data?, event_id?}   -> 200 {id, state, status, duplicate}
    GET  /instances/{id}                   status
    GET  /instances/{id}/history           {id, history: [...]}
    GET  /instances?blueprint=&status=&limit=&offset=   {instances: [...], limit, offset}
    POST /instances/{id}/pause|resume|terminate
    GET  /health

Engine calls block (a Thespian ``listen``) and the Engine is not thread-safe, so every call runs on
ONE worker thread, off the event loop. Event posts are batched: the posts that arrive within
``window`` seconds of the first (or while the worker thread is busy with the previous batch) go to the
daemon in one ``engine.send_many`` call — one round trip for many events (figures in the docs).

Untrusted input: request bodies are bounded (``limits.event_bytes`` plus room for the envelope),
parsed with :func:`json.loads` (no ``NaN``/``Infinity``), and never evaluated. Errors are JSON:
``{"error": {"type": "EventRefused", "message": ..., "instance_id": ..., "state": ..., "accepted": [...]}}``.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import signal
import subprocess
import sys
import time
from typing import Any, Callable

from aiohttp import web

from goflow.config import DEFAULT_API_PORT, is_loopback
from goflow.errors import (BlueprintNotFound, EventRefused, GoflowError, InstanceExists, InstanceFinished,
                           InstanceNotFound, InvalidInput, RequestTimeout, RuntimeUnavailable)
from goflow.fsm import STATUSES

__all__ = ["DEFAULT_API_PORT", "EngineBridge", "EventBatcher", "make_app", "serve", "run", "spawn",
           "exposure_warning", "status_for", "error_body", "main"]

log = logging.getLogger("goflow.http_api")

DEFAULT_WINDOW = 0.002         # seconds an event batch stays open after its first event
MAX_BATCH = 1000               # events per send_many call (the Engine's own chunk)
ENVELOPE_BYTES = 4096          # room in a request body for the fields around `data`/`input`
MAX_NAME = 256                 # characters of an id, event name, event id, blueprint name
REQUEST_TIMEOUT = 30.0         # seconds an engine call may take

_STATUS: list[tuple[type, int]] = [
    (InvalidInput, 400),
    (InstanceNotFound, 404), (BlueprintNotFound, 404),
    (EventRefused, 409), (InstanceFinished, 409), (InstanceExists, 409),
    (RuntimeUnavailable, 503), (RequestTimeout, 503),
]
BRIDGE: web.AppKey["EngineBridge"] = web.AppKey("bridge")
BATCHER: web.AppKey["EventBatcher"] = web.AppKey("batcher")
LIMITS: web.AppKey["Limits"] = web.AppKey("limits")
_CONTEXT = ("instance_id", "state", "event", "accepted", "status", "project", "activity", "version")


class BadRequest(GoflowError):
    """A request the API refuses before the engine sees it (HTTP 400, or ``status``)."""

    def __init__(self, message: str, status: int = 400, type_name: str = "InvalidInput"):
        self.http_status, self.type_name = status, type_name
        super().__init__(message)


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error (500 for anything unexpected)."""
    if isinstance(exc, BadRequest):
        return exc.http_status
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def error_body(exc: BaseException) -> dict:
    """``{"error": {"type", "message", <context fields>}}`` of an error."""
    name = exc.type_name if isinstance(exc, BadRequest) else type(exc).__name__
    if not isinstance(exc, GoflowError):
        name, message = "InternalError", "internal error; see the API server's log"
    else:
        message = " ".join(str(exc).split())
    err: dict[str, Any] = {"type": name, "message": message}
    for key in _CONTEXT:
        value = getattr(exc, key, None) if isinstance(exc, GoflowError) else None
        if value is None:
            continue
        if isinstance(value, (str, int, float, bool)) or (isinstance(value, list)
                                                          and all(isinstance(v, str) for v in value)):
            err[key] = value
    return {"error": err}


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def _json(value: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=_dumps(value), status=status, content_type="application/json", headers=headers)


def _error(exc: BaseException) -> web.Response:
    status = status_for(exc)
    if status >= 500 and not isinstance(exc, (RuntimeUnavailable, RequestTimeout)):
        log.error("api.error type=%s error=%s", type(exc).__name__, exc,
                  exc_info=not isinstance(exc, GoflowError))
    return _json(error_body(exc), status)


# ------------------------------------------------------------------------------------- engine bridge
class EngineBridge:
    """The one Engine client, used from one worker thread only. Connects lazily (and again after the
    daemon was unreachable: a later request attaches afresh, so the API outlives a daemon restart)."""

    def __init__(self, daemon_port: int, timeout: float = REQUEST_TIMEOUT,
                 connect: Callable[[int, float], Any] | None = None):
        self.daemon_port, self.timeout = daemon_port, timeout
        self._connect = connect or _connect
        self._engine = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                           thread_name_prefix="goflow-api-engine")
        self.calls = 0

    def _on_thread(self, fn: Callable, *args, **kwargs):
        if self._engine is None:
            self._engine = self._connect(self.daemon_port, self.timeout)
        self.calls += 1
        try:
            return fn(self._engine, *args, **kwargs)
        except (RuntimeUnavailable, RequestTimeout):
            self._drop()
            raise

    def _drop(self) -> None:
        eng, self._engine = self._engine, None
        if eng is not None:
            try:
                eng.close()
            except Exception:  # noqa: BLE001 - a dead connection is let go whatever happens
                log.debug("api.close_failed", exc_info=True)

    async def call(self, fn: Callable, *args, **kwargs):
        """Run ``fn(engine, *args, **kwargs)`` on the engine thread; await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self._on_thread(fn, *args, **kwargs))

    def connect_now(self) -> None:
        """Attach at once (on the engine thread); raises when no daemon answers."""
        self._pool.submit(self._on_thread, lambda eng: None).result()

    def close(self) -> None:
        try:
            self._pool.submit(self._drop).result(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)


def _connect(port: int, timeout: float):
    from .api import Engine
    try:
        return Engine.connect(port, timeout=timeout)
    except RuntimeUnavailable as exc:
        raise RuntimeUnavailable(f"the GoFlow daemon is unavailable: {exc}") from None


# ------------------------------------------------------------------------------------------ batching
class EventBatcher:
    """Gathers concurrent event posts into ``engine.send_many`` calls.

    The first event opens a batch; the events that arrive in the next ``window`` seconds (and those
    that queue while the engine thread is busy with the previous batch) join it, up to ``max_batch``.
    ``max_batch=1`` sends one event per round trip (no batching; for comparison)."""

    def __init__(self, bridge: EngineBridge, window: float = DEFAULT_WINDOW, max_batch: int = MAX_BATCH):
        self.bridge, self.window, self.max_batch = bridge, window, max(1, max_batch)
        self.queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self.events = self.batches = self.largest = 0

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while self.queue is not None and not self.queue.empty():
            _item, fut = self.queue.get_nowait()
            if not fut.done():
                fut.set_exception(RuntimeUnavailable("the API server is stopping"))

    async def send(self, instance_id: str, event: str, data: Any, event_id: str | None) -> dict:
        fut = asyncio.get_running_loop().create_future()
        await self.queue.put(((instance_id, event, data, event_id), fut))
        return await fut

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            if self.max_batch > 1 and self.window > 0:
                await asyncio.sleep(self.window)
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.events += len(batch)
            self.batches += 1
            self.largest = max(self.largest, len(batch))
            try:
                items = [i for i, _f in batch]
                results = await self.bridge.call(lambda eng: eng.send_many(items))
            except asyncio.CancelledError:
                for _i, fut in batch:
                    if not fut.done():
                        fut.set_exception(RuntimeUnavailable("the API server is stopping"))
                raise
            except Exception as exc:  # noqa: BLE001 - the whole batch failed (daemon gone, timeout)
                results = [exc] * len(batch)
            for (_i, fut), res in zip(batch, results):
                if fut.done():          # the client went away; the event was still sent
                    continue
                if isinstance(res, BaseException):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)

    def stats(self) -> dict:
        return {"window_ms": self.window * 1000, "max_batch": self.max_batch, "events": self.events,
                "batches": self.batches, "largest": self.largest}


# ------------------------------------------------------------------------------------------ requests
def _name(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{field}' must be a non-empty string")
    if len(value) > MAX_NAME:
        raise BadRequest(f"'{field}' is over {MAX_NAME} characters")
    return value


def _blueprint(value: Any, field: str = "blueprint") -> str:
    name = _name(value, field)
    project, sep, activity = name.partition("/")
    if not sep or not project or not activity or "/" in activity:
        raise BadRequest(f"'{field}' names a blueprint as 'project/activity', not {name!r}")
    return name


def _int(value: Any, field: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise BadRequest(f"'{field}' must be an integer") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"'{field}' must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        raise BadRequest(f"'{field}' must be between {minimum} and {maximum}" if maximum is not None
                         else f"'{field}' must be at least {minimum}")
    return value


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


class Limits:
    def __init__(self, event_bytes: int):
        self.event_bytes = event_bytes
        self.body_bytes = event_bytes + ENVELOPE_BYTES


async def _body(request: web.Request, *, required: bool = True) -> dict:
    """The request's JSON object, bounded; ``{}`` for an empty body when not ``required``."""
    limits: Limits = request.app[LIMITS]
    if request.content_length is not None and request.content_length > limits.body_bytes:
        raise _too_large(f"the request body is {request.content_length} bytes", limits)
    chunks, size = [], 0
    while True:                       # read() returns what has arrived: read up to the bound + 1
        chunk = await request.content.read(limits.body_bytes + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limits.body_bytes:
            raise _too_large("the request body is too large", limits)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise BadRequest("the request needs a JSON object body")
        return {}
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or type(exc).__name__
        raise BadRequest(f"the request body is not valid JSON: {why}") from None
    if not isinstance(value, dict):
        raise BadRequest(f"the request body must be a JSON object, not {type(value).__name__}")
    return value


def _too_large(what: str, limits: Limits) -> BadRequest:
    return BadRequest(f"{what}, over the limit of {limits.body_bytes} bytes (limits.event_bytes "
                      f"{limits.event_bytes} + {ENVELOPE_BYTES} for the envelope)", 413, "PayloadTooLarge")


def _bounded(value: Any, field: str, limits: Limits) -> Any:
    size = len(_dumps(value).encode())
    if size > limits.event_bytes:
        raise BadRequest(f"'{field}' is {size} bytes of JSON, over the limit of {limits.event_bytes} "
                         f"(limits.event_bytes)", 413, "PayloadTooLarge")
    return value


def _known(body: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(k for k in body if k not in allowed)
    if extra:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, extra))}; expected {', '.join(allowed)}")


# ------------------------------------------------------------------------------------------ handlers
async def create_instance(request: web.Request) -> web.Response:
    body = await _body(request)
    _known(body, ("blueprint", "input", "id", "version"))
    blueprint = _blueprint(body.get("blueprint"))
    input_doc = body.get("input")
    if input_doc is None:
        input_doc = {}
    if not isinstance(input_doc, dict):
        raise BadRequest(f"'input' must be a JSON object, not {type(input_doc).__name__}")
    _bounded(input_doc, "input", request.app[LIMITS])
    iid = _name(body.get("id"), "id", required=False)
    version = body.get("version")
    if version is not None:
        version = _int(version, "version", 1)
    iid = await request.app[BRIDGE].call(lambda eng: eng.start(blueprint, input_doc, id=iid, version=version))
    return _json({"id": iid}, 201, headers={"Location": f"/instances/{iid}"})


async def send_event(request: web.Request) -> web.Response:
    iid = _name(request.match_info["id"], "id")
    body = await _body(request)
    _known(body, ("event", "data", "event_id"))
    event = _name(body.get("event"), "event")
    data = _bounded(body.get("data"), "data", request.app[LIMITS])
    event_id = body.get("event_id")
    if event_id is None:
        event_id = request.headers.get("Idempotency-Key") or None
    event_id = _name(event_id, "event_id", required=False)
    ack = await request.app[BATCHER].send(iid, event, data, event_id)
    return _json(ack)


async def get_status(request: web.Request) -> web.Response:
    iid = _name(request.match_info["id"], "id")
    return _json(await request.app[BRIDGE].call(lambda eng: eng.status(iid)))


async def get_history(request: web.Request) -> web.Response:
    iid = _name(request.match_info["id"], "id")
    limit = request.query.get("limit")
    limit = _int(limit, "limit", 1) if limit is not None else None
    records = await request.app[BRIDGE].call(lambda eng: eng.history(iid, limit=limit))
    return _json({"id": iid, "history": records})


async def list_instances(request: web.Request) -> web.Response:
    q = request.query
    blueprint = _blueprint(q["blueprint"]) if q.get("blueprint") else None
    status = q.get("status") or None
    if status is not None and status not in STATUSES + ("quarantined",):
        raise BadRequest(f"'status' must be one of {', '.join(STATUSES + ('quarantined',))}")
    limit = _int(q.get("limit", "100"), "limit", 1, 1000)
    offset = _int(q.get("offset", "0"), "offset", 0)
    rows = await request.app[BRIDGE].call(lambda eng: eng.list(blueprint, status, limit=limit, offset=offset))
    return _json({"instances": rows, "limit": limit, "offset": offset})


def _management(op: str):
    async def handler(request: web.Request) -> web.Response:
        iid = _name(request.match_info["id"], "id")
        body = await _body(request, required=False)
        if op == "terminate":
            _known(body, ("reason",))
            reason = body.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise BadRequest("'reason' must be a string")
            if reason is not None:
                _bounded(reason, "reason", request.app[LIMITS])
            res = await request.app[BRIDGE].call(lambda eng: eng.terminate(iid, reason))
        else:
            _known(body, ())
            res = await request.app[BRIDGE].call(lambda eng: getattr(eng, op)(iid))
        return _json(res if isinstance(res, dict) else {"id": iid, "result": res})
    handler.__name__ = op
    return handler


async def health(request: web.Request) -> web.Response:
    pids = await request.app[BRIDGE].call(lambda eng: eng.pids())
    return _json({"status": "ok", "daemon_port": request.app[BRIDGE].daemon_port, "processes": len(pids),
                  "batching": request.app[BATCHER].stats()})


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:      # routing: 404 no such path, 405 method, 413 from aiohttp
        if exc.status < 400:
            raise
        kind = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}.get(exc.status, "HTTPError")
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return _json({"error": {"type": kind, "message": f"{exc.reason}: {request.method} {request.path}"}},
                     exc.status, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every error becomes a JSON error body
        return _error(exc)


def make_app(bridge: EngineBridge, *, event_bytes: int = 64 * 1024, window: float = DEFAULT_WINDOW,
             max_batch: int = MAX_BATCH) -> web.Application:
    """The aiohttp application over ``bridge``."""
    limits = Limits(event_bytes)
    app = web.Application(middlewares=[_errors], client_max_size=limits.body_bytes)
    app[BRIDGE], app[LIMITS] = bridge, limits
    app[BATCHER] = EventBatcher(bridge, window, max_batch)

    async def on_startup(app):
        app[BATCHER].start()

    async def on_cleanup(app):
        await app[BATCHER].stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/instances", create_instance)
    app.router.add_get("/instances", list_instances)
    app.router.add_post("/instances/{id}/events", send_event)
    app.router.add_get("/instances/{id}", get_status)
    app.router.add_get("/instances/{id}/history", get_history)
    for op in ("pause", "resume", "terminate"):
        app.router.add_post(f"/instances/{{id}}/{op}", _management(op))
    app.router.add_get("/health", health)
    return app


# ------------------------------------------------------------------------------------------- serving
def exposure_warning(address: str, port: int) -> str:
    return (f"WARNING: the GoFlow HTTP API listens on {address}:{port}, beyond this machine. It has no "
            f"authentication: anyone who can reach this port can start, signal, pause and terminate "
            f"instances and read their data. Allow only trusted hosts (firewall, private network), or put "
            f"an authenticating proxy in front of it.")


def check_address(address: str, allow_remote: bool) -> None:
    if not is_loopback(address) and not allow_remote:
        raise GoflowError(f"api.address {address} is not a loopback address; the HTTP API has no "
                          f"authentication: pass --allow-remote to accept that")


async def serve(daemon_port: int, port: int, address: str = "127.0.0.1", *, event_bytes: int = 64 * 1024,
                window: float = DEFAULT_WINDOW, max_batch: int = MAX_BATCH, stop: asyncio.Event | None = None,
                watch_pid: int | None = None, ready: Callable[[], None] | None = None,
                timeout: float = REQUEST_TIMEOUT) -> None:
    """Serve until ``stop`` is set (or the process ``watch_pid`` is gone). Attaches to the daemon
    first: raises :class:`RuntimeUnavailable` when none answers on ``daemon_port``."""
    from .daemon import pid_alive
    bridge = EngineBridge(daemon_port, timeout)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, bridge.connect_now)
        app = make_app(bridge, event_bytes=event_bytes, window=window, max_batch=max_batch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, address, port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                raise GoflowError(f"cannot listen on {address}:{port} for the HTTP API: "
                                  f"{exc.strerror or exc}") from None
            log.info("api.started address=%s port=%s daemon_port=%s window_ms=%s", address, port, daemon_port,
                     window * 1000)
            if ready is not None:
                ready()
            stop = stop or asyncio.Event()
            while not stop.is_set():
                if watch_pid is not None and not pid_alive(watch_pid):
                    log.warning("api.daemon_gone pid=%s", watch_pid)
                    break
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
        finally:
            await runner.cleanup()
            log.info("api.stopped port=%s", port)
    finally:
        await loop.run_in_executor(None, bridge.close)


def run(daemon_port: int, port: int, address: str = "127.0.0.1", **kw) -> None:
    """Serve in the foreground until SIGINT or SIGTERM."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(daemon_port, port, address, stop=stop, **kw)
    asyncio.run(main())


def spawn(daemon_port: int, port: int, address: str, *, log_path: str | None, event_bytes: int,
          watch_pid: int | None = None, allow_remote: bool = False, window_ms: float = DEFAULT_WINDOW * 1000,
          max_batch: int = MAX_BATCH, log_level: str = "WARNING",
          log_format: str = "kv", timeout: float = 15.0, env: dict | None = None) -> int:
    """Start the API server as a detached process (its streams on ``log_path``, never a pipe); return
    its pid once it listens. With ``watch_pid`` it exits when that process (the daemon's admin) does."""
    from .system import port_open
    cmd = [sys.executable, "-m", "actors.http_api", "--daemon-port", str(daemon_port), "--port", str(port),
           "--address", address, "--event-bytes", str(event_bytes), "--window-ms", str(window_ms),
           "--max-batch", str(max_batch), "--log-level", log_level, "--log-format", log_format]
    if watch_pid:
        cmd += ["--watch-pid", str(watch_pid)]
    if allow_remote:
        cmd.append("--allow-remote")
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                close_fds=True, start_new_session=True)
    finally:
        if log_path:
            out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeUnavailable(f"the HTTP API did not start on {address}:{port} (exit status "
                                     f"{proc.returncode}; see {log_path or 'its output'})")
        if port_open(port, address, 0.2):
            return proc.pid
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeUnavailable(f"the HTTP API did not listen on {address}:{port} within {timeout:g}s")


def main(argv=None) -> int:
    """``python -m actors.http_api``: the detached API process that ``goflow daemon start`` runs."""
    import logging.config
    from goflow.logs import logging_dict
    p = argparse.ArgumentParser(prog="python -m actors.http_api")
    p.add_argument("--daemon-port", type=int, required=True)
    p.add_argument("--port", type=int, default=DEFAULT_API_PORT)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--allow-remote", action="store_true")
    p.add_argument("--event-bytes", type=int, default=64 * 1024)
    p.add_argument("--window-ms", type=float, default=DEFAULT_WINDOW * 1000)
    p.add_argument("--max-batch", type=int, default=MAX_BATCH)
    p.add_argument("--watch-pid", type=int, default=None)
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--log-format", default="kv")
    p.add_argument("--log-file", default=None)
    args = p.parse_args(argv)
    logging.config.dictConfig(logging_dict(args.log_level, args.log_format, args.log_file))
    try:
        check_address(args.address, args.allow_remote)
        if not is_loopback(args.address):
            log.warning("api.exposed address=%s port=%s", args.address, args.port)
        run(args.daemon_port, args.port, args.address, event_bytes=args.event_bytes,
            window=args.window_ms / 1000, max_batch=args.max_batch, watch_pid=args.watch_pid)
    except GoflowError as exc:
        log.error("api.failed error=%s", " ".join(str(exc).split()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
