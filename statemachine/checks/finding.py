"""A finding: one problem in a definition, at one place."""

from __future__ import annotations

import enum

import attrs

from statemachine.model.location import Location

__all__ = ["Finding", "Severity"]


class Severity(enum.StrEnum):
    """How bad a finding is: an error fails `check`; a warning only with `--strict`."""

    ERROR = "error"
    WARNING = "warning"


@attrs.frozen(order=True)
class Finding:
    """One problem found at one location, with a stable code."""

    location: Location
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.location}: {self.code} {self.message}"
