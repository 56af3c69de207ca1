"""The identifier rule and request failures through an embedded engine: the Engine refuses a bad id
before any message is sent, the dispatcher refuses one that reaches it anyway (per item, the rest of
the batch goes on), an event id with a lone surrogate cannot fail an instance, and a request that
makes an actor fail (Thespian's PoisonMessage) is raised to the caller at once, never ignored."""
from __future__ import annotations

import pytest

from runtime_support import gate_blueprint
from actors.messages import Batch
from goflow.errors import GoflowError, InvalidIdentifier, RequestFailed
from goflow.fsm import Signal
from goflow.requests import Item

GATE = "rt/gate"
BAD = ["\ud800", "x" * 300, "a/b", "", "bell\x07"]


def test_engine_refuses_bad_ids_before_sending(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()])
    sent = []
    real_tell = eng._asys.tell
    eng._asys.tell = lambda *a: (sent.append(a), real_tell(*a))[1]
    for bad in BAD:
        for call in (lambda: eng.start(GATE, id=bad), lambda: eng.send(bad, "go"), lambda: eng.status(bad),
                     lambda: eng.history(bad), lambda: eng.terminate(bad), lambda: eng.wait(bad, 1),
                     lambda: eng.send("ok", "go", event_id=bad), lambda: eng.start(f"rt/{bad}" if bad else "rt")):
            with pytest.raises(InvalidIdentifier):
                call()
    assert sent == []
    iid = eng.start(GATE, id="good")
    results = eng.send_many([(iid, "poke", None, "e1"), (BAD[0], "go"), (iid, "poke", None, BAD[0]),
                             (iid, "poke", None, "e2")])
    assert [type(r).__name__ for r in results] == ["dict", "InvalidIdentifier", "InvalidIdentifier", "dict"]
    assert eng.status(iid)["status"] == "waiting"


def test_blueprint_names_are_identifiers_at_every_python_call(embedded, calls, tmp_path):
    import dataclasses

    from goflow.loading import blueprint_from_document
    eng = embedded(blueprints=[gate_blueprint()])
    names = ["rt/bell\x07", "rt/gate/x", "x" * 257 + "/gate", "rt/\ud800", "/gate", "rt/"]
    for bad in names:
        for call in (lambda: eng.start(bad), lambda: eng.list(bad), lambda: eng.counts(bad),
                     lambda: eng.start_many(bad, [{}])):
            with pytest.raises(InvalidIdentifier, match="blueprint"):
                call()
    assert list(eng.list(GATE)) == []
    good = blueprint_from_document(gate_blueprint())
    for field, bad in (("project", "r/t"), ("activity", "ga\tte"), ("project", "p" * 257)):
        named = dataclasses.replace(good, **{field: bad})
        with pytest.raises(InvalidIdentifier, match=f"blueprint {field}"):
            eng.deploy(named)
        with pytest.raises(InvalidIdentifier, match=f"blueprint {field}"):
            embedded(data_dir=tmp_path / f"other-{field}-{len(bad)}", blueprints=[named])
    assert [b[:2] for b in eng.blueprints()] == [("rt", "gate")]


def test_the_dispatcher_refuses_a_bad_id_that_reaches_it(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], shards=2)
    iid = eng.start(GATE, id="good")
    items = [Item(bad, Signal("poke", None, None)) for bad in BAD] + [Item(iid, Signal("poke", None, None))]
    results = eng._batch(items)                   # past the Engine's own checks, as another client would
    assert [type(r).__name__ for r in results[:-1]] == ["InvalidIdentifier"] * len(BAD)
    assert results[-1]["id"] == iid and results[-1]["status"] == "waiting"
    with pytest.raises(InvalidIdentifier):
        eng._query("status", id="\ud800")


def test_an_event_id_with_a_lone_surrogate_cannot_fail_the_instance(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()])
    iid = eng.start(GATE, id="victim")
    with pytest.raises(InvalidIdentifier):
        eng.send(iid, "poke", event_id="\udfff")
    results = eng._batch([Item(iid, Signal("poke", None, "\udfff"))])
    assert [type(r) for r in results] == [InvalidIdentifier]
    assert eng.status(iid)["status"] == "waiting", results
    # a lone surrogate in the event name or the data is refused without harm too
    for name, data in (("\ud800", None), ("poke", {"k": "\ud800"}), ("poke", {"\ud800": 1})):
        with pytest.raises(GoflowError):
            eng.send(iid, name, data)
        assert eng.status(iid)["status"] == "waiting"
    assert eng.send(iid, "go")["status"] in ("running", "completed")


def test_a_poison_message_reply_is_raised_at_once(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], timeout=30)
    rid = next(eng._rids)
    with pytest.raises(RequestFailed, match="Batch"):
        # a malformed item (not an Item) makes the dispatcher raise: Thespian returns the batch as a
        # PoisonMessage
        eng._call(eng._dispatcher, Batch(rid, [("signal",)]), rid, want=1)
    assert eng.start(GATE, id="after") == "after"       # and the engine still serves
