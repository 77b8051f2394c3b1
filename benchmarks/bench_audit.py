"""Audit benchmark: each engine against the job a user would write by hand, in one run.

    python benchmarks/bench_audit.py [--calls 100000] [--repeats 3] [--spark] [--long 100000]
                                     [--floor] [--amid PERCENT] [--dir DIR]

Generates DialNexa call logs as Parquet (about 10 events per call: every status is delivered
two or three times, each time with a new event id and a later time, as retried webhooks are;
1% of the calls of four statuses or more get one anomaly: a late `sent` or a late second
status re-sent with its old event id, an impossible `busy`, or an unknown `ringing`), then
times, in interleaved rounds (each job in a fresh process; medians, peak RSS):

- `audit`: `audit(..., engine="duckdb")`, the whole report (one pass that keeps no row per
  event);
- `duckdb by hand`: one DuckDB query in one sorted pass (lag per entity, the allowed moves as
  a joined table), then the verdict counts and each call's final status;
- `polars by hand`: the same in polars (lazy, sorted once, `shift` over the entity);
- with `--spark`, in `local[2]`: `audit --engine spark` and the same job in PySpark (window
  lag per entity, broadcast joins against the allowed moves).

Every job's verdict counts and final statuses must equal the audit's (checked). `--long N`
also times one entity of N and 10N events that all need the event-by-event fold, per engine,
with the peak memory at 10N, and from the two what each further event costs (Spark's fixed
start is most of its time at N); beside them the hand-written DuckDB query and PySpark job
over the same history, the floor of one sorted pass on each engine.
`--floor` times single steps: the window alone that verdicts identical to the replay's need
(the history by time, then place in the file; the previous status and whole key; whether an
event follows) against the one-pass query's window, both counted and not written; and the
audit's one pass (every event judged and summed up as it streams, the sums its table) against
the one-pass query's main step (its table of verdicts). `--amid PERCENT` also times calls
whose anomaly arrives between their first and second status, so that each is in doubt and
folded (`--amid 1`: the same 1% of calls; more: that share of the calls of four statuses or
more): the audit, the audit that keeps every event's row (as it does to write a file), and
the hand-written query (whose verdicts for those calls differ from the replay's).
Targets (issue 21): DuckDB audit <= 1.0x DuckDB by hand and <= 1.5x polars; Spark audit
<= 1.5x PySpark by hand; a long history <= 10 us an event in every engine, linear, DuckDB
no slower than Python; peak memory < 2 GB at 10M events.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

GENERATE = """
COPY (
  WITH calls AS (
    SELECT i, hash(i) % 100 AS kind, hash(i * 7) % 100 AS bad, hash(i * 13) % 4 AS how,
      TIMESTAMP '2025-03-01' + INTERVAL (i % 2592000) SECOND AS t0
    FROM range({calls}) r(i)
  ),
  paths AS (
    SELECT i, bad, how, t0, CASE
      WHEN kind < 45 THEN ['created', 'initiated', 'sent', 'received', 'completed']
      WHEN kind < 60 THEN ['created', 'initiated', 'sent', 'did_not_pick']
      WHEN kind < 70 THEN ['created', 'sent', 'busy']
      WHEN kind < 80 THEN ['created', 'initiated', 'sent', 'no_answer']
      WHEN kind < 88 THEN ['created', 'initiated', 'failed']
      WHEN kind < 95 THEN ['created', 'received', 'completed']
      ELSE ['created', 'initiated', 'sent'] END AS path
    FROM calls
  ),
  steps AS (
    SELECT i, bad, t0, path, unnest(path) AS status, generate_subscripts(path, 1) AS k
    FROM paths
  ),
  deliveries AS (
    SELECT 'call-' || i AS id, status, t0 + INTERVAL (k * 20 + dup * 3) SECOND AS "at",
      'evt-' || i || '-' || k || '-' || dup AS event_id
    FROM steps, range(3) c(dup) WHERE dup < CASE WHEN k = 1 OR k = len(path) THEN 3 ELSE 2 END
    UNION ALL
    SELECT 'call-' || i,
      CASE how WHEN 0 THEN 'sent' WHEN 1 THEN 'busy' WHEN 2 THEN 'ringing' ELSE path[2] END,
      t0 + INTERVAL ({late}) SECOND,
      CASE WHEN how = 3 THEN 'evt-' || i || '-2-1' ELSE 'evt-' || i || '-x' END
    FROM paths WHERE bad < {share} AND len(path) > 3
  )
  SELECT * FROM deliveries ORDER BY "at", id
) TO '{path}' (FORMAT parquet)
"""

#: one call of {events} events, every 7th without an event id (a key part that comes and
#: goes: the whole history is folded event by event)
LONG = """
COPY (
  SELECT 'call-long' AS id,
    ['created', 'initiated', 'sent', 'received', 'completed', 'sent', 'busy'][i % 7 + 1]
      AS status,
    TIMESTAMP '2025-03-01' + INTERVAL (i) SECOND AS "at",
    CASE WHEN i % 7 = 3 THEN NULL ELSE 'evt-' || i END AS event_id
  FROM range({events}) r(i)
) TO '{path}' (FORMAT parquet)
"""

#: the allowed moves as a user would keep them: (from, status, kind, to), from '' for a new call
MOVES = """
from statemachine.graph import graph_of, rows
from statemachine.runtime import definition
GRAPH = graph_of(definition("dialnexa.call"))
MOVES = [(c or "", v, str(f.kind), f.dest or "") for c, v, f in rows(GRAPH)]
MOVING = ("applied", "skipped", "ambiguous")
"""

CHILD = (
    MOVES
    + """
import json, resource, sys, time
job, path = sys.argv[1], sys.argv[2]

def audit_job(engine):
    from statemachine.audit import audit
    report = audit(definition("dialnexa.call"), [path], engine=engine)
    return report.verdicts, report.final

# the DuckDB audit that keeps every event's row (as it does to write a file, or for a caller
# that reads its relations): the one-pass report's peer
def audit_keeping_rows():
    from statemachine.audit.data import expand
    from statemachine.audit.duck import connect
    from statemachine.audit.engines import run
    from statemachine.audit.options import Options, Outputs
    con = connect()
    con.execute("SET enable_progress_bar = false")
    report = run(definition("dialnexa.call"), expand([path]), Options(), "duckdb", Outputs(), con)
    return report.verdicts, report.final

# a connection without the progress bar, which a long query draws on stdout, the result's line
def connection():
    import duckdb
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con

# the one-pass query's main step: every event judged, as a table
def duckdb_main(con):
    con.execute("CREATE TABLE moves(src VARCHAR, status VARCHAR, kind VARCHAR, dest VARCHAR)")
    con.executemany("INSERT INTO moves VALUES (?, ?, ?, ?)", MOVES)
    con.execute(f'''
      CREATE TABLE v AS
      SELECT e.id, e."at", COALESCE(
          CASE WHEN r.kind IS NULL THEN 'unknown'
               WHEN e.event_id = e.prev_event THEN 'repeated' ELSE r.kind END,
          'unknown') AS verdict, r.dest AS state
      FROM (
        SELECT id, status, "at", event_id,
          lag(status) OVER w AS prev, lag(event_id) OVER w AS prev_event
        FROM read_parquet('{path}') WINDOW w AS (PARTITION BY id ORDER BY "at")
      ) e
      LEFT JOIN moves p ON p.src = '' AND p.status = e.prev
      LEFT JOIN moves r ON r.src = COALESCE(p.dest, '') AND r.status = e.status''')

def duckdb_job():
    con = connection()
    duckdb_main(con)
    verdicts = dict(con.execute("SELECT verdict, count(*) FROM v GROUP BY ALL").fetchall())
    final = dict(con.execute(f'''SELECT final, count(*) FROM (
        SELECT id, arg_max(state, "at") FILTER (verdict IN {MOVING}) AS final FROM v GROUP BY id
      ) GROUP BY ALL''').fetchall())
    return verdicts, final

def hand_main_step():
    duckdb_main(connection())
    return {}, {}

# a window alone, every value it gives counted and nothing written: the one-pass query's
# (the previous status and event id by time), and the one that verdicts identical to the
# replay's need (the history by time, then place in the file for ties; the previous status and
# whole key, time too for `stale`; whether an event follows, so a late last event costs no fold),
# by the id, and as the audit's one pass sorts: by a hash of the id (it gives way when several
# ids share a hash), ties by the line as a 32-bit integer (a narrower key)
EXACT = '''row_number() OVER w, lag(status) OVER w, lag("at") OVER w, lag(event_id) OVER w,
        lead(file_row_number) OVER w'''
WINDOWS = {
    "hand window": ('''lag(status) OVER w, lag(event_id) OVER w''', "id", '''"at"'''),
    "exact window": (EXACT, "id", '''"at", file_row_number'''),
    "exact window, hashed": (EXACT, "hash(id)", '''"at", TRY_CAST(file_row_number AS INTEGER)'''),
}

def window(name):
    values, partition, order = WINDOWS[name]
    connection().execute(f'''
      SELECT count(*), count(COLUMNS(*)) FROM (
        SELECT {values} FROM read_parquet('{path}', file_row_number = true)
        WINDOW w AS (PARTITION BY {partition} ORDER BY {order}))''').fetchall()
    return {}, {}

# the audit's own one pass (`pass_sql`: `judged_sql` summed up by `summary_sql`) as the table
# the DuckDB engine reads its report from
def audit_one_pass():
    from statemachine.audit.data import expand, register_events
    from statemachine.audit.duck import connect
    from statemachine.audit.options import Options
    from statemachine.audit.summary import pass_sql, register_moves
    machine, con = definition("dialnexa.call"), connect()
    parts = register_events(con, expand([path]), Options().columns)
    register_moves(con, machine)
    con.execute(f"CREATE TABLE summary AS {pass_sql(machine, parts)}")
    return {}, {}

def polars_job():
    import polars as pl
    moves = pl.DataFrame(MOVES, schema=["src", "status", "kind", "dest"], orient="row").lazy()
    e = (
        pl.scan_parquet(path)
        .sort("id", "at")
        .with_columns(
            pl.col("status").shift(1).over("id").alias("prev"),
            pl.col("event_id").shift(1).over("id").alias("prev_event"),
        )
    )
    entry = moves.filter(pl.col("src") == "").select(
        pl.col("status").alias("prev"), pl.col("dest").alias("before"))
    v = (
        e.join(entry, on="prev", how="left")
        .with_columns(pl.col("before").fill_null(""))
        .join(moves, left_on=["before", "status"], right_on=["src", "status"], how="left")
        .with_columns(
            pl.when(pl.col("kind").is_null()).then(pl.lit("unknown"))
            .when(pl.col("event_id") == pl.col("prev_event")).then(pl.lit("repeated"))
            .otherwise(pl.col("kind")).alias("verdict")
        )
        .select("id", "at", "verdict", "dest")
        .collect()
    )
    verdicts = dict(v.group_by("verdict").len().iter_rows())
    final = (
        v.lazy().filter(pl.col("verdict").is_in(MOVING))
        .group_by("id").agg(pl.col("dest").sort_by("at").last().alias("final"))
        .group_by("final").len().collect()
    )
    return verdicts, dict(final.iter_rows())

def pyspark_job():
    from pyspark.sql import SparkSession, Window, functions as F
    spark = SparkSession.builder.getOrCreate()
    moves = spark.createDataFrame(MOVES, "src string, status string, kind string, dest string")
    w = Window.partitionBy("id").orderBy("at")
    e = (spark.read.parquet(path)
         .withColumn("prev", F.lag("status").over(w))
         .withColumn("prev_event", F.lag("event_id").over(w)))
    entry = moves.where("src = ''").select(
        F.col("status").alias("prev"), F.col("dest").alias("before"))
    v = (e.join(F.broadcast(entry), "prev", "left")
         .withColumn("before", F.coalesce("before", F.lit("")))
         .join(F.broadcast(moves.withColumnRenamed("src", "before")), ["before", "status"], "left")
         .withColumn("verdict", F.when(F.col("kind").isNull(), "unknown")
                     .when(F.col("event_id") == F.col("prev_event"), "repeated")
                     .otherwise(F.col("kind")))
         .select("id", "at", "verdict", "dest").cache())
    verdicts = {r[0]: r[1] for r in v.groupBy("verdict").count().collect()}
    final = (v.where(F.col("verdict").isin(*MOVING)).groupBy("id")
             .agg(F.max_by("dest", "at").alias("final")).groupBy("final").count().collect())
    return verdicts, {r[0]: r[1] for r in final}

# the libraries each job uses are loaded before the clock: the work is timed, not imports
# (pyarrow loads pandas when it is installed, as with the test extra: about 0.6 s)
import duckdb, polars, pyarrow, statemachine.audit
try:
    import pandas
except ImportError:
    pass
if "spark" in job:  # the same session for both Spark jobs, started before the clock
    import os
    from pyspark.sql import SparkSession
    os.environ["PYSPARK_PYTHON"] = sys.executable
    (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
     .config("spark.sql.session.timeZone", "UTC").getOrCreate().sparkContext.setLogLevel("OFF"))
start = time.perf_counter()
verdicts, final = {
    "audit": lambda: audit_job("duckdb"),
    "python audit": lambda: audit_job("python"),
    "audit keeping rows": audit_keeping_rows,
    "spark audit": lambda: audit_job("spark"),
    "duckdb by hand": duckdb_job,
    "hand main step": hand_main_step,
    "hand window": lambda: window("hand window"),
    "exact window": lambda: window("exact window"),
    "exact window, hashed": lambda: window("exact window, hashed"),
    "audit one pass": audit_one_pass,
    "polars by hand": polars_job,
    "pyspark by hand": pyspark_job,
}[job]()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak,
    "verdicts": {k: n for k, n in verdicts.items() if n},
    "final": {k or "(none)": n for k, n in final.items()}}))
"""
)


#: when a call's anomaly arrives: after its last status (judged in the one pass), or between
#: its first and second (`--amid`: the call is in doubt and folded)
LAST, AMID = "len(path) * 20 + 10", "30"


def generate(path: Path, sql: str, **values: Any) -> Path:
    # in a process of its own: a job's peak memory counts that of the process it is started
    # from (Linux keeps the high-water mark across fork and exec)
    if not path.exists():
        code = "import duckdb, sys; duckdb.connect().execute(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, sql.format(path=path, **values)], check=True)
    return path


def count(path: Path) -> int:
    """The rows of the Parquet file `path`, from its footer."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def once(job: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, job, str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{job} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rounds(
    jobs: list[str], path: Path, repeats: int, agree: Collection[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each job `repeats` times, interleaved; the median time, the largest peak, and the
    results, which must agree with the first job's (the jobs `agree` names; default all)."""
    runs: dict[str, list[dict[str, Any]]] = {job: [] for job in jobs}
    for _ in range(repeats):
        for job in jobs:
            runs[job].append(once(job, path))
    first = runs[jobs[0]][0]
    for job, results in runs.items():
        for r in results if agree is None or job in agree else ():
            if (r["verdicts"], r["final"]) != (first["verdicts"], first["final"]):
                raise SystemExit(f"{job} disagrees with {jobs[0]}: {r} != {first}")
    return {
        job: {
            "seconds": statistics.median(r["seconds"] for r in results),
            "peak": max(r["peak"] for r in results),
        }
        for job, results in runs.items()
    }


def table(title: str, measured: dict[str, dict[str, Any]], events: int, base: str) -> None:
    print(f"\n{title}: {events:,} events")
    print(f"{'job':20} {'median s':>9} {'events/s':>11} {'peak MB':>8} {'x ' + base:>14}")
    for job, r in measured.items():
        ratio = r["seconds"] / measured[base]["seconds"]
        print(
            f"{job:20} {r['seconds']:>9.2f} {events / r['seconds']:>11,.0f} "
            f"{r['peak'] / 2**20:>8.0f} {ratio:>14.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spark", action="store_true", help="also Spark, local[2]")
    parser.add_argument("--long", type=int, default=0, help="events of the long history")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also the window alone that exact verdicts need, against the one-pass query's "
        "main step",
    )
    parser.add_argument(
        "--amid",
        type=int,
        default=0,
        metavar="PERCENT",
        help="also PERCENT%% of the calls with an anomaly amid their history (each one folded)",
    )
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bench_audit")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = generate(
        args.dir / f"calls-{args.calls}.parquet", GENERATE, calls=args.calls, share=1, late=LAST
    )
    events = count(data)
    print(f"generated in {time.perf_counter() - started:.0f} s under {args.dir}")
    jobs = ["audit", "duckdb by hand", "polars by hand"]
    measured = rounds(jobs, data, args.repeats)
    table("DuckDB", measured, events, "duckdb by hand")
    print(
        f"audit / duckdb by hand {measured['audit']['seconds'] / measured[jobs[1]]['seconds']:.2f}x"
        f" (target <= 1.0x), audit / polars "
        f"{measured['audit']['seconds'] / measured[jobs[2]]['seconds']:.2f}x (target <= 1.5x)"
    )
    if args.floor:
        # how fast any exact audit on DuckDB's window could be, before it reports anything
        windows = ["hand window", "exact window", "exact window, hashed"]
        steps = ["hand main step", "audit one pass"]
        measured = rounds(windows + steps, data, args.repeats, agree=())
        table("DuckDB, one window each", {w: measured[w] for w in windows}, events, windows[0])
        table("DuckDB, one step each", {s: measured[s] for s in steps}, events, steps[0])
    if args.amid:
        amid = generate(
            args.dir / f"calls-{args.calls}-amid{args.amid}.parquet",
            GENERATE,
            calls=args.calls,
            share=args.amid,
            late=AMID,
        )
        counted = count(amid)
        # the hand-written query judges each event against the one before it: for the calls
        # in doubt its verdicts differ from the replay's, so only the two audits must agree
        jobs = ["audit", "audit keeping rows", "duckdb by hand"]
        measured = rounds(jobs, amid, args.repeats, agree=jobs[:2])
        title = f"DuckDB, anomalies amid the histories of {args.amid}% of calls"
        table(title, measured, counted, "duckdb by hand")
    if args.spark:
        measured = rounds(["spark audit", "pyspark by hand"], data, args.repeats)
        table("Spark local[2]", measured, events, "pyspark by hand")
        ratio = measured["spark audit"]["seconds"] / measured["pyspark by hand"]["seconds"]
        print(f"spark audit / pyspark by hand {ratio:.2f}x (target <= 1.5x)")
    if args.long:
        print(f"\nlong history: one entity, every event folded (us an event; x{args.long:,})")
        engines = ["audit", "python audit"] + (["spark audit"] if args.spark else [])
        # one sorted pass by hand on each engine: the floor of a job over one history (their
        # verdicts judge each event against the one before it, not the replay's)
        peers = ["duckdb by hand"] + (["pyspark by hand"] if args.spark else [])
        timed = []
        for n in (args.long, 10 * args.long):
            path = generate(args.dir / f"long-{n}.parquet", LONG, events=n)
            found = rounds(engines + peers, path, 1 if n > args.long else args.repeats, engines)
            timed.append(found)
            print(
                f"{n:>10,} events  "
                + "  ".join(f"{job}: {r['seconds'] / n * 1e6:.1f}" for job, r in found.items())
            )
        # what each further event costs, without the fixed start (Spark's is most of its time)
        print(
            "  per added event  "
            + "  ".join(
                f"{job}: {(timed[1][job]['seconds'] - r['seconds']) / (9 * args.long) * 1e6:.1f}"
                for job, r in timed[0].items()
            )
        )
        print(
            f"  peak MB at {10 * args.long:,}  "
            + "  ".join(f"{job}: {r['peak'] / 2**20:,.0f}" for job, r in timed[1].items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
