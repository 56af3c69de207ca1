"""The console's session (SPEC §10 "Authentication", Jupyter's convention): ``/ui/?token=<token>``
is swapped for a cookie and a redirect that drops the token from the URL.

* The cookie ``goflow_console`` holds an HMAC of the daemon's token (never the token itself):
  ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends it), ``Path=/ui/``,
  ``Secure`` under TLS. Changing the token (docs/http_api.md) ends every session.
* Every console POST (a state-changing request) must carry ``Origin`` and it must be the API's own
  (the guard of :mod:`actors.http_security` checks a present one; here a missing one is refused too),
  and the form's ``csrf`` field (another HMAC of the token), so a cross-site form post fails even in a
  browser that sends no ``Origin``.
* A missing, wrong or stale cookie, or a wrong ``?token=``, is the login page (401), never an error
  trace.
"""
from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

__all__ = ["COOKIE", "PREFIX", "is_console", "session_value", "csrf_value", "has_session", "login_response",
           "set_session", "check_post"]

COOKIE = "goflow_console"
PREFIX = "/ui"


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _mac(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), f"goflow-console-{purpose}".encode(), hashlib.sha256).hexdigest()


def session_value(token: str) -> str:
    return _mac(token, "session")


def csrf_value(token: str) -> str:
    return _mac(token, "csrf")


def has_session(request: web.Request, token: str) -> bool:
    given = request.cookies.get(COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), session_value(token).encode())


def set_session(response: web.StreamResponse, token: str, secure: bool) -> None:
    response.set_cookie(COOKIE, session_value(token), path=PREFIX + "/", httponly=True, samesite="Strict",
                        secure=secure)


def login_response(render, message: str | None, status: int = 401) -> web.Response:
    return render("login.html", {"title": "Sign in", "message": message}, status=status, signed_in=False)


class Refused(Exception):
    """A console POST refused before it reaches the engine (status, message)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def check_post(request: web.Request, form, token: str) -> None:
    """A state-changing console request: ``Origin`` present (the guard checked that a present one is
    the API's own) and the form's ``csrf`` right."""
    if request.headers.get("Origin") is None:
        raise Refused(403, "a console form must be sent by a browser with an Origin header (cross-site "
                           "request protection)")
    given = str(form.get("csrf", ""))
    if not hmac.compare_digest(given.encode(), csrf_value(token).encode()):
        raise Refused(403, "the form's protection field is missing or stale; reload the page")
