"""A blueprint's FSM as SVG for the console (SPEC §10 "Console"), with an instance's current state and
the path it took marked.

Two layouts, one look (the same CSS classes): Graphviz ``dot`` when it is installed (``dot -Tsvg`` on
a DOT document built here), else a built-in layered layout (states in columns by their distance from
``init``, ordered in each column by the barycentre of their neighbours, edges as curves). Classes:
``state`` on every state's group, plus ``current`` (where the instance is), ``visited`` (states it
passed through), ``end`` (``done`` and end states); ``transition`` on every edge, plus ``taken``
(edges it moved along). Every name is untrusted text: the DOT labels are escaped by
:mod:`goflow.graph`, and the built-in SVG escapes every text; ids are generated (``s0``, ``s1``...).
"""
from __future__ import annotations

import html
import shutil
import subprocess
from typing import Iterable

from .graph import _dot_label, _edges, _states, _visible, edge_label
from .model import DONE, INIT, Blueprint

__all__ = ["to_svg", "builtin_svg", "graphviz_svg", "dot_available", "path_taken"]

DOT_TIMEOUT = 10.0


def dot_available() -> str | None:
    """The path of Graphviz's ``dot``, or None."""
    return shutil.which("dot")


def path_taken(history: Iterable[dict]) -> tuple[set[str], set[tuple[str, str, str]]]:
    """``(visited states, taken edges (current, event, next))`` of an instance's history records
    (dicts as ``Engine.history`` gives them): its ``applied`` records that moved to a next state."""
    states: set[str] = set()
    edges: set[tuple[str, str, str]] = set()
    for r in history:
        if r.get("outcome") == "applied" and r.get("next") and r.get("state") is not None:
            states.update((r["state"], r["next"]))
            edges.add((r["state"], r.get("event") or "", r["next"]))
    return states, edges


def _classes(bp: Blueprint, s: str, current, visited) -> str:
    out = ["state"]
    if s == current:
        out.append("current")
    if s in visited:
        out.append("visited")
    if s == DONE or bp.end_status(s):
        out.append("end")
    return " ".join(out)


def to_svg(bp: Blueprint, current: str | None = None, visited: Iterable[str] = (),
           taken: Iterable[tuple[str, str, str]] = (), *, use_dot: bool = True) -> str:
    """The drawing: Graphviz when ``use_dot`` and it is installed (and works), else built-in."""
    visited, taken = set(visited), set(taken)
    if use_dot and dot_available():
        svg = graphviz_svg(bp, current, visited, taken)
        if svg is not None:
            return svg
    return builtin_svg(bp, current, visited, taken)


# ------------------------------------------------------------------------------------- Graphviz
def graphviz_svg(bp: Blueprint, current=None, visited=(), taken=()) -> str | None:
    """``dot -Tsvg`` of the blueprint, or None when dot fails."""
    states = _states(bp)
    ids = {s: f"s{i}" for i, s in enumerate(states)}
    lines = ["digraph goflow {", "    rankdir=LR; bgcolor=transparent;",
             '    node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=11];',
             '    edge [fontname="Helvetica", fontsize=9];',
             '    start [shape=point, width=0.12, label="", class="start"];']
    for s in states:
        shape = ", shape=doublecircle" if (s == DONE or bp.end_status(s)) else ""
        lines.append(f'    {ids[s]} [id="{ids[s]}", label={_dot_label(s)}, '
                     f'class="{_classes(bp, s, current, visited)}"{shape}];')
    lines.append(f"    start -> {ids[INIT]};")
    for i, t in enumerate(_edges(bp)):
        cls = "transition taken" if (t.current, t.event, t.next) in taken else "transition"
        lines.append(f'    {ids[t.current]} -> {ids[t.next]} [id="e{i}", label={_dot_label(edge_label(t))}, '
                     f'class="{cls}"];')
    lines.append("}")
    try:
        proc = subprocess.run([dot_available() or "dot", "-Tsvg"], input="\n".join(lines).encode(),
                              capture_output=True, timeout=DOT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    text = proc.stdout.decode("utf-8", "replace")
    start = text.find("<svg")
    return text[start:] if start >= 0 else None


# ------------------------------------------------------------------------------------- built-in
ROW, BOX_H, CHAR_W, LABEL_W, PAD, TOP = 78, 30, 7.2, 5.6, 40, 64


def _layers(bp: Blueprint, states: list[str]) -> dict[str, int]:
    """Each state's column: its longest distance from init over forward edges (back edges of a DFS
    from init ignored); states not reached from init go after the last."""
    succ: dict[str, list[str]] = {s: [] for s in states}
    for t in _edges(bp):
        succ[t.current].append(t.next)
    back: set[tuple[str, str]] = set()
    colour: dict[str, int] = {}

    def dfs(root: str) -> None:
        stack = [(root, iter(succ[root]))]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if colour.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in colour:
                    colour[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
                    break
            else:
                colour[node] = 2
                stack.pop()

    dfs(INIT)
    layer = {INIT: 0}
    order = [s for s in states if s in colour]
    for _ in range(len(order)):            # longest path over the DAG of forward edges
        changed = False
        for s in order:
            for n in succ[s]:
                if (s, n) not in back and s in layer and layer.get(n, -1) < layer[s] + 1:
                    layer[n] = layer[s] + 1
                    changed = True
        if not changed:
            break
    last = max(layer.values(), default=0)
    for s in states:
        if s not in layer:
            layer[s] = last + 1
    return layer


def _text(s: str) -> str:
    return html.escape(_visible(s), quote=True)


def builtin_svg(bp: Blueprint, current=None, visited=(), taken=()) -> str:
    states = _states(bp)
    ids = {s: f"s{i}" for i, s in enumerate(states)}
    layer = _layers(bp, states)
    columns: dict[int, list[str]] = {}
    for s in states:
        columns.setdefault(layer[s], []).append(s)
    neighbours: dict[str, list[str]] = {s: [] for s in states}
    for t in _edges(bp):
        neighbours[t.next].append(t.current)
        neighbours[t.current].append(t.next)
    row = {s: i for col in columns.values() for i, s in enumerate(col)}
    for _sweep in range(4):                 # barycentre ordering, left to right
        for c in sorted(columns):
            col = columns[c]
            col.sort(key=lambda s: (sum(row[n] for n in neighbours[s]) / len(neighbours[s]))
                     if neighbours[s] else row[s])
            for i, s in enumerate(col):
                row[s] = i
    width = {s: max(60.0, len(_visible(s)) * CHAR_W + 24) for s in states}
    # each column as wide as its widest box, then a gap as wide as the longest label leaving it
    gap = {c: 70.0 for c in columns}
    for t in _edges(bp):
        if t.current != t.next:
            c = layer[t.current]
            gap[c] = max(gap[c], len(_visible(edge_label(t))) * LABEL_W + 40)
    left, x = {}, PAD + 30.0
    for c in sorted(columns):
        left[c] = x
        x += max(width[s] for s in columns[c]) + gap[c]
    pos = {s: (left[layer[s]], TOP + row[s] * ROW) for s in states}
    w = x + PAD
    h = TOP + PAD + max(len(c) for c in columns.values()) * ROW
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fsm builtin" width="{w:.0f}" height="{h:.0f}" '
           f'viewBox="0 0 {w:.0f} {h:.0f}" role="img">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" '
           'markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    ix, iy = pos[INIT]
    out.append(f'<g class="start"><circle cx="{ix - 26:.1f}" cy="{iy + BOX_H / 2:.1f}" r="5"/>'
               f'<line x1="{ix - 21:.1f}" y1="{iy + BOX_H / 2:.1f}" x2="{ix:.1f}" y2="{iy + BOX_H / 2:.1f}" '
               f'marker-end="url(#arrow)"/></g>')
    pair_count: dict[tuple[str, str], int] = {}
    for i, t in enumerate(_edges(bp)):
        cls = "transition taken" if (t.current, t.event, t.next) in taken else "transition"
        k = pair_count[(t.current, t.next)] = pair_count.get((t.current, t.next), 0) + 1
        (x1, y1), (x2, y2) = pos[t.current], pos[t.next]
        label = _text(edge_label(t))
        if t.current == t.next:               # a loop above the box
            cx = x1 + width[t.current] / 2
            lift = 26 + 14 * k
            d = f"M{cx - 12:.1f},{y1:.1f} C{cx - 30:.1f},{y1 - lift:.1f} {cx + 30:.1f},{y1 - lift:.1f} {cx + 12:.1f},{y1:.1f}"
            lx, ly = cx, y1 - lift + 4
        else:
            forward = layer[t.next] > layer[t.current] or (layer[t.next] == layer[t.current] and row[t.next] > row[t.current])
            if forward:
                sx, sy = x1 + width[t.current], y1 + BOX_H / 2
                ex, ey = x2, y2 + BOX_H / 2
            else:
                sx, sy = x1, y1 + BOX_H / 2 + 6
                ex, ey = x2 + width[t.next], y2 + BOX_H / 2 + 6
            bend = (18 * k) * (1 if forward else -1) + (0 if forward else -24)
            mx, my = (sx + ex) / 2, (sy + ey) / 2 - bend
            d = f"M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}"
            lx, ly = mx, (sy + ey) / 2 - bend / 2 + (-4 if forward else 12)
        out.append(f'<g id="e{i}" class="{cls}"><path d="{d}" fill="none" marker-end="url(#arrow)"/>'
                   f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">{label}</text></g>')
    for s in states:
        x, y = pos[s]
        rx = BOX_H / 2 if (s == DONE or bp.end_status(s)) else 6
        out.append(f'<g id="{ids[s]}" class="{_classes(bp, s, current, visited)}"><title>{_text(s)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{width[s]:.1f}" height="{BOX_H}" rx="{rx}"/>'
                   f'<text x="{x + width[s] / 2:.1f}" y="{y + BOX_H / 2 + 4:.1f}" text-anchor="middle">{_text(s)}</text></g>')
    out.append("</svg>")
    return "\n".join(out)
