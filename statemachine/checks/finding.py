"""A finding: one problem in a definition, at one place (defined in `statemachine.model`)."""

from __future__ import annotations

from statemachine.model.finding import Finding, Severity

__all__ = ["Finding", "Severity"]
