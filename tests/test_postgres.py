"""PostgreSQL enforces the lifecycle: the generated DDL, run on a real server the tests start,
gives every write of the status column the runtime's verdict, whichever program writes."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
import psycopg
import pytest

from statemachine.graph import Kind, graph_of, rows
from statemachine.graph.paths import covering_histories, shortest_histories
from statemachine.io.registry import bundled_dir, load_registry
from statemachine.runtime import definition, lifecycle
from statemachine.runtime.streams import DEFAULT_POLICY, Action, Event, Verdict, classify
from statemachine.sql.deliver import Delivery
from statemachine.sql.postgres import SQLSTATE, enforce_sql, quote_ident
from tests import pgserver
from tests.callbacks import Callback, deliveries, log_changes, replayed
from tests.conftest import run_cli
from tests.pgserver import Conn

MACHINES = sorted(load_registry([bundled_dir()]).machines)


def enforced(conn: Conn, name: str, table: str, column: str | None = None, **keys: str) -> str:
    """Create `table` (id, the status column, seq, at, note) enforcing machine `name`;
    returns the quoted status column."""
    d = definition(name)
    col = quote_ident(column or d.field)
    conn.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    conn.execute(
        f"CREATE TABLE {quote_ident(table)} (id bigint PRIMARY KEY, {col} text, "
        "seq bigint, at timestamptz, note text)"
    )
    conn.execute(enforce_sql(d, table, column=column, **keys))
    return col


#: the statements that write one status to row `id`, existing or not (UPDATE only when it
#: exists): the database must give each the runtime's verdict
WRITES = {
    "update": "UPDATE {q} SET {col} = %(status)s WHERE id = %(id)s",
    "upsert": "INSERT INTO {q} (id, {col}) VALUES (%(id)s, %(status)s) "
    "ON CONFLICT (id) DO UPDATE SET {col} = EXCLUDED.{col}",
    "merge": "MERGE INTO {q} AS t USING (VALUES (%(id)s::bigint, %(status)s::text)) AS s (id, st) "
    "ON t.id = s.id WHEN MATCHED THEN UPDATE SET {col} = s.st "
    "WHEN NOT MATCHED THEN INSERT (id, {col}) VALUES (s.id, s.st)",
}


def status_of(conn: Conn, table: str, col: str, row: int) -> object:
    found = conn.execute(f"SELECT {col} FROM {quote_ident(table)} WHERE id = %s", (row,)).fetchone()
    assert found is not None
    return found[0]


@pytest.mark.parametrize("name", MACHINES)
def test_every_verdict_of_every_machine_holds_in_the_server(db: Conn, name: str) -> None:
    d = definition(name)
    graph = graph_of(d)
    table = f"log of {name}"  # a name with spaces and dots
    col = enforced(db, name, table)
    q = quote_ident(table)
    update = f"UPDATE {q} SET {col} = %s WHERE id = %s RETURNING {col}"
    ids = itertools.count(1)
    # legal histories from the graph, delivered as the provider reports them, all pass
    for history in covering_histories(graph):
        row, first, *rest = next(ids), *history.delivered
        db.execute(f"INSERT INTO {q} (id, {col}) VALUES (%s, %s)", (row, first))
        for status in rest:
            assert db.execute(update, (status, row)).fetchone() == (status,), history
    # a row in every state (through every state of a shortest history) ...
    held: dict[str, int] = {}
    for state, history in shortest_histories(graph).items():
        row = held[state] = next(ids)
        db.execute(f"INSERT INTO {q} (id, {col}) VALUES (%s, %s)", (row, history.states[0]))
        for status in history.states[1:]:
            db.execute(update, (status, row))
        assert status_of(db, table, col, row) == state
    # ... gets every value of the machine with the runtime's verdict and policy, whatever
    # statement writes it
    for current, value, _ in rows(graph):
        if current is None:
            continue
        verdict = classify(d, current, value)
        action = DEFAULT_POLICY.action(verdict.kind)
        row = held[current]
        for write in WRITES.values():
            with db.transaction(force_rollback=True):
                try:
                    cur = db.execute(write.format(q=q, col=col), {"id": row, "status": value})
                except psycopg.Error as err:
                    assert action is Action.RAISE, (current, value, verdict.kind, err)
                    assert err.sqlstate == SQLSTATE[verdict.kind]
                    continue
                assert action is not Action.RAISE, (current, value, verdict.kind)
                after = status_of(db, table, col, row)
                assert after == verdict.after, (current, value, verdict.kind, write)
                # an ignored repeat keeps the status and lets the row's update through; any
                # other ignored verdict leaves the row as it is
                dropped = action is Action.IGNORE and verdict.kind is not Kind.REPEATED
                assert cur.rowcount == (0 if dropped else 1), (current, value, write)
    with pytest.raises(psycopg.Error) as unknown:
        db.execute(update, ("no such status", held[d.initial[0]]))
    assert unknown.value.sqlstate == SQLSTATE[Kind.UNKNOWN]


@pytest.mark.parametrize("name", MACHINES)
def test_a_new_row_starts_where_the_runtime_starts_a_new_entity(db: Conn, name: str) -> None:
    d = definition(name)
    table = f"new rows of {name}"
    col = enforced(db, name, table)
    q = quote_ident(table)
    ids = itertools.count(1)
    entry = d.initial[0]
    for value in [*d.states, *d.aliases, "no such status"]:
        verdict = classify(d, None, value)
        action = DEFAULT_POLICY.action(verdict.kind)
        one = f"INSERT INTO {q} (id, {col}) VALUES (%(id)s, %(status)s)"
        inserts = [one, WRITES["upsert"], WRITES["merge"]]
        many = f"INSERT INTO {q} (id, {col}) VALUES (%(other)s, %(entry)s), (%(id)s, %(status)s)"
        for write in [*inserts, many, "COPY"]:
            given = {"id": next(ids), "status": value, "other": next(ids), "entry": entry}
            with db.transaction(force_rollback=True):
                try:
                    if write == "COPY":
                        with db.cursor().copy(f"COPY {q} (id, {col}) FROM STDIN") as copy:
                            copy.write_row((given["other"], entry))
                            copy.write_row((given["id"], value))
                    else:
                        db.execute(write.format(q=q, col=col), given)
                except psycopg.Error as err:
                    assert action is Action.RAISE, (value, verdict.kind, write, err)
                    assert err.sqlstate == SQLSTATE[verdict.kind]
                    continue
                assert action is Action.APPLY, (value, verdict.kind, write)
                assert status_of(db, table, col, given["id"]) == verdict.after, (value, write)


def test_an_insert_may_start_past_statuses_that_never_arrived(db: Conn) -> None:
    col = enforced(db, "dialnexa.call", "calls")
    insert = f"INSERT INTO calls (id, {col}) VALUES (%s, %s)"
    for row_id, entry in enumerate(definition("dialnexa.call").initial, start=1):
        db.execute(insert, (row_id, entry))
    # the first delivery to arrive is a later status: the runtime applies it as `skipped`
    db.execute(insert, (10, "completed"))
    assert status_of(db, "calls", col, 10) == "completed"
    with pytest.raises(psycopg.Error) as unknown:
        db.execute(insert, (11, "compelted"))
    assert unknown.value.sqlstate == "SM002"
    assert unknown.value.diag.message_primary == (
        "dialnexa.call: calls row 11: unknown status 'compelted'"
    )
    # a row without a status yet takes its first one as a new entity does in the runtime
    db.execute(insert, (12, None))
    db.execute(f"UPDATE calls SET {col} = 'completed' WHERE id = 12")
    assert status_of(db, "calls", col, 12) == "completed"


def test_an_alias_is_stored_as_its_state_and_repeats_leave_the_row(db: Conn) -> None:
    d = definition("dialnexa.workflow")
    alias = next(iter(d.aliases.values()))
    col = enforced(db, d.name, "workflows")
    path = shortest_histories(graph_of(d))[alias.state].states
    db.execute(f"INSERT INTO workflows (id, {col}, note) VALUES (1, %s, 'a')", (path[0],))
    for status in path[1:-1]:
        db.execute(f"UPDATE workflows SET {col} = %s WHERE id = 1", (status,))
    db.execute(f"UPDATE workflows SET {col} = %s WHERE id = 1", (alias.name,))
    assert status_of(db, "workflows", col, 1) == alias.state
    before = db.execute("SELECT * FROM workflows").fetchall()
    # the alias again: repeated, the row keeps what it holds
    cur = db.execute(f"UPDATE workflows SET {col} = %s WHERE id = 1", (alias.name,))
    assert cur.rowcount == 1
    assert db.execute("SELECT * FROM workflows").fetchall() == before
    # an ORM saving every column with the status unchanged is no status change
    db.execute(f"UPDATE workflows SET {col} = %s, note = 'b' WHERE id = 1", (alias.state,))
    assert db.execute("SELECT note FROM workflows").fetchone() == ("b",)


def test_late_updates_by_ordering_key_or_graph_leave_the_row(db: Conn) -> None:
    col = enforced(db, "dialnexa.call", "call_logs", seq="seq", at="at")
    db.execute(f"INSERT INTO call_logs (id, {col}, seq) VALUES (7, 'created', 1)")
    update = f"UPDATE call_logs SET {col} = %s, seq = %s, note = %s WHERE id = 7"
    assert db.execute(update, ("sent", 3, "sent")).rowcount == 1
    row = db.execute("SELECT * FROM call_logs").fetchall()
    assert db.execute(update, ("initiated", 2, "late by key")).rowcount == 0
    assert db.execute(update, ("initiated", 4, "behind sent")).rowcount == 0
    assert db.execute(update, ("sent", 2, "old duplicate")).rowcount == 0
    assert db.execute("SELECT * FROM call_logs").fetchall() == row
    # an illegal move stays illegal whatever its key; a newer legal one applies
    db.execute(update, ("completed", 5, "done"))
    assert db.execute(update, ("failed", 4, "late final")).rowcount == 0
    with pytest.raises(psycopg.Error) as err:
        db.execute(update, ("failed", 6, "after the end"))
    assert err.value.sqlstate == "SM001"
    assert status_of(db, "call_logs", col, 7) == "completed"
    # event times order too, after sequence numbers
    start = datetime(2025, 1, 1, 12, 0)
    db.execute(f"INSERT INTO call_logs (id, {col}, at) VALUES (8, 'created', %s)", (start,))
    by_time = f"UPDATE call_logs SET {col} = %s, at = %s WHERE id = 8"
    db.execute(by_time, ("sent", start + timedelta(seconds=2)))
    assert db.execute(by_time, ("received", start + timedelta(seconds=1))).rowcount == 0
    assert db.execute(by_time, ("received", start + timedelta(seconds=3))).rowcount == 1


def test_the_error_names_machine_row_move_and_allowed_moves(db: Conn) -> None:
    col = enforced(db, "dialnexa.call", "call_logs")
    db.execute(f"INSERT INTO call_logs (id, {col}) VALUES (42, 'created')")
    db.execute(f"UPDATE call_logs SET {col} = 'sent' WHERE id = 42")
    db.execute(f"UPDATE call_logs SET {col} = 'completed' WHERE id = 42")
    with pytest.raises(psycopg.Error) as err:
        db.execute(f"UPDATE call_logs SET {col} = 'busy' WHERE id = 42")
    diag = err.value.diag
    assert (err.value.sqlstate, diag.message_primary, diag.message_detail) == (
        "SM001",
        "dialnexa.call: call_logs row 42: cannot go from completed to busy",
        "completed is final",
    )
    assert (diag.table_name, diag.column_name, diag.schema_name) == (
        "call_logs",
        "status",
        "public",
    )
    db.execute(f"INSERT INTO call_logs (id, {col}) VALUES (43, 'created')")
    db.execute(f"UPDATE call_logs SET {col} = 'sent' WHERE id = 43")
    with pytest.raises(psycopg.Error) as err:
        db.execute(f"UPDATE call_logs SET {col} = 'creatd' WHERE id = 43")
    assert err.value.sqlstate == "SM002"
    d = definition("dialnexa.call")
    ahead = [s for s in d.states if s != "sent" and classify(d, "sent", s).after == s]
    assert err.value.diag.message_detail == f"allowed from sent: {', '.join(ahead)}"


def test_apply_returns_the_verdict_instead_of_raising(db: Conn) -> None:
    col = enforced(db, "dialnexa.call", "call_logs", seq="seq")
    db.execute(f"INSERT INTO call_logs (id, {col}, seq) VALUES (1, 'created', 1)")
    apply = 'SELECT kind, before, after FROM "dialnexa.call".apply_call_logs(%s, %s, %s)'
    steps = [
        ("sent", 2, ("applied", "created", "sent"), "sent"),
        ("initiated", 3, ("stale", "sent", "sent"), "sent"),
        ("completed", 1, ("stale", "sent", "sent"), "sent"),
        ("compelted", 4, ("unknown", "sent", "sent"), "sent"),
        ("completed", 4, ("applied", "sent", "completed"), "completed"),
        ("busy", 5, ("illegal", "completed", "completed"), "completed"),
    ]
    for status, seq, verdict, stored in steps:
        assert db.execute(apply, (1, status, seq)).fetchall() == [verdict]
        assert db.execute("SELECT status, seq FROM call_logs").fetchone() == (
            stored,
            4 if stored == "completed" else 2,
        )
    # a new entity is stored when the runtime would apply it, and only then
    assert db.execute(apply, (99, "sent", 1)).fetchall() == [("skipped", None, "sent")]
    assert db.execute(apply, (98, "compelted", 1)).fetchall() == [("unknown", None, None)]
    assert db.execute("SELECT id, status, seq FROM call_logs WHERE id > 1").fetchall() == [
        (99, "sent", 1)
    ]
    # a repeat with a newer key keeps the status and the newer key, as the runtime does
    assert db.execute(apply, (99, "sent", 5)).fetchall() == [("repeated", "sent", "sent")]
    assert db.execute(apply, (99, "completed", 4)).fetchall() == [("stale", "sent", "sent")]
    # the pure verdict, with how the ordering keys compare
    classify_sql = 'SELECT kind, after, missing FROM "dialnexa.call".classify(%s, %s, %s)'
    assert db.execute(classify_sql, ("created", "completed", 0)).fetchone() == (
        "applied",
        "completed",
        [],
    )
    assert db.execute(classify_sql, (None, "sent", 0)).fetchone() == (
        "skipped",
        "sent",
        ["created"],
    )
    assert db.execute(classify_sql, ("sent", "received", -1)).fetchone() == ("stale", "sent", [])


def test_a_row_holding_no_status_can_be_repaired(db: Conn) -> None:
    col = enforced(db, "dialnexa.call", "legacy")
    db.execute("ALTER TABLE legacy DISABLE TRIGGER USER")
    db.execute(f"INSERT INTO legacy (id, {col}) VALUES (1, 'asdf')")
    db.execute("ALTER TABLE legacy ENABLE TRIGGER USER")
    with pytest.raises(psycopg.Error) as err:
        db.execute(f"UPDATE legacy SET {col} = 'qwerty' WHERE id = 1")
    assert err.value.sqlstate == "SM002"
    db.execute(f"UPDATE legacy SET {col} = 'completed' WHERE id = 1")
    assert status_of(db, "legacy", col, 1) == "completed"


def test_cli_ddl_runs_twice_with_any_names(db: Conn) -> None:
    table, column = 'call "logs"-2024.v1', "call status"
    db.execute(
        f"CREATE TABLE {quote_ident(table)} (id text PRIMARY KEY, {quote_ident(column)} text)"
    )
    cmd = ["sql", "dialnexa.call", "--dialect", "postgres", "--enforce", "--table", table]
    done = run_cli(*cmd, "--column", column)
    assert done.returncode == 0, done.stderr
    db.execute(done.stdout)
    db.execute(done.stdout)  # idempotent: safe to re-run in a migration
    q, col = quote_ident(table), quote_ident(column)
    db.execute(f"INSERT INTO {q} VALUES ('call-1', 'created')")
    with pytest.raises(psycopg.Error) as err:
        db.execute(f"UPDATE {q} SET {col} = 'created' || 'x' WHERE id = 'call-1'")
    assert err.value.diag.message_primary == (
        f"dialnexa.call: {table} row call-1: unknown status 'createdx'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dialect", "postgres", "--enforce"], "--enforce needs --table"),
        (["--enforce", "--table", "t"], "--dialect postgres"),
        (["--dialect", "postgres", "--table", "t"], "only go with --enforce"),
        (["--dialect", "postgres", "--enforce", "--table", "t" * 60], "63 bytes"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str) -> None:
    done = run_cli("sql", "dialnexa.call", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_concurrent_writers_leave_only_what_the_replay_of_committed_updates_holds(
    server: pgserver.Server, db: Conn
) -> None:
    d = definition("dialnexa.call")
    col = enforced(db, d.name, "calls", seq="seq")
    log_changes(db, "calls")
    entities = range(1, 9)
    for row in entities:
        db.execute(f"INSERT INTO calls (id, {col}, seq) VALUES (%s, 'created', 0)", (row,))
    statuses = [*d.states, "no such status"]
    clock = itertools.count(1)
    lock = threading.Lock()
    outcomes: list[tuple[str, str]] = []

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            for _ in range(120):
                with lock:
                    seq = next(clock) - rnd.choice([0, 0, 0, 5, 40])  # some arrive late
                row, status = rnd.choice(entities), rnd.choice(statuses)
                try:
                    cur = conn.execute(
                        f"UPDATE calls SET {col} = %s, seq = %s WHERE id = %s", (status, seq, row)
                    )
                    outcome = "updated" if cur.rowcount else "left"
                except psycopg.Error as err:
                    outcome = str(err.sqlstate)
                with lock:
                    outcomes.append((outcome, status))

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {o for o, _ in outcomes} <= {"updated", "left", "SM001", "SM002"}
    assert {o for o, s in outcomes if s == "no such status"} == {"SM002"}
    log = db.execute("SELECT count(*) FROM calls_log").fetchone()
    assert log == (len(entities) + sum(o == "updated" for o, _ in outcomes),)
    held = {str(row): status for row, status in db.execute(f"SELECT id, {col} FROM calls")}
    assert replayed(db, d, "calls") == held
    assert sum(o == "SM001" for o, _ in outcomes) > 0  # the mix did contain illegal moves


def test_the_audit_sql_in_postgres_agrees_with_duckdb(db: Conn) -> None:
    from statemachine.sql.audit import VERDICT_COLUMNS, audit_sql

    d = definition("dialnexa.call")
    rnd = random.Random(7)
    start = datetime(2025, 1, 1)
    events: list[tuple[object, ...]] = []
    for entity in range(60):
        history = rnd.choice(covering_histories(graph_of(d))).delivered
        statuses = list(history)
        if rnd.random() < 0.3:
            statuses.insert(rnd.randrange(len(statuses) + 1), rnd.choice([*d.states, "bogus"]))
        if rnd.random() < 0.3 and len(statuses) > 1:
            i = rnd.randrange(len(statuses) - 1)
            statuses[i], statuses[i + 1] = statuses[i + 1], statuses[i]
        for i, status in enumerate(statuses):
            seq = i + 1 if entity % 3 else None
            at = start + timedelta(seconds=entity * 100 + i * rnd.choice([1, 1, 0]))
            events.append((f"c{entity}", status, seq, at, None, len(events)))
    db.execute("DROP TABLE IF EXISTS events")
    db.execute(
        "CREATE TABLE events (id text, status text, seq bigint, ts timestamp, "
        "event_id text, ord bigint)"
    )
    with db.cursor() as cur:
        cur.executemany("INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s)", events)
    order = " ORDER BY id, ord"
    in_postgres = db.execute(f"SELECT * FROM ({audit_sql(d, 'postgres')}) AS a{order}").fetchall()
    duck = duckdb.connect()
    duck.execute(
        "CREATE TABLE events (id TEXT, status TEXT, seq BIGINT, ts TIMESTAMP, "
        "event_id TEXT, ord BIGINT)"
    )
    duck.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", events)
    in_duckdb = duck.execute(f"SELECT * FROM ({audit_sql(d, 'duckdb')}) AS a{order}").fetchall()
    assert len(in_postgres) == len(events)
    verdict = VERDICT_COLUMNS.index("verdict")
    assert {r[verdict] for r in in_postgres} > {"applied"}  # the log has anomalies
    assert in_postgres == in_duckdb


def test_cli_without_enforce_prints_the_audit_sql() -> None:
    from statemachine.sql.audit import audit_sql

    done = run_cli("sql", "dialnexa.call", "--dialect", "spark")
    assert done.returncode == 0, done.stderr
    assert done.stdout == audit_sql(definition("dialnexa.call"), "spark") + "\n"


def test_eight_upserting_writers_on_shuffled_callbacks_end_at_each_final_status(
    server: pgserver.Server, db: Conn
) -> None:
    d = definition("dialnexa.call")
    db.execute("DROP TABLE IF EXISTS upserted")
    db.execute("CREATE TABLE upserted (id text PRIMARY KEY, status text, seq bigint)")
    db.execute(enforce_sql(d, "upserted", seq="seq"))
    log_changes(db, "upserted")
    sent = deliveries(d, 300, random.Random(20), window=16)
    upsert = (
        "INSERT INTO upserted (id, status, seq) VALUES (%s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, seq = EXCLUDED.seq"
    )
    outcomes: list[tuple[str, str | None]] = []
    lock = threading.Lock()

    def writer(queue: Iterator[Callback]) -> None:
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            while True:
                with lock:
                    callback = next(queue, None)
                if callback is None:
                    return
                try:
                    conn.execute(upsert, (callback.call, callback.status, callback.seq))
                    error = None
                except psycopg.Error as err:
                    error = err.sqlstate
                with lock:
                    outcomes.append((callback.what, error))

    for phase in (sent.first, sent.after):  # the second once the first is answered
        queue = iter(phase)
        threads = [threading.Thread(target=writer, args=(queue,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(outcomes) == len(sent.first) + len(sent.after)
    # legal, late and duplicate callbacks never fail; each kind was there
    assert {what for what, error in outcomes if error is not None} == {"impossible"}
    assert {what for what, error in outcomes} == {"legal", "late", "duplicate", "impossible"}
    assert {error for what, error in outcomes if what == "impossible"} == {"SM001", "SM002"}
    held = dict(db.execute("SELECT id, status FROM upserted").fetchall())
    assert held == sent.finals
    assert replayed(db, d, "upserted") == held


@pytest.mark.parametrize("style", ["sync", "async"])
def test_the_delivery_helper_returns_the_runtimes_verdict(
    server: pgserver.Server, db: Conn, style: str
) -> None:
    d = definition("dialnexa.call")
    table = f"delivered {style}"
    db.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    db.execute(f"CREATE TABLE {quote_ident(table)} (id text PRIMARY KEY, status text, seq int)")
    db.execute(enforce_sql(d, table, seq="seq"))
    sent = deliveries(d, 60, random.Random(3), window=6)
    callbacks = [*sent.first, *sent.after]
    delivery = Delivery(d, table)
    if style == "sync":
        got = [delivery.apply(db, c.call, c.status, seq=c.seq) for c in callbacks]
    else:

        async def deliver() -> list[Verdict]:
            async with await psycopg.AsyncConnection.connect(
                server.conninfo, autocommit=True
            ) as conn:
                return [
                    await delivery.apply_async(conn, c.call, c.status, seq=c.seq) for c in callbacks
                ]

        got = asyncio.run(deliver())
    events = [Event(c.call, c.status, seq=c.seq) for c in callbacks]
    expected = [verdict for _, verdict in lifecycle(d).replay(events)]
    fields = ("kind", "status", "before", "after", "skipped", "through")
    assert [[getattr(v, f) for f in fields] for v in got] == [
        [getattr(v, f) for f in fields] for v in expected
    ]
    assert all(v.message for v in got)
    assert {v.kind for v in got} >= {Kind.APPLIED, Kind.SKIPPED, Kind.STALE, Kind.UNKNOWN}
    held = dict(db.execute(f"SELECT id, status FROM {quote_ident(table)}").fetchall())
    assert held == sent.finals
