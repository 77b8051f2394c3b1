"""PostgreSQL enforces the hard coupled rules across a parent's table and its children's: the
DDL `statemachine sql PARENT --enforce --table T --related CHILD=TABLE` prints, run on a real
server the tests start, under concurrent writers on both tables."""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest

from statemachine.graph import graph_of
from statemachine.model.definition import Definition
from statemachine.runtime import coupling, definition
from statemachine.sql.postgres import enforce_sql, quote_ident
from tests.conftest import run_cli
from tests.coupled_service import Service
from tests.pgserver import Conn, Server

#: each parent machine, its table, and each related child machine with its table and key
FAMILIES = {
    "dialnexa.batch": ("batches", "dialnexa.call", "calls", "batch_id"),
    "dialnexa.transfer": ("transfers", "dialnexa.transfer_leg", "legs", "transfer_id"),
    "dialnexa.workflow": ("workflows", "dialnexa.workflow_lead", "leads", "workflow_id"),
}


def ddl(parent: str) -> str:
    """The DDL the CLI prints for `parent` on its table with its child's table."""
    table, child, child_table, _ = FAMILIES[parent]
    done = run_cli(
        "sql", parent, "--dialect", "postgres", "--enforce", "--table", table,
        "--related", f"{child}={child_table}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def family(db: Conn, parent: str) -> None:
    """Fresh tables for `parent` and its child, each table enforcing its own lifecycle and
    the coupled rules between them."""
    table, child, child_table, key = FAMILIES[parent]
    for name in (child_table, table):
        db.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")
    db.execute(f"DROP SCHEMA IF EXISTS {quote_ident(parent)} CASCADE")
    db.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, status text)")
    db.execute(f"CREATE TABLE {child_table} (id bigint PRIMARY KEY, {key} bigint, status text)")
    db.execute(enforce_sql(definition(child), child_table))
    db.execute(ddl(parent))


def fails(db: Conn, sql: str, code: str) -> psycopg.Error:
    """Run `sql`, which must fail with SQLSTATE `code`; returns the error."""
    with pytest.raises(psycopg.Error) as err:
        db.execute(sql)
    assert err.value.sqlstate == code, err.value
    return err.value


def test_no_call_starts_under_a_blocking_batch_and_completed_needs_final_calls(db: Conn) -> None:
    family(db, "dialnexa.batch")
    db.execute("INSERT INTO batches VALUES (1, 'draft')")
    err = fails(db, "INSERT INTO calls VALUES (1, 1, 'created')", "SM201")
    assert err.diag.message_primary == (
        "dialnexa.call: calls row 1 cannot start at created while its dialnexa.batch 1 is "
        "draft (blocks_start: no dialnexa.call may start while the dialnexa.batch is "
        "cancelled, completed, draft or paused)"
    )
    assert (err.diag.table_name, err.diag.column_name) == ("calls", "status")
    db.execute("UPDATE batches SET status = 'active' WHERE id = 1")
    db.execute("INSERT INTO calls VALUES (1, 1, 'created'), (2, 1, 'created')")
    db.execute("UPDATE batches SET status = 'paused' WHERE id = 1")
    fails(db, "INSERT INTO calls VALUES (3, 1, 'created')", "SM201")
    # a call that started before the pause may finish during it
    db.execute("UPDATE calls SET status = 'completed' WHERE id = 1")
    db.execute("UPDATE batches SET status = 'running' WHERE id = 1")
    err = fails(db, "UPDATE batches SET status = 'completed' WHERE id = 1", "SM202")
    assert err.diag.message_primary == (
        "dialnexa.batch: batches row 1 cannot enter completed: dialnexa.call calls row 2 is "
        "created, not final (requires_final)"
    )
    assert err.diag.message_detail == "1 dialnexa.call not final"
    db.execute("UPDATE calls SET status = 'busy' WHERE id = 2")
    db.execute("UPDATE batches SET status = 'completed' WHERE id = 1")
    fails(db, "INSERT INTO calls VALUES (3, 1, 'created')", "SM201")
    # a call may not be moved under a completed batch either
    db.execute("INSERT INTO batches VALUES (2, 'draft')")
    db.execute("UPDATE batches SET status = 'active' WHERE id = 2")
    db.execute("INSERT INTO calls VALUES (3, 2, 'created')")
    fails(db, "UPDATE calls SET batch_id = 1 WHERE id = 3", "SM201")
    # rows without a parent or a status judge nothing
    db.execute("INSERT INTO calls VALUES (4, NULL, 'created'), (5, 1, NULL)")


def test_a_lead_starts_when_it_becomes_active(db: Conn) -> None:
    family(db, "dialnexa.workflow")
    db.execute("INSERT INTO workflows VALUES (1, 'draft')")
    db.execute("UPDATE workflows SET status = 'active' WHERE id = 1")
    db.execute("UPDATE workflows SET status = 'paused' WHERE id = 1")
    # a pending lead is no start: it may be added to a paused workflow
    db.execute("INSERT INTO leads VALUES (1, 1, 'pending')")
    err = fails(db, "UPDATE leads SET status = 'active' WHERE id = 1", "SM201")
    assert "cannot start at active while its dialnexa.workflow 1 is paused" in str(err)
    # `running` is the workflow's legacy alias of `active`
    db.execute("UPDATE workflows SET status = 'running' WHERE id = 1")
    db.execute("UPDATE leads SET status = 'active' WHERE id = 1")
    db.execute("UPDATE workflows SET status = 'paused' WHERE id = 1")
    # a lead already inside its active step may finish during the pause
    db.execute("UPDATE leads SET status = 'completed' WHERE id = 1")


def test_a_transfer_outcome_needs_its_legs_to_agree(db: Conn) -> None:
    family(db, "dialnexa.transfer")
    db.execute("INSERT INTO transfers VALUES (1, 'hunting'), (2, 'hunting'), (3, 'hunting')")
    db.execute("INSERT INTO legs VALUES (11, 1, 'dialing'), (12, 1, 'dialing')")
    err = fails(db, "UPDATE transfers SET status = 'transfer_connected' WHERE id = 1", "SM203")
    assert err.diag.message_primary == (
        "dialnexa.transfer: transfers row 1 cannot enter transfer_connected: it needs exactly "
        "one dialnexa.transfer_leg that reached winner, found 0 of 2 (children_agree)"
    )
    # one winner, which has completed since, and another leg cancelled because it won
    for leg, status in [(11, "ringing"), (11, "answered"), (11, "winner"), (12, "cancelled")]:
        db.execute("UPDATE legs SET status = %s WHERE id = %s", (status, leg))
    db.execute("UPDATE legs SET status = 'completed' WHERE id = 11")
    db.execute("UPDATE transfers SET status = 'transfer_connected' WHERE id = 1")
    # a second winner under a connected transfer is refused at the leg's write
    db.execute("INSERT INTO legs VALUES (13, 1, 'dialing')")
    for status in ("ringing", "answered"):
        db.execute("UPDATE legs SET status = %s WHERE id = 13", (status,))
    err = fails(db, "UPDATE legs SET status = 'winner' WHERE id = 13", "SM203")
    assert "that reached winner, found 2 of 3" in str(err)
    # every leg busy
    db.execute("INSERT INTO legs VALUES (21, 2, 'dialing'), (22, 2, 'dialing')")
    db.execute("UPDATE legs SET status = 'busy' WHERE id = 21")
    fails(db, "UPDATE transfers SET status = 'transfer_all_ics_busy' WHERE id = 2", "SM203")
    db.execute("UPDATE legs SET status = 'busy' WHERE id = 22")
    db.execute("UPDATE transfers SET status = 'transfer_all_ics_busy' WHERE id = 2")
    fails(db, "INSERT INTO legs VALUES (23, 2, 'dialing')", "SM203")
    # nobody answered: a leg that answered and was cancelled since still counts
    db.execute("INSERT INTO legs VALUES (31, 3, 'dialing')")
    for status in ("ringing", "answered", "cancelled"):
        db.execute("UPDATE legs SET status = %s WHERE id = 31", (status,))
    fails(db, "UPDATE transfers SET status = 'transfer_no_ic_answered' WHERE id = 3", "SM203")


def test_the_ddl_is_idempotent(db: Conn) -> None:
    catalog = """
        SELECT p.proname, p.prosrc FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'dialnexa.transfer'
        UNION ALL SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger AS t
        WHERE NOT t.tgisinternal ORDER BY 1, 2"""
    family(db, "dialnexa.transfer")
    db.execute("INSERT INTO transfers VALUES (1, 'hunting')")
    db.execute("INSERT INTO legs VALUES (1, 1, 'dialing')")
    db.execute("UPDATE legs SET status = 'ringing' WHERE id = 1")
    db.execute("UPDATE legs SET status = 'answered' WHERE id = 1")
    db.execute("UPDATE legs SET status = 'winner' WHERE id = 1")
    before = db.execute(catalog).fetchall()
    reached = 'SELECT * FROM "dialnexa.transfer".reached_legs ORDER BY 1, 2'
    kept = db.execute(reached).fetchall()
    db.execute(ddl("dialnexa.transfer"))
    assert db.execute(catalog).fetchall() == before
    assert db.execute(reached).fetchall() == kept == [("1", "answered"), ("1", "winner")]
    db.execute("UPDATE transfers SET status = 'transfer_connected' WHERE id = 1")


def test_the_reached_states_are_seeded_from_the_rows(db: Conn) -> None:
    # a table enforced after the fact: legs that stand in a counted state are counted
    table, _, child_table, key = FAMILIES["dialnexa.transfer"]
    for name in (child_table, table):
        db.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")
    db.execute('DROP SCHEMA IF EXISTS "dialnexa.transfer" CASCADE')
    db.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, status text)")
    db.execute(f"CREATE TABLE {child_table} (id bigint PRIMARY KEY, {key} bigint, status text)")
    db.execute("INSERT INTO transfers VALUES (1, 'validating')")
    db.execute("INSERT INTO legs VALUES (1, 1, 'winner'), (2, 1, 'ringing')")
    db.execute(ddl("dialnexa.transfer"))
    # the winner has completed since: only the seeded record says it won
    db.execute("UPDATE legs SET status = 'completed' WHERE id = 1")
    db.execute("UPDATE legs SET status = 'cancelled' WHERE id = 2")
    db.execute("UPDATE transfers SET status = 'transfer_connected' WHERE id = 1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--related", "dialnexa.call"], "--related takes CHILD=TABLE"),
        (["--related", "=calls"], "--related takes CHILD=TABLE"),
        (["--related", "dialnexa.transfer_leg=legs"], "declares no related machine"),
        (["--related", "dialnexa.nothing=x"], "declares no related machine"),
        (["--related", "dialnexa.call=" + "c" * 60], "63 bytes"),
    ],
)
def test_cli_related_usage_errors(args: list[str], message: str) -> None:
    base = ["sql", "dialnexa.batch", "--dialect", "postgres", "--enforce", "--table", "b"]
    done = run_cli(*base, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_related_needs_enforce() -> None:
    done = run_cli("sql", "dialnexa.batch", "--related", "dialnexa.call=calls")
    assert done.returncode == 2
    assert "--related only go with --enforce" in done.stderr


# -- concurrent writers ----------------------------------------------------------------------

#: every committed row change, numbered while the writer holds its row locks: a child's start
#: and its parent's move are serialised by the parent row, so their numbers are their order
LOG = """
CREATE TABLE committed (n bigserial, machine text, id bigint, parent bigint, status text);
CREATE FUNCTION log_committed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO committed (machine, id, parent, status)
    VALUES (TG_ARGV[0], NEW.id, (to_jsonb(NEW) ->> TG_ARGV[1])::bigint, NEW.status);
    RETURN NULL; END $$;
"""


def writers(server: Server, count: int, step: Callable[[Conn, random.Random], str]) -> Counter[str]:
    """Run `count` threads, each on its own connection calling `step` 150 times; the
    outcomes ("ok" or a SQLSTATE) counted."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            for _ in range(150):
                try:
                    outcome = step(conn, rnd)
                except psycopg.Error as err:
                    outcome = str(err.sqlstate)
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def logged(db: Conn, parent: str, rows: int) -> None:
    """`family(parent)` with every committed change logged, and `rows` parents at their
    first state."""
    table, _, child_table, key = FAMILIES[parent]
    db.execute("DROP TABLE IF EXISTS committed")
    db.execute("DROP FUNCTION IF EXISTS log_committed CASCADE")
    family(db, parent)
    db.execute(LOG)
    for name, who, owner in ((table, "parent", "none"), (child_table, "child", key)):
        db.execute(
            f"CREATE TRIGGER log AFTER INSERT OR UPDATE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION log_committed('{who}', '{owner}')"
        )
    start = definition(parent).initial[0]
    for row in range(1, rows + 1):
        db.execute(f"INSERT INTO {table} VALUES (%s, %s)", (row, start))


def pick(conn: Conn, query: str, *params: object) -> tuple[object, ...] | None:
    """A random row of `query`, or None when it has none."""
    return conn.execute(f"{query} ORDER BY random() LIMIT 1", params).fetchone()


def step_among(d: Definition, held: object, rnd: random.Random, finish: float) -> str:
    """A random next status of `d` from `held`: a final one with odds `finish`."""
    assert isinstance(held, str)
    onward = graph_of(d).successors[held]
    final = [s for s in onward if d.states[s].final]
    ongoing = [s for s in onward if not d.states[s].final]
    if final and (not ongoing or rnd.random() < finish):
        return rnd.choice(final)
    return rnd.choice(ongoing or [held])


def finish(db: Conn, table: str, d: Definition, goal: Callable[[str], bool]) -> None:
    """Move every row of `table` that is not final in `d` along a shortest path of `d` to a
    state `goal` accepts, one committed UPDATE a step (each must be accepted)."""
    graph = graph_of(d)
    rows = db.execute(f"SELECT id, status FROM {table}").fetchall()
    for row, held in rows:
        assert isinstance(held, str)
        if d.states[held].final:
            continue
        paths, queue = {held: [held]}, [held]
        for state in queue:  # breadth first: the queue grows as it is read
            if goal(state):
                break
            for onward in graph.successors[state]:
                if onward not in paths:
                    paths[onward] = [*paths[state], onward]
                    queue.append(onward)
        assert goal(state), (table, row, held)
        for new in paths[state][1:]:
            db.execute(f"UPDATE {table} SET status = %s WHERE id = %s", (new, row))


def replayed(db: Conn, parent: str) -> list[tuple[str, int]]:
    """The committed log replayed through the runtime's coupling, as it arrived: (code,
    entity) of every start or parent move the runtime refuses (none, if the server held)."""
    service = Service(coupling(parent, FAMILIES[parent][1]))
    refused: list[tuple[str, int]] = []
    log = db.execute("SELECT machine, id, parent, status FROM committed ORDER BY n").fetchall()
    for machine, row, owner, new in log:
        assert isinstance(row, int) and isinstance(new, str)
        if machine == "parent":
            judged = service.parent(row, new)
        else:
            assert isinstance(owner, int)
            judged = service.child(row, owner, new)
        if not judged.ok:
            refused.append((judged.code, row))
    return refused


def test_eight_writers_on_batches_and_calls(server: Server, db: Conn) -> None:
    logged(db, "dialnexa.batch", 6)
    batch, call = definition("dialnexa.batch"), definition("dialnexa.call")
    ids = itertools.count(1)
    parents = itertools.count(7)
    lock = threading.Lock()
    finals, ends = list(call.final_states), list(batch.final_states)

    def step(conn: Conn, rnd: random.Random) -> str:
        with lock:
            top = next(ids)
        action = rnd.random()
        if action < 0.45:
            # mostly under an active batch, so that running ones drain and complete; the
            # rest under any batch, racing with its moves
            among = "status = 'active'" if rnd.random() < 0.7 else "true"
            owner = pick(conn, f"SELECT id FROM batches WHERE {among}")
            if owner is None:
                return "nothing"
            conn.execute("INSERT INTO calls VALUES (%s, %s, 'created')", (top, owner[0]))
        elif action < 0.8:
            row = pick(conn, "SELECT id, status FROM calls WHERE NOT status = ANY (%s)", finals)
            if row is None:
                return "nothing"
            new = step_among(call, row[1], rnd, 0.7)
            conn.execute("UPDATE calls SET status = %s WHERE id = %s", (new, row[0]))
        elif action < 0.95:
            row = pick(conn, "SELECT id, status FROM batches WHERE NOT status = ANY (%s)", ends)
            if row is None:
                return "nothing"
            new = step_among(batch, row[1], rnd, 0.3)
            if row[1] == "running" and rnd.random() < 0.5:
                new = "completed"
            conn.execute("UPDATE batches SET status = %s WHERE id = %s", (new, row[0]))
        else:
            with lock:
                fresh = next(parents)
            conn.execute("INSERT INTO batches VALUES (%s, 'draft')", (fresh,))
        return "ok"

    outcomes = writers(server, 8, step)
    # only the rules refused anything (SM001: another writer moved the row first): no
    # deadlock (40P01), no serialization failure
    assert set(outcomes) <= {"ok", "nothing", "SM001", "SM201", "SM202"}, outcomes
    assert outcomes["SM201"] and outcomes["SM202"] and outcomes["ok"] > 300, outcomes
    # the invariants hold at the end: a completed batch has only final calls, a draft none
    open_ = db.execute(
        "SELECT b.id, c.id, c.status FROM batches AS b JOIN calls AS c ON c.batch_id = b.id "
        "WHERE b.status = 'draft' OR (b.status = 'completed' AND NOT c.status = ANY (%s))",
        (finals,),
    ).fetchall()
    assert open_ == []
    # liveness, whatever the race left: once every call is final, every open batch completes
    # (the race alone need not complete one: writers keep adding calls to active batches)
    finish(db, "calls", call, lambda state: call.states[state].final)
    finish(db, "batches", batch, lambda state: state == "completed")
    left = db.execute("SELECT count(*) FROM batches WHERE NOT status = ANY (%s)", (ends,))
    assert left.fetchone() == (0,)
    completed = db.execute("SELECT count(*) FROM batches WHERE status = 'completed'").fetchone()
    assert completed != (0,), outcomes
    # and the runtime, judging the committed changes in their order, refuses none of them
    assert replayed(db, "dialnexa.batch") == []


def test_eight_writers_on_transfers_and_legs(server: Server, db: Conn) -> None:
    logged(db, "dialnexa.transfer", 8)
    leg = definition("dialnexa.transfer_leg")
    ids, parents = itertools.count(1), itertools.count(9)
    lock = threading.Lock()
    outcomes_of = ["transfer_connected", "transfer_all_ics_busy", "transfer_no_ic_answered"]
    hunting = "SELECT id FROM transfers WHERE status = 'hunting'"

    def step(conn: Conn, rnd: random.Random) -> str:
        action = rnd.random()
        if action < 0.3:
            with lock:
                row = next(ids)
            owner = pick(conn, hunting)
            if owner is None:
                return "nothing"
            conn.execute("INSERT INTO legs VALUES (%s, %s, 'dialing')", (row, owner[0]))
        elif action < 0.85:
            found = pick(
                conn,
                "SELECT l.id, l.status FROM legs AS l JOIN transfers AS t "
                "ON t.id = l.transfer_id WHERE t.status = 'hunting'",
            )
            if found is None or leg.states[str(found[1])].final:
                return "nothing"
            new = step_among(leg, found[1], rnd, 0.4)
            conn.execute("UPDATE legs SET status = %s WHERE id = %s", (new, found[0]))
        else:
            found = pick(conn, hunting)
            if found is None:
                with lock:
                    fresh = next(parents)
                conn.execute("INSERT INTO transfers VALUES (%s, 'hunting')", (fresh,))
                return "ok"
            end = rnd.choice(outcomes_of)
            conn.execute("UPDATE transfers SET status = %s WHERE id = %s", (end, found[0]))
        return "ok"

    outcomes = writers(server, 8, step)
    assert set(outcomes) <= {"ok", "nothing", "SM001", "SM203"}, outcomes
    assert outcomes["SM203"] and outcomes["ok"] > 300, outcomes
    # at the end every transfer's outcome agrees with its legs (reached: from the log)
    legs: dict[int, list[set[str]]] = {}
    for owner, _, status in db.execute(
        "SELECT parent, id, array_agg(status) FROM committed WHERE machine = 'child' "
        "GROUP BY parent, id"
    ).fetchall():
        assert isinstance(owner, int) and isinstance(status, list)
        legs.setdefault(owner, []).append(set(status))
    ended = db.execute("SELECT id, status FROM transfers WHERE status <> 'hunting'").fetchall()
    assert ended
    for row, status in ended:
        mine = legs.get(int(str(row)), [])
        last = {s for (s,) in db.execute("SELECT status FROM legs WHERE transfer_id = %s", (row,))}
        if status == "transfer_connected":
            assert sum("winner" in ever for ever in mine) == 1, (row, mine)
        elif status == "transfer_all_ics_busy":
            assert mine and last == {"busy"}, (row, mine)
        else:
            assert not any(ever & {"answered", "winner"} for ever in mine), (row, mine)
    assert replayed(db, "dialnexa.transfer") == []


def test_a_deleted_leg_takes_what_it_reached_along(db: Conn) -> None:
    family(db, "dialnexa.transfer")
    db.execute("INSERT INTO transfers VALUES (1, 'hunting'), (2, 'hunting')")
    for transfer, leave in ((1, "DELETE FROM legs WHERE id = %s"), (2, "TRUNCATE legs")):
        leg = transfer * 10
        db.execute("INSERT INTO legs VALUES (%s, %s, 'dialing')", (leg, transfer))
        for status in ("ringing", "answered"):
            db.execute("UPDATE legs SET status = %s WHERE id = %s", (status, leg))
        db.execute(leave, (leg,) if "%s" in leave else ())
        db.execute("INSERT INTO legs VALUES (%s, %s, 'dialing')", (leg, transfer))  # its id again
        db.execute(
            "UPDATE transfers SET status = 'transfer_no_ic_answered' WHERE id = %s", (transfer,)
        )


def test_a_relation_without_hard_rules_enforces_nothing_more(db: Conn) -> None:
    # a lead's branch against its call (matches) is the audit's: the DDL runs, refuses nothing
    for name in ("calls", "leads"):
        db.execute(f"DROP TABLE IF EXISTS {name}")
    db.execute("CREATE TABLE leads (id bigint PRIMARY KEY, status text)")
    db.execute("CREATE TABLE calls (id bigint PRIMARY KEY, lead_id bigint, status text)")
    done = run_cli(
        "sql", "dialnexa.workflow_lead", "--dialect", "postgres", "--enforce", "--table",
        "leads", "--related", "dialnexa.call=calls",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "-- dialnexa.workflow_lead on leads with dialnexa.call on calls (lead_id): no rule" in (
        done.stdout
    )
    db.execute(done.stdout)
    db.execute("INSERT INTO leads VALUES (1, 'pending')")
    db.execute("INSERT INTO calls VALUES (1, 1, 'created')")
    db.execute("UPDATE leads SET status = 'active' WHERE id = 1")
    db.execute("UPDATE leads SET status = 'completed' WHERE id = 1")
    db.execute("INSERT INTO calls VALUES (2, 1, 'created')")
