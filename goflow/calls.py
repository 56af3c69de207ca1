"""Performing one worker step: priority fallback, retries, backoff, outcome (SPEC §4).

:func:`perform_step` tries the workers of an action in the order given (already sorted by
``priority``). On each endpoint it makes up to ``1 + retry_count`` attempts, each bounded by
``response_timeout``, waiting the worker's backoff (:mod:`goflow.retry`) between them:

* **success**: any 2xx. The outcome event is ``success``, or the event a JSON object body names
  (``{"event": "approved", ...}`` -> ``approved``). The answer is *accepted* (``StepResult.accepted``:
  an async step then waits for its outcome from outside) when it is a 202, a body
  ``{"accepted": true}``, or names no event; a named event, ``success`` included, is the outcome at
  once (SPEC §8). A JSON body is the output; a body that is not JSON
  is kept as text (its attempt record's ``detail`` says ``not-json``); an empty body is ``None``.
* **retryable**: connection errors (``connect-error``), timeouts (``timeout``), 5xx, 408, 429, a
  ``python://`` callable that raised (``exception``). ``Retry-After`` on 429/503 is honoured within
  ``max_retry_delay``.
* **ends the endpoint at once**: any other status (4xx, and 1xx/3xx: redirects are not followed),
  a body over the transport's bound (``body-too-large``: the same worker would send it again), an
  endpoint whose scheme has no transport (``unknown-scheme``) or that cannot be called
  (``bad-endpoint``).

An exhausted endpoint passes to the next one at once (no backoff between endpoints). When all are
exhausted the event is ``timeout`` if the last failure was a timeout, else ``error``; the output is
``None`` (the failures are in the records). Whether ``timeout`` is handled by the state is the FSM's
business (it becomes ``error`` where it is not).

``attempt`` in the request is 1-based and counts every attempt of the step, across endpoints
(1, 2, 3 on the first endpoint, 4 on the fallback...), so it names each attempt uniquely; a step
re-dispatched after a crash starts again at 1. ``Idempotency-Key: <instance>:<step>`` is the same on
every attempt. Every attempt is one :class:`~goflow.history.Record` (``time`` = when it started, from
``clock``; ``outcome`` = the status as text, ``"200"``, or ``timeout``, ``connect-error``,
``body-too-large``, ...; ``latency`` in seconds; ``detail`` a small dict or None).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any, Callable, Sequence

from . import trace
from .errors import TransportError, UnknownScheme
from .history import Record
from .jobs import StepResult
from .model import ERROR, SUCCESS, TIMEOUT, Worker
from .redact import header_secrets, redact_text
from .retry import Backoff, retry_after_of
from .transports.base import (BodyTooLarge, CallTimedOut, ConnectFailed, Registry, Response, WorkerFailed,
                              attempt_timeout, default_registry, log, safe_endpoint)

__all__ = ["StepResult", "perform_step", "is_retryable_status", "decode_body", "DETAIL_BODY_CHARS"]

DETAIL_BODY_CHARS = 200   # how much of a failed answer's body an attempt record keeps


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def decode_body(body: Any) -> tuple[Any, bool]:
    """``(output, is_json)``: bytes parsed as JSON, else text; other objects as they are."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        return body, True
    raw = bytes(body)
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace"), False


def _snippet(body: Any) -> Any:
    output, _ = decode_body(body)
    if isinstance(output, str) and len(output) > DETAIL_BODY_CHARS:
        return output[:DETAIL_BODY_CHARS] + "..."
    if isinstance(output, (dict, list)):
        text = json.dumps(output, default=str)
        return output if len(text) <= DETAIL_BODY_CHARS else text[:DETAIL_BODY_CHARS] + "..."
    return output


def _event_of(output: Any) -> str | None:
    """The event a worker's answer names, or None."""
    if isinstance(output, dict):
        event = output.get("event")
        if isinstance(event, str) and event:
            return event
    return None


def _accepted(status: int, output: Any, event: str | None) -> bool:
    """SPEC §8: a 202, ``{"accepted": true}``, or a 2xx naming no event means "accepted"."""
    return status == 202 or event is None or (isinstance(output, dict) and output.get("accepted") is True)


_BACKOFFS: dict = {}     # (worker, rng) -> its Backoff: made once, not on every step (about a tenth of a call's CPU)


def _backoff(worker: Worker, rng: Callable[[], float]) -> Backoff:
    """The worker's :class:`Backoff` (stateless: shared by its steps); ValueError for bad fields."""
    key = (worker, rng)
    backoff = _BACKOFFS.get(key)
    if backoff is None:
        backoff = Backoff(worker, rng=rng)
        if len(_BACKOFFS) >= 1024:             # workers come from blueprints: bound the cache
            _BACKOFFS.clear()
        _BACKOFFS[key] = backoff
    return backoff


def _said(exc: BaseException, secrets: Sequence[str]) -> str:
    """An error's text as attempt records and logs show it: URL secrets and header values masked."""
    return redact_text(str(exc), secrets)


async def perform_step(request: dict, workers: Sequence[Worker], *, registry: Registry | None = None,
                       sleep: Callable[[float], Any] = asyncio.sleep, clock: Callable[[], float] = time.time,
                       rng: Callable[[], float] = random.random) -> StepResult:
    """Perform the step ``request`` (SPEC §4 document) with ``workers``, in the order given."""
    registry = default_registry if registry is None else registry
    records: list[Record] = []
    number = 0
    last_timeout = False
    action, step, state = request.get("action"), request.get("step"), request.get("state")
    if not workers:
        log.warning("step %s of %s (%s): no worker to call", step, request.get("instance"), action)
    for worker in workers:
        endpoint = safe_endpoint(worker.endpoint)
        secrets = header_secrets(worker.headers)
        try:
            transport = registry.transport_for(worker.endpoint)
            backoff = _backoff(worker, rng)
        except (UnknownScheme, ValueError) as exc:
            number += 1
            outcome = "unknown-scheme" if isinstance(exc, UnknownScheme) else "bad-worker"
            records.append(Record(clock(), state, None, action, None, step, number, endpoint, outcome, 0.0,
                                  {"error": _said(exc, secrets)}))
            last_timeout = False
            log.warning("step %s: %s", step, _said(exc, secrets))
            continue
        tries = 1 + max(0, worker.retry_count)
        timeout = worker.response_timeout
        for failures in range(tries):
            number += 1
            started, t0 = clock(), time.perf_counter()
            retryable, retry_after, detail = False, None, None
            traceparent = trace.new_traceparent(str(request.get("instance")))
            span = trace.CURRENT.set(traceparent)
            try:
                if getattr(transport, "keeps_deadline", False):    # the transport's own deadline (gRPC)
                    resp: Response = await transport.call({**request, "attempt": number}, worker, timeout)
                else:
                    async with attempt_timeout(timeout):
                        resp = await transport.call({**request, "attempt": number}, worker, timeout)
            except (CallTimedOut, asyncio.TimeoutError):
                outcome, retryable = TIMEOUT, True
            except ConnectFailed as exc:
                outcome, retryable, detail = "connect-error", True, {"error": _said(exc, secrets)}
            except BodyTooLarge as exc:
                outcome, detail = "body-too-large", {"error": _said(exc, secrets), "status": exc.status}
            except WorkerFailed as exc:
                outcome, retryable, detail = exc.outcome, exc.retryable, {"error": _said(exc, secrets)}
                retry_after = exc.retry_after
            except TransportError as exc:
                outcome, detail = "transport-error", {"error": _said(exc, secrets)}
            except Exception as exc:  # noqa: BLE001 - a plugged-in transport's bug is this step's failure
                log.error("transport %r failed on %s: %s: %s", transport, endpoint, type(exc).__name__, _said(exc, secrets))
                outcome, detail = "transport-error", {"error": f"{type(exc).__name__}: {_said(exc, secrets)}"}
            else:
                latency = time.perf_counter() - t0
                outcome = resp.outcome or str(resp.status)
                if 200 <= resp.status < 300:
                    output, is_json = decode_body(resp.body)
                    records.append(Record(started, state, None, action, None, step, number, endpoint, outcome,
                                          latency, {"traceparent": traceparent} if is_json else
                                          {"body": "not-json", "traceparent": traceparent}))
                    event = resp.event or _event_of(output)
                    accepted = _accepted(resp.status, output, event)
                    log.debug("step %s attempt %s on %s: %s -> %s", step, number, endpoint, outcome, event)
                    return StepResult(event or SUCCESS, output, tuple(records), accepted)
                retryable = is_retryable_status(resp.status)
                retry_after = retry_after_of(resp.status, resp.headers, clock())
                detail = {"body": _snippet(resp.body)}
            finally:
                trace.CURRENT.reset(span)
            latency = time.perf_counter() - t0
            last_timeout = outcome == TIMEOUT
            more = retryable and failures + 1 < tries
            if more:
                delay = backoff.delay(failures + 1, retry_after)
                detail = {**(detail or {}), "retry_in": round(delay, 6)}
            detail = {**(detail or {}), "traceparent": traceparent}
            records.append(Record(started, state, None, action, None, step, number, endpoint, outcome, latency,
                                  detail))
            log.debug("step %s attempt %s on %s: %s", step, number, endpoint, outcome)
            if not more:
                break
            await sleep(delay)
        log.info("step %s of %s (%s): endpoint %s exhausted after %s", step, request.get("instance"),
                 action, endpoint, records[-1].outcome)
    event = TIMEOUT if last_timeout else ERROR
    return StepResult(event, None, tuple(records))
