"""Loading many definition files: a directory tree, or the machines bundled with the package."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import attrs

from statemachine.checks import check_definition
from statemachine.checks.finding import Finding
from statemachine.checks.rule import rule
from statemachine.io.loader import Loaded, load_file
from statemachine.model.definition import Definition

__all__ = ["Registry", "bundled_dir", "definition_files", "load_registry"]

SUFFIXES = (".yaml", ".yml")

DUPLICATE_MACHINE = rule(
    "SM080",
    "duplicate-machine",
    "Two files may not define the same machine name: a reference to it would be ambiguous.",
)


def bundled_dir() -> Path:
    """The `machines/` directory shipped with the package (the repository's in a checkout)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "bundled"
    return installed if installed.is_dir() else package.parent / "machines"


def definition_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Each YAML file named, and every YAML file below each directory named, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            yield path


@attrs.frozen
class Registry:
    """Every definition loaded from a set of files, by machine name, with all findings."""

    machines: Mapping[str, Definition]
    findings: tuple[Finding, ...]
    files: tuple[Loaded, ...]

    def get(self, name: str) -> Definition | None:
        return self.machines.get(name)


def load_registry(
    paths: Iterable[Path],
    *,
    root: Path | None = None,
    context: Mapping[str, Definition] | None = None,
) -> Registry:
    """Load and check every definition under `paths`. Cross-machine references resolve among
    the machines loaded together, then among `context` (machines not checked or returned,
    such as the bundled ones a user's mapping refers to)."""
    loaded: list[Loaded] = []
    for path in definition_files(paths):
        display = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        loaded.append(load_file(path, display))
    machines: dict[str, Definition] = {}
    findings: list[Finding] = []
    for item in loaded:
        findings.extend(item.findings)
        d = item.definition
        if d is None:
            continue
        if d.name in machines:
            findings.append(
                DUPLICATE_MACHINE.at(
                    d.location,
                    f"machine '{d.name}' is already defined in {machines[d.name].location}; "
                    "rename one of them",
                )
            )
            continue
        machines[d.name] = d
    known = {**(context or {}), **machines}
    for d in machines.values():
        findings.extend(check_definition(d, known))
    return Registry(MappingProxyType(machines), tuple(sorted(set(findings))), tuple(loaded))
