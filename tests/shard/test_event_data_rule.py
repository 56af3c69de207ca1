"""Fuzzing the event-data rule (goflow.shard.check_input, goflow.jsonlike): instance input and event
data are JSON-like and bounded. Any JSON value within the limit is accepted; anything else is
refused with InvalidInput, never another exception."""
from __future__ import annotations

import json

import msgpack
import pytest
from hypothesis import given, settings, strategies as st

from goflow.errors import InvalidInput
from goflow.jsonlike import MAX_DEPTH, why_not_json_like
from goflow.shard import check_input

FUZZ = settings(max_examples=100, deadline=None)
LIMIT = 2000

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1)
                    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
                    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(TEXT, kids, max_size=5),
                    max_leaves=40)
NOT_JSON = st.sampled_from([b"x", bytearray(b"x"), memoryview(b"x"), float("nan"), float("inf"),
                            -float("inf"), {1: 2}, {None: 1}, {1.5: "a"}, {True: 1}, {("a",): 1}, set(),
                            frozenset({1}), object(), 1j, "\ud800", {"\udc00": 1}, 2**64, -2**63 - 1,
                            range(3), Exception("x")])


def _encoded(value) -> int:
    return len(msgpack.packb(value, use_bin_type=True))


def _nest(value, depth: int):
    """``value`` inside ``depth`` lists."""
    for _ in range(depth):
        value = [value]
    return value


@FUZZ
@given(JSON)
def test_json_data_within_the_limit_is_accepted_and_beyond_it_refused(value):
    assert why_not_json_like(value) is None
    size = _encoded(value)
    if size <= LIMIT:
        check_input("i", "the data", value, LIMIT)
        assert json.loads(json.dumps(value, allow_nan=False)) == value
    else:
        with pytest.raises(InvalidInput, match=f"over the limit of {LIMIT}"):
            check_input("i", "the data", value, LIMIT)


@FUZZ
@given(JSON, NOT_JSON, st.integers(0, 3), st.sampled_from(["value", "key", "list"]))
def test_anything_not_json_like_anywhere_is_refused_with_invalid_input(value, bad, depth, where):
    if where == "key" and isinstance(bad, str):
        data = {bad: value}
    elif where == "list":
        data = [value, _nest(bad, depth)]
    else:
        data = {"ok": value, "bad": _nest(bad, depth)}
    with pytest.raises(InvalidInput, match="not JSON-like"):
        check_input("i", "the data", data, 10**9)


@settings(max_examples=30, deadline=None)
@given(st.integers(MAX_DEPTH, MAX_DEPTH + 400))
def test_nesting_is_bounded(depth):
    data = _nest(1, depth + 1)
    with pytest.raises(InvalidInput, match="not JSON-like"):
        check_input("i", "the data", data, 10**9)
    assert why_not_json_like(_nest(1, MAX_DEPTH)) is None


@pytest.mark.parametrize("bad", [b"x", float("nan"), {1: 2}, bytearray(b"")])
def test_what_msgpack_took_is_refused(bad):
    """Regression: bytes, NaN and non-string keys used to pass (msgpack encodes them), then broke
    the JSON the HTTP API and the CLI show (or a key 1 came back as "1")."""
    with pytest.raises(InvalidInput, match="not JSON-like"):
        check_input("i", "the data", {"a": bad}, 10**6)


def test_tuples_are_arrays():
    check_input("i", "the data", {"a": (1, 2, (3,))}, 100)
