"""``http_api.spawn`` returns only once the process it started listens: when another program already
holds the port (here a listener that accepts and closes, as a Thespian actor does with bytes it cannot
read), the API cannot bind it and spawn says so, instead of returning a pid whose first request meets
the other program ("server disconnected")."""
from __future__ import annotations

import socket
import threading

import httpx
import pytest

from http_api_support import free_port


class Squatter:
    """A listener on 127.0.0.1 (a free port) that reads what each connection sends (one request) and
    closes it unanswered (read first: closing with unread bytes would reset it instead)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", free_port()))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(10)


def test_a_port_held_by_another_program_is_an_error_not_a_pid(stack):
    from actors.http_api import spawn
    from goflow.errors import RuntimeUnavailable
    squatter = Squatter()
    try:
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):   # what a client meets there
            httpx.get(f"http://127.0.0.1:{squatter.port}/health", timeout=10)
        with pytest.raises(RuntimeUnavailable, match="did not start"):
            spawn(stack.port, squatter.port, "127.0.0.1", data_dir=stack.data, log_path=stack.log,
                  event_bytes=65536, env=stack.procs.env())
    finally:
        squatter.close()
    assert f"cannot listen on 127.0.0.1:{squatter.port} for the HTTP API" in open(stack.log).read()
