"""Differential property test: goflow.fsm.react against an oracle built on the `transitions` library.

Random valid blueprints (states, user and reserved events, ``continue`` and sync worker actions; the
``start`` transitions taken by ``continue`` go forward only, so there is no ``continue`` cycle; SPEC
§8: end states of either status, and a top-level ``postpone`` list of user events) and random input
sequences (outside events, the outcome of the pending step, stale outcomes, pause and resume) are
fed to both, step by step; state, status, step number, pending step, the postponed queue, the result
and every refusal (a full postponed queue included, at a small bound) must agree.

The oracle gets the FSM table only through a ``transitions.Machine`` (dest and, as an ``after``
callback, the action); the engine semantics around it (steps, state-enter ``start``, outcome
delivery, ``timeout`` -> ``error``, completion, failure, pause queue; postponing, offering the queue
again after each input, dropping it at the end, end states) are written here independently of
goflow.fsm, from SPEC §3 and §8.
"""
from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transitions import Machine

from goflow.errors import EventRefused, InstanceFinished
from goflow.fsm import Outcome, Pause, Resume, Signal, new_instance, react
from goflow.model import Action, Blueprint, Transition, Worker

logging.getLogger("transitions").setLevel(logging.ERROR)

USER_EVENTS = ("e0", "e1", "e2")
EVENTS = ("start", "success", "error", "timeout") + USER_EVENTS
OUTCOME_EVENTS = ("success", "error", "timeout", "e0", "e1")
ACTIONS = ("continue", "w0", "w1")
LIMIT = 2                   # the postponed queue's bound in this test (small, so it is reached)


# ------------------------------------------------------------------------------------------ blueprints
@st.composite
def blueprints(draw):
    n = draw(st.integers(min_value=1, max_value=4))
    states = [f"s{i}" for i in range(n)]
    ends = {f"end{i}": draw(st.sampled_from(["completed", "failed"]))
            for i in range(draw(st.integers(min_value=0, max_value=2)))}
    postpone = tuple(draw(st.lists(st.sampled_from(USER_EVENTS), unique=True, max_size=2)))
    order = ["init"] + states + list(ends) + ["done"]   # start-continue transitions go forward (or loop)
    table = {}
    for si, cur in enumerate(order[:-1]):
        if cur in ends:
            continue                               # no transition leaves an end state
        for ev in EVENTS:
            must = cur == "init" and ev == "start"
            if not must and not draw(st.booleans()):
                continue
            action = draw(st.sampled_from(ACTIONS))
            if ev == "start" and action == "continue":
                nxt = draw(st.sampled_from([cur] + order[si + 1:]))
            else:
                nxt = draw(st.sampled_from(order[1:]))
            table[(cur, ev)] = (action, nxt)
    transitions = tuple(Transition(c, e, a, n) for (c, e), (a, n) in table.items())
    bp = Blueprint("diff", "prop", 1, tuple(states), (Action("w0"), Action("w1")), transitions,
                   (Worker("w0", "python://m:w0"), Worker("w1", "python://m:w1")), postpone=postpone,
                   end=tuple(ends.items()))
    return bp, table, order, ends, postpone


KINDS = ("signal", "signal", "outcome", "outcome", "outcome", "stale", "pause", "resume")


def draw_event(data, oracle, choices):
    """Half the time an event the oracle's current state handles (so runs go deep), else any."""
    handled = [e for e in choices if oracle._can(e)]
    if handled and data.draw(st.booleans()):
        return data.draw(st.sampled_from(handled))
    return data.draw(st.sampled_from(choices))


# ---------------------------------------------------------------------------------------------- oracle
class Refused(Exception):
    pass


class Finished(Exception):
    pass


class Oracle:
    """A workflow instance on a transitions.Machine; engine semantics written from SPEC §3."""

    def __init__(self, table, order, ends=None, postpone=()):
        self.last_action = None
        self.ends = {"done": "completed", **(ends or {})}
        self.postpone, self.queue = set(postpone), []
        self.machine = Machine(model=self, states=order, initial="init", auto_transitions=False,
                               ignore_invalid_triggers=False)
        for (cur, ev), (action, nxt) in table.items():
            self.machine.add_transition(ev, cur, nxt, after=self._took(action))
        self.status, self.step, self.pending, self.paused, self.inbox = "waiting", 0, None, False, []

    def _took(self, action):
        def after(*_a, **_k):
            self.last_action = action
        return after

    def _can(self, event) -> bool:
        return bool(self.machine.get_triggers(self.state)) and event in self.machine.get_triggers(self.state)

    def _fire(self, event) -> None:
        """Take the machine's transition for ``event``, then the action (and any inserted start)."""
        while True:
            before = self.state
            if not self.trigger(event):           # MachineError if the state does not handle it
                raise AssertionError(f"transitions refused {event!r} in {before!r}")
            action, now = self.last_action, self.state
            if action != "continue":
                self.step += 1
                self.pending, self.status = self.step, "running"
                return
            if now != before and now not in self.ends and self._can("start"):
                event = "start"
                continue
            self.status = self.ends.get(now, "waiting")
            return

    def _accepts_signal(self, event) -> bool:
        """An outside event is refused where the state lacks it, and, while a (sync) step runs, when
        it is one of that step's worker outcomes."""
        if self.pending is not None and event in ("success", "error", "timeout"):
            return False
        return self._can(event)

    def _postpones(self, event) -> bool:
        """SPEC §8: a listed event the state cannot take now (no transition, or a step runs)."""
        return event in self.postpone and (self.pending is not None or not self._can(event))

    def _keep(self, event) -> None:
        if len(self.queue) >= LIMIT:
            raise Refused                               # QueueFull is an EventRefused
        self.queue.append(event)

    def _offer(self) -> None:
        """After each input: the oldest postponed event that can be taken now is, again and again;
        what is left when the instance has ended is dropped."""
        while self.queue and not self.paused and self.status not in ("completed", "failed"):
            for i, event in enumerate(self.queue):
                if self._postpones(event):
                    continue
                del self.queue[i]
                try:
                    self._signal(event)
                except Refused:
                    pass                                # recorded as refused
                break
            else:
                break
        if self.status in ("completed", "failed"):
            self.queue = []

    def _signal(self, event) -> None:
        if self.status in ("completed", "failed"):
            raise Finished
        if not self._accepts_signal(event):
            raise Refused
        self.pending = None
        self._fire(event)

    def _outcome(self, step, event) -> None:
        if self.status in ("completed", "failed") or self.pending is None or step != self.pending:
            return                                        # stale: recorded, ignored
        self.pending = None
        if self.state in self.ends:
            self.status = self.ends[self.state]
            return
        if event == "timeout" and not self._can("timeout"):
            event = "error"
        if not self._can(event):
            self.status = "failed"                          # an outcome with no transition
            return
        self._fire(event)

    def signal(self, event) -> None:
        if self.paused and self.status not in ("completed", "failed"):
            if not self._postpones(event) and not self._accepts_signal(event):
                raise Refused
            self.inbox.append(("signal", event))
            return
        if self.status not in ("completed", "failed") and self._postpones(event):
            self._keep(event)
        else:
            self._signal(event)
        self._offer()

    def outcome(self, step, event) -> None:
        if self.paused and self.status not in ("completed", "failed"):
            self.inbox.append(("outcome", step, event))
            return
        self._outcome(step, event)
        self._offer()

    def pause(self) -> None:
        if self.status in ("completed", "failed"):
            raise Finished
        self.paused = True

    def resume(self) -> None:
        if self.status in ("completed", "failed"):
            raise Finished
        if not self.paused:
            return
        self.paused = False
        queued, self.inbox = self.inbox, []
        for item in queued:
            if self.status in ("completed", "failed"):
                continue
            if item[0] == "signal":
                try:
                    if self._postpones(item[1]):
                        self._keep(item[1])
                    else:
                        self._signal(item[1])
                except Refused:
                    pass                                # recorded as refused, not raised
            else:
                self._outcome(item[1], item[2])
        self._offer()

    def view(self):
        status = "paused" if self.paused and self.status not in ("completed", "failed") else self.status
        ended = self.status in ("completed", "failed") and self.state in self.ends
        return self.state, status, self.step, self.pending, tuple(self.queue), self.state if ended else None


def fsm_view(inst):
    pending = inst.pending.step if inst.pending is not None else None
    return inst.state, inst.status, inst.step, pending, tuple(e.name for e in inst.postponed), inst.result


# ---------------------------------------------------------------------------------------------- the test
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blueprints(), st.data())
def test_fsm_agrees_with_a_transitions_oracle(bpt, data):
    bp, table, order, ends, postpone = bpt
    oracle = Oracle(table, order, ends, postpone)
    inst = new_instance(bp, "diff-1", {}, 0.0)
    trace = []
    length = data.draw(st.integers(min_value=0, max_value=30))
    for now in range(1, length + 2):
        kind = "signal" if now == 1 else data.draw(st.sampled_from(KINDS))
        if kind == "signal":
            event = "start" if now == 1 else draw_event(data, oracle, EVENTS)
            inp = Signal(event, None, f"ev-{now}")     # unique ids: never duplicates
            call = lambda: oracle.signal(event)  # noqa: E731
        elif kind in ("outcome", "stale"):
            event = draw_event(data, oracle, OUTCOME_EVENTS)
            step = oracle.pending if kind == "outcome" and oracle.pending is not None else oracle.step - 1
            inp = Outcome(step, event)
            call = lambda: oracle.outcome(step, event)  # noqa: E731
        elif kind == "pause":
            inp, call = Pause(), oracle.pause
        else:
            inp, call = Resume(), oracle.resume
        trace.append(inp)
        expected = None
        try:
            call()
        except Refused:
            expected = EventRefused
        except Finished:
            expected = InstanceFinished
        try:
            got_inst = react(bp, inst, inp, float(now), postponed_limit=LIMIT).instance
            got = None
        except (EventRefused, InstanceFinished) as exc:
            got, got_inst = (EventRefused if isinstance(exc, EventRefused) else type(exc)), inst   # QueueFull too
        assert got == expected, (trace, got, expected)
        inst = got_inst
        assert fsm_view(inst) == oracle.view(), (trace, fsm_view(inst), oracle.view())
