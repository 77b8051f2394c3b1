"""Histories through one lifecycle, and the deliveries a real network makes of them.

A shortest history to every state and a set of histories covering every move, each with what
the provider delivers of it (its reported states) and a few perturbed deliveries (a duplicate,
neighbours swapped, a late status, a missing step): ready-made cases for webhook tests.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping

import attrs

from statemachine.graph.relation import Kind, Relation
from statemachine.graph.structure import Graph

__all__ = ["Delivery", "History", "covering_histories", "deliveries", "shortest_histories", "walk"]

_AHEAD = frozenset({Kind.APPLIED, Kind.SKIPPED, Kind.AMBIGUOUS})


def walk(graph: Graph, found: Relation) -> tuple[tuple[str, str], ...]:
    """The moves, in order, of the path a relation that lies ahead takes: from its source (or
    an entry state) through its missing and passed-through states to its destination."""
    if found.kind not in _AHEAD or found.dest is None:
        return ()
    dest = found.dest
    between = frozenset((*found.missing, *found.through))
    todo: list[tuple[str, ...]]
    if found.source is None:
        todo = [(s,) for s in graph.entries if s in between or (s == dest and not between)]
        length = len(between) + 1
    else:
        todo, length = [(found.source,)], len(between) + 2
    while todo:
        path = todo.pop()
        if path[-1] == dest:
            if len(path) == length:
                return tuple(itertools.pairwise(path))
            continue
        for nxt in graph.successors[path[-1]]:
            if nxt not in path and (nxt in between or nxt == dest):
                todo.append((*path, nxt))
    return ()


@attrs.frozen
class History:
    """A legal history from an entry state, and the statuses the provider delivers of it."""

    states: tuple[str, ...]
    #: the reported states, in order: what a webhook handler receives
    delivered: tuple[str, ...]

    @classmethod
    def of(cls, graph: Graph, states: Iterable[str]) -> History:
        path = tuple(states)
        known = graph.definition.states
        return cls(path, tuple(s for s in path if known[s].reported))


@attrs.frozen
class Delivery:
    """One way a network delivers a history: the statuses in arrival order, each with its
    position in the delivered history (1-based, usable as a provider sequence number)."""

    kind: str
    statuses: tuple[str, ...]
    seqs: tuple[int, ...]


def _parents(graph: Graph) -> dict[str, str | None]:
    """Breadth-first tree from the entry states: state -> its parent on a shortest history."""
    parent: dict[str, str | None] = dict.fromkeys(graph.entries)
    queue = deque(graph.entries)
    while queue:
        node = queue.popleft()
        for nxt in graph.successors[node]:
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return parent


def _prefix(parent: Mapping[str, str | None], state: str) -> list[str]:
    path: list[str] = []
    step: str | None = state
    while step is not None:
        path.append(step)
        step = parent[step]
    return path[::-1]


def shortest_histories(graph: Graph) -> dict[str, History]:
    """State -> a history with the fewest moves that ends in it, for every entered state."""
    parent = _parents(graph)
    return {
        state: History.of(graph, _prefix(parent, state))
        for state in graph.definition.states
        if state in parent
    }


def _onward(graph: Graph) -> dict[str, str]:
    """State -> the next state on a shortest way to a final state (finals map to nothing)."""
    nxt: dict[str, str] = {}
    seen = set(graph.definition.final_states)
    queue = deque(seen)
    while queue:
        node = queue.popleft()
        for prev in graph.predecessors[node]:
            if prev not in seen:
                seen.add(prev)
                nxt[prev] = node
                queue.append(prev)
    return nxt


def covering_histories(graph: Graph) -> tuple[History, ...]:
    """Histories that together take every move reachable from an entry state: each reaches
    the move's source the shortest way, takes it, and goes on the shortest way to a final
    state (or stops where none can be reached)."""
    parent, onward = _parents(graph), _onward(graph)
    covered: set[tuple[str, str]] = set()
    result: list[History] = []
    for source in graph.definition.states:
        if source not in parent:
            continue
        for dest in graph.successors[source]:
            if (source, dest) in covered:
                continue
            path = [*_prefix(parent, source), dest]
            while path[-1] in onward:
                path.append(onward[path[-1]])
            covered.update(itertools.pairwise(path))
            result.append(History.of(graph, path))
    return tuple(result)


def deliveries(history: History) -> tuple[Delivery, ...]:
    """The history delivered in order, then with a duplicate, two neighbours swapped, the
    first status late (after all the others), and a middle status missing: each distinct
    one that the history's length allows."""
    sent = history.delivered
    n = len(sent)
    if not n:
        return ()
    order = list(range(n))
    middle = (n - 1) // 2
    cases: list[tuple[str, list[int]]] = [
        ("in order", order),
        ("duplicate", [*order[: middle + 1], *order[middle:]]),
    ]
    if n >= 2:
        i = (n - 2) // 2
        cases.append(("swap", [*order[:i], i + 1, i, *order[i + 2 :]]))
        cases.append(("late", [*order[1:], 0]))
        cases.append(("missing", [*order[:middle], *order[middle + 1 :]]))
    result: list[Delivery] = []
    seen: set[tuple[int, ...]] = set()
    for kind, positions in cases:
        if tuple(positions) in seen:
            continue
        seen.add(tuple(positions))
        statuses = tuple(sent[p] for p in positions)
        result.append(Delivery(kind, statuses, tuple(p + 1 for p in positions)))
    return tuple(result)
