"""The seed blueprint (SPEC §2): verbatim it has one syntax error; with the comma fixed, four warnings."""
import shutil

import pytest
import yaml

from goflow.loading import load_blueprint, load_paths

from .helpers import SEED, SEED_FILES, at, locate


def test_the_verbatim_seed_is_shipped_with_the_tests():
    """The seed tests run everywhere (a clean clone included): a missing file fails, never skips."""
    assert [f for f in SEED_FILES if not (SEED / f).is_file()] == []
    lines = (SEED / "inquiry.flow.json").read_text(encoding="utf-8").split("\n")
    assert lines[58] == "}," and lines[59] == "]"       # the trailing comma at 59:2, verbatim


@pytest.fixture
def fixed(tmp_path):
    """A copy of the seed with the trailing comma removed (the shared files are never changed)."""
    flow = (SEED / "inquiry.flow.json").read_text()
    assert flow.count("},\n]") == 1
    (tmp_path / "inquiry.flow.json").write_text(flow.replace("},\n]", "}\n]"))
    shutil.copy(SEED / "inquiry.workers.json", tmp_path / "inquiry.workers.json")
    return tmp_path


def test_verbatim_seed_gives_one_error_at_the_trailing_comma():
    path = SEED / "inquiry.flow.json"
    result = load_paths([path])
    assert len(result.problems) == 1, result.problems
    [p] = result.problems
    assert (p.level, p.rule, p.file, p.line, p.column) == ("error", "syntax", str(path), 59, 2)
    assert str(p).startswith(f"{path}:59:2: error: trailing comma")
    assert not result.ok and result.blueprints == []


def test_verbatim_seed_with_its_workers_still_gives_one_error():
    result = load_paths([SEED / "inquiry.flow.json", SEED / "inquiry.workers.json"])
    assert [(p.rule, p.line, p.column) for p in result.problems] == [("syntax", 59, 2)]
    assert [(p.rule, p.line, p.column) for p in load_paths([SEED]).problems] == [("syntax", 59, 2)]


EXPECTED = [
    ("warning", "no-path-to-done", "/states/1"),      # get_product
    ("warning", "unhandled-error", "/states/1"),      # get_product
    ("warning", "no-path-to-done", "/states/2"),      # calculate_voucher
    ("warning", "unused-action", "/actions/2"),       # calculate_voucher
]


def test_fixed_seed_loads_with_exactly_the_four_warnings(fixed):
    result = load_paths([fixed / "inquiry.flow.json", fixed / "inquiry.workers.json"])
    assert [(p.level, p.rule, p.path) for p in result.problems] == EXPECTED
    text = (fixed / "inquiry.flow.json").read_text()
    assert [(p.line, p.column) for p in result.problems] == [
        locate(text, '"get_product"'), locate(text, '"get_product"'),
        locate(text, '"calculate_voucher"'), locate(text, '{\n"name": "calculate_voucher"')]
    messages = [p.message for p in result.problems]
    assert "'get_product' has no path to 'done'" in messages[0]
    assert "'get_product' handles no 'error'" in messages[1]
    assert "'calculate_voucher' has no path to 'done'" in messages[2]
    assert "'calculate_voucher' is never invoked" in messages[3]
    assert result.ok and len(result.blueprints) == 1


def test_fixed_seed_model(fixed):
    bp = load_blueprint(fixed / "inquiry.flow.json", fixed / "inquiry.workers.json")
    assert bp.key == ("goflow", "inquiry", 1)
    assert bp.states == ("calculate_balance", "get_product", "calculate_voucher")
    assert bp.transition("calculate_balance", "error").next == "done"
    assert [w.endpoint for w in bp.workers_for("calculate_balance")] == ["worker_url", "worker_url_2"]
    assert bp.workers_for("done")[0].retry_count == 5
    assert bp.source == (str(fixed / "inquiry.flow.json"), str(fixed / "inquiry.workers.json"))


def test_fixed_seed_flow_alone_finds_its_workers_file(fixed):
    result = load_paths([fixed / "inquiry.flow.json"])
    assert [(p.level, p.rule, p.path) for p in result.problems] == EXPECTED
    assert len(result.blueprints[0].workers) == 5


def test_fixed_seed_strict_refuses_it(fixed):
    result = load_paths([fixed], strict=True)
    assert [(p.level, p.rule) for p in result.problems] == [("error", r) for _, r, _ in EXPECTED]
    assert result.blueprints == []


def test_yaml_copy_of_the_seed_loads_to_an_equal_model(fixed, tmp_path):
    json_bp = load_blueprint(fixed)
    ydir = tmp_path / "yaml"
    ydir.mkdir()
    for name in ("flow", "workers"):
        data = yaml.safe_load((fixed / f"inquiry.{name}.json").read_text())
        (ydir / f"inquiry.{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = load_paths([ydir])
    assert [(p.level, p.rule, p.path) for p in result.problems] == EXPECTED
    [yaml_bp] = result.blueprints
    assert yaml_bp == json_bp
    assert yaml_bp.source != json_bp.source


def test_problem_lines_in_yaml_point_at_the_yaml(fixed, tmp_path):
    data = yaml.safe_load((fixed / "inquiry.flow.json").read_text())
    text = yaml.safe_dump(data, sort_keys=False)
    ydir = tmp_path / "yml"
    ydir.mkdir()
    (ydir / "inquiry.flow.yml").write_text(text)
    shutil.copy(fixed / "inquiry.workers.json", ydir / "inquiry.workers.json")
    result = load_paths([ydir / "inquiry.flow.yml"])
    unused = [p for p in result.problems if p.rule == "unused-action"]
    assert [at(p) for p in unused] == [("warning", "unused-action", "/actions/2",
                                        *locate(text, "name: calculate_voucher"))]
