"""Loading blueprints: files, directories, text and documents to :class:`~goflow.model.Blueprint`.

A blueprint comes as a flow document and a workers document with the same ``project``/``activity``
(and ``version``), or as one combined document (a flow with a ``workers`` list); JSON or YAML, by
extension, else by content. A directory is searched (recursively, hidden entries skipped) for
``.json``/``.yaml``/``.yml`` files, and flows and workers documents are paired by
``(project, activity, version)``. A flow file ``X.flow.json`` given alone is paired with its sibling
``X.workers.json`` (or ``.yaml``/``.yml``) when there is one.

Every problem is reported at once (:mod:`goflow.validation`); errors refuse a blueprint, warnings
load it, ``strict=True`` makes warnings errors. The rules are in docs/blueprints.md. A blueprint
without errors is built by :func:`goflow.dsl.to_blueprint`; :func:`blueprint_to_document` (the same
as :func:`goflow.dsl.to_document`) writes one back as a document.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ._sourcemap import MAX_BYTES, MAX_DEPTH, ParseError, Source, decode, dumps, parse_json, parse_text
from .errors import BlueprintError
from .model import Blueprint
from .problems import ERROR, WARNING, Problem
from .dsl import to_blueprint, to_document as blueprint_to_document
from .validation import Document, Item, apply_strict, check_blueprint, combined, read_document

__all__ = [
    "EXTENSIONS", "MAX_BYTES", "MAX_DEPTH", "LoadResult",
    "load_paths", "load_blueprint", "load_text", "blueprint_to_document", "blueprint_from_document",
    "bounded_document",
]

log = logging.getLogger("goflow.loading")

EXTENSIONS = (".json", ".yaml", ".yml")
_FLOW_FILE = re.compile(r"^(?P<base>.+)\.flow\.(json|yaml|yml)$", re.IGNORECASE)


@dataclass
class LoadResult:
    """What a load gave: the blueprints without errors, and every problem found (sorted by place)."""

    blueprints: list[Blueprint] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.level == ERROR for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == WARNING]


# ------------------------------------------------------------------------------------------ reading
def _read_file(path: Path) -> tuple[Document | None, list[Problem]]:
    """The document in ``path`` and its non-fatal problems, or ``None`` and why it did not parse."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, [Problem(ERROR, "unreadable", f"cannot read the file: {exc.strerror or exc}", file)]
    try:
        src, notes = parse_text(decode(data), file)
    except ParseError as exc:
        return None, [exc.problem(file)]
    return read_document(src), notes


def _expand(paths: Iterable[str | os.PathLike], problems: list[Problem]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                problems.append(Problem(ERROR, "no-blueprint", f"the directory holds no blueprint files "
                                        f"({', '.join(EXTENSIONS)})", str(path)))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(ERROR, "unreadable", "no such file or directory", str(path)))
    return files


def _siblings(docs: list[Document], seen: set[Path]) -> list[Path]:
    """``X.workers.*`` beside each flow file ``X.flow.*`` that has no ``workers`` of its own."""
    keys = {(d.project, d.activity) for d in docs if d.kind == "workers"}
    extra = []
    for d in docs:
        m = _FLOW_FILE.match(Path(d.src.file or "").name)
        if d.kind != "flow" or d.workers is not None or not m or (d.project, d.activity) in keys:
            continue
        for ext in EXTENSIONS:
            cand = Path(d.src.file).with_name(m.group("base") + ".workers" + ext)
            if cand.is_file() and cand.resolve() not in seen:
                seen.add(cand.resolve())
                extra.append(cand)
                log.debug("pairing %s with its sibling %s", d.src.file, cand)
                break
    return extra


# ------------------------------------------------------------------------------------------ pairing
def _mismatch(flow: Document, wdoc: Document) -> list[Problem]:
    out = []
    for key in ("project", "activity", "version"):
        mine, theirs = getattr(wdoc, key), getattr(flow, key)
        if mine != theirs and (key != "version" or wdoc.version_given):
            out.append(wdoc.src.problem(ERROR, "project-mismatch", f"the workers document is for {key} "
                                        f"{mine!r} but the flow ({flow.src.file or 'the flow'}) is for "
                                        f"{key} {theirs!r}; they must match", f"/{key}"))
    return out


def _assemble(docs: list[Document], problems: list[Problem], uncertain: bool, strict: bool,
              endpoints: Callable[[list[Item]], list[Problem]] | None = None) -> LoadResult:
    """Pair flows with workers documents, check every blueprint, build those without errors.
    ``endpoints``: the engine's check of the worker endpoints (goflow.transports.EndpointPolicy)."""
    uncertain = uncertain or any(not d.header_ok for d in docs)
    flows = [d for d in docs if d.kind == "flow"]
    extra: dict[int, list[Problem]] = {id(d): [] for d in flows}
    by_key: dict[tuple, Document] = {}
    for f in flows:
        if f.key in by_key:
            extra[id(f)].append(f.src.problem(ERROR, "duplicate-blueprint", f"the blueprint {f.name} is "
                                              f"also defined in {by_key[f.key].src.file}; keep one, or "
                                              f"give this one another version"))
        elif f.key is not None:
            by_key[f.key] = f
    paired: dict[int, Document] = {}
    unpaired: list[Document] = []
    wdocs = [d for d in docs if d.kind == "workers" and d.header_ok]
    for wdoc in sorted(wdocs, key=lambda d: not d.version_given):
        if wdoc.version_given:
            targets = [by_key[wdoc.key]] if wdoc.key in by_key else []
        else:   # an unversioned workers document serves every version that has no workers yet
            same = [f for f in by_key.values() if (f.project, f.activity) == (wdoc.project, wdoc.activity)]
            targets = [f for f in same if f.workers is None and id(f) not in paired] or same[:1]
        for f in targets:
            if f.workers is not None or id(f) in paired:
                first = f.src.file if f.workers is not None else paired[id(f)].src.file
                extra[id(f)].append(wdoc.src.problem(ERROR, "duplicate-workers", f"the workers of {f.name} "
                                                     f"are already given in {first}; keep one list",
                                                     "/workers"))
            else:
                paired[id(f)] = wdoc
        if not targets:
            unpaired.append(wdoc)
    lonely = [f for f in by_key.values() if f.workers is None and id(f) not in paired]
    if len(unpaired) == 1 and len(lonely) == 1:
        paired[id(lonely[0])] = unpaired[0]
        extra[id(lonely[0])].extend(_mismatch(lonely[0], unpaired[0]))
    elif not uncertain:
        for wdoc in unpaired:
            problems.append(wdoc.src.problem(ERROR, "unpaired-workers", f"no flow among the loaded files "
                                             f"is {wdoc.name}, so these workers serve nothing; load the "
                                             f"flow with them or fix project/activity/version"))
    result = LoadResult()
    for d in docs:
        if d.kind == "invalid":
            problems.extend(d.problems)
    for f in flows:
        wdoc = paired.get(id(f))
        workers: list[Item] = (f.workers or []) + (wdoc.workers or [] if wdoc else [])
        complete = f.complete.get("workers", True) and (wdoc is None or wdoc.complete.get("workers", True))
        complete = complete and (f.header_ok or f.workers is not None)
        found = f.problems + (wdoc.problems if wdoc else []) + extra[id(f)]
        found += check_blueprint(f, workers, complete)
        if endpoints is not None:
            found += endpoints(workers)
        if strict:
            found = apply_strict(found)
        problems.extend(found)
        if not any(p.level == ERROR for p in found):
            files = tuple(s for s in (f.src.file, wdoc.src.file if wdoc else None) if s)
            bp = to_blueprint(combined(f, workers), files)
            log.info("loaded blueprint %s version %s from %s (%s warnings)", bp.name, bp.version,
                     ", ".join(files) or "a document", len(found))
            result.blueprints.append(bp)
        else:
            log.info("refused blueprint %s: %s problems", f.name, len(found))
    used = {id(w) for w in paired.values()}
    for wdoc in (d for d in docs if d.kind == "workers"):
        if id(wdoc) not in used:
            problems.extend(apply_strict(wdoc.problems) if strict else wdoc.problems)
    result.problems = sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.path))
    return result


# ---------------------------------------------------------------------------------------------- API
def load_paths(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, strict: bool = False,
               endpoints: Callable[[list[Item]], list[Problem]] | None = None) -> LoadResult:
    """Load the blueprints in ``paths`` (files and directories), with every problem found
    (``endpoints``: also the worker endpoints an engine refuses, see goflow.transports.EndpointPolicy)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    problems: list[Problem] = []
    queue, seen = [], set()
    for path in _expand(paths, problems):      # a file named twice (or inside a named directory) once
        if path.resolve() not in seen:
            seen.add(path.resolve())
            queue.append(path)
    docs: list[Document] = []
    uncertain = bool(problems)
    while queue:
        for path in queue:
            doc, found = _read_file(path)
            problems.extend(found)
            if doc is None:
                uncertain = True
            else:
                docs.append(doc)
        queue = _siblings(docs, seen)
    return _assemble(docs, problems, uncertain, strict, endpoints)


def load_blueprint(*paths: str | os.PathLike, strict: bool = False) -> Blueprint:
    """Exactly one blueprint from ``paths``, or :class:`BlueprintError` listing every problem."""
    result = load_paths(paths, strict=strict)
    if not result.ok:
        raise BlueprintError(result.problems)
    if len(result.blueprints) != 1:
        names = ", ".join(bp.name for bp in result.blueprints) or "none"
        raise BlueprintError(result.problems + [Problem(
            ERROR, "not-one-blueprint", f"expected exactly one blueprint but found "
                                        f"{len(result.blueprints)} ({names}); load them with load_paths",
            ", ".join(str(p) for p in paths))])
    return result.blueprints[0]


def load_text(text: str, file: str = "<text>", *, strict: bool = False,
              endpoints: Callable[[list[Item]], list[Problem]] | None = None) -> LoadResult:
    """Load one combined document (a flow with its ``workers`` list), JSON or YAML, from ``text``."""
    try:
        src, notes = parse_text(text, file)
    except ParseError as exc:
        return LoadResult([], [exc.problem(file)])
    return _assemble([read_document(src)], notes, False, strict, endpoints)


def bounded_document(bp: Blueprint, limit: int = MAX_BYTES) -> dict:
    """The combined document of ``bp`` (:func:`blueprint_to_document`), refused with a ``too-large``
    :class:`BlueprintError` when its JSON text is over ``limit`` bytes (``limits.blueprint_bytes``)."""
    doc = blueprint_to_document(bp)
    size = len(dumps(doc).encode("utf-8", "surrogatepass"))
    if size > limit:
        raise BlueprintError([Problem(ERROR, "too-large", f"the document is {size} bytes, over the limit of "
                                      f"{limit} bytes for a blueprint (limits.blueprint_bytes)",
                                      f"{bp.project}/{bp.activity}@{bp.version}")])
    return doc


def blueprint_from_document(doc: dict, *, file: str | None = None) -> Blueprint:
    """The blueprint of one combined document given as plain data, validated like a file.

    Raises :class:`BlueprintError` when it has errors (warnings do not raise).
    """
    def fail(rule: str, message: str) -> BlueprintError:
        return BlueprintError([Problem(ERROR, rule, message, file)])

    try:
        text = dumps(doc)
    except (TypeError, ValueError) as exc:
        raise fail("wrong-type", f"the document is not plain JSON data: {exc}") from None
    except RecursionError:
        raise fail("too-deep", f"the document nests deeper than {MAX_DEPTH} levels") from None
    if len(text) > MAX_BYTES:
        raise fail("too-large", f"the document is over the limit of {MAX_BYTES} bytes for a blueprint")
    try:        # read back by the blueprint parser: the same bounds and text rules as a file
        data, _, _ = parse_json(text)
    except ParseError as exc:
        raise fail(exc.rule, exc.message) from None
    result = _assemble([read_document(Source(file, data))], [], False, False)
    if not result.ok or len(result.blueprints) != 1:
        raise BlueprintError(result.problems)
    return result.blueprints[0]
