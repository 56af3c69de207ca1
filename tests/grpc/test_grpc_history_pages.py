"""GetHistory pages by cursor (SPEC §12), as the HTTP API's history: ``limit`` 1 to 1,000 (0: 50),
``order`` latest (the default) or oldest, ``next`` back as ``cursor``; and every record keeps its
exact position (its index in the history, oldest first, as WatchInstance counts), whichever the
order, the page, the cursor's form (a positioned gRPC cursor or the HTTP API's plain one)."""
from __future__ import annotations

import grpc
import pytest

from goflow.paging import every
from goflow.proto import engine_pb2 as pb
from test_grpc_engine_service import G, call, refused, stack, stub  # noqa: F401 - fixtures

pytestmark = [pytest.mark.daemon]
PINGS = 120


@pytest.fixture(scope="module")
def busy(stack):  # noqa: F811 - the imported fixture
    """An instance with more than two default pages of records, and its whole history (Python API)."""
    iid = stack.engine.start(G, id="pages-busy")
    for n in range(PINGS):
        stack.engine.send(iid, "ping", {"n": n})
    records = list(every(stack.engine.history, iid))
    assert len(records) > 2 * 50
    return iid, records


def fields(msg: pb.HistoryRecord) -> tuple:
    return msg.time, msg.state, msg.event, msg.next, msg.step if msg.HasField("step") else None, msg.outcome


def plain(rec: dict) -> tuple:
    return rec["time"], rec["state"] or "", rec["event"] or "", rec["next"] or "", rec["step"], rec["outcome"] or ""


def walk(stack, stub, iid: str, order: str, limit: int, cursor: str = "") -> tuple[list, int]:  # noqa: F811
    out, pages = [], 0
    while True:
        page = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=limit, order=order,
                                                                 cursor=cursor))
        assert page.limit == limit and len(page.history) <= limit
        out.extend(page.history)
        pages += 1
        if not page.next:
            return out, pages
        assert len(page.history) == limit           # a page that says more follow is full
        cursor = page.next


@pytest.mark.parametrize("order", ["oldest", "latest"])
def test_pages_in_both_orders_with_exact_positions(stack, stub, busy, order):  # noqa: F811
    iid, records = busy
    n = len(records)
    got, pages = walk(stack, stub, iid, order, 7)
    want = list(range(n)) if order == "oldest" else list(reversed(range(n)))
    assert [r.position for r in got] == want
    assert [fields(r) for r in got] == [plain(records[i]) for i in want]
    assert pages == -(-n // 7)


def test_the_default_page_is_the_latest_50_and_the_maximum_1000(stack, stub, busy):  # noqa: F811
    iid, records = busy
    n = len(records)
    first = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid))
    assert first.limit == 50 and first.next
    assert [r.position for r in first.history] == list(range(n - 1, n - 51, -1))
    assert [fields(r) for r in first.history] == [plain(r) for r in reversed(records[-50:])]
    whole = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=1000, order="oldest"))
    assert [r.position for r in whole.history] == list(range(n)) and whole.next == ""
    for bad in (-1, 1001, 2**31 - 1):
        details = refused(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=bad),
                          grpc.StatusCode.INVALID_ARGUMENT)
        assert "limit" in details


def test_bad_cursor_order_or_id_is_refused(stack, stub, busy):  # noqa: F811
    iid, _records = busy
    for cursor in ("x", "h", "h1~", "h-1", "h1~-2", "l1.0~61", "h1234567890123456789"):
        details = refused(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, cursor=cursor),
                          grpc.StatusCode.INVALID_ARGUMENT)
        assert "cursor" in details
    refused(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, order="sideways"),
            grpc.StatusCode.INVALID_ARGUMENT)
    refused(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id="no/such"), grpc.StatusCode.INVALID_ARGUMENT)
    refused(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id="nobody-here"), grpc.StatusCode.NOT_FOUND)


@pytest.mark.parametrize("order", ["oldest", "latest"])
def test_the_http_apis_cursor_goes_on_with_counted_positions(stack, stub, busy, order):  # noqa: F811
    iid, records = busy
    n = len(records)
    http_page = stack.engine.history(iid, limit=30, order=order)      # what GET .../history answers
    assert http_page.next.startswith("h") and "~" not in http_page.next
    got, _pages = walk(stack, stub, iid, order, 40, cursor=http_page.next)
    want = list(range(30, n)) if order == "oldest" else list(reversed(range(n - 30)))
    assert [r.position for r in got] == want
    assert [fields(r) for r in got] == [plain(records[i]) for i in want]


def test_a_cursor_names_a_record_whichever_way_one_goes_on(stack, stub, busy):  # noqa: F811
    iid, records = busy
    page = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=10, order="oldest"))
    back = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=5, order="latest",
                                                             cursor=page.next))
    assert [r.position for r in back.history] == [8, 7, 6, 5, 4]
    assert [fields(r) for r in back.history] == [plain(records[i]) for i in (8, 7, 6, 5, 4)]


def test_positions_stay_exact_while_the_instance_goes_on(stack, stub):  # noqa: F811
    iid = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G, id="pages-live")).id
    for n in range(12):
        stack.engine.send(iid, "ping", {"n": n})
    first = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=5))
    top = first.history[0].position
    for n in range(12, 20):                     # records committed between the pages
        stack.engine.send(iid, "ping", {"n": n})
    rest, _pages = walk(stack, stub, iid, "latest", 5, cursor=first.next)
    assert [r.position for r in list(first.history) + rest] == list(range(top, -1, -1))
    latest = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=1))
    records = list(every(stack.engine.history, iid))
    assert latest.history[0].position == len(records) - 1 == top + 8
    assert fields(latest.history[0]) == plain(records[-1])
