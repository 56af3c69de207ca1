"""The committed gRPC modules are what grpcio-tools makes of the shipped .proto files, and they name
SPEC §9's packages, services and fields."""
from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

import goflow.proto
from goflow.proto import engine_pb2, engine_pb2_grpc, worker_pb2, worker_pb2_grpc
from goflow.proto.generate import GENERATED, PROTOS

HERE = Path(goflow.proto.__file__).resolve().parent


def test_committed_modules_match_a_fresh_generation(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools is not installed (the 'test' extra: pip install -e '.[test]')")
    from goflow.proto.generate import generate

    out = generate(tmp_path)
    differ = [name for name in GENERATED if not filecmp.cmp(out / name, HERE / name, shallow=False)]
    assert not differ, f"regenerate with `python -m goflow.proto.generate`: {differ} differ from the .proto files"


def test_a_changed_proto_is_caught(tmp_path, monkeypatch):
    """The comparison above can fail: a field added to a copy of worker.proto changes worker_pb2."""
    pytest.importorskip("grpc_tools", reason="grpcio-tools is not installed (the 'test' extra: pip install -e '.[test]')")
    from goflow.proto import generate as gen

    root = tmp_path / "src"
    (root / "goflow" / "proto").mkdir(parents=True)
    for name in PROTOS:
        text = (HERE / name).read_text()
        if name == "worker.proto":
            text = text.replace("bool accepted = 3;", "bool accepted = 3;\n  string extra = 4;")
        (root / "goflow" / "proto" / name).write_text(text)
    monkeypatch.setattr(gen, "_ROOT", root)
    out = gen.generate(tmp_path / "out")
    assert not filecmp.cmp(out / "worker_pb2.py", HERE / "worker_pb2.py", shallow=False)
    assert filecmp.cmp(out / "engine_pb2.py", HERE / "engine_pb2.py", shallow=False)


def test_the_protos_ship_in_the_package_and_name_spec_9():
    for name in PROTOS:
        assert (HERE / name).is_file()
    assert worker_pb2.DESCRIPTOR.package == "goflow.worker.v1"
    assert engine_pb2.DESCRIPTOR.package == "goflow.engine.v1"
    perform = worker_pb2.DESCRIPTOR.services_by_name["Worker"].methods_by_name["Perform"]
    assert perform.input_type.name == "PerformRequest" and perform.output_type.name == "PerformResponse"
    fields = set(worker_pb2.PerformRequest.DESCRIPTOR.fields_by_name)
    assert fields == {"instance", "project", "activity", "version", "action", "state", "step", "attempt",
                      "idempotency_key", "input", "context"}
    assert set(worker_pb2.PerformResponse.DESCRIPTOR.fields_by_name) == {"event", "output", "accepted"}
    rpcs = set(engine_pb2.DESCRIPTOR.services_by_name["Engine"].methods_by_name)
    assert rpcs == {"StartInstance", "SendEvent", "GetInstance", "ListInstances", "GetHistory", "PauseInstance",
                    "ResumeInstance", "TerminateInstance", "RetryInstance", "RewindInstance", "WatchInstance"}
    assert engine_pb2.DESCRIPTOR.services_by_name["Engine"].methods_by_name["WatchInstance"].server_streaming
    assert hasattr(worker_pb2_grpc, "WorkerStub") and hasattr(engine_pb2_grpc, "EngineServicer")
