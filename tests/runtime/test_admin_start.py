"""A daemon's actor system starts although its admin comes up later than Thespian waits for
(actors/system.py). Thespian gives the admin it forks a fixed 5 s to say it is up -- which the admin
does once its logger process has configured logging -- then raises ``InvalidActorAddress``; under
CPU load the admin took up to 4.6 s and a daemon restart of test_crash failed so. Here the logger is
slow on purpose: its formatter factory takes longer than Thespian's wait. ``start_system`` (as the
daemon's launcher calls it) must still answer with a working system, and a client attaches to it."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from thespian.system import multiprocCommon

from runtime_support import REPO, free_port, poll
from actors.system import attach, port_open

pytestmark = pytest.mark.daemon
THESPIAN_WAIT = multiprocCommon.MAX_ADMIN_STARTUP_DELAY.total_seconds()    # 5 s

SCRIPT = textwrap.dedent("""
    import logging, os, sys, time

    def slow_formatter():
        # the logger process configures logging before the admin may say it is up: slower than
        # Thespian waits (the slow part under test, not a wait for something)
        time.sleep(float(os.environ["SLOW_LOGGER"]))
        return logging.Formatter()

    from actors.system import attach, start_system
    from goflow.errors import RuntimeUnavailable
    port, log, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    defs = {"version": 1, "formatters": {"slow": {"()": "__main__.slow_formatter"}},
            "handlers": {"file": {"class": "logging.FileHandler", "filename": log, "formatter": "slow"}},
            "root": {"handlers": ["file"], "level": "INFO"}}
    try:
        asys = start_system(port, log_defs=defs, timeout=timeout)
    except RuntimeUnavailable as exc:
        print("refused:", exc, flush=True)
    else:
        client = attach(port)           # a client finds a working admin there
        client.shutdown()               # (stops the system)
        print("started and stopped", flush=True)
""")


@pytest.mark.parametrize("timeout, said", [(120, "started and stopped"), (1, "refused: the actor system's admin")],
                         ids=["within-start-timeout", "past-start-timeout"])
def test_an_admin_slower_than_thespians_fixed_wait_still_starts(tmp_path, timeout, said):
    """Within ``timeout`` (``daemon.start_timeout``) the slow admin is waited for; past it (at least
    Thespian's own wait) the start fails as a GoflowError that names the setting."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(REPO), SLOW_LOGGER=str(THESPIAN_WAIT + 1),
               THESPLOG_FILE=str(tmp_path / "thespian.log"))
    out = tmp_path / "out.txt"         # a file, not a pipe: an admin left running would hold a pipe open
    try:
        with open(out, "w") as f:
            proc = subprocess.run([sys.executable, "-c", SCRIPT, str(port), str(tmp_path / "system.log"),
                                   str(timeout)], env=env, cwd=str(tmp_path), stdout=f, stderr=subprocess.STDOUT,
                                  timeout=120, stdin=subprocess.DEVNULL)
        text = out.read_text()
        assert proc.returncode == 0, text[-3000:]
        assert said in text, text[-3000:]
        if timeout == 1:
            assert "daemon.start_timeout" in text
    finally:
        if port_open(port):             # an admin left by a failed start (it came up late): stop it
            attach(port).shutdown()
        poll(lambda: not port_open(port), 60, what="the admin to stop")
