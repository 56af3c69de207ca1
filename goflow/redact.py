"""Redaction of secrets in what GoFlow shows or stores outside the catalog (SPEC §12): history
records, logs, status, the HTTP API's ``/history``.

A worker endpoint may carry a secret in its query string (``?api_key=...``) or its user-info
(``https://user:password@host``), and a worker's ``headers`` values (``Authorization``) are secrets by
nature. The blueprint catalog keeps them as deployed (the worker proxy needs them); everywhere else
they are shown redacted:

* :func:`redact_url` -- one URL: user-info dropped, the value of every secret-looking query parameter
  replaced by ``***``;
* :func:`redact_text` -- free text (an error message, a log line): every secret-looking query
  parameter and URL user-info in it, and every exact value given in ``secrets`` (header values);
* :func:`is_secret_name` -- the rule for a parameter name: it contains (case-insensitively) one of
  :data:`SECRET_WORDS`, so ``api_key``, ``access_token``, ``X-Amz-Signature`` and ``client_secret``
  are all secrets. A false positive costs a ``***`` in a log; a false negative leaks a key.
"""
from __future__ import annotations

import re
from typing import Iterable

__all__ = ["MASK", "SECRET_WORDS", "is_secret_name", "redact_url", "redact_text", "header_secrets"]

MASK = "***"
SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "pwd", "signature", "sig", "auth",
                "credential", "session", "jwt", "apikey", "private")

_SECRET_NAME = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)
# a query parameter anywhere in text: its separator, its name, '=', its value (up to the next
# separator, whitespace or quote)
_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[^=&;#?\s'\"<>]+)=)(?P<value>[^&;#\s'\"<>]*)")
# user-info of a URL in text: scheme://user[:password]@
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s'\"<>]*@")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter (or header) named ``name`` holds a secret."""
    return bool(_SECRET_NAME.search(name))


def _param(m: re.Match) -> str:
    return m.group("head") + MASK if is_secret_name(m.group("name")) and m.group("value") else m.group(0)


def redact_url(url: str) -> str:
    """``url`` without user-info and with the values of its secret query parameters masked."""
    if not isinstance(url, str):
        return url
    scheme, sep, rest = url.partition("://")
    if sep:
        netloc, slash, path = rest.partition("/")
        head, qmark, query = netloc.partition("?")    # 'http://h?key=v' has no '/'
        if "@" in head:
            head = head.rsplit("@", 1)[1]
        url = f"{scheme}{sep}{head}{qmark}{query}{slash}{path}"
    return _PARAM.sub(_param, url)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL user-info, secret query parameter values and every exact string of
    ``secrets`` (of 4 characters or more: shorter ones would mask ordinary words) masked."""
    if not isinstance(text, str) or not text:
        return text
    for secret in sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m.group("scheme"), text)
    return _PARAM.sub(_param, text)


def header_secrets(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The values of a worker's ``headers`` (every value: a header is configured in a blueprint
    because it carries something the worker checks)."""
    return [value for _name, value in headers if isinstance(value, str)]
