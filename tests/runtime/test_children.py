"""SPEC §8 child workflows, each test on an embedded engine and on a daemon of 2 hosts (python://
workers, in-process or in the daemon's proxies; the calls counted in one file): one child, forEach
and its join, failures, end states, bad input at run time, deploy refusals, terminate cascading to
the children's cancel handlers, retry of the failed children only, idempotent child creates."""
from __future__ import annotations

import pytest

from children_support import child_blueprint, kid_outcomes, parent_blueprint, t
from goflow.errors import BlueprintError, GoflowError, InstanceNotFound
from goflow.paging import every
from goflow.requests import Create
from goflow.fsm import Parent
from runtime_support import poll, read_calls, worker

PARENT = "rt/parent"


@pytest.fixture(params=["embedded", "daemon"])
def engine(request):
    """A factory of engines: embedded, or a daemon with 2 hosts (children on either)."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded")
    daemons = request.getfixturevalue("daemons")
    return lambda **kw: daemons.start(shards=2, **kw)


def test_a_single_child_gives_its_context_as_the_output(engine, calls):
    eng = engine(blueprints=[child_blueprint(), parent_blueprint({"blueprint": "rt/child"})])
    iid = eng.start(PARENT, {"order": 7})
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"]) == ("completed", "done")
    kid = f"{iid}~1"
    assert st["context"]["kids"] == {"order": 7, "work": {"action": "work", "step": 1}}
    child = eng.status(kid)
    assert child["parent"] == {"id": iid, "step": 1, "index": 0} and child["input"] == {"order": 7}
    assert eng.status(iid)["parent"] is None
    assert kid_outcomes(eng, iid) == [("child-started", kid), ("child-ended", {"child": kid, "status": "completed"})]
    assert [r["outcome"] for r in every(eng.history, kid)].count("created") == 1


def test_foreach_joins_in_item_order_and_input_key(engine, calls):
    eng = engine(blueprints=[child_blueprint("python://workers:slow"),
                               parent_blueprint({"blueprint": "rt/child", "forEach": "lines", "input": "order"})])
    iid = eng.start(PARENT, {"lines": ["a", "b", "c", "d"], "order": {"no": 5}})
    st = eng.wait(iid, 10)
    assert st["status"] == "completed"
    assert [(c["item"], c["index"], c["no"]) for c in st["context"]["kids"]] == [
        ("a", 0, 5), ("b", 1, 5), ("c", 2, 5), ("d", 3, 5)]
    ids = [f"{iid}~1~{i}" for i in range(4)]
    assert [d for o, d in kid_outcomes(eng, iid) if o == "child-started"] == ids
    assert sorted(d["child"] for o, d in kid_outcomes(eng, iid) if o == "child-ended") == ids
    assert sorted(r["id"] for r in eng.list(parent=iid)) == ids
    assert eng.list(parent=ids[0]) == []


def test_a_failing_child_gives_error_after_all_have_ended(engine, calls, tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    bad.write_text("b\n")
    monkeypatch.setenv("GOFLOW_TEST_BAD", str(bad))
    eng = engine(blueprints=[child_blueprint("python://workers:picky"),
                               parent_blueprint({"blueprint": "rt/child", "forEach": "lines"})])
    iid = eng.start(PARENT, {"lines": ["a", "b", "c"]})
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"]) == ("failed", "failed_end")
    out = st["context"]["kids"]
    assert [(f["index"], f["id"], f["status"]) for f in out["failed"]] == [(1, f"{iid}~1~1", "failed")]
    assert [r and r.get("item") for r in out["results"]] == ["a", "b", "c"]
    ended = [o for o, _ in kid_outcomes(eng, iid)].count("child-ended")
    assert ended == 3                               # the join waited for all three


def test_an_end_state_of_the_child_is_the_parents_event(engine, calls):
    ender = child_blueprint("python://workers:ok", end=True)
    ender["transitions"][0] = t("init", "start", "continue", "declined")
    eng = engine(blueprints=[ender, parent_blueprint({"blueprint": "rt/child"})])
    iid = eng.start(PARENT)
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"]) == ("completed", "child_declined")
    assert eng.status(f"{iid}~1")["result"] == "declined"


@pytest.mark.parametrize("data, why", [
    ({}, "the forEach key 'lines' is not in the context"),
    ({"lines": "abc"}, "the forEach key 'lines' holds str, not a list"),
    ({"lines": list(range(4))}, "holds 4 items, over the limit of 3 children (limits.children)"),
])
def test_bad_foreach_input_is_an_error_outcome_and_starts_nothing(engine, calls, data, why):
    eng = engine(blueprints=[child_blueprint(), parent_blueprint({"blueprint": "rt/child", "forEach": "lines"})],
                   children=3)
    iid = eng.start(PARENT, data)
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"]) == ("failed", "failed_end")
    assert why in st["context"]["kids"]["error"]
    assert [o for o, _ in kid_outcomes(eng, iid)] == ["children-refused"]
    assert eng.list("rt/child") == [] and read_calls(calls) == []


def test_deploy_refuses_a_missing_child_and_recursion(engine, calls):
    eng = engine(blueprints=[child_blueprint()])
    with pytest.raises(BlueprintError, match="unknown-child"):
        eng.deploy(parent_blueprint({"blueprint": "rt/nowhere"}))
    selfish = parent_blueprint({"blueprint": "rt/parent"})
    with pytest.raises(BlueprintError, match="child-recursion"):
        eng.deploy(selfish)
    eng.deploy(parent_blueprint({"blueprint": "rt/child"}))   # deployed before: fine
    with pytest.raises(GoflowError):
        eng.start("rt/nowhere")


def test_recursion_with_the_opt_in_is_bounded_by_the_depth(engine, calls):
    selfish = parent_blueprint({"blueprint": "rt/parent"})
    eng = engine(blueprints=[selfish], child_depth=2)
    iid = eng.start(PARENT)
    st = eng.wait(iid, 10)
    # the grandchild (depth 2) would start a depth-3 child: its step errs, and the errors go up
    grand = eng.status(f"{iid}~1~1")
    assert grand["parent"]["id"] == f"{iid}~1" and grand["result"] == "failed_end"
    assert "over limits.child_depth (2)" in grand["context"]["kids"]["error"]
    assert st["result"] == "failed_end"


def test_terminate_cascades_to_the_childrens_cancel_handlers(engine, calls):
    waiter = {"project": "rt", "activity": "child", "states": ["wait", "undo"], "end": {"undone": "completed"},
              "actions": [{"name": "release", "type": "sync"}],
              "transitions": [t("init", "start", "continue", "wait"), t("wait", "go", "continue", "done"),
                              t("wait", "cancel", "release", "undo"), t("undo", "success", "continue", "undone")],
              "workers": [worker("release", "python://workers:ok")]}
    eng = engine(blueprints=[waiter, parent_blueprint({"blueprint": "rt/child", "forEach": "lines"})])
    iid = eng.start(PARENT, {"lines": [1, 2, 3]})
    kids = [f"{iid}~1~{i}" for i in range(3)]
    for k in kids:      # created by the parent's host after its commit: unknown until that arrives
        poll(lambda: _created_wait(eng, k), 10, what=f"{k} created and waiting")
    eng.send(kids[0], "go")
    eng.wait(kids[0], 10)
    eng.wait(iid, 10, status="running")
    assert eng.terminate(iid, "stop")["status"] == "terminated"
    for k in kids[1:]:
        st = eng.wait(k, 10)
        assert (st["status"], st["result"]) == ("completed", "undone")    # their cancel handler ran
    assert eng.status(kids[0])["result"] == "done"
    assert ("children-cancelled", kids[1:]) in kid_outcomes(eng, iid)
    released = {c[0] for c in read_calls(calls) if c[2] == "release"}
    assert released == set(kids[1:])


def test_retry_reruns_only_the_failed_children(engine, calls, tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    bad.write_text("2\n")
    monkeypatch.setenv("GOFLOW_TEST_BAD", str(bad))
    eng = engine(blueprints=[child_blueprint("python://workers:picky"),
                               parent_blueprint({"blueprint": "rt/child", "forEach": "lines"}, on_error=False)])
    iid = eng.start(PARENT, {"lines": [1, 2, 3]})
    st = eng.wait(iid, 10)
    assert st["status"] == "failed" and st["state"] == "run"
    bad.unlink()
    assert eng.retry(iid)["status"] == "running"
    st = eng.wait(iid, 10)
    assert st["status"] == "completed"
    assert [c["item"] for c in st["context"]["kids"]] == [1, 2, 3]
    started = [d for o, d in kid_outcomes(eng, iid) if o == "child-started"]
    assert started == [f"{iid}~1~0", f"{iid}~1~1", f"{iid}~1~2", f"{iid}~2~1"]   # only item 2 again
    assert eng.status(f"{iid}~1~1")["status"] == "failed"
    work = [c[0] for c in read_calls(calls)]
    assert sorted(work) == sorted(started)


def test_a_child_created_again_is_not_started_twice(engine, calls):
    eng = engine(blueprints=[child_blueprint(), parent_blueprint({"blueprint": "rt/child"})])
    iid = eng.start(PARENT)
    eng.wait(iid, 10)
    kid = f"{iid}~1"
    # the create a recovering parent sends again: answered, not applied
    again = eng._one(kid, Create("rt", "child", {}, None, Parent(iid, 1, 0, 1)))
    assert again["existing"] is True
    assert [r["outcome"] for r in every(eng.history, kid)].count("created") == 1
    assert eng.status(iid)["status"] == "completed"
    assert [c[0] for c in read_calls(calls)] == [kid]


def _created_wait(eng, iid: str):
    try:
        return eng.wait(iid, 10, state="wait")
    except InstanceNotFound:
        return None


def test_a_paused_parent_holds_its_childrens_ends_until_resumed(engine, calls):
    waiter = {"project": "rt", "activity": "child", "states": ["wait"],
              "actions": [], "transitions": [t("init", "start", "continue", "wait"), t("wait", "go", "continue", "done")]}
    eng = engine(blueprints=[waiter, parent_blueprint({"blueprint": "rt/child", "forEach": "lines"})])
    iid = eng.start(PARENT, {"lines": [1, 2]})
    kids = [f"{iid}~1~{i}" for i in range(2)]
    for k in kids:      # created by the parent's host after its commit: unknown until that arrives
        poll(lambda: _created_wait(eng, k), 10, what=f"{k} created and waiting")
    assert eng.pause(iid)["status"] == "paused"
    for k in kids:
        eng.send(k, "go")
        assert eng.wait(k, 10)["status"] == "completed"
    # both ends are held by the paused parent (durably: in its queue), not lost
    assert eng.wait(iid, 10, status="paused")["status"] == "paused"
    poll(lambda: [r["outcome"] for r in every(eng.history, iid)].count("queued") == 2, 10,
         what="both ends held")
    eng.resume(iid)
    st = eng.wait(iid, 10)
    assert st["status"] == "completed" and [c["item"] for c in st["context"]["kids"]] == [1, 2]
