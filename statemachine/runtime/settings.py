"""Validating an object's settings (a campaign's retry controls) against a definition."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from statemachine.checks.references import suggest
from statemachine.io.loader import parse_duration
from statemachine.model.definition import Definition

__all__ = ["settings_problems"]


def _number(kind: str, value: Any) -> float | None:
    """The value as a number (durations in seconds), or None if it has the wrong type."""
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "duration":
        if isinstance(value, timedelta):
            return value.total_seconds()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return parse_duration(value).total_seconds()
            except ValueError:
                return None
        return None
    if kind == "boolean":
        return float(value) if isinstance(value, bool) else None
    return float(bool(value)) if isinstance(value, str) else None


def settings_problems(definition: Definition, values: Mapping[str, Any]) -> list[str]:
    """Every way `values` breaks the definition's settings; empty when they are valid."""
    problems: list[str] = []
    numbers: dict[str, float] = {}
    for name, value in values.items():
        setting = definition.settings.get(name)
        if setting is None:
            problems.append(f"unknown setting '{name}'{suggest(name, definition.settings)}")
            continue
        number = _number(setting.type, value)
        if number is None:
            problems.append(f"{name} must be a {setting.type}, not {value!r}")
            continue
        numbers[name] = number
        if setting.minimum is not None and number < setting.minimum:
            problems.append(f"{name} must be at least {setting.minimum}, not {value!r}")
    for name, number in numbers.items():
        for other in definition.settings[name].nonzero_requires:
            if number and not numbers.get(other):
                problems.append(f"a non-zero {name} needs a non-zero {other}")
    return problems
