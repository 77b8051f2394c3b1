"""Running lifecycles: transitions machines that reject illegal transitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from statemachine.checks import check_definition
from statemachine.checks.finding import Finding, Severity
from statemachine.checks.references import suggest
from statemachine.io.index import machine_index
from statemachine.io.loader import load_file
from statemachine.io.registry import bundled_dir, load_registry
from statemachine.model.definition import Definition
from statemachine.runtime.coupling import OK, Counts, Coupling, Judgement
from statemachine.runtime.errors import (
    AcknowledgementStatus,
    DefinitionError,
    GuardNotRegistered,
    IllegalTransition,
    RepeatedStatus,
    StatusConflict,
    UnknownMachine,
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
    "OK",
    "AcknowledgementStatus",
    "Action",
    "Counts",
    "Coupling",
    "DefinitionError",
    "Event",
    "Guard",
    "GuardNotRegistered",
    "IllegalTransition",
    "Judgement",
    "Lifecycle",
    "Move",
    "Policy",
    "Rejected",
    "RejectedRepeat",
    "RejectedUnknown",
    "RepeatedStatus",
    "StatusConflict",
    "Step",
    "UnknownMachine",
    "UnknownStatus",
    "Verdict",
    "coupling",
    "definition",
    "lifecycle",
]


@cache
def _bundled(name: str) -> Definition:
    return _load(name, [bundled_dir()], None)


def _load(name: str, paths: list[Path], bundled: Path | None) -> Definition:
    """Machine `name` from `paths`, checked with the machines its mappings and relations
    refer to (found under `paths`, then among the bundled machines when `bundled` is set):
    only their files are read."""
    index = machine_index(paths)
    files = index.get(name)
    if not files:
        raise UnknownMachine(f"unknown machine {name!r}{suggest(name, index)}")
    around = machine_index([bundled]) if bundled is not None else {}
    if len(files) > 1 or name in around:
        # defined twice (SM080) or under a bundled name (SM081): load all, as `check` does
        return _everything(name, paths, bundled)
    loaded = load_file(files[0])
    found = loaded.definition
    findings = list(loaded.findings)
    if found is not None:
        if found.name != name:  # the index misread a `machine:` line
            return _everything(name, paths, bundled)
        refs = {n for m in found.mappings.values() for n in (m.keys, m.values) if n}
        refs.update(found.related)  # a relation's rules name the child's states and mappings
        context = {}
        for ref in sorted(refs - {name}):
            where = index.get(ref) or around.get(ref)
            other = load_file(where[0]).definition if where else None
            if other is not None:
                context[ref] = other
        findings.extend(check_definition(found, context))
    return _refused_or(name, found, findings, loaded.file)


def _everything(name: str, paths: list[Path], bundled: Path | None) -> Definition:
    """Machine `name`, every file under `paths` loaded and checked together."""
    registry = load_registry(paths, context=load_registry([bundled]).machines if bundled else None)
    found = registry.get(name)
    if found is None:
        raise UnknownMachine(f"unknown machine {name!r}{suggest(name, registry.machines)}")
    return _refused_or(name, found, registry.findings, found.file)


def _refused_or(
    name: str, found: Definition | None, findings: Iterable[Finding], file: str
) -> Definition:
    """`found`, unless `file` has errors: then `DefinitionError` lists them."""
    errors = [
        str(f)
        for f in sorted(set(findings))
        if f.severity is Severity.ERROR and f.location.file == file
    ]
    if errors or found is None:
        raise DefinitionError(f"{name} has errors:\n" + "\n".join(errors))
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
    """A runnable lifecycle for machine `name` (bundled unless `paths` is given).

    Each call builds a new Lifecycle, but every Lifecycle in the process shares the
    per-entity locks (`Lifecycle.lock_for`): two handlers that each call
    `lifecycle("dialnexa.call")` still serialise `advance` on the same entity. `locked=True`
    also makes the trigger style thread-safe (transitions' LockedMachine, imported only
    then)."""
    found = name if isinstance(name, Definition) else definition(name, paths)
    return Lifecycle(found, guards, locked=locked)


def coupling(
    parent: str | Definition,
    child: str | Definition,
    *,
    paths: Iterable[Path] | None = None,
) -> Coupling:
    """The rules between machine `parent` and its related machine `child` (bundled unless
    `paths` is given), ready to judge a child's start (`judge_start`) and a parent's move
    (`judge_move`). Raises `DefinitionError` when `parent` declares no relation to `child`.
    Made once per pair of definitions and shared; safe to use from any thread."""
    found = parent if isinstance(parent, Definition) else definition(parent, paths)
    other = child if isinstance(child, Definition) else definition(child, paths)
    return Coupling.of(found, other)
