"""Which file defines which machine, without loading the definitions.

`lifecycle(name)` loads one definition and the machines it refers to, not every file: this
index tells it where they are. A definition's top-level `machine: name` line is read with a
regular expression (files are read whole, but not parsed); a file written otherwise (a
quoted name with escapes, flow style, an anchor) is parsed to find it. Each file's entry is
remembered for the process by path, size and modification time, so a changed file is read
again and the index is never stale. Reading the names of the 15 bundled files takes well
under a millisecond, so nothing is cached on disk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from statemachine.io.files import NotRegularFile, definition_files, read_regular
from statemachine.io.yamldoc import MAX_BYTES, read_document

__all__ = ["machine_index"]

_MACHINE_LINE = re.compile(
    rb"^machine:[ \t]*(?:'([^'\n]*)'|\"([^\"\\\n]*)\"|([^\s#'\"&*!|>{\[][^\s#]*))[ \t]*(?:#.*)?$"
    rb"(?!\n[ \t]+[^\s#])",  # not continued on the next line
    re.MULTILINE,
)
#: (path, size, mtime_ns) -> machine name (None: the file names no machine)
_NAMES: dict[tuple[str, int, int], str | None] = {}


def _name_of(path: Path) -> str | None:
    try:
        info = path.stat()
    except OSError:
        return None  # the loader reports it when the file is read
    key = (os.fspath(path), info.st_size, info.st_mtime_ns)
    if key not in _NAMES:
        _NAMES[key] = _read_name(path)
    return _NAMES[key]


def _read_name(path: Path) -> str | None:
    try:
        raw = read_regular(path, MAX_BYTES)
    except (OSError, NotRegularFile):
        return None
    found = _MACHINE_LINE.search(raw)
    if found is not None:
        text = next(group for group in found.groups() if group is not None)
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    data = read_document(path).data
    name = data.get("machine") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def machine_index(paths: Iterable[Path]) -> Mapping[str, tuple[Path, ...]]:
    """Each machine name defined under `paths`, with the files that define it (more than one
    is a duplicate the loader reports). Raises `UnreadablePath` as `definition_files` does."""
    index: dict[str, list[Path]] = {}
    for path in definition_files(paths):
        name = _name_of(path)
        if name is not None:
            index.setdefault(name, []).append(path)
    return MappingProxyType({name: tuple(files) for name, files in index.items()})
