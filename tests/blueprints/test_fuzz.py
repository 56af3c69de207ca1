"""Fuzzing the blueprint loader: random bytes, random JSON/YAML trees, mutations of the seed.

Whatever the input, loading gives blueprints and/or problems, never another exception; every
problem is one of the documented rules at its level, names its file, carries a JSON pointer that
leads into the document (or to the object that lacks a missing field) and, where the text has one,
a line:column inside the text. Every blueprint that loads can be written back as a document, stored
as UTF-8 JSON and read back equal. Example counts are bounded: the whole module runs in seconds.
"""
from __future__ import annotations

import json
import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings, strategies as st

from goflow import dsl
from goflow._sourcemap import decode
from goflow.errors import BlueprintError
from goflow.loading import blueprint_from_document, load_paths, load_text
from goflow.validation import RULES

from .helpers import SEED

# GOFLOW_FUZZ_EXAMPLES=5000 for a deeper run by hand; the suite's default keeps the module fast.
FUZZ = settings(max_examples=int(os.environ.get("GOFLOW_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NO_POSITION = {"too-large"}          # a size has no place in the text
FLOW_TEXT = (SEED / "inquiry.flow.json").read_text(encoding="utf-8")
WORKERS_TEXT = (SEED / "inquiry.workers.json").read_text(encoding="utf-8")
FIXED = json.loads(FLOW_TEXT.replace("},\n]", "}\n]"))
WORKERS = json.loads(WORKERS_TEXT)
COMBINED = {**FIXED, "workers": WORKERS["workers"]}
YAML_FLOW = yaml.safe_dump(FIXED, sort_keys=False)
YAML_WORKERS = yaml.safe_dump(WORKERS, sort_keys=False)
MISSING = object()


# ------------------------------------------------------------------------------------- the oracle
def _resolve(data, ptr: str):
    """The value at JSON pointer ``ptr`` in ``data``, or MISSING."""
    if ptr == "":
        return data
    for token in ptr[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(data, dict) and token in data:
            data = data[token]
        elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
            data = data[int(token)]
        else:
            return MISSING
    return data


def check(result, texts: dict[str, str | None], data: dict[str, object] | None = None,
          strict: bool = False) -> None:
    """The invariants of any load. ``texts``: file -> its text (None when it is no text, e.g. not
    UTF-8); ``data``: file -> its parsed value where the test knows it; ``strict``: warnings are
    errors."""
    data = data or {}
    assert result.ok == (not result.errors)
    for p in result.problems:
        assert p.rule in RULES and p.level in (RULES[p.rule], "error" if strict else None), p
        assert isinstance(p.message, str) and p.message, p
        assert p.file in texts, p
        assert p.path == "" or p.path.startswith("/"), p
        str(p).encode("utf-8")                                  # printable on any UTF-8 terminal
        json.dumps(p.to_dict(), ensure_ascii=False).encode("utf-8")
        text = texts[p.file]
        if text is not None and p.rule not in NO_POSITION:
            assert p.line is not None and p.column is not None, p
            lines = text.split("\n")
            assert 1 <= p.line <= len(lines), p
            assert 1 <= p.column <= len(lines[p.line - 1]) + 1, p
        if p.file in data:
            found = _resolve(data[p.file], p.path)
            if found is MISSING:
                assert p.rule == "missing-field", p
                assert _resolve(data[p.file], p.path.rsplit("/", 1)[0]) is not MISSING, p
    for bp in result.blueprints:
        doc = dsl.to_document(bp)
        stored = json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
        assert blueprint_from_document(json.loads(stored)) == bp
        assert dsl.to_blueprint(doc) == bp


def check_document(doc) -> None:
    """``blueprint_from_document`` on any plain data: a blueprint or BlueprintError, nothing else."""
    try:
        bp = blueprint_from_document(doc, file="doc")
    except BlueprintError as exc:
        assert exc.problems and all(p.rule in RULES and p.file == "doc" for p in exc.problems)
        for p in exc.problems:
            str(p).encode("utf-8")
    else:
        assert dsl.to_blueprint(dsl.to_document(bp)) == bp


# --------------------------------------------------------------------------------- random bytes
TOKENS = st.sampled_from([b"{", b"}", b"[", b"]", b":", b",", b'"', b"-", b"\n", b"  ", b"a", b"1", b"null",
                          b"&a", b"*a", b"<<", b"!!", b"\xff", b"\xef\xbb\xbf", b"\\u", b"\\ud800", b"#",
                          b"---", b"\r", b"\xc2\x85", b"9" * 4400])


@FUZZ
@given(data=st.one_of(st.binary(max_size=400), st.lists(TOKENS, max_size=60).map(b"".join)),
       ext=st.sampled_from([".json", ".yaml", ""]))
@example(data=b'{"a": "\\ud800"}', ext=".json")
def test_random_bytes(tmp_path, data, ext):
    path = tmp_path / f"bp{ext}"
    path.write_bytes(data)
    try:
        text = decode(data)
    except Exception:  # noqa: BLE001 - not UTF-8: the loader says so (and where)
        text = None
    result = load_paths([path])
    check(result, {str(path): text})
    assert not result.ok and result.errors


# ---------------------------------------------------------------------------- random JSON / YAML
KEYS = st.sampled_from(sorted({f.key for table in (dsl.FLOW, dsl.WORKERS, dsl.ACTION, dsl.TRANSITION,
                                                   dsl.WORKER) for f in table} | {"x", "", "~/"}))
NAMES = st.sampled_from(["init", "done", "start", "error", "success", "timeout", "continue", "sync",
                         "async", "a", "b", "", " ", "fixed", "POST", "\ud800", "~1/", "python://m:f"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | NAMES
           | st.text(max_size=8))
TREES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(KEYS | st.text(max_size=5), kids, max_size=6), max_leaves=30)


def _dump(tree, fmt: str) -> str | None:
    try:
        if fmt == "json":
            return json.dumps(tree, indent=1, ensure_ascii=False)
        return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    except (ValueError, yaml.YAMLError):
        return None


def _plain(value) -> bool:
    """JSON keeps ``value`` as it is (no NaN or infinity, no lone surrogate)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(map(_plain, value))
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return True


@FUZZ
@given(tree=TREES, fmt=st.sampled_from(["json", "yaml"]))
def test_random_trees(tree, fmt):
    check_document(tree)
    text = _dump(tree, fmt)
    if text is not None:
        name = f"bp.{fmt}"
        check(load_text(text, name), {name: text}, {name: tree} if fmt == "json" and _plain(tree) else None)


def _leaves(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, prefix + (k,))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _leaves(v, prefix + (n,))


SEED_PATHS = [p for p in _leaves(COMBINED) if p]


def _replace(doc, path, value):
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@FUZZ
@given(path=st.sampled_from(SEED_PATHS), tree=TREES, fmt=st.sampled_from(["json", "yaml"]))
def test_random_trees_inside_the_seed(path, tree, fmt):
    doc = _replace(COMBINED, path, tree)
    check_document(doc)
    text = _dump(doc, fmt)
    if text is not None:
        name = f"bp.{fmt}"
        check(load_text(text, name), {name: text}, {name: doc} if fmt == "json" and _plain(doc) else None)


# ---------------------------------------------------------------------------- seed mutations
def _swap(value, pick: int):
    """A value of another type than ``value``."""
    others = [v for v in ("3", 3, 2.5, True, None, [], {}, [value], {"name": value})
              if type(v) is not type(value) and not (isinstance(value, (int, float)) and v in (3, 2.5))]
    return others[pick % len(others)]


@FUZZ
@given(paths=st.lists(st.sampled_from(SEED_PATHS), min_size=1, max_size=3), pick=st.integers(0, 20))
def test_type_swaps_in_the_seed(tmp_path, paths, pick):
    doc = COMBINED
    for path in paths:
        old = _resolve(doc, "/" + "/".join(map(str, path)))
        if old is not MISSING:
            doc = _replace(doc, path, _swap(old, pick))
    text = json.dumps(doc, indent=2)
    path = tmp_path / "inquiry.json"
    path.write_text(text, encoding="utf-8")
    check(load_paths([path]), {str(path): text}, {str(path): doc})
    check_document(doc)


def _mutate_lines(text: str, ops) -> str:
    lines = text.split("\n")
    for op, at in ops:
        at %= max(1, len(lines))
        if op == "delete" and lines:
            del lines[at]
        elif op == "duplicate" and lines:
            lines.insert(at, lines[at])
    return "\n".join(lines)


def _flip(data: bytes, flips) -> bytes:
    out = bytearray(data)
    for at, byte in flips:
        if out:
            out[at % len(out)] = byte
    return bytes(out)


@FUZZ
@given(ops=st.lists(st.tuples(st.sampled_from(["delete", "duplicate"]), st.integers(0, 200)), max_size=4),
       flips=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=3),
       which=st.sampled_from(["flow", "workers", "both"]), fixed=st.booleans(),
       fmt=st.sampled_from(["json", "yaml"]))
def test_line_and_byte_mutations_of_the_seed(tmp_path, ops, flips, which, fixed, fmt):
    flow = FLOW_TEXT.replace("},\n]", "}\n]") if fixed else FLOW_TEXT
    texts = {"inquiry.flow.json": flow, "inquiry.workers.json": WORKERS_TEXT}
    if fmt == "yaml":            # the seed as YAML: line edits there change indentation and nesting
        texts = {"inquiry.flow.yaml": YAML_FLOW, "inquiry.workers.yaml": YAML_WORKERS}
    tmp_path = tmp_path / fmt
    tmp_path.mkdir(exist_ok=True)
    for name in texts:
        if which in (name.split(".")[1], "both"):
            texts[name] = _mutate_lines(texts[name], ops)
    raw = {name: _flip(text.encode("utf-8"), flips if which in (name.split(".")[1], "both") else [])
           for name, text in texts.items()}
    seen: dict[str, str | None] = {}
    for name, data in raw.items():
        (tmp_path / name).write_bytes(data)
        try:
            seen[str(tmp_path / name)] = decode(data)
        except Exception:  # noqa: BLE001 - not UTF-8 any more
            seen[str(tmp_path / name)] = None
    check(load_paths([tmp_path]), seen)
    check(load_paths([tmp_path / f"inquiry.flow.{fmt}"]), seen)


# ------------------------------------------------------------------------- pairing of documents
_PROJECT = st.sampled_from(["goflow", "goflow", "other", "", 3])
_ACTIVITY = st.sampled_from(["inquiry", "inquiry", "refund", None])
_VERSION = st.sampled_from([1, 1, 2, 0, "1", 2**31])
HEADERS = (st.fixed_dictionaries({"project": _PROJECT, "activity": _ACTIVITY}, optional={"version": _VERSION})
           | st.fixed_dictionaries({}, optional={"project": _PROJECT, "activity": _ACTIVITY,
                                                 "version": _VERSION}))
KINDS = st.sampled_from(["flow", "workers", "combined"])
NAMES_OF_FILES = st.sampled_from(["a.json", "inquiry.flow.json", "inquiry.workers.json", "b.yaml",
                                  "sub/inquiry.flow.yml", "sub/inquiry.workers.yaml", "c.yml"])


@FUZZ
@given(docs=st.lists(st.tuples(KINDS, HEADERS, NAMES_OF_FILES), min_size=1, max_size=5,
                     unique_by=lambda d: d[2]), strict=st.booleans())
def test_any_set_of_documents_pairs_or_says_why(tmp_path, docs, strict):
    """Flows, workers documents and combined ones with clashing or broken headers, in one load."""
    root = tmp_path / "set"
    if root.exists():
        for old in sorted(root.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
    texts, data = {}, {}
    for kind, header, name in docs:
        body = {"flow": {k: v for k, v in FIXED.items() if k not in ("project", "activity", "version")},
                "workers": {"workers": WORKERS["workers"]},
                "combined": {k: v for k, v in COMBINED.items() if k not in ("project", "activity")}}[kind]
        doc = {**header, **body}
        text = json.dumps(doc, indent=1) if name.endswith(".json") else yaml.safe_dump(doc, sort_keys=False)
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        texts[str(path)], data[str(path)] = text, doc
    result = load_paths([root], strict=strict)
    check(result, texts, data, strict)
    event(f"{len(result.blueprints)} blueprints loaded")
    flows = {(d.get("project"), d.get("activity"), d.get("version", 1)) for k, d in
             ((k, {**h}) for k, h, _ in docs) if k != "workers"}
    keys = [bp.key for bp in result.blueprints]
    assert len(keys) == len(set(keys)) and set(keys) <= flows      # one blueprint per flow at most
    if strict:
        assert result.warnings == []


def test_the_unmutated_seed_passes_the_oracle(tmp_path):
    """The oracle itself accepts a good load (so the properties above can fail only on a defect)."""
    path = tmp_path / "s.json"
    text = json.dumps(COMBINED, indent=2)
    path.write_text(text, encoding="utf-8")
    result = load_paths([path])
    assert result.ok and len(result.blueprints) == 1 and len(result.warnings) == 4
    check(result, {str(path): text}, {str(path): COMBINED})


@pytest.mark.parametrize("ptr, expected", [("", COMBINED), ("/states/0", "calculate_balance"),
                                           ("/states/9", MISSING), ("/nope", MISSING)])
def test_the_pointer_oracle(ptr, expected):
    found = _resolve(COMBINED, ptr)
    assert found is MISSING if expected is MISSING else found == expected
