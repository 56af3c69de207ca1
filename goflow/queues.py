"""An instance's queues as store rows: what is committed, and what a transition changed.

An instance has two queues (:class:`goflow.fsm.Instance`): ``inbox``, the inputs held while it is
paused (bound ``limits.paused_events``), and ``postponed``, the outside events kept until its state
can take them (SPEC §8, bound ``limits.postponed``). The FSM sees them as tuples. The store keeps
each entry as a row of its own, apart from the snapshot, keyed by ``(instance, seq)``: ``seq`` is a
number per instance, increasing, so each queue read back in ``seq`` order is in queue order. A
transition that appends one event to a queue of N writes one row, not N (O(N) for N events, where a
queue inside the snapshot cost O(N²)).

The shard keeps, beside each instance, the :class:`Committed` rows (the entries as committed and
their ``seq``); :func:`diff` compares them with the instance after a batch and says which rows to
write and which to delete (:class:`goflow.store.Change` ``queued`` / ``unqueued``). The FSM only
appends at the end of a queue and removes entries (the whole inbox on resume or end, one postponed
event by position when it is taken, the whole queue when the instance ends), so the new queue is the
committed one less some entries, plus new ones at the end. The entries are compared by identity (the
FSM moves the same objects around): a queue only appended to is recognised in O(1), one that lost
entries in O(N) once (each entry leaves once, so that is O(1) per event over its life).

An entry's row holds :func:`encode_entry`'s bytes: ``b"Q"``, a format version (1 byte), the CRC-32
of the payload (4 bytes, as a snapshot has: a corrupt row is refused, never read as another event),
then the payload, one input tagged as in a snapshot's inbox (:mod:`goflow.snapshot`).

Pure: no I/O; the store writes the rows.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Iterable
from zlib import crc32

import msgpack

from . import snapshot
from .errors import SnapshotError
from .fsm import Instance, Signal
from ._input_codec import _Bad, _dec_input, _default, _enc_input, _unpack   # the snapshot's input codec

__all__ = ["INBOX", "POSTPONED", "QUEUES", "Committed", "diff", "load", "encode_entry", "decode_entry"]

INBOX, POSTPONED = "inbox", "postponed"
QUEUES = (INBOX, POSTPONED)


@dataclass(frozen=True, slots=True)
class Committed:
    """An instance's queue rows as committed: each queue's entries (the objects the instance holds)
    and their ``seq``, aligned (a ``range`` while they are consecutive, else a tuple); ``next_seq``
    is the ``seq`` of the next entry appended."""

    inbox: tuple = ()
    inbox_seqs: tuple = ()
    postponed: tuple = ()
    postponed_seqs: tuple = ()
    next_seq: int = 0


NOTHING = Committed()
ENTRY_MARKER = b"Q"
ENTRY_VERSION = 1
_ENTRY_HEADER = struct.Struct(">cBI")    # marker, version, payload CRC-32


def encode_entry(instance_id: str, entry) -> bytes:
    """One queued entry (an FSM input held while paused, or a postponed :class:`Signal`) as the bytes
    of its store row. Raises :class:`SnapshotError` if its data is not JSON-like."""
    try:
        payload = msgpack.packb(_enc_input(entry), use_bin_type=True, default=_default)
    except Exception as exc:
        raise SnapshotError(instance_id, f"a queued {type(entry).__name__} cannot be encoded: "
                                         f"{type(exc).__name__}: {exc}") from exc
    return _ENTRY_HEADER.pack(ENTRY_MARKER, ENTRY_VERSION, crc32(payload)) + payload


def decode_entry(data: bytes, instance_id: str, *, signal_only: bool = False):
    """The FSM input a queued entry's row holds (``signal_only``: a postponed entry, which must be a
    :class:`Signal`). Raises :class:`SnapshotError`, and nothing else, when it is corrupt."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes) or len(data) < _ENTRY_HEADER.size:
        raise SnapshotError(instance_id, f"a queued entry is not bytes of at least {_ENTRY_HEADER.size}: "
                                         f"{data!r:.40}")
    marker, version, crc = _ENTRY_HEADER.unpack_from(data)
    if marker != ENTRY_MARKER or version != ENTRY_VERSION:
        raise SnapshotError(instance_id, f"a queued entry has an unknown marker or version ({data[:2]!r}); "
                                         "it was written by another GoFlow version")
    payload = data[_ENTRY_HEADER.size:]
    if crc32(payload) != crc:
        raise SnapshotError(instance_id, "corrupt: a queued entry does not match its checksum")
    try:
        entry = _dec_input(_unpack(payload), 0)
    except _Bad as exc:
        raise SnapshotError(instance_id, f"wrong shape: queued entry: {exc}") from None
    except Exception as exc:
        raise SnapshotError(instance_id, f"corrupt: a queued entry is not valid msgpack "
                                         f"({type(exc).__name__}: {exc})") from None
    if signal_only and type(entry) is not Signal:
        raise SnapshotError(instance_id, f"wrong shape: a postponed entry holds {type(entry).__name__}, "
                                         "not an outside event")
    return entry


def load(row) -> tuple[Instance, Committed]:
    """The instance a stored row holds (a :class:`goflow.store.StoredInstance`: its snapshot and its
    ``queue`` rows ``(seq, queue, entry)`` in ``seq`` order), and its committed queue rows. A
    snapshot of format 1, 2 or 3 holds its queues itself (written before they were rows; such an
    instance has no rows): they are kept, as not yet committed, so the next commit writes them as
    rows. Raises :class:`goflow.errors.SnapshotError` for a corrupt snapshot or entry."""
    iid = row.id
    inst = snapshot.decode(row.snapshot, iid)
    rows = getattr(row, "queue", ())
    if not rows:
        return inst, NOTHING
    if inst.inbox or inst.postponed:
        raise SnapshotError(iid, "holds its queues both in its snapshot and as rows")
    box, box_seqs, kept, kept_seqs = [], [], [], []
    last = -1
    for seq, queue, entry in rows:
        if queue == INBOX:
            box.append(decode_entry(entry, iid))
            box_seqs.append(seq)
        elif queue == POSTPONED:
            kept.append(decode_entry(entry, iid, signal_only=True))
            kept_seqs.append(seq)
        else:
            raise SnapshotError(iid, f"a queued entry (seq {seq}) is in an unknown queue {queue!r}")
        last = max(last, seq)
    inbox, postponed = tuple(box), tuple(kept)
    inst = replace(inst, inbox=inbox, postponed=postponed)
    return inst, Committed(inbox, _compact(box_seqs), postponed, _compact(kept_seqs), last + 1)


def diff(base: Committed, inst: Instance) -> tuple[list[tuple[int, str, object]], list[int], Committed]:
    """What to store so that the rows hold ``inst``'s queues: ``(appended, removed, committed)``,
    ``appended`` the new entries ``(seq, queue, entry)``, ``removed`` the ``seq`` of the rows to
    delete, ``committed`` the rows once that is done."""
    if inst.inbox is base.inbox and inst.postponed is base.postponed:
        return [], [], base
    appended: list = []
    removed: list = []
    seq = base.next_seq
    inbox, inbox_seqs, seq = _one(INBOX, base.inbox, base.inbox_seqs, inst.inbox, seq, appended, removed)
    postponed, postponed_seqs, seq = _one(POSTPONED, base.postponed, base.postponed_seqs, inst.postponed,
                                          seq, appended, removed)
    return appended, removed, Committed(inbox, inbox_seqs, postponed, postponed_seqs, seq)


def _one(queue: str, old: tuple, seqs: tuple, new: tuple, seq: int, appended: list,
         removed: list) -> tuple[tuple, tuple, int]:
    if new is old:
        return old, seqs, seq
    n = len(old)
    if n == 0 or (len(new) >= n and new[n - 1] is old[n - 1] and new[0] is old[0]):
        kept, out_seqs = n, seqs     # appended to only (the usual case): no walk
    else:                            # entries left: walk both, in order (the FSM keeps the order)
        keep = []
        kept = 0
        for entry, s in zip(old, seqs):
            if kept < len(new) and new[kept] is entry:
                keep.append(s)
                kept += 1
            else:
                removed.append(s)
        out_seqs = _compact(keep)
    if len(new) > kept:
        start = seq
        for entry in new[kept:]:
            appended.append((seq, queue, entry))
            seq += 1
        if not out_seqs:
            out_seqs = range(start, seq)
        elif type(out_seqs) is range and out_seqs.step == 1 and out_seqs.stop == start:
            out_seqs = range(out_seqs.start, seq)       # O(1): no copy of a long queue's seqs
        else:
            out_seqs = tuple(out_seqs) + tuple(range(start, seq))
    return new, out_seqs, seq


def _compact(seqs: list) -> "range | tuple":
    """``seqs`` (increasing) as a range when they are consecutive (the usual case: a queue appended
    to at its end and emptied from its front), else a tuple."""
    if seqs and seqs[-1] - seqs[0] == len(seqs) - 1:
        return range(seqs[0], seqs[-1] + 1)
    return tuple(seqs)


def rows_of(instance_id: str, appended: Iterable[tuple[int, str, object]]) -> tuple:
    """The appended entries as store rows ``(seq, queue, entry bytes)``."""
    enc = encode_entry
    return tuple((seq, queue, enc(instance_id, entry)) for seq, queue, entry in appended)
