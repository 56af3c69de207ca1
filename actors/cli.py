"""The ``goflow`` console script: :mod:`goflow.cli`'s group plus the runtime commands.

``goflow/`` never imports the actors, so the commands that need the runtime (the daemon, the
management commands, ``run``) live here and are registered on the same lazy group. They are
imported only when they run (``goflow validate`` never loads Thespian).
"""
from __future__ import annotations

from goflow.cli import COMMANDS, main, register_command

__all__ = ["main", "RUNTIME_COMMANDS"]

RUNTIME_COMMANDS: dict[str, str] = {
    # the daemon's life cycle
    "daemon": "actors._cli_daemon:daemon",
    "deploy": "actors._cli_daemon:deploy",
    # management commands against the daemon
    "start": "actors._cli_manage:start",
    "send": "actors._cli_manage:send",
    "status": "actors._cli_manage:status",
    "history": "actors._cli_manage:history",
    "list": "actors._cli_manage:list_instances",
    "pause": "actors._cli_manage:pause",
    "resume": "actors._cli_manage:resume",
    "terminate": "actors._cli_manage:terminate",
    "retry": "actors._cli_recover:retry",
    "rewind": "actors._cli_recover:rewind",
    "wait": "actors._cli_recover:wait",
    # the HTTP/JSON API in front of the daemon
    "api": "actors._cli_api:api",
    "console": "actors._cli_api:console",
    # the gRPC API (goflow.engine.v1.Engine) in front of the daemon
    "grpc": "actors._cli_grpc:grpc_command",
    # one-shot embedded run
    "run": "actors._cli_run:run",
}

for _name, _target in RUNTIME_COMMANDS.items():
    if _name not in COMMANDS:
        register_command(_name, _target)

if __name__ == "__main__":  # pragma: no cover
    main()
