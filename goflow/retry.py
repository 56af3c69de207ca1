"""Backoff between the attempts of a worker endpoint (SPEC §4).

A :class:`~goflow.model.Worker` says how long to wait before retry *n* (``n`` = the number of failed
attempts so far on that endpoint); a backoff field it leaves unset (None) takes the engine's
``retry.*`` setting (:class:`goflow.config.RetrySection`; the instance host's shard fills them in from its
settings, and :func:`wait_strategy` falls back to that section's defaults):

* ``backoff="fixed"``: ``retry_delay``;
* ``backoff="exponential"``: ``retry_delay * 2 ** (n - 1)``;

then ``jitter`` (a fraction, 0..1) spreads it uniformly over ``delay * (1 ± jitter)``, and the result
is capped at ``max_retry_delay``. The base delays are tenacity's wait strategies (``wait_fixed``,
``wait_exponential``); :func:`wait_strategy` returns a tenacity ``wait`` usable with
``tenacity.AsyncRetrying`` too.

``Retry-After`` (on 429 and 503; seconds, or an HTTP date) is honoured within a bound: the wait is
``max(backoff, min(retry_after, cap))`` where ``cap`` defaults to the worker's ``max_retry_delay`` — a
server cannot park a step for longer than the blueprint allows, and a ``Retry-After`` shorter than the
backoff does not shorten it.

Nothing here sleeps: :mod:`goflow.calls` takes the ``sleep`` to use (tests pass
:class:`goflow.testing.FakeSleep`, which records the delays and advances a manual clock).
"""
from __future__ import annotations

import email.utils
import random
import time
from typing import Callable, Mapping

from tenacity import RetryCallState
from tenacity.wait import wait_base, wait_exponential, wait_fixed

from .config import RetrySection
from .model import Worker

__all__ = [
    "RETRY_AFTER_STATUSES", "FIXED", "EXPONENTIAL", "wait_jitter", "wait_capped", "wait_strategy",
    "Backoff", "parse_retry_after", "retry_after_of",
]

FIXED, EXPONENTIAL = "fixed", "exponential"
RETRY_AFTER_STATUSES = frozenset({429, 503})


class wait_jitter(wait_base):
    """``inner``'s wait spread uniformly over ``wait * (1 ± fraction)``."""

    def __init__(self, inner: wait_base, fraction: float, rng: Callable[[], float] = random.random):
        self.inner, self.fraction, self.rng = inner, max(0.0, min(1.0, fraction)), rng

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self.inner(retry_state)
        return max(0.0, delay * (1.0 + self.fraction * (2.0 * self.rng() - 1.0)))


class wait_capped(wait_base):
    """``inner``'s wait, at most ``cap`` seconds (and never negative)."""

    def __init__(self, inner: wait_base, cap: float):
        self.inner, self.cap = inner, cap

    def __call__(self, retry_state: RetryCallState) -> float:
        return max(0.0, min(self.inner(retry_state), self.cap))


_DEFAULTS = RetrySection()


def wait_strategy(worker: Worker, rng: Callable[[], float] = random.random,
                  defaults: RetrySection = _DEFAULTS) -> wait_base:
    """The tenacity wait strategy of ``worker``'s backoff fields (see the module docstring); the
    fields it leaves unset come from ``defaults``."""
    worker = defaults.apply(worker)
    delay, cap = max(0.0, float(worker.retry_delay)), max(0.0, float(worker.max_retry_delay))
    if worker.backoff == FIXED:
        base: wait_base = wait_fixed(delay)
    elif worker.backoff == EXPONENTIAL:
        base = wait_exponential(multiplier=delay, exp_base=2, min=0, max=cap)
    else:
        raise ValueError(f"worker {worker.name!r}: backoff must be 'fixed' or 'exponential', "
                         f"not {worker.backoff!r}")
    if worker.jitter:
        base = wait_jitter(base, float(worker.jitter), rng)
    return wait_capped(base, cap)


class Backoff:
    """The delays of one worker endpoint: ``delay(failures, retry_after=None)`` in seconds."""

    def __init__(self, worker: Worker, *, rng: Callable[[], float] = random.random,
                 retry_after_cap: float | None = None, defaults: RetrySection = _DEFAULTS):
        worker = defaults.apply(worker)
        self.wait = wait_strategy(worker, rng)
        self.retry_after_cap = max(0.0, float(worker.max_retry_delay if retry_after_cap is None
                                              else retry_after_cap))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failures`` (>= 1) failed attempts, before the next one."""
        state = RetryCallState(None, None, (), {})
        state.attempt_number = max(1, failures)
        delay = self.wait(state)
        if retry_after is not None:
            delay = max(delay, min(max(0.0, retry_after), self.retry_after_cap))
        return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):   # NaN, inf
        return None
    return max(0.0, seconds)


def retry_after_of(status: int, headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The ``Retry-After`` of a 429/503 answer, in seconds, or None."""
    if status not in RETRY_AFTER_STATUSES:
        return None
    return parse_retry_after(headers.get("retry-after"), now)
