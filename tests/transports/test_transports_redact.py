"""Redaction of worker secrets (SPEC §12): goflow.redact, and where the call path uses it."""
from __future__ import annotations

import asyncio
import logging

import pytest

from goflow.calls import perform_step
from goflow.logs import KeyValueFormatter, RedactingFormatter
from goflow.model import Worker
from goflow.redact import is_secret_name, redact_text, redact_url
from goflow.transports import safe_endpoint
from goflow.transports.base import Registry, TransportError


@pytest.mark.parametrize("name", ["key", "api_key", "API_KEY", "apikey", "token", "access_token", "secret",
                                  "client_secret", "password", "signature", "X-Amz-Signature", "sig",
                                  "Authorization", "session_id", "jwt"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["q", "page", "limit", "id", "name", "format"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize("url, shown", [
    ("http://127.0.0.1:81/w?api_key=SECRET", "http://127.0.0.1:81/w?api_key=***"),
    ("https://h/w?q=1&Token=SECRET&page=2", "https://h/w?q=1&Token=***&page=2"),
    ("https://h/w?q=1;password=SECRET#frag", "https://h/w?q=1;password=***#frag"),
    ("https://user:SECRET@h:1/a@b", "https://h:1/a@b"),
    ("http://h?access_token=SECRET", "http://h?access_token=***"),
    ("https://h/w?X-Amz-Signature=SECRET&X-Amz-Date=1", "https://h/w?X-Amz-Signature=***&X-Amz-Date=1"),
    ("python://goflow.examples:ok", "python://goflow.examples:ok"),
    ("https://h/w?key=", "https://h/w?key="),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    assert safe_endpoint(url) == shown


def test_redact_text_masks_urls_inside_text_and_given_values():
    text = ("POST https://bob:SECRET1@h/w?api_key=SECRET2&n=1 failed: 'Bearer SECRET3' refused; "
            "retry at http://h/x?Signature=SECRET4")
    out = redact_text(text, ["Bearer SECRET3"])
    assert "SECRET" not in out, out
    assert "n=1" in out and "https://h/w?api_key=***" in out


def test_short_given_values_do_not_mask_words():
    assert redact_text("a b c on", ["on", ""]) == "a b c on"


def test_worker_repr_hides_secrets():
    w = Worker("a", "http://u:SECRET@h/w?api_key=SECRET", headers=(("Authorization", "Bearer SECRET"),))
    assert "SECRET" not in repr(w) and "Authorization" in repr(w)


@pytest.mark.parametrize("formatter", [KeyValueFormatter(), RedactingFormatter("%(message)s")])
def test_log_lines_are_redacted(formatter):
    record = logging.LogRecord("goflow.x", logging.INFO, __file__, 1,
                               "step.failed endpoint=%s", ("http://h/w?token=SECRET",), None)
    assert "SECRET" not in formatter.format(record)


class _Refusing:
    """A transport whose error names the URL and a header, as library errors do."""

    async def call(self, request, worker, timeout):
        raise TransportError(worker.endpoint, f"refused with headers {dict(worker.headers)}")


def test_attempt_records_hold_no_secret():
    worker = Worker("act", "fake://h/w?api_key=SECRET1", headers=(("X-Auth", "SECRET2-value"),))
    result = asyncio.run(perform_step({"instance": "i", "step": 1, "action": "act", "state": "s"}, [worker],
                                      registry=Registry({"fake": _Refusing()}), sleep=lambda s: asyncio.sleep(0)))
    assert result.event == "error" and result.attempts
    for record in result.attempts:
        assert "SECRET" not in repr(record.to_dict()), record
    assert result.attempts[0].endpoint == "fake://h/w?api_key=***"
