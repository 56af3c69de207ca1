"""The operator's console at ``/ui/`` on the HTTP API server (SPEC §10 "Console"; docs/console.md).

HTML rendered on the server (jinja2, autoescaped), hand-written CSS and JS served from ``/ui/static/``
(nothing from another host), read-only pages that work with JavaScript off. Modules: :mod:`.session`
(the cookie, login, POST checks), :mod:`.pages` (the pages), :mod:`.actions` (the buttons' POSTs).
The engine is reached through the API's :class:`actors.bridge.EngineBridge`, like every endpoint.
"""
from __future__ import annotations

from importlib import resources

import jinja2
from aiohttp import web

__all__ = ["setup", "CSP"]

# Only this origin's scripts and styles; inline SVG needs nothing more.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_STATIC = {"console.css": "text/css", "console.js": "text/javascript"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("actors.console", "templates"),
                             autoescape=True, trim_blocks=True,
                             lstrip_blocks=True)
    from .pages import filters
    env.filters.update(filters())
    return env


def setup(app: web.Application, token: str, *, tls: bool = False) -> None:
    """Add the console's routes to the API's ``app`` (whose bridge and data directory it uses)."""
    from . import actions, pages
    ctx = pages.Console(app, _environment(), token, tls)
    app[pages.CONSOLE] = ctx
    static = {name: resources.files("actors.console").joinpath("static", name).read_bytes() for name in _STATIC}

    async def serve_static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in static:
            raise web.HTTPNotFound()
        return web.Response(body=static[name], content_type=_STATIC[name],
                            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    async def to_slash(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ui/")

    app.router.add_get("/ui", to_slash)
    app.router.add_get("/ui/", pages.instances)
    app.router.add_post("/ui/login", pages.login)
    app.router.add_post("/ui/logout", pages.logout)
    app.router.add_get("/ui/static/{name}", serve_static)
    app.router.add_get("/ui/instances/{id}", pages.instance)
    app.router.add_post("/ui/instances/{id}/{action}", actions.act)
    app.router.add_get("/ui/blueprints", pages.blueprints)
    app.router.add_get("/ui/blueprints/{project}/{activity}", pages.blueprint)
