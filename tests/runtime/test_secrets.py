"""Worker secrets stay out of sight (SPEC §12): a worker URL ``http://127.0.0.1:PORT/w?api_key=SECRET``
with an ``Authorization`` header, run on a real daemon (DEBUG logs: every attempt is logged) with the
HTTP API in front. After the run the secrets appear nowhere in the history, the status, the HTTP API's
answers, the log files or the data directory's files -- except the catalog, which keeps blueprints as
deployed (the worker is really called with them, as the server's log shows)."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from runtime_support import free_port, poll
from goflow.paging import every

pytestmark = pytest.mark.daemon
KEY, BEARER, DEAD_TOKEN = "QS-SECRET-7f3a9c", "HDR-SECRET-51bd02", "QS-SECRET-dead-e4c1"


class _Worker(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def worker():
    _Worker.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Worker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


def _blueprint(port: int) -> dict:
    headers = {"Authorization": f"Bearer {BEARER}"}
    return {"project": "rt", "activity": "secret", "states": ["gate"],
            "actions": [{"name": "work", "type": "sync"}],
            "transitions": [
                {"current": "init", "event": "start", "action": "work", "next": "done"}],
            "workers": [
                # nothing listens there: a connect-error attempt record (with its error text) first
                {"name": "work", "workerEndpoint": f"http://127.0.0.1:{free_port()}/w?token={DEAD_TOKEN}",
                 "retryCount": 0, "responseTimeout": 5, "priority": 1, "headers": headers},
                {"name": "work", "workerEndpoint": f"http://127.0.0.1:{port}/w?api_key={KEY}&mode=fast",
                 "retryCount": 0, "responseTimeout": 5, "priority": 2, "headers": headers}]}


def _api_get(base: str, path: str, data_dir: str) -> str:
    headers = {}
    token = Path(data_dir, "api.token")
    if token.exists():                               # SPEC §10: the API wants the daemon's token
        headers["Authorization"] = f"Bearer {token.read_text().strip()}"
    r = httpx.get(base + path, headers=headers, timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.text


def _leaks(text: str) -> list[str]:
    return [s for s in (KEY, BEARER, DEAD_TOKEN) if s in text]


def test_worker_secrets_appear_in_no_history_log_status_or_api_answer(daemons, worker, tmp_path):
    from actors.daemon import add_process, stop
    from actors.http_api import spawn
    eng = daemons.start(blueprints=[_blueprint(worker.server_port)], shards=2, log_level="DEBUG")
    data_dir = eng.data_dir
    iid = eng.start("rt/secret", id="s1")
    final = eng.wait(iid, timeout=30)
    assert final["status"] == "completed"
    # the worker really got the secrets: the redaction is in what GoFlow shows, not in the call
    assert _Worker.seen == [(f"/w?api_key={KEY}&mode=fast", f"Bearer {BEARER}")]
    history = list(every(eng.history, iid))
    endpoints = [h.get("endpoint") for h in history if h.get("endpoint")]
    assert len(endpoints) == 2 and endpoints[1].endswith("/w?api_key=***&mode=fast"), endpoints
    assert [h["outcome"] for h in history if h.get("endpoint")] == ["connect-error", "200"]
    assert _leaks(json.dumps(history)) == [] and _leaks(json.dumps(eng.status(iid))) == []

    port = json.loads(Path(data_dir, "daemon.json").read_text())["port"]
    api_port = free_port()
    pids = daemons.remember(eng)
    api_pid = spawn(port, api_port, "127.0.0.1", data_dir=data_dir, log_path=str(tmp_path / "api.log"),
                    event_bytes=65536, watch_pid=pids["admin"], env=daemons.env(), log_level="DEBUG")
    add_process(data_dir, "api", api_pid, api=f"http://127.0.0.1:{api_port}")
    base = f"http://127.0.0.1:{api_port}"
    try:
        for path in (f"/instances/{iid}/history", f"/instances/{iid}", "/instances"):
            answer = _api_get(base, path, data_dir)
            assert _leaks(answer) == [], (path, answer)
        assert "api_key=***" in _api_get(base, f"/instances/{iid}/history", data_dir)
    finally:
        eng.close()
        stop(data_dir, port)
        daemons.assert_none_left()

    # logs and stored files, byte for byte (the catalog keeps the blueprint as deployed)
    logs = sorted(tmp_path.glob("*.log")) + sorted(Path(data_dir).glob("*.log"))
    assert any("api_key=***" in p.read_text(errors="replace") for p in logs), "the DEBUG log shows no attempt"
    stored = [p for p in Path(data_dir).rglob("*") if p.is_file()]
    catalog = [p for p in stored if p.name.startswith("catalog.sqlite")]
    assert any(KEY.encode() in p.read_bytes() for p in catalog), "the catalog should hold the blueprint"
    for path in [*logs, *(p for p in stored if p not in catalog)]:
        content = path.read_bytes()
        leaked = [s for s in (KEY, BEARER, DEAD_TOKEN) if s.encode() in content]
        assert leaked == [], f"{path.name} holds {leaked}"
    poll(lambda: not daemons.marked(), 10, what="no process left")
