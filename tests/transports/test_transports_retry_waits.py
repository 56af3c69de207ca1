"""The retry loop really waits between attempts: each next attempt starts exactly one delay after the
one before, on the fake sleep's manual clock (real HTTP server on 127.0.0.1; no real sleeping).

These fail if ``perform_step`` stops awaiting the backoff (``await sleep(delay)``): the delays would be
neither recorded nor reflected in the attempt times. Delays are asserted exactly (jitter 0)."""
from __future__ import annotations

import email.utils

import pytest

from goflow.calls import perform_step
from goflow.model import ERROR, SUCCESS
from goflow.testing import FakeSleep
from transport_support import REQUEST, run, worker

START = 1_700_000_000.0


def step(workers):
    fake = FakeSleep(START)
    result = run(perform_step(dict(REQUEST), workers, sleep=fake, clock=fake.clock))
    return result, fake


def gaps(result) -> list[float]:
    """Seconds between the starts of consecutive attempts (manual clock: exactly the waits)."""
    times = [r.time for r in result.attempts]
    return [b - a for a, b in zip(times, times[1:])]


def test_exponential_backoff_waits_before_each_retry(server):
    result, fake = step([worker(server.url("/status/500"), retry=4, retry_delay=0.5, max_retry_delay=3.0)])
    assert result.event == ERROR and len(result.attempts) == 5
    assert fake.delays == [0.5, 1.0, 2.0, 3.0]
    assert gaps(result) == [0.5, 1.0, 2.0, 3.0]
    assert result.attempts[0].time == START
    assert fake.now == START + 6.5


def test_fixed_backoff_waits_the_same_before_each_retry(server):
    result, fake = step([worker(server.url("/status/502"), retry=3, retry_delay=0.25, backoff="fixed")])
    assert fake.delays == [0.25, 0.25, 0.25]
    assert gaps(result) == [0.25, 0.25, 0.25]


def test_no_wait_after_the_last_attempt_nor_between_endpoints(server):
    bad, good = server.url("/status/500"), server.url("/ok")
    result, fake = step([worker(bad, retry=1, retry_delay=2.0), worker(good, priority=2)])
    assert result.event == SUCCESS
    assert fake.delays == [2.0]
    assert gaps(result) == [2.0, 0.0]


@pytest.mark.parametrize("path, status", [("/retry-after/3", "429"), ("/unavailable/3", "503")])
def test_retry_after_longer_than_the_backoff_is_waited(server, path, status):
    result, fake = step([worker(server.url(path), retry=2, retry_delay=0.5, max_retry_delay=10.0)])
    assert [r.outcome for r in result.attempts] == [status] * 3
    assert fake.delays == [3.0, 3.0]
    assert gaps(result) == [3.0, 3.0]
    assert [r.detail["retry_in"] for r in result.attempts[:2]] == [3.0, 3.0]


@pytest.mark.parametrize("path", ["/retry-after/0.1", "/unavailable/0.1"])
def test_retry_after_shorter_than_the_backoff_does_not_cut_it(server, path):
    result, fake = step([worker(server.url(path), retry=2, retry_delay=0.5)])
    assert fake.delays == [0.5, 1.0]
    assert gaps(result) == [0.5, 1.0]


@pytest.mark.parametrize("path", ["/retry-after/3600", "/unavailable/3600"])
def test_retry_after_is_capped_by_max_retry_delay(server, path):
    result, fake = step([worker(server.url(path), retry=1, max_retry_delay=7.0)])
    assert fake.delays == [7.0] and gaps(result) == [7.0]


def test_503_without_retry_after_waits_the_backoff(server):
    result, fake = step([worker(server.url("/status/503"), retry=2, retry_delay=0.5)])
    assert fake.delays == [0.5, 1.0] and gaps(result) == [0.5, 1.0]


def test_retry_after_http_date_is_read_on_the_given_clock(server):
    when = email.utils.formatdate(START + 10, usegmt=True).replace(" ", "_")
    result, fake = step([worker(server.url(f"/retry-after/{when}"), retry=1, max_retry_delay=60.0)])
    assert fake.delays == [10.0] and gaps(result) == [10.0]


def test_retry_after_on_another_status_is_ignored(server):
    # only 429 and 503 carry a Retry-After worth honouring; a 500 waits its backoff
    result, fake = step([worker(server.url("/status/500"), retry=1, retry_delay=0.5)])
    assert fake.delays == [0.5]
