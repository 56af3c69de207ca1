from goflow.loading import load_paths

from ..helpers import BASE, BASE_WORKERS, at, locate, single, write


def test_a_combined_flow_and_a_workers_document(tmp_path):
    write(tmp_path, "order.json", BASE)
    wpath = write(tmp_path, "order.workers.json", BASE_WORKERS)
    result = load_paths([tmp_path])
    p = single(result)
    assert at(p) == ("error", "duplicate-workers", "/workers", *locate(BASE_WORKERS, "["))
    assert p.file == str(wpath)
    assert result.blueprints == []
