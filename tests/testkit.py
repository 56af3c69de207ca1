"""Helpers shared by the test suites that run real processes: bounded polling, process liveness,
free ports, and the TCP sockets a process listens on (read from /proc, independent of the code under
test)."""
from __future__ import annotations

import os
import socket
import time

__all__ = ["poll", "alive", "free_port", "listening", "is_loopback", "LOOPBACK_HEX", "with_environment"]

# 127.0.0.1 in /proc/net/tcp, ::1 and ::ffff:127.0.0.1 in /proc/net/tcp6
LOOPBACK_HEX = frozenset({"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"})


def poll(predicate, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Call ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {value!r})")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening(pid: int) -> list[tuple[str, int, str]]:
    """``(address hex, port, family)`` of every TCP socket of ``pid`` in state LISTEN."""
    inodes = _socket_inodes(pid)
    out = []
    for family in ("tcp", "tcp6"):
        try:
            f = open(f"/proc/{pid}/net/{family}")
        except OSError:
            continue
        with f:
            next(f)
            for line in f:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "0A" and inode in inodes:          # 0A = LISTEN
                    addr, port = local.split(":")
                    out.append((addr, int(port, 16), family))
    return out


def is_loopback(addr_hex: str) -> bool:
    return addr_hex in LOOPBACK_HEX


def with_environment(entry: str) -> list[int]:
    """Live processes (other than this one) whose environment holds ``entry`` (``"NAME=value"``):
    tests mark every process they start this way, so a leak is found even where no pid was named."""
    needle = entry.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if needle in environ.split(b"\0") and alive(int(name)):
            found.append(int(name))
    return found
