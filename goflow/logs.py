"""Structured logs: one line per event, ``key=value`` pairs (SPEC: logs an operator can grep).

A record's message is conventionally ``"<area>.<event> key=%s key=%s"`` (``root.restart
child=host-1``); :class:`KeyValueFormatter` writes it as::

    ts=2024-05-01T12:00:00.123Z level=INFO logger=goflow.root pid=4242 event=root.restart child=host-1

and appends ``instance=``, ``state=`` and ``step=`` when the record carries them (``extra=``). Values
with spaces, quotes or ``=`` are quoted; newlines are escaped, so a record is always one line.
:func:`logging_dict` is the ``logging.config.dictConfig`` document the daemon hands Thespian (its
logger process writes every actor's records).

Both formatters pass the finished line through :func:`goflow.redact.redact_text`: a secret in a
worker URL's query string or user-info never reaches a log file, whoever logged it.
"""
from __future__ import annotations

import logging
import time

from .config import LoggingSection
from .redact import redact_text

__all__ = ["KeyValueFormatter", "RedactingFormatter", "CONTEXT_KEYS", "logging_dict", "quote"]

CONTEXT_KEYS = ("instance", "state", "step")
_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def quote(value) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\r\t'):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
            .replace("\r", "\\r").replace("\t", "\\t") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... pid=... event=... <the message's own key=value pairs>``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        parts = [f"ts={ts}", f"level={record.levelname}", f"logger={record.name}", f"pid={record.process}"]
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        head, sep, rest = message.partition(" ")
        if head and "=" not in head:
            parts.append(f"event={quote(head)}")
            message = rest if sep else ""
        if message:
            parts.append(message)
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None and f" {key}=" not in f" {message}":
                parts.append(f"{key}={quote(value)}")
        if record.exc_info:
            parts.append(f"exc={quote(self.formatException(record.exc_info))}")
        return redact_text(" ".join(parts))


class RedactingFormatter(logging.Formatter):
    """A plain ``logging.Formatter`` whose lines are redacted (``text`` log format)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def logging_dict(level: str = LoggingSection.level, fmt: str = LoggingSection.format, path: str | None = None) -> dict:
    """A ``dictConfig`` document: ``goflow.*`` records at ``level`` and above (others at WARNING) to
    ``path`` (stderr when None), as ``kv`` lines or plain ``text``."""
    formatter = ({"()": f"{__name__}.KeyValueFormatter"} if fmt == "kv"
                 else {"()": f"{__name__}.RedactingFormatter", "fmt": _PLAIN})
    level = level.upper()
    other = max(logging.WARNING, logging.getLevelName(level))

    def handler(at) -> dict:
        # a level on the handler too: Thespian's logger process hands records straight to handlers
        base = ({"class": "logging.FileHandler", "filename": path} if path
                else {"class": "logging.StreamHandler"})
        return dict(base, formatter="goflow", level=at)

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"goflow": formatter},
        "handlers": {"goflow": handler(level), "other": handler(logging.getLevelName(other))},
        "loggers": {"goflow": {"level": level, "handlers": ["goflow"], "propagate": False}},
        "root": {"level": logging.getLevelName(other), "handlers": ["other"]},
    }
