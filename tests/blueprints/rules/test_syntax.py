from goflow.loading import load_paths

from ..helpers import BASE, at, edit, load, locate, single, write


def test_trailing_comma_in_array_is_reported_at_the_comma():
    text = edit('"next": "done"}\n  ],', '"next": "done"},\n  ],')
    p = single(load(text))
    assert at(p) == ("error", "syntax", "", *locate(text, ",\n  ],"))
    assert "trailing comma" in p.message


def test_trailing_comma_in_object_is_reported_at_the_comma():
    text = edit('"priority": 1}', '"priority": 1,}')
    p = single(load(text))
    assert (p.rule, p.line, p.column) == ("syntax", *locate(text, ",}"))
    assert "trailing comma" in p.message and "object" in p.message


def test_missing_comma_points_at_the_next_member():
    text = edit('"project": "shop",', '"project": "shop"')
    p = single(load(text))
    assert (p.rule, p.line, p.column) == ("syntax", *locate(text, '"activity"'))
    assert "comma missing" in p.message


def test_unclosed_object_says_where_it_opened():
    p = single(load('{"project": "shop"'))
    assert (p.line, p.column) == (1, 19)
    assert "opened at 1:1" in p.message


def test_comments_are_not_json():
    text = edit('  "activity"', '  // the activity\n  "activity"')
    p = single(load(text))
    assert (p.line, p.column) == locate(text, "//")
    assert "comments" in p.message


def test_yaml_syntax_error_has_its_position():
    p = single(load("project: shop\nstates: [pay\n", "bp.yaml"))
    assert p.rule == "syntax" and p.line == 3 and p.column == 1
    assert p.message.startswith("YAML syntax error")


def test_yaml_tags_are_refused_not_evaluated():
    p = single(load("project: !!python/object/apply:os.system ['true']\n", "bp.yaml"))
    assert (p.rule, p.line, p.column) == ("syntax", 1, 10)
    assert "not allowed" in p.message


def test_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{\n  "project": "sh\xffop"\n}')
    p = single(load_paths([path]))
    assert (p.rule, p.file, p.line, p.column) == ("syntax", str(path), 2, 17)
    assert "UTF-8" in p.message


def test_only_the_broken_file_has_a_problem(tmp_path):
    write(tmp_path, "a.json", BASE)
    write(tmp_path, "b.json", "{")
    result = load_paths([tmp_path])
    assert [p.file for p in result.problems] == [str(tmp_path / "b.json")]
    assert [bp.name for bp in result.blueprints] == ["shop/order"]
