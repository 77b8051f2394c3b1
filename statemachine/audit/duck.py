"""The DuckDB connection every engine reads through and writes its files with, and the fold
into one of its tables."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from statemachine.audit.data import InputError
from statemachine.audit.fold import FOLD_INPUT, fold, verdict_schema
from statemachine.model.definition import Definition
from statemachine.sql.audit import HISTORY_ORDER, literal

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["connect", "copy_to", "fold_into", "fold_summed"]

#: rows per Arrow batch handed to the fold
_BATCH = 100_000


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for the audit: spilling to disk, a progress bar on a tty."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/statemachine-duckdb'")
    # out of core: spill to disk rather than grow past a laptop's share (target: < 2 GB)
    con.execute("SET memory_limit = '1600MB'")
    if sys.stderr.isatty():
        con.execute("SET enable_progress_bar = true")
    return con


def _copy_format(path: Path) -> str:
    if path.suffix.lower() == ".parquet":
        return "(FORMAT parquet)"
    if path.suffix.lower() == ".csv":
        return "(FORMAT csv, HEADER true)"
    raise InputError(f"{path}: write a .csv or .parquet file")


#: what starts a formula in a spreadsheet (OWASP, CSV injection)
_FORMULA = r"^[=+\-@\t\r]"


def copy_to(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    """Write the rows of `sql` to `path`, CSV or Parquet by its extension. In a CSV, text that
    a spreadsheet would run as a formula (an entity id `=cmd|' /C calc'!A0` from webhook
    data) starts with a single quote and every text cell is quoted, as OWASP recommends;
    Parquet keeps the values as they are."""
    form = _copy_format(path)
    described = con.execute(f"DESCRIBE ({sql})").fetchall() if "csv" in form else []
    text = [_quoted(row[0]) for row in described if row[1] == "VARCHAR"]
    if text:
        escaped = ", ".join(
            f"CASE WHEN regexp_matches({n}, {literal(_FORMULA)}) THEN {literal(chr(39))} || {n} "
            f"ELSE {n} END AS {n}"
            for n in text
        )
        sql = f"SELECT * REPLACE ({escaped}) FROM ({sql})"
        form = f"(FORMAT csv, HEADER true, FORCE_QUOTE ({', '.join(text)}))"
    con.execute(f"COPY ({sql}) TO {literal(str(path))} {form}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sorted(con: duckdb.DuckDBPyConnection, events: str) -> pa.RecordBatchReader:
    """The events of query `events` as `fold` reads them, streamed from `con` (which answers
    no other query until the stream is read)."""
    return con.sql(
        f"SELECT {', '.join(FOLD_INPUT)} FROM ({events}) e ORDER BY id, {HISTORY_ORDER}"
    ).to_arrow_reader(_BATCH)


def fold_into(
    con: duckdb.DuckDBPyConnection, definition: Definition, events: str, table: str
) -> Iterator[pa.RecordBatch]:
    """Fold the events of query `events` into the new table `table`; yields each folded batch
    once it is stored. The events stream from `con` while a second cursor stores."""
    import pyarrow as pa

    store = con.cursor()
    schema = verdict_schema()
    empty = pa.Table.from_batches([], schema=schema)  # noqa: F841 - DuckDB reads it by name
    store.execute(f"CREATE TABLE {table} AS SELECT * FROM empty")
    for batch in fold(definition, _sorted(con, events)):
        store.execute(f"INSERT INTO {table} SELECT * FROM batch")
        yield batch


def fold_summed(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    events: str,
    table: str,
    summed: Callable[[str], str],
) -> None:
    """Create the table `table` of the query `summed(rows)` over the fold's rows of the
    events of query `events`, summed as they stream from the fold, never stored: a second
    cursor sums while the events stream from `con`. What the fold raises is raised as it is
    (DuckDB reports it as its own failure to read a stream)."""
    import duckdb
    import pyarrow as pa

    raised: list[BaseException] = []

    def folding(source: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            yield from fold(definition, source)
        except BaseException as err:
            raised.append(err)
            raise

    source = _sorted(con, events)
    schema = verdict_schema(source.schema.field("ts"))
    folded = pa.RecordBatchReader.from_batches(schema, folding(source))  # noqa: F841 - by name
    try:
        con.cursor().execute(f"CREATE TABLE {table} AS {summed('folded')}")
    except duckdb.Error:
        if raised:
            raise raised[0] from None
        raise
