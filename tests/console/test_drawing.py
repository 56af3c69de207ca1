"""The FSM drawing of the console (goflow/drawing.py): Graphviz when installed, the built-in layered
layout otherwise — both with the current state and the path taken marked, and hostile names escaped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from goflow import drawing
from goflow.loading import blueprint_from_document

from console_support import GATE, call_flow

HOSTILE = {
    "project": "obs", "activity": "hostile", "states": ['<script>alert("x")</script>', "a&b"], "actions": [],
    "transitions": [
        {"current": "init", "event": "start", "action": "continue", "next": '<script>alert("x")</script>'},
        {"current": '<script>alert("x")</script>', "event": "go", "action": "continue", "next": "a&b"},
        {"current": "a&b", "event": "again", "action": "continue", "next": "a&b"},
        {"current": "a&b", "event": "back", "action": "continue", "next": '<script>alert("x")</script>'},
        {"current": "a&b", "event": "end", "action": "continue", "next": "done"},
    ],
    "workers": [],
}
TAKEN = {("init", "start", "called"), ("called", "success", "waiting")}


def groups(svg: str) -> dict[str, str]:
    """``{id: class}`` of every <g> with a class, parsed as XML (so the SVG is well formed)."""
    root = ET.fromstring(svg)
    return {g.get("id"): g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class")}


def state_classes(svg: str) -> list[str]:
    return [c for c in groups(svg).values() if "state" in c.split()]


LAYOUTS = [pytest.param("builtin", id="builtin"),
           pytest.param("graphviz", id="graphviz", marks=pytest.mark.skipif(
               drawing.dot_available() is None, reason="Graphviz's dot is not installed (apt-get install graphviz)"))]


def draw(layout: str, bp, *args) -> str:
    if layout == "builtin":
        return drawing.builtin_svg(bp, *args)
    svg = drawing.graphviz_svg(bp, *args)
    assert svg is not None, "dot failed"
    return svg


@pytest.mark.parametrize("layout", LAYOUTS)
def test_current_state_and_path_taken_are_marked(layout):
    bp = blueprint_from_document(call_flow("http://127.0.0.1:9/w"))
    svg = draw(layout, bp, "waiting", {"init", "called", "waiting"}, TAKEN)
    classes = state_classes(svg)
    assert len(classes) == 4                                   # init, called, waiting, done
    assert sum("current" in c.split() for c in classes) == 1
    assert sum("visited" in c.split() for c in classes) == 3
    assert sum("end" in c.split() for c in classes) == 1       # done
    edges = [c for c in groups(svg).values() if "transition" in c.split()]
    assert len(edges) == 3 and sum("taken" in c.split() for c in edges) == 2
    assert "start / call" in svg and "success / continue" in svg


@pytest.mark.parametrize("layout", LAYOUTS)
def test_hostile_names_are_text(layout):
    bp = blueprint_from_document(HOSTILE)
    svg = draw(layout, bp, "a&b", {"init", "a&b"}, set())
    assert "<script" not in svg
    texts = "".join(ET.fromstring(svg).itertext())
    assert '<script>alert("x")</script>' in texts and "a&b" in texts


def test_to_svg_falls_back_to_the_builtin_layout():
    bp = blueprint_from_document(GATE)
    assert 'class="fsm builtin"' in drawing.to_svg(bp, "waiting", use_dot=False)
    if drawing.dot_available():
        assert 'class="fsm builtin"' not in drawing.to_svg(bp, "waiting")


def test_path_taken_of_a_history():
    history = [{"outcome": "created", "state": None, "next": "init"},
               {"outcome": "applied", "state": "init", "event": "start", "next": "waiting"},
               {"outcome": "refused", "state": "waiting", "event": "x", "next": None},
               {"outcome": "applied", "state": "waiting", "event": "go", "next": "done"}]
    assert drawing.path_taken(history) == ({"init", "waiting", "done"},
                                           {("init", "start", "waiting"), ("waiting", "go", "done")})
