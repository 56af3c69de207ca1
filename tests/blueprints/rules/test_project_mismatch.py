from ..helpers import BASE, BASE_WORKERS, at, edit, load_files, locate, single, write

FLOW = edit(',\n  "workers": [\n    {"name": "pay", "workerEndpoint": "python://shop:pay", "retryCount": 1, '
            '"responseTimeout": 2, "priority": 1}\n  ]', "")


def test_flow_and_workers_of_different_activities(tmp_path):
    workers = edit('"order"', '"orders"', BASE_WORKERS)
    flow = write(tmp_path, "flow.json", FLOW)
    wpath = write(tmp_path, "workers.json", workers)
    result = load_files(flow, wpath)
    p = single(result)
    assert at(p) == ("error", "project-mismatch", "/activity", *locate(workers, '"orders"'))
    assert p.file == str(wpath)
    assert "'orders'" in p.message and "'order'" in p.message
    assert result.blueprints == []


def test_matching_documents_load(tmp_path):
    result = load_files(write(tmp_path, "flow.json", FLOW), write(tmp_path, "workers.json", BASE_WORKERS))
    assert result.problems == [] and len(result.blueprints) == 1
