from goflow.loading import load_paths

from ..helpers import single


def test_a_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nope.json"
    p = single(load_paths([missing]))
    assert (p.level, p.rule, p.file, p.line) == ("error", "unreadable", str(missing), None)
    assert "no such file" in p.message
