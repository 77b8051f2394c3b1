"""The webhook service example under 4 uvicorn workers against a naive handler, in one run.

    python benchmarks/bench_service.py [--calls N] [--repeats N] [--in-flight N]

Starts a throw-away PostgreSQL server, the example (docs/examples/service: every callback
judged and written by the generated `apply_<table>()`) and the naive service
(benchmarks/naive_service.py: a plain upsert into an unenforced table), 4 workers each, and
posts the same callbacks to each in turn, `--repeats` times: `--calls` Twilio and as many
DialNexa calls, shuffled within a window, 5% duplicated, some late, some impossible, at most
`--in-flight` at once. Prints the medians of requests/s, p50 and p99 latency, and the rows
that do not end at their history's final status.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from statemachine.runtime import definition
from tests.callbacks import deliveries, interleaved
from tests.pgserver import running
from tests.webhooks import Posted, post_all, serving

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "docs" / "examples" / "service"
TABLES = ("twilio_calls", "dialnexa_calls")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per provider")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=48)
    args = parser.parse_args()
    rnd = random.Random(20)
    twilio = deliveries(
        definition("twilio.call", [SERVICE.parent / "twilio"]), args.calls, rnd, prefix="CA"
    )
    dialnexa = deliveries(definition("dialnexa.call"), args.calls, rnd, prefix="dn-")
    phases = [interleaved(twilio, dialnexa), [*twilio.after, *dialnexa.after]]
    finals = {**twilio.finals, **dialnexa.finals}
    services = {"enforced (Delivery.apply_async)": "", "naive (plain upsert)": "naive_"}
    with running("max_connections=200") as server, tempfile.TemporaryDirectory() as logs:
        env = {**os.environ, "DATABASE_URL": server.conninfo}
        migrate = [sys.executable, str(SERVICE / "app.py"), "migrate"]
        subprocess.run(migrate, env=env, check=True)
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            version = conn.info.server_version
            for table in TABLES:
                conn.execute(f"CREATE TABLE naive_{table} (LIKE {table} INCLUDING ALL)")
            with (
                serving("app:app", SERVICE, env, Path(logs) / "app.log") as enforced,
                serving(
                    "naive_service:app", ROOT / "benchmarks", env, Path(logs) / "naive.log"
                ) as naive,
            ):
                urls = dict(zip(services, (enforced, naive), strict=True))
                results: dict[str, list[tuple[float, float, float, int, int]]] = {
                    s: [] for s in services
                }
                for _ in range(args.repeats):
                    for label, prefix in services.items():
                        for table in TABLES:
                            conn.execute(f"TRUNCATE {prefix}{table}")
                        posted = post_all(urls[label], phases, args.in_flight)
                        held = {
                            str(i): s
                            for table in TABLES
                            for i, s in conn.execute(f"SELECT id, status FROM {prefix}{table}")
                        }
                        wrong = sum(held.get(call) != final for call, final in finals.items())
                        results[label].append((*_speed(posted), wrong, _errors(posted)))
        requests = sum(len(p) for p in phases)
        print(
            f"PostgreSQL {version}; {2 * args.calls} calls, {requests} "
            f"callbacks, {args.in_flight} in flight, 4 workers each, {args.repeats} repeats"
        )
        print(f"| service | requests/s | p50 ms | p99 ms | rows wrong (of {len(finals)}) | 5xx |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, runs in results.items():
            rate, p50, p99, wrong, errors = (
                statistics.median(r[i] for r in runs) for i in range(5)
            )
            print(
                f"| {label} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {wrong:,.0f} | {errors:.0f} |"
            )
    return 0


def _speed(posted: Posted) -> tuple[float, float, float]:
    """Requests per second, and the p50 and p99 latency in milliseconds."""
    took = sorted(seconds for _, _, seconds in posted.answers)
    cuts = statistics.quantiles(took, n=100)
    return len(took) / posted.seconds, cuts[49] * 1e3, cuts[98] * 1e3


def _errors(posted: Posted) -> int:
    return sum(code >= 500 for _, code, _ in posted.answers)


if __name__ == "__main__":
    sys.exit(main())
