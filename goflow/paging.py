"""Cursor pagination of ``list`` and ``history`` (SPEC §12), the same for every interface.

A page holds at most ``limit`` items (:data:`DEFAULT_LIMIT` unless asked, at most :data:`MAX_LIMIT`)
in the order asked: ``latest`` first (the default of the CLI and the HTTP API) or ``oldest`` first.
Its ``next`` is an opaque cursor for the page that follows, or ``None`` on the last page.

A cursor is the URL-safe base64 of a small JSON array ``[kind, order, key]``: the key of the last
item returned (a history record's sequence number; an instance's ``[created, id]``). The store
answers a page with a keyset query on an index (``WHERE key < ? ORDER BY key DESC LIMIT n``), so
page 1,000 costs what page 1 costs; there is no ``offset`` that scans. A cursor keeps its order: it
continues the walk it came from. It is not a secret nor a signature: a forged cursor only names
another position.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from .errors import InvalidInput
from .ids import is_id

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "ORDERS", "Page", "check_limit", "check_order", "encode_cursor",
           "decode_cursor", "after_key"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
ORDERS = ("latest", "oldest")
HISTORY, LIST = "h", "l"
_MAX_CURSOR = 1024             # characters of a cursor (a list key holds an id of <= 256 bytes)


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


def encode_cursor(kind: str, order: str, key: Any) -> str:
    raw = json.dumps([kind, order, key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: Any) -> tuple[str, Any]:
    """``(order, key)`` of a cursor of that kind; :class:`InvalidInput` for anything else."""
    def bad(why: str) -> InvalidInput:
        return InvalidInput(None, f"invalid cursor: {why} (pass back the 'next' of a page unchanged)")
    if not isinstance(cursor, str) or not cursor or len(cursor) > _MAX_CURSOR:
        raise bad("not a cursor string")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad("not a cursor") from None
    if not (isinstance(value, list) and len(value) == 3 and value[0] in (HISTORY, LIST) and value[1] in ORDERS):
        raise bad("not a cursor")
    got, order, key = value
    if got != kind:
        raise bad("a cursor of " + ("a history" if got == HISTORY else "a list") + ", not of this request")
    if kind == HISTORY and not (isinstance(key, int) and not isinstance(key, bool) and key >= 0):
        raise bad("not a cursor")
    if kind == LIST and not (isinstance(key, list) and len(key) == 2 and isinstance(key[0], (int, float))
                             and not isinstance(key[0], bool) and math.isfinite(key[0]) and is_id(key[1])):
        raise bad("not a cursor")
    return order, (tuple(key) if kind == LIST else key)


def after_key(kind: str, cursor: str | None, order: str | None, default: str) -> tuple[str, Any]:
    """The order and the key to start after, from an optional cursor and an optional order: a cursor
    keeps its own order, and an explicit ``order`` that contradicts it is refused."""
    if order is not None:
        check_order(order)
    if cursor is None:
        return order or default, None
    c_order, key = decode_cursor(kind, cursor)
    if order is not None and order != c_order:
        raise InvalidInput(None, f"the cursor continues a walk in order {c_order!r}, not {order!r}")
    return c_order, key
