"""The audit on Apache Spark (`pip install statemachine[spark]`): the same one-pass SQL, the
same fold.

Locally this starts a `local[*]` session; under `spark-submit` it joins the session the
cluster gives (`SparkSession.builder.getOrCreate()`). Spark reads the files itself, so the
data never passes through this process; only the summary and the findings come back. The
executors fold the doubted entities with the runtime's replay (`mapInArrow`), so they need
this package and PyArrow too.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from statemachine.audit.data import (
    FILE_STRIDE,
    InputError,
    Source,
    bad_value,
    key_part,
    present_columns,
)
from statemachine.audit.duck import copy_to
from statemachine.audit.fold import FOLD_INPUT, fold
from statemachine.audit.options import Options, Outputs, exports
from statemachine.audit.report import GROUPED_FIRSTS_SQL, Report, summarize
from statemachine.graph import Kind
from statemachine.model.definition import Definition
from statemachine.sql.audit import (
    AFTER,
    REPORTED_COLUMNS,
    VERDICT_COLUMNS,
    entities_sql,
    grouped_sql,
    judged_sql,
    move_rows,
    spark_array,
)
from statemachine.sql.coupled import kept

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["export", "run_spark", "session"]

#: a row's place as read: its file's index times 2**50 plus Spark's monotonically increasing
#: id (its partition times 2**33 plus its place in the partition), so file order is kept
#: without counting the rows first
_FILE_SHIFT = 50
_PART_SHIFT = 33
#: the key columns nothing but the fold reads when no file is written
_KEYS = ("seq", "event_id")
#: the most doubted events whose entities' ids are broadcast to every task (at most tens of
#: MB); past it the ids are joined as Spark plans it
_BROADCAST_DOUBTED = 1_000_000


def session() -> SparkSession:
    """The active Spark session, or a quiet local one (UTC, no UI, Python workers on this
    interpreter); either way with adaptive query execution sizing the partitions."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "--engine spark needs PySpark: pip install 'statemachine[spark]'"
        ) from None
    builder = SparkSession.builder.appName("statemachine audit")
    # spark-submit starts this process from its own JVM (whose port it passes down) with the
    # master set there; a plain run has neither
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = builder.master("local[*]")
        # the workers fold with this package: they run this interpreter unless told otherwise
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if "SPARK_CONF_DIR" not in os.environ:  # a user's own log4j2.properties wins
            quiet = Path(__file__).with_name("log4j2.properties").as_uri()
            builder = builder.config(
                "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={quiet}"
            )
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    # PySpark warns about pandas 3 as it starts and again at the fold, which passes Arrow,
    # not pandas: that one message is silenced for the process, nothing else
    warnings.filterwarnings(
        "ignore", "PySpark does not yet fully support pandas", category=FutureWarning
    )
    spark = builder.getOrCreate()
    # AQE coalesces the shuffles to the data's size, and broadcasts the few doubted ids
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "true")
    # ... in the cached relations too (without it each scan of them runs a task per shuffle
    # partition, 200 by default, however small the data)
    spark.conf.set("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")
    spark.sparkContext.setLogLevel("OFF")
    return spark


def _read(
    spark: SparkSession, source: Source, index: int, options: Options
) -> tuple[DataFrame, set[str]]:
    """`source` as `events` rows, and the key parts (`KEY_PARTS`) it has."""
    from pyspark.sql import functions as F

    path = str(source.path)
    if source.format == "csv":
        frame = spark.read.option("header", True).csv(path)
    elif source.format == "parquet":
        frame = spark.read.parquet(path)
    else:
        frame = spark.read.json(path)
    columns = options.columns
    kinds = {"seq": "bigint", "at": "timestamp", "event_id": "string"}
    present = present_columns(source, columns, frame.columns)
    picked: dict[str, Any] = {
        role: F.lit(None).cast(kinds[role])
        if name is None
        else F.col(f"`{name}`").cast(kinds[role])
        for role, name in present.items()
    }
    parts = {key_part(role) for role, name in present.items() if name is not None}
    return frame.select(
        F.coalesce(F.col(f"`{columns.id}`").cast("string"), F.lit("")).alias("id"),
        F.coalesce(F.col(f"`{columns.status}`").cast("string"), F.lit("")).alias("status"),
        picked["seq"].alias("seq"),
        picked["at"].alias("ts"),
        picked["event_id"].alias("event_id"),
        (F.lit(index << _FILE_SHIFT) + F.monotonically_increasing_id()).alias("ord"),
        *(
            (F.col(f"`{name}`") if name in frame.columns else F.lit(None))
            .cast("string")
            .alias(kept(name))
            for name in columns.keep
        ),
    ), parts


def _starts(spark: SparkSession, counts: Sequence[tuple[int, int]]) -> DataFrame:
    """The line before each read partition's first row (`_part`, `_start`), from the number of
    rows each gave (`counts`: partition, rows): built once, joined by every relation lined."""
    starts, total, file = [], 0, -1
    for key, count in sorted(counts):
        if key >> (_FILE_SHIFT - _PART_SHIFT) != file:
            file, total = key >> (_FILE_SHIFT - _PART_SHIFT), 0
        starts.append((key, file * FILE_STRIDE + total))
        total += count
    return spark.createDataFrame(starts or [(0, 0)], "_part bigint, _start bigint")


def _lines(starts: DataFrame, rows: DataFrame, columns: Sequence[str]) -> DataFrame:
    """`rows` with `ord` turned from the place read into the file's line (as `data` numbers
    them), from each read partition's `starts`."""
    from pyspark.sql import functions as F

    line = F.col("_start") + (F.col("ord").bitwiseAND(F.lit((1 << _PART_SHIFT) - 1))) + 1
    return (
        rows.withColumn("_part", F.shiftright(F.col("ord"), _PART_SHIFT))
        .join(F.broadcast(starts), "_part")
        .withColumn("ord", line)
        .select(*columns)
    )


def _folder(definition: Definition) -> Any:
    """The function each executor runs over its sorted partition of doubted events."""

    def folded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return fold(definition, batches)

    return folded


@attrs.frozen
class _Verdicts:
    """The per-event rows and what the job that judged them found out on the way."""

    #: the rows of the entities judged in one pass, then of those folded (when any): their
    #: entities are apart and each side is partitioned by `id`, so each is summed by entity
    #: where it lies (their union is not, and would be shuffled to be grouped)
    sides: tuple[DataFrame, ...]
    #: the latest event time (None: no event has one)
    latest: datetime | None

    @property
    def rows(self) -> DataFrame:
        """Every per-event row."""
        return _union(self.sides)


@attrs.frozen
class _Packing:
    """How the report's columns of a judged event are cached in five: `id`, `ord`, `ts`,
    `odd` (the status, when the machine has no move for it) and one integer `code` holding,
    from the lowest bits up, the verdict, the doubt, the state before (0: none), the move
    (`move_rows`; 0: none) and the row number. Spark weighs every compression scheme for
    every value it caches, column by column: caching the ten columns of 10M judged events took
    37 s where reading them took 7 (medians of 3), and the whole audit at 10M took 44 and 47 s
    cached this way against 55 and 61 s (one warm session, interleaved)."""

    kinds: tuple[str, ...]
    states: tuple[str, ...]
    #: each move's status and state, by move number (0: none)
    values: tuple[str | None, ...]
    dests: tuple[str | None, ...]

    @classmethod
    def of(cls, definition: Definition) -> _Packing | None:
        """The packing of `definition`'s judged rows; None when the row number would not
        keep its 31 bits (a machine of hundreds of thousands of moves)."""
        moves = move_rows(definition)
        packing = cls(
            tuple(str(kind) for kind in Kind),
            tuple(definition.states),
            (None, *(value for _, _, _, value, *_ in moves)),
            (None, *(state for _, _, _, _, _, state, _, _ in moves)),
        )
        return packing if packing._shifts[-1] <= 32 else None

    @property
    def _shifts(self) -> tuple[int, int, int, int]:
        """Where the doubt, the state before, the move and the row number start."""
        doubt = (len(self.kinds) - 1).bit_length()
        before = doubt + 1
        move = before + len(self.states).bit_length()
        return doubt, before, move, move + (len(self.values) - 1).bit_length()

    def pack(self, judged: DataFrame) -> DataFrame:
        """The judged rows (`judged_sql`'s) packed."""
        doubt, before, move, rn = self._shifts
        states = spark_array(self.states)
        code = " | ".join(
            (
                f"shiftleft(CAST(rn AS BIGINT), {rn})",
                f"shiftleft(CAST(COALESCE(move, 0) AS BIGINT), {move})",
                f"shiftleft(COALESCE(array_position({states}, before), 0), {before})",
                f"CASE WHEN doubt THEN {1 << doubt} ELSE 0 END",
                f"array_position({spark_array(self.kinds)}, verdict) - 1",
            )
        )
        return judged.selectExpr(
            "id", "ord", "ts", f"{code} AS code", "CASE WHEN move IS NULL THEN status END AS odd"
        )

    def doubt(self) -> str:
        """SQL: the packed event is in doubt."""
        return f"shiftright(code, {self._shifts[0]}) & 1 = 1"

    def unpack(self, packed: DataFrame) -> DataFrame:
        """The packed rows as the columns of `REPORTED_COLUMNS` but the keys."""
        doubt, before, move, rn = self._shifts
        verdict = f"CAST(code & {(1 << doubt) - 1} AS INT)"
        number = f"CAST(shiftright(code, {move}) & {(1 << (rn - move)) - 1} AS INT)"
        state = f"shiftright(code, {before}) & {(1 << (move - before)) - 1}"
        return packed.selectExpr(
            "id",
            "ord",
            f"shiftright(code, {rn}) AS rn",
            f"COALESCE(odd, get({spark_array(self.values)}, {number})) AS status",
            "ts",
            f"get({spark_array(self.kinds)}, {verdict}) AS verdict",
            f"get({spark_array((None, *self.states))}, CAST({state} AS INT)) AS before",
            f"get({spark_array(self.dests)}, {number}) AS state",
        ).selectExpr("*", f"{AFTER} AS after")


def _verdicts(
    spark: SparkSession,
    definition: Definition,
    keep: Sequence[str],
    lined: bool,
    parts: Collection[str],
) -> _Verdicts:
    """The per-event rows over `events`: one sorted pass, cached once, the doubted entities
    folded. `ord` is the place read, which orders events as their lines do; `lined`, it is
    the file's line, for files written from the rows (and `events`, with the columns to
    `keep`, is replaced by those columns by line, so a coupled audit joins the two)."""
    from pyspark.sql import functions as F

    part = F.shiftright(F.col("ord"), _PART_SHIFT)
    # the fold's types: Arrow's int64 for Spark's int row number
    judged = spark.sql(judged_sql(definition, "spark", parts)).withColumn(
        "rn", F.col("rn").cast("bigint")
    )
    schema = judged.select(*VERDICT_COLUMNS).schema
    names = VERDICT_COLUMNS if lined else REPORTED_COLUMNS
    # without a file to write, the report reads the rows packed (nothing reads the keys of
    # the events judged in one pass: the fold reads the doubted entities' events as read)
    packing = None if lined else _Packing.of(definition)
    # ... or as they are; either way the keys are left out (NULL) without a file to write: the
    # event ids alone pushed 10M events past a local session's memory
    stored = [c for c in names if lined or c not in _KEYS]
    columns = [c if c in stored else F.lit(None).cast(schema[c].dataType).alias(c) for c in names]
    if packing is None:
        cached = judged.select(*stored, "doubt").cache()
        doubt = "doubt"
    else:
        cached = packing.pack(judged).cache()
        doubt = packing.doubt()

    def unpacked(rows: DataFrame) -> DataFrame:
        return (rows if packing is None else packing.unpack(rows)).select(*columns)

    # the one job that fills the cache also gives the latest time, how many events are in
    # doubt, and each read partition's row count (for the lines)
    found = cached.groupBy(part.alias("part")).agg(
        F.count(F.lit(1)), F.max("ts"), F.count_if(F.expr(doubt))
    )
    stats = [tuple(row) for row in found.collect()]
    sides = [unpacked(cached)]
    in_doubt = sum(n for *_, n in stats)
    if in_doubt:
        # an entity is folded whole when one of its events is in doubt; the doubted are
        # usually few: their ids broadcast, their events folded one partition per core (not
        # one per shuffle partition: each starts a Python task) and cached apart, so each
        # query over the verdicts reads the cached one-pass rows and these
        doubted = cached.where(doubt).select("id").distinct().cache()
        if in_doubt <= _BROADCAST_DOUBTED:
            doubted = F.broadcast(doubted)
        folded = (
            spark.table("events")
            .join(doubted, "id", "left_semi")
            .select(*FOLD_INPUT)
            .repartition(spark.sparkContext.defaultParallelism, "id")
            .sortWithinPartitions(
                "id", F.col("seq").asc_nulls_last(), F.col("ts").asc_nulls_last(), "ord"
            )
            .mapInArrow(_folder(definition), schema)
            .select(*names)
            .cache()
        )
        sides = [unpacked(cached.join(doubted, "id", "left_anti")), folded]
    if lined:
        starts = _starts(spark, [(key, count) for key, count, *_ in stats])
        sides = [_lines(starts, side, VERDICT_COLUMNS) for side in sides]
        if keep:
            carried = ["ord", *(kept(c) for c in keep)]
            events = _lines(starts, spark.table("events").select(*carried), carried)
            events.cache().createOrReplaceTempView("events")
    times = [latest for _, _, latest, _ in stats if latest is not None]
    return _Verdicts(tuple(sides), max(times, default=None))


def _union(frames: Sequence[DataFrame]) -> DataFrame:
    """The rows of `frames`, by column name."""
    return functools.reduce(lambda a, b: a.unionByName(b), frames)


def _inlined(spark: SparkSession, sql: str) -> DataFrame:
    """`sql` with its WITH clauses inlined as it is read: Spark reads cached relations (the
    judged rows under `verdicts`) from the cache only outside a WITH clause's definition,
    so a WITH over `verdicts` would compute the whole audit again. The legacy policy only
    changes which of two WITH clauses of one name wins; the generated SQL has no such."""
    key = "spark.sql.legacy.ctePrecedencePolicy"
    before = spark.conf.get(key, None)
    spark.conf.set(key, "LEGACY")
    try:
        return spark.sql(sql)
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def run_spark(
    definition: Definition, sources: Sequence[Source], options: Options, outputs: Outputs
) -> Report:
    """The audit on Spark; the findings come back to this process to be written."""
    from pyspark.errors import PySparkException

    spark = session()
    try:
        read = [_read(spark, source, i, options) for i, source in enumerate(sources)]
        _union([frame for frame, _ in read]).createOrReplaceTempView("events")
        lined = bool(exports(outputs))
        parts = set().union(*(found for _, found in read))
        verdicts = _verdicts(spark, definition, options.columns.keep, lined, parts)
        verdicts.rows.createOrReplaceTempView("verdicts")
        as_of = options.judged_at(verdicts.latest)
        # each entity's sums, cached once for every query of the report, with the place of its
        # first repeated event: naming the first entities of `repeated` from these costs no
        # grouping of every repeated event (about half of all) by entity and verdict; each side
        # summed apart, with no shuffle
        grouped = []
        for i, side in enumerate(verdicts.sides):
            side.createOrReplaceTempView(f"verdicts_{i}")
            grouped.append(_inlined(spark, grouped_sql(definition, "spark", f"verdicts_{i}")))
        _union(grouped).cache().createOrReplaceTempView("grouped")
        limits = options.limits(definition)
        entities = entities_sql(definition, "spark", limits, as_of, "SELECT * FROM grouped")
        _inlined(spark, entities).createOrReplaceTempView("entities")

        def query(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in spark.sql(sql).collect()]

        report = summarize(definition, query, as_of, firsts=GROUPED_FIRSTS_SQL)
        export(spark, outputs)
    except PySparkException as err:
        first = next(iter(str(err).strip().splitlines()), type(err).__name__)
        # named by file, line and column as `replay` names it, where replay would refuse it
        raise bad_value(sources, options.columns) or InputError(
            f"Spark cannot read the data: {first}"
        ) from None
    return report


def export(spark: SparkSession, outputs: Outputs) -> None:
    """Write the requested files here: Spark's rows collected as Arrow, written by DuckDB."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for path, sql in exports(outputs):
        rows = spark.sql(sql).toArrow()
        # Spark's times carry the session's zone (UTC); the files hold naive UTC times
        naive = [
            f.with_type(pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) else f
            for f in rows.schema
        ]
        con.register("collected", rows.cast(pa.schema(naive)))
        copy_to(con, "SELECT * FROM collected", path)
        con.unregister("collected")
