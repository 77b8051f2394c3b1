"""A user's `[tool.statemachine]` table in `pyproject.toml`: where their definitions and
diagrams live, found from a directory upwards as ruff and black find theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

__all__ = ["Config", "ConfigError", "find_config"]

DEFAULT_MACHINES = ("machines",)
DEFAULT_DIAGRAMS = "diagrams"


class ConfigError(Exception):
    """A `pyproject.toml` that cannot be read, or a `[tool.statemachine]` table that is wrong."""


@attrs.frozen
class Config:
    """Where one repository keeps its definitions and diagrams (absolute paths)."""

    #: the directory holding the `pyproject.toml` that configured this
    root: Path
    #: the definition folders (or files): `machines = ["lifecycles"]`, default `machines`
    machines: tuple[Path, ...]
    #: where `render` writes: `diagrams = "docs/lifecycles"`, default `diagrams`
    diagrams: Path

    @property
    def file(self) -> Path:
        return self.root / "pyproject.toml"

    @classmethod
    def default(cls, root: Path) -> Config:
        """What an empty `[tool.statemachine]` table in `root` means."""
        return cls(root, tuple(root / m for m in DEFAULT_MACHINES), root / DEFAULT_DIAGRAMS)


def _candidates(start: Path) -> Iterator[Path]:
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            yield candidate


def find_config(start: Path) -> Config | None:
    """The nearest `pyproject.toml` from `start` upwards that has a `[tool.statemachine]`
    table, as a `Config`; None when there is none. Raises `ConfigError` naming the file."""
    for candidate in _candidates(start):
        import tomllib  # only once a pyproject.toml is found: start-up time matters

        try:
            with candidate.open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as err:
            raise ConfigError(f"{candidate}: cannot read: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{candidate}: not valid TOML: {err}") from None
        table = data.get("tool", {}).get("statemachine")
        if table is not None:
            return _config(candidate, table)
    return None


def _config(file: Path, table: Any) -> Config:
    where = f"{file}: [tool.statemachine]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - {"machines", "diagrams"})
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(unknown)}; allowed: diagrams, machines"
        )
    machines = table.get("machines", list(DEFAULT_MACHINES))
    if isinstance(machines, str):
        machines = [machines]
    if not (
        isinstance(machines, list) and machines and all(isinstance(m, str) and m for m in machines)
    ):
        raise ConfigError(f'{where} machines must be a list of folders: machines = ["lifecycles"]')
    diagrams = table.get("diagrams", DEFAULT_DIAGRAMS)
    if not isinstance(diagrams, str) or not diagrams:
        raise ConfigError(f'{where} diagrams must be a folder: diagrams = "docs/lifecycles"')
    root = file.parent
    return Config(root, tuple(root / m for m in machines), root / diagrams)
