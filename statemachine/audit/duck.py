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


def copy_to(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    """Write the rows of `sql` to `path`, CSV or Parquet by its extension."""
    con.execute(f"COPY ({sql}) TO {literal(str(path))} {_copy_format(path)}")
