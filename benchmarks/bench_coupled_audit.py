"""Coupled audit benchmark: a batch audit with its calls against the two audits alone.

    python benchmarks/bench_coupled_audit.py [--batches 10000] [--calls-per-batch 100]
                                             [--repeats 3] [--engine duckdb] [--dir DIR]

Generates DialNexa batches (draft, active, running, completed with their counters) and their
calls as Parquet (created, initiated or sent, then a final status; each call carries
`batch_id`; 1% of the batches complete while one call is still in progress, 1% start a call
after completing), then times, in interleaved rounds (each job in a fresh process, the
libraries loaded before the clock; medians):

- `alone`: `audit(dialnexa.batch)` plus `audit(dialnexa.call)`, the two single-machine audits;
- `coupled`: `statemachine audit dialnexa.batch --related dialnexa.call=...` as one audit.

Target (issue 19): coupled <= 1.5x alone. The coupled audit's violation counts are printed,
so a run also shows the planted anomalies were found.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

GENERATE = """
COPY (
  SELECT 'b' || b AS id, s.status, TIMESTAMP '2025-03-01' + INTERVAL (b * 60 + s.k) SECOND AS at,
    CASE WHEN s.status = 'completed' THEN {per} * 6 // 10 END AS completed_leads,
    CASE WHEN s.status = 'completed' THEN {per} * 6 // 10 END AS picked_up_lead_count,
    CASE WHEN s.status = 'completed' THEN {per} - {per} * 6 // 10 END AS failed_leads,
    CASE WHEN s.status = 'completed' THEN 0 END AS did_not_pick_count
  FROM range({batches}) r(b),
    (VALUES ('draft', 0), ('active', 1), ('running', 2), ('completed', 50000)) s(status, k)
) TO '{dir}/batches.parquet' (FORMAT parquet);
COPY (
  WITH calls AS (
    SELECT b, c, 'b' || b || '-' || c AS id,
      TIMESTAMP '2025-03-01' + INTERVAL (b * 60 + 3 + c) SECOND AS t0
    FROM range({batches}) r(b), range({per}) q(c)
  )
  SELECT id, 'b' || b AS batch_id, s.status,
    CASE WHEN b % 100 = 7 AND c = 0 AND s.k = 2 THEN t0 + INTERVAL 60000 SECOND
         WHEN b % 100 = 9 AND c = 0 THEN t0 + INTERVAL (50100 + s.k) SECOND
         ELSE t0 + INTERVAL (s.k * 20) SECOND END AS at
  FROM calls,
    (VALUES ('created', 0), ('initiated', 1), ('completed', 2), ('failed', 2)) s(status, k)
  WHERE s.k < 2 OR (s.status = 'completed') = (c < {per} * 6 // 10)
) TO '{dir}/calls.parquet' (FORMAT parquet);
"""

JOB = """
import json, sys, time
from statemachine.audit import Options, audit
from statemachine.audit.coupled import Machine, audit_coupled
from statemachine.audit.data import expand
from statemachine.runtime import definition
batch, call = definition("dialnexa.batch"), definition("dialnexa.call")
folder, which, engine = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
if which == "alone":
    audit(batch, [folder + "/batches.parquet"], Options(), engine=engine)
    audit(call, [folder + "/calls.parquet"], Options(), engine=engine)
    found = {}
else:
    result = audit_coupled(
        Machine(batch, tuple(expand([folder + "/batches.parquet"]))),
        [Machine(call, tuple(expand([folder + "/calls.parquet"])))],
        Options(),
        engine,
    )
    found = {r.code: r.count for r in result.rules}
print(json.dumps({"seconds": time.perf_counter() - start, "found": found}))
"""


def _run(folder: Path, which: str, engine: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", JOB, str(folder), which, engine],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--calls-per-batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "python"])
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    import duckdb

    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-coupled-"))
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(
        GENERATE.format(batches=args.batches, per=args.calls_per_batch, dir=folder)
    )
    events = {
        name: duckdb.sql(f"SELECT count(*) FROM '{folder}/{name}.parquet'").fetchall()[0][0]
        for name in ("batches", "calls")
    }
    print(
        f"{args.batches:,} batches ({events['batches']:,} events), "
        f"{args.batches * args.calls_per_batch:,} calls ({events['calls']:,} events), "
        f"engine {args.engine}, {args.repeats} interleaved rounds"
    )
    times: dict[str, list[float]] = {"alone": [], "coupled": []}
    found: object = {}
    for _ in range(args.repeats):
        for which in times:
            result = _run(folder, which, args.engine)
            times[which].append(float(result["seconds"]))  # type: ignore[arg-type]
            if which == "coupled":
                found = result["found"]
    alone = statistics.median(times["alone"])
    print("| job | median s | x alone |\n| --- | ---: | ---: |")
    for which, runs in times.items():
        median = statistics.median(runs)
        print(f"| {which} | {median:.2f} | {median / alone:.2f} |")
    print(f"violations found by the coupled audit: {found}")


if __name__ == "__main__":
    main()
