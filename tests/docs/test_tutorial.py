"""docs/tutorial.md, run: its files are written to an empty directory and its console commands run
there in order, each output compared with the page's (so the page cannot rot).

The page's conventions: a block after ``<!-- file: NAME -->`` is the file NAME; in a ``console``
block a line ``$ CMD`` is a command (run with bash) and the lines after it, up to the next command,
its output (stdout, then stderr). In an expected line ``...`` matches anything; times
(``YYYY-MM-DD HH:MM:SS``) match any time; the lines of ``goflow history`` are compared in any order
(worker calls run concurrently). An output starting ``Error:`` means exit status 1, any other 0.
The daemon runs on a free port (``7531`` on the page) and the workers on another (``8085``).
A command ending in ``&`` starts the workers: the test waits (bounded) for their ``workers.pid``; a
``kill $(cat workers.pid)`` waits (bounded) until that process is gone. Every process started here
carries a marker in its environment; at the end the daemon is stopped and any left is killed.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from testkit import alive, free_port, poll, with_environment

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "tutorial.md"
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def steps(text: str) -> list[tuple]:
    """``("file", name, body)`` and ``("cmd", command, expected lines)``, in page order."""
    out: list[tuple] = []
    lines = text.split("\n")
    name, i = None, 0
    while i < len(lines):
        m = re.fullmatch(r"<!-- file: (\S+) -->", lines[i])
        if m:
            name = m.group(1)
        elif lines[i].startswith("```"):
            lang, body = lines[i][3:].strip(), []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if name:
                out.append(("file", name, "\n".join(body) + "\n"))
                name = None
            elif lang == "console":
                for line in body:
                    if line.startswith("$ "):
                        out.append(("cmd", line[2:], []))
                    else:
                        out[-1][2].append(line)
        i += 1
    return out


def matches(expected: str, got: str) -> bool:
    pattern = ".*".join(re.escape(TIME.sub("<time>", part)) for part in expected.split("..."))
    return re.fullmatch(pattern, TIME.sub("<time>", got)) is not None


def test_the_page_has_files_and_commands():
    found = steps(PAGE.read_text())
    assert {s[1] for s in found if s[0] == "file"} == {"order.json", "workers.py", "pack.json", "batch.json"}
    commands = [s[1] for s in found if s[0] == "cmd"]
    for needed in ("goflow daemon start", "goflow retry order-4", "goflow list --end-state declined",
                   "goflow terminate order-3 --reason \"customer left\"", "goflow deploy pack.json batch.json",
                   "goflow daemon stop"):
        assert needed in commands


def test_the_tutorial_runs_as_written(tmp_path):
    daemon_port, worker_port = free_port(), free_port()

    def sub(text: str) -> str:
        return text.replace("8085", str(worker_port)).replace("7531", str(daemon_port))

    marker = f"GOFLOW_TEST_TUTORIAL={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOFLOW_")}
    env.update({"GOFLOW_DAEMON_PORT": str(daemon_port), marker.split("=")[0]: marker.split("=")[1],
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])})
    pidfile = tmp_path / "workers.pid"
    try:
        for kind, first, second in steps(PAGE.read_text()):
            if kind == "file":
                (tmp_path / first).write_text(sub(second))
                continue
            command, expected = sub(first), [sub(line) for line in second]
            before = int(pidfile.read_text()) if "kill $(cat workers.pid)" in command else None
            p = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120, stdin=subprocess.DEVNULL)
            got = (p.stdout + p.stderr).splitlines()
            where = f"`{first}`:\n{p.stdout}{p.stderr}"
            assert (p.returncode != 0) == bool(expected and expected[0].startswith("Error:")), where
            if command.startswith("goflow history"):
                got, expected = sorted(TIME.sub("<time>", g) for g in got), sorted(TIME.sub("<time>", e)
                                                                                  for e in expected)
            assert len(got) == len(expected) and all(matches(e, g) for e, g in zip(expected, got)), (
                where + "\nexpected:\n" + "\n".join(expected))
            if command.endswith("&"):
                poll(pidfile.exists, 20, what="the workers to listen (workers.pid)")
            if before is not None:
                poll(lambda: not alive(before), 20, what=f"the workers (pid {before}) to exit")
    finally:
        if with_environment(marker):
            subprocess.run(["bash", "-c", "goflow daemon stop"], cwd=tmp_path, env=env, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        left = with_environment(marker)
        for pid in left:                         # processes this test started (marked), by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        poll(lambda: not with_environment(marker), 15, what="every process the tutorial started to exit")
