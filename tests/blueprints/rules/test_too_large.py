from goflow._sourcemap import MAX_BYTES
from goflow.loading import load_paths

from ..helpers import BASE, load, single


def test_text_over_the_bound_is_refused_before_parsing():
    text = BASE + " " * (MAX_BYTES + 1 - len(BASE))
    assert len(text) == MAX_BYTES + 1
    p = single(load(text))
    assert (p.level, p.rule, p.path) == ("error", "too-large", "")
    assert str(MAX_BYTES) in p.message


def test_text_at_the_bound_loads():
    text = BASE + " " * (MAX_BYTES - len(BASE))
    assert load(text).ok


def test_file_over_the_bound(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(BASE + " " * MAX_BYTES)
    p = single(load_paths([path]))
    assert (p.rule, p.file) == ("too-large", str(path))


def test_yaml_aliases_cannot_expand_without_bound():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 8):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    p = single(load("\n".join(lines) + "\n", "bomb.yaml"))
    assert p.rule == "too-large"
