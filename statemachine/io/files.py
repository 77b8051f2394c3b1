"""Finding definition files below the paths a user names, and reading them safely.

Discovery takes `.yaml` and `.yml` in any case, sorted, and skips what is never a user's
definition unless it is named itself: hidden files and folders (`.git`, `.venv`, ...),
virtual environments (a folder holding `pyvenv.cfg`, or named `venv`) and `node_modules`.
Nothing is skipped silently otherwise: a folder or file that cannot be listed or opened
raises `UnreadablePath`, and only regular files are read (a FIFO named `x.yaml` would block
a reader for ever).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["SUFFIXES", "NotRegularFile", "UnreadablePath", "definition_files", "read_regular"]

SUFFIXES = (".yaml", ".yml")
_SKIPPED_DIRS = frozenset({"node_modules", "venv"})
#: never wait on the open itself, never adopt a terminal (POSIX flags; absent on Windows)
_NO_WAIT = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


class UnreadablePath(OSError):
    """A named path, or a folder or file below it, that cannot be listed or read.

    An `OSError` whose `filename` is the path and `strerror` the reason, so that a caller
    catching `OSError` reports it with its name."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class NotRegularFile(ValueError):
    """A definition path that is a FIFO, socket, device or folder: its text is not read."""


def _is_definition(name: str) -> bool:
    return name.lower().endswith(SUFFIXES) and not name.startswith(".")


def _skipped(entry: os.DirEntry[str]) -> bool:
    """A folder that holds no user definitions: hidden, a virtual environment, node_modules."""
    if entry.name.startswith(".") or entry.name in _SKIPPED_DIRS:
        return True
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def _unreadable(path: str, err: OSError) -> UnreadablePath:
    return UnreadablePath(err.errno, err.strerror or str(err), path)


def _walk(top: str) -> list[str]:
    """Every definition file below folder `top`, following links to folders once each (a
    folder reached twice counts where a depth-first walk in name order reaches it first)."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    folders = [top]
    while folders:
        folder = folders.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                continue  # a link back to a folder already walked
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda entry: entry.name, reverse=True)
        except OSError as err:
            raise _unreadable(folder, err) from err
        for entry in listed:
            try:
                is_dir = entry.is_dir()  # follows links; False for a dangling one, read later
            except OSError as err:  # a link loop, or a link into a folder we may not search
                if _is_definition(entry.name):
                    raise _unreadable(entry.path, err) from err
                continue  # not named as a definition, and not a folder we can see
            if is_dir:
                if not _skipped(entry):
                    folders.append(entry.path)
            elif _is_definition(entry.name):
                found.append(entry.path)
    return found


def definition_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Each path named, and every definition file below each folder named, sorted per folder.

    Raises `UnreadablePath` for a named path that does not exist or a folder below it that
    cannot be listed."""
    for path in paths:
        try:
            is_dir = stat.S_ISDIR(path.stat().st_mode)
        except OSError as err:
            raise _unreadable(str(path), err) from err
        if not is_dir:
            yield path
            continue
        yield from (Path(name) for name in sorted(_walk(str(path))))


def read_regular(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes of the regular file `path`.

    Raises `NotRegularFile` for anything else (checked before opening, and again on the open
    file, which is opened without blocking), `UnreadablePath` when it cannot be opened or read.
    """
    try:
        before = path.stat()
        if not stat.S_ISREG(before.st_mode):
            raise NotRegularFile(_kind(before.st_mode))
        fd = os.open(path, os.O_RDONLY | _NO_WAIT)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):  # replaced between stat and open
                raise NotRegularFile(_kind(opened.st_mode))
            chunks: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = os.read(fd, limit + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as err:
        raise _unreadable(str(path), err) from err


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"
