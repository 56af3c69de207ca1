"""The msgpack codec of one FSM input (a :class:`~goflow.fsm.Signal`, an ``Outcome``, ...), shared by
the snapshot (:mod:`goflow.snapshot`: the inbox of formats 1-3) and the queue rows (:mod:`goflow.queues`:
each held or postponed entry), and the checks every decoder of those bytes uses.

An input is an array tagged by its first element::

    [0, name, data, event_id]   Signal        [1, step, event, output, accepted]  Outcome
    [2, step]                   TimerFired    [3, step, event]                    HookOutcome
    [4] Pause   [5] Resume      [6, reason, force]  Terminate
    [7, step, index, child, event, status, context, reason]                       ChildDone

A shape or type problem found while decoding raises :class:`_Bad`, which the caller turns into a
:class:`goflow.errors.SnapshotError` naming the instance.
"""
from __future__ import annotations

from collections.abc import Mapping

import msgpack

from .fsm import ChildDone, HookOutcome, Outcome, Pause, Resume, Signal, Terminate, TimerFired

_unpackb = msgpack.unpackb

_SIGNAL, _OUTCOME, _TIMER, _HOOK, _PAUSE, _RESUME, _TERMINATE, _CHILD = range(8)


def _default(obj):
    """msgpack calls this for types it does not know: only non-dict mappings are accepted."""
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"a value of type {type(obj).__name__} ({obj!r:.60}) is not JSON-like data")


def _enc_input(i) -> list:
    t = type(i)
    if t is Signal:
        return [_SIGNAL, i.name, i.data, i.event_id]
    if t is Outcome:
        return [_OUTCOME, i.step, i.event, i.output, i.accepted]
    if t is TimerFired:
        return [_TIMER, i.step]
    if t is HookOutcome:
        return [_HOOK, i.step, i.event]
    if t is Pause:
        return [_PAUSE]
    if t is Resume:
        return [_RESUME]
    if t is Terminate:
        return [_TERMINATE, i.reason, i.force]
    if t is ChildDone:
        return [_CHILD, i.step, i.index, i.child, i.event, i.status, i.context, i.reason]
    raise TypeError(f"inbox holds {i!r}, which is not an FSM input")


class _Bad(Exception):
    """A shape or type problem found while decoding; becomes a SnapshotError."""


def _no_ext(code, data):
    raise _Bad(f"contains a msgpack extension type {code}, which GoFlow never writes")


def _unpack(payload):
    return _unpackb(payload, use_list=True, raw=False, strict_map_key=False, ext_hook=_no_ext)


def _is_int(x) -> bool:
    return type(x) is int


def _is_num(x) -> bool:
    t = type(x)
    return t is float or t is int


def _is_opt_str(x) -> bool:
    return x is None or type(x) is str


def _is_opt_int(x) -> bool:
    return x is None or type(x) is int


def _need(ok: bool, what: str, value) -> None:
    if not ok:
        raise _Bad(f"field {what} is {type(value).__name__} {value!r:.60}")


def _dec_input(i, n: int):
    if type(i) is not list or not i or type(i[0]) is not int:
        raise _Bad(f"inbox[{n}] is not a tagged input array: {i!r:.80}")
    tag, size = i[0], len(i)
    if tag == _SIGNAL and size == 4:
        _need(type(i[1]) is str, f"inbox[{n}] signal name (a str expected)", i[1])
        _need(_is_opt_str(i[3]), f"inbox[{n}] signal event_id (nil or a str expected)", i[3])
        return Signal(i[1], i[2], i[3])
    if tag == _OUTCOME and size in (4, 5):
        _need(_is_int(i[1]), f"inbox[{n}] outcome step (an int expected)", i[1])
        _need(type(i[2]) is str, f"inbox[{n}] outcome event (a str expected)", i[2])
        if size == 5:
            _need(type(i[4]) is bool, f"inbox[{n}] outcome accepted (a bool expected)", i[4])
        return Outcome(i[1], i[2], i[3], size == 5 and i[4])
    if tag == _TIMER and size == 2:
        _need(_is_int(i[1]), f"inbox[{n}] timer step (an int expected)", i[1])
        return TimerFired(i[1])
    if tag == _HOOK and size == 3:
        _need(_is_int(i[1]), f"inbox[{n}] hook step (an int expected)", i[1])
        _need(type(i[2]) is str, f"inbox[{n}] hook event (a str expected)", i[2])
        return HookOutcome(i[1], i[2])
    if tag == _PAUSE and size == 1:
        return Pause()
    if tag == _RESUME and size == 1:
        return Resume()
    if tag == _TERMINATE and size in (2, 3):
        _need(type(i[1]) is str, f"inbox[{n}] terminate reason (a str expected)", i[1])
        if size == 3:
            _need(type(i[2]) is bool, f"inbox[{n}] terminate force (a bool expected)", i[2])
        return Terminate(i[1], size == 3 and i[2])
    if tag == _CHILD and size == 8:
        _need(_is_int(i[1]) and _is_int(i[2]) and type(i[3]) is str and type(i[4]) is str and type(i[5]) is str
              and _is_opt_str(i[7]), f"inbox[{n}] child end ([step, index, child, event, status, context, "
              f"reason] expected)", i)
        return ChildDone(i[1], i[2], i[3], i[4], i[5], i[6], i[7])
    raise _Bad(f"inbox[{n}] has an unknown tag {tag} or the wrong length {size}")
