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
* list: ``l<created>~<id as lowercase hex of its UTF-8>`` -- :data:`LIST_CURSOR`;
* history with positions (the gRPC API): ``h<seq>~<position>`` -- :data:`POSITIONED_CURSOR`, the
  history cursor plus the position of the record it names (its index in the instance's history,
  oldest first, from 0), so that the records of the next page are numbered without counting; a
  plain ``h<seq>`` is accepted there too (the position is then counted: :func:`record_positions`).

Every interface answers one page per call, the Python API included (``Engine.history``,
``Engine.list``: ``limit`` defaults to :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`); reading
them all is explicit: :func:`every` walks the pages (``for r in every(engine.history, iid)``).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from .errors import InvalidInput

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "ORDERS", "HISTORY", "LIST", "HISTORY_CURSOR", "LIST_CURSOR",
           "POSITIONED_CURSOR", "Page", "check_limit", "check_order", "encode_cursor", "decode_cursor",
           "encode_positioned", "decode_positioned", "record_positions", "every"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
ORDERS = ("latest", "oldest")
HISTORY, LIST = "history", "list"
HISTORY_CURSOR = r"^h[0-9]{1,18}$"
LIST_CURSOR = r"^l(-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:e[-+]?[0-9]{1,3})?)~((?:[0-9a-f]{2}){0,256})$"
POSITIONED_CURSOR = r"^h([0-9]{1,18})(?:~([0-9]{1,18}))?$"
_FORMS = {HISTORY: re.compile(HISTORY_CURSOR), LIST: re.compile(LIST_CURSOR)}
_POSITIONED = re.compile(POSITIONED_CURSOR)


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


def encode_positioned(seq: int, position: int) -> str:
    """The cursor of the history record keyed ``seq`` whose position is ``position``."""
    return f"h{int(seq)}~{int(position)}"


def decode_positioned(cursor: Any) -> tuple[int, int | None]:
    """``(seq, position)`` of a positioned history cursor, ``(seq, None)`` of a plain one
    (:class:`InvalidInput` for anything else). The position is taken as given: a cursor edited by
    hand still names the right records, numbered from what it says."""
    m = _POSITIONED.match(cursor) if isinstance(cursor, str) else None
    if m is None:
        raise InvalidInput(None, f"invalid cursor {str(cursor)[:40]!r}: not a history cursor (h<number> or "
                                 f"h<number>~<position>; pass back the 'next' of a page unchanged)")
    return int(m.group(1)), (None if m.group(2) is None else int(m.group(2)))


def record_positions(order: str, count: int, position: int | None, older: int | None) -> list[int]:
    """The positions of a history page's ``count`` records, in page order. ``position``: the
    cursor's (the record before the page, in ``order``), None without one or when it did not say;
    then ``older``: how many of the instance's records are older than every record of the page
    (what the store counts on its history index), None when nothing was counted (oldest first
    from the start: 0)."""
    if position is not None:
        first = position + 1 if order == "oldest" else position - 1
    elif order == "oldest":
        first = older or 0
    else:
        first = (older or 0) + count - 1
    step = 1 if order == "oldest" else -1
    return [first + step * i for i in range(count)]


def every(read: Callable[..., Page], *args: Any, limit: int = MAX_LIMIT, **kw: Any) -> Iterator:
    """Every item of every page that ``read`` answers, in its order: ``read(*args, limit=limit,
    cursor=..., **kw)`` is called for the first page, then with each page's ``next`` until one has
    none (``read`` is a paged reader such as ``Engine.history`` or ``Engine.list``; ``kw`` its other
    arguments, ``order`` say). One call per page of ``limit`` (default :data:`MAX_LIMIT`), made as the
    iteration gets there, so a caller that stops early reads no more."""
    cursor = kw.pop("cursor", None)
    while True:
        page = read(*args, limit=limit, cursor=cursor, **kw)
        yield from page
        cursor = page.next
        if cursor is None:
            return
