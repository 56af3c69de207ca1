"""The actors' messages carry GoFlow's typed requests, results, jobs and blueprints: they survive
pickling (Thespian pickles every message between processes) and their repr stays short (Thespian
str()s every message it sends)."""
from __future__ import annotations

import pickle

from actors.messages import Batch, Blueprints, Deploy, HostBatch, Jobs, Replies, Token
from goflow.errors import InstanceNotFound
from goflow.fsm import HookOutcome, Outcome, Pause, Resume, Signal, Terminate, TimerFired
from goflow.history import Record
from goflow.jobs import Job, StepDone, StepResult
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item, Reply, Wait, Watch
from runtime_support import gate_blueprint

BP = blueprint_from_document(gate_blueprint())
RESULT = StepResult("success", {"x": 1}, (Record(1.0, "s", None, "work", None, 3, 1, "python://m:f", "200", 0.1),))
REQUESTS = [Create("rt", "gate", {"n": 1}), Create("rt", "gate", {}, 2), Wait(), Signal("go", {"d": 1}, "e-1"),
            Pause(), Resume(), Terminate("why"), TimerFired(4), StepDone(3, "sync", RESULT), Watch(12, 3, 50, "k")]


def roundtrip(msg):
    return pickle.loads(pickle.dumps(msg))


def test_every_request_survives_pickling_inside_a_batch():
    batch = roundtrip(Batch(7, [Item(f"i{n}", req) for n, req in enumerate(REQUESTS)]))
    assert [item.request for item in batch.items] == REQUESTS
    host = roundtrip(HostBatch([Item("i", Signal("go"), 3), Item("j", Wait(), 5)], "client", 7))
    assert host.items == [Item("i", Signal("go"), 3), Item("j", Wait(), 5)]
    assert (host.reply_to, host.rid) == ("client", 7)
    results = roundtrip(HostBatch([Item("i", StepDone(3, "sync", RESULT))]))
    assert results.items == [Item("i", StepDone(3, "sync", RESULT))] and results.reply_to is None
    assert results.items[0].request.result.attempts[0].endpoint == "python://m:f"
    assert roundtrip(Item("i", Signal("go"), Token("client", 7, 3))).token == Token("client", 7, 3)


def test_a_step_result_becomes_the_fsm_input_of_its_mode():
    assert StepDone(3, "sync", RESULT).input() == Outcome(3, "success", {"x": 1})
    assert StepDone(3, "async", RESULT).input() == Outcome(3, "success", {"x": 1})
    assert StepDone(5, "hook", RESULT).input() == HookOutcome(5, "success")


def test_jobs_replies_and_blueprints_survive_pickling():
    job = Job("i", 3, "sync", "work", {"instance": "i", "step": 3}, BP.workers_for("work"))
    again = roundtrip(Jobs([job, job]))
    assert again.jobs == [job, job] and again.jobs[0].key == ("i", 3, "sync") and again.done == 0
    assert roundtrip(Jobs([], 12)).done == 12             # an acknowledgement alone
    assert roundtrip(HostBatch([Item("i", StepDone(3, "sync", RESULT))], None, 12)).rid == 12
    replies = roundtrip(Replies(7, [Reply(0, True, {"id": "i"}), Reply(1, False, InstanceNotFound("j"))]))
    assert replies.replies[0] == Reply(0, True, {"id": "i"})
    assert isinstance(replies.replies[1].value, InstanceNotFound) and replies.replies[1].value.instance_id == "j"
    deploy = roundtrip(Deploy(9, [BP]))
    assert deploy.blueprints == [BP] and deploy.blueprints[0].workers_for("work") == BP.workers_for("work")


def test_batch_messages_have_a_short_repr():
    items = [Item(f"i{n}", Signal("go", "x" * 100)) for n in range(1000)]
    assert repr(Batch(1, items)) == str(Batch(1, items)) == "Batch(items=1000)"
    assert repr(HostBatch(items)) == "HostBatch(items=1000)"
    assert repr(Replies(1, [Reply(0, True, None)] * 5)) == "Replies(replies=5)"
    assert repr(Jobs([])) == "Jobs(jobs=0)"
    assert repr(Deploy(1, [BP])) == "Deploy(blueprints=1)"
    assert repr(Blueprints([BP, BP])) == "Blueprints(blueprints=2)"
