"""The bugs a new user hit (issue 9 item 7), each against a real daemon driven by the ``goflow``
command: the identifier rule in the CLI, history pages (the latest by default), list pages,
``daemon status`` of the daemon it talks to, a repeated ``send``, a failure's reason in plain
``history``, one process count for ``/health`` and ``daemon status``, the default log level."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from cli_support import FAILING_FLOW, IDLE_FLOW, REPO, Daemon, free_port, one_line_error
from testkit import poll


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user-bugs")
    d = Daemon(tmp / "data")
    d.api_port = free_port()
    d.extra = {"GOFLOW_API_ENABLED": "true", "GOFLOW_API_PORT": str(d.api_port)}
    base_run = d.run
    d.run = lambda *a, **kw: base_run(*a, env={**d.extra, **kw.pop("env", {})}, **kw)
    try:
        # at INFO, as docs/operations.md says to see the life-cycle lines
        proc = d.run("--log-level", "INFO", "daemon", "start", "--json")
        assert proc.returncode == 0, proc.stderr
        d.seen.update(json.loads(proc.stdout)["pids"].values())
        for name, doc in (("idle", IDLE_FLOW), ("failing", FAILING_FLOW)):
            (tmp / f"{name}.json").write_text(json.dumps(doc))
            assert d.run("deploy", str(tmp / f"{name}.json")).returncode == 0
        yield d
    finally:
        d.cleanup()


def _json(proc):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _started(daemon, blueprint: str, iid: str) -> str:
    assert _json(daemon.run("start", blueprint, "--id", iid, "--json"))["id"] == iid
    return iid


@pytest.mark.parametrize("args, what", [
    (("start", "test/idle", "--id", "x" * 300), "invalid instance id"),
    (("start", "test/idle", "--id", "a/b"), "must not contain '/'"),
    (("start", "test/idle", "--id", "tab\there"), "not printable"),
    (("start", "test/idle/extra"), "must not contain '/'"),
    (("start", "te\x07st/idle"), "invalid blueprint project"),
    (("start", "test/" + "i" * 257), "invalid blueprint activity"),
    (("list", "--blueprint", "test/id\tle"), "invalid --blueprint activity"),
    (("list", "--blueprint", "test/idle/x"), "must not contain '/'"),
    (("send", "a/b", "go"), "invalid instance id"),
    (("send", "ok-id", "go", "--event-id", "e" * 257), "invalid event id"),
    (("status", "y" * 257), "over 256 bytes"),
    (("history", "a/b"), "invalid instance id"),
    (("terminate", "a/b"), "invalid instance id"),
])
def test_the_cli_refuses_ids_that_the_http_api_could_not_reach(daemon, args, what):
    assert what in one_line_error(daemon.run(*args))
    rows = _json(daemon.run("list", "--limit", "1000", "--json"))["instances"]
    assert not [r["id"] for r in rows if "/" in r["id"] or len(r["id"]) > 256]


def test_history_limit_is_the_latest_and_pages_walk_it_all(daemon):
    iid = _started(daemon, "test/idle", "hist-1")
    assert _json(daemon.run("send", iid, "go", "--json"))["status"] == "completed"
    everything = _json(daemon.run("history", iid, "--order", "oldest", "--json"))["history"]
    assert everything[0]["outcome"] == "created" and everything[-1]["outcome"] == "completed"
    latest = _json(daemon.run("history", iid, "--limit", "1", "--json"))
    assert [r["outcome"] for r in latest["history"]] == ["completed"] and latest["next"]
    # the cursor goes on, latest first, until the first record: every record once
    walked, page = list(latest["history"]), latest
    while page["next"]:
        page = _json(daemon.run("history", iid, "--limit", "2", "--cursor", page["next"], "--json"))
        walked += page["history"]
    assert walked == everything[::-1]
    text = daemon.run("history", iid, "--limit", "1").stdout
    assert "outcome=completed" in text and "--cursor" in text and "outcome=created" not in text
    # a cursor is a position: walked oldest-first from the latest record, nothing follows it
    after = _json(daemon.run("history", iid, "--order", "oldest", "--cursor", latest["next"], "--json"))
    assert (after["history"], after["next"]) == ([], None)
    assert "invalid cursor" in one_line_error(daemon.run("history", iid, "--cursor", "not-a-cursor"))


def test_list_pages_with_a_cursor(daemon):
    ids = {_started(daemon, "test/idle", f"page-{n}") for n in range(5)}
    seen, cursor = [], None
    while True:
        args = ["list", "--blueprint", "test/idle", "--status", "waiting", "--limit", "2", "--json"]
        page = _json(daemon.run(*args, *(["--cursor", cursor] if cursor else [])))
        assert len(page["instances"]) <= 2
        seen += [r["id"] for r in page["instances"]]
        cursor = page["next"]
        if not cursor:
            break
    assert ids <= set(seen) and len(seen) == len(set(seen))
    assert daemon.run("list", "--limit", "1001").returncode == 2      # a usage error: at most 1,000


def test_a_repeated_send_says_it_was_a_duplicate(daemon):
    iid = _started(daemon, "test/idle", "dup-1")
    first = daemon.run("send", iid, "go", "--event-id", "once")
    assert first.returncode == 0 and "applied" in first.stdout and "duplicate" not in first.stdout
    again = daemon.run("send", iid, "go", "--event-id", "once")
    assert again.returncode == 0, again.stderr
    assert "duplicate" in again.stdout and "already applied" in again.stdout
    assert "accepted" not in again.stdout


def test_plain_history_shows_the_failure_reason(daemon):
    iid = _started(daemon, "test/failing", "fail-1")
    poll(lambda: _json(daemon.run("status", iid, "--json"))["status"] == "failed", 30, 0.2, "the instance to fail")
    records = _json(daemon.run("history", iid, "--json"))["history"]
    failed = next(r for r in records if r["outcome"] == "failed")
    assert failed["detail"]
    text = daemon.run("history", iid).stdout
    assert " ".join(str(failed["detail"]).split()) in text


def test_daemon_status_describes_the_daemon_it_talks_to(daemon, tmp_path):
    elsewhere = tmp_path / "another-data-dir"
    status = _json(daemon.run("daemon", "status", "--json", env={"GOFLOW_ENGINE_DATA_DIR": str(elsewhere)}))
    data = str(Path(daemon.data).resolve())
    assert status["running"] and status["data_dir"] == data
    assert status["pid_file"] == str(Path(data) / "goflow.pid")
    assert status["log_file"] == str(Path(data) / "daemon.log")
    text = daemon.run("daemon", "status", env={"GOFLOW_ENGINE_DATA_DIR": str(elsewhere)}).stdout
    assert f"data {data}," in text and str(elsewhere) not in text


def test_health_and_daemon_status_count_the_same_processes(daemon):
    status = _json(daemon.run("daemon", "status", "--json"))
    assert "api" in status["pids"]
    health = httpx.get(f"http://127.0.0.1:{daemon.api_port}/health", timeout=30).json()
    assert health["processes"] == len(status["pids"])


def test_the_info_level_writes_the_lifecycle_lines_the_docs_show(daemon):
    # the actors' lines too (shard.recovered, root.deployed): the level used not to reach them
    log = (daemon.data / "daemon.log").read_text()
    for event in ("daemon.started", "shard.recovered", "root.deployed", "api.started"):
        assert f"event={event}" in log, (event, log)


def test_the_default_data_directory_is_ignored_by_git():
    lines = {ln.strip() for ln in (REPO / ".gitignore").read_text().splitlines()}
    assert "goflow-data/" in lines or "/goflow-data/" in lines
