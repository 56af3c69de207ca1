from goflow.loading import load_paths

from ..helpers import BASE, BASE_WORKERS, at, edit, single, write


def test_workers_for_a_flow_that_is_not_loaded(tmp_path):
    write(tmp_path, "order.json", BASE)
    wpath = write(tmp_path, "refund.workers.json", edit('"order"', '"refund"', BASE_WORKERS))
    result = load_paths([tmp_path])
    p = single(result)
    assert at(p) == ("error", "unpaired-workers", "", 1, 1)
    assert p.file == str(wpath) and "shop/refund" in p.message
    assert [bp.name for bp in result.blueprints] == ["shop/order"]


def test_no_unpaired_error_when_a_flow_did_not_parse(tmp_path):
    write(tmp_path, "order.flow.json", "{")
    write(tmp_path, "order.workers.json", BASE_WORKERS)
    assert [p.rule for p in load_paths([tmp_path]).problems] == ["syntax"]
