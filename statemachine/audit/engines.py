"""The three engines: DuckDB (the default), Python (the runtime's own replay, the reference)
and Spark. Each leaves `verdicts` and `entities` relations that the report is read from."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from statemachine.audit.data import Columns, InputError, Source, bad_value, register_events
from statemachine.audit.report import FINDINGS_SQL, Report, summarize
from statemachine.model.definition import Definition
from statemachine.runtime.streams import Event
from statemachine.sql.audit import MOVING, VERDICT_COLUMNS, audit_steps, entities_sql, literal

if TYPE_CHECKING:
    import duckdb

__all__ = ["ENGINES", "Options", "Outputs", "connect", "copy_to", "exports", "load", "run"]

ENGINES = ("duckdb", "spark", "python")

_ENTITY_COLUMNS = ("id", "events", "final", "entered", "first_verdict", "stuck")


@attrs.frozen
class Options:
    """How to read and judge the data."""

    columns: Columns = Columns()
    #: the time stuck is judged at (None: the latest event time)
    as_of: datetime | None = None
    #: state -> how long it may last, over the definition's own `stale_after`
    stale_after: dict[str, timedelta] = attrs.field(factory=dict)

    def limits(self, definition: Definition) -> dict[str, timedelta]:
        found = {n: s.stale_after for n, s in definition.states.items() if s.stale_after}
        return {**found, **self.stale_after}


@attrs.frozen
class Outputs:
    """Files to write besides the report (CSV or Parquet, by extension)."""

    findings: Path | None = None
    #: every event with its verdict (the columns of `VERDICT_COLUMNS`)
    events: Path | None = None
    #: every entity: id, events, final, entered, first_verdict, stuck
    entities: Path | None = None


def _copy_format(path: Path) -> str:
    if path.suffix.lower() == ".parquet":
        return "(FORMAT parquet)"
    if path.suffix.lower() == ".csv":
        return "(FORMAT csv, HEADER true)"
    raise InputError(f"{path}: write a .csv or .parquet file")


def exports(outputs: Outputs) -> list[tuple[Path, str]]:
    """Each requested file with the query over `verdicts` and `entities` that fills it."""
    wanted = (
        (outputs.findings, FINDINGS_SQL),
        (outputs.events, "SELECT * FROM verdicts ORDER BY ord"),
        (outputs.entities, "SELECT * FROM entities ORDER BY id"),
    )
    return [(path, sql) for path, sql in wanted if path is not None]


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


def _export(con: duckdb.DuckDBPyConnection, outputs: Outputs) -> None:
    for path, sql in exports(outputs):
        copy_to(con, sql, path)


_VERDICT_TYPES = dict.fromkeys(VERDICT_COLUMNS, "VARCHAR") | {
    "ord": "BIGINT",
    "rn": "BIGINT",
    "seq": "BIGINT",
    "ts": "TIMESTAMP",
}
_ENTITY_TYPES = dict.fromkeys(_ENTITY_COLUMNS, "VARCHAR") | {
    "events": "BIGINT",
    "entered": "TIMESTAMP",
    "stuck": "BOOLEAN",
}


def load(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: Mapping[str, Sequence[Any]],
    types: Mapping[str, str] | None = None,
) -> None:
    """Create table `name` in `con` from equally long Python columns (in one statement)."""
    parts = [
        f"CAST(unnest(${i}) AS {(types or {}).get(column, 'VARCHAR')}) AS {column}"
        for i, column in enumerate(columns, start=1)
    ]
    if not next(iter(columns.values()), []):  # unnest of nothing gives no columns' types
        con.execute(
            f"CREATE TEMP TABLE {name} AS SELECT {', '.join(parts)} LIMIT 0",
            [[None] for _ in columns],
        )
        return
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT {', '.join(parts)}", list(columns.values()))


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


def _as_of(options: Options, latest: Any) -> datetime | None:
    return options.as_of if options.as_of is not None else latest


def _finish(
    con: duckdb.DuckDBPyConnection, definition: Definition, options: Options, outputs: Outputs
) -> Report:
    latest = con.execute("SELECT max(ts) FROM verdicts").fetchall()[0][0]
    as_of = _as_of(options, latest)
    con.execute(
        "CREATE TEMP TABLE entities AS "
        + entities_sql(definition, "duckdb", options.limits(definition), as_of)
    )
    report = summarize(definition, lambda sql: con.execute(sql).fetchall(), as_of)
    _export(con, outputs)
    return report


def _duckdb(
    definition: Definition, sources: Sequence[Source], options: Options, outputs: Outputs
) -> Report:
    con = connect()
    register_events(con, sources, options.columns)
    # one table per step: the events are sorted once, only the doubted entities (few in
    # real logs) are folded event by event, and the per-event rows stay a view over them
    *steps, (last, rows) = audit_steps(definition, "duckdb")
    for name, sql in steps:
        con.execute(f"CREATE TEMP TABLE {name} AS WITH RECURSIVE {name} AS ({sql}) FROM {name}")
    con.execute(f"CREATE TEMP VIEW {last} AS {rows}")
    return _finish(con, definition, options, outputs)


def _sort_key(event: _Placed) -> tuple[bool, int, bool, datetime, int]:
    """seq, then time, then input order; a missing key sorts last (as `NULLS LAST`)."""
    seq, ts = event.seq, event.ts
    return (seq is None, seq or 0, ts is None, ts or datetime.min, event.ord)


@attrs.frozen
class _Placed:
    """One input row: the runtime's event and where it stood."""

    event: Event
    ord: int
    seq: int | None
    #: the event time as read (naive UTC)
    ts: datetime | None


def _python(
    definition: Definition, sources: Sequence[Source], options: Options, outputs: Outputs
) -> Report:
    """The reference: each entity's events sorted by key, then the runtime's own replay."""
    from statemachine.runtime import Lifecycle

    con = connect()
    register_events(con, sources, options.columns)
    histories: dict[str, list[_Placed]] = {}
    cursor = con.execute("SELECT id, status, seq, ts, event_id, ord FROM events ORDER BY ord")
    while batch := cursor.fetchmany(100_000):
        for ident, status, seq, ts, event_id, place in batch:
            event = Event(ident, status, seq=seq, at=ts, event_id=event_id)
            histories.setdefault(ident, []).append(_Placed(event, place, seq, ts))
    for history in histories.values():
        history.sort(key=_sort_key)
    placed = [p for history in histories.values() for p in history]
    replayed = Lifecycle(definition, structural=True).replay(p.event for p in placed)
    columns: dict[str, list[Any]] = {name: [] for name in VERDICT_COLUMNS}
    entities: dict[str, list[Any]] = {name: [] for name in _ENTITY_COLUMNS}
    kept: dict[str, tuple[str | None, datetime | None]] = {}
    previous: str | None = None
    rn = 0
    for p, (event, verdict) in zip(placed, replayed, strict=True):
        rn = 1 if event.id != previous else rn + 1
        if rn == 1:
            kept[event.id] = (None, None)
            entities["first_verdict"].append(str(verdict.kind))
        previous = event.id
        for name, value in zip(
            VERDICT_COLUMNS,
            (
                event.id,
                p.ord,
                rn,
                event.status,
                p.seq,
                p.ts,
                event.event_id,
                str(verdict.kind),
                verdict.before,
                verdict.after,
                definition.resolve(event.status),
                ",".join(verdict.skipped),
                ",".join(verdict.through),
            ),
            strict=True,
        ):
            columns[name].append(value)
        if verdict.kind in MOVING:
            kept[event.id] = (verdict.after, p.ts)
    latest = max((p.ts for p in placed if p.ts is not None), default=None)
    as_of = _as_of(options, latest)
    limits = options.limits(definition)
    for ident, history in histories.items():
        final, entered = kept[ident]
        limit = limits.get(final) if final is not None else None
        stuck = (
            limit is not None
            and final is not None
            and not definition.states[final].final
            and entered is not None
            and as_of is not None
            and as_of - entered > limit
        )
        for name, value in (
            ("id", ident),
            ("events", len(history)),
            ("final", final),
            ("entered", entered),
            ("stuck", stuck),
        ):
            entities[name].append(value)
    load(con, "verdicts", columns, _VERDICT_TYPES)
    load(con, "entities", entities, _ENTITY_TYPES)
    report = summarize(definition, lambda sql: con.execute(sql).fetchall(), as_of)
    _export(con, outputs)
    return report


def run(
    definition: Definition,
    sources: Sequence[Source],
    options: Options,
    engine: str,
    outputs: Outputs,
) -> Report:
    """Audit the events in `sources` against `definition` on `engine`; raises `InputError`
    when the data cannot be read as asked."""
    import duckdb

    if engine == "spark":
        from statemachine.audit.spark import run_spark

        return run_spark(definition, sources, options, outputs)
    try:
        if engine == "python":
            return _python(definition, sources, options, outputs)
        return _duckdb(definition, sources, options, outputs)
    except (duckdb.ConversionException, duckdb.InvalidInputException) as err:
        # named by file, line and column as `replay` names it, where replay would refuse it
        raise bad_value(sources, options.columns) or InputError(
            f"cannot read the data: {_first_line(err)}"
        ) from None
    except duckdb.IOException as err:
        raise InputError(_first_line(err)) from None


def _first_line(err: Exception) -> str:
    lines: Iterator[str] = iter(str(err).strip().splitlines())
    return next(lines, str(err))
