"""503 when the engine is unavailable or does not answer in time, and reconnecting afterwards: the
application of actors/http_routes.py served on 127.0.0.1 over an Engine stand-in (no daemon needed)."""
from __future__ import annotations

import asyncio

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from goflow.errors import RequestTimeout, RuntimeUnavailable
from testkit import free_port


class SlowEngine:
    def send_many(self, items):
        raise RequestTimeout("no reply from the engine within 30s (Batch, 0/1 answered)")

    def pids(self):
        raise RequestTimeout("no reply from the engine within 30s (Query, 0/1 answered)")

    def status(self, iid):
        return {"id": iid, "status": "waiting"}

    def close(self):
        pass


def test_engine_unavailable_or_slow_is_503_and_the_api_reconnects():
    from actors.bridge import EngineBridge
    from actors.http_routes import make_app
    from actors.http_security import Guard
    attempts = []

    def connect(port, timeout):
        attempts.append(port)
        if len(attempts) == 1:
            raise RuntimeUnavailable(f"no GoFlow daemon is running on 127.0.0.1:{port} (nothing listens there)")
        return SlowEngine()

    async def scenario():
        bridge = EngineBridge(1, connect=connect)
        port = free_port()
        server = TestServer(make_app(bridge, Guard("t0ken", "127.0.0.1", port)), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            async with ClientSession(str(server.make_url("")), headers={"Authorization": "Bearer t0ken"}) as s:
                async with s.get("/instances/a") as r:            # no daemon: 503
                    first = r.status, await r.json()
                async with s.get("/instances/a") as r:            # attaches again, and answers
                    second = r.status, await r.json()
                async with s.post("/instances/a/events", json={"event": "go"}) as r:   # no answer in time
                    third = r.status, await r.json()
                async with s.get("/health") as r:
                    fourth = r.status
        finally:
            await server.close()
            bridge.close()
        return first, second, third, fourth

    first, second, third, fourth = asyncio.run(scenario())
    assert first[0] == 503 and first[1]["error"]["type"] == "RuntimeUnavailable"
    assert "nothing listens there" in first[1]["error"]["message"]
    assert second == (200, {"id": "a", "status": "waiting"})
    assert third[0] == 503 and third[1]["error"]["type"] == "RequestTimeout"
    assert fourth == 503                                           # /health says so too
    assert len(attempts) == 3          # refused; attached; attached again after the timeout dropped it
