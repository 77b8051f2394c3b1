"""The checks a definition must pass, each a rule with a stable code (see `RULES`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from statemachine.checks import coupling, evidence, graph, names, references, values
from statemachine.checks.finding import Finding, Severity
from statemachine.checks.rule import RULES, Context, Rule
from statemachine.model.definition import Definition

__all__ = ["RULES", "Finding", "Rule", "Severity", "check_definition"]

_MODULES = (references, graph, names, values, evidence, coupling)


def check_definition(
    definition: Definition, machines: Mapping[str, Definition] | None = None
) -> list[Finding]:
    """Every finding of every registered check on `definition`, sorted by location."""
    ctx = Context(definition, machines or {})
    found: Iterable[Finding] = (
        finding for rule in RULES.values() if rule.check for finding in rule.check(ctx)
    )
    return sorted(set(found))
