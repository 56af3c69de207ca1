"""A TCP port on a local address for a server that a test or a helper starts later (the picked port is
released, then bound again by that server).

The kernel hands out ports of its ephemeral range (Linux: ``net.ipv4.ip_local_port_range``) to every
``bind(("...", 0))`` and to the source side of every outgoing connection. A port picked in that range
and released can be taken before the server binds it -- by a Thespian actor's listener, by a client's
connection, or by a connection to that very port while nothing listens on it (a TCP self-connect) --
and the server's first client then meets another program. :func:`unused_port` therefore picks below
that range, where the kernel never assigns a port by itself, and checks that the port is free now.
"""
from __future__ import annotations

import random
import socket

__all__ = ["unused_port", "ephemeral_range"]

RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
LOWEST = 10000                  # below: well-known and commonly configured ports
DEFAULT_EPHEMERAL = (32768, 60999)


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux); the Linux default where it cannot be read."""
    try:
        with open(RANGE_FILE) as f:
            low, high = (int(v) for v in f.read().split())
        return low, high
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def unused_port(host: str = "127.0.0.1", rng: random.Random | None = None, tries: int = 200) -> int:
    """A port of ``host`` that nothing binds now, outside the kernel's ephemeral range; an ephemeral one
    (the kernel's choice) when that range leaves no room below it or no port there is free."""
    rng = rng or random.SystemRandom()
    low = ephemeral_range()[0]
    if low - LOWEST >= 1000:
        for _ in range(tries):
            port = rng.randrange(LOWEST, low)
            if _bindable(host, port):
                return port
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
