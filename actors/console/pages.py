"""The console's pages: the instances (counts, filters, search, pages), an instance (status, JSON,
drawing, timeline, actions), the blueprints and one blueprint. Every handler goes through
:func:`gate` (the session) and renders HTML; an engine error is shown as the page's error box with
the API's own error body and status, never a trace."""
from __future__ import annotations

import asyncio
import datetime as _dt
import json
from functools import wraps
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from goflow import drawing
from goflow.auth import matches
from goflow.errors import GoflowError
from goflow.fsm import FINAL_STATUSES, STATUSES
from goflow.paging import every

from ..http_errors import error_body, status_for
from . import session
from .session import Refused

__all__ = ["CONSOLE", "Console", "gate", "instances", "instance", "blueprints", "blueprint", "login", "logout",
           "filters", "PAGE"]

PAGE = 50                      # rows per page of the instances table
LIVE_MS = 1500                 # a running instance's page refreshes its live part this often


class Console:
    def __init__(self, app: web.Application, env: jinja2.Environment, token: str, tls: bool):
        self.app, self.env, self.token, self.tls = app, env, token, tls

    def render(self, name: str, ctx: dict, status: int = 200, *, signed_in: bool = True) -> web.Response:
        """The page ``name``; the form field ``csrf`` only for a signed-in operator."""
        from . import CSP
        page = self.env.get_template(name).render(csrf=session.csrf_value(self.token) if signed_in else "",
                                                  **ctx)
        return web.Response(text=page, status=status, content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                                     # same-origin, not no-referrer: with no-referrer Chromium sends
                                     # "Origin: null" on the forms' POSTs, which the guard refuses
                                     "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
                                     "X-Content-Type-Options": "nosniff"})

    def error(self, exc: BaseException, title: str, status: int | None = None) -> web.Response:
        return self.render("error.html", {"title": title, "error": error_body(exc)["error"]},
                           status or status_for(exc))

    async def call(self, fn):
        from ..http_routes import BRIDGE
        return await self.app[BRIDGE].call(fn)


CONSOLE: web.AppKey[Console] = web.AppKey("console", Console)


def gate(handler):
    """The session: a right cookie passes; a right ``?token=`` sets the cookie and redirects to the
    same URL without it; anything else is the login page."""
    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        c = request.app[CONSOLE]
        given = request.query.get("token")
        if given is not None:
            if not matches(c.token, given):
                return session.login_response(c.render, "That token is wrong (or was changed). Paste the "
                                                        "token from the daemon's api.token, or run `goflow console`.")
            rest = [(k, v) for k, v in request.query.items() if k != "token"]
            resp = web.HTTPSeeOther(request.path + (f"?{urlencode(rest)}" if rest else ""))
            session.set_session(resp, c.token, c.tls)
            return resp
        if not session.has_session(request, c.token):
            stale = session.COOKIE in request.cookies
            return session.login_response(c.render, "Your session has expired (the token changed)." if stale else None)
        return await handler(request, c)
    return wrapper


async def login(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    form = await request.post()
    if request.headers.get("Origin") is None:
        return session.login_response(c.render, "Refused: no Origin header (cross-site request protection).", 403)
    if not matches(c.token, str(form.get("token", "")).strip()):
        return session.login_response(c.render, "That token is wrong.")
    resp = web.HTTPSeeOther("/ui/")
    session.set_session(resp, c.token, c.tls)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    try:
        session.check_post(request, await request.post(), c.token)
    except Refused as exc:
        return c.render("error.html", {"title": "Refused", "error": {"type": "Forbidden", "message": str(exc)}},
                        exc.status)
    resp = web.HTTPSeeOther("/ui/")
    resp.del_cookie(session.COOKIE, path=session.PREFIX + "/")
    return resp


# ----------------------------------------------------------------------------------- instances
def _counts_table(counts: dict) -> tuple[list[str], list[tuple[str, dict, int]]]:
    by: dict[str, dict[str, int]] = {}
    for (project, activity, _version, status), n in counts.items():
        row = by.setdefault(f"{project}/{activity}", {})
        row[status] = row.get(status, 0) + n
    statuses = [s for s in STATUSES + ("quarantined",) if any(s in r for r in by.values())]
    return statuses, [(bp, row, sum(row.values())) for bp, row in sorted(by.items())]


@gate
async def instances(request: web.Request, c: Console) -> web.Response:
    q = request.query
    wanted = (q.get("id") or "").strip()
    blueprint, status, end_state = q.get("blueprint") or None, q.get("status") or None, q.get("end_state") or None
    problem = None
    if wanted:
        try:
            await c.call(lambda eng: eng.status(wanted))
            raise web.HTTPSeeOther(f"/ui/instances/{_quote(wanted)}")
        except GoflowError as exc:
            problem = error_body(exc)["error"]
    after = q.get("after") or None          # the cursor of the page (goflow.paging), not an offset
    try:
        counts = await c.call(lambda eng: eng.counts())
        rows = await c.call(lambda eng: eng.list(blueprint, status, limit=PAGE, cursor=after, end_state=end_state))
    except GoflowError as exc:
        return c.error(exc, "Instances")
    statuses, table = _counts_table(counts)
    base = {k: v for k, v in (("blueprint", blueprint), ("status", status), ("end_state", end_state)) if v}
    return c.render("instances.html", {
        "title": "Instances", "statuses": statuses, "counts": table, "rows": list(rows),
        "all_statuses": STATUSES + ("quarantined",), "blueprint": blueprint or "", "status": status or "",
        "end_state": end_state or "", "search": wanted, "problem": problem, "after": after,
        "next": f"/ui/?{urlencode({**base, 'after': rows.next})}" if rows.next else None,
        "first": f"/ui/?{urlencode(base)}" if after else None,
    }, 404 if problem else 200)


# ------------------------------------------------------------------------------------ instance
async def instance_context(c: Console, iid: str) -> dict:
    """Everything the instance page shows (raises the engine's error)."""
    st = await c.call(lambda eng: eng.status(iid))
    history = await c.call(lambda eng: list(every(eng.history, iid)))     # the whole timeline, page by page
    bp = _blueprint_of(await c.call(lambda eng: eng.blueprints()), st)
    visited, taken = drawing.path_taken(history)
    svg = await asyncio.get_running_loop().run_in_executor(
        None, lambda: drawing.to_svg(bp, st.get("state"), visited | {st.get("state")}, taken)) if bp else None
    final = st.get("status") in FINAL_STATUSES or st.get("status") == "quarantined"
    return {"title": f"Instance {iid}", "st": st, "history": _timeline(history), "svg": svg, "final": final,
            "visited": sorted(visited), "live_ms": LIVE_MS, "events": _events(bp, st.get("state"))}


@gate
async def instance(request: web.Request, c: Console) -> web.Response:
    iid = request.match_info["id"]
    try:
        ctx = await instance_context(c, iid)
    except GoflowError as exc:
        return c.error(exc, f"Instance {iid}")
    ctx.update(done=request.query.get("done"), problem=None, form={})
    if request.query.get("fragment") == "live":
        return c.render("instance_live.html", ctx)
    return c.render("instance.html", ctx)


def _timeline(history: list[dict]) -> list[dict]:
    """History records with ``kind`` (``attempt``, ``retry``, ``fallback`` or the FSM's outcome) set."""
    out, last = [], {}
    for r in history:
        r = dict(r)
        if r.get("attempt") is not None:
            prev = last.get(r.get("step"))
            r["kind"] = "attempt" if prev is None else ("retry" if prev == r.get("endpoint") else "fallback")
            last[r.get("step")] = r.get("endpoint")
            detail = r.get("detail") if isinstance(r.get("detail"), dict) else {}
            r["traceparent"] = detail.get("traceparent")
            outcome = str(r.get("outcome") or "")
            r["ok"] = outcome.startswith("2") or outcome == "OK"
        else:
            r["kind"] = r.get("outcome") or ""
            detail = r.get("detail")      # child workflows (SPEC §8): the child's id, drawn as a link
            if r["kind"] == "child-started" and isinstance(detail, str):
                r["child"] = detail
            elif r["kind"] == "child-ended" and isinstance(detail, dict):
                r["child"] = detail.get("child")
        out.append(r)
    return out


def _events(bp, state) -> list[str]:
    if bp is None:
        return []
    return sorted({t.event for t in bp.transitions if t.current == state and t.event})


def _blueprint_of(entries: list[tuple], st: dict):
    from goflow.loading import blueprint_from_document
    for project, activity, version, doc in entries:
        if (project, activity, version) == (st.get("project"), st.get("activity"), st.get("version")):
            try:
                return blueprint_from_document(doc)
            except GoflowError:      # no drawing rather than no page
                return None
    return None


def redacted(doc: dict) -> dict:
    """A blueprint document as the console shows it: worker endpoints through
    :func:`goflow.redact.redact_url`, every worker header value masked (docs/security.md, secrets)."""
    from goflow.redact import redact_url
    workers = []
    for w in doc.get("workers") or ():
        if isinstance(w, dict):
            w = dict(w)
            if isinstance(w.get("workerEndpoint"), str):
                w["workerEndpoint"] = redact_url(w["workerEndpoint"])
            if isinstance(w.get("headers"), dict):
                w["headers"] = {k: "***" for k in w["headers"]}
        workers.append(w)
    return {**doc, "workers": workers} if "workers" in doc else dict(doc)


# ---------------------------------------------------------------------------------- blueprints

@gate
async def blueprints(request: web.Request, c: Console) -> web.Response:
    try:
        entries = await c.call(lambda eng: eng.blueprints())
        counts = await c.call(lambda eng: eng.counts())
    except GoflowError as exc:
        return c.error(exc, "Blueprints")
    by: dict[tuple, dict] = {}
    for project, activity, version, _doc in entries:
        e = by.setdefault((project, activity), {"name": f"{project}/{activity}", "versions": [], "instances": 0})
        e["versions"].append(version)
    for (project, activity, _v, _s), n in counts.items():
        if (project, activity) in by:
            by[(project, activity)]["instances"] += n
    rows = sorted(by.values(), key=lambda e: e["name"])
    for e in rows:
        e["versions"].sort()
    return c.render("blueprints.html", {"title": "Blueprints", "rows": rows})


@gate
async def blueprint(request: web.Request, c: Console) -> web.Response:
    project, activity = request.match_info["project"], request.match_info["activity"]
    try:
        entries = await c.call(lambda eng: eng.blueprints())
        counts = await c.call(lambda eng: eng.counts(f"{project}/{activity}"))
    except GoflowError as exc:
        return c.error(exc, "Blueprint")
    versions = sorted((v, doc) for p, a, v, doc in entries if (p, a) == (project, activity))
    if not versions:
        from goflow.errors import BlueprintNotFound
        return c.error(BlueprintNotFound(project, activity, None), f"Blueprint {project}/{activity}")
    try:
        version = int(request.query.get("version", versions[-1][0]))
    except ValueError:
        version = versions[-1][0]
    doc = dict(versions)[version] if version in dict(versions) else versions[-1][1]
    svg, problems = await asyncio.get_running_loop().run_in_executor(None, _draw_document, doc)
    per_status: dict[str, int] = {}
    for (_p, _a, v, s), n in counts.items():
        if v == version:
            per_status[s] = per_status.get(s, 0) + n
    return c.render("blueprint.html", {
        "title": f"Blueprint {project}/{activity}", "project": project, "activity": activity,
        "versions": [v for v, _d in versions], "version": version, "svg": svg, "problems": problems,
        "per_status": sorted(per_status.items()), "document": redacted(doc)})


def _draw_document(doc: dict) -> tuple[str | None, list]:
    from goflow.loading import load_text
    result = load_text(json.dumps(doc), "catalog")
    problems = [{"level": p.level, "rule": p.rule, "message": p.message, "where": getattr(p, "path", "") or ""}
                for p in result.problems]
    svg = drawing.to_svg(result.blueprints[0]) if result.blueprints else None
    return svg, problems


# ------------------------------------------------------------------------------------- filters
def _quote(s: str) -> str:
    from urllib.parse import quote
    return quote(s, safe="")


def _when(t) -> str:
    if t is None:
        return ""
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _ms(v) -> str:
    return "" if v is None else f"{v * 1000:.1f} ms"


def filters() -> dict:
    return {"urlq": _quote, "when": _when, "ms": _ms,
            "pretty": lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str, sort_keys=True)}
