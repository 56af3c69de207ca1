"""Cursor pagination of ``list`` and ``history`` (SPEC §12), the same for every interface.

A page holds at most ``limit`` items (:data:`DEFAULT_LIMIT` unless asked, at most :data:`MAX_LIMIT`)
in the order asked: ``latest`` first (the default of the CLI and the HTTP API) or ``oldest`` first.
Its ``next`` is a cursor for the page that follows, or ``None`` on the last page.

A cursor is a *position* in the key order: the key of the last item returned (a history record's
sequence number; an instance's ``(created, id)``), written as a short string that clients treat as
opaque. The store answers a page with a keyset query on an index (``WHERE key < ? ORDER BY key DESC
LIMIT n``), so page 1,000 costs what page 1 costs; there is no ``offset`` that scans. ``order`` says
which way to walk from the position: pass the same ``order`` with the cursor to go on (the CLI's
"same command" hint does). Every string of the cursor's form names a position, so a forged or stale
cursor is never an error, only another place to start from; anything else is refused
(:class:`InvalidInput`). The forms (the HTTP API's OpenAPI document gives them as patterns):

* history: ``h<seq>`` -- :data:`HISTORY_CURSOR`;
* list: ``l<created>~<id as lowercase hex of its UTF-8>`` -- :data:`LIST_CURSOR`.
"""
from __future__ import annotations

import re
from typing import Any

from .errors import InvalidInput

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "ORDERS", "HISTORY", "LIST", "HISTORY_CURSOR", "LIST_CURSOR", "Page",
           "check_limit", "check_order", "encode_cursor", "decode_cursor"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
ORDERS = ("latest", "oldest")
HISTORY, LIST = "history", "list"
HISTORY_CURSOR = r"^h[0-9]{1,18}$"
LIST_CURSOR = r"^l(-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:e[-+]?[0-9]{1,3})?)~((?:[0-9a-f]{2}){0,256})$"
_FORMS = {HISTORY: re.compile(HISTORY_CURSOR), LIST: re.compile(LIST_CURSOR)}


class Page(list):
    """One page: a list of items, plus ``next``, the cursor of the following page (``None`` at the end)."""

    def __init__(self, items=(), next: str | None = None):
        super().__init__(items)
        self.next = next

    def __repr__(self) -> str:
        return f"Page({list.__repr__(self)}, next={self.next!r})"


def check_limit(limit: Any, name: str = "limit") -> int:
    """A page size: an integer from 1 to :data:`MAX_LIMIT` (:class:`InvalidInput` otherwise)."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput(None, f"'{name}' must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(None, f"'{name}' must be from 1 to {MAX_LIMIT}, not {limit}")
    return limit


def check_order(order: Any) -> str:
    if order not in ORDERS:
        raise InvalidInput(None, f"'order' must be 'latest' or 'oldest', not {order!r}")
    return order


def encode_cursor(kind: str, key: Any) -> str:
    """The cursor of a position: a history record's ``seq``, or an instance's ``(created, id)``."""
    if kind == HISTORY:
        return f"h{int(key)}"
    created, iid = key
    return f"l{float(created)!r}~{iid.encode('utf-8').hex()}"


def decode_cursor(kind: str, cursor: Any) -> Any:
    """The position a cursor names (see the module's forms); :class:`InvalidInput` for anything else."""
    m = _FORMS[kind].match(cursor) if isinstance(cursor, str) else None
    if m is None:
        what = "h<number>" if kind == HISTORY else "l<time>~<hex>"
        raise InvalidInput(None, f"invalid cursor {str(cursor)[:40]!r}: not a {kind} cursor ({what}; pass back the "
                                 f"'next' of a page unchanged)")
    if kind == HISTORY:
        return int(cursor[1:])
    return float(m.group(1)), bytes.fromhex(m.group(2)).decode("utf-8", "replace")
