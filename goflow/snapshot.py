"""The msgpack snapshot codec of an instance's whole state (SPEC §6).

The runtime encodes one snapshot per committed transition, so the format is built for speed: a short
binary header, then one msgpack *array* (positional, no field names)::

    offset  size  field
    0       2     marker  b"GF"
    2       1     format version (FORMAT_VERSION; every future format keeps bytes 0..2 as they are)
    3       4     payload length, big-endian unsigned
    7       4     CRC-32 of the payload, big-endian unsigned
    11      n     payload: msgpack array (format 4 below)

Format 4 payload, in :class:`goflow.fsm.Instance` field order without the two queues::

    [id, project, activity, version, state, status, input, context, step, pending, hook_step,
     event_ids, reason, created, updated, result, visited, failed_action, parent, notify, join]

The queues (``Instance.inbox``, the inputs held while paused, and ``Instance.postponed``) are not in
a format-4 snapshot: each queued entry is a row of its own in the store, encoded by
:func:`goflow.queues.encode_entry` (``docs/store.md``), so appending to a queue of N costs O(1), not
O(N). Formats 1 to 3 held them and are still read (a data directory of an earlier version loads: its
queues are written as rows at the instance's next commit). Format 3 is the 23-element array
``[... hook_step, inbox, event_ids, reason, created, updated, postponed, result, visited,
failed_action, parent, notify, join]``; format 1 is its first 16 fields, format 2 its first 20 (the
others then take their defaults). The fields::

    parent        nil | [id, step, index, depth]  a child's link to its parent (SPEC §8)
    notify        bool                            an ended child whose parent has not acknowledged it
    join          nil | [step, action, results, origins, each]   the children of the last workflow
                  step; results: [nil | [event, status, context, reason], ...]; origins: [step, ...]

    postponed     (formats 2-3) [[name, data, event_id], ...]   the postponed outside events, oldest first
    result        nil | str                       the end state it ended in
    visited       [str, ...]                      the states it has entered
    failed_action nil | str                       the action of the step that failed it

    pending  nil | [step, action, kind, since, due, accepted, enter]
    inbox    (formats 1-3; a queued entry's row) [input, ...], each input tagged by its first element:
             [0, name, data, event_id]   Signal        [1, step, event, output, accepted]  Outcome
             [2, step]                   TimerFired    [3, step, event]                    HookOutcome
             [4] Pause   [5] Resume   [6, reason, force] Terminate
             [7, step, index, child, event, status, context, reason]  ChildDone
             (format 1: Outcome without accepted, Terminate without force; the codec of one input:
             goflow._input_codec)

``input``, ``context`` and the data of inputs are JSON-like values (dict, list, str, int, float, bool,
None; bytes also survive). msgpack has one array type, so a tuple inside them comes back as a list,
and NaN never compares equal to itself. Anything else (sets, datetimes, objects, ints beyond 64 bits)
is refused at :func:`encode` with :class:`~goflow.errors.SnapshotError`.

:func:`decode` checks the marker, version, length and checksum, then the shape and type of every
field, and refuses anything wrong with :class:`~goflow.errors.SnapshotError` naming the instance and
the reason; it raises no other exception type. The CRC means any single corrupted byte (indeed any
burst of up to 32 corrupted bits) is detected rather than read as a different, valid-looking
instance. Given ``instance_id``, a snapshot holding a different instance is refused as well.
"""
from __future__ import annotations

import struct
from zlib import crc32

import msgpack

from ._input_codec import (_Bad, _dec_input, _default, _is_int, _is_num, _is_opt_int, _is_opt_str,
                           _need, _no_ext, _unpack)
from .errors import SnapshotError
from .fsm import STATUSES, Instance, Join, Parent, Pending, Signal

__all__ = ["FORMAT_VERSION", "MARKER", "HEADER_SIZE", "encode", "decode"]

FORMAT_VERSION = 4
READS = (1, 2, 3, 4)                    # the format versions decode reads
MARKER = b"GF"
_HEADER = struct.Struct(">2sBII")       # marker, version, payload length, payload CRC-32
HEADER_SIZE = _HEADER.size              # 11
_FIELDS = 21                            # top-level array length of format 4 (no queues)
_FIELDS_3 = 23                          # ... of format 3
_FIELDS_2 = 20                          # ... of format 2
_FIELDS_1 = 16                          # ... and of format 1
_PENDING_KINDS = frozenset({"sync", "async", "delay", "workflow"})
_STATUSES = frozenset(STATUSES)

_packb = msgpack.packb
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from


# ---------------------------------------------------------------------------------------------- encode
def _enc_parent(p: Parent) -> list:
    return [p.id, p.step, p.index, p.depth]


def _enc_join(j: Join) -> list:
    return [j.step, j.action, [None if r is None else list(r) for r in j.results], list(j.origins), j.each]


def encode(instance: Instance) -> bytes:
    """The snapshot of ``instance``, its queues (``inbox``, ``postponed``) left out: the store keeps
    them as rows of their own (:mod:`goflow.queues`). Raises :class:`SnapshotError` if it holds data
    msgpack cannot carry (its context or input is not JSON-like)."""
    try:
        p = instance.pending
        payload = _packb(
            [instance.id, instance.project, instance.activity, instance.version, instance.state,
             instance.status, instance.input, instance.context, instance.step,
             None if p is None else [p.step, p.action, p.kind, p.since, p.due, p.accepted, p.enter],
             instance.hook_step, instance.event_ids, instance.reason, instance.created, instance.updated,
             instance.result, instance.visited, instance.failed_action,
             None if instance.parent is None else _enc_parent(instance.parent), instance.notify,
             None if instance.join is None else _enc_join(instance.join)],
            use_bin_type=True, default=_default)
    except Exception as exc:  # TypeError, OverflowError, ValueError (depth), UnicodeEncodeError, ...
        raise SnapshotError(getattr(instance, "id", None),
                            f"cannot be encoded: {type(exc).__name__}: {exc}") from exc
    return _pack_header(MARKER, FORMAT_VERSION, len(payload), crc32(payload)) + payload


# ---------------------------------------------------------------------------------------------- decode
def _dec_pending(p) -> Pending | None:
    if p is None:
        return None
    if type(p) is not list or len(p) != 7:
        raise _Bad(f"field pending is not nil or a 7-element array: {p!r:.80}")
    step, action, kind, since, due, accepted, enter = p
    t_since, t_due = type(since), type(due)
    if (type(step) is int and type(action) is str and type(kind) is str and kind in _PENDING_KINDS
            and (t_since is float or t_since is int) and (due is None or t_due is float or t_due is int)
            and type(accepted) is bool and type(enter) is bool):
        return Pending(step, action, kind, since, due, accepted, enter)
    _need(_is_int(step), "pending.step (an int expected)", step)
    _need(type(action) is str, "pending.action (a str expected)", action)
    _need(kind in _PENDING_KINDS if type(kind) is str else False,
          "pending.kind (sync, async or delay expected)", kind)
    _need(_is_num(since), "pending.since (a number expected)", since)
    _need(due is None or _is_num(due), "pending.due (nil or a number expected)", due)
    _need(type(accepted) is bool, "pending.accepted (a bool expected)", accepted)
    _need(type(enter) is bool, "pending.enter (a bool expected)", enter)
    raise _Bad(f"field pending is wrong: {p!r:.80}")  # pragma: no cover


def _dec_children(parent, notify, join) -> tuple:
    """The SPEC §8 child-workflow fields of format 3: parent link, notice flag, join."""
    if parent is not None:
        _need(type(parent) is list and len(parent) == 4 and type(parent[0]) is str
              and all(_is_int(x) for x in parent[1:]), "parent (nil or [id, step, index, depth] expected)", parent)
        parent = Parent(*parent)
    _need(type(notify) is bool, "notify (a bool expected)", notify)
    if join is not None:
        ok = (type(join) is list and len(join) == 5 and _is_int(join[0]) and type(join[1]) is str
              and type(join[2]) is list and type(join[3]) is list and type(join[4]) is bool
              and len(join[2]) == len(join[3]) and all(_is_int(o) for o in join[3])
              and all(r is None or (type(r) is list and len(r) == 4 and type(r[0]) is str and type(r[1]) is str)
                      for r in join[2]))
        _need(ok, "join (nil or [step, action, results, origins, each] expected)", join)
        join = Join(join[0], join[1], tuple(None if r is None else tuple(r) for r in join[2]), tuple(join[3]),
                    join[4])
    return parent, notify, join


def _dec_postponed(p) -> tuple:
    if type(p) is not list:
        raise _Bad(f"field postponed is not an array: {p!r:.80}")
    out = []
    for n, e in enumerate(p):
        if type(e) is not list or len(e) != 3 or type(e[0]) is not str or not _is_opt_str(e[2]):
            raise _Bad(f"postponed[{n}] is not a [name, data, event_id] array: {e!r:.80}")
        out.append(Signal(e[0], e[1], e[2]))
    return tuple(out)


def _best_effort_id(data, offset: int) -> str | None:
    """The instance id of a snapshot that cannot be read whole, if its payload still begins with one
    (the id is the first element of the payload array in every format)."""
    try:
        u = msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=_no_ext, max_buffer_size=len(data))
        u.feed(data[offset:])
        if u.read_array_header() >= 1:
            iid = u.unpack()
            if type(iid) is str:
                return iid
    except Exception:  # garbage in any way: there is no id to read
        pass
    return None


def decode(data: bytes, instance_id: str | None = None) -> Instance:
    """The :class:`Instance` a snapshot holds. ``instance_id`` is the id the caller expects (e.g. the
    store's key): the snapshot must hold that instance, and errors name it; without it, errors name
    the id read from the snapshot where one can be read (else ``?``). Raises :class:`SnapshotError`, and nothing else, when the
    snapshot is of an unknown format version, corrupt, truncated or of the wrong shape."""
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise SnapshotError(instance_id, f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    size = len(data)
    if data[:2] != MARKER:
        if MARKER.startswith(data):
            raise SnapshotError(instance_id, f"truncated: {size} bytes, shorter than the "
                                             f"{HEADER_SIZE}-byte header" if size else "empty")
        raise SnapshotError(instance_id, f"not a GoFlow snapshot: it does not begin with the marker "
                                         f"{MARKER!r} (it begins {data[:8]!r})")
    if size < 3:
        raise SnapshotError(instance_id, f"truncated: {size} bytes, shorter than the "
                                         f"{HEADER_SIZE}-byte header")
    version = data[2]
    if version not in READS:
        raise SnapshotError(instance_id or _best_effort_id(data, HEADER_SIZE),
                            f"unknown snapshot format version {version} (this GoFlow reads versions "
                            f"{', '.join(map(str, READS))}); it was written by another GoFlow version")
    if size < HEADER_SIZE:
        raise SnapshotError(instance_id, f"truncated: {size} bytes, shorter than the "
                                         f"{HEADER_SIZE}-byte header")
    _, _, length, crc = _unpack_header(data)
    if size - HEADER_SIZE != length:
        what = "truncated" if size - HEADER_SIZE < length else "corrupt"
        raise SnapshotError(instance_id or _best_effort_id(data, HEADER_SIZE),
                            f"{what}: the header announces a {length}-byte payload but "
                            f"{size - HEADER_SIZE} bytes follow it")
    payload = data[HEADER_SIZE:]
    if crc32(payload) != crc:
        raise SnapshotError(instance_id or _best_effort_id(data, HEADER_SIZE),
                            "corrupt: the payload does not match its checksum")
    try:
        obj = _unpack(payload)
    except _Bad as exc:
        raise SnapshotError(instance_id, str(exc)) from None
    except Exception as exc:  # ValueError, FormatError, StackError, TypeError (unhashable key), ...
        raise SnapshotError(instance_id, f"corrupt: the payload is not valid msgpack "
                                         f"({type(exc).__name__}: {exc})") from None
    fields = _FIELDS if version == 4 else _FIELDS_3 if version == 3 else _FIELDS_2 if version == 2 else _FIELDS_1
    if type(obj) is not list or len(obj) != fields:
        raise SnapshotError(instance_id or (obj[0] if type(obj) is list and obj and type(obj[0]) is str
                                            else None),
                            f"wrong shape: the payload is not a {fields}-element array "
                            f"(it is {type(obj).__name__}"
                            f"{' of %d elements' % len(obj) if type(obj) is list else ''})")
    if fields == _FIELDS:       # format 4: the queues are rows of their own
        (iid, project, activity, bp_version, state, status, input_, context, step, pending, hook_step,
         event_ids, reason, created, updated, result, visited, failed_action) = obj[:18]
        inbox, postponed, kin = [], [], obj[18:]
    else:
        (iid, project, activity, bp_version, state, status, input_, context, step, pending, hook_step,
         inbox, event_ids, reason, created, updated) = obj[:_FIELDS_1]
        postponed, result, visited, failed_action = obj[_FIELDS_1:_FIELDS_2] if fields > _FIELDS_1 else ([], None, [], None)
        kin = obj[_FIELDS_2:] if fields == _FIELDS_3 else (None, False, None)
    if type(iid) is not str:
        raise SnapshotError(instance_id, f"wrong shape: field id is {type(iid).__name__} {iid!r:.60}")
    if instance_id is not None and iid != instance_id:
        raise SnapshotError(instance_id, f"holds instance {iid!r}, not {instance_id!r}")
    t_created, t_updated = type(created), type(updated)
    if (type(project) is str and type(activity) is str and type(bp_version) is int
            and type(state) is str and type(status) is str and status in _STATUSES
            and type(input_) is dict and type(context) is dict and type(step) is int
            and (hook_step is None or type(hook_step) is int) and type(inbox) is list
            and type(event_ids) is list and (reason is None or type(reason) is str)
            and (t_created is float or t_created is int) and (t_updated is float or t_updated is int)
            and all([type(e) is str for e in event_ids])):
        try:  # the fast path: only pending, the inbox and the SPEC §8 fields are left to check
            pend = None if pending is None else _dec_pending(pending)
            box = tuple([_dec_input(i, n) for n, i in enumerate(inbox)]) if inbox else ()
            kept = _dec_postponed(postponed) if postponed or type(postponed) is not list else ()
            if not ((result is None or type(result) is str) and type(visited) is list
                    and (failed_action is None or type(failed_action) is str)
                    and all([type(v) is str for v in visited])):
                _need(_is_opt_str(result), "result (nil or a str expected)", result)
                _need(_is_opt_str(failed_action), "failed_action (nil or a str expected)", failed_action)
                _need(False, "visited (an array of str expected)", visited)
            parent, notify, join = _dec_children(*kin) if kin[0] is not None or kin[1] or kin[2] is not None \
                else (None, False, None)
        except _Bad as exc:
            raise SnapshotError(iid, f"wrong shape: {exc}") from None
        return Instance(iid, project, activity, bp_version, state, status, input_, context, step, pend,
                        hook_step, box, tuple(event_ids), reason, created, updated, kept, result,
                        tuple(visited), failed_action, parent, notify, join)
    try:  # the slow path: find what is wrong, to say so
        _need(type(project) is str, "project (a str expected)", project)
        _need(type(activity) is str, "activity (a str expected)", activity)
        _need(_is_int(bp_version), "version (an int expected)", bp_version)
        _need(type(state) is str, "state (a str expected)", state)
        _need(status in _STATUSES if type(status) is str else False,
              f"status (one of {', '.join(STATUSES)} expected)", status)
        _need(type(input_) is dict, "input (a map expected)", input_)
        _need(type(context) is dict, "context (a map expected)", context)
        _need(_is_int(step), "step (an int expected)", step)
        _need(_is_opt_int(hook_step), "hook_step (nil or an int expected)", hook_step)
        _need(type(inbox) is list, "inbox (an array expected)", inbox)
        _need(type(event_ids) is list, "event_ids (an array expected)", event_ids)
        for e in event_ids:
            _need(type(e) is str, "event_ids (an array of str expected) element", e)
        _need(_is_opt_str(reason), "reason (nil or a str expected)", reason)
        _need(_is_num(created), "created (a number expected)", created)
        _need(_is_num(updated), "updated (a number expected)", updated)
    except _Bad as exc:
        raise SnapshotError(iid, f"wrong shape: {exc}") from None
    raise SnapshotError(iid, "wrong shape")  # pragma: no cover - the fast path missed nothing above
