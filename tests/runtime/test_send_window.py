"""The worker proxy's window of result batches per host (actors._send_window): at most ``size``
unacknowledged, acknowledgements reopen it, a batch never acknowledged stops counting after
``stall`` seconds (pure: times are arguments); and a host acknowledges a proxy's batch."""
from __future__ import annotations

import pytest
from thespian.actors import Actor, ActorSystem

from actors._send_window import SendWindow
from actors.host import Host
from actors.messages import HostBatch, HostInit, Jobs, QueryReply
from goflow.config import Config


def test_a_full_window_waits_for_an_acknowledgement():
    w = SendWindow(size=2, stall=5.0)
    assert w.may_send("h", 0.0)
    first = w.sent("h", 0.0)
    assert w.may_send("h", 0.1)
    second = w.sent("h", 0.1)
    assert first != second and 0 not in (first, second)
    assert not w.may_send("h", 0.2) and w.unacked("h") == 2
    assert w.may_send("other", 0.2)                      # one window per host
    w.acked("h", first)
    assert w.may_send("h", 0.3) and w.unacked("h") == 1
    w.acked("h", second)
    assert w.unacked("h") == 0 and w.next_expiry() is None


def test_unknown_or_repeated_acknowledgements_change_nothing():
    w = SendWindow(size=1, stall=5.0)
    n = w.sent("h", 0.0)
    w.acked("h", n + 7)
    w.acked("nobody", n)
    assert not w.may_send("h", 1.0)
    w.acked("h", n)
    w.acked("h", n)
    assert w.may_send("h", 1.0)


def test_a_batch_never_acknowledged_stops_counting_after_the_stall():
    w = SendWindow(size=1, stall=2.0)
    w.sent("h", 10.0)
    assert w.next_expiry() == 12.0
    assert not w.may_send("h", 11.9)
    assert w.may_send("h", 12.0) and w.unacked("h") == 0
    late = w.sent("h", 12.0)
    w.acked("h", late)
    assert w.may_send("h", 12.1)


def test_the_window_has_room_for_one_batch_at_least():
    with pytest.raises(ValueError):
        SendWindow(size=0)


class _Proxy(Actor):
    """Stands in for a host's worker proxy: inits a Host, sends it a result batch numbered 5 and
    tells the asker the ``done`` of the Jobs the host sends back."""

    def receiveMessage(self, msg, sender):
        if isinstance(msg, Config):
            self.asker, self.host = sender, self.createActor(Host)
            self.send(self.host, HostInit(0, msg, [], self.myAddress))
        elif isinstance(msg, QueryReply):            # the host is ready
            self.send(self.host, HostBatch([], None, 5))
        elif isinstance(msg, Jobs):
            self.send(self.asker, (msg.done, len(msg.jobs)))


def test_a_host_acknowledges_its_proxys_result_batch(tmp_path):
    cfg = Config().with_options({"data_dir": str(tmp_path / "data")}).for_engine(in_daemon=False)
    asys = ActorSystem("simpleSystemBase", transientUnique=True)
    try:
        proxy = asys.createActor(_Proxy)
        assert asys.ask(proxy, cfg, timeout=20) == (5, 0)     # no jobs came of it: the ack alone
    finally:
        asys.shutdown()
