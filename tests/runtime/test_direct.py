"""The direct path (actors/direct.py): a daemon client's batches go straight to the hosts over their
Unix sockets, one round trip, with every semantic of the dispatcher path -- dedup, per-instance
order for one client, errors, waits answered later -- and a host killed with ``kill -9`` mid-stream:
the client's request fails at once, the next ones go through the dispatcher until the new host
listens, then directly again; events re-sent with their ids are applied exactly once."""
from __future__ import annotations

import os
import signal
import socket
import stat
import threading

import pytest

from actors import Engine
from actors.direct import Listener, Links, direct_batches, direct_query, frame, socket_path, _frames
from actors.dispatcher import shard_of
from actors.messages import Batch, Query, Replies
from goflow.errors import InstanceFinished, InstanceNotFound, InvalidIdentifier, RequestTimeout
from goflow.fsm import Signal
from goflow.requests import Item, Reply
from runtime_support import gate_blueprint, kill_and_wait, poll

pytestmark = pytest.mark.daemon
GATE = "rt/gate"


def _linked(eng) -> list[bool]:
    return [s is not None for s in eng._links.socks]


def _pokes(eng, iid) -> int:
    """How many ``poke`` events were applied to ``iid``."""
    return sum(1 for r in eng.history(iid) if r["event"] == "poke" and r["outcome"] == "applied")


def test_events_go_straight_to_the_hosts_even_with_the_dispatcher_stopped(daemons, calls):
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2)
    data_dir = eng.data_dir
    ids = eng.start_many(GATE, [{}] * 20)
    assert {shard_of(i, 2) for i in ids} == {0, 1}
    for i in range(2):                    # the hosts' sockets: only the daemon's user may connect
        path = socket_path(data_dir, i)
        assert stat.S_ISSOCK(os.stat(path).st_mode) and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    dispatcher = daemons.remember(eng)["dispatcher"]
    os.kill(dispatcher, signal.SIGSTOP)   # nothing may go through it now
    try:
        first = eng.send(ids[0], "poke", {"n": 1}, event_id="e-1")
        again = eng.send(ids[0], "poke", {"n": 1}, event_id="e-1")
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        with pytest.raises(InstanceNotFound):
            eng.send("no-such-instance", "poke")
        many = eng.send_many([(iid, "go", None, f"go-{iid}") for iid in ids])
        assert all(isinstance(r, dict) and r["id"] == iid for r, iid in zip(many, ids))
        done = eng.wait_all(ids, timeout=60)   # waits held by the hosts, answered on the connections
        assert {d["status"] for d in done} == {"completed"}
        with pytest.raises(InstanceFinished):
            eng.send(ids[1], "poke")
        # a query about one instance goes to its host too
        assert eng.status(ids[0])["status"] == "completed"
        assert [(r["event"], r["outcome"]) for r in eng.history(ids[0]) if r["event"] in ("poke", "go")] == [
            ("poke", "applied"), ("poke", "duplicate"), ("go", "applied")]
        with pytest.raises(InstanceNotFound):
            eng.status("no-such-instance")
        assert _linked(eng) == [True, True]
    finally:
        os.kill(dispatcher, signal.SIGCONT)
    assert eng.counts(GATE)[("rt", "gate", 1, "completed")] == 20   # across hosts: the dispatcher, as before
    daemons.shutdown(eng)
    assert not any(os.path.exists(socket_path(data_dir, i)) for i in range(2))   # removed at exit


def test_kill_a_host_mid_stream_then_keep_sending(daemons, calls):
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2)
    ids = eng.start_many(GATE, [{}] * 30, ids=[f"k{i:02d}" for i in range(30)])
    rounds = 12
    victim = daemons.remember(eng)["host-0"]
    # a second client waits on an instance of host-0: a request in flight when the host dies
    waiter, held = Engine.connect(eng.port, timeout=20.0), next(i for i in ids if shard_of(i, 2) == 0)
    outcome: list = []

    def wait() -> None:
        try:
            outcome.append(waiter.wait(held, timeout=120, state="never"))
        except Exception as exc:          # noqa: BLE001 - the test looks at what it is
            outcome.append(exc)
    thread = threading.Thread(target=wait)
    thread.start()
    failed = 0
    try:
        for k in range(rounds):
            for iid in ids:
                if k == 4 and iid == ids[10]:
                    poll(lambda: waiter._links.socks[0] is not None, 30, what="the waiter's link to host-0")
                    kill_and_wait([victim])       # mid-stream: host-0 has answered events before
                # one client, one event at a time: a failed send is sent again with its id until it is
                # acknowledged (the dedup makes that exactly once); later events wait for it (order)
                def send():
                    nonlocal failed
                    try:
                        return eng.send(iid, "poke", {"k": k}, event_id=f"{iid}-{k}")
                    except RequestTimeout:
                        failed += 1
                        return None
                poll(send, 120, interval=0.05, what=f"event {k} to {iid} acknowledged")
        thread.join(60)
        # the waiter heard the end of its connection, not its deadline (120 s)
        assert len(outcome) == 1 and isinstance(outcome[0], RequestTimeout), outcome
        assert "gone before it answered" in str(outcome[0]), outcome
    finally:
        thread.join(130)
        waiter.close()
    assert daemons.remember(eng)["host-0"] != victim
    poll(lambda: eng.send(ids[0], "poke", {"k": "last"}, event_id="last") and _linked(eng)[shard_of(ids[0], 2)],
         60, interval=0.05, what="the direct link to the new host")
    for iid in ids:                       # every event applied once, the last one sent applied last
        last = "last" if iid == ids[0] else rounds - 1
        assert (_pokes(eng, iid), eng.status(iid)["context"]["events"]["poke"]) == (
            rounds + (iid == ids[0]), {"k": last}), iid
    daemons.shutdown(eng)


def test_a_wait_that_times_out_lets_go_of_its_connection(daemons, calls):
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2)
    iid = eng.start(GATE)
    host = shard_of(iid, 2)
    with pytest.raises(RequestTimeout):
        eng.wait(iid, timeout=0.2)        # it waits in the gate for "go": the deadline passes
    assert eng._links.socks[host] is None
    # the next request connects again; the wait the host still held is answered into the closed one
    assert eng.send(iid, "go")["duplicate"] is False
    assert eng.wait(iid, timeout=30)["status"] == "completed"
    assert _linked(eng)[host]
    daemons.shutdown(eng)


# ----------------------------------------------------------------------------- no daemon needed
def test_frames_decode_across_arbitrary_splits():
    msgs = [Replies(7, [Reply(0, True, {"id": "a"})]), Replies(8, [Reply(1, False, ValueError("x"))])]
    data = b"".join(frame(m) for m in msgs)
    for cut in range(1, len(data)):
        dec = _frames()
        got = dec.feed(data[:cut]) + dec.feed(data[cut:])
        assert [(m.rid, [(r.token, r.ok) for r in m.replies]) for m in got] == [(7, [(0, True)]), (8, [(1, False)])]
        assert not dec.buffered


def test_a_frame_too_large_is_refused():
    with pytest.raises(ValueError):
        _frames().feed(b"\xff\xff\xff\xff")


def test_a_socket_path_too_long_turns_the_direct_path_off(tmp_path):
    assert socket_path(str(tmp_path), 3).endswith("host-3.sock")
    assert socket_path(str(tmp_path / ("d" * 120)), 0) is None


def test_no_socket_means_the_dispatcher_path_and_nothing_sent(tmp_path):
    links = Links([socket_path(str(tmp_path), 0), None])
    items = [Item("a1", Signal("go", None, None)), Item("a2", Signal("go", None, None))]
    assert direct_batches(links, [Batch(1, items)], 1, 1.0) is None
    assert links.socks == [None, None]
    # an id the rule refuses is answered here, as the dispatcher does, and nothing else is needed
    bad = direct_batches(links, [Batch(2, [Item("not/ok", Signal("go", None, None))])], 4, 1.0)
    assert len(bad) == 1 and bad[0][0] is False and isinstance(bad[0][1], InvalidIdentifier)
    # a query about one instance: the same
    assert direct_query(links, Query(3, "status", {"id": "a1"}), 1.0) is None
    refused = direct_query(links, Query(4, "status", {"id": "not/ok"}), 1.0)
    assert (refused.rid, refused.ok, type(refused.value)) == (4, False, InvalidIdentifier)


def _holding_host(path: str, hold: int, seen: list, replies_bytes: int = 0):
    """A stand-in host on ``path`` (the real daemon's hosts answer as soon as they can, so a client
    that waited for each answer before sending the next batch would pass there too): it answers
    nothing until ``hold`` batches have arrived, then answers each (``replies_bytes`` of data per
    item: a reply larger than the socket buffers), recording the rids in arrival order."""
    import socket as _socket
    srv = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        dec, held = _frames(), []
        with conn:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                for msg in dec.feed(data):
                    seen.append(msg.rid)
                    held.append(msg)
                if len(seen) >= hold:
                    for msg in held:
                        conn.sendall(frame(Replies(msg.rid, [Reply(i.token, True, "x" * replies_bytes)
                                                             for i in msg.items])))
                    held = []

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return srv, thread


def test_the_direct_path_keeps_its_window_of_batches_in_flight(tmp_path):
    path = socket_path(str(tmp_path), 0)
    seen: list = []
    srv, thread = _holding_host(path, 3, seen)
    links = Links([path])
    try:
        batches = [Batch(10 + k, [Item(f"i{k}-{j}", Signal("go", None, None)) for j in range(2)]) for k in range(5)]
        got = direct_batches(links, batches, 3, 5.0)
        # three batches sent before any answer (one at a time would wait for the first: a timeout)
        assert seen[:3] == [10, 11, 12] and sorted(seen) == [10, 11, 12, 13, 14]
        assert got == [(True, "")] * 10
    finally:
        links.close()
        srv.close()
        thread.join(5)
    # a window of 2 against a host that answers at the third batch: two sent, nothing answered
    path, seen = socket_path(str(tmp_path), 1), []
    srv, thread = _holding_host(path, 3, seen)
    links = Links([path])
    try:
        with pytest.raises(RequestTimeout):
            direct_batches(links, [Batch(20 + k, [Item("z", Signal("go", None, None))]) for k in range(4)], 2, 0.5)
        assert seen == [20, 21]
    finally:
        links.close()
        srv.close()
        thread.join(5)


def test_the_direct_path_reads_replies_while_its_writes_wait(tmp_path):
    # replies of 200 KB per batch fill the host's side while the client still has batches to write:
    # a client that blocked on its write would never read them (the host would block on its own)
    path = socket_path(str(tmp_path), 0)
    seen: list = []
    srv, thread = _holding_host(path, 1, seen, replies_bytes=100_000)
    links = Links([path])
    try:
        batches = [Batch(k, [Item(f"i{k}-{j}", Signal("go", "d" * 100_000, None)) for j in range(2)])
                   for k in range(12)]
        got = direct_batches(links, batches, 8, 20.0)
        assert len(got) == 24 and all(ok and len(v) == 100_000 for ok, v in got)
        assert seen == list(range(12))
    finally:
        links.close()
        srv.close()
        thread.join(5)


def test_a_connection_closed_on_a_failed_reply_is_no_longer_watched(tmp_path):
    # a reply the client cannot take (it is gone) closes that connection on the host: its fd number,
    # free again, must leave the host's watch list (another socket of the process may get it)
    listener = Listener(str(tmp_path / "host-0.sock"))
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(listener.path)
        assert listener.ready([listener.sock.fileno()]) == []     # accepted
        (fd,) = listener.conns
        conn = listener.conns[fd]
        assert fd in listener.filenos()
        client.close()
        conn.send(Replies(1, [Reply(0, True, None)]))             # EPIPE: the host closes it
        assert conn.closed
        assert listener.filenos() == [listener.sock.fileno()]
    finally:
        client.close()
        listener.close()
