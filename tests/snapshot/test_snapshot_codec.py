"""The msgpack snapshot codec: round trips, and refusal of anything unreadable with SnapshotError."""
from __future__ import annotations

import datetime
import struct
from dataclasses import replace
import types
import zlib

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goflow import snapshot
from goflow.errors import SnapshotError
from goflow.fsm import (
    STATUSES, HookOutcome, Instance, Outcome, Pause, Pending, Resume, Signal, Terminate, TimerFired,
    new_instance, react,
)
from goflow.model import Action, Blueprint, Transition, Worker
from goflow.queues import decode_entry, encode_entry
from goflow.snapshot import FORMAT_VERSION, HEADER_SIZE, MARKER, decode, encode

# ------------------------------------------------------------------------------------------ strategies
ints = st.integers(min_value=-(2 ** 63), max_value=2 ** 64 - 1)
floats = st.floats(allow_nan=False)
numbers = st.one_of(st.integers(min_value=-(2 ** 31), max_value=2 ** 31), floats)
text = st.text(max_size=12)
json_scalars = st.one_of(st.none(), st.booleans(), ints, floats, text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12)
json_objects = st.dictionaries(text, json_values, max_size=5)
steps = st.integers(min_value=0, max_value=2 ** 40)

pendings = st.builds(Pending, steps, text, st.sampled_from(["sync", "async", "delay"]), numbers,
                     st.none() | numbers, st.booleans(), st.booleans())
fsm_inputs = st.one_of(
    st.builds(Signal, text, json_values, st.none() | text),
    st.builds(Outcome, steps, text, json_values, st.booleans()),
    st.builds(TimerFired, steps),
    st.builds(HookOutcome, steps, text),
    st.just(Pause()), st.just(Resume()),
    st.builds(Terminate, text, st.booleans()),
)
instances = st.builds(
    Instance,
    id=st.text(min_size=1, max_size=20), project=text, activity=text,
    version=st.integers(min_value=0, max_value=2 ** 31), state=text, status=st.sampled_from(STATUSES),
    input=json_objects, context=json_objects, step=steps, pending=st.none() | pendings,
    hook_step=st.none() | steps, inbox=st.lists(fsm_inputs, max_size=4).map(tuple),
    event_ids=st.lists(text, max_size=4).map(tuple), reason=st.none() | text,
    created=numbers, updated=numbers,
    postponed=st.lists(st.builds(Signal, text, json_values, st.none() | text), max_size=3).map(tuple),
    result=st.none() | text, visited=st.lists(text, max_size=4).map(tuple), failed_action=st.none() | text)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLE = Instance(
    id="inst-42", project="shop", activity="inquiry", version=3, state="get_product", status="paused",
    input={"customer": "ada", "amount": 12.5},
    context={"customer": "ada", "amount": 12.5, "check": {"ok": True, "tags": ["a", "b"], "n": None}},
    step=7, pending=Pending(7, "get_product", "async", 100.0, 130.0, True, False), hook_step=None,
    event_ids=("ev-1", "ev-9"), reason=None, created=1.0, updated=100.0)
# the same instance holding inputs while paused (and a postponed event), as formats 1-3 stored it
QUEUED = replace(SAMPLE, inbox=(Signal("cancel", {"why": "late"}, "ev-9"), Outcome(7, "success", {"sku": 1}),
                                TimerFired(7), HookOutcome(8, "error")),
                 postponed=(Signal("approve", [1], "ev-3"),))


def frame(payload: bytes, version: int = FORMAT_VERSION) -> bytes:
    """A snapshot header (right length and checksum) around any payload."""
    return struct.pack(">2sBII", MARKER, version, len(payload), zlib.crc32(payload)) + payload


def payload_of(inst: Instance) -> list:
    return msgpack.unpackb(encode(inst)[HEADER_SIZE:], strict_map_key=False)


def format_3(inst: Instance) -> list:
    """The payload the previous GoFlow wrote (format 3: the queues inside, 23 fields)."""
    p = payload_of(inst)
    inbox = [msgpack.unpackb(encode_entry(inst.id, i)[6:], strict_map_key=False) for i in inst.inbox]
    return p[:11] + [inbox] + p[11:15] + [[[e.name, e.data, e.event_id] for e in inst.postponed]] + p[15:]


def unqueued(inst: Instance) -> Instance:
    return replace(inst, inbox=(), postponed=())


def refused(data, instance_id=None, expect_id=None, match=None) -> SnapshotError:
    with pytest.raises(SnapshotError) as info:
        decode(data, instance_id)
    err = info.value
    want = expect_id if expect_id is not None else instance_id
    if want is not None:
        assert err.instance_id == want
        assert want in str(err)
    if match is not None:
        assert match in str(err), str(err)
    return err


# ----------------------------------------------------------------------------------------- round trips
def test_api():
    assert set(snapshot.__all__) >= {"encode", "decode", "FORMAT_VERSION"}
    assert isinstance(FORMAT_VERSION, int) and FORMAT_VERSION >= 1


def test_header_leads_with_marker_and_version():
    data = encode(SAMPLE)
    assert data[:2] == MARKER and data[2] == FORMAT_VERSION
    assert len(data) == HEADER_SIZE + struct.unpack(">I", data[3:7])[0]


def test_sample_round_trip():
    assert decode(encode(SAMPLE)) == SAMPLE
    assert decode(encode(SAMPLE), "inst-42") == SAMPLE


def test_payload_is_positional_not_field_names():
    data = encode(SAMPLE)
    assert b"context" not in data and b"event_ids" not in data
    p = payload_of(SAMPLE)
    assert isinstance(p, list) and p[0] == "inst-42"


@FAST
@given(instances)
def test_round_trip(inst):
    data = encode(inst)
    back = decode(data)
    assert back == unqueued(inst)               # the queues are rows of their own, not in the snapshot
    assert type(back.inbox) is tuple and type(back.event_ids) is tuple
    assert decode(data, inst.id) == unqueued(inst)
    assert encode(back) == data
    assert encode(inst) == encode(unqueued(inst))
    entries = [decode_entry(encode_entry(inst.id, i), inst.id) for i in inst.inbox]
    assert entries == list(inst.inbox) and [type(i) for i in entries] == [type(i) for i in inst.inbox]
    assert [decode_entry(encode_entry(inst.id, e), inst.id, signal_only=True) for e in inst.postponed] == \
        list(inst.postponed)
    old = decode(frame(msgpack.packb(format_3(inst)), version=3), inst.id)   # an old snapshot: queues inside
    assert old == inst


def test_round_trip_of_fsm_instances_along_a_run():
    bp = Blueprint("p", "a", states=("s1", "s2"),
                   actions=(Action("work"), Action("later", "async", timeout=30.0)),
                   transitions=(Transition("init", "start", "work", "s1"),
                                Transition("s1", "success", "later", "s2", delay=5.0),
                                Transition("s2", "go", "continue", "done")),
                   workers=(Worker("work", "python://m:f"), Worker("later", "python://m:g"),
                            Worker("done", "python://m:h")))
    inst = new_instance(bp, "run-1", {"x": [1, 2, {"y": None}]}, 0.0)
    inputs = [Signal("start"), Pause(), Outcome(1, "success", {"out": 1}), Resume(), TimerFired(2),
              Outcome(2, "success", {"ack": True}), Signal("go", {"z": 1}, "ev-1")]
    seen = [inst]
    for now, inp in enumerate(inputs, start=1):
        inst = react(bp, inst, inp, float(now)).instance
        seen.append(inst)
    assert inst.status == "completed" and inst.hook_step is not None
    assert any(s.inbox for s in seen) and any(s.pending for s in seen)
    for s in seen:
        assert decode(encode(s), s.id) == unqueued(s)
        assert tuple(decode_entry(encode_entry(s.id, i), s.id) for i in s.inbox) == s.inbox


def test_mappings_are_stored_as_dicts():
    inst = Instance("m", "p", "a", 1, context={"k": types.MappingProxyType({"a": 1})})
    assert decode(encode(inst)).context == {"k": {"a": 1}}


def test_tuples_come_back_as_lists():
    inst = Instance("t", "p", "a", 1, context={"k": (1, 2)})
    assert decode(encode(inst)).context == {"k": [1, 2]}


def test_bytearray_and_memoryview_are_read():
    data = encode(SAMPLE)
    assert decode(bytearray(data)) == SAMPLE
    assert decode(memoryview(data)) == SAMPLE


# ------------------------------------------------------------------------------------------- encoding
@pytest.mark.parametrize("bad", [{1, 2}, object(), datetime.datetime(2024, 1, 1), 2 ** 64, -(2 ** 63) - 1,
                                 1j, "\ud800"])
@pytest.mark.parametrize("where", ["context", "input", "inbox", "nested"])
def test_encode_refuses_non_json_data(bad, where):
    fields = {"context": {"k": bad}} if where == "context" else \
        {"input": {"k": bad}} if where == "input" else \
        {"inbox": (Signal("e", bad),)} if where == "inbox" else \
        {"context": {"a": [1, {"b": [bad]}]}}
    inst = Instance("enc-1", "p", "a", 1, **fields)
    with pytest.raises(SnapshotError) as info:
        if where == "inbox":
            encode_entry("enc-1", inst.inbox[0])
        else:
            encode(inst)
    assert info.value.instance_id == "enc-1" and "enc-1" in str(info.value)
    assert "cannot be encoded" in str(info.value)


def test_encode_refuses_non_input_in_inbox():
    with pytest.raises(SnapshotError, match="enc-2"):
        encode_entry("enc-2", "start")


# -------------------------------------------------------------------------------------- queue entries
def test_a_corrupt_queue_entry_is_refused():
    data = encode_entry("q-1", Signal("go", {"a": 1}, "ev"))
    assert decode_entry(data, "q-1") == Signal("go", {"a": 1}, "ev")
    for k in range(len(data)):                      # every single byte flipped, every prefix
        flipped = data[:k] + bytes([data[k] ^ 0x41]) + data[k + 1:]
        with pytest.raises(SnapshotError, match="q-1"):
            decode_entry(flipped, "q-1")
        with pytest.raises(SnapshotError, match="q-1"):
            decode_entry(data[:k], "q-1")
    with pytest.raises(SnapshotError, match="not an outside event"):
        decode_entry(encode_entry("q-1", TimerFired(3)), "q-1", signal_only=True)
    with pytest.raises(SnapshotError, match="q-1"):
        decode_entry("text", "q-1")


def test_encode_refuses_too_deep_context():
    deep: list = []
    cur = deep
    for _ in range(2000):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    with pytest.raises(SnapshotError, match="enc-3"):
        encode(Instance("enc-3", "p", "a", 1, context={"deep": deep}))


# ------------------------------------------------------------------------------------ truncation, flips
def test_every_prefix_is_refused():
    data = encode(SAMPLE)
    id_end = HEADER_SIZE + 3 + 1 + len("inst-42")   # array16 header, fixstr header, the id
    for k in range(len(data)):
        refused(data[:k], "inst-42", match="truncated" if k else "empty")
        err = refused(data[:k])
        if k >= id_end:
            assert err.instance_id == "inst-42", (k, str(err))


def test_trailing_bytes_are_refused():
    refused(encode(SAMPLE) + b"\x00", expect_id="inst-42", match="corrupt")


def test_every_single_byte_flip_is_refused():
    data = encode(SAMPLE)
    for pos in range(len(data)):
        for mask in (0x01, 0x80, 0xFF, 0x5A):
            bad = bytearray(data)
            bad[pos] ^= mask
            refused(bytes(bad), "inst-42")


@FAST
@given(st.data())
def test_random_corruption_is_refused_with_the_id(data):
    raw = bytearray(encode(SAMPLE))
    n = data.draw(st.integers(min_value=1, max_value=4))
    for _ in range(n):
        pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[pos] = data.draw(st.integers(min_value=0, max_value=255))
    if bytes(raw) == encode(SAMPLE):
        return
    refused(bytes(raw), "inst-42")


@FAST
@given(st.binary(max_size=300))
def test_garbage_is_refused(blob):
    refused(blob, "gar-1")


@FAST
@given(st.binary(max_size=300))
def test_garbage_payload_with_a_valid_header_is_refused(blob):
    refused(frame(blob), "gar-2")


@FAST
@given(json_values)
def test_wrong_msgpack_document_is_refused(doc):
    refused(frame(msgpack.packb(doc)), "gar-3")


def test_payload_cut_inside_with_a_consistent_header_is_refused():
    payload = encode(SAMPLE)[HEADER_SIZE:]
    for k in range(len(payload)):
        refused(frame(payload[:k]), "inst-42", match="inst-42")


@pytest.mark.parametrize("blob", [b"\xc1", b"\x91\xc1", b"\x91" * 5000 + b"\xc0", b"\x81\x90\x00",
                                  b"\xd4\x05\x00", b"\xdc\xff\xff"])
def test_pathological_msgpack_is_refused(blob):
    # reserved byte 0xc1, very deep nesting, a map with an unhashable key, an extension type,
    # an array header announcing more than there is
    refused(frame(blob), "gar-4")


def test_not_bytes_is_refused():
    refused("GF\x01", "x-1", match="expected bytes")
    refused(None, "x-1", match="expected bytes")


def test_not_a_snapshot():
    refused(b'{"id": "x"}', "x-2", match="not a GoFlow snapshot")


# ---------------------------------------------------------------------------------- version and shape
@pytest.mark.parametrize("version", [0, FORMAT_VERSION + 1, 255])
def test_unknown_version_is_refused(version):
    data = bytearray(encode(SAMPLE))
    data[2] = version
    refused(bytes(data), "inst-42", match=f"unknown snapshot format version {version}")
    refused(bytes(data), expect_id="inst-42", match="version")   # the id is still read


def test_id_mismatch_is_refused():
    err = refused(encode(SAMPLE), "other-id", match="holds instance 'inst-42'")
    assert "other-id" in str(err)


FIELD_NAMES = ["id", "project", "activity", "version", "state", "status", "input", "context", "step",
               "pending", "hook_step", "event_ids", "reason", "created", "updated"]
FIELD_NAMES_3 = FIELD_NAMES[:11] + ["inbox"] + FIELD_NAMES[11:]
WRONG = {
    "project": [None, 1, []], "activity": [None, b"x"], "version": ["1", 1.0, True, None],
    "state": [None, 3], "status": ["sleeping", None, 1, ["running"]], "input": [[], None, "x"],
    "context": [[], None, 1], "step": ["1", 1.5, None, False], "pending": ["x", [], [1, 2, 3],
                                                                           {"step": 1}],
    "hook_step": ["1", 1.5, True], "inbox": [None, {}, "x", [1], [[]], [[0, "e"]], [[9]], [["x"]],
                                             [[0, 1, None, None]], [[1, "1", "success", None]],
                                             [[2, None]], [[3, 1, 2]], [[6, None]], [[4, 1]]],
    "event_ids": [None, "abc", [1], [None]], "reason": [1, []], "created": [None, "1", True],
    "updated": [None, [1]],
}
PENDING_WRONG = [
    (0, "1"), (0, True), (1, None), (2, "weird"), (2, None), (3, None), (3, "1"), (4, "1"),
    (5, 1), (5, None), (6, 0), (6, "yes"),
]


@pytest.mark.parametrize("field,value", [(f, v) for f, vs in WRONG.items() for v in vs])
def test_wrong_field_type_is_refused(field, value):
    if field == "inbox":    # only formats 1 to 3 held the inbox
        p = format_3(QUEUED)
        p[FIELD_NAMES_3.index(field)] = value
        data = frame(msgpack.packb(p), version=3)
    else:
        p = payload_of(SAMPLE)
        p[FIELD_NAMES.index(field)] = value
        data = frame(msgpack.packb(p))
    refused(data, expect_id="inst-42", match="wrong shape")
    refused(data, "inst-42", match=field if field != "pending" or not isinstance(value, list) or
            len(value) != 7 else "pending")


@pytest.mark.parametrize("index,value", PENDING_WRONG)
def test_wrong_pending_is_refused(index, value):
    p = payload_of(SAMPLE)
    p[9][index] = value
    refused(frame(msgpack.packb(p)), "inst-42", match="pending")


@pytest.mark.parametrize("value", [None, 1, "inst", []])
def test_wrong_id_is_refused(value):
    p = payload_of(SAMPLE)
    p[0] = value
    data = frame(msgpack.packb(p))
    if value == "inst":
        refused(data, "inst-42", match="holds instance 'inst'")
        assert decode(data).id == "inst"
    else:
        refused(data, "inst-42", match="id")


@pytest.mark.parametrize("cut", [0, 1, 15, 17, 18, 23, 30])
def test_wrong_length_array_is_refused(cut):
    p = payload_of(SAMPLE)
    p = (p + [None] * 30)[:cut]
    refused(frame(msgpack.packb(p)), "inst-42", match="21-element array")
    if cut != 23:
        refused(frame(msgpack.packb(p), version=3), "inst-42", match="23-element array")
    if cut != 20:
        refused(frame(msgpack.packb(p), version=2), "inst-42", match="20-element array")
    refused(frame(msgpack.packb(p), version=1), "inst-42", match="16-element array")


def test_format_3_is_still_read_with_its_queues():
    """A snapshot written by the previous GoFlow (23 fields, the queues inside) decodes whole."""
    assert decode(frame(msgpack.packb(format_3(QUEUED)), version=3), "inst-42") == QUEUED


def test_format_1_is_still_read():
    """A snapshot written before SPEC §8 (16 fields; Outcome and Terminate without their flags)
    decodes, the new fields at their defaults."""
    p = format_3(SAMPLE)[:16]
    p[11] = [[0, "cancel", {"why": "late"}, "ev-9"], [1, 7, "success", {"sku": 1}], [6, "stop"]]
    inst = decode(frame(msgpack.packb(p), version=1), "inst-42")
    assert inst.inbox == (Signal("cancel", {"why": "late"}, "ev-9"), Outcome(7, "success", {"sku": 1}),
                          Terminate("stop"))
    assert (inst.postponed, inst.result, inst.visited, inst.failed_action) == ((), None, (), None)
