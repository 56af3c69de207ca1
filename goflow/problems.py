"""A problem found in a blueprint: an error (refuses it) or a warning (loads it)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Problem", "ERROR", "WARNING"]

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding.

    ``rule`` is a stable identifier (e.g. ``"syntax"``, ``"unknown-state"``); ``path`` is a JSON
    pointer into the document (``""`` for the whole document); ``line``/``column`` are 1-based and
    ``None`` where the text has no position for the path.
    """

    level: str
    rule: str
    message: str
    file: str | None = None
    path: str = ""
    line: int | None = None
    column: int | None = None

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def location(self) -> str:
        where = self.file or "<blueprint>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return where

    def __str__(self) -> str:
        at = f" (at {self.path})" if self.path else ""
        return f"{self.location()}: {self.level}: {self.message}{at} [{self.rule}]"

    def to_dict(self) -> dict:
        return asdict(self)
