"""What the configuration reader reports: errors and warnings at a file and line.

The reader never stops at the first problem: every stage adds what it finds
to one :class:`Problems` list, so ``configtest`` shows them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem; ``line`` is 0 for a problem with a whole file."""

    file: str
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {label}{self.message}"


class Problems:
    """An ordered collection of problems, filled by the lexer, parser and builder."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, file: str, line: int, message: str) -> None:
        self.items.append(Problem(file, line, "error", message))

    def warning(self, file: str, line: int, message: str) -> None:
        self.items.append(Problem(file, line, "warning", message))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)

    def sorted(self, files: tuple[str, ...] = ()) -> list[Problem]:
        """By file (in the order the files were read) and line; stable otherwise."""
        order = {name: index for index, name in enumerate(files)}
        return sorted(self.items, key=lambda p: (order.get(p.file, -1), p.line))
