"""``goflow.graph`` drawings and the ``goflow graph`` command."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from goflow.cli import main
from goflow.graph import edge_label, render, to_dot, to_mermaid
from goflow.model import Action, Blueprint, Transition, Worker

# The fixed seed's transitions, as ``current --> next : event / action``.
SEED_EDGES = [
    ("init", "calculate_balance", "start / calculate_balance"),
    ("calculate_balance", "get_product", "success / continue"),
    ("calculate_balance", "done", "error / continue"),
    ("get_product", "get_product", "start / get_product"),
    ("get_product", "calculate_voucher", "success / continue"),
    ("calculate_voucher", "calculate_voucher", "start / continue"),
]

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz `dot` is not installed (.ci/run installs it)")


def _render_svg(dot_text: str, tmp_path: Path) -> str:
    src = tmp_path / "fsm.dot"
    src.write_text(dot_text, encoding="utf-8")
    proc = subprocess.run(["dot", "-Tsvg", str(src)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr       # no warnings either
    assert "<svg" in proc.stdout
    return proc.stdout


def _seedlike(**kw) -> Blueprint:
    return Blueprint(
        project="p", activity="a", states=("s1",), actions=(Action("work"),),
        transitions=(Transition("init", "start", "work", "s1", **kw),
                     Transition("s1", "success", "continue", "done")),
        workers=(Worker("work", "python://m:f"),))


HOSTILE = [
    'quote"d', "back\\slash", "trail\\", "new\nline", "<b>&amp;</b>", "semi;colon", "col:on",
    "-->", "[*]", "end", "state", "node", "#0", "%% comment", "tab\there", "nul\x00", "é 漢字",
    "a -> b", "}", "{", "s1 [label=x]", "`tick`",
]


def _hostile() -> Blueprint:
    states = tuple(HOSTILE)
    transitions = [Transition("init", "start", "continue", states[0])]
    for a, b in zip(states, states[1:]):
        transitions.append(Transition(a, f"ev {b}", b, b, delay=1.5))
    transitions.append(Transition(states[-1], "success", "continue", "done"))
    return Blueprint(project='pr"oj\n', activity="act\\", states=states,
                     actions=tuple(Action(s) for s in states), transitions=tuple(transitions))


# ------------------------------------------------------------------------------------ pure graph

def test_edge_label_with_and_without_delay():
    assert edge_label(Transition("a", "go", "work", "b")) == "go / work"
    assert edge_label(Transition("a", "go", "work", "b", delay=5)) == "go / work (after 5s)"
    assert edge_label(Transition("a", "go", "work", "b", delay=0.25)) == "go / work (after 0.25s)"


def test_mermaid_shape():
    text = to_mermaid(_seedlike(delay=5))
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> init" in lines
    assert "    done --> [*]" in lines
    assert "    init --> s1 : start / work (after 5s)" in lines
    assert "    s1 --> done : success / continue" in lines


def test_dot_shape():
    text = to_dot(_seedlike(delay=5))
    assert text.startswith("digraph goflow {")
    assert '"#start" [shape=point' in text
    assert '"#start" -> "init";' in text
    assert re.search(r'"done" \[label="done", shape=doublecircle\]', text)
    assert '"init" -> "s1" [label="start / work (after 5s)"];' in text


def test_render_by_name():
    bp = _seedlike()
    assert render(bp, "mermaid") == to_mermaid(bp)
    assert render(bp, "dot") == to_dot(bp)
    with pytest.raises(ValueError):
        render(bp, "png")


def test_mermaid_escapes_hostile_names():
    text = to_mermaid(_hostile())
    body = text.splitlines()
    # Every line is one statement: no name brought its own newline, and the markers are intact.
    assert body[0] == "stateDiagram-v2"
    assert body.count("    [*] --> init") == 1 and body.count("    done --> [*]") == 1
    text_ = r'([^:\n;#"]|#\d+;)*'   # entity codes are the only '#' and ';'
    allowed = re.compile(r'    (%% ' + text_ + r'|[A-Za-z_][A-Za-z0-9_]*|state "' + text_
                         + r'" as state_\d+|(\[\*\]|[A-Za-z_][A-Za-z0-9_]*) --> '
                         r'(\[\*\]|[A-Za-z_][A-Za-z0-9_]*)( : ' + text_ + r')?)\Z')
    for line in body[1:]:
        assert allowed.match(line), line
    # Entity codes carry the special characters.
    assert "#34;" in text and "#92;" in text and "#10;" in text and "#59;" in text
    # Keywords and names that are not identifiers got generated ids, with their text kept.
    assert re.search(r'state "end" as state_\d+', text)
    assert re.search(r'state "state" as state_\d+', text)


def test_mermaid_generated_ids_do_not_collide_with_names():
    bp = Blueprint(project="p", activity="a", states=("state_0", "x y", "state_1"),
                   transitions=(Transition("init", "start", "continue", "x y"),))
    text = to_mermaid(bp)
    assert 'state "x y" as state_2' in text
    assert "init --> state_2 : start / continue" in text


def test_dot_quotes_hostile_names():
    text = to_dot(_hostile())
    # Balanced: every statement on its own line, braces only at the start and end.
    lines = text.splitlines()
    assert lines[0] == "digraph goflow {" and lines[-1] == "}"
    for line in lines[1:-1]:
        assert line.startswith("    ") and line.endswith(";"), line


@needs_dot
def test_dot_with_hostile_names_renders(tmp_path):
    svg = _render_svg(to_dot(_hostile()), tmp_path)
    # The names are shown as written (XML-escaped by Graphviz in the SVG).
    assert "trail\\" in svg
    assert "quote&quot;d" in svg or 'quote"d' in svg
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in svg
    assert "é 漢字" in svg


@needs_dot
def test_dot_of_a_blueprint_renders(tmp_path):
    _render_svg(to_dot(_seedlike(delay=2)), tmp_path)


# ------------------------------------------------------------------------------- goflow graph

def _mermaid_edges(text: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r"^    (\S+) --> (\S+) : (.+)$", text, re.M))


def _dot_edges(text: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r'^    "([^"]+)" -> "([^"]+)" \[label="([^"]+)"\];$', text, re.M))


def test_graph_mermaid_of_the_example(runner, example_paths):
    result = runner.invoke(main, ["graph", *example_paths])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("stateDiagram-v2\n")
    assert "[*] --> init" in out and "done --> [*]" in out
    assert _mermaid_edges(out) == set(SEED_EDGES)
    # The warnings go to stderr, so stdout is only the drawing.
    assert "warning" in result.stderr


def test_graph_dot_of_the_example(runner, example_paths):
    result = runner.invoke(main, ["graph", "--format", "dot", *example_paths])
    assert result.exit_code == 0, result.output
    assert _dot_edges(result.stdout) == set(SEED_EDGES)
    assert '"#start" -> "init";' in result.stdout


def test_graph_of_the_fixed_shared_seed(runner, fixed_seed_paths):
    result = runner.invoke(main, ["graph", "-f", "mermaid", *fixed_seed_paths])
    assert result.exit_code == 0, result.output
    assert _mermaid_edges(result.stdout) == set(SEED_EDGES)


@needs_dot
def test_graph_dot_of_the_example_renders_with_graphviz(runner, example_paths, tmp_path):
    result = runner.invoke(main, ["graph", "--format", "dot", *example_paths])
    assert result.exit_code == 0, result.output
    svg = _render_svg(result.stdout, tmp_path)
    for _, _, label in SEED_EDGES:
        assert label in svg


def test_graph_of_a_broken_blueprint_prints_problems_and_exits_1(runner, broken_example_paths):
    result = runner.invoke(main, ["graph", *broken_example_paths])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "inquiry.flow.json:59:2: error:" in result.stderr


def _write_single_doc(path: Path, activity: str) -> None:
    path.write_text(
        '{"project": "demo", "activity": "%s", "states": ["work"],\n'
        ' "actions": [{"name": "work", "type": "sync"}],\n'
        ' "transitions": [\n'
        '  {"current": "init", "event": "start", "action": "work", "next": "work"},\n'
        '  {"current": "work", "event": "success", "action": "continue", "next": "done"},\n'
        '  {"current": "work", "event": "error", "action": "continue", "next": "done"}],\n'
        ' "workers": [{"name": "work", "workerEndpoint": "python://m:f", "retryCount": 0,\n'
        '              "responseTimeout": 5, "priority": 1}]}\n' % activity, encoding="utf-8")


def test_graph_with_several_blueprints_needs_a_selection(runner, tmp_path):
    _write_single_doc(tmp_path / "one.flow.json", "one")
    _write_single_doc(tmp_path / "two.flow.json", "two")
    ambiguous = runner.invoke(main, ["graph", str(tmp_path)])
    assert ambiguous.exit_code == 2, ambiguous.output
    assert "demo/one@1" in ambiguous.stderr and "demo/two@1" in ambiguous.stderr
    chosen = runner.invoke(main, ["graph", str(tmp_path), "--blueprint", "demo/two"])
    assert chosen.exit_code == 0, chosen.output
    assert "init --> work : start / work" in chosen.stdout
    versioned = runner.invoke(main, ["graph", str(tmp_path), "-b", "demo/one@1"])
    assert versioned.exit_code == 0, versioned.output
    missing = runner.invoke(main, ["graph", str(tmp_path), "-b", "demo/three"])
    assert missing.exit_code == 2
    assert "no blueprint 'demo/three'" in missing.stderr
