"""The three engines: DuckDB (the default), Python (the runtime's own replay, the reference)
and Spark. Each leaves `verdicts` and `entities` relations that the report is read from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from statemachine.audit.data import InputError, Source, bad_value, register_events
from statemachine.audit.duck import connect, copy_to, fold_into
from statemachine.audit.options import Options, Outputs, exports
from statemachine.audit.report import Report, summarize
from statemachine.audit.summary import one_pass
from statemachine.model.definition import Definition
from statemachine.sql.audit import (
    MOVING,
    REPORTED_COLUMNS,
    VERDICT_COLUMNS,
    entities_sql,
    judged_sql,
)

if TYPE_CHECKING:
    import duckdb

__all__ = ["ENGINES", "ENTITY_COLUMNS", "Options", "Outputs", "run"]

ENGINES = ("duckdb", "spark", "python")

#: the columns of `entities`, in order
ENTITY_COLUMNS = ("id", "events", "final", "entered", "first_verdict", "stuck")


def _report(
    con: duckdb.DuckDBPyConnection, definition: Definition, as_of: datetime | None, outputs: Outputs
) -> Report:
    report = summarize(definition, lambda sql: con.execute(sql).fetchall(), as_of)
    for path, sql in exports(outputs):
        copy_to(con, sql, path)
    return report


def _duckdb(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    sources: Sequence[Source],
    options: Options,
    outputs: Outputs,
) -> Report:
    parts = register_events(con, sources, options.columns)
    # the skipped and passed states go to files only: without a file to write they are not
    # kept (strings on every event, an eighth of the judged step's time)
    kept = ", ".join(VERDICT_COLUMNS if exports(outputs) else REPORTED_COLUMNS)
    # one sorted pass judges every event; the entities it may judge wrong (few in real logs)
    # are folded by the runtime's replay, their rows read in place of the judged ones (not
    # copied over them: a long history would be written twice)
    judged = judged_sql(definition, "duckdb", parts)
    con.execute(f"CREATE TEMP TABLE judged AS SELECT {kept}, doubt FROM ({judged})")
    con.execute("CREATE TEMP TABLE doubted AS SELECT DISTINCT id FROM judged WHERE doubt")
    doubtful = "SELECT * FROM judged WHERE id IN (SELECT id FROM doubted)"
    for _ in fold_into(con, definition, doubtful, "folded"):
        pass
    con.execute(
        f"CREATE TEMP VIEW verdicts AS SELECT {kept} FROM judged ANTI JOIN doubted USING (id) "
        f"UNION ALL SELECT {kept} FROM folded"
    )
    as_of = options.judged_at(con.execute("SELECT max(ts) FROM verdicts").fetchall()[0][0])
    con.execute(
        "CREATE TEMP TABLE entities AS "
        + entities_sql(definition, "duckdb", options.limits(definition), as_of)
    )
    return _report(con, definition, as_of, outputs)


def _python(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    sources: Sequence[Source],
    options: Options,
    outputs: Outputs,
) -> Report:
    """The reference: each entity's events sorted by key, then the runtime's own replay of
    every event; the entities summed up here in Python."""
    import pyarrow as pa

    register_events(con, sources, options.columns)
    # id -> [events, first verdict, final state, when it entered it]
    seen: dict[str, list[Any]] = {}
    # times as Arrow's integers (its unit since the epoch): made datetimes once an entity, not
    # once an event (a fifth of a long history's time)
    latest: int | None = None
    times = pa.timestamp("us")
    for batch in fold_into(con, definition, "SELECT * FROM events", "verdicts_folded"):
        times = batch.schema.field("ts").type
        ids, verdicts, afters = (batch.column(c).to_pylist() for c in ("id", "verdict", "after"))
        stamps = batch.column("ts").cast(pa.int64()).to_pylist()
        for ident, verdict, after, ts in zip(ids, verdicts, afters, stamps, strict=True):
            entity = seen.get(ident)
            if entity is None:
                entity = seen[ident] = [0, verdict, None, None]
            entity[0] += 1
            if verdict in MOVING:
                entity[2], entity[3] = after, ts
            if ts is not None and (latest is None or ts > latest):
                latest = ts
    con.execute("CREATE TEMP VIEW verdicts AS SELECT * FROM verdicts_folded")
    as_of = options.judged_at(pa.scalar(latest, times).as_py())
    limits = options.limits(definition)
    # each entity's entry time goes to the table as Arrow made it; a datetime only where a
    # limit may find the entity stuck
    entered_at = pa.array([entity[3] for entity in seen.values()], pa.int64()).cast(times)
    entered_times = entered_at.to_pylist() if limits else [None] * len(seen)
    entities: dict[str, list[Any]] = {name: [] for name in ENTITY_COLUMNS if name != "entered"}
    for (ident, (events, first, final, _)), entered in zip(
        seen.items(), entered_times, strict=True
    ):
        limit = limits.get(final) if final is not None else None
        stuck = (
            limit is not None
            and not definition.states[final].final
            and entered is not None
            and as_of is not None
            and as_of - entered > limit
        )
        for name, value in zip(entities, (ident, events, final, first, stuck), strict=True):
            entities[name].append(value)
    types = {"events": pa.int64(), "stuck": pa.bool_()}
    columns = {
        name: pa.array(values, types.get(name, pa.string())) for name, values in entities.items()
    }
    columns["entered"] = entered_at.cast(pa.timestamp("us"))
    rows = pa.table(  # noqa: F841 - DuckDB reads it by name
        {name: columns[name] for name in ENTITY_COLUMNS}
    )
    con.execute("CREATE TEMP TABLE entities AS SELECT * FROM rows")
    return _report(con, definition, as_of, outputs)


def run(
    definition: Definition,
    sources: Sequence[Source],
    options: Options,
    engine: str,
    outputs: Outputs,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Report:
    """Audit the events in `sources` against `definition` on `engine`; raises `InputError`
    when the data cannot be read as asked. On DuckDB and Python the audit's relations
    (`events`, `verdicts`, `entities`) stay in `con` when one is given; without it and
    without a file to write, DuckDB sums the events up in one pass and keeps no row of
    them (unless two ids share the hash the pass sorts by)."""
    import duckdb

    if engine == "spark":
        from statemachine.audit.spark import run_spark

        return run_spark(definition, sources, options, outputs)
    report_only = con is None and not exports(outputs)
    con = con or connect()
    try:
        if engine == "python":
            return _python(con, definition, sources, options, outputs)
        summed = one_pass(con, definition, sources, options) if report_only else None
        return summed or _duckdb(con, definition, sources, options, outputs)
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
