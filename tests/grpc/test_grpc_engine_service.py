"""The Engine gRPC service against a real daemon, served by its own process as ``goflow daemon start``
runs it, called from the generated client (``engine_pb2_grpc.EngineStub``) and the thin typed client:
every RPC, the status-code mapping, the watch stream across a whole flow, auth refusals, health and
reflection; concurrent SendEvent calls batched into few engine round trips."""
from __future__ import annotations

import asyncio
import os
import sys

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from goflow.auth import read_token
from goflow.proto import engine_pb2 as pb
from goflow.proto import engine_pb2_grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http_api"))

from http_api_support import GATE, Processes, free_port  # noqa: E402

pytestmark = [pytest.mark.daemon]
G = "api/gate"


def seed_flow(url: str) -> dict:
    """The seed's inquiry shape (three worker steps, each handling ``error``) with gRPC workers."""
    steps = ["calculate_balance", "get_product", "calculate_voucher"]
    transitions = [{"current": "init", "event": "start", "action": steps[0], "next": steps[0]}]
    for here, nxt in zip(steps, steps[1:] + [None]):
        transitions.append({"current": here, "event": "success", "action": nxt or "continue", "next": nxt or "done"})
        transitions.append({"current": here, "event": "error", "action": "continue", "next": "done"})
    return {"project": "api", "activity": "inquiry", "states": steps,
            "actions": [{"name": s, "type": "sync"} for s in steps], "transitions": transitions,
            "workers": [{"name": s, "workerEndpoint": url, "retryCount": 2, "responseTimeout": 5, "priority": 1,
                         "retryDelay": 0, "jitter": 0} for s in steps]}


class Stack:
    pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory, _grpc_server):
    from actors.daemon import add_process, start_daemon, stop
    from actors.grpc_server import spawn
    tmp = tmp_path_factory.mktemp("grpc-api")
    st = Stack()
    st.procs = Processes()
    st.data, st.port, st.grpc_port = str(tmp / "data"), free_port(), free_port()
    st.log = str(tmp / "daemon.log")
    st.engine = None
    try:
        st.engine = start_daemon(st.data, port=st.port, shards=2, blueprints=[GATE, seed_flow(_grpc_server.url())],
                                 log_path=st.log, env=st.procs.env(), timeout=30)
        pids = st.engine.pids()
        pid = spawn(st.port, st.grpc_port, "127.0.0.1", data_dir=st.data, log_path=st.log, event_bytes=2000,
                    watch_pid=pids["admin"], env=st.procs.env())
        add_process(st.data, "grpc", pid, grpc=f"127.0.0.1:{st.grpc_port}")
        st.target = f"127.0.0.1:{st.grpc_port}"
        st.token = read_token(st.data)
        st.auth = (("authorization", f"Bearer {st.token}"),)
        yield st
    finally:
        try:
            if st.engine is not None:
                st.engine.close()
                stop(st.data, st.port)
        finally:
            st.procs.assert_none_left()


@pytest.fixture
def stub(stack):
    with grpc.insecure_channel(stack.target) as channel:
        yield engine_pb2_grpc.EngineStub(channel)


def call(stack, method, request, **kw):
    return method(request, metadata=stack.auth, timeout=30, **kw)


def refused(stack, method, request, code) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call(stack, method, request)
    assert info.value.code() == code, (info.value.code(), info.value.details())
    return info.value.details()


def struct(value) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def test_start_get_send_list_history(stack, stub):
    iid = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G, input=struct({"order": 7}))).id
    inst = call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid))
    assert (inst.status, inst.state, json_format.MessageToDict(inst.input), inst.version) == \
        ("waiting", "waiting", {"order": 7.0}, 1)
    req = pb.SendEventRequest(instance_id=iid, event="ping", event_id="e-1")
    json_format.ParseDict({"n": 1}, req.data)
    ack = call(stack, stub.SendEvent, req)
    assert (ack.id, ack.state, ack.status, ack.duplicate) == (iid, "waiting", "waiting", False)
    assert call(stack, stub.SendEvent, req).duplicate is True
    named = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G, id="order-42", version=1))
    assert named.id == "order-42"
    rows = call(stack, stub.ListInstances, pb.ListInstancesRequest(blueprint=G, status="waiting", limit=1000))
    assert {iid, "order-42"} <= {r.id for r in rows.instances} and rows.limit == 1000
    hist = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, order="oldest"))
    assert [r.event for r in hist.history if r.event] == ["start", "ping", "ping"]
    assert [r.position for r in hist.history] == list(range(len(hist.history)))
    assert hist.history[-1].outcome == "duplicate" and (hist.limit, hist.next) == (50, "")
    latest = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid))    # latest first, as HTTP
    assert list(latest.history) == list(reversed(hist.history))
    one = call(stack, stub.GetHistory, pb.GetHistoryRequest(instance_id=iid, limit=1))
    assert list(one.history) == [hist.history[-1]] and one.next


def test_list_instances_pages_by_cursor_without_offset(stack, stub):
    mine = [call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G, id=f"page-{n}")).id for n in range(5)]
    everything = call(stack, stub.ListInstances, pb.ListInstancesRequest(blueprint=G, limit=1000, order="oldest"))
    assert everything.next == "" and everything.limit == 1000
    for order in ("oldest", "latest"):
        seen, cursor, pages = [], "", 0
        while True:
            page = call(stack, stub.ListInstances, pb.ListInstancesRequest(blueprint=G, limit=2, order=order,
                                                                           cursor=cursor))
            assert len(page.instances) <= 2 and page.limit == 2
            seen.extend(r.id for r in page.instances)
            pages += 1
            if not page.next:
                break
            cursor = page.next
        expected = [r.id for r in everything.instances]
        assert seen == (expected if order == "oldest" else expected[::-1]) and pages >= 3
        assert [i for i in seen if i in mine] == (mine if order == "oldest" else mine[::-1])
    assert call(stack, stub.ListInstances, pb.ListInstancesRequest(blueprint=G)).limit == 50   # the default
    for bad in (pb.ListInstancesRequest(offset=2), pb.ListInstancesRequest(limit=1001),
                pb.ListInstancesRequest(order="newest"), pb.ListInstancesRequest(cursor="p3")):
        details = refused(stack, stub.ListInstances, bad, grpc.StatusCode.INVALID_ARGUMENT)
        assert details
    assert "cursor" in refused(stack, stub.ListInstances, pb.ListInstancesRequest(offset=2),
                               grpc.StatusCode.INVALID_ARGUMENT)


def test_pause_resume_terminate_retry_rewind(stack, stub):
    iid = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G)).id
    res = call(stack, stub.PauseInstance, pb.InstanceRequest(instance_id=iid))
    assert res.id == iid
    assert call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid)).status == "paused"
    call(stack, stub.ResumeInstance, pb.InstanceRequest(instance_id=iid))
    assert call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid)).status == "waiting"
    call(stack, stub.TerminateInstance, pb.TerminateInstanceRequest(instance_id=iid, reason="test"))
    inst = call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid))
    assert (inst.status, inst.reason) == ("terminated", "test")
    details = refused(stack, stub.RetryInstance, pb.InstanceRequest(instance_id=iid),
                      grpc.StatusCode.FAILED_PRECONDITION)
    assert "cannot retry" in details and "terminated" in details
    refused(stack, stub.RewindInstance, pb.RewindInstanceRequest(instance_id=iid, state="nowhere"),
            grpc.StatusCode.FAILED_PRECONDITION)
    refused(stack, stub.RewindInstance, pb.RewindInstanceRequest(instance_id=iid), grpc.StatusCode.INVALID_ARGUMENT)
    res = call(stack, stub.RewindInstance, pb.RewindInstanceRequest(instance_id=iid, state="waiting"))
    assert res.id == iid
    inst = call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid))
    assert (inst.status, inst.state) == ("waiting", "waiting") and "waiting" in inst.visited
    call(stack, stub.TerminateInstance, pb.TerminateInstanceRequest(instance_id=iid, force=True))
    assert call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid)).status == "terminated"


def test_error_mapping(stack, stub):
    iid = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G)).id
    details = refused(stack, stub.SendEvent, pb.SendEventRequest(instance_id=iid, event="nope"),
                      grpc.StatusCode.FAILED_PRECONDITION)
    assert "'waiting'" in details and "'go'" in details and "'ping'" in details
    refused(stack, stub.GetInstance, pb.InstanceRequest(instance_id="no-such"), grpc.StatusCode.NOT_FOUND)
    refused(stack, stub.SendEvent, pb.SendEventRequest(instance_id="no-such", event="go"), grpc.StatusCode.NOT_FOUND)
    refused(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint="api/nope"), grpc.StatusCode.NOT_FOUND)
    refused(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint="no-slash"), grpc.StatusCode.INVALID_ARGUMENT)
    for bad in ("api/bell\x07", "a" * 257 + "/gate", "api/ga/te"):      # blueprint names are identifiers
        refused(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=bad), grpc.StatusCode.INVALID_ARGUMENT)
        refused(stack, stub.ListInstances, pb.ListInstancesRequest(blueprint=bad), grpc.StatusCode.INVALID_ARGUMENT)
    refused(stack, stub.GetInstance, pb.InstanceRequest(instance_id=""), grpc.StatusCode.INVALID_ARGUMENT)
    refused(stack, stub.GetInstance, pb.InstanceRequest(instance_id="x" * 300), grpc.StatusCode.INVALID_ARGUMENT)
    refused(stack, stub.ListInstances, pb.ListInstancesRequest(status="sleeping"), grpc.StatusCode.INVALID_ARGUMENT)
    refused(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G, id=iid), grpc.StatusCode.ALREADY_EXISTS)
    big = pb.SendEventRequest(instance_id=iid, event="ping")
    json_format.ParseDict({"blob": "x" * 3000}, big.data)              # over limits.event_bytes (2000)
    assert "event_bytes" in refused(stack, stub.SendEvent, big, grpc.StatusCode.RESOURCE_EXHAUSTED)
    huge = pb.SendEventRequest(instance_id=iid, event="ping")
    json_format.ParseDict({"blob": "x" * 100_000}, huge.data)          # over the message bound itself
    refused(stack, stub.SendEvent, huge, grpc.StatusCode.RESOURCE_EXHAUSTED)
    call(stack, stub.SendEvent, pb.SendEventRequest(instance_id=iid, event="go"))
    assert call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid)).result == "done"
    ended = call(stack, stub.ListInstances, pb.ListInstancesRequest(blueprint=G, end_state="done", limit=1000))
    assert iid in {r.id for r in ended.instances} and all(r.status == "completed" for r in ended.instances)
    details = refused(stack, stub.SendEvent, pb.SendEventRequest(instance_id=iid, event="go"),
                      grpc.StatusCode.FAILED_PRECONDITION)
    assert "completed" in details


def test_auth_refusals_and_open_health_and_reflection(stack, stub):
    request = pb.ListInstancesRequest()
    for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", stack.token),),
                     (("authorization", f"Basic {stack.token}"),)):
        with pytest.raises(grpc.RpcError) as info:
            stub.ListInstances(request, metadata=metadata, timeout=10)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "api.token" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        list(stub.WatchInstance(pb.WatchInstanceRequest(instance_id="x"), timeout=10))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    with grpc.insecure_channel(stack.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "goflow.engine.v1.Engine"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                    timeout=10))
        names = {s.name for s in answers[0].list_services_response.service}
        assert {"goflow.engine.v1.Engine", "grpc.health.v1.Health"} <= names


def test_watch_streams_a_whole_flow_then_ends(stack, stub, gserver):
    iid = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint="api/inquiry",
                                                                  input=struct({"customer": 42}))).id
    records = list(call(stack, stub.WatchInstance, pb.WatchInstanceRequest(instance_id=iid)))
    assert [r.position for r in records] == list(range(len(records)))
    steps = [(r.action, r.outcome) for r in records if r.endpoint]
    assert steps == [("calculate_balance", "OK"), ("get_product", "OK"), ("calculate_voucher", "OK")]
    assert [r.next for r in records if r.next][-1] == "done", records
    assert call(stack, stub.GetInstance, pb.InstanceRequest(instance_id=iid)).status == "completed"
    late = list(call(stack, stub.WatchInstance, pb.WatchInstanceRequest(instance_id=iid, position=3)))
    assert [r.position for r in late] == list(range(3, len(records)))
    assert [(r.event, r.outcome) for r in late] == [(r.event, r.outcome) for r in records[3:]]
    assert {k for k in gserver.keys()} == {f"{iid}:1", f"{iid}:2", f"{iid}:3"}


def test_watch_follows_live_events_until_the_end(stack):
    from goflow.client.grpc import EngineClient
    with EngineClient(stack.target, token=stack.token) as client:
        iid = client.start(G, {"k": 1})
        stream = client.watch(iid)
        first = next(stream)
        while first["event"] != "start":        # the record of the instance's creation comes first
            first = next(stream)
        assert first["next"] == "waiting"
        client.send(iid, "ping", {"n": 1})
        second = next(stream)
        assert (second["position"], second["event"]) == (first["position"] + 1, "ping")
        client.send(iid, "go")
        rest = list(stream)
        assert [r["event"] for r in rest if r["event"]] == ["go"]
        assert [r["next"] for r in rest if r["next"]] == ["done"]


def test_the_typed_client(stack):
    from goflow.client.grpc import EngineCallError, EngineClient
    with EngineClient(stack.target, data_dir=stack.data) as client:
        iid = client.start(G, {"order": 7}, id="typed-1")
        assert client.status(iid)["input"] == {"order": 7}
        assert client.send(iid, "ping", [1, "two"], event_id="t-1")["duplicate"] is False
        assert [r["event"] for r in client.history(iid, order="oldest") if r["event"]] == ["start", "ping"]
        latest = client.history(iid, limit=1)
        assert latest.next and latest[0]["position"] == len(client.history(iid)) - 1
        older = client.history(iid, limit=1000, cursor=latest.next)
        assert older.next is None and [r["position"] for r in older] == list(reversed(range(latest[0]["position"])))
        assert iid in {r["id"] for r in client.list(G, limit=1000)}
        first = client.list(G, limit=1, order="oldest")
        assert len(first) == 1 and first.next is not None
        assert client.list(G, limit=1, order="oldest", cursor=first.next)[0]["id"] != first[0]["id"]
        assert client.pause(iid)["status"] == "paused"
        assert client.resume(iid)["status"] == "waiting"
        assert client.terminate(iid, "done with it")["status"] == "terminated"
        with pytest.raises(EngineCallError) as info:
            client.status("no-such")
        assert info.value.code == "NOT_FOUND"
    with EngineClient(stack.target, token="wrong") as client:
        with pytest.raises(EngineCallError) as info:
            client.list()
        assert info.value.code == "UNAUTHENTICATED"


def test_concurrent_send_events_share_engine_round_trips(stack):
    """The service's SendEvent goes through the HTTP API's EventBatcher: 60 concurrent calls reach the
    daemon in fewer round trips than events (served in-process here to read the batcher's counts)."""
    from actors.bridge import EngineBridge, EventBatcher
    from actors.grpc_service import EngineService
    from actors.http_requests import Limits

    async def main():
        bridge = EngineBridge(stack.port)
        batcher = EventBatcher(bridge, window=0.005)
        server = grpc.aio.server()
        engine_pb2_grpc.add_EngineServicer_to_server(EngineService(bridge, batcher, stack.token, Limits(2000)), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        batcher.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = engine_pb2_grpc.EngineStub(channel)
                iid = (await stub.StartInstance(pb.StartInstanceRequest(blueprint=G), metadata=stack.auth)).id
                acks = await asyncio.gather(*(stub.SendEvent(pb.SendEventRequest(instance_id=iid, event="ping",
                                                                                  event_id=f"c-{i}"),
                                                             metadata=stack.auth) for i in range(60)))
            return acks, batcher.stats()
        finally:
            await server.stop(0)
            await batcher.stop()
            await asyncio.get_running_loop().run_in_executor(None, bridge.close)

    acks, stats = asyncio.run(main())
    assert [a.duplicate for a in acks] == [False] * 60
    assert stats["events"] == 60 and stats["batches"] < 60 and stats["largest"] > 1, stats


def test_goflow_grpc_in_the_foreground(stack):
    import subprocess
    from http_api_support import REPO
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "actors.cli", "grpc", "--port", str(port), "--daemon-port",
                             str(stack.port), "--data-dir", stack.data], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=stack.procs.env(), cwd=str(REPO),
                            stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"goflow grpc listening on 127.0.0.1:{port} (daemon port {stack.port}, "
                               f"loopback only)"), (line, proc.stderr.read() if proc.poll() is not None else "")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = engine_pb2_grpc.EngineStub(channel)
            iid = call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=G)).id
            assert call(stack, stub.SendEvent, pb.SendEventRequest(instance_id=iid, event="go")).status == "completed"
        proc.send_signal(__import__("signal").SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_daemon_start_with_grpc_enabled_and_stop(tmp_path):
    import json
    from http_api_support import alive, goflow
    from testkit import poll
    procs = Processes()
    port, grpc_port = free_port(), free_port()
    env = procs.env(GOFLOW_DAEMON_PORT=port, GOFLOW_ENGINE_DATA_DIR=tmp_path / "data", GOFLOW_ENGINE_SHARDS=1,
                    GOFLOW_GRPC_ENABLED="true", GOFLOW_GRPC_PORT=grpc_port)
    try:
        p = goflow("daemon", "start", "--json", env=env)
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        assert out["grpc"] == f"127.0.0.1:{grpc_port}" and out["api"] is None
        pid = out["pids"]["grpc"]
        info = json.loads((tmp_path / "data" / "daemon.json").read_text())
        assert (info["pids"]["grpc"], info["grpc"]) == (pid, out["grpc"])
        token = read_token(str(tmp_path / "data"))
        with grpc.insecure_channel(out["grpc"]) as channel:
            rows = engine_pb2_grpc.EngineStub(channel).ListInstances(
                pb.ListInstancesRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=30)
            assert list(rows.instances) == []
        status = json.loads(goflow("daemon", "status", "--json", env=env).stdout)
        assert status["pids"]["grpc"] == pid and status["grpc"] == out["grpc"]
        p = goflow("daemon", "stop", env=env)
        assert p.returncode == 0, p.stderr
        assert not alive(pid)
        poll(lambda: not procs.left(), 10, what="every process of the daemon to exit")
    finally:
        if procs.left():
            goflow("daemon", "stop", env=env)
        procs.assert_none_left()


def test_goflow_grpc_refusals(stack):
    from http_api_support import goflow
    env = stack.procs.env()
    p = goflow("grpc", "--address", "0.0.0.0", "--daemon-port", str(stack.port), env=env)
    assert p.returncode == 1 and p.stderr.startswith("Error: grpc.address 0.0.0.0 is not a loopback address")
    assert "--allow-remote" in p.stderr and len(p.stderr.splitlines()) == 1
    p = goflow("grpc", "--port", str(free_port()), "--daemon-port", str(free_port()), env=env)
    assert p.returncode == 1 and "no GoFlow daemon is running" in p.stderr, p.stderr
    p = goflow("grpc", "--tls-cert", "cert.pem", "--daemon-port", str(stack.port), env=env)
    assert p.returncode == 1 and "go together" in p.stderr, p.stderr


def test_the_service_over_tls(stack, tmp_path):
    """grpc.tls_cert/grpc.tls_key: the server speaks TLS; the typed client trusts its CA."""
    import threading
    trustme = pytest.importorskip("trustme", reason="trustme is not installed (the 'test' extra)")
    from actors.grpc_server import serve
    from goflow.client.grpc import EngineCallError, EngineClient
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    bound, stop, loop_box = [], None, {}

    def run():
        nonlocal stop
        async def main():
            nonlocal stop
            stop = asyncio.Event()
            loop_box["loop"] = asyncio.get_running_loop()
            await serve(stack.port, 0, data_dir=stack.data, tls_cert=str(tmp_path / "cert.pem"),
                        tls_key=str(tmp_path / "key.pem"), stop=stop, ready=bound.append)
        asyncio.run(main())

    thread = threading.Thread(target=run, name="grpc-tls-server", daemon=True)
    thread.start()
    try:
        from testkit import poll
        poll(lambda: bound, 30, what="the TLS server to listen")
        with EngineClient(f"127.0.0.1:{bound[0]}", token=stack.token, root_certificates=ca.cert_pem.bytes()) as c:
            assert c.start(G, {"tls": True})
        with EngineClient(f"127.0.0.1:{bound[0]}", token=stack.token, timeout=5) as plain:
            with pytest.raises(EngineCallError) as info:
                plain.list()
            assert info.value.code == "UNAVAILABLE"
    finally:
        if "loop" in loop_box:
            loop_box["loop"].call_soon_threadsafe(stop.set)
        thread.join(30)


def test_get_instance_names_a_childs_parent(stack, stub):
    fan = {"project": GATE["project"], "activity": "grpc_fan", "states": ["run"],
           "actions": [{"name": "kids", "type": "workflow", "blueprint": G, "forEach": "xs"}],
           "transitions": [{"current": "init", "event": "start", "action": "kids", "next": "run"},
                           {"current": "run", "event": "success", "action": "continue", "next": "done"}]}
    stack.engine.deploy(fan)
    call(stack, stub.StartInstance, pb.StartInstanceRequest(blueprint=f"{GATE['project']}/grpc_fan", id="gfan",
                                                            input=struct({"xs": [1]})))
    stack.engine.wait("gfan~1~0", 30, state="waiting")
    kid = call(stack, stub.GetInstance, pb.InstanceRequest(instance_id="gfan~1~0"))
    assert json_format.MessageToDict(kid.parent) == {"id": "gfan", "step": 1.0, "index": 0.0}
    assert not call(stack, stub.GetInstance, pb.InstanceRequest(instance_id="gfan")).HasField("parent")
    from goflow.client.grpc import EngineClient
    rows = call(stack, stub.ListInstances, pb.ListInstancesRequest(parent="gfan"))
    assert [r.id for r in rows.instances] == ["gfan~1~0"]
    refused(stack, stub.ListInstances, pb.ListInstancesRequest(parent="a/b"), grpc.StatusCode.INVALID_ARGUMENT)
    with EngineClient(stack.target, data_dir=stack.data) as client:
        assert client.status("gfan~1~0")["parent"] == {"id": "gfan", "step": 1, "index": 0}
        assert client.status("gfan")["parent"] is None
        assert [r["id"] for r in client.list(parent="gfan")] == ["gfan~1~0"]
