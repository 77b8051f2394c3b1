"""How an incoming status relates to the current one, decided from the lifecycle's graph.

For an entity in state `c` and an incoming status `s` the graph alone says whether `s` is one
legal move ahead (possibly through states the provider never reports), further ahead past
statuses that never arrived, behind (a late delivery), on a cycle with `c`, or unrelated.
Ordering keys and policies are the runtime's business; this is the structure's answer.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import attrs

from statemachine.graph.structure import Graph

__all__ = ["Kind", "Relation", "relation", "row", "rows"]


class Kind(enum.StrEnum):
    """The verdict on one incoming status."""

    #: one legal move, possibly through unreported states
    APPLIED = "applied"
    #: the entity already has this status (or the same event arrived again)
    REPEATED = "repeated"
    #: behind the current status: a late delivery
    STALE = "stale"
    #: ahead of the current status, past reported statuses that never arrived
    SKIPPED = "skipped"
    #: neither ahead nor behind: a real violation
    ILLEGAL = "illegal"
    #: on a cycle with the current status, not one move apart: the graph cannot decide
    AMBIGUOUS = "ambiguous"
    #: not a status of this machine (or an acknowledgement-only value)
    UNKNOWN = "unknown"
    #: an informational event in the status field: accepted, the status unchanged
    INFORMATIONAL = "informational"


@attrs.frozen
class Relation:
    """The graph's answer for one (current, incoming) pair, aliases resolved."""

    kind: Kind
    #: the current state (None for a new entity)
    source: str | None
    #: the state the incoming status means (None when unknown or informational)
    dest: str | None
    #: reported states on the best path that never arrived (`skipped`)
    missing: tuple[str, ...] = ()
    #: unreported states the move passes through
    through: tuple[str, ...] = ()
    #: for a new entity, the `missing` of every path as near from another entry state
    #: (`missing` itself first), in the definition's order: any of them may have been lost
    candidates: tuple[tuple[str, ...], ...] = ()


def _ahead(
    graph: Graph, current: str | None, entries: tuple[str, ...] | None = None
) -> dict[str, tuple[str, ...]]:
    """Every state reachable from `current` (from the entry states when None) with the
    states between on a path with the fewest reported ones (0-1 breadth-first search: a
    reported intermediate costs 1, an unreported one 0; ties go to the definition's order)."""
    states = graph.definition.states
    cost: dict[str, int] = {}
    parent: dict[str, str | None] = {}
    queue: deque[str] = deque()
    firsts = (entries or graph.entries) if current is None else graph.successors[current]
    for nxt in firsts:
        if nxt not in cost:
            cost[nxt], parent[nxt] = 0, None
            queue.append(nxt)
    while queue:
        node = queue.popleft()
        step = 1 if states[node].reported else 0
        for nxt in graph.successors[node]:
            if nxt == current:
                continue
            if cost[node] + step < cost.get(nxt, 1 << 62):
                cost[nxt], parent[nxt] = cost[node] + step, node
                (queue.appendleft if step == 0 else queue.append)(nxt)
    between: dict[str, tuple[str, ...]] = {}
    for target in cost:
        path: list[str] = []
        step_back = parent[target]
        while step_back is not None:
            path.append(step_back)
            step_back = parent[step_back]
        between[target] = tuple(reversed(path))
    return between


def _row(graph: Graph, current: str | None) -> Mapping[str, Relation]:
    d = graph.definition
    states = d.states
    ahead = _ahead(graph, current)
    # a new entity may have started at any entry: each one's nearest path, to name them all
    each = [_ahead(graph, None, (entry,)) for entry in graph.entries] if current is None else []
    behind = graph.reaching([current]) if current is not None else frozenset()
    result: dict[str, Relation] = {}
    for state in states:
        if state == current:
            result[state] = Relation(Kind.REPEATED, current, state)
            continue
        if current is None and state in graph.entries:
            result[state] = Relation(Kind.APPLIED, None, state)
            continue
        between = ahead.get(state)
        if between is None:
            kind = Kind.STALE if state in behind else Kind.ILLEGAL
            result[state] = Relation(kind, current, state)
            continue
        missing = tuple(s for s in between if states[s].reported)
        through = tuple(s for s in between if not states[s].reported)
        near = [
            tuple(s for s in found if states[s].reported)
            for found in (paths.get(state) for paths in each)
            if found is not None
        ]
        fewest = min((len(m) for m in near), default=0)
        candidates = tuple(dict.fromkeys(m for m in near if len(m) == fewest))
        if not missing:
            kind = Kind.APPLIED
        elif current is not None and graph.component[state] == graph.component[current]:
            kind = Kind.AMBIGUOUS
        else:
            kind = Kind.SKIPPED
        tied = candidates if len(candidates) > 1 else ()
        result[state] = Relation(kind, current, state, missing, through, tied)
    for alias in d.aliases.values():
        if alias.state in result:
            result[alias.name] = result[alias.state]
    for value in d.informational:
        result.setdefault(value, Relation(Kind.INFORMATIONAL, current, None))
    return MappingProxyType(result)


def row(graph: Graph, current: str | None) -> Mapping[str, Relation]:
    """Incoming status value (states, aliases and informational values) -> its relation to
    state `current` (None: a new entity). A value missing from the row is unknown.
    Computed once per state."""
    cache: dict[str | None, Mapping[str, Relation]] = graph.definition.derived.setdefault(
        "relations", {}
    )
    found = cache.get(current)
    if found is None:
        found = cache[current] = _row(graph, current)
    return found


def relation(graph: Graph, current: str | None, incoming: str) -> Relation:
    """The relation of status value `incoming` to state `current` (None: a new entity)."""
    found = row(graph, current).get(incoming)
    if found is None:
        return Relation(Kind.UNKNOWN, current, None)
    return found


def rows(graph: Graph) -> Iterator[tuple[str | None, str, Relation]]:
    """Every (current, incoming value, relation), new entities first: the whole verdict
    table, for SQL and reports (its size is states x values)."""
    for current in (None, *graph.definition.states):
        for incoming, found in row(graph, current).items():
            yield current, incoming, found
