"""The shape of one lifecycle: moves, reachability and strongly connected components."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from statemachine.model.definition import Definition

__all__ = ["Graph", "graph_of", "reachable"]


def reachable(start: Iterable[str], successors: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Every state reachable from `start` along `successors`, `start` included."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in successors.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def _components(states: Iterable[str], successors: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """Tarjan's strongly connected components, iteratively (no recursion limit): state ->
    component number, numbered in reverse topological order (a component's successors first)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = found = 0
    for root in states:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, i = work[-1]
            nexts = successors.get(node, ())
            if i < len(nexts):
                work[-1] = (node, i + 1)
                nxt = nexts[i]
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = found
                    if member == node:
                        break
                found += 1
    return component


@attrs.frozen(eq=False)
class Graph:
    """One definition's moves between declared states, with what is derived from them.

    Built once per definition (`graph_of`) and shared by the checks, the runtime, the audit,
    the SQL generator and the diagrams. Guards are ignored: this is the structure.
    """

    definition: Definition
    #: state -> the distinct states one move away, in the definition's order
    successors: Mapping[str, tuple[str, ...]]
    predecessors: Mapping[str, tuple[str, ...]]
    #: state -> its strongly connected component (reverse topological numbering)
    component: Mapping[str, int]
    #: states on a cycle (a component of several states, or a self-loop)
    cyclic: frozenset[str]

    @classmethod
    def build(cls, definition: Definition) -> Graph:
        known = definition.states
        forward: dict[str, dict[str, None]] = {name: {} for name in known}
        backward: dict[str, dict[str, None]] = {name: {} for name in known}
        for t in definition.transitions:
            if t.source in known and t.dest in known:
                forward[t.source][t.dest] = None
                backward[t.dest][t.source] = None
        successors = {name: tuple(nexts) for name, nexts in forward.items()}
        component = _components(known, successors)
        sizes: dict[int, int] = {}
        for number in component.values():
            sizes[number] = sizes.get(number, 0) + 1
        cyclic = frozenset(
            name for name, number in component.items() if sizes[number] > 1 or name in forward[name]
        )
        return cls(
            definition,
            MappingProxyType(successors),
            MappingProxyType({name: tuple(prev) for name, prev in backward.items()}),
            MappingProxyType(component),
            cyclic,
        )

    @property
    def acyclic(self) -> bool:
        """No state can be entered twice in one history."""
        return not self.cyclic

    @property
    def entries(self) -> tuple[str, ...]:
        """The declared entry states a new entity may start in."""
        return tuple(s for s in self.definition.initial if s in self.definition.states)

    def reachable_from(self, start: Iterable[str]) -> frozenset[str]:
        """Every state some history from `start` can reach, `start` included."""
        return reachable(start, self.successors)

    def reaching(self, targets: Iterable[str]) -> frozenset[str]:
        """Every state from which some state of `targets` can be reached, `targets` included."""
        return reachable(targets, self.predecessors)

    @property
    def entered(self) -> frozenset[str]:
        """The states a history from an entry state can reach."""
        return self.reachable_from(self.entries)

    @property
    def finishing(self) -> frozenset[str]:
        """The states from which a final state can be reached."""
        return self.reaching(self.definition.final_states)


def graph_of(definition: Definition) -> Graph:
    """The graph of `definition`, computed once and kept with it."""
    found = definition.derived.get("graph")
    if found is None:
        found = definition.derived["graph"] = Graph.build(definition)
    assert isinstance(found, Graph)
    return found
