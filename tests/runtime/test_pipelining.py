"""An Engine request of many items (``start_many``, ``send_many``, ``wait_all``) goes in batches of
``client.batch_items``, at most ``client.batches_in_flight`` unanswered at once
(``actors._exchange.exchange_batches``): results in the caller's order, the bound held, and a batch
that names an instance of a batch still in flight sent only once that one is answered, so the items
of one instance are applied in the caller's order."""
from __future__ import annotations

import pytest

from runtime_support import gate_blueprint
from actors.messages import Batch, Replies
from goflow.config import Config
from goflow.errors import ConfigError, InstanceNotFound, RequestTimeout

GATE = "rt/gate"


class Spy:
    """The engine's own actor system, with a record of the batches told and answered."""

    def __init__(self, asys):
        self.asys = asys
        self.sizes: dict[int, int] = {}       # rid -> items told
        self.answered: dict[int, int] = {}    # rid -> items answered
        self.events: list[tuple] = []         # ("tell", rid, instance ids) / ("done", rid)
        self.most = 0                         # batches unanswered at once, at most

    def tell(self, target, msg):
        if isinstance(msg, Batch):
            self.sizes[msg.rid] = len(msg.items)
            self.answered[msg.rid] = 0
            self.events.append(("tell", msg.rid, [i.instance for i in msg.items]))
            self.most = max(self.most, len(self.open()))
        return self.asys.tell(target, msg)

    def listen(self, timeout):
        reply = self.asys.listen(timeout)
        if isinstance(reply, Replies) and reply.rid in self.sizes:
            self.answered[reply.rid] += len(reply.replies)
            if self.answered[reply.rid] == self.sizes[reply.rid]:
                self.events.append(("done", reply.rid))
        return reply

    def open(self) -> list[int]:
        return [rid for rid, n in self.sizes.items() if self.answered[rid] < n]

    def __getattr__(self, name):
        return getattr(self.asys, name)


def spied(eng) -> Spy:
    eng._asys = Spy(eng._asys)
    return eng._asys


def test_start_many_keeps_its_batches_in_flight_bounded_and_its_results_in_order(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], shards=2, batch_items=10, batches_in_flight=3)
    assert (eng.client.batch_items, eng.client.batches_in_flight) == (10, 3)
    spy = spied(eng)
    ids = [f"p{i:03d}" for i in range(95)]
    assert eng.start_many(GATE, [{"n": i} for i in range(95)], ids=ids) == ids
    told = [e for e in spy.events if e[0] == "tell"]
    assert [len(e[2]) for e in told] == [10] * 9 + [5]
    assert spy.most == 3 and not spy.open()
    views = eng.wait_all(ids, state="gate", timeout=10)
    assert [v["id"] for v in views] == ids
    assert [v["input"]["n"] for v in views] == list(range(95))
    assert spy.most == 3


def test_a_batch_naming_an_instance_in_flight_waits_for_it(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], batch_items=2, batches_in_flight=4)
    a, b, c, d = eng.start_many(GATE, [{}] * 4, ids=["a", "b", "c", "d"])
    spy = spied(eng)
    # batches: [a hold, b poke] [c poke, d poke] [a go, nope poke] [b go, c go]
    res = eng.send_many([(a, "hold"), (b, "poke"), (c, "poke"), (d, "poke"), (a, "go"), ("nope", "poke"),
                         (b, "go"), (c, "go")])
    assert [r["state"] for r in res[:5]] == ["held", "gate", "gate", "gate", "done"]
    assert isinstance(res[5], InstanceNotFound)
    assert [r["state"] for r in res[6:]] == ["done", "done"]
    rids = [e[1] for e in spy.events if e[0] == "tell"]
    assert len(rids) == 4
    at = {e[:2]: k for k, e in enumerate(spy.events)}
    assert at[("tell", rids[1])] < at[("done", rids[0])]      # no instance in common: sent at once
    assert at[("tell", rids[2])] > at[("done", rids[0])]      # names a: after a's first batch answered
    assert at[("tell", rids[3])] > at[("done", rids[1])]      # names c: after c's batch answered
    applied = [h["event"] for h in eng.history(a, order="oldest") if h["outcome"] == "applied"]
    assert [e for e in applied if e in ("hold", "go")] == ["hold", "go"]


def test_a_timeout_in_a_pipelined_request_is_raised(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], batch_items=5, batches_in_flight=2)
    ids = eng.start_many(GATE, [{}] * 12)
    with pytest.raises(RequestTimeout):
        eng.wait_all(ids, status="completed", timeout=0.5)
    assert [v["state"] for v in eng.wait_all(ids, state="gate", timeout=10)] == ["gate"] * 12


def test_client_settings_are_checked():
    with pytest.raises(ConfigError, match="client.batches_in_flight"):
        Config().with_options({"batches_in_flight": 0})
    with pytest.raises(ConfigError, match="client.batch_items"):
        Config().with_options({"client_batch_items": 0})


def test_the_items_of_one_instance_keep_their_order_on_the_daemon(daemons, calls):
    # one item per batch, eight batches in flight: each instance's `go` is sent only once its
    # `hold` was answered, through the dispatcher and the Thespian TCP transport of a real daemon
    eng = daemons.start(blueprints=[gate_blueprint()], batch_items=1, batches_in_flight=8)
    assert eng.client.batches_in_flight == 8
    ids = eng.start_many(GATE, [{}] * 20)
    res = eng.send_many([(i, "hold") for i in ids] + [(i, "go") for i in ids])
    assert [r["state"] for r in res] == ["held"] * 20 + ["done"] * 20
    assert {v["status"] for v in eng.wait_all(ids, timeout=20)} == {"completed"}
