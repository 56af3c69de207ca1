"""Every rule has a test file of its own under rules/, and the docs describe it."""
from pathlib import Path

from goflow.validation import RULES

HERE = Path(__file__).parent
DOCS = HERE.parent.parent / "docs" / "blueprints.md"


def test_every_rule_has_its_own_test_file():
    files = {p.stem[len("test_"):].replace("_", "-") for p in (HERE / "rules").glob("test_*.py")}
    assert set(RULES) == files


def test_every_rule_is_documented_with_its_level():
    text = DOCS.read_text()
    for rule, level in RULES.items():
        assert f"| `{rule}` | {level} |" in text, rule
