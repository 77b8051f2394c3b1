"""Provider callbacks as a busy webhook endpoint receives them (many calls' histories
interleaved and shuffled within a window, some delivered twice, some late, some impossible),
and the check that a table only ever held what the runtime would hold.

Each callback says what the runtime must make of it: `legal`, `late` and `duplicate` ones are
acknowledged (applied, or left as stale or repeated), `impossible` ones refused (an unknown
status anywhere; an illegal one only after its call's final status, with a newer sequence
number, in the second phase, so that no arrival order can make it legal).
"""

from __future__ import annotations

import random

import attrs

from statemachine.graph import Kind, graph_of
from statemachine.graph.paths import covering_histories
from statemachine.model.definition import Definition
from statemachine.runtime import lifecycle
from statemachine.runtime.streams import Event, classify
from statemachine.sql.postgres import quote_ident
from tests.pgserver import Conn

__all__ = [
    "Callback",
    "Conn",
    "Deliveries",
    "deliveries",
    "interleaved",
    "log_changes",
    "replayed",
]


@attrs.frozen
class Callback:
    call: str
    status: str
    seq: int
    #: legal, late, duplicate or impossible
    what: str


@attrs.frozen
class Deliveries:
    #: delivered first, shuffled; then, once all of them are answered, `after`
    first: list[Callback]
    after: list[Callback]
    #: call -> the final status of its history
    finals: dict[str, str]


def deliveries(
    d: Definition, calls: int, rnd: random.Random, *, prefix: str = "c", window: int = 40
) -> Deliveries:
    """The callbacks of `calls` calls of machine `d`, each following one of its histories."""
    histories = covering_histories(graph_of(d))
    timed: list[tuple[float, Callback]] = []
    after: list[Callback] = []
    finals: dict[str, str] = {}

    def send(callback: Callback) -> None:
        # a callback lands up to `window` places from where it was sent
        timed.append((len(timed) + rnd.uniform(0, window), callback))

    for n in range(calls):
        call = f"{prefix}{n}"
        statuses = rnd.choice(histories).delivered
        finals[call] = statuses[-1]
        for seq, status in enumerate(statuses, start=1):
            send(Callback(call, status, seq, "legal"))
            if rnd.random() < 0.05:
                send(Callback(call, status, seq, "duplicate"))
        if rnd.random() < 0.05:
            send(Callback(call, "no-such-status", rnd.randint(1, len(statuses)), "impossible"))
        if rnd.random() < 0.05:
            late = rnd.randint(1, len(statuses))
            after.append(Callback(call, statuses[late - 1], late, "late"))
        refused = [s for s in d.states if classify(d, statuses[-1], s).kind is Kind.ILLEGAL]
        if refused and rnd.random() < 0.03:
            after.append(Callback(call, rnd.choice(refused), len(statuses) + 1, "impossible"))
    rnd.shuffle(after)
    return Deliveries([c for _, c in sorted(timed, key=lambda p: p[0])], after, finals)


def interleaved(*sent: Deliveries) -> list[Callback]:
    """Several providers' first callbacks interleaved, each keeping its own (shuffled) order."""
    timed = [(i / len(s.first), c) for s in sent for i, c in enumerate(s.first)]
    return [c for _, c in sorted(timed, key=lambda p: p[0])]


def log_changes(conn: Conn, table: str, column: str = "status") -> None:
    """Log every committed change of `table` (id, status, seq) into `<table>_log`, in each
    row's commit order (the row lock orders a row's writers; `n` is taken under it)."""
    log, q, col = quote_ident(f"{table}_log"), quote_ident(table), quote_ident(column)
    fn = quote_ident(f"log_{table}")
    conn.execute(f"CREATE TABLE {log} (n bigserial, id text, status text, seq bigint)")
    conn.execute(
        f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {log} (id, status, seq) VALUES (NEW.id, NEW.{col}, NEW.seq); "
        "RETURN NULL; END $$"
    )
    conn.execute(
        f"CREATE TRIGGER log AFTER INSERT OR UPDATE ON {q} FOR EACH ROW EXECUTE FUNCTION {fn}()"
    )


def replayed(conn: Conn, d: Definition, table: str) -> dict[str, str | None]:
    """Replay `table`'s logged changes through the runtime: each committed status must be the
    one the runtime holds after that event (no row ever held a status it would refuse);
    returns each row's status in the replay."""
    log = quote_ident(f"{table}_log")
    events = [
        Event(str(row_id), str(status), seq=None if seq is None else int(str(seq)))
        for row_id, status, seq in conn.execute(f"SELECT id, status, seq FROM {log} ORDER BY n")
    ]
    assert events, f"{table}: nothing was committed"
    final: dict[str, str | None] = {}
    for event, verdict in lifecycle(d).replay(events):
        assert verdict.after == event.status, (event, verdict)
        final[event.id] = verdict.after
    return final
