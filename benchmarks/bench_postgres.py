"""PostgreSQL enforcement benchmark: the triggers' cost per write, side by side in one run.

    python benchmarks/bench_postgres.py [--rows N] [--repeats N]

Starts a throw-away server (as the tests do), creates two identical `call_logs` tables, one
enforcing `dialnexa.call` (with a `seq` ordering key), and writes the same rows into both,
alternating, `--repeats` times: one UPDATE per row from a psycopg loop (what a webhook
handler does), one UPDATE of all rows (the server's own cost, no round trips), one upsert
(`INSERT ... ON CONFLICT (id) DO UPDATE`) per row, the helper's `Delivery.apply` per row (on
the enforced table, against the plain upsert), and a COPY of every row into the emptied
table (new calls first seen at `sent`: skipped past `created`). Prints the medians in
microseconds per row and the ratio. Targets: <= 1.5x for the per-row UPDATE (issue 15) and
upsert, <= 2x for COPY (issue 20). The server runs with fsync off, so the ratio is not
hidden behind disk flushes.
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
from statemachine.sql.deliver import Delivery
from statemachine.sql.postgres import enforce_sql
from tests.pgserver import running

Conn = psycopg.Connection[tuple[object, ...]]


def reset(conn: Conn, table: str, rows: int) -> None:
    """Every row back to `created`, bypassing the trigger, and the table vacuumed."""
    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    conn.execute(f"UPDATE {table} SET status = 'created', seq = 1")
    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    conn.execute(f"VACUUM ANALYZE {table}")


def per_row(conn: Conn, table: str, ids: range) -> float:
    """Seconds for one single-row UPDATE per id from a client loop."""
    start = time.perf_counter()
    for row in ids:
        conn.execute(f"UPDATE {table} SET status = %s, seq = %s WHERE id = %s", ("sent", 2, row))
    return time.perf_counter() - start


def set_based(conn: Conn, table: str, ids: range) -> float:
    """Seconds for one UPDATE of every row."""
    start = time.perf_counter()
    conn.execute(f"UPDATE {table} SET status = 'sent', seq = 2")
    return time.perf_counter() - start


def upsert(conn: Conn, table: str, ids: range) -> float:
    """Seconds for one single-row upsert onto each existing row from a client loop."""
    query = (
        f"INSERT INTO {table} (id, status, seq) VALUES (%s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, seq = EXCLUDED.seq"
    )
    start = time.perf_counter()
    for row in ids:
        conn.execute(query, (row, "sent", 2))
    return time.perf_counter() - start


def delivered(conn: Conn, table: str, ids: range) -> float:
    """Seconds for one `Delivery.apply` per row on the enforced table (one round trip that
    judges and writes, the verdict back), one plain upsert per row on the plain one."""
    if table == "plain":
        return upsert(conn, table, ids)
    delivery = Delivery(definition("dialnexa.call"), table)
    start = time.perf_counter()
    for row in ids:
        delivery.apply(conn, row, "sent", seq=2)
    return time.perf_counter() - start


def empty(conn: Conn, table: str, rows: int) -> None:
    conn.execute(f"TRUNCATE {table}")
    conn.execute(f"VACUUM ANALYZE {table}")


def copy(conn: Conn, table: str, ids: range) -> float:
    """Seconds for one COPY of every row (text format, from memory)."""
    data = "".join(f"{row}\tsent\t2\n" for row in ids).encode()
    start = time.perf_counter()
    with conn.cursor().copy(f"COPY {table} (id, status, seq) FROM STDIN") as out:
        out.write(data)
    return time.perf_counter() - start


#: the per-row loops alternate between the tables every CHUNK rows (the first one
#: alternating too), so both meet the same load on a shared machine
CHUNK = 100


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
        # how to prepare a table, how to write its rows, whether in chunks
        Way = tuple[Callable[[Conn, str, int], None], Callable[[Conn, str, range], float], bool]
        ways: dict[str, Way] = {
            "one UPDATE per row (psycopg loop)": (reset, per_row, True),
            "one UPDATE of all rows": (reset, set_based, False),
            "one upsert per row (psycopg loop)": (reset, upsert, True),
            "Delivery.apply per row, against upsert": (reset, delivered, True),
            "COPY of all rows into an empty table": (empty, copy, False),
        }
        print(f"PostgreSQL {conn.info.server_version}, {args.rows} rows, {args.repeats} repeats")
        print(f"{'workload':38} {'plain us/row':>13} {'enforced us/row':>16} {'ratio':>6}")
        for label, (prepare, way, chunked) in ways.items():
            times: dict[str, list[float]] = {"plain": [], "enforced": []}
            step = CHUNK if chunked else args.rows
            for _ in range(args.repeats):
                took = dict.fromkeys(times, 0.0)
                for table in times:
                    prepare(conn, table, args.rows)
                for n, first in enumerate(range(0, args.rows, step)):
                    ids = range(first, min(first + step, args.rows))
                    for table in list(times)[:: 1 if n % 2 else -1]:
                        took[table] += way(conn, table, ids)
                for table, seconds in took.items():
                    times[table].append(seconds / args.rows * 1e6)
            statuses = conn.execute("SELECT DISTINCT status FROM enforced").fetchall()
            assert statuses == [("sent",)], statuses  # the trigger applied every move
            plain, enforced = (statistics.median(times[t]) for t in ("plain", "enforced"))
            print(f"{label:38} {plain:13.1f} {enforced:16.1f} {enforced / plain:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
