"""The gRPC worker server of ``benchmarks.grpc_bench``: a minimal grpc.aio server in its own process on
127.0.0.1 (ephemeral port), the gRPC twin of :mod:`benchmarks._server`.

Any method of the service ``bench.Work`` (``/bench.Work/<action>``: the endpoints
``grpc://127.0.0.1:<port>/bench.Work/<action>`` that ``http_flow(url="grpc://.../bench.Work")`` makes)
takes a ``PerformRequest`` and answers ``PerformResponse(output={"ok": true, "n": <count>})``: no event,
so GoFlow's outcome is ``success``. ``/bench.Count/Get`` answers the number of calls served so far in
``output.count``. The process stops when its standard input closes.
"""
from __future__ import annotations

import asyncio
import sys

from ._server import WorkerServer

__all__ = ["serve", "GrpcWorkerServer", "SERVICE"]

SERVICE = "bench.Work"


def serve() -> None:
    import grpc

    from goflow.proto import worker_pb2

    served = [0]

    async def work(request, context):
        served[0] += 1
        out = worker_pb2.PerformResponse()
        out.output.update({"ok": True, "n": served[0]})
        return out

    async def count(request, context):
        out = worker_pb2.PerformResponse()
        out.output.update({"count": served[0]})
        return out

    handler = grpc.unary_unary_rpc_method_handler(work, request_deserializer=worker_pb2.PerformRequest.FromString,
                                                  response_serializer=worker_pb2.PerformResponse.SerializeToString)
    counter = grpc.unary_unary_rpc_method_handler(count, request_deserializer=worker_pb2.PerformRequest.FromString,
                                                  response_serializer=worker_pb2.PerformResponse.SerializeToString)

    class Any(grpc.GenericRpcHandler):
        def service(self, details):
            if details.method.startswith(f"/{SERVICE}/"):
                return handler
            return counter if details.method == "/bench.Count/Get" else None

    async def main() -> None:
        server = grpc.aio.server(handlers=[Any()], options=[("grpc.so_reuseport", 0)])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
        await done
        await server.stop(0)

    asyncio.run(main())


class GrpcWorkerServer(WorkerServer):
    """Start/stop the gRPC server process; ``url`` is the base for workers, ``count()`` the calls served."""

    module = "benchmarks._grpc_server"
    what = "the gRPC worker server"

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}/{SERVICE}"

    def count(self) -> int:
        import grpc

        from goflow.proto import worker_pb2
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            call = channel.unary_unary("/bench.Count/Get", request_serializer=worker_pb2.PerformRequest.SerializeToString,
                                       response_deserializer=worker_pb2.PerformResponse.FromString)
            return int(call(worker_pb2.PerformRequest(), timeout=10).output["count"])
