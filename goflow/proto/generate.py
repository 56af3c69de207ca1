"""Regenerate the committed gRPC modules of :mod:`goflow.proto` from the ``.proto`` files.

    python -m goflow.proto.generate            # rewrite goflow/proto/*_pb2*.py(i) in place
    python -m goflow.proto.generate --out DIR  # write DIR/goflow/proto/... instead (the suite compares)

Needs grpcio-tools (the ``test`` extra). The protos are compiled from the directory that holds the
``goflow`` package, so the generated modules import each other as ``goflow.proto.*``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["PROTOS", "GENERATED", "generate"]

PROTOS = ("worker.proto", "engine.proto")
GENERATED = tuple(f"{stem}{suffix}" for stem in ("worker", "engine")
                  for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"))

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent.parent          # the directory that holds the goflow package


def generate(out: str | os.PathLike | None = None) -> Path:
    """Compile :data:`PROTOS` into ``out/goflow/proto/`` (default: in place); returns that directory."""
    from grpc_tools import protoc

    include = Path(protoc.__file__).resolve().parent / "_proto"     # google/protobuf/*.proto
    target = Path(out) if out is not None else _ROOT
    (target / "goflow" / "proto").mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", f"-I{_ROOT}", f"-I{include}", f"--python_out={target}",
            f"--pyi_out={target}", f"--grpc_python_out={target}"]
    args += [f"goflow/proto/{name}" for name in PROTOS]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed (exit {code}): {' '.join(args)}")
    return target / "goflow" / "proto"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m goflow.proto.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write under this directory instead of in place")
    where = generate(parser.parse_args(argv).out)
    print(f"generated {', '.join(GENERATED)} in {where}")


if __name__ == "__main__":
    main()
