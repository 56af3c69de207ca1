"""Management commands against the running daemon: ``start``, ``send``, ``status``, ``history``,
``list``, ``pause``, ``resume``, ``terminate``. Each takes ``--port``/``--config`` (where the daemon
is) and ``--json``."""
from __future__ import annotations

import time

import click

from goflow.fsm import STATUSES

from ._cli_shared import config_option, connect, emit, json_arg, json_option, load, one_line_errors, port_option

__all__ = ["start", "send", "status", "history", "list_instances", "pause", "resume", "terminate"]


def _client(config_path, port):
    """A client Engine of the daemon named by the options (a context manager: closed on exit)."""
    return connect(load(config_path, daemon_port=port))


def _when(t) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if isinstance(t, (int, float)) else "-"


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
    cfg = load(config_path, daemon_port=port)
    data = json_arg(data_json, "--data", cfg.limits.event_bytes, want_object=False)
    with connect(cfg) as eng:
        res = eng.send(instance_id, event, data, event_id=event_id)
    dup = " (a duplicate event id: not applied again)" if res.get("duplicate") else ""
    emit(res, as_json, f"{instance_id}: {event} accepted; now in state {res.get('state')} "
                       f"({res.get('status')}){dup}")


@click.command()
@click.argument("instance_id", metavar="ID")
@config_option
@port_option
@json_option
@one_line_errors
def status(instance_id, config_path, port, as_json) -> None:
    """The status of instance ID: blueprint, status, state, context."""
    with _client(config_path, port) as eng:
        st = eng.status(instance_id)

    def text() -> str:
        from ._cli_shared import to_json
        lines = [f"id:        {st['id']}",
                 f"blueprint: {st['project']}/{st['activity']}@{st['version']}",
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
@click.option("--limit", type=int, default=None, help="At most this many records (the latest).")
@config_option
@port_option
@json_option
@one_line_errors
def history(instance_id, limit, config_path, port, as_json) -> None:
    """The history of instance ID: one record per transition, worker attempt and outcome."""
    with _client(config_path, port) as eng:
        records = eng.history(instance_id, limit=limit)

    def text() -> str:
        out = []
        for r in records:
            fields = [f"{k}={r[k]}" for k in ("state", "event", "action", "next", "step", "attempt",
                                              "endpoint", "outcome") if r.get(k) is not None]
            out.append(f"{_when(r.get('time'))} " + " ".join(fields))
        return "\n".join(out) or "(no records)"
    emit(records, as_json, text)


@click.command("list")
@click.option("--blueprint", default=None, metavar="PROJECT/ACTIVITY", help="Only instances of this blueprint.")
@click.option("--status", "status_", type=click.Choice(STATUSES + ("quarantined",)), default=None,
              help="Only instances with this status.")
@click.option("--end-state", "end_state", default=None, metavar="STATE",
              help="Only instances that ended in this end state (done, or one of the flow's 'end').")
@click.option("--limit", type=int, default=100, show_default=True)
@config_option
@port_option
@json_option
@one_line_errors
def list_instances(blueprint, status_, end_state, limit, config_path, port, as_json) -> None:
    """List instances (newest first), by blueprint, status and end state."""
    with _client(config_path, port) as eng:
        rows = eng.list(blueprint, status_, limit=limit, end_state=end_state)

    def text() -> str:
        out = [f"{'ID':34} {'BLUEPRINT':28} {'STATUS':10} STATE"]
        for r in rows:
            out.append(f"{r['id']:34} {r['project'] + '/' + r['activity'] + '@' + str(r['version']):28} "
                       f"{r['status']:10} {r['state']}")
        return "\n".join(out)
    emit(rows, as_json, text)


def _management(op: str, doc: str):
    @click.command(op)
    @click.argument("instance_id", metavar="ID")
    @config_option
    @port_option
    @json_option
    @one_line_errors
    def command(instance_id, config_path, port, as_json, **kw) -> None:
        with _client(config_path, port) as eng:
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
