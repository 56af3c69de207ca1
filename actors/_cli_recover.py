"""Management commands of SPEC §8 against the running daemon: ``retry``, ``rewind`` and ``wait``.
Each takes ``--port``/``--config`` (where the daemon is) and ``--json``; a refusal is one line on
stderr and exit status 1 (the instance unchanged)."""
from __future__ import annotations

import click

from goflow.fsm import STATUSES

from ._cli_shared import config_option, connect, emit, json_option, load, one_line_errors, port_option

__all__ = ["retry", "rewind", "wait"]


def _said(iid: str, what: str, res: dict) -> str:
    return f"{iid}: {what}; now {res.get('status', '?')} in state {res.get('state', '?')}"


@click.command()
@click.argument("instance_id", metavar="ID")
@config_option
@port_option
@json_option
@one_line_errors
def retry(instance_id, config_path, port, as_json) -> None:
    """Retry failed instance ID: run the step it failed in again, as a new step."""
    with connect(load(config_path, daemon_port=port)) as eng:
        res = eng.retry(instance_id, by="cli")
    emit(res, as_json, _said(instance_id, "retried", res))


@click.command()
@click.argument("instance_id", metavar="ID")
@click.option("--to", "target", required=True, metavar="STATE", help="A state the instance has visited.")
@config_option
@port_option
@json_option
@one_line_errors
def rewind(instance_id, target, config_path, port, as_json) -> None:
    """Rewind instance ID (failed, terminated or waiting) to STATE and deliver 'start' there."""
    with connect(load(config_path, daemon_port=port)) as eng:
        res = eng.rewind(instance_id, target, by="cli")
    emit(res, as_json, _said(instance_id, f"rewound to {target}", res))


@click.command()
@click.argument("instance_id", metavar="ID")
@click.option("--state", default=None, metavar="STATE", help="Until it is in this state.")
@click.option("--status", "status_", type=click.Choice(STATUSES), default=None, help="Until it has this status.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Give up after this long (exit 1).")
@config_option
@port_option
@json_option
@one_line_errors
def wait(instance_id, state, status_, timeout, config_path, port, as_json) -> None:
    """Wait until instance ID is in --state or has --status (any of those given), or has ended
    (without conditions: until it has ended). The daemon answers when it holds: no polling."""
    with connect(load(config_path, daemon_port=port)) as eng:
        st = eng.wait(instance_id, timeout, state=state, status=status_)
    emit(st, as_json, f"{instance_id}: {st['status']} in state {st['state']}"
                      + (f" (result {st['result']})" if st.get("result") else ""))
