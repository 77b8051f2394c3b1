"""The audit on Apache Spark (`pip install statemachine[spark]`): the same generated SQL.

Locally this starts a `local[*]` session; under `spark-submit` it joins the session the
cluster gives (`SparkSession.builder.getOrCreate()`). Spark reads the files itself, so the
data never passes through this process; only the summary and the findings come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from statemachine.audit.data import FILE_STRIDE, InputError, Source, bad_value, present_columns
from statemachine.audit.report import Report, summarize
from statemachine.model.definition import Definition
from statemachine.sql.audit import audit_sql, entities_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from statemachine.audit.engines import Options, Outputs

__all__ = ["run_spark", "session"]


def session() -> SparkSession:
    """The active Spark session, or a quiet local one (UTC, no UI)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "--engine spark needs PySpark: pip install 'statemachine[spark]'"
        ) from None
    from pyspark import SparkConf

    builder = SparkSession.builder.appName("statemachine audit")
    if not SparkConf().contains("spark.master"):  # spark-submit sets it; a plain run does not
        builder = builder.master("local[*]")
    spark = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")
    return spark


def _read(spark: SparkSession, source: Source, index: int, options: Options) -> DataFrame:
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
    picked: dict[str, Any] = {
        role: F.lit(None).cast(kinds[role])
        if name is None
        else F.col(f"`{name}`").cast(kinds[role])
        for role, name in present_columns(source, columns, frame.columns).items()
    }
    frame = frame.select(
        F.coalesce(F.col(f"`{columns.id}`").cast("string"), F.lit("")).alias("id"),
        F.coalesce(F.col(f"`{columns.status}`").cast("string"), F.lit("")).alias("status"),
        picked["seq"].alias("seq"),
        picked["at"].alias("ts"),
        picked["event_id"].alias("event_id"),
    )
    # the line in the file: partitions hold consecutive rows in file order, so a row's line
    # is the rows in the partitions before it plus its place in its own partition
    frame = frame.withColumn("_part", F.spark_partition_id()).withColumn(
        "_mono", F.monotonically_increasing_id()
    )
    sizes = sorted(tuple(r) for r in frame.groupBy("_part").count().collect())
    offsets, total = [], index * FILE_STRIDE
    for part, count in sizes:
        offsets.append((part, total))
        total += count
    if not offsets:
        return frame.withColumn("ord", F.lit(0).cast("bigint")).drop("_part", "_mono")
    starts = spark.createDataFrame(offsets, "_part int, _start bigint")
    return (
        frame.join(F.broadcast(starts), "_part")
        .withColumn(
            "ord",
            F.col("_start") + F.col("_mono") - F.shiftleft(F.col("_part").cast("bigint"), 33) + 1,
        )
        .drop("_part", "_mono", "_start")
    )


def run_spark(
    definition: Definition, sources: Sequence[Source], options: Options, outputs: Outputs
) -> Report:
    """The audit on Spark; the findings come back to this process to be written."""
    from pyspark.errors import PySparkException

    spark = session()
    try:
        frames = [_read(spark, source, i, options) for i, source in enumerate(sources)]
        events = frames[0]
        for frame in frames[1:]:
            events = events.unionByName(frame)
        events.createOrReplaceTempView("events")
        spark.sql(audit_sql(definition, "spark")).cache().createOrReplaceTempView("verdicts")
        latest = spark.sql("SELECT max(ts) FROM verdicts").collect()[0][0]
        as_of = options.as_of if options.as_of is not None else latest
        spark.sql(
            entities_sql(definition, "spark", options.limits(definition), as_of)
        ).cache().createOrReplaceTempView("entities")

        def query(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in spark.sql(sql).collect()]

        report = summarize(definition, query, as_of)
        _export(spark, outputs)
    except PySparkException as err:
        first = next(iter(str(err).strip().splitlines()), type(err).__name__)
        # named by file, line and column as `replay` names it, where replay would refuse it
        raise bad_value(sources, options.columns) or InputError(
            f"Spark cannot read the data: {first}"
        ) from None
    return report


def _export(spark: SparkSession, outputs: Outputs) -> None:
    """Write the requested files here: Spark's rows collected, written through DuckDB."""
    import duckdb

    from statemachine.audit.engines import copy_to, exports, load

    con = duckdb.connect()
    for n, (path, sql) in enumerate(exports(outputs)):
        frame = spark.sql(sql)
        rows = frame.collect()
        types = {f.name: f.dataType.simpleString().upper() for f in frame.schema.fields}
        types = {k: "VARCHAR" if v == "STRING" else v for k, v in types.items()}
        columns = {name: [row[i] for row in rows] for i, name in enumerate(frame.columns)}
        load(con, f"collected{n}", columns, types)
        copy_to(con, f"SELECT * FROM collected{n}", path)
