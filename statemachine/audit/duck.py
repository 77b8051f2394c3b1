"""The DuckDB connection every engine reads through and writes its files with."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from statemachine.audit.data import InputError
from statemachine.sql.audit import literal

if TYPE_CHECKING:
    import duckdb

__all__ = ["connect", "copy_to"]


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
