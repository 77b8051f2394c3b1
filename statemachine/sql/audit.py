"""The audit as SQL generated from a definition, for DuckDB, Spark SQL and PostgreSQL.

`audit_sql(definition, dialect)` is one query. It reads a relation

    events(id TEXT, status TEXT, seq BIGINT, ts TIMESTAMP, event_id TEXT, ord BIGINT)

(one row per stored event; `seq`, `ts` (the event time, UTC) and `event_id` may be NULL;
`ord` is the event's place in the input, unique and increasing in file order) and returns
one row per event:

    id, ord, rn, status, seq, ts, event_id, verdict, before, after, state, missing, through

`rn` is the event's place in its entity's history (ordered by `seq`, then `ts`, then `ord`,
NULLs last), `verdict` one of the `statemachine.graph.Kind` values, `before`/`after` the
entity's state around the event (NULL before the first applied event), `state` the state the
status value means (NULL when unknown), `missing`/`through` the skipped reported and the
passed unreported states, comma-separated ('' when none). The verdicts are those of the
runtime's replay (`statemachine.runtime.streams.replay`) under its default policy:
`applied`, `skipped` and `ambiguous` move the entity to the new state, every other verdict
leaves it; an event older than the last kept key (sequence number first, then time) is
`stale`, the last kept event's id again is `repeated`; a key part an event lacks is kept
from the last kept key.

How: the verdict relation of `statemachine.graph.rows` is a VALUES table, and so are `moves`,
the few hundred (previous status, status) pairs an entity can show. Step `judged` sorts each
entity's events once (a window) and judges each event against the state and key of the event
before it (`lag`, one join with `moves`). That is exact for an entity whose every event but
its last moves it or confirms its status with a newer key, and whose events carry every key
part an earlier one carried; the other entities (`doubted`: few in real logs) are folded one
event at a time from their first event in a recursive CTE (`fold`). `audit_steps` gives the
steps one by one (an engine may keep each as a table), `audit_sql` as one query.

`entities_sql` (DuckDB and Spark SQL) reads the per-event rows as `verdicts` and gives one
row per entity. `summary_sql` (DuckDB) sums the per-event rows up as they stream, one row per
entity and one per transition, for a report that keeps no row per event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from statemachine.graph import Kind, graph_of, rows
from statemachine.model.definition import Definition
from statemachine.runtime.streams import DEFAULT_POLICY, Action

__all__ = [
    "AFTER",
    "DEST",
    "DIALECTS",
    "HISTORY_ORDER",
    "KEY_PARTS",
    "MOVE_COLUMNS",
    "MOVING",
    "REPORTED_COLUMNS",
    "VERDICT_COLUMNS",
    "audit_sql",
    "audit_steps",
    "entities_sql",
    "grouped_sql",
    "judged_sql",
    "limited",
    "literal",
    "move_rows",
    "spark_array",
    "summary_sql",
]

DIALECTS = ("duckdb", "spark", "postgres")

#: the columns `audit_sql` returns, in order
VERDICT_COLUMNS = (
    "id",
    "ord",
    "rn",
    "status",
    "seq",
    "ts",
    "event_id",
    "verdict",
    "before",
    "after",
    "state",
    "missing",
    "through",
)

#: the columns of `VERDICT_COLUMNS` that the report, the coupled rules and the fold read
#: (the skipped and passed states go to files only)
REPORTED_COLUMNS = tuple(name for name in VERDICT_COLUMNS if name not in ("missing", "through"))

#: the verdicts that move an entity under the runtime's default policy
MOVING = tuple(kind for kind in Kind if DEFAULT_POLICY.action(kind) is Action.APPLY)


def literal(value: str) -> str:
    """`value` as an SQL string literal (a quote doubled), as DuckDB, Spark and PostgreSQL
    read it."""
    return "'" + value.replace("'", "''") + "'"


#: the moving verdicts as an SQL list, for `IN (...)`
_MOVING_LIST = ", ".join(literal(k) for k in MOVING)
#: SQL: the state an event leaves its entity in, from its `verdict`, `state` and `before`
AFTER = f"CASE WHEN verdict IN ({_MOVING_LIST}) THEN state ELSE before END"


def _values(columns: tuple[str, ...], table: Iterable[tuple[str | int | None, ...]]) -> str:
    body = ",\n    ".join(
        "("
        + ", ".join(
            "NULL" if v is None else literal(v) if isinstance(v, str) else str(v) for v in record
        )
        + ")"
        for record in table
    )
    return f"SELECT * FROM (VALUES\n    {body}\n  ) AS v({', '.join(columns)})"


#: a row of the verdict relation: source ('' for a new entity), value, kind, dest ('' for
#: none), missing, through
_Row = tuple[str, str, str, str, str, str]


def _table(definition: Definition) -> list[_Row]:
    return [
        (
            current or "",
            value,
            str(found.kind),
            found.dest or "",
            ",".join(found.missing),
            ",".join(found.through),
        )
        for current, value, found in rows(graph_of(definition))
    ]


def _relation(definition: Definition) -> str:
    """The verdict relation; `source` '' stands for a new entity (no state is spelled '')."""
    return _values(("source", "value", "kind", "dest", "missing", "through"), _table(definition))


def _entered(definition: Definition, status: str) -> str:
    """SQL: the state a new entity's first `status` puts it in (NULL for none), as the
    relation's new-entity rows say."""
    cases = " ".join(
        f"WHEN {literal(value)} THEN {literal(found.dest)}"
        for current, value, found in rows(graph_of(definition))
        if current is None and found.dest
    )
    return f"CASE {status} {cases} END" if cases else "NULL"


def _order(e: str, last: str, parts: Collection[str] = ("seq", "ts")) -> str:
    """SQL: -1 when event `e`'s key is older than the last kept key (`last`_seq, `last`_ts),
    1 when newer, 0 when equal or incomparable (the sequence number decides first); `parts`:
    the key parts some event has."""
    cases = "".join(
        f"WHEN {e}.{p} IS NOT NULL AND {last}_{p} IS NOT NULL AND {e}.{p} <> {last}_{p} "
        f"THEN CASE WHEN {e}.{p} < {last}_{p} THEN -1 ELSE 1 END "
        for p in ("seq", "ts")
        if p in parts
    )
    return f"(CASE {cases}ELSE 0 END)" if cases else "0"


def _again(e: str, last: str) -> str:
    """SQL: event `e` is the last kept event again (the same event id)."""
    return f"({e}.event_id IS NOT NULL AND {e}.event_id = {last}_event_id)"


def _verdict(kind: str, order: str, again: str) -> str:
    """SQL: the verdict of an event given its relation row's `kind`, its key's `order`
    against the last kept key (`_order`) and whether it is the last kept event `again`."""
    return (
        f"CASE WHEN {kind} IS NULL THEN 'unknown' "
        # an informational value is no state: ordering keys never make it anything else
        f"WHEN {kind} = 'informational' THEN 'informational' WHEN {again} THEN 'repeated' "
        f"WHEN {order} < 0 THEN 'stale' "
        f"WHEN {order} > 0 AND {kind} = 'ambiguous' THEN 'skipped' ELSE {kind} END"
    )


def _kept(verdict: str, kind: str, order: str, again: str) -> str:
    """SQL: the event (judged `verdict`) is kept: it moves the entity, or confirms its
    status with a newer key (a repeat that is not the last kept event again)."""
    confirms = f"({kind} = 'repeated' AND NOT COALESCE({again}, FALSE) AND {order} > 0)"
    return f"({verdict} IN ({_MOVING_LIST}) OR {confirms})"


#: the output columns that are the event's own (the fold carries them along)
_OWN = ("id", "ord", "rn", "status", "seq", "ts", "event_id")


def _own(table: str = "") -> str:
    return ", ".join(f"{table}.{c}" if table else c for c in _OWN)


#: the order of an entity's history: sequence number, then time, then place in the input
HISTORY_ORDER = "seq NULLS LAST, ts NULLS LAST, ord"

#: the columns of an event's key (sequence number, time, event id); any may be NULL
KEY_PARTS = ("seq", "ts", "event_id")


def _checked(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; choose from {', '.join(DIALECTS)}")


#: the columns of `move_rows`
MOVE_COLUMNS = ("move", "prev", "before", "value", "kind", "state", "missing", "through")
#: a row of `move_rows`
_Move = tuple[int, str, str | None, str, str, str | None, str, str]


def move_rows(definition: Definition) -> list[_Move]:
    """The rows of the `moves` table: each (previous status, status) pair an entity can
    show, judged as `judged` reads it, so one join judges an event, and numbered (`move`: a
    number to group by is cheaper than the names of a transition). `prev` '' stands for no
    previous event; `before` is the state the previous status means (NULL for none). A
    previous status the machine does not know matches no move: its event was judged
    `unknown`, not kept, so its entity is folded anyway. A table of its own rather than the
    relation joined with itself: binding the relation twice was a third of planning the one
    pass."""
    by_source: dict[str, list[_Row]] = {}
    for row in _table(definition):
        by_source.setdefault(row[0], []).append(row)
    firsts = by_source.get("", [])
    # a previous status means the state it puts a new entity in
    pairs = [(p[1], p[3], r) for p in firsts for r in by_source.get(p[3], [])]
    pairs += [("", "", r) for r in firsts]
    return [
        (n, prev, before or None, value, kind, dest or None, missing, through)
        for n, (prev, before, (_, value, kind, dest, missing, through)) in enumerate(pairs, 1)
    ]


def _moves(definition: Definition) -> str:
    """The `moves` table written as values. A query that plans it more than once can read a
    table its caller made of `move_rows` instead: a hundred rows written as values were most
    of the time DuckDB took to plan the one pass."""
    return _values(MOVE_COLUMNS, move_rows(definition))


def _judged_step(
    definition: Definition,
    parts: Collection[str],
    events: str = "events",
    partition: str = "id",
    line: str = "ord",
) -> str:
    """The `judged` step over the relation named `events` and `moves`: one sorted pass (a
    row number, the previous event's status and key, whether another event follows), every
    event judged against the event before it by one join. A key part outside `parts` is NULL
    on every event: it is left out of the sort and the comparisons, which it would not
    change. `partition` and `line`: see `judged_sql`."""
    order = "".join(f"{p} NULLS LAST, " for p in ("seq", "ts") if p in parts)
    window = f"PARTITION BY {partition} ORDER BY {order}{line}"
    present = [part for part in KEY_PARTS if part in parts]
    lags = "".join(f"lag({p}) OVER ({window}) AS prev_{p},\n          " for p in present)
    # the previous event's key is the last kept key while every event so far was kept and
    # every key part is on all of the entity's events or on none (the runtime keeps a part an
    # event lacks): a part that comes or goes between neighbours puts the entity in doubt
    changes = (
        " OR ".join(f"(e.prev_{part} IS NULL) <> (e.{part} IS NULL)" for part in present) or "FALSE"
    )
    again = _again("e", "e.prev") if "event_id" in parts else "FALSE"
    # each step computes its columns once for the next (the verdict is read three times)
    kept = _kept("verdict", "kind", "cmp", "again")
    # a status the machine does not know has no move: the state before it is looked up alone.
    # An entity's last event is judged right whatever it is (every event before it was kept):
    # only an event with a successor can put the entity in doubt (a late event, the usual
    # anomaly, then costs no fold)
    return f"""SELECT id, ord, rn, status, seq, ts, event_id, verdict, before,
    {AFTER} AS after,
    state, missing, through, followed AND (NOT COALESCE({kept}, FALSE) OR changes) AS doubt,
    move
  FROM (
    SELECT *, {_verdict("kind", "cmp", "again")} AS verdict FROM (
      SELECT e.id, e.ord, e.rn, e.status, e.seq, e.ts, e.event_id, m.kind, m.move,
        {_order("e", "e.prev", parts)} AS cmp, {again} AS again,
        CASE WHEN m.value IS NULL THEN {_entered(definition, "e.prev_status")}
          ELSE m.before END AS before,
        m.state, COALESCE(m.missing, '') AS missing,
        COALESCE(m.through, '') AS through, e.next_ord IS NOT NULL AS followed,
        e.prev_status IS NOT NULL AND ({changes}) AS changes
      FROM (
        SELECT id, ord, status, seq, ts, event_id,
          row_number() OVER ({window}) AS rn,
          lag(status) OVER ({window}) AS prev_status,
          {lags}lead(ord) OVER ({window}) AS next_ord
        FROM {events}
      ) e
      LEFT JOIN moves m ON m.prev = COALESCE(e.prev_status, '') AND m.value = e.status
    ) k
  ) j"""


def judged_sql(
    definition: Definition,
    dialect: str,
    parts: Collection[str] = KEY_PARTS,
    events: str = "events",
    partition: str = "id",
    *,
    moves: bool = True,
    line: str = "ord",
) -> str:
    """The one-pass step as one query over the relation named `events`: the rows of
    `audit_sql` plus `doubt`, true on some event of every entity whose rows may differ from
    the replay's (those entities' events are to be folded one by one, by
    `statemachine.audit.fold`), and `move`, the number of the event's (previous status,
    status) pair among the machine's moves (NULL for none: a status it does not know; the
    pair names the event's `before` and `dest`, see `summary_sql`). `parts`: the key parts
    (`KEY_PARTS`) some event has; the others are NULL on every event. `partition`: an
    expression of `id` that tells histories apart, `id` itself or a hash of it; the entities
    of one hash are judged as one history, so the rows of an entity whose `rn` are not 1 to
    its number of events are wrong (and those of the entities its hash collides with may
    be). `moves`: the `moves` table written into the query; False reads the relation
    `moves` (`move_rows`). `line`: what orders the events of one key, `ord` or an expression
    of it that orders them alike (a narrower type sorts faster)."""
    _checked(dialect)
    written = f"WITH moves AS (\n  {_moves(definition)}\n)\n" if moves else ""
    return written + _judged_step(definition, parts, events, partition, line)


def audit_steps(definition: Definition, dialect: str) -> list[tuple[str, str]]:
    """The audit as named steps, each a query over the ones before it and `events`; the last
    (`verdicts`) gives the rows of `audit_sql`. The `fold` step is recursive."""
    _checked(dialect)
    order, again = _order("e", "f.last"), _again("e", "f.last")
    folded = _verdict("r.kind", order, again)
    kept = _kept(folded, "r.kind", order, again)
    fold = f"""SELECT {_own()}, verdict, before, state, missing, through,
    CASE WHEN verdict IN ({_MOVING_LIST}) THEN state END AS current,
    CASE WHEN verdict IN ({_MOVING_LIST}) THEN seq END AS last_seq,
    CASE WHEN verdict IN ({_MOVING_LIST}) THEN ts END AS last_ts,
    CASE WHEN verdict IN ({_MOVING_LIST}) THEN event_id END AS last_event_id
  FROM doubtful WHERE rn = 1
  UNION ALL
  SELECT e.id, e.ord, e.rn, e.status, e.seq, e.ts, e.event_id,
    {folded}, f.current, NULLIF(r.dest, ''), COALESCE(r.missing, ''), COALESCE(r.through, ''),
    CASE WHEN {folded} IN ({_MOVING_LIST}) THEN NULLIF(r.dest, '') ELSE f.current END,
    CASE WHEN {kept} THEN COALESCE(e.seq, f.last_seq) ELSE f.last_seq END,
    CASE WHEN {kept} THEN COALESCE(e.ts, f.last_ts) ELSE f.last_ts END,
    CASE WHEN {kept} THEN COALESCE(e.event_id, f.last_event_id) ELSE f.last_event_id END
  FROM fold f
  JOIN doubtful e ON e.id = f.id AND e.rn = f.rn + 1
  LEFT JOIN relation r ON r.source = COALESCE(f.current, '') AND r.value = e.status"""
    verdicts = f"""SELECT {_own("j")}, j.verdict, j.before, j.after, j.state, j.missing, j.through
  FROM judged j LEFT JOIN doubted d ON d.id = j.id WHERE d.id IS NULL
  UNION ALL
  SELECT {_own()}, verdict, before, current, state, missing, through FROM fold"""
    return [
        ("relation", _relation(definition)),
        ("moves", _moves(definition)),
        ("judged", _judged_step(definition, KEY_PARTS)),
        ("doubted", "SELECT DISTINCT id FROM judged WHERE doubt"),
        (
            "doubtful",
            f"SELECT {_own('j')}, j.verdict, j.before, j.state, j.missing, j.through "
            "FROM judged j JOIN doubted d ON d.id = j.id",
        ),
        ("fold", fold),
        ("verdicts", verdicts),
    ]


def audit_sql(definition: Definition, dialect: str) -> str:
    """The per-event audit query for `dialect` (one of `DIALECTS`); see the module doc."""
    *steps, (_, last) = audit_steps(definition, dialect)
    ctes = ",\n".join(f"{name} AS (\n  {body}\n)" for name, body in steps)
    return f"WITH RECURSIVE\n{ctes}\n{last}"


def _interval_seconds(dialect: str, start: str, end: str) -> str:
    if dialect == "duckdb":
        return f"epoch({end}) - epoch({start})"
    return f"unix_timestamp({end}) - unix_timestamp({start})"


def _entity_aggregates(
    definition: Definition, dialect: str, first_verdict: bool = True, entered: bool = True
) -> str:
    """The aggregates of one entity's per-event rows: `events`, `first_verdict` (unless not
    `first_verdict`), `final` (the state after its last event) and `entered` (when it entered
    it; NULL when not `entered`); Spark carries the first verdict and the final state as
    places (`_carried`)."""
    # the value at the greatest key, NULL values kept (DuckDB's max_by would skip them)
    last = "arg_max_null" if dialect == "duckdb" else "max_by"
    verdict, _ = _carried(dialect, "verdict", "first_verdict", [str(k) for k in Kind])
    after, _ = _carried(dialect, "after", "final", list(definition.states))
    first = f"min_by({verdict}, rn) AS first_verdict, " if first_verdict else ""
    when = (
        f"{last}(ts, CASE WHEN verdict IN ({_MOVING_LIST}) THEN rn END)"
        if entered
        else "CAST(NULL AS TIMESTAMP)"
    )
    return f"count(*) AS events, {first}{last}({after}, rn) AS final, {when} AS entered"


#: an entity's aggregate: the place of its first `repeated` event
_FIRST_REPEATED = (
    f"min(CASE WHEN verdict = {literal(Kind.REPEATED)} THEN ord END) AS first_repeated"
)


def grouped_sql(definition: Definition, dialect: str, rows: str) -> str:
    """Each entity's sums of the per-event rows `rows` that `entities_sql` reads from
    `grouped`, and `first_repeated`, the place of its first `repeated` event (a report names
    the first few such entities)."""
    return (
        f"SELECT id, {_entity_aggregates(definition, dialect)}, {_FIRST_REPEATED} "
        f"FROM {rows} GROUP BY id"
    )


def limited(definition: Definition, limits: Mapping[str, timedelta]) -> dict[str, int]:
    """The states of `definition` an entity can be stuck in (not final, with a limit in
    `limits`), each with its limit in seconds."""
    return {
        state: int(limit.total_seconds())
        for state, limit in limits.items()
        if state in definition.states and not definition.states[state].final
    }


def entities_sql(
    definition: Definition,
    dialect: str,
    limits: Mapping[str, timedelta],
    as_of: datetime | None,
    grouped: str | None = None,
) -> str:
    """One row per entity from the per-event rows `verdicts`: `id, events, final, entered,
    first_verdict, stuck` (`entered`: when the entity entered `final`; `stuck`: `final` is
    not a final state and is older than its limit in `limits` at `as_of`). `grouped`: a
    relation that holds the grouped columns already (`summary_sql`'s entity rows), read in
    place of `verdicts`."""
    if dialect not in ("duckdb", "spark"):
        raise ValueError(f"entities_sql reads DuckDB or Spark SQL, not {dialect!r}")
    table = [
        f"WHEN {literal(state)} THEN {seconds}"
        for state, seconds in limited(definition, limits).items()
    ]
    _, first_verdict = _carried(dialect, "verdict", "first_verdict", [str(k) for k in Kind])
    _, final = _carried(dialect, "after", "final", list(definition.states))
    stuck = "FALSE"
    if table and as_of is not None:
        stamp = f"TIMESTAMP '{as_of.isoformat(sep=' ')}'"
        age = _interval_seconds(dialect, "x.entered", stamp)
        limit = f"CASE {final} {' '.join(table)} END"
        stuck = f"COALESCE(x.entered IS NOT NULL AND {age} > {limit}, FALSE)"
    x = grouped or (
        f"SELECT id, {_entity_aggregates(definition, dialect)} FROM verdicts GROUP BY id"
    )
    return f"""WITH x AS (
  {x}
)
SELECT x.id, x.events, {final} AS final, x.entered, {first_verdict} AS first_verdict,
  {stuck} AS stuck
FROM x"""


#: a transition's destination as a report names it: the state its status means, else the
#: status itself (one the machine does not know), '' for none
DEST = "COALESCE(state, status, '')"


def summary_sql(
    definition: Definition,
    rows: str,
    *,
    moves: bool = True,
    held: Collection[str] = (),
    examples: int = 5,
) -> str:
    """DuckDB: the per-event rows of the relation `rows` (the columns of `REPORTED_COLUMNS`,
    `doubt` and `move`, as `judged_sql` gives them; `move` may be NULL on every row) summed up
    in one pass that keeps none of them. Groupings of the same stream, their rows told apart
    by `id` and `verdict`:

    - an entity's (`id` set, `verdict` NULL), for the entities a report still has to look at:
      those in doubt (`doubtful`: some event is; `collided`: its `rn` are not 1 to its number
      of events, it was judged with another entity) and those whose final state is in `held`
      (a limit may find them stuck): the columns `entities_sql` groups but `first_verdict`
      (`entered` only with `held`: no other entity's is read);
    - the other entities' number by final state (`id` and `verdict` NULL): `dest`, `events`;
    - a transition's (`id` NULL, `verdict` set): `before`, `dest` (the state, or the status
      the machine does not know), `verdict`, `events`, `first` (the place of its first
      event), `example` (that event's entity) and `latest` (its last event time);
    - an entity's first event of each verdict few events have, all but `applied` and
      `repeated` (a retried delivery is about as common as a move) (`id` and `verdict` set):
      `first`, its place, and `rn`, its place in the history. An entity's first verdict is
      the one of these at `rn` 1, else `applied`: nothing came before a first event, so it
      is never `repeated`. Of `repeated`, the first event of the first `examples` entities
      not in doubt, which a report names (`rn` NULL).

    Each grouping computes only its own aggregates (DuckDB's `GROUPING SETS` computes every
    aggregate for each: a tenth of the pass at 10M events). Transitions are grouped by the
    number of their move and named after (grouping ten million events by three names took
    twice as long); the few transitions several moves make (an alias and its state; no
    state before, for a first status and one after a status that names none) are summed
    again. `moves`: as for `judged_sql`."""
    entity = _entity_aggregates(definition, "duckdb", first_verdict=False, entered=bool(held))
    repeated = literal(Kind.REPEATED)
    sums = "count(*) AS events, min(ord) AS first, arg_min(id, ord) AS example, max(ts) AS latest"
    written = f"moves AS (\n  {_moves(definition)}\n),\n" if moves else ""
    doubt = "(doubtful OR collided)"
    states = ", ".join(map(literal, held))
    kept = f"COALESCE({doubt} OR final IN ({states}), FALSE)" if held else doubt
    return f"""WITH {written}s AS (SELECT *, {DEST} AS dest FROM {rows} r),
e AS (
  SELECT id, {entity}, bool_or(doubt) AS doubtful, max(rn) > count(*) AS collided,
    {_FIRST_REPEATED}
  FROM s GROUP BY id
)
SELECT id, NULL AS before, NULL AS dest, NULL AS verdict, events, final, entered,
  NULL AS first, NULL AS example, doubtful, collided, NULL AS latest, NULL AS rn
FROM e WHERE {kept}
UNION ALL
SELECT NULL, NULL, final, NULL, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM e WHERE NOT {kept} GROUP BY final
UNION ALL
(SELECT id, NULL, NULL, {repeated}, NULL, NULL, NULL, first_repeated, NULL, NULL, NULL, NULL,
  NULL
FROM e WHERE first_repeated IS NOT NULL AND NOT {doubt}
ORDER BY first_repeated LIMIT {examples})
UNION ALL
SELECT NULL, before, dest, verdict, sum(events), NULL, NULL, min(first),
  arg_min(example, first), NULL, NULL, max(latest), NULL
FROM (
  SELECT m.before, COALESCE(m.state, m.value, '') AS dest, t.* EXCLUDE (move)
  FROM (SELECT move, verdict, {sums} FROM s WHERE move IS NOT NULL GROUP BY move, verdict) t
  JOIN moves m USING (move)
  UNION ALL
  SELECT before, dest, verdict, {sums} FROM s WHERE move IS NULL GROUP BY before, dest, verdict
) t
GROUP BY before, dest, verdict
UNION ALL
SELECT id, NULL, NULL, verdict, NULL, NULL, NULL, min(ord), NULL, NULL, NULL, NULL, min(rn)
FROM s WHERE verdict NOT IN ({literal(Kind.APPLIED)}, {repeated}) GROUP BY id, verdict"""


def _carried(dialect: str, column: str, alias: str, names: Sequence[str]) -> tuple[str, str]:
    """`column` (one of `names` or NULL) as a grouping carries it, and the expression that
    names it again from the grouping's column `alias`. Spark groups by hash only when every
    aggregate's buffer is fixed-width: text carried by `min_by`/`max_by` sends the whole
    grouping to a sort (2.5 s of the entity step's 6.5 at 10M events), so Spark carries the
    name's place in `names`."""
    if dialect != "spark":
        return column, f"x.{alias}"
    places = " ".join(f"WHEN {literal(name)} THEN {i}" for i, name in enumerate(names, 1))
    # `get` counts from 0 and gives NULL for NULL; Spark 4.3's `element_at` gives the last
    # name for a NULL place (the final state of an entity no event could start)
    return f"CASE {column} {places} END", f"get({spark_array(names)}, x.{alias} - 1)"


def spark_array(values: Sequence[str | None]) -> str:
    """Spark SQL: an array of `values` (None: NULL), to name a place again with `get`."""
    return f"array({', '.join('NULL' if v is None else literal(v) for v in values)})"
