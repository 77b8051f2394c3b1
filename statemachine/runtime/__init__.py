"""Running lifecycles: transitions machines that reject illegal transitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from statemachine.checks.finding import Severity
from statemachine.checks.references import suggest
from statemachine.io.index import machine_index
from statemachine.io.loader import load_file
from statemachine.io.registry import bundled_dir, load_registry
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
from statemachine.runtime.streams import (
    DEFAULT_POLICY,
    Action,
    Event,
    Policy,
    Rejected,
    RejectedRepeat,
    RejectedUnknown,
    Verdict,
)

__all__ = [
    "DEFAULT_POLICY",
    "AcknowledgementStatus",
    "Action",
    "DefinitionError",
    "Event",
    "Guard",
    "GuardNotRegistered",
    "IllegalTransition",
    "Lifecycle",
    "Move",
    "Policy",
    "Rejected",
    "RejectedRepeat",
    "RejectedUnknown",
    "RepeatedStatus",
    "StatusConflict",
    "Step",
    "UnknownStatus",
    "Verdict",
    "definition",
    "lifecycle",
]


@cache
def _bundled(name: str) -> Definition:
    return _load(name, [bundled_dir()], None)


def _load(name: str, paths: list[Path], bundled: Path | None) -> Definition:
    """Machine `name` from `paths`, checked with the machines its mappings refer to (found
    under `paths`, then among the bundled machines when `bundled` is set): only their files
    are read."""
    index = machine_index(paths)
    files = index.get(name)
    if not files:
        raise DefinitionError(f"unknown machine '{name}'{suggest(name, index)}")
    around = machine_index([bundled]) if bundled is not None else {}
    first = load_file(files[0]).definition
    refs = {n for m in first.mappings.values() for n in (m.keys, m.values) if n} if first else set()
    own = [index[ref][0] for ref in sorted(refs - {name}) if ref in index]
    # the bundled machines it refers to, and a bundled one of the same name (SM081)
    context = {
        other: load_file(around[other][0]).definition
        for other in sorted((refs - set(index)) | {name})
        if other in around
    }
    registry = load_registry(
        [*files, *own],
        context={other: d for other, d in context.items() if d is not None},
        report=files,
    )
    found = registry.get(name)
    errors = [
        str(f)
        for f in registry.findings
        if f.severity is Severity.ERROR and f.location.file == str(files[0])
    ]
    if errors:
        raise DefinitionError(f"{name} has errors:\n" + "\n".join(errors))
    if found is None:  # the index misread a `machine:` line: load everything
        full = load_registry(paths, context=load_registry([bundled]).machines if bundled else None)
        found = full.get(name)
        if found is None:
            raise DefinitionError(f"unknown machine '{name}'{suggest(name, full.machines)}")
    return found


def definition(name: str, paths: Iterable[Path] | None = None) -> Definition:
    """The definition of machine `name`, from `paths` or the bundled machines; raises
    `DefinitionError` if it does not exist, cannot be read or has errors. Only the file that
    defines it and those of the machines it refers to are read."""
    try:
        return _bundled(name) if paths is None else _load(name, list(paths), bundled_dir())
    except OSError as err:
        raise DefinitionError(f"cannot read {err}") from err


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
