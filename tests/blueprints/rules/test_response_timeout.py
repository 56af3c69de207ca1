import pytest

from ..helpers import at, edit, load, locate, single


@pytest.mark.parametrize("value", ["0", "-3"])
def test_response_timeout_must_be_positive(value):
    text = edit('"responseTimeout": 2', f'"responseTimeout": {value}')
    p = single(load(text))
    assert at(p) == ("error", "response-timeout", "/workers/0/responseTimeout",
                     *locate(text, f"{value}, \"priority\""))
