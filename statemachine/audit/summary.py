"""The DuckDB audit's report in one pass, when nothing asks for the rows of its events.

Every event is judged (`judged_sql`) and summed up as it streams (`summary_sql`): one row per
transition, one per entity and rare verdict, the entities counted by final state, none per
event (writing ten million rows and reading them back was a third of the audit's time), and
a row only for the entities the report has to look at again: those in doubt, and those a
limit may find stuck. Histories are told apart by a hash of the id, cheaper to sort by;
entities whose hashes collide are judged as one history, which the pass finds but cannot
undo in its counts: the audit then keeps every event's row (`one_pass` gives way). The
entities the pass may judge wrong (`doubt`) are folded by the runtime's replay and their
sums put in place of their judged ones: their counts are taken out and the fold's added. A
transition's first event is the pass's when its entity was not folded and the fold's when
that comes first; otherwise (the fold judged the pass's first event otherwise, and entities
that were not folded have the transition) it is searched for among those
(`_first_unfolded`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from statemachine.audit.data import Source, register_events
from statemachine.audit.duck import fold_summed
from statemachine.audit.options import Options
from statemachine.audit.report import BY_FINAL_SQL, EXAMPLES, UNSTARTING, Report, summarize
from statemachine.graph import Kind
from statemachine.model.definition import Definition
from statemachine.sql.audit import (
    DEST,
    MOVE_COLUMNS,
    REPORTED_COLUMNS,
    entities_sql,
    judged_sql,
    limited,
    move_rows,
    summary_sql,
)

if TYPE_CHECKING:
    import duckdb

__all__ = ["one_pass", "pass_sql", "register_moves"]

#: a transition: before, dest, verdict
Key = tuple[Any, Any, Any]
#: its events, the place of its first event and that event's entity
Sums = tuple[int, int, str]

#: what the pass tells histories apart by: its window sorts by a hash of the id a tenth
#: faster than by the id's text (10M events); an entity judged with another of its hash
#: (`collided`) makes the pass give way to the audit that keeps every event's row
_PARTITION = "hash(id)"
#: what orders the events of one time in the pass when they come from one file: their line as
#: a 32-bit integer, a narrower sort key than `ord` (the window 7 to 10% faster at 1M and 10M
#: events); a file of more lines makes the pass give way
_LINE = "TRY_CAST(ord AS INTEGER)"
_LINES = 2**31 - 1

#: the rows of `summary_sql` of each kind: an entity's, the entities counted by final state,
#: a transition's, an entity's first event of a rare verdict
_ENTITY = "id IS NOT NULL AND verdict IS NULL"
_COUNTED = "id IS NULL AND verdict IS NULL"
_TRANSITION = "id IS NULL AND verdict IS NOT NULL"
_RARE = "id IS NOT NULL AND verdict IS NOT NULL"

_MOVES = f"SELECT before, dest, verdict, events, first, example FROM {{}} WHERE {_TRANSITION}"
#: the pass's rows of the entities it judged right (not folded) that the report looks at
_UNFOLDED = f"SELECT * FROM summary WHERE {_ENTITY} AND NOT doubtful"
#: the pass's rare rows of the entities it judged right
_UNFOLDED_RARE = f"SELECT * FROM summary WHERE {_RARE} AND id NOT IN (SELECT id FROM doubted)"
#: the same sums of judged rows, without the sums by entity
_BY_TRANSITION = (
    f"SELECT before, {DEST} AS dest, verdict, count(*), min(ord), arg_min(id, ord) "
    "FROM ({}) j GROUP BY ALL"
)


def one_pass(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    sources: Sequence[Source],
    options: Options,
) -> Report | None:
    """The report of the events in `sources`, judged and summed up without keeping them;
    None when entities share a hash of their ids (the pass judged them as one history) or
    one file has more lines than `_LINE` orders."""
    parts = register_events(con, sources, options.columns)
    register_moves(con, definition)
    limits = options.limits(definition)
    held = limited(definition, limits)
    line = _line(len(sources))
    judge = partial(_judged, definition, parts, line)
    con.execute(f"CREATE TEMP TABLE summary AS {pass_sql(definition, parts, held, len(sources))}")
    collided, events = con.execute(
        f"SELECT bool_or(collided) FILTER ({_ENTITY}), sum(events) FILTER ({_TRANSITION}) "
        "FROM summary"
    ).fetchall()[0]
    if collided or (line == _LINE and (events or 0) > _LINES):
        con.execute("DROP TABLE summary")
        return None
    con.execute(f"CREATE TEMP TABLE doubted AS SELECT id FROM summary WHERE {_ENTITY} AND doubtful")
    entities = _UNFOLDED
    counted = f"SELECT dest AS final, events FROM summary WHERE {_COUNTED}"
    rare = f"SELECT * FROM summary WHERE {_RARE}"
    transitions = _MOVES.format("summary")
    if _count(con, "doubted"):
        unfolded = f"(SELECT * FROM summary WHERE ({_ENTITY} AND NOT doubtful) OR {_COUNTED})"
        merge = bool(_count(con, unfolded))
        _fold_doubted(con, definition, held, merge)
        entities = f"{_UNFOLDED} UNION ALL SELECT * FROM refolded WHERE {_ENTITY}"
        rare = f"{_UNFOLDED_RARE} UNION ALL SELECT * FROM refolded WHERE {_RARE}"
        if merge:
            _merge_transitions(con, judge)
            transitions = "SELECT * FROM transitions"
        else:  # every entity was folded (a long history): the fold's sums are all there is
            transitions = _MOVES.format("refolded")
        counted += f" UNION ALL SELECT dest, events FROM refolded WHERE {_COUNTED}"
    # the folded entities' events are the pass's too: its latest event time is theirs
    latest = con.execute("SELECT max(latest) FROM summary").fetchall()[0][0]
    as_of = options.judged_at(latest)
    # an entity's first verdict is looked up only where it is read (`entities` is a view, and
    # a lookup in a column no query reads is not made): the report needs it only for the
    # entities no event could start, which are found among the few rare rows instead
    grouped = (
        f"SELECT e.*, COALESCE((SELECT f.verdict FROM ({rare}) f WHERE f.id = e.id AND f.rn = 1),"
        f" '{Kind.APPLIED}') AS first_verdict FROM ({entities}) e"
    )
    con.execute(
        "CREATE TEMP VIEW entities AS " + entities_sql(definition, "duckdb", limits, as_of, grouped)
    )
    return summarize(
        definition,
        lambda sql: con.execute(sql).fetchall(),
        as_of,
        transitions,
        firsts=f"SELECT verdict, id, first FROM ({rare}) f",
        unstartable=f"SELECT id FROM ({rare}) f WHERE rn = 1 AND verdict IN {UNSTARTING}",
        by_final=f"{BY_FINAL_SQL} UNION ALL SELECT final, FALSE, events FROM ({counted}) c",
    )


def register_moves(con: duckdb.DuckDBPyConnection, definition: Definition) -> None:
    """The table `moves` (`move_rows`) in `con`, which the pass's queries read (not a
    temporary one: a second cursor sums the fold's rows with it). Made from
    lists handed over as parameters, it is planned once and cheaply: the same rows written
    into each query as values were most of the time DuckDB took to plan the pass (about 20 of
    26 ms at 1M events). (An Arrow table would cost nothing to plan, but importing PyArrow
    costs a small audit more than the whole pass.)"""
    rows = move_rows(definition)
    kinds = ("BIGINT" if name == "move" else "VARCHAR" for name in MOVE_COLUMNS)
    columns = ", ".join(
        f"unnest(CAST(${i} AS {kind}[])) AS {name}"
        for i, (name, kind) in enumerate(zip(MOVE_COLUMNS, kinds, strict=True), 1)
    )
    con.execute(
        f"CREATE OR REPLACE TABLE moves AS SELECT {columns}",
        [[row[i] for row in rows] for i in range(len(MOVE_COLUMNS))],
    )


def pass_sql(
    definition: Definition, parts: frozenset[str], held: Collection[str] = (), files: int = 1
) -> str:
    """The pass as one query over `events` (whose key parts are `parts`, read from `files`
    files) and `moves` (`register_moves`): the rows of `summary_sql`, with a row for each
    entity whose final state is in `held`."""
    judged = f"({_judged(definition, parts, _line(files))})"
    return summary_sql(definition, judged, moves=False, held=held, examples=EXAMPLES)


def _line(files: int) -> str:
    """What orders the pass's events of one time when they come from `files` files."""
    return _LINE if files == 1 else "ord"


def _judged(
    definition: Definition, parts: frozenset[str], line: str, events: str = "events"
) -> str:
    """The events of the relation `events` judged as the pass judges them."""
    return judged_sql(definition, "duckdb", parts, events, _PARTITION, moves=False, line=line)


def _sums(con: duckdb.DuckDBPyConnection, sql: str) -> dict[Key, Sums]:
    """The rows of `sql` (`_MOVES` or `_BY_TRANSITION`) by transition."""
    return {
        (before, dest, verdict): (int(n), int(first), str(example))
        for before, dest, verdict, n, first, example in con.execute(sql).fetchall()
    }


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0])


def _fold_doubted(
    con: duckdb.DuckDBPyConnection, definition: Definition, held: Collection[str], keep: bool
) -> None:
    """The doubted entities' events read again, folded and summed up (`refolded`); `keep`,
    those events are kept (`doubted_events`) to be judged again as the pass did."""
    doubted = "SELECT * FROM events SEMI JOIN doubted USING (id)"
    if keep:
        con.execute(f"CREATE TEMP TABLE doubted_events AS {doubted}")
        doubted = "SELECT * FROM doubted_events"
    # the fold's rows summed as they stream: storing them first took a fifth of a long
    # history's time (100,000 events), more than the Python engine's lead over DuckDB
    fold_summed(con, definition, doubted, "refolded", partial(_refolded, definition, held))


def _refolded(definition: Definition, held: Collection[str], folded: str) -> str:
    """The fold's rows of the relation `folded` summed up as the pass sums its own."""
    rows = f"(SELECT {', '.join(REPORTED_COLUMNS)}, FALSE AS doubt, NULL AS move FROM {folded})"
    return summary_sql(definition, rows, moves=False, held=held, examples=EXAMPLES)


def _merge_transitions(con: duckdb.DuckDBPyConnection, judge: Callable[[str], str]) -> None:
    """The table `transitions`: the pass's sums of each transition without the doubted
    entities' (theirs judged again as the pass did) and with the fold's."""
    again = judge("doubted_events")
    passed, refolded = _sums(con, _MOVES.format("summary")), _sums(con, _MOVES.format("refolded"))
    rejudged = _sums(con, _BY_TRANSITION.format(again))
    doubted_first = {
        str(ident)
        for (ident,) in con.execute(
            f"SELECT DISTINCT example FROM summary WHERE {_TRANSITION} "
            "AND example IN (SELECT id FROM doubted)"
        ).fetchall()
    }
    rows: dict[Key, tuple[int, list[tuple[int, str]]]] = {}
    unsure: set[Key] = set()
    for key in passed.keys() | refolded.keys():
        n, first, example = passed.get(key, (0, 0, ""))
        kept = n - rejudged.get(key, (0, 0, ""))[0]  # the events of entities not folded
        firsts = [refolded[key][1:]] if key in refolded else []
        if kept and example not in doubted_first:
            firsts.append((first, example))
        elif kept and not (firsts and firsts[0][0] <= first):
            unsure.add(key)
        total = kept + (refolded[key][0] if key in refolded else 0)
        if total:
            rows[key] = (total, firsts)
    for key, first_event in _first_unfolded(con, judge, unsure).items():
        rows[key][1].append(first_event)
    con.execute(
        "CREATE TEMP TABLE transitions (before VARCHAR, dest VARCHAR, verdict VARCHAR, "
        "events BIGINT, first BIGINT, example VARCHAR)"
    )
    con.executemany(
        "INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, total, *min(firsts)) for key, (total, firsts) in rows.items()],
    )


#: how many events' entities the first search for a transition's first event judges again
_FIRST_BATCH = 1 << 16


def _first_unfolded(
    con: duckdb.DuckDBPyConnection,
    judge: Callable[[str], str],
    unsure: set[Key],
) -> dict[Key, tuple[int, str]]:
    """The first event (place, entity) of each transition in `unsure` among the entities not
    folded. Those with an event among the first `_FIRST_BATCH` events are judged again, then
    those among eight times as many each time: a transition's first event found is its first
    when it comes before the first event left out, as every entity left out does (a
    transition's first events are usually among the first entities; judging all of them
    again would cost as much as the pass)."""
    found: dict[Key, tuple[int, str]] = {}
    limit = _FIRST_BATCH
    while unsure - found.keys():
        rest = con.execute(f"SELECT ord FROM events ORDER BY ord LIMIT 1 OFFSET {limit}").fetchall()
        bound = f"WHERE ord < {int(rest[0][0])}" if rest else ""
        con.execute(
            "CREATE OR REPLACE TEMP TABLE again AS SELECT * FROM events SEMI JOIN "
            f"(SELECT id FROM events {bound} EXCEPT SELECT id FROM doubted) USING (id)"
        )
        judged = judge("again")
        for key, (_, first, example) in _sums(con, _BY_TRANSITION.format(judged)).items():
            if key in unsure and (not rest or first < rest[0][0]):
                found[key] = (first, example)
        if not rest:
            break
        limit *= 8
    return found
