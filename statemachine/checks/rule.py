"""Rules: the stable codes a finding carries, and their registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

import attrs

from statemachine.checks.finding import Finding, Severity
from statemachine.model.definition import Definition
from statemachine.model.location import Location

__all__ = ["RULES", "Check", "Context", "Rule", "check", "rule"]


@attrs.frozen
class Context:
    """What a check sees: one definition, and every machine loaded beside it by name."""

    definition: Definition
    machines: Mapping[str, Definition] = attrs.field(factory=lambda: MappingProxyType({}))


Check = Callable[[Context], Iterator[Finding]]


@attrs.frozen
class Rule:
    """A stable code, a short name, a severity and the text that explains it."""

    code: str
    name: str
    doc: str
    severity: Severity = Severity.ERROR
    check: Check | None = attrs.field(default=None, eq=False, repr=False)

    def at(self, location: Location, message: str) -> Finding:
        """A finding of this rule at `location`."""
        return Finding(location, self.code, message, self.severity)


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, doc: str, severity: Severity = Severity.ERROR) -> Rule:
    """Register a rule that the loader reports (no check function)."""
    if code in RULES:
        raise ValueError(f"rule {code} registered twice")
    RULES[code] = Rule(code, name, doc, severity)
    return RULES[code]


def check(code: str, name: str, severity: Severity = Severity.ERROR) -> Callable[[Check], Rule]:
    """Register a definition check; its docstring explains the rule."""

    def register(func: Check) -> Rule:
        if code in RULES:
            raise ValueError(f"rule {code} registered twice")
        RULES[code] = Rule(code, name, (func.__doc__ or "").strip(), severity, func)
        return RULES[code]

    return register
