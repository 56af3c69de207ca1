"""Management commands against the running daemon: ``start``, ``send``, ``status``, ``history``,
``list``, ``pause``, ``resume``, ``terminate``. Each takes ``--port``/``--config`` (where the daemon
is) and ``--json``."""
from __future__ import annotations

import json
import time

import click

from goflow.fsm import STATUSES
from goflow.ids import check_blueprint, check_id, check_optional_id
from goflow.paging import DEFAULT_LIMIT, MAX_LIMIT, ORDERS

from ._cli_shared import config_option, connect, emit, json_arg, json_option, load, one_line_errors, port_option

__all__ = ["start", "send", "status", "history", "list_instances", "pause", "resume", "terminate"]


def _client(config_path, port, instance_id: str | None = None):
    """A client Engine of the daemon named by the options (a context manager: closed on exit); the
    instance id given is checked first (the identifier rule), before anything is attempted."""
    if instance_id is not None:
        check_id(instance_id)
    return connect(load(config_path, daemon_port=port))


def _when(t) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if isinstance(t, (int, float)) else "-"


def _paging(fn):
    """--limit, --order and --cursor: one page of a listing (goflow.paging)."""
    fn = click.option("--cursor", default=None, metavar="CURSOR",
                      help="Go on after a previous page (its 'next'; give the same --order).")(fn)
    fn = click.option("--order", type=click.Choice(ORDERS), default="latest", show_default=True,
                      help="latest first or oldest first.")(fn)
    return click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=DEFAULT_LIMIT, show_default=True,
                        help=f"At most this many (1 to {MAX_LIMIT}).")(fn)


def _next_line(page) -> list[str]:
    return [f"(more: the same command with --cursor {page.next})"] if page.next else []


@click.command()
@click.argument("blueprint", metavar="PROJECT/ACTIVITY")
@click.option("--version", "version", type=int, default=None, help="Blueprint version (default: the latest).")
@click.option("--input", "input_json", default=None, metavar="JSON|@FILE", help="The instance's input, a JSON object.")
@click.option("--id", "instance_id", default=None, help="The instance id (default: a random one).")
@config_option
@port_option
@json_option
@one_line_errors
def start(blueprint, version, input_json, instance_id, config_path, port, as_json) -> None:
    """Start an instance of PROJECT/ACTIVITY; prints its id."""
    check_blueprint(blueprint)
    if instance_id is not None:
        check_id(instance_id)
    cfg = load(config_path, daemon_port=port)
    data = json_arg(input_json, "--input", cfg.limits.event_bytes) or {}
    with connect(cfg) as eng:
        iid = eng.start(blueprint, data, id=instance_id, version=version)
    emit({"id": iid}, as_json, iid)


@click.command()
@click.argument("instance_id", metavar="ID")
@click.argument("event")
@click.option("--data", "data_json", default=None, metavar="JSON|@FILE", help="The event's data (JSON).")
@click.option("--event-id", default=None, help="An id for de-duplication: a repeated id is applied once.")
@config_option
@port_option
@json_option
@one_line_errors
def send(instance_id, event, data_json, event_id, config_path, port, as_json) -> None:
    """Send EVENT to instance ID; returns once the event is durable."""
    check_id(instance_id)
    check_optional_id(event_id, "event id")
    cfg = load(config_path, daemon_port=port)
    data = json_arg(data_json, "--data", cfg.limits.event_bytes, want_object=False)
    with connect(cfg) as eng:
        res = eng.send(instance_id, event, data, event_id=event_id)
    if res.get("duplicate"):
        text = (f"{instance_id}: {event} is a duplicate: event id {event_id!r} was already applied, so it was "
                f"not applied again; in state {res.get('state')} ({res.get('status')})")
    else:
        text = f"{instance_id}: {event} applied; now in state {res.get('state')} ({res.get('status')})"
    emit(res, as_json, text)


@click.command()
@click.argument("instance_id", metavar="ID")
@config_option
@port_option
@json_option
@one_line_errors
def status(instance_id, config_path, port, as_json) -> None:
    """The status of instance ID: blueprint, status, state, context."""
    with _client(config_path, port, instance_id) as eng:
        st = eng.status(instance_id)

    def text() -> str:
        from ._cli_shared import to_json
        lines = [f"id:        {st['id']}",
                 f"blueprint: {st['project']}/{st['activity']}@{st['version']}",
                 *([f"parent:    {st['parent']['id']} (step {st['parent']['step']}, item {st['parent']['index']})"]
                   if st.get("parent") else []),
                 f"status:    {st['status']}" + (f" ({st['reason']})" if st.get("reason") else ""),
                 f"state:     {st['state']}"]
        if st.get("result"):
            lines.append(f"result:    {st['result']}")
        if st.get("postponed"):
            lines.append(f"postponed: {', '.join(st['postponed'])}")
        lines += [f"step:      {st.get('step')}", f"updated:   {_when(st.get('updated'))}"]
        if st.get("pending"):
            p = st["pending"]
            lines.append(f"pending:   {p.get('kind')} {p.get('action')} (step {p.get('step')})")
        lines.append("context:   " + to_json(st.get("context")).replace("\n", "\n           "))
        return "\n".join(lines)
    emit(st, as_json, text)


@click.command()
@click.argument("instance_id", metavar="ID")
@_paging
@config_option
@port_option
@json_option
@one_line_errors
def history(instance_id, limit, order, cursor, config_path, port, as_json) -> None:
    """The history of instance ID: one record per transition, worker attempt and outcome; the
    latest --limit records (default 50), latest first unless --order oldest."""
    with _client(config_path, port, instance_id) as eng:
        page = eng.history(instance_id, limit=limit, order=order, cursor=cursor)

    def text() -> str:
        out = []
        for r in page:
            fields = [f"{k}={r[k]}" for k in ("state", "event", "action", "next", "step", "attempt",
                                              "endpoint", "outcome") if r.get(k) is not None]
            detail = r.get("detail")            # a failure's reason, an attempt's error, ...
            if isinstance(detail, dict):        # (an attempt's trace context is for --json)
                detail = {k: v for k, v in detail.items() if k != "traceparent"} or None
            if detail is not None:
                text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
                fields.append(f"detail={' '.join(text.split())}")
            out.append(f"{_when(r.get('time'))} " + " ".join(fields))
        return "\n".join(out + _next_line(page)) or "(no records)"
    emit({"id": instance_id, "history": list(page), "next": page.next}, as_json, text)


@click.command("list")
@click.option("--blueprint", default=None, metavar="PROJECT/ACTIVITY", help="Only instances of this blueprint.")
@click.option("--status", "status_", type=click.Choice(STATUSES + ("quarantined",)), default=None,
              help="Only instances with this status.")
@click.option("--end-state", "end_state", default=None, metavar="STATE",
              help="Only instances that ended in this end state (done, or one of the flow's 'end').")
@click.option("--parent", default=None, metavar="ID", help="Only the child instances of this instance.")
@_paging
@config_option
@port_option
@json_option
@one_line_errors
def list_instances(blueprint, status_, end_state, parent, limit, order, cursor, config_path, port, as_json) -> None:
    """List instances by blueprint, status, end state and parent, one page (newest first unless --order oldest)."""
    if blueprint is not None:
        check_blueprint(blueprint, "--blueprint")
    with _client(config_path, port) as eng:
        page = eng.list(blueprint, status_, limit=limit, order=order, cursor=cursor, end_state=end_state,
                        parent=parent)

    def text() -> str:
        out = [f"{'ID':34} {'BLUEPRINT':28} {'STATUS':10} STATE"]
        for r in page:
            out.append(f"{r['id']:34} {r['project'] + '/' + r['activity'] + '@' + str(r['version']):28} "
                       f"{r['status']:10} {r['state']}")
        return "\n".join(out + _next_line(page))
    emit({"instances": list(page), "next": page.next}, as_json, text)


def _management(op: str, doc: str):
    @click.command(op)
    @click.argument("instance_id", metavar="ID")
    @config_option
    @port_option
    @json_option
    @one_line_errors
    def command(instance_id, config_path, port, as_json, **kw) -> None:
        with _client(config_path, port, instance_id) as eng:
            fn = getattr(eng, op)
            res = fn(instance_id, kw["reason"], force=kw["force"]) if op == "terminate" else fn(instance_id)
        res = res if isinstance(res, dict) else {"id": instance_id, "result": res}
        done = "cancel delivered" if op == "terminate" and res.get("status") != "terminated" else f"{op}d"
        emit(res, as_json, f"{instance_id}: {done}; now {res.get('status', '?')} in state {res.get('state', '?')}")
    command.__doc__ = doc
    command.help = doc
    if op == "terminate":
        command = click.option("--reason", default=None, help="Why (kept as the instance's reason).")(command)
        command = click.option("--force", is_flag=True, default=False,
                               help="End it at once, without delivering 'cancel' to its state.")(command)
    return command


pause = _management("pause", "Pause instance ID: no new step starts; events are kept for resume.")
resume = _management("resume", "Resume instance ID: apply what was kept and go on.")
terminate = _management("terminate", "Terminate instance ID: its state's 'cancel' transition runs first "
                                     "when it has one (compensation); else, or with --force, it ends at once.")
