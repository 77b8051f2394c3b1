"""Loading many definition files: a directory tree, or the machines bundled with the package."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import attrs

from statemachine.checks import check_definition
from statemachine.io.files import definition_files
from statemachine.io.loader import Loaded, load_file
from statemachine.model.definition import Definition
from statemachine.model.finding import RULES, Finding, rule

#: `RULES` re-exported from here holds every rule: the reader's, the loader's and the checks'
__all__ = ["RULES", "Registry", "bundled_dir", "load_registry", "within"]

DUPLICATE_MACHINE = rule(
    "SM080",
    "duplicate-machine",
    "Two files may not define the same machine name: a reference to it would be ambiguous.",
)
SHADOWS_BUNDLED = rule(
    "SM081",
    "shadows-bundled-machine",
    "A user's machine may not take the name of a machine bundled with the package: the "
    "bundled machines stay available by name to the user's mappings, so a second machine of "
    "that name would replace it silently.",
)


def bundled_dir() -> Path:
    """The `machines/` directory shipped with the package (the repository's in a checkout)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "bundled"
    return installed if installed.is_dir() else package.parent / "machines"


@attrs.frozen
class Registry:
    """Every definition loaded from a set of files, by machine name, with all findings;
    `context` holds the machines loaded beside them as references only (the bundled ones)."""

    machines: Mapping[str, Definition]
    findings: tuple[Finding, ...]
    files: tuple[Loaded, ...]
    context: Mapping[str, Definition] = attrs.field(factory=lambda: MappingProxyType({}))

    def get(self, name: str) -> Definition | None:
        return self.machines.get(name)


def _same_file(bundled: Path, real: Path) -> bool:
    """Whether resolved `real` is the bundled file or a copy of it: a copy replaces nothing (a
    checkout's `machines/` beside the package installed from it holds copies)."""
    return bundled.resolve() == real or bundled.read_bytes() == real.read_bytes()


def within(path: Path, folders: set[Path]) -> bool:
    """Whether resolved `path` is one of `folders` or lies below one."""
    return path in folders or any(parent in folders for parent in path.parents)


def load_registry(
    paths: Iterable[Path],
    *,
    root: Path | None = None,
    context: Mapping[str, Definition] | None = None,
    report: Iterable[Path] | None = None,
) -> Registry:
    """Load and check every definition under `paths` (a file reached twice is loaded once).
    Cross-machine references resolve among the machines loaded together, then among
    `context` (machines not checked or returned, such as the bundled ones a user's mapping
    refers to; taking one of their names is SM081). With `report`, only the files at or
    under those paths are listed and have their findings reported: the rest is context."""
    context = context or {}
    wanted = None if report is None else {p.resolve() for p in report}
    loaded: list[Loaded] = []
    reported: set[str] = set()
    where: dict[str, Path] = {}
    seen: set[Path] = set()
    for path in definition_files(paths):
        real = path.resolve()
        if real in seen:
            continue
        seen.add(real)
        display = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        where[display] = real
        loaded.append(load_file(path, display))
        if wanted is None or within(real, wanted):
            reported.add(display)
    machines: dict[str, Definition] = {}
    findings: list[Finding] = []
    for item in loaded:
        findings.extend(item.findings)
        d = item.definition
        if d is None:
            continue
        first = machines.get(d.name)
        if first is not None:
            message = f"machine '{d.name}' is already defined in {first.location}"
            here = d.location
            if d.file not in reported and first.file in reported:
                # reported where the user will see it: in the file they named
                message = f"machine '{d.name}' is also defined in {d.location}"
                here = first.location
            findings.append(DUPLICATE_MACHINE.at(here, f"{message}; rename one of them"))
            continue
        bundled = context.get(d.name)
        if bundled is not None and not _same_file(Path(bundled.file), where[d.file]):
            findings.append(
                SHADOWS_BUNDLED.at(
                    d.location,
                    f"machine '{d.name}' has the name of a bundled machine ({bundled.file}); "
                    "rename it (its mappings may still refer to the bundled one)",
                )
            )
        machines[d.name] = d
    known = {**context, **machines}
    for d in machines.values():
        findings.extend(check_definition(d, known))
    return Registry(
        MappingProxyType(machines),
        tuple(sorted({f for f in findings if f.location.file in reported})),
        tuple(item for item in loaded if item.file in reported),
        MappingProxyType(dict(context)),
    )
