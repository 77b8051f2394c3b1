"""Definition checks: what a check sees, and the decorator that registers one as a rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

import attrs

from statemachine.model.definition import Definition
from statemachine.model.finding import RULES, Finding, Rule, Severity, register, rule

__all__ = ["RULES", "Check", "Context", "Rule", "check", "rule"]


@attrs.frozen
class Context:
    """What a check sees: one definition, and every machine loaded beside it by name."""

    definition: Definition
    machines: Mapping[str, Definition] = attrs.field(factory=lambda: MappingProxyType({}))

    def machine(self, name: str) -> Definition | None:
        """This definition or a machine loaded beside it, by name."""
        return self.definition if name == self.definition.name else self.machines.get(name)


Check = Callable[[Context], Iterator[Finding]]


def check(code: str, name: str, severity: Severity = Severity.ERROR) -> Callable[[Check], Rule]:
    """Register a definition check; its docstring explains the rule."""

    def add(func: Check) -> Rule:
        return register(Rule(code, name, (func.__doc__ or "").strip(), severity, func))

    return add
