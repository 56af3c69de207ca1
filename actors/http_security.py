"""The HTTP API's guard (SPEC §10; docs/http_api.md "Security"): one aiohttp middleware that checks,
in this order, before any handler runs:

1. ``Host`` is one of the names the API answers to (the bound address, ``localhost``; when bound to a
   wildcard address, also any IP literal and this machine's host names) with the bound port: else
   403 ``ForbiddenHost`` — a DNS-rebinding page sends its own host name;
2. ``Origin``, when sent, is the API's own (its scheme, an allowed host, its port): else 403
   ``ForbiddenOrigin`` — a cross-site page's request;
3. ``Authorization: Bearer <token>`` matches the daemon's token (constant-time), except for the open
   paths ``/health`` and ``/openapi.json``: else 401 ``Unauthorized``;
4. a POST with a body (or with any ``Content-Type``) says ``application/json``: else 415
   ``UnsupportedMediaType`` — a no-cors ``text/plain`` form post never reaches a handler.

The console's paths (``/ui``, ``/ui/...``) pass checks 1 and 2 here; instead of 3 and 4 the console
checks its own session cookie, the ``Origin`` of every POST and a form field (:mod:`actors.console.session`).
"""
from __future__ import annotations

import ipaddress
import socket

from aiohttp import web

from goflow.auth import matches

from .console.session import is_console
from .http_errors import BadRequest

__all__ = ["OPEN_PATHS", "Guard", "split_host"]

OPEN_PATHS = frozenset({"/health", "/openapi.json"})
_WILDCARDS = {"", "0.0.0.0", "::"}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="goflow"'}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port or None)`` of a ``Host`` value (``name``, ``name:port``, ``[v6]:port``), name
    lower-cased without a trailing dot; None when it is not one."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[1:end], value[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    else:
        if value.count(":") > 1:
            return None
        name, _sep, port = value.partition(":")
        port = port if _sep else None
    if port is not None and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        return None
    name = name.rstrip(".")
    return (name, int(port) if port is not None else None) if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    """The checks of one API server: ``token`` (the daemon's), the bound ``address`` and ``port``,
    and whether it serves TLS (the scheme of its own origin)."""

    def __init__(self, token: str, address: str, port: int, *, tls: bool = False):
        if not token:
            raise ValueError("the HTTP API needs a token")
        self.token, self.port, self.tls = token, port, tls
        self.scheme = "https" if tls else "http"
        bound = (address or "").strip("[]").lower()
        self.wildcard = bound in _WILDCARDS
        self.names = {bound, "localhost"} - {""}
        if bound == "localhost":
            self.names |= {"127.0.0.1", "::1"}
        if not _loopback(bound):        # reachable from other machines: by this machine's names too
            self.names |= {socket.gethostname().lower(), socket.getfqdn().lower()}

    # ---------------------------------------------------------------------------------- checks
    def host_allowed(self, name: str, port: int | None) -> bool:
        if port is None:
            port = 443 if self.tls else 80
        if port != self.port:
            return False
        return name in self.names or (self.wildcard and _is_ip(name))

    def check_host(self, request: web.Request) -> None:
        raw = request.headers.get("Host")
        parsed = split_host(raw) if raw is not None else None
        if parsed is None or not self.host_allowed(*parsed):
            raise BadRequest(f"the Host {raw!r} is not this API's address (the bound address or localhost, "
                             f"port {self.port}); DNS-rebinding protection", 403, "ForbiddenHost")

    def check_origin(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is None:
            return
        scheme, sep, rest = origin.strip().partition("://")
        parsed = split_host(rest) if sep and "/" not in rest else None
        if parsed is None or scheme.lower() != self.scheme or not self.host_allowed(*parsed):
            raise BadRequest(f"the Origin {origin!r} is not this API's own; cross-site requests are refused",
                             403, "ForbiddenOrigin")

    def check_token(self, request: web.Request) -> None:
        if request.path in OPEN_PATHS or is_console(request.path):
            return
        scheme, _sep, given = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise BadRequest("this request needs the API token: 'Authorization: Bearer <token>' (the file "
                             "api.token in the daemon's data directory)", 401, "Unauthorized", headers=_CHALLENGE)
        if not matches(self.token, given.strip()):
            raise BadRequest("the API token is wrong", 401, "Unauthorized", headers=_CHALLENGE)

    @staticmethod
    def check_content_type(request: web.Request) -> None:
        if request.method != "POST" or is_console(request.path):
            return
        declared = request.headers.get("Content-Type")
        if declared is None and not request.body_exists:
            return                              # an empty POST (pause, resume): nothing to parse
        if declared is None or request.content_type != "application/json":
            raise BadRequest(f"a request body must be 'Content-Type: application/json', not "
                             f"{declared or 'undeclared'!r}", 415, "UnsupportedMediaType")

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        self.check_host(request)
        self.check_origin(request)
        self.check_token(request)
        self.check_content_type(request)
        return await handler(request)


def _loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
