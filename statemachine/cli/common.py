"""What the subcommands share: exit codes, usage errors, and where definitions come from."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from statemachine.io.config import Config
    from statemachine.io.registry import Registry
    from statemachine.model.definition import Definition
    from statemachine.runtime import Lifecycle

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "definition_option",
    "named_definition",
    "registry",
    "shown_path",
    "structural",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable path: exit 2."""


def _existing(raw: str) -> Path:
    path = Path(raw)
    if not path.exists():
        raise UsageError(f"{raw}: no such file or directory")
    return path


def shown_path(path: Path) -> Path:
    """`path` relative to the working directory when it lies below it (as findings show it)."""
    here = Path.cwd()
    return path.relative_to(here) if path.is_relative_to(here) else path


def _configured() -> Config | None:
    """The `[tool.statemachine]` table found from the working directory upwards, if any."""
    from statemachine.io.config import ConfigError, find_config

    try:
        return find_config(Path.cwd())
    except ConfigError as err:
        raise UsageError(str(err)) from None


def _configured_folders(config: Config) -> list[Path]:
    """The configured definition folders (each must exist), saying so on stderr."""
    shown = ", ".join(os.path.relpath(p, config.root) for p in config.machines)
    print(
        f"statemachine: using {shown} from [tool.statemachine] in {shown_path(config.file)}",
        file=sys.stderr,
    )
    return [_existing(str(shown_path(p))) for p in config.machines]


def registry(paths: Sequence[str], *, only_configured: bool = False) -> Registry:
    """Definitions under `paths`; with none, the folders `[tool.statemachine]` in
    `pyproject.toml` names, or the bundled machines when there is no such table (stderr says
    which). Bundled machines are context for the user's references. With a configuration,
    named files are checked with the whole configured tree as context, and findings are
    reported for the named files only; `only_configured` ignores named files outside it."""
    from statemachine.io.config import Config
    from statemachine.io.registry import bundled_dir, load_registry, within

    bundled = bundled_dir()
    config = _configured()
    if config is None and not paths:
        print(f"statemachine: using the bundled machines in {bundled}", file=sys.stderr)
        return load_registry([bundled], root=bundled.parent)
    context = load_registry([bundled]).machines
    if config is None and only_configured:
        config = Config.default(Path.cwd())
    if config is None:
        return load_registry([_existing(raw) for raw in paths], context=context)
    if not paths:
        return load_registry(_configured_folders(config), context=context)
    tree = [shown_path(p) for p in config.machines]
    named = [_existing(raw) for raw in paths]
    if only_configured:
        folders = {p.resolve() for p in tree}
        named = [p for p in named if within(p.resolve(), folders)]
    existing = [p for p in tree if p.exists()]
    return load_registry([*existing, *named], context=context, report=named)


def definition_option(parser: argparse.ArgumentParser, flag: str) -> None:
    """`flag PATH` (repeatable): load definitions from PATH instead of the bundled machines."""
    parser.add_argument(
        flag,
        dest="sources",
        action="append",
        default=[],
        metavar="PATH",
        help="load definitions from PATH instead of the bundled machines",
    )


def named_definition(name: str, sources: list[str]) -> Definition:
    """Machine `name`, ready to run, found as every command finds one: under `sources`
    (`--path`), else under the folders `[tool.statemachine]` names (stderr says so; a
    bundled machine is still found by name), else among the bundled machines. A definition
    with errors is a usage error listing its findings."""
    from statemachine.runtime import DefinitionError, UnknownMachine, definition

    try:
        if sources:
            return definition(name, [Path(p) for p in sources])
        config = _configured()
        if config is None:
            return definition(name)
        try:
            return definition(name, _configured_folders(config))
        except UnknownMachine as err:
            try:
                return definition(name)
            except UnknownMachine:
                raise err from None
    except DefinitionError as err:
        raise UsageError(str(err)) from None


def structural(found: Definition, statuses: Sequence[str]) -> Lifecycle:
    """A lifecycle for `found` to validate `statuses` with, once each is known to be a status."""
    from statemachine.runtime import AcknowledgementStatus, Lifecycle, UnknownStatus

    lc = Lifecycle(found, structural=True)
    try:
        for status in statuses:
            lc.canonical(status)
    except (UnknownStatus, AcknowledgementStatus) as err:
        raise UsageError(str(err)) from None
    return lc
