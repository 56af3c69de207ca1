"""docs/testing.md's example is code the suite runs: every ``python`` block of the page, in order, in
one namespace (the page's second block builds on the first)."""
from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_testing_page_example_runs():
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 2, "docs/testing.md lost its example"
    namespace: dict = {"__name__": "docs_testing_example"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert namespace["done"]["status"] == "completed"
