"""PostgreSQL enforcement benchmark: the trigger's cost per UPDATE, side by side in one run.

    python benchmarks/bench_postgres.py [--rows N] [--repeats N]

Starts a throw-away server (as the tests do), creates two identical `call_logs` tables, one
enforcing `dialnexa.call` (with a `seq` ordering key), and moves every row `created -> sent`
in both, alternating, `--repeats` times: one UPDATE per row from a psycopg loop (what a
webhook handler does), and one UPDATE of all rows (the server's own cost, no round trips).
Prints the medians in microseconds per row and the ratio. Target (issue 15): <= 1.5x for
the per-row loop. The server runs with fsync off, so the ratio is not hidden behind disk
flushes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.pgserver

from statemachine.runtime import definition
from statemachine.sql.postgres import enforce_sql
from tests.pgserver import running

Conn = psycopg.Connection[tuple[object, ...]]


def reset(conn: Conn, table: str, rows: int) -> None:
    """Every row back to `created`, bypassing the trigger, and the table vacuumed."""
    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    conn.execute(f"UPDATE {table} SET status = 'created', seq = 1")
    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    conn.execute(f"VACUUM ANALYZE {table}")


def per_row(conn: Conn, table: str, rows: int) -> float:
    """Microseconds per single-row UPDATE from a client loop."""
    start = time.perf_counter()
    for row in range(rows):
        conn.execute(f"UPDATE {table} SET status = %s, seq = %s WHERE id = %s", ("sent", 2, row))
    return (time.perf_counter() - start) / rows * 1e6


def set_based(conn: Conn, table: str, rows: int) -> float:
    """Microseconds per row of one UPDATE of every row."""
    start = time.perf_counter()
    conn.execute(f"UPDATE {table} SET status = 'sent', seq = 2")
    return (time.perf_counter() - start) / rows * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    d = definition("dialnexa.call")
    with running() as server, psycopg.connect(server.conninfo, autocommit=True) as conn:
        for table in ("plain", "enforced"):
            conn.execute(
                f"CREATE TABLE {table} (id bigint PRIMARY KEY, status text, seq bigint, "
                "note text DEFAULT 'x')"
            )
            conn.execute(
                f"INSERT INTO {table} (id, status, seq) "
                f"SELECT g, 'created', 1 FROM generate_series(0, {args.rows - 1}) AS g"
            )
        conn.execute(enforce_sql(d, "enforced", seq="seq"))
        ways: dict[str, Callable[[Conn, str, int], float]] = {
            "one UPDATE per row (psycopg loop)": per_row,
            "one UPDATE of all rows": set_based,
        }
        print(f"PostgreSQL {conn.info.server_version}, {args.rows} rows, {args.repeats} repeats")
        print(f"{'workload':36} {'plain us/row':>13} {'enforced us/row':>16} {'ratio':>6}")
        for label, way in ways.items():
            times: dict[str, list[float]] = {"plain": [], "enforced": []}
            for _ in range(args.repeats):
                for table in times:
                    reset(conn, table, args.rows)
                    times[table].append(way(conn, table, args.rows))
            statuses = conn.execute("SELECT DISTINCT status FROM enforced").fetchall()
            assert statuses == [("sent",)], statuses  # the trigger applied every move
            plain, enforced = (statistics.median(times[t]) for t in ("plain", "enforced"))
            print(f"{label:36} {plain:13.1f} {enforced:16.1f} {enforced / plain:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
