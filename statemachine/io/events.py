"""Reading event files: status deliveries as CSV with a header or as JSON Lines, streamed.

Columns (CSV) or keys (JSON): `id` and `status` required; `seq` (an integer), `at` (an ISO 8601
time; a naive one is UTC) and `event_id` optional; anything else is ignored (the audit names
its own columns for these roles). Rows are read one at a time, so a file of any length costs
the memory of one row. A bad row or file raises `EventFileError` naming the file, line and
column, what is wrong and how to fix it. `replay`, `validate --events` and the audit read
files by these rules.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

__all__ = ["COLUMNS", "Event", "EventFileError", "Key", "read_events", "utc"]

#: the columns an event file may have; others are ignored
COLUMNS = ("id", "status", "seq", "at", "event_id")
_REQUIRED = ("id", "status")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


#: the ordering key kept for an entity: (sequence number, event time, event id)
Key = tuple[int | None, datetime | None, str | None]


def utc(value: datetime | str | None, name: str = "at") -> datetime | None:
    """An event time as timezone-aware UTC, from a datetime or ISO 8601 text
    (`2025-06-02T08:00:20Z`); a naive time is taken to be UTC. Raises `TypeError` naming
    parameter `name` for any other type, `ValueError` for text that is no ISO 8601 time."""
    if value is None:
        return None
    # a time already in UTC, as parsed from `...Z` or made by `datetime.now(UTC)`, is kept as
    # it is (astimezone would copy it: a fifth of making an `Event`)
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{name} must be an ISO 8601 time such as 2025-06-02T08:00:20Z, not {value!r}"
            ) from None
    elif not isinstance(value, datetime):
        raise TypeError(
            f"{name} must be a datetime or ISO 8601 text, not {type(value).__name__} {value!r}"
        )
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _sequence(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{attribute.name} must be an int or None, not {value!r}")


@attrs.frozen
class Event:
    """One delivery of a status for entity `id`, with the ordering keys it carries."""

    id: str
    status: str
    seq: int | None = attrs.field(default=None, validator=_sequence)
    #: the provider's event time, timezone-aware UTC (a naive time is taken to be UTC)
    at: datetime | None = attrs.field(default=None, converter=utc)
    event_id: str | None = None

    @property
    def key(self) -> Key | None:
        """The ordering key, or None when the event carries none."""
        if self.seq is None and self.at is None and self.event_id is None:
            return None
        return (self.seq, self.at, self.event_id)


class EventFileError(ValueError):
    """A bad event file or row: where, what is wrong, and how to fix it."""

    def __init__(
        self, file: str, line: int, col: int, what: str, fix: str, missing: str | None = None
    ) -> None:
        super().__init__(f"{file}:{line}:{col}: {what}; {fix}")
        self.file, self.line, self.col = file, line, col
        #: the role whose column the header lacks, when that is what is wrong
        self.missing = missing


def _decoded(binary: Iterable[bytes], name: str) -> Iterator[str]:
    """The file's lines as text, one at a time; a byte that is not UTF-8 is an error at
    its line and column."""
    for number, raw in enumerate(binary, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            col = len(raw[: err.start].decode("utf-8", "replace")) + 1
            raise EventFileError(
                name,
                number,
                col,
                f"byte {raw[err.start]:#04x} is not UTF-8 text",
                "save the file as UTF-8",
            ) from None
        yield line.removeprefix("\ufeff") if number == 1 else line


def _text(value: Any, field: str, bad: Callable[[str, str, str], EventFileError]) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and field != "status":
        return str(value)
    if not isinstance(value, str):
        raise bad(field, f"{field} must be a string, not {json.dumps(value)}", "quote it")
    return value


def _event(values: Mapping[str, Any], bad: Callable[[str, str, str], EventFileError]) -> Event:
    """An event from one row's values by role (None or "" for an absent optional one);
    `bad(field, what, fix)` makes the error for a field."""
    for field in _REQUIRED:
        if values.get(field) in (None, ""):
            raise bad(field, f"{field} is empty", f"give every event its {field}")
    entity = _text(values["id"], "id", bad)
    status = _text(values["status"], "status", bad)
    seq = values.get("seq")
    if seq in (None, ""):
        seq = None
    elif isinstance(seq, str) and _INTEGER.fullmatch(seq.strip()):
        seq = int(seq)
    elif isinstance(seq, bool) or not isinstance(seq, int):
        raise bad(
            "seq",
            f"seq {json.dumps(seq)} is not an integer",
            "write the provider's sequence number as a whole number, or leave it empty",
        )
    at = values.get("at")
    when: datetime | None = None
    if at not in (None, ""):
        try:
            if not isinstance(at, str):
                raise ValueError(at)
            when = datetime.fromisoformat(at.strip())
        except ValueError:
            raise bad(
                "at",
                f"at {json.dumps(at)} is not an ISO 8601 time",
                "write it like 2024-05-01T12:30:00Z (no offset means UTC), or leave it empty",
            ) from None
    event_id = values.get("event_id")
    event_id = None if event_id in (None, "") else _text(event_id, "event_id", bad)
    return Event(entity, status, seq, when, event_id)


def _csv(
    lines: Iterator[str], name: str, roles: Mapping[str, str], delimiter: str
) -> Iterator[tuple[int, Event]]:
    reader = csv.reader(lines, strict=True, delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise EventFileError(
                name,
                1,
                1,
                "the file is empty",
                "write a header line id,status and one row per event",
            )
        columns = [h.strip() for h in header]
        for required in _REQUIRED:
            if roles[required] not in columns:
                raise EventFileError(
                    name,
                    reader.line_num,
                    1,
                    f"the header {','.join(columns)} has no column '{roles[required]}'",
                    "name the columns id,status (and optionally seq,at,event_id) in the first line",
                    missing=required,
                )
        role_of = {column: role for role, column in roles.items()}
        index: dict[str, int] = {}
        for i, column in enumerate(columns):
            role = role_of.get(column)
            if role is not None and role in index:
                raise EventFileError(
                    name,
                    reader.line_num,
                    i + 1,
                    f"column '{column}' appears twice",
                    "keep one of them: which one holds the value is not for a reader to guess",
                )
            if role is not None:
                index[role] = i
        start = reader.line_num + 1
        for fields in reader:
            line = start
            start = reader.line_num + 1
            if not fields:
                continue
            if len(fields) != len(columns):
                raise EventFileError(
                    name,
                    line,
                    1,
                    f"{len(fields)} field(s), the header has {len(columns)}",
                    "quote a value that holds a comma, and give every row every column",
                )

            def bad(field: str, what: str, fix: str, line: int = line) -> EventFileError:
                return EventFileError(name, line, index[field] + 1, what, fix)

            values = {role: fields[i] for role, i in index.items()}
            yield line, _event(values, bad)
    except csv.Error as err:
        raise EventFileError(
            name, reader.line_num, 1, f"not valid CSV: {err}", "fix the quoting of this row"
        ) from None


def _jsonl(
    lines: Iterator[str], name: str, roles: Mapping[str, str]
) -> Iterator[tuple[int, Event]]:
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise EventFileError(
                name,
                number,
                err.colno,
                f"not valid JSON: {err.msg}",
                "write one JSON object per line",
            ) from None
        if not isinstance(values, dict):
            raise EventFileError(
                name,
                number,
                1,
                f"a JSON {type(values).__name__}, not an object",
                'write one object per line: {"id": ..., "status": ...}',
            )

        def bad(field: str, what: str, fix: str, number: int = number) -> EventFileError:
            return EventFileError(name, number, 1, what, fix)

        yield number, _event({role: values.get(key) for role, key in roles.items()}, bad)


def read_events(
    path: str,
    columns: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
    delimiter: str = ",",
) -> Iterator[tuple[int, Event]]:
    """Each event of file `path` (`-`: standard input; a name ending in .gz is gunzipped)
    with its line number, in file order. JSON Lines when the name ends in .jsonl, .ndjson or
    .json or the first non-blank character is `{`; CSV with a header otherwise. `columns`
    names the column (or key) of each role in `COLUMNS` that is not named for itself;
    `name` is the file's name in errors. Raises `EventFileError`, or `OSError` when the file
    cannot be opened."""
    roles = {role: role for role in COLUMNS} | dict(columns or {})
    name = name or ("<stdin>" if path == "-" else path)
    plain = path.lower().removesuffix(".gz")
    with ExitStack() as stack:
        if path == "-":
            binary: Iterable[bytes] = sys.stdin.buffer
        elif plain != path.lower():
            binary = stack.enter_context(gzip.open(path, "rb"))
        else:
            binary = stack.enter_context(Path(path).open("rb"))
        lines = _decoded(binary, name)
        head: list[str] = []
        for line in lines:
            head.append(line)
            if line.strip():
                break
        first = head[-1].lstrip() if head else ""
        rows = itertools.chain(head, lines)
        if plain.endswith(_JSON_SUFFIXES) or first.startswith("{"):
            yield from _jsonl(rows, name, roles)
        else:
            yield from _csv(rows, name, roles, delimiter)
