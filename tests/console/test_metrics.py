"""/metrics after a known workload (SPEC §10 "Metrics"; docs/metrics.md): exact counter values,
summed over the daemon's processes (hosts, proxies, the API) by prometheus_client's multiprocess mode."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from console_support import poll


def scrape(api) -> dict:
    r = api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_scrape_after_a_known_workload_has_exact_counts(stack, api):
    calls = [api.post("/instances", json={"blueprint": "obs/call"}).json()["id"] for _ in range(3)]
    gates = [api.post("/instances", json={"blueprint": "obs/gate"}).json()["id"] for _ in range(2)]
    poll(lambda: all(api.get(f"/instances/{i}").json()["state"] == "waiting" for i in calls), 30, 0.05,
         "every call step to be over")
    for iid in calls + gates[:1]:
        r = api.post(f"/instances/{iid}/events", json={"event": "go"})
        assert r.status_code == 200 and r.json()["status"] == "completed", r.text

    m = scrape(api)
    # each call step: /fail twice (500, one retry), then /ok (200) after one fallback
    assert value(m, "goflow_worker_call_duration_seconds_count", action="call", outcome="5xx") == 6
    assert value(m, "goflow_worker_call_duration_seconds_count", action="call", outcome="2xx") == 3
    assert value(m, "goflow_worker_retries_total", action="call") == 3
    assert value(m, "goflow_worker_fallbacks_total", action="call") == 3
    # transitions: init -> called -> waiting -> done (x3), init -> waiting (x2), waiting -> done (x1)
    assert value(m, "goflow_transitions_total", blueprint="obs/call") == 9
    assert value(m, "goflow_transitions_total", blueprint="obs/gate") == 3
    assert value(m, "goflow_event_ack_duration_seconds_count") == 4
    assert value(m, "goflow_instances", blueprint="obs/call", status="completed") == 3
    assert value(m, "goflow_instances", blueprint="obs/gate", status="completed") == 1
    assert value(m, "goflow_instances", blueprint="obs/gate", status="waiting") == 1
    assert value(m, "goflow_active_instances") == 1
    # the waiting gate is in its host's memory (runtime.passivate_after: 60 s); nothing is passivated yet
    assert value(m, "goflow_resident_instances") == 1 and value(m, "goflow_passivated_instances") == 0
    assert value(m, "goflow_store_commit_duration_seconds_count") >= 1
    # every instance written was counted in some commit's batch size (several writes each)
    assert value(m, "goflow_store_commit_batch_size_sum") >= 5
    # no instance id in any label
    ids = set(calls + gates)
    assert not [k for k in m if any(v in ids for _n, v in k[1])]
    # nothing restarted
    assert not [k for k in m if k[0] == "goflow_restarts_total" and m[k]]

    # a second scrape of an idle engine: the same counts (scraping counts nothing)
    again = scrape(api)
    assert value(again, "goflow_transitions_total", blueprint="obs/call") == 9
    assert value(again, "goflow_event_ack_duration_seconds_count") == 4


def test_instance_restarts_are_counted(stack, api):
    """A worker whose output cannot be stored crashes the instance's handler: restarted from its
    snapshot engine.intensity (3) times, then failed."""
    iid = api.post("/instances", json={"blueprint": "obs/crashy"}).json()["id"]
    poll(lambda: api.get(f"/instances/{iid}").json()["status"] == "failed", 30, 0.05, "the instance to fail")
    m = scrape(api)
    assert value(m, "goflow_restarts_total", kind="instance") == 3
    assert value(m, "goflow_instances", blueprint="obs/crashy", status="failed") == 1


def test_metrics_need_the_token(stack):
    import httpx
    r = httpx.get(f"{stack.url}/metrics")
    assert r.status_code == 401 and r.json()["error"]["type"] == "Unauthorized"
    r = httpx.get(f"{stack.url}/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
