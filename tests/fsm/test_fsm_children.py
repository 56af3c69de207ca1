"""Unit tests of child workflows in the pure FSM (SPEC §8, goflow/_fsm_children.py): the commands a
workflow step gives, its join, repeated and stale notices, a paused parent, the notice of an ended
child and its acknowledgement, leaving the step, retry of the failed children only, derived ids."""
from __future__ import annotations

import pytest

from goflow._fsm_children import child_id
from goflow.errors import EventRefused
from goflow.fsm import (COMPLETED, FAILED, PAUSED, RUNNING, TERMINATED, CancelChildren, ChildAck, ChildDone,
                        NotifyParent, Parent, Pause, Resume, Retry, Signal, StartChildren, Terminate, new_instance,
                        react)
from goflow.ids import is_id
from goflow.model import Action, Blueprint, Transition

P = "par"


def T(current, event, action, next):
    return Transition(current, event, action, next)


def parent_bp(**action) -> Blueprint:
    kids = Action("kids", "workflow", blueprint="p/child", **action)
    return Blueprint("p", "parent", 1, ("run",), (kids,),
                     (T("init", "start", "kids", "run"), T("run", "success", "continue", "done"),
                      T("run", "declined", "continue", "done"), T("run", "go", "continue", "done")))


def start(bp, data, **kw):
    r = react(bp, new_instance(bp, P, data, 0.0), Signal("start"), 1.0, **kw)
    return r.instance, r


def done(i, event="success", status=COMPLETED, step=1, ctx=None):
    return ChildDone(step, i, child_id(P, step, i), event, status, ctx if ctx is not None else {"i": i})


def test_foreach_starts_one_child_per_item_and_joins_in_item_order():
    bp = parent_bp(for_each="xs", input="base")
    inst, r = start(bp, {"xs": ["a", "b", "c"], "base": {"k": 1}})
    (cmd,) = [c for c in r.commands if isinstance(c, StartChildren)]
    assert [(c.id, c.input, c.parent) for c in cmd.children] == [
        (f"{P}~1~{i}", {"k": 1, "item": x, "index": i}, Parent(P, 1, i, 1)) for i, x in enumerate("abc")]
    assert (inst.status, inst.pending.kind) == (RUNNING, "workflow")
    for i in (2, 0):
        inst = react(bp, inst, done(i), 2.0).instance
    assert inst.pending is not None and inst.join.ended == 2
    r = react(bp, inst, done(1), 3.0)
    assert r.instance.status == COMPLETED
    assert r.instance.context["kids"] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_a_repeated_notice_is_ignored_and_a_stale_one_recorded():
    bp = parent_bp(for_each="xs")
    inst, _ = start(bp, {"xs": [1, 2]})
    inst = react(bp, inst, done(0), 2.0).instance
    r = react(bp, inst, done(0, ctx={"other": 1}), 2.0)
    assert r.instance == inst and r.records == ()
    r = react(bp, inst, done(0, step=7), 2.0)
    assert [x.outcome for x in r.records] == ["stale"]


def test_any_failed_child_is_an_error_once_all_have_ended():
    bp = parent_bp(for_each="xs")
    inst, _ = start(bp, {"xs": [1, 2]})
    inst = react(bp, inst, done(0, "error", FAILED), 2.0).instance
    assert inst.status == RUNNING                      # the other child still runs
    inst = react(bp, inst, done(1), 2.0).instance
    assert inst.status == FAILED and inst.failed_action == "kids"
    assert inst.context["kids"]["failed"][0]["id"] == f"{P}~1~0"


def test_a_single_childs_end_state_is_the_event():
    bp = parent_bp()
    inst, r = start(bp, {"x": 1})
    (cmd,) = [c for c in r.commands if isinstance(c, StartChildren)]
    assert [(c.id, c.input) for c in cmd.children] == [(f"{P}~1", {"x": 1})]
    r = react(bp, inst, ChildDone(1, 0, f"{P}~1", "declined", FAILED, {"why": "no"}), 2.0)
    assert r.instance.status == COMPLETED and r.instance.context["kids"] == {"why": "no"}


@pytest.mark.parametrize("data, why", [({}, "not in the context"), ({"xs": 3}, "holds int, not a list"),
                                       ({"xs": [0] * 5}, "over the limit of 4")])
def test_bad_foreach_is_the_error_outcome_with_nothing_started(data, why):
    inst, r = start(parent_bp(for_each="xs"), data, children_limit=4)
    assert not [c for c in r.commands if isinstance(c, StartChildren)]
    assert inst.status == FAILED and why in inst.context["kids"]["error"]
    assert [x.outcome for x in r.records if x.outcome == "children-refused"] == ["children-refused"]


def test_a_paused_parent_holds_a_notice_and_applies_it_on_resume():
    bp = parent_bp()
    inst, _ = start(bp, {})
    inst = react(bp, inst, Pause(), 2.0).instance
    inst = react(bp, inst, done(0), 2.0).instance
    assert inst.status == PAUSED and len(inst.inbox) == 1
    assert react(bp, inst, Resume(), 3.0).instance.status == COMPLETED


def test_outside_outcomes_are_refused_while_children_run():
    bp = parent_bp()
    inst, _ = start(bp, {})
    with pytest.raises(EventRefused, match="its children's ends give that outcome"):
        react(bp, inst, Signal("success"), 2.0)


def test_leaving_the_step_cancels_the_children_still_running():
    bp = parent_bp(for_each="xs")
    inst, _ = start(bp, {"xs": [1, 2, 3]})
    inst = react(bp, inst, done(1), 2.0).instance
    r = react(bp, inst, Terminate("stop"), 3.0)
    (cancel,) = [c for c in r.commands if isinstance(c, CancelChildren)]
    assert cancel.children == (f"{P}~1~0", f"{P}~1~2") and r.instance.status == TERMINATED
    r = react(bp, inst, Signal("go"), 3.0)              # an outside event the state takes: left too
    assert [c for c in r.commands if isinstance(c, CancelChildren)]


def test_an_ended_child_notifies_until_acknowledged():
    child = Blueprint("p", "child", 1, ("w",), (), (T("init", "start", "continue", "w"), T("w", "go", "continue", "done")))
    inst = new_instance(child, f"{P}~1~4", {}, 0.0)
    from goflow.fsm_data import replace
    inst = react(child, replace(inst, parent=Parent(P, 1, 4, 1)), Signal("start"), 1.0).instance
    r = react(child, inst, Signal("go"), 2.0)
    (n,) = [c for c in r.commands if isinstance(c, NotifyParent)]
    assert (n.parent, n.done.index, n.done.event, n.done.status) == (P, 4, "success", COMPLETED)
    assert r.instance.notify is True
    acked = react(child, r.instance, ChildAck(), 3.0).instance
    assert acked.notify is False and acked.status == COMPLETED
    assert react(child, acked, ChildAck(), 4.0).instance == acked          # a repeated ack changes nothing


def test_retry_starts_new_children_for_the_failed_items_only():
    bp = parent_bp(for_each="xs")
    inst, _ = start(bp, {"xs": [1, 2, 3]})
    for i, (ev, st) in enumerate([("success", COMPLETED), ("error", TERMINATED), ("success", COMPLETED)]):
        inst = react(bp, inst, done(i, ev, st), 2.0).instance
    assert inst.status == FAILED
    r = react(bp, inst, Retry(), 3.0)
    (cmd,) = [c for c in r.commands if isinstance(c, StartChildren)]
    assert [(c.id, c.parent.step) for c in cmd.children] == [(f"{P}~2~1", 2)]
    inst = react(bp, r.instance, ChildDone(2, 1, f"{P}~2~1", "success", COMPLETED, {"i": 9}), 4.0).instance
    assert inst.status == COMPLETED and inst.context["kids"] == [{"i": 0}, {"i": 9}, {"i": 2}]


def test_derived_ids_stay_identifiers():
    assert child_id("a", 3, None) == "a~3" and child_id("a", 3, 7) == "a~3~7"
    long = "é" * 127                                   # 254 bytes: the suffix makes it too long
    cid = child_id(long, 12, 999)
    assert cid.startswith("#") and cid.endswith("~12~999") and is_id(cid)
    assert child_id(long, 12, 999) == cid and child_id(long + "x", 12, 999) != cid
