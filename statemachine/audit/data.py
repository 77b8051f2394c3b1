"""Where the events come from: files, globs or stdin, their columns, read into DuckDB.

Every engine sees the same relation `events(id, status, seq, ts, event_id, ord)` (the input
of `statemachine.sql.audit.audit_sql`); `ord` numbers the rows in input order: the file's
place among the inputs times 10**12 plus the row's 1-based line in its file. The columns a
coupled audit's rules read (`Columns.keep`) come along as text, each named `kept(name)`
(NULL in a file without it).
"""

from __future__ import annotations

import atexit
import glob
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from statemachine.io.events import EventFileError, read_events
from statemachine.sql.audit import literal
from statemachine.sql.coupled import kept

if TYPE_CHECKING:
    import duckdb

    from statemachine.io.events import Event

__all__ = [
    "FILE_STRIDE",
    "Columns",
    "InputError",
    "Source",
    "bad_value",
    "expand",
    "file_columns",
    "key_part",
    "present_columns",
    "register_events",
]

#: `ord` = file index * FILE_STRIDE + line in file
FILE_STRIDE = 10**12

_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".jsonl": "json",
    ".ndjson": "json",
}


class InputError(Exception):
    """The data cannot be read as asked: a missing file or column, an unreadable value."""


@attrs.frozen
class Columns:
    """Which input column holds what; `explicit` names the ones the user asked for."""

    id: str = "id"
    status: str = "status"
    at: str = "at"
    seq: str = "seq"
    event_id: str = "event_id"
    explicit: frozenset[str] = frozenset()
    #: further columns carried into `events` as text (a key, counters): the coupled rules'
    keep: tuple[str, ...] = ()


@attrs.frozen
class Source:
    """One input file (or stdin, spooled to a file) and its format."""

    path: Path
    format: str
    shown: str


def _format(path: str) -> str:
    for suffix, fmt in _FORMATS.items():
        if path.lower().endswith(suffix) or path.lower().endswith(suffix + ".gz"):
            return fmt
    raise InputError(
        f"{path}: unknown data format; use a .csv, .parquet or .jsonl (JSON Lines) file"
    )


def expand(patterns: Sequence[str]) -> list[Source]:
    """The files `patterns` name (globs expanded, sorted), in order; `-` is CSV on stdin."""
    sources: list[Source] = []
    for pattern in patterns:
        if pattern == "-":
            spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the run
                prefix="statemachine-stdin-", suffix=".csv", delete=False
            )
            spool.write(sys.stdin.buffer.read())
            spool.close()
            atexit.register(os.unlink, spool.name)
            sources.append(Source(Path(spool.name), "csv", "<stdin>"))
            continue
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"{pattern}: no file matches")
        for match in matches:
            path = Path(match)
            if not path.is_file():
                raise InputError(f"{match}: no such file")
            sources.append(Source(path, _format(match), match))
    if not sources:
        raise InputError("no data files given")
    return sources


def _reader(source: Source, numbered: bool = False) -> str:
    """SQL: the rows of `source`; `numbered`: Parquet's with their place in the file as
    `file_row_number` (from 0)."""
    path = literal(str(source.path))
    if source.format == "csv":
        return f"read_csv({path}, header = true, all_varchar = true)"
    if source.format == "parquet":
        return f"read_parquet({path}, file_row_number = {str(numbered).lower()})"
    return f"read_json({path}, format = 'newline_delimited')"


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: how DuckDB reads each optional column
_SQL_TYPES = {"seq": "BIGINT", "at": "TIMESTAMP", "event_id": "VARCHAR"}
#: every column role, as `io.events` names them
_ROLES = ("id", "status", *_SQL_TYPES)


def _replayed(source: Source, columns: Columns) -> Iterator[tuple[int, Event]]:
    """The events of a CSV or JSON Lines `source` as `replay` reads them (nothing for
    Parquet, whose columns are typed)."""
    if source.format == "parquet":
        return iter(())
    roles = {role: getattr(columns, role) for role in _ROLES}
    tab = source.path.name.lower().removesuffix(".gz").endswith(".tsv")
    return read_events(str(source.path), roles, name=source.shown, delimiter="\t" if tab else ",")


def bad_value(sources: Sequence[Source], columns: Columns) -> InputError | None:
    """The first row of `sources` that `replay` would refuse (a value that is no integer or
    time, a row without every column), named by file, line and column with how to fix it;
    None when there is none. Asked only once an engine failed on the data: it reads every row
    in Python."""
    try:
        for source in sources:
            for _ in _replayed(source, columns):
                pass
    except EventFileError as err:
        return InputError(str(err))
    return None


def present_columns(
    source: Source, columns: Columns, present: Iterable[str]
) -> dict[str, str | None]:
    """Each optional role (`seq`, `at`, `event_id`) -> the file's column for it, or None when
    the file has none. Raises `InputError` when the id or status column is missing, or an
    optional column the user named explicitly, and where `replay` would refuse the header
    or the first row (a column named twice, which an engine would rename silently)."""
    try:
        next(_replayed(source, columns), None)
    except EventFileError as err:
        if err.missing is None:  # a missing column is named below, with the option to pick it
            raise InputError(str(err)) from None
    present = set(present)
    shown = ", ".join(sorted(present))
    for role in ("id", "status"):
        name = getattr(columns, role)
        if name not in present:
            raise InputError(
                f"{source.shown}: no column '{name}' for the {role}; the columns are "
                f"{shown} (choose one with --{role})"
            )
    found: dict[str, str | None] = {}
    for role in _SQL_TYPES:
        name = getattr(columns, role)
        if name in present:
            found[role] = name
        elif role in columns.explicit:
            option = "--" + role.replace("_", "-")
            raise InputError(
                f"{source.shown}: no column '{name}' ({option}); the columns are {shown}"
            )
        else:
            found[role] = None
    return found


def _describe(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    """The columns of `source`, each with its DuckDB type."""
    import duckdb

    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {_reader(source)}").fetchall()
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"{source.shown}: cannot read as {source.format}: {first}") from None
    return {row[0]: row[1] for row in described}


def file_columns(sources: Sequence[Source]) -> frozenset[str]:
    """The columns some file of `sources` has. Raises `InputError` for an unreadable file."""
    import duckdb

    con = duckdb.connect()
    try:
        return frozenset(name for source in sources for name in _describe(con, source))
    finally:
        con.close()


def _typed(value: str, found: str, sql_type: str) -> str:
    """SQL: the column `value` (of DuckDB type `found`) as `sql_type`. A time becomes a naive
    UTC time: one with a zone (or text with an offset) is shifted to UTC, a naive one is
    taken as UTC already. The shift reads the instant's microseconds: a cast from
    TIMESTAMPTZ to TIMESTAMP goes through the time zone library, several times slower."""
    if sql_type != "TIMESTAMP":
        return f"CAST({value} AS {sql_type})"
    if found == "TIMESTAMP":
        return value
    return f"make_timestamp(epoch_us(CAST({value} AS TIMESTAMPTZ)))"


def key_part(role: str) -> str:
    """The `events` column of a key role (`seq`, `at`, `event_id`)."""
    return "ts" if role == "at" else role


def register_events(
    con: duckdb.DuckDBPyConnection, sources: Sequence[Source], columns: Columns
) -> frozenset[str]:
    """Create the view `events` over `sources` in `con`; returns the key parts (of
    `statemachine.sql.audit.KEY_PARTS`) some file has. Raises `InputError` for a missing
    column or an unreadable file."""
    parts: list[str] = []
    found: set[str] = set()
    for index, source in enumerate(sources):
        present = _describe(con, source)
        picked: dict[str, str] = {}
        for role, name in present_columns(source, columns, present).items():
            sql_type = _SQL_TYPES[role]
            if name is None:
                picked[role] = f"CAST(NULL AS {sql_type})"
                continue
            found.add(key_part(role))
            picked[role] = _typed(_column(name), present[name], sql_type)
        extra = "".join(
            f", CAST({_column(name) if name in present else 'NULL'} AS VARCHAR) "
            f"AS {_column(kept(name))}"
            for name in columns.keep
        )
        # Parquet numbers its rows itself (unless a column has the name), so the scan stays
        # parallel, where counting rows in a window reads them in one stream
        numbered = source.format == "parquet" and "file_row_number" not in present
        reader = _reader(source, numbered)
        line = "file_row_number + 1" if numbered else "row_number() OVER ()"
        parts.append(
            f"SELECT COALESCE(CAST({_column(columns.id)} AS VARCHAR), '') AS id, "
            f"COALESCE(CAST({_column(columns.status)} AS VARCHAR), '') AS status, "
            f"{picked['seq']} AS seq, {picked['at']} AS ts, {picked['event_id']} AS event_id, "
            f"CAST({index} AS BIGINT) * {FILE_STRIDE} + {line} AS ord{extra} FROM {reader}"
        )
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE OR REPLACE TEMP VIEW events AS " + "\nUNION ALL\n".join(parts))
    return frozenset(found)
