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
    port, log = int(sys.argv[1]), sys.argv[2]
    defs = {"version": 1, "formatters": {"slow": {"()": "__main__.slow_formatter"}},
            "handlers": {"file": {"class": "logging.FileHandler", "filename": log, "formatter": "slow"}},
            "root": {"handlers": ["file"], "level": "INFO"}}
    asys = start_system(port, log_defs=defs, timeout=120)
    client = attach(port)               # a client finds a working admin there
    client.shutdown()                   # (stops the system)
    print("started and stopped", flush=True)
""")


def test_an_admin_slower_than_thespians_fixed_wait_still_starts(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(REPO), SLOW_LOGGER=str(THESPIAN_WAIT + 1),
               THESPLOG_FILE=str(tmp_path / "thespian.log"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(port), str(tmp_path / "system.log")], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "started and stopped" in proc.stdout
    finally:
        if port_open(port):             # an admin left by a failed start (it came up late): stop it
            attach(port).shutdown()
        poll(lambda: not port_open(port), 60, what="the admin to stop")
