"""Settings change what the engine does: each section's keys, set through ``Engine.embedded``
keyword options or a ``Config``, observed on an embedded engine or the actor that reads them."""
from __future__ import annotations

import pytest

from runtime_support import gate_blueprint
from goflow.config import Config, RetrySection
from goflow.errors import BlueprintError, InvalidInput
from goflow.paging import every

GATE = "rt/gate"


def test_engine_intensity_bounds_the_restarts_of_a_crashing_instance(embedded, calls):
    crashy = gate_blueprint(action="bad", endpoint="python://workers:unencodable", activity="crashy")
    eng = embedded(blueprints=[crashy], intensity=1)
    bad = eng.start("rt/crashy")
    eng.send(bad, "go")
    s = eng.wait(bad, timeout=10)
    assert s["status"] == "failed"
    assert "crashed 2 times" in s["reason"] and "restart intensity 1" in s["reason"], s["reason"]
    assert len([h for h in every(eng.history, bad) if h["outcome"] == "restarted"]) == 1


def test_limits_blueprint_bytes_bounds_every_deploy(embedded, calls):
    eng = embedded(settings=Config().with_options({"blueprint_bytes": 300}))
    with pytest.raises(BlueprintError) as info:
        eng.deploy(gate_blueprint())
    assert "over the limit of 300 bytes" in str(info.value.problems[0])
    assert "limits.blueprint_bytes" in str(info.value.problems[0])


def test_limits_event_bytes_bounds_inputs_and_events(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], limits_event_bytes=100)
    with pytest.raises(InvalidInput, match="over the limit of 100"):
        eng.start(GATE, {"blob": "x" * 200})
    iid = eng.start(GATE, {"small": 1})
    with pytest.raises(InvalidInput, match=r"over the limit of 100 \(limits.event_bytes\)"):
        eng.send(iid, "go", "y" * 200)


def test_an_unknown_or_old_setting_name_refuses_the_engine(embedded):
    from goflow.errors import ConfigError
    with pytest.raises(ConfigError) as info:
        embedded(max_event_bytes=1000)
    assert info.value.key == "max_event_bytes"


def test_retry_settings_are_the_backoff_of_workers_that_do_not_set_theirs(tmp_path):
    """retry.*: the shard fills in the backoff fields a blueprint leaves out, so the jobs it sends
    carry them; a field the blueprint sets stays as written; the catalog keeps the blueprint as written."""
    from goflow.dsl import to_document
    from goflow.loading import blueprint_from_document
    from goflow.retry import Backoff
    from goflow.shard import Shard
    from goflow.store import open_shard
    doc = gate_blueprint()
    own = dict(doc["workers"][0], priority=2, retryDelay=7.0)
    bp = blueprint_from_document(dict(doc, workers=[doc["workers"][0], own]))
    assert [w.retry_delay for w in bp.workers] == [None, 7.0]
    retry = Config().with_options({"retry_delay": 2.0, "backoff": "fixed", "max_retry_delay": 3.0,
                                   "jitter": 0.0}).retry
    store = open_shard(str(tmp_path), 0)
    try:
        served = Shard(store, [bp], retry=retry).blueprint("rt", "gate")
    finally:
        store.close()
    first, second = served.workers_for("work")
    assert (first.retry_delay, first.backoff, first.max_retry_delay, first.jitter) == (2.0, "fixed", 3.0, 0.0)
    assert [Backoff(first).delay(n) for n in (1, 2, 5)] == [2.0, 2.0, 2.0]
    assert (second.retry_delay, second.backoff) == (7.0, "fixed")
    assert [Backoff(second).delay(n) for n in (1, 2)] == [3.0, 3.0]       # its own 7.0, capped at 3.0
    assert "retryDelay" not in to_document(bp)["workers"][0]               # what the catalog stores
    assert RetrySection().apply_to_blueprint(served) is served             # nothing left unset

