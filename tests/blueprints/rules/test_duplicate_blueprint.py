from goflow.loading import load_paths

from ..helpers import BASE, at, single, write


def test_two_flows_of_one_key(tmp_path):
    write(tmp_path, "a.json", BASE)
    second = write(tmp_path, "b.yaml", BASE)
    result = load_paths([tmp_path])
    p = single(result)
    assert at(p) == ("error", "duplicate-blueprint", "", 1, 1)
    assert p.file == str(second) and str(tmp_path / "a.json") in p.message
    assert len(result.blueprints) == 1
