import pytest

from ..helpers import at, edit, load, locate, single


@pytest.mark.parametrize("value", ["0", "-3", "3600.5", "1e9"])
def test_response_timeout_must_be_positive_and_at_most_an_hour(value):
    text = edit('"responseTimeout": 2', f'"responseTimeout": {value}')
    p = single(load(text))
    assert at(p) == ("error", "response-timeout", "/workers/0/responseTimeout",
                     *locate(text, f"{value}, \"priority\""))


def test_an_hour_is_the_longest_response_timeout():
    assert load(edit('"responseTimeout": 2', '"responseTimeout": 3600')).ok
