"""WatchInstance without polling (actors.watch_hub, goflow._shard_watch) against a real daemon and its
gRPC API process: a seed-shaped flow with gRPC workers and a completion hook streamed whole (the hook's
record included, every record once, in order), a late watcher, an unknown id, a stream that ends with
its instance; and, with the hub in this process, that a stream whose instance is busy costs no reads."""
from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from goflow.paging import every
from goflow.proto import engine_pb2 as pb
from test_grpc_engine_service import G, call, seed_flow, stack, stub, struct  # noqa: F401 - fixtures

pytestmark = [pytest.mark.daemon]
HOOKED = "api/hooked"
DEADLINE = 30.0


@pytest.fixture(scope="module")
def hooked(stack, _grpc_server):  # noqa: F811 - the imported fixture
    """The seed's three-step inquiry with gRPC workers and a completion hook (the worker ``done``)."""
    doc = seed_flow(_grpc_server.url())
    doc["activity"] = "hooked"
    doc["workers"].append(dict(doc["workers"][0], name="done"))
    stack.engine.deploy(doc)
    return stack


def until(predicate, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, f"not {what} within {deadline}s"
        time.sleep(0.01)


def history(stack, stub, iid: str) -> list[pb.HistoryRecord]:  # noqa: F811
    """Every record, oldest first, page by page (GetHistory pages as the HTTP API: SPEC §12)."""
    out, cursor = [], ""
    while True:
        page = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=7, order="oldest",
                                                                 cursor=cursor))
        out.extend(page.history)
        if not page.next:
            return out
        cursor = page.next


def test_a_seed_shaped_flow_with_a_hook_is_streamed_whole_once_in_order(hooked, stub, gserver):
    iid = call(hooked, stub.StartInstance, pb.StartInstanceRequest(blueprint=HOOKED,
                                                                   input=struct({"plan": ["gate:seed"]}))).id
    stream = call(hooked, stub.WatchInstance, pb.WatchInstanceRequest(instance_id=iid))
    first = next(stream)                 # the stream is live while the first step is held
    until(lambda: gserver.keys(), "calling the first worker")
    gserver.open("seed")
    records = [first] + list(stream)
    assert [r.position for r in records] == list(range(len(records)))
    assert records == history(hooked, stub, iid)            # every record, once, in order, as committed
    steps = [(r.action, r.outcome) for r in records if r.endpoint]
    assert steps == [("calculate_balance", "OK"), ("get_product", "OK"), ("calculate_voucher", "OK"),
                     ("done", "OK")]
    assert records[-1].outcome.startswith("hook-"), records[-1]   # the hook's record, after the end
    assert [r.position for r in records if r.next == "done"] < [records[-1].position]


def test_a_late_watcher_gets_the_records_from_its_position_then_the_live_ones(hooked, stub, gserver):
    iid = call(hooked, stub.StartInstance, pb.StartInstanceRequest(blueprint=HOOKED,
                                                                   input=struct({"plan": ["gate:late"]}))).id
    until(lambda: gserver.keys(), "calling the first worker")
    so_far = history(hooked, stub, iid)
    assert len(so_far) >= 2
    stream = call(hooked, stub.WatchInstance, pb.WatchInstanceRequest(instance_id=iid, position=1))
    first = next(stream)
    assert first == so_far[1]
    gserver.open("late")
    records = [first] + list(stream)
    assert records == history(hooked, stub, iid)[1:]
    assert records[-1].outcome.startswith("hook-")


def test_a_watch_of_an_unknown_instance_is_not_found(hooked, stub):
    with pytest.raises(grpc.RpcError) as info:
        list(call(hooked, stub.WatchInstance, pb.WatchInstanceRequest(instance_id="nobody-here")))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND, info.value.details()
    assert "nobody-here" in info.value.details()


def test_the_stream_ends_when_the_instance_ends(hooked, stub):
    iid = call(hooked, stub.StartInstance, pb.StartInstanceRequest(blueprint=G)).id
    stream = call(hooked, stub.WatchInstance, pb.WatchInstanceRequest(instance_id=iid))
    seen = [next(stream)]
    while seen[-1].next != "waiting":
        seen.append(next(stream))
    call(hooked, stub.TerminateInstance, pb.TerminateInstanceRequest(instance_id=iid, reason="enough"))
    seen.extend(stream)                  # ends by itself (the call's deadline would say otherwise)
    assert seen[-1].outcome == "terminated"
    assert seen == history(hooked, stub, iid)


def test_a_stream_of_a_busy_instance_reads_nothing_until_it_commits(hooked, gserver):
    """The hub in this process, on the daemon: while the first step is held at the worker, the hub
    listens over and over and sends nothing; over the whole flow it sends one request per answer."""
    from actors.watch_hub import WatchHub
    eng = hooked.engine
    iid = eng.start(HOOKED, {"plan": ["gate:idle"]})

    async def main():
        hub = WatchHub(hooked.port, listen=0.02)
        hub.start()
        got = []
        try:
            async def consume():
                async for _pos, rec in hub.watch(iid):
                    got.append(rec)
            task = asyncio.create_task(consume())
            end = time.monotonic() + DEADLINE
            while not gserver.keys():
                assert time.monotonic() < end and not task.done(), "the first step never began"
                await asyncio.sleep(0.01)
            # committed before the worker was called; none until it answers
            so_far = sum(1 for _ in every(eng.history, iid))
            # the sample starts once the stream has every record committed so far AND the hub has asked
            # after its last answer (that request belongs to the answer, not to the idle time): read
            # earlier, a Watch the hub sends for an answer it just handed over counts as idle
            while not (len(got) == so_far and hub.requests > hub.answers):
                assert time.monotonic() < end and not task.done(), "the stream never caught up"
                await asyncio.sleep(0.01)
            asked, listened = hub.requests, hub.listens
            while hub.listens < listened + 25:          # half a second of listening, at least
                assert time.monotonic() < end, "the hub does not listen"
                await asyncio.sleep(0.01)
            idle = hub.requests - asked
            gserver.open("idle")
            await asyncio.wait_for(task, DEADLINE)
            return idle, hub.requests, got
        finally:
            await asyncio.get_running_loop().run_in_executor(None, hub.close)

    idle, requests, got = asyncio.run(main())
    full = list(every(eng.history, iid))
    assert got == list(full)
    assert idle == 0                       # a polling stream would have read the history again and again
    assert requests <= len(full) + 2, (requests, len(full))
