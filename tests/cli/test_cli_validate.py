"""``goflow validate`` on the seed: the trailing comma, the warnings, --strict, --json, usage."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from goflow.cli import main

PROBLEM_LINE = re.compile(r"^(?P<file>.+?)(:(?P<line>\d+):(?P<column>\d+))?: "
                          r"(?P<level>error|warning): (?P<message>.+) \[(?P<rule>[a-z0-9-]+)\]$")
JSON_FIELDS = {"level", "file", "path", "line", "column", "message", "rule"}


def _problem_lines(output: str) -> list[re.Match]:
    return [m for m in map(PROBLEM_LINE.match, output.splitlines()) if m]


def _assert_trailing_comma_error(result) -> None:
    assert result.exit_code == 1, result.output
    problems = _problem_lines(result.stdout)
    assert len(problems) == 1, result.stdout
    (p,) = problems
    assert p["level"] == "error"
    assert p["file"].endswith("inquiry.flow.json")
    assert (p["line"], p["column"]) == ("59", "2")
    assert "trailing comma" in p["message"].lower()
    assert "inquiry.flow.json:59:2: error:" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("failed: 1 error, 0 warnings")


def test_verbatim_seed_fails_at_the_trailing_comma(runner, seed_paths):
    _assert_trailing_comma_error(runner.invoke(main, ["validate", *seed_paths]))


def test_seed_rebuilt_from_the_example_fails_at_the_trailing_comma(runner, broken_example_paths):
    _assert_trailing_comma_error(runner.invoke(main, ["validate", *broken_example_paths]))


def _assert_seed_warnings(result) -> list[re.Match]:
    assert result.exit_code == 0, result.output
    problems = _problem_lines(result.stdout)
    assert len(problems) == 4, result.stdout
    assert all(p["level"] == "warning" for p in problems)
    text = result.stdout
    # SPEC §2: the fixed seed's real defects.
    assert "calculate_voucher" in text and "get_product" in text
    assert result.stdout.splitlines()[-1] == "ok: 0 errors, 4 warnings; loaded goflow/inquiry@1"
    return problems


def test_fixed_seed_loads_with_four_warnings(runner, fixed_seed_paths):
    _assert_seed_warnings(runner.invoke(main, ["validate", *fixed_seed_paths]))


def test_bundled_example_loads_with_four_warnings(runner, example_paths):
    problems = _assert_seed_warnings(runner.invoke(main, ["validate", *example_paths]))
    assert sorted(p["rule"] for p in problems) == sorted(
        ["no-path-to-done", "no-path-to-done", "unhandled-error", "unused-action"])
    messages = " | ".join(p["message"] for p in problems)
    assert "calculate_voucher" in messages      # never invoked; no path to done
    assert "error" in messages                  # get_product handles no error


def test_bundled_example_directory_loads(runner, example_paths):
    directory = str(Path(example_paths[0]).parent)
    result = runner.invoke(main, ["validate", directory])
    assert result.exit_code == 0, result.output
    assert len(_problem_lines(result.stdout)) == 4


def test_bundled_example_is_the_seed_without_its_trailing_comma(seed_dir, example_paths):
    seed_flow = (seed_dir / "inquiry.flow.json").read_text(encoding="utf-8").split("\n")
    example_flow = Path(example_paths[0]).read_text(encoding="utf-8").split("\n")
    assert seed_flow[58] == "}," and example_flow[58] == "}"
    assert seed_flow[:58] == example_flow[:58] and seed_flow[59:] == example_flow[59:]
    assert (seed_dir / "inquiry.workers.json").read_bytes() == Path(example_paths[1]).read_bytes()


def test_strict_turns_the_warnings_into_failure(runner, fixed_seed_paths):
    result = runner.invoke(main, ["validate", "--strict", *fixed_seed_paths])
    assert result.exit_code == 1, result.output
    assert len(_problem_lines(result.stdout)) == 4
    assert result.stdout.splitlines()[-1].startswith("failed: ")


def test_json_output_of_the_fixed_seed(runner, example_paths):
    result = runner.invoke(main, ["validate", "--json", *example_paths])
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)
    assert isinstance(problems, list) and len(problems) == 4
    for p in problems:
        assert JSON_FIELDS <= set(p), p
        assert p["level"] == "warning"
        assert p["file"].endswith(".json")
        assert p["path"].startswith("/") or p["path"] == ""
        assert isinstance(p["message"], str) and p["message"]
        assert p["line"] is None or isinstance(p["line"], int)


def test_json_output_of_the_verbatim_seed(runner, seed_paths):
    result = runner.invoke(main, ["validate", "--json", *seed_paths])
    assert result.exit_code == 1
    (p,) = json.loads(result.stdout)
    assert JSON_FIELDS <= set(p)
    assert (p["level"], p["line"], p["column"]) == ("error", 59, 2)
    assert p["file"].endswith("inquiry.flow.json")
    assert "trailing comma" in p["message"].lower()


def test_json_strict_exit_code(runner, example_paths):
    result = runner.invoke(main, ["validate", "--json", "--strict", *example_paths])
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)) == 4


@pytest.mark.parametrize("argv", [["validate"], ["validate", "--json"], ["validate", "/nonexistent"],
                                  ["validate", "--strikt", "."]])
def test_validate_usage_errors_exit_2(runner, argv):
    result = runner.invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.stderr


def test_a_directory_without_blueprints_fails(runner, tmp_path):
    result = runner.invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1].startswith("failed: ")


def test_every_problem_is_reported_not_just_the_first(runner, tmp_path):
    flow = tmp_path / "bad.flow.json"
    flow.write_text(
        '{"project": "p", "activity": "a", "states": ["s"],\n'
        ' "actions": [{"name": "work", "type": "sync"}],\n'
        ' "transitions": [\n'
        '  {"current": "init", "event": "start", "action": "nowhere", "next": "s"},\n'
        '  {"current": "s", "event": "success", "action": "continue", "next": "limbo"}],\n'
        ' "workers": []}\n', encoding="utf-8")
    result = runner.invoke(main, ["validate", str(flow)])
    assert result.exit_code == 1
    errors = [p for p in _problem_lines(result.stdout) if p["level"] == "error"]
    assert len(errors) >= 2, result.stdout
    assert all(p["file"].endswith("bad.flow.json") for p in errors)
