"""Running lifecycles: transitions machines that reject illegal transitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from statemachine.checks.finding import Severity
from statemachine.checks.references import suggest
from statemachine.io.registry import Registry, bundled_dir, load_registry
from statemachine.model.definition import Definition
from statemachine.runtime.errors import (
    AcknowledgementStatus,
    DefinitionError,
    GuardNotRegistered,
    IllegalTransition,
    RepeatedStatus,
    StatusConflict,
    UnknownStatus,
)
from statemachine.runtime.lifecycle import Lifecycle, Move, Step
from statemachine.runtime.machine import Guard

__all__ = [
    "AcknowledgementStatus",
    "DefinitionError",
    "Guard",
    "GuardNotRegistered",
    "IllegalTransition",
    "Lifecycle",
    "Move",
    "RepeatedStatus",
    "StatusConflict",
    "Step",
    "UnknownStatus",
    "definition",
    "lifecycle",
]


@cache
def _bundled() -> Registry:
    return load_registry([bundled_dir()])


def definition(name: str, paths: Iterable[Path] | None = None) -> Definition:
    """The definition of machine `name`, from `paths` or the bundled machines; raises
    `DefinitionError` if it does not exist or has errors."""
    bundled = _bundled()
    registry = (
        load_registry(list(paths), context=bundled.machines) if paths is not None else bundled
    )
    found = registry.get(name)
    if found is None:
        raise DefinitionError(f"unknown machine '{name}'{suggest(name, registry.machines)}")
    errors = [
        str(f)
        for f in registry.findings
        if f.severity is Severity.ERROR and f.location.file == found.file
    ]
    if errors:
        raise DefinitionError(f"{name} has errors:\n" + "\n".join(errors))
    return found


def lifecycle(
    name: str | Definition,
    guards: Mapping[str, Guard] | None = None,
    *,
    locked: bool = False,
    paths: Iterable[Path] | None = None,
) -> Lifecycle:
    """A runnable lifecycle for machine `name` (bundled unless `paths` is given)."""
    found = name if isinstance(name, Definition) else definition(name, paths)
    return Lifecycle(found, guards, locked=locked)
