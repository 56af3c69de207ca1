"""The identifier rule (SPEC §12, goflow.ids) as a property over any text, lone surrogates included,
and the error it raises (an InvalidInput with its context, picklable across processes)."""
from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflow.errors import GoflowError, InvalidIdentifier, InvalidInput
from goflow.ids import MAX_BYTES, check_blueprint, check_id, check_optional_id, is_id, problem

# every code point, surrogates (category Cs) and unassigned ones included
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())


def _expected(value: str) -> bool:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return 1 <= size <= MAX_BYTES and "/" not in value and all(c.isprintable() for c in value)


@given(st.text(ANY_CHAR, max_size=300))
def test_rule_over_any_text(value):
    assert is_id(value) is _expected(value)
    if is_id(value):
        assert check_id(value) == value
        value.encode("utf-8")                   # storable, loggable, a path segment of the HTTP API
    else:
        with pytest.raises(InvalidIdentifier) as info:
            check_id(value, "event id")
        err = info.value
        assert isinstance(err, InvalidInput) and isinstance(err, GoflowError)
        assert err.field == "event id" and err.reason == problem(value)
        str(err).encode("utf-8")                 # the message itself is always valid text (escaped)
        again = pickle.loads(pickle.dumps(err))
        assert (type(again), again.field, again.reason, str(again)) == (InvalidIdentifier, err.field, err.reason,
                                                                        str(err))


@given(st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=300))
def test_rule_over_ascii_text(value):
    # problem() takes printable ASCII without encoding it: the same answer as the rule
    assert is_id(value) is _expected(value)


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="/"),
               min_size=1, max_size=MAX_BYTES))
def test_printable_ascii_without_slash_up_to_256_is_an_id(value):
    assert is_id(value)


@pytest.mark.parametrize("value, reason", [
    ("", "empty"), ("a/b", "'/'"), ("\ud800", "lone surrogate"), ("x" * 257, "over 256"),
    ("é" * 129, "258 bytes"), ("a\nb", "U+000A"), ("\u200b", "U+200B"), ("\x00", "U+0000"), (7, "int"),
    (None, "NoneType"),
])
def test_refusals_say_why(value, reason):
    with pytest.raises(InvalidIdentifier, match="invalid instance id") as info:
        check_id(value)
    assert reason in info.value.reason


def test_accepted_edges():
    for value in ("a", "x" * 256, "é" * 128, "a b", "order-17:step_2", "日本語", "emoji-\U0001F600"):
        assert check_id(value) == value
    assert check_optional_id(None) is None
    assert check_blueprint("goflow/inquiry") == ("goflow", "inquiry")
    for bad in ("goflow", "a/b/c", "/x", "x/", 3, "p/\ud800"):
        with pytest.raises(InvalidIdentifier, match="blueprint"):
            check_blueprint(bad)


def test_a_long_value_is_shown_shortened():
    with pytest.raises(InvalidIdentifier) as info:
        check_id("z" * 100_000)
    assert len(str(info.value)) < 300


@settings(deadline=None)
@given(st.text(ANY_CHAR, max_size=40))
def test_the_exact_pattern_is_the_rule(value):
    import re
    from goflow.ids import pattern
    assert bool(re.fullmatch(pattern(exact=True), value)) is _expected(value) or len(value.encode("utf-8", "replace")) > MAX_BYTES


@given(st.from_regex(r"\A[\u0020-\u002E\u0030-\u007E\u00A1-\u00AC\u00AE-\u00FF]{1,256}\Z"))
def test_what_the_openapi_document_calls_an_id_is_one(value):
    import re
    from goflow.ids import pattern
    assert re.fullmatch(pattern(), value) and is_id(value)
