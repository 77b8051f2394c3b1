"""Where something stands in a definition file."""

from __future__ import annotations

import attrs

__all__ = ["Location"]


@attrs.frozen(order=True)
class Location:
    """A 1-based line and column in a file."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"
