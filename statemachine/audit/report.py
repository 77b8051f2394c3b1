"""What an audit found, summed up the same way whichever engine judged the events.

Every engine leaves the relation `entities` behind (`id, events, final, entered,
first_verdict, stuck`) and either `verdicts` (one row per event, the columns of
`statemachine.sql.audit.VERDICT_COLUMNS`) or, when DuckDB keeps no row per event
(`statemachine.audit.summary`), the sums by transition and the first place of each verdict in
each entity. `summarize` asks them a few small queries that DuckDB and Spark SQL both read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from statemachine.coupled import UNDECIDED
from statemachine.graph import Kind
from statemachine.model.definition import Definition
from statemachine.runtime.streams import counted
from statemachine.sql.audit import DEST

__all__ = [
    "BY_FINAL_SQL",
    "EXAMPLES",
    "FINDINGS_SQL",
    "FIRSTS_SQL",
    "GROUPED_FIRSTS_SQL",
    "NO_STATUS",
    "TRANSITIONS_SQL",
    "UNSTARTABLE_SQL",
    "UNSTARTING",
    "Report",
    "Transition",
    "outcome_map",
    "summarize",
]

#: how many example ids a report keeps per kind
EXAMPLES = 5
#: the final status of an entity no event could start
NO_STATUS = "(none)"
#: worst first: the order verdicts are listed in
_SEVERITY = (
    Kind.ILLEGAL,
    Kind.UNKNOWN,
    Kind.STALE,
    Kind.AMBIGUOUS,
    Kind.SKIPPED,
    Kind.REPEATED,
    Kind.INFORMATIONAL,
    Kind.APPLIED,
)
#: the verdicts that are no problem: left out of the worst transitions
_FINE = frozenset({Kind.APPLIED, Kind.INFORMATIONAL})

#: one row per event that was not applied and one per stuck entity
FINDINGS_SQL = """SELECT * FROM (
  SELECT 'event' AS finding, verdict, id, ord, status, seq, ts, event_id, before, after,
    missing, through FROM verdicts WHERE verdict <> 'applied'
  UNION ALL
  SELECT 'entity', 'stuck', id, CAST(NULL AS BIGINT), final, CAST(NULL AS BIGINT), entered,
    CAST(NULL AS STRING), final, final, '', '' FROM entities WHERE stuck
) f ORDER BY ord NULLS LAST, id"""

Query = Callable[[str], Sequence[Sequence[Any]]]


@attrs.frozen
class Transition:
    """Events from `source` (None: a new entity) with status `dest`, judged `verdict`."""

    source: str | None
    dest: str
    verdict: Kind
    count: int
    example: str


@attrs.frozen
class Report:
    """The summary of one audit; `as_json()` is the pinned `--format json` contract."""

    machine: str
    events: int
    entities: int
    verdicts: Mapping[str, int]
    final: Mapping[str, int]
    outcomes: Mapping[str, int]
    stuck: Mapping[str, int]
    transitions: tuple[Transition, ...]
    examples: Mapping[str, tuple[str, ...]]
    unstartable: int
    as_of: datetime | None

    @property
    def failed(self) -> bool:
        """Some event is illegal or unknown (exit 1)."""
        return bool(self.verdicts.get(Kind.ILLEGAL) or self.verdicts.get(Kind.UNKNOWN))

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "events": self.events,
            "entities": self.entities,
            "verdicts": dict(self.verdicts),
            "final": dict(self.final),
            "outcomes": dict(self.outcomes),
            "stuck": dict(self.stuck),
            "transitions": [
                {
                    "source": t.source,
                    "dest": t.dest,
                    "count": t.count,
                    "verdict": str(t.verdict),
                    "example": t.example,
                }
                for t in self.transitions
            ],
            "examples": {kind: list(ids) for kind, ids in self.examples.items()},
            "unstartable": self.unstartable,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    def text(self, worst: int = 8) -> str:
        """A summary a person reads in ten seconds."""
        lines = [
            f"{self.machine}: {counted(self.events, 'event')}, {counted(self.entities, 'entity')}"
            + (f", as of {self.as_of:%Y-%m-%d %H:%M:%S}" if self.as_of else ""),
            "",
            "verdicts   " + _counts({k: n for k, n in self.verdicts.items() if n}),
            "final      " + _counts(self.final),
        ]
        if self.outcomes:
            lines.append("outcomes   " + _counts(self.outcomes))
        if self.as_of is None:  # no event time and no --as-of: no age to compare
            lines.append("stuck      cannot be judged without a time column (--at) or --as-of")
        else:
            lines.append("stuck      " + (_counts(self.stuck) if self.stuck else "none"))
        if self.unstartable:
            lines.append(
                f"unstartable {counted(self.unstartable, 'entity')} whose first status cannot "
                f"start a history, e.g. {', '.join(self.examples.get('unstartable', ()))}"
            )
        bad = [t for t in self.transitions if t.verdict not in _FINE][:worst]
        if bad:
            lines += ["", "worst transitions"]
            width = max(len(_move(t)) for t in bad)
            for t in bad:
                lines.append(
                    f"  {_move(t):<{width}}  {t.verdict:<9} {t.count:>10,}  e.g. {t.example}"
                )
        shown = [(kind, ids) for kind, ids in self.examples.items() if kind != "unstartable"]
        if shown:
            lines += ["", "examples"]
            lines += [f"  {kind:<9} {', '.join(ids)}" for kind, ids in shown]
        return "\n".join(lines)


def _move(t: Transition) -> str:
    return f"{t.source or '(new)'} -> {t.dest}"


def _counts(counts: Mapping[str, int]) -> str:
    return "  ".join(f"{name} {n:,}" for name, n in counts.items()) or "none"


def _summed(pairs: Iterable[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """The counts of `pairs` added up by name."""
    sums: dict[Any, int] = {}
    for name, n in pairs:
        sums[name] = sums.get(name, 0) + int(n)
    return list(sums.items())


def _by_count(pairs: Sequence[Sequence[Any]]) -> dict[str, int]:
    named = [(NO_STATUS if name is None else str(name), int(n)) for name, n in pairs]
    return dict(sorted(named, key=lambda item: (-item[1], item[0])))


def outcome_map(definition: Definition) -> dict[str, str]:
    """State -> canonical outcome, from the machine's `outcome` mapping (empty without one).
    A state with several candidate outcomes is `undecided`: only a reason field can decide
    among them (a `decides` rule, judged where its column is in the data), never the order
    the candidates are listed in."""
    mapping = definition.mappings.get("outcome")
    if mapping is None:
        return {}
    return {
        state: labels[0] if len(labels) == 1 else UNDECIDED
        for state, labels in mapping.entries.items()
        if labels
    }


#: each transition's events (`example` NULL: the id of the event at `first` is looked up)
TRANSITIONS_SQL = f"""SELECT before, {DEST} AS dest, verdict, count(*),
  min(ord) AS first, CAST(NULL AS STRING) AS example
FROM verdicts GROUP BY before, {DEST}, verdict"""
#: the place of each entity's first event of each verdict an example is named of
FIRSTS_SQL = (
    "SELECT verdict, id, min(ord) AS first FROM verdicts WHERE verdict <> 'applied' "
    "GROUP BY verdict, id"
)
#: the same from each entity's sums (`statemachine.sql.audit.grouped_sql`, as `grouped`): the
#: rare verdicts' events grouped by entity, the first entities of `repeated` (about half of
#: all events) ranked by the place each entity's sums carry
GROUPED_FIRSTS_SQL = (
    "SELECT verdict, id, min(ord) AS first FROM verdicts "
    f"WHERE verdict NOT IN ('{Kind.APPLIED}', '{Kind.REPEATED}') GROUP BY verdict, id "
    f"UNION ALL (SELECT '{Kind.REPEATED}', id, first_repeated FROM grouped "
    f"WHERE first_repeated IS NOT NULL ORDER BY first_repeated LIMIT {EXAMPLES})"
)
#: the first verdicts of an entity no event could start, as an SQL list
UNSTARTING = f"('{Kind.ILLEGAL}', '{Kind.UNKNOWN}')"
#: the entities by final state and whether they are stuck
BY_FINAL_SQL = "SELECT final, stuck, count(*) FROM entities GROUP BY final, stuck"
#: the entities no event could start
UNSTARTABLE_SQL = f"SELECT id FROM entities WHERE first_verdict IN {UNSTARTING}"


def summarize(
    definition: Definition,
    query: Query,
    as_of: datetime | None,
    transitions: str = TRANSITIONS_SQL,
    firsts: str = FIRSTS_SQL,
    unstartable: str = UNSTARTABLE_SQL,
    by_final: str = BY_FINAL_SQL,
) -> Report:
    """The report from the relation `entities` and the queries `transitions` (`before, dest,
    verdict, events, first, example`), `firsts` (`verdict, id, first`), `unstartable` (`id`)
    and `by_final` (`final, stuck, entities`), which `query` can read; by default the first
    two read `verdicts`: one pass over the events for the counts by transition (the verdict
    counts are their sums), one for the examples."""
    # each transition's first event by its place (`ord` is unique), its id looked up after:
    # carrying the id through the grouping (`min_by`) costs Spark three times the grouping
    grouped = query(transitions)
    names = _ids(query, [first for *_, first, example in grouped if example is None])
    rank = {kind: i for i, kind in enumerate(_SEVERITY)}
    moves = sorted(
        (
            Transition(src, str(dst), Kind(kind), int(n), example or names[first])
            for src, dst, kind, n, first, example in grouped
        ),
        key=lambda t: (rank[t.verdict], -t.count, t.source or "", t.dest),
    )
    verdicts = {str(kind): 0 for kind in Kind}
    for t in moves:
        verdicts[str(t.verdict)] += t.count
    finals = query(by_final)
    final = _by_count(_summed((state, n) for state, _, n in finals))
    stuck = _by_count(_summed((state, n) for state, held, n in finals if held))
    outcomes: dict[str, int] = {}
    for state, label in outcome_map(definition).items():
        if final.get(state):
            outcomes[label] = outcomes.get(label, 0) + final[state]
    examples: dict[str, list[str]] = {}
    for kind, ident in query(
        "SELECT verdict, id FROM (SELECT verdict, id, row_number() OVER (PARTITION BY verdict "
        f"ORDER BY first) AS n FROM ({firsts}) t) u WHERE n <= {EXAMPLES} ORDER BY verdict, n"
    ):
        examples.setdefault(str(kind), []).append(str(ident))
    ordered = {str(k): tuple(examples[str(k)]) for k in _SEVERITY if str(k) in examples}
    for label, relation in (
        ("stuck", "SELECT id FROM entities WHERE stuck"),
        ("unstartable", unstartable),
    ):
        rows = query(f"SELECT id FROM ({relation}) u ORDER BY id LIMIT {EXAMPLES}")
        ids = [str(row[0]) for row in rows]
        if ids:
            ordered[label] = tuple(ids)
    return Report(
        machine=definition.name,
        events=sum(verdicts.values()),
        entities=sum(int(n) for _, _, n in finals),
        verdicts=verdicts,
        final=final,
        outcomes=dict(sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))),
        stuck=stuck,
        transitions=tuple(moves),
        examples=ordered,
        unstartable=int(query(f"SELECT count(*) FROM ({unstartable}) u")[0][0]),
        as_of=as_of,
    )


def _ids(query: Query, places: Sequence[Any]) -> dict[Any, str]:
    """`ord` -> the id of the event at that place, for `places`."""
    if not places:
        return {}
    listed = ", ".join(str(int(place)) for place in places)
    return {
        place: str(ident)
        for place, ident in query(f"SELECT ord, id FROM verdicts WHERE ord IN ({listed})")
    }
