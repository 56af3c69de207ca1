"""goflow.ports.unused_port: a free port of 127.0.0.1 below the kernel's ephemeral range (where no
``bind(0)``, listener or outgoing connection of any process is given one by the kernel)."""
from __future__ import annotations

import socket

from goflow import ports


def test_the_port_is_free_and_below_the_ephemeral_range():
    low, _high = ports.ephemeral_range()
    port = ports.unused_port("127.0.0.1")
    assert ports.LOWEST <= port < low
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))        # free: binding it works


class Scripted:
    """A random source that draws the given ports in order."""

    def __init__(self, *draws):
        self.draws = list(draws)

    def randrange(self, start, stop):
        value = self.draws.pop(0)
        assert start <= value < stop
        return value


def test_a_port_in_use_is_skipped():
    with socket.socket() as held:
        held.bind(("127.0.0.1", ports.unused_port("127.0.0.1")))
        held.listen(1)
        taken = held.getsockname()[1]
        other = ports.unused_port("127.0.0.1")
        assert other != taken
        assert ports.unused_port("127.0.0.1", rng=Scripted(taken, other)) == other
