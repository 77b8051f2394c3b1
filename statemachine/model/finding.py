"""A finding (one problem at one place) and the rules whose stable codes findings carry."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from statemachine.model.location import Location

__all__ = ["RULES", "Finding", "Rule", "Severity", "register", "rule"]


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


@attrs.frozen
class Rule:
    """A stable code, a short name, a severity and the text that explains it; `check`, when
    set, finds its problems in a definition (see `statemachine.checks.rule.Context`)."""

    code: str
    name: str
    doc: str
    severity: Severity = Severity.ERROR
    check: Callable[[Any], Iterator[Finding]] | None = attrs.field(
        default=None, eq=False, repr=False
    )

    def at(self, location: Location, message: str) -> Finding:
        """A finding of this rule at `location`."""
        return Finding(location, self.code, message, self.severity)


#: every rule by code: those the reader and loader report, and every registered check
RULES: dict[str, Rule] = {}


def rule(code: str, name: str, doc: str, severity: Severity = Severity.ERROR) -> Rule:
    """Register a rule that the reader or loader reports (no check function)."""
    return register(Rule(code, name, doc, severity))


def register(new: Rule) -> Rule:
    """Add `new` to `RULES`; a code may be registered once."""
    if new.code in RULES:
        raise ValueError(f"rule {new.code} registered twice")
    RULES[new.code] = new
    return new
