"""Checks that every state and transition says where it comes from."""

from __future__ import annotations

from collections.abc import Iterator

from statemachine.checks.finding import Finding, Severity
from statemachine.checks.rule import Context, check


@check("SM070", "missing-evidence", Severity.WARNING)
def missing_evidence(ctx: Context) -> Iterator[Finding]:
    """Every state (with its final flag) and every transition should carry `evidence`:
    `documented` with a pointer into the source document, or `inferred` with a one-line
    reason. Applies to definitions that declare `sources`: a lifecycle that claims to follow
    provider documents must not invent silently."""
    d = ctx.definition
    if not d.sources:
        return
    for state in d.states.values():
        if state.evidence is None:
            yield missing_evidence.at(
                state.location,
                f"state '{state.name}' has no evidence; add `evidence: {{documented: ...}}` "
                "or `{inferred: ...}`",
            )
    reported: set[int] = set()
    for t in d.transitions:
        if t.evidence is None and t.location.line not in reported:
            reported.add(t.location.line)
            yield missing_evidence.at(
                t.location,
                f"transition '{t.trigger}' to '{t.dest}' has no evidence; add "
                "`evidence: {documented: ...}` or `{inferred: ...}`",
            )
