"""What the subcommands share: exit codes, usage errors, and where definitions come from."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    "structural",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable path: exit 2."""


def registry(paths: Sequence[str]) -> Registry:
    """Definitions under `paths`, or the bundled machines when none are named."""
    from statemachine.io.registry import bundled_dir, load_registry

    bundled = bundled_dir()
    if not paths:
        return load_registry([bundled], root=bundled.parent)
    resolved = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        resolved.append(path)
    # the user's mappings may refer to bundled machines (`values: canonical.call`)
    return load_registry(resolved, context=load_registry([bundled]).machines)


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
    """Machine `name` from `sources` or the bundled machines, ready to run."""
    from statemachine.runtime import DefinitionError, definition

    try:
        return definition(name, [Path(p) for p in sources] or None)
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
