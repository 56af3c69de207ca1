"""Draw a blueprint's FSM: Mermaid ``stateDiagram-v2`` and Graphviz DOT.

Both drawings show every state (``init``, the declared states, the end states, ``done``), a start
marker pointing at ``init``, an end marker on ``done`` and on every end state of the blueprint's
``end`` (SPEC §8; those that end ``failed`` drawn in red), and one edge per transition labelled
``event / action``, with ``(after 5s)`` appended when the transition has a delay. Postponing
transitions move nothing and have no edge.

Names come from blueprint files, which are untrusted input: nothing from a name reaches the output
unescaped. In Mermaid, a name that is not a plain identifier becomes a generated id with the name as
its quoted description, and every character outside a small safe set is written as a Mermaid entity
code (``#35;``). In DOT, node ids are quoted (or generated, for names holding a quote, a backslash or
a control character) and labels are plain quoted strings only when they hold no character DOT or
Graphviz would interpret; otherwise they are HTML-like labels with every special character escaped.
"""
from __future__ import annotations

import re
import unicodedata

from .model import DONE, INIT, Blueprint, Transition

__all__ = ["to_mermaid", "to_dot", "edge_label", "FORMATS", "render"]

FORMATS = ("mermaid", "dot")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Words the stateDiagram grammar gives a meaning to; a state with such a name gets a generated id.
_MERMAID_KEYWORDS = frozenset({
    "state", "note", "end", "as", "direction", "classdef", "class", "style", "click", "link",
    "acctitle", "accdescr", "hide", "scale", "fork", "join", "choice", "left", "right", "of",
    "statediagram", "statediagram-v2", "default", "concurrent", "title",
})
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,/()+=@-]")


def _format_delay(seconds: float) -> str:
    return f"{seconds:g}s"


def edge_label(t: Transition) -> str:
    """The text on a transition's edge: ``event / action``, plus ``(after Ns)`` for a delay."""
    label = f"{t.event} / {t.action}"
    if t.delay:
        label += f" (after {_format_delay(t.delay)})"
    return label


def _states(bp: Blueprint) -> list[str]:
    """Every state once, in a stable order: init, declared states, done, then any state a transition
    names that the blueprint does not declare (a validated blueprint has none)."""
    seen: dict[str, None] = {}
    for name in (INIT, *bp.states, *bp.end_states, DONE):
        seen.setdefault(name, None)
    for t in _edges(bp):
        seen.setdefault(t.current, None)
        seen.setdefault(t.next, None)
    return list(seen)


def _edges(bp: Blueprint) -> list[Transition]:
    """The transitions that move (postponing ones keep their event and have no ``next``)."""
    return [t for t in bp.transitions if not t.postpone]


# --------------------------------------------------------------------------------------- Mermaid

def _mermaid_text(text: str) -> str:
    """``text`` with every character outside a safe set written as a Mermaid entity code."""
    return "".join(ch if _MERMAID_SAFE.match(ch) else f"#{ord(ch)};" for ch in text)


def _mermaid_ids(states: list[str]) -> dict[str, str]:
    plain = {s for s in states if _IDENT.match(s) and s.lower() not in _MERMAID_KEYWORDS}
    ids: dict[str, str] = {}
    taken = set(plain)
    counter = 0
    for s in states:
        if s in plain:
            ids[s] = s
            continue
        while f"state_{counter}" in taken:
            counter += 1
        ids[s] = f"state_{counter}"
        taken.add(ids[s])
    return ids


def to_mermaid(bp: Blueprint) -> str:
    """The blueprint's FSM as a Mermaid ``stateDiagram-v2`` (ends with a newline)."""
    states = _states(bp)
    ids = _mermaid_ids(states)
    lines = [
        "stateDiagram-v2",
        f"    %% {_mermaid_text(f'{bp.project}/{bp.activity} version {bp.version}')}",
    ]
    for s in states:
        if ids[s] == s:
            lines.append(f"    {s}")
        else:
            lines.append(f'    state "{_mermaid_text(s)}" as {ids[s]}')
    lines.append(f"    [*] --> {ids[INIT]}")
    for t in _edges(bp):
        lines.append(f"    {ids[t.current]} --> {ids[t.next]} : {_mermaid_text(edge_label(t))}")
    for name in bp.end_states:
        lines.append(f"    {ids[name]} --> [*]")
    lines.append(f"    {ids[DONE]} --> [*]")
    failed = [ids[name] for name, status in bp.end if status == "failed"]
    if failed:
        lines.append("    classDef failedEnd fill:#f8d7da,stroke:#b02a37")
        lines.append(f"    class {','.join(failed)} failedEnd")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- DOT

def _visible(text: str) -> str:
    """``text`` with control characters (other than newline) shown as ``\\xNN`` text."""
    out = []
    for ch in text:
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs"):
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _dot_label(text: str) -> str:
    """A DOT label attribute value for ``text``, to be shown literally.

    Quoted when the text holds nothing DOT's lexer or Graphviz's label escapes would act on
    (``"``, ``\\``, ``&``, ``<``/``>`` are kept out for good measure, and control characters);
    otherwise an HTML-like label with XML escaping, where backslashes have no meaning.
    """
    if not re.search(r'["\\&<>]', text) and not any(
            unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        return f'"{text}"'
    text = _visible(text)
    text = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
    return "<" + text.replace("\n", "<br/>") + ">"


def _dot_ids(states: list[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for i, s in enumerate(states):
        plain = (s and not s.startswith("#") and not re.search(r'["\\]', s)
                 and not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in s))
        ids[s] = f'"{s}"' if plain else f'"#{i}"'
    return ids


def to_dot(bp: Blueprint) -> str:
    """The blueprint's FSM as a Graphviz ``digraph`` (ends with a newline).

    ``init`` is pointed at by a start point node; ``done`` and the end states are double circles
    (red for an end state that ends ``failed``).
    """
    states = _states(bp)
    ids = _dot_ids(states)
    title = f"{bp.project}/{bp.activity} version {bp.version}"
    lines = [
        "digraph goflow {",
        f"    label={_dot_label(title)};",
        "    labelloc=t;",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    "#start" [shape=point, width=0.15, label=""];',
    ]
    for s in states:
        status = bp.end_status(s)
        extra = ", shape=doublecircle" if status else ""
        if status == "failed":
            extra += ', color="#b02a37", fontcolor="#b02a37"'
        lines.append(f"    {ids[s]} [label={_dot_label(s)}{extra}];")
    lines.append(f'    "#start" -> {ids[INIT]};')
    for t in _edges(bp):
        lines.append(f"    {ids[t.current]} -> {ids[t.next]} [label={_dot_label(edge_label(t))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(bp: Blueprint, fmt: str) -> str:
    """``to_mermaid`` or ``to_dot`` by format name (one of :data:`FORMATS`)."""
    if fmt == "mermaid":
        return to_mermaid(bp)
    if fmt == "dot":
        return to_dot(bp)
    raise ValueError(f"unknown graph format {fmt!r}; choose one of {', '.join(FORMATS)}")
