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
`stale`, the last kept event's id again is `repeated`.

How: the verdict relation of `statemachine.graph.rows` is a VALUES table. Each event is
first judged against the state and key of the event before it (a window `lag`); that is
exact up to and including an entity's first event that neither moves it nor confirms its
status with a newer key. Only the events after such an event (few in real logs) are folded
one by one in a recursive CTE.

`entities_sql` (DuckDB and Spark SQL) reads the per-event rows as `verdicts` and gives one
row per entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from statemachine.graph import Kind, graph_of, rows
from statemachine.model.definition import Definition
from statemachine.runtime.streams import DEFAULT_POLICY, Action

__all__ = ["DIALECTS", "MOVING", "VERDICT_COLUMNS", "audit_sql", "entities_sql"]

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

#: the verdicts that move an entity under the runtime's default policy
MOVING = tuple(kind for kind in Kind if DEFAULT_POLICY.action(kind) is Action.APPLY)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _values(name: str, columns: tuple[str, ...], table: Iterable[tuple[str, ...]]) -> str:
    body = ",\n    ".join("(" + ", ".join(_text(v) for v in record) + ")" for record in table)
    names = ", ".join(columns)
    return f"{name}({names}) AS (\n  SELECT * FROM (VALUES\n    {body}\n  ) AS v({names})\n)"


def _relation(definition: Definition) -> str:
    """The verdict relation; `source` '' stands for a new entity (no state is spelled '')."""
    table = [
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
    return _values("relation", ("source", "value", "kind", "dest", "missing", "through"), table)


def _order(e: str, last: str) -> str:
    """SQL: -1 when event `e`'s key is older than the last kept key (`last`_seq, `last`_ts),
    1 when newer, 0 when equal or incomparable (the sequence number decides first)."""
    seq, at, lseq, lat = f"{e}.seq", f"{e}.ts", f"{last}_seq", f"{last}_ts"
    return (
        f"(CASE WHEN {seq} IS NOT NULL AND {lseq} IS NOT NULL AND {seq} <> {lseq} "
        f"THEN CASE WHEN {seq} < {lseq} THEN -1 ELSE 1 END "
        f"WHEN {at} IS NOT NULL AND {lat} IS NOT NULL AND {at} <> {lat} "
        f"THEN CASE WHEN {at} < {lat} THEN -1 ELSE 1 END ELSE 0 END)"
    )


def _judged(r: str, e: str, last: str) -> tuple[str, str]:
    """SQL: the verdict of event `e` given relation row `r` and the last kept key, and
    whether the event keeps its key without moving (a repeat with a newer key)."""
    order = _order(e, last)
    again = f"({e}.event_id IS NOT NULL AND {e}.event_id = {last}_event_id)"
    verdict = (
        f"CASE WHEN {r}.kind IS NULL THEN 'unknown' WHEN {again} THEN 'repeated' "
        f"WHEN {order} < 0 THEN 'stale' "
        f"WHEN {order} > 0 AND {r}.kind = 'ambiguous' THEN 'skipped' ELSE {r}.kind END"
    )
    confirms = f"({r}.kind = 'repeated' AND NOT COALESCE({again}, FALSE) AND {order} > 0)"
    return verdict, confirms


def audit_sql(definition: Definition, dialect: str) -> str:
    """The per-event audit query for `dialect` (one of `DIALECTS`); see the module doc."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; choose from {', '.join(DIALECTS)}")
    moving = ", ".join(_text(k) for k in MOVING)
    naive, naive_confirms = _judged("r", "e", "e.prev")
    folded, confirms = _judged("r", "e", "f.last")
    keep = f"({folded} IN ({moving}) OR {confirms})"
    return f"""WITH RECURSIVE
{_relation(definition)},
ordered AS (
  SELECT id, status, seq, ts, event_id, ord,
    row_number() OVER w AS rn,
    lag(status) OVER w AS prev_status,
    lag(seq) OVER w AS prev_seq,
    lag(ts) OVER w AS prev_ts,
    lag(event_id) OVER w AS prev_event_id
  FROM events
  WINDOW w AS (PARTITION BY id ORDER BY seq NULLS LAST, ts NULLS LAST, ord)
),
naive AS (
  SELECT e.id, e.status, e.seq, e.ts, e.event_id, e.ord, e.rn,
    NULLIF(p.dest, '') AS before, e.prev_seq, e.prev_ts, e.prev_event_id,
    {naive} AS verdict, {naive_confirms} AS confirms,
    NULLIF(r.dest, '') AS state, r.missing, r.through
  FROM ordered e
  LEFT JOIN relation p ON p.source = '' AND p.value = e.prev_status
  LEFT JOIN relation r ON r.source = COALESCE(p.dest, '') AND r.value = e.status
),
first_still AS (
  SELECT id, min(rn) AS rn FROM naive
  WHERE verdict NOT IN ({moving}) AND NOT COALESCE(confirms, FALSE) GROUP BY id
),
residue AS (
  SELECT e.id, e.status, e.seq, e.ts, e.event_id, e.rn
  FROM naive e JOIN first_still s ON e.id = s.id AND e.rn > s.rn
),
fold AS (
  SELECT e.id, e.rn, e.before AS current,
    e.prev_seq AS last_seq, e.prev_ts AS last_ts, e.prev_event_id AS last_event_id,
    e.verdict, e.before, e.state, e.missing, e.through
  FROM naive e JOIN first_still s ON e.id = s.id AND e.rn = s.rn
  UNION ALL
  SELECT e.id, e.rn,
    CASE WHEN {folded} IN ({moving}) THEN NULLIF(r.dest, '') ELSE f.current END,
    CASE WHEN {keep} THEN e.seq ELSE f.last_seq END,
    CASE WHEN {keep} THEN e.ts ELSE f.last_ts END,
    CASE WHEN {keep} THEN e.event_id ELSE f.last_event_id END,
    {folded}, f.current, NULLIF(r.dest, ''), r.missing, r.through
  FROM fold f
  JOIN residue e ON e.id = f.id AND e.rn = f.rn + 1
  LEFT JOIN relation r ON r.source = COALESCE(f.current, '') AND r.value = e.status
)
SELECT e.id, e.ord, e.rn, e.status, e.seq, e.ts, e.event_id,
  COALESCE(f.verdict, e.verdict) AS verdict,
  CASE WHEN f.id IS NULL THEN e.before ELSE f.before END AS before,
  CASE WHEN f.id IS NULL THEN
    CASE WHEN e.verdict IN ({moving}) THEN e.state ELSE e.before END
    ELSE f.current END AS after,
  COALESCE(f.state, e.state) AS state,
  COALESCE(f.missing, e.missing, '') AS missing,
  COALESCE(f.through, e.through, '') AS through
FROM naive e
LEFT JOIN fold f ON f.id = e.id AND f.rn = e.rn"""


def _interval_seconds(dialect: str, start: str, end: str) -> str:
    if dialect == "duckdb":
        return f"epoch({end}) - epoch({start})"
    return f"unix_timestamp({end}) - unix_timestamp({start})"


def entities_sql(
    definition: Definition,
    dialect: str,
    limits: Mapping[str, timedelta],
    as_of: datetime | None,
) -> str:
    """One row per entity from the per-event rows `verdicts`: `id, events, final, entered,
    first_verdict, stuck` (`entered`: when the entity entered `final`; `stuck`: `final` is
    not a final state and is older than its limit in `limits` at `as_of`)."""
    if dialect not in ("duckdb", "spark"):
        raise ValueError(f"entities_sql reads DuckDB or Spark SQL, not {dialect!r}")
    moving = ", ".join(_text(k) for k in MOVING)
    # the value at the greatest key, NULL values kept (DuckDB's max_by would skip them)
    last = "arg_max_null" if dialect == "duckdb" else "max_by"
    table = [
        f"WHEN {_text(state)} THEN {int(limit.total_seconds())}"
        for state, limit in limits.items()
        if state in definition.states and not definition.states[state].final
    ]
    stuck = "FALSE"
    if table and as_of is not None:
        stamp = f"TIMESTAMP '{as_of.isoformat(sep=' ')}'"
        age = _interval_seconds(dialect, "x.entered", stamp)
        limit = f"CASE x.final {' '.join(table)} END"
        stuck = f"COALESCE(x.entered IS NOT NULL AND {age} > {limit}, FALSE)"
    return f"""WITH x AS (
  SELECT id, count(*) AS events, min_by(verdict, rn) AS first_verdict,
    {last}(after, rn) AS final,
    {last}(ts, CASE WHEN verdict IN ({moving}) THEN rn END) AS entered
  FROM verdicts GROUP BY id
)
SELECT x.id, x.events, x.final, x.entered, x.first_verdict, {stuck} AS stuck
FROM x"""
