"""Audit benchmark: DuckDB audit vs the Python reference vs DuckDB's floor (vs Spark), one run.

    python benchmarks/bench_audit.py [--calls 1000000] [--python-calls 100000] [--repeats 3]
                                     [--spark] [--dir DIR]

Generates DialNexa call logs (about 10 events per call: every status is delivered two or
three times, each time with a new event id and a later time, as retried webhooks are; 1% of
the calls of four statuses or more get one anomaly: a late `sent` or a late second status
re-sent with its old event id, an impossible `busy`, or an unknown `ringing`) as Parquet
and CSV, then prints per engine and format the median time, events/s, peak memory (RSS of
a fresh process) and the ratios. Each engine runs in its own process. The floor is DuckDB
reading the same file and sorting it by entity and key, nothing else. The Python reference
holds every event in memory, so it runs on the first `--python-calls` calls (a sample) and
its events/s are compared.
Targets (issue #13): DuckDB >= 10x Python's events/s, within 3x of the floor, < 2 GB peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
      t0 + INTERVAL (len(path) * 20 + 10) SECOND,
      CASE WHEN how = 3 THEN 'evt-' || i || '-2-1' ELSE 'evt-' || i || '-x' END
    FROM paths WHERE bad = 0 AND len(path) > 3
  )
  SELECT * FROM deliveries ORDER BY "at", id
) TO '{path}' {options}
"""

CHILD = """
import json, resource, sys, time
from statemachine.audit import Columns, Options, audit
from statemachine.runtime import definition
engine, path = sys.argv[1], sys.argv[2]
d = definition("dialnexa.call")
start = time.perf_counter()
if engine == "floor":
    from statemachine.audit.data import expand, register_events
    from statemachine.audit.engines import connect
    con = connect()
    register_events(con, expand([path]), Columns())
    con.execute("CREATE TEMP TABLE s AS SELECT * FROM events ORDER BY id, seq, ts, ord")
    events = con.execute("SELECT count(*) FROM s").fetchall()[0][0]
else:
    events = audit(d, [path], Options(), engine=engine).events
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "events": events, "peak": peak}))
"""


def generate(directory: Path, calls: int, name: str) -> dict[str, Path]:
    import duckdb

    con = duckdb.connect()
    files = {}
    for fmt, options in (("parquet", "(FORMAT parquet)"), ("csv", "(FORMAT csv, HEADER true)")):
        path = directory / f"{name}.{fmt}"
        if not path.exists():
            con.execute(GENERATE.format(calls=calls, path=path, options=options))
        files[fmt] = path
    return files


def measure(engine: str, path: Path, repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, engine, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "seconds": seconds,
        "events": runs[0]["events"],
        "rate": runs[0]["events"] / seconds,
        "peak": max(r["peak"] for r in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--python-calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spark", action="store_true", help="also time --engine spark (once)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bench_audit")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    full = generate(args.dir, args.calls, f"calls-{args.calls}")
    sample = generate(args.dir, args.python_calls, f"calls-{args.python_calls}")
    print(f"generated in {time.perf_counter() - started:.0f} s under {args.dir}")
    rows = []
    for fmt in ("parquet", "csv"):
        results = {
            "duckdb": measure("duckdb", full[fmt], args.repeats),
            "floor": measure("floor", full[fmt], args.repeats),
            "python (sample)": measure("python", sample[fmt], 1),
        }
        if args.spark:
            results["spark"] = measure("spark", full[fmt], 1)
        for name, r in results.items():
            rows.append((fmt, name, r))
        duck, floor, py = results["duckdb"], results["floor"], results["python (sample)"]
        rows.append(
            (
                fmt,
                f"ratios: duckdb/python events/s {duck['rate'] / py['rate']:.1f}x (target >= 10x), "
                f"duckdb/floor time {duck['seconds'] / floor['seconds']:.2f}x (target <= 3x)",
                None,
            )
        )
    print(
        f"{'format':8} {'engine':16} {'events':>11} {'seconds':>8} {'events/s':>11} {'peak MB':>8}"
    )
    for fmt, name, r in rows:
        if r is None:
            print(f"{fmt:8} {name}")
            continue
        print(
            f"{fmt:8} {name:16} {r['events']:>11,} {r['seconds']:>8.2f} {r['rate']:>11,.0f} "
            f"{r['peak'] / 2**20:>8.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
