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
import select
import subprocess
import sys
import os

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


class GrpcWorkerServer:
    """Start/stop the server process; ``url`` is the base for workers, ``count()`` the calls served."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 15.0) -> "GrpcWorkerServer":
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen([sys.executable, "-c", "from benchmarks._grpc_server import serve; serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            raise RuntimeError(f"the gRPC worker server did not start within {timeout:g} s")
        self.port = int(self.proc.stdout.readline())
        return self

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}/{SERVICE}"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def count(self) -> int:
        import grpc

        from goflow.proto import worker_pb2
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            call = channel.unary_unary("/bench.Count/Get", request_serializer=worker_pb2.PerformRequest.SerializeToString,
                                       response_deserializer=worker_pb2.PerformResponse.FromString)
            return int(call(worker_pb2.PerformRequest(), timeout=10).output["count"])

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(5)
        except (subprocess.TimeoutExpired, OSError):
            proc.kill()
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
