"""The gRPC limit: the workflow's worker calls made directly by one grpc.aio channel (no engine, no
persistence), the same open workload as :func:`benchmarks._direct.run_limit`. Each call builds the
``PerformRequest`` from the SPEC §4 document and decodes the answer's ``output`` as GoFlow's transport
does, so the difference to ``goflow-daemon-grpc`` is the engine."""
from __future__ import annotations

import asyncio
import json

from ._common import TIMEOUT
from ._direct import _result, _workload

__all__ = ["run_limit_grpc"]


def run_limit_grpc(cfg: dict) -> dict:
    import grpc
    from goflow.proto import worker_pb2
    from goflow.transports.grpc import from_struct, parse_endpoint, perform_request

    async def main() -> dict:
        target = parse_endpoint(f"{cfg['url']}/x")[0]
        async with grpc.aio.insecure_channel(target) as channel:
            calls: dict = {}

            async def call(url, body, hdrs):
                method = parse_endpoint(url)[1]
                rpc = calls.get(method)
                if rpc is None:
                    rpc = calls[method] = channel.unary_unary(method)
                raw = await rpc(perform_request(json.loads(body)).SerializeToString(), timeout=TIMEOUT,
                                metadata=(("idempotency-key", hdrs["Idempotency-Key"]),))
                return from_struct(worker_pb2.PerformResponse.FromString(raw).output)

            return await _workload(cfg, call, "limit")

    return _result(cfg, asyncio.run(main()), "perf_counter in the client: workflow submitted -> last "
                                             "answer read (all submitted at once)")
