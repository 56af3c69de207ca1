"""The instance page's buttons: ``POST /ui/instances/{id}/{action}`` with a form (send an event with
JSON data, pause, resume, terminate, retry, rewind). Checked by :func:`actors.console.session.check_post`
(Origin, the form's csrf field), then one engine call through the API's bridge. Success: a redirect to
the instance page (303, so a reload does not post again). Refused (bad JSON, an unknown instance, an
event the state does not take, ...): the instance page again, with the error the HTTP API would give
(its type, message and status) and the form as it was sent; nothing changed."""
from __future__ import annotations

import json

from aiohttp import web

from goflow.errors import GoflowError, InvalidInput

from ..http_errors import BadRequest, error_body, status_for
from . import session
from .pages import Console, gate, instance_context
from .session import Refused

__all__ = ["act", "ACTIONS"]

ACTIONS = ("events", "pause", "resume", "terminate", "retry", "rewind")
MAX_FIELD = 64 * 1024 + 4096     # a form field (the event's JSON data) at most: limits.event_bytes + room


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _operation(action: str, iid: str, form):
    """The engine call of ``action`` (raises BadRequest for a bad form)."""
    if action == "events":
        event = _text(form, "event").strip()
        if not event:
            raise BadRequest("the event's name is empty")
        raw = _text(form, "data").strip()
        try:
            data = json.loads(raw) if raw else None
        except ValueError as exc:
            raise BadRequest(f"the event's data is not JSON: {exc}") from None
        return lambda eng: eng.send(iid, event, data)
    if action == "terminate":
        reason = _text(form, "reason").strip() or "terminated from the console"
        return lambda eng: eng.terminate(iid, reason)
    if action == "retry":
        return lambda eng: eng.retry(iid, by="console")
    if action == "rewind":
        to = _text(form, "to").strip()
        if not to:
            raise BadRequest("choose the state to rewind to")
        return lambda eng: eng.rewind(iid, to, by="console")
    return lambda eng: getattr(eng, action)(iid)


@gate
async def act(request: web.Request, c: Console) -> web.StreamResponse:
    iid, action = request.match_info["id"], request.match_info["action"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    form = await request.post()
    try:
        session.check_post(request, form, c.token)
    except Refused as exc:
        return c.render("error.html", {"title": "Refused", "error": {"type": "Forbidden", "message": str(exc)}},
                        exc.status)
    try:
        if any(len(v) > MAX_FIELD for v in form.values() if isinstance(v, str)):
            raise BadRequest("a form field is over the size limit", 413, "PayloadTooLarge")
        await c.call(_operation(action, iid, form))
    except (GoflowError, InvalidInput) as exc:
        return await _refused(c, iid, action, form, exc)
    raise web.HTTPSeeOther(f"/ui/instances/{_quote(iid)}?done={action}")


async def _refused(c: Console, iid: str, action: str, form, exc: BaseException) -> web.Response:
    try:
        ctx = await instance_context(c, iid)
    except GoflowError as missing:            # an unknown instance: the error page says so
        return c.error(missing, f"Instance {iid}")
    ctx.update(done=None, problem=error_body(exc)["error"] | {"action": action, "status": status_for(exc)},
               form={k: _text(form, k) for k in ("event", "data", "reason", "to")})
    return c.render("instance.html", ctx, status_for(exc))


def _quote(s: str) -> str:
    from urllib.parse import quote
    return quote(s, safe="")
