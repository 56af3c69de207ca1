import pytest

from goflow.errors import BlueprintError
from goflow.loading import load_blueprint

from ..helpers import BASE, edit, write


def test_load_blueprint_wants_exactly_one(tmp_path):
    write(tmp_path, "a.json", BASE)
    write(tmp_path, "b.json", edit('"order"', '"refund"'))
    with pytest.raises(BlueprintError) as exc:
        load_blueprint(tmp_path)
    assert [p.rule for p in exc.value.problems] == ["not-one-blueprint"]
    assert "shop/order" in str(exc.value) and "shop/refund" in str(exc.value)


def test_load_blueprint_returns_the_one(tmp_path):
    assert load_blueprint(write(tmp_path, "a.json", BASE)).name == "shop/order"
