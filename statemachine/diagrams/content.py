"""What a diagram of a lifecycle shows, whichever engine draws it.

Derived once per definition and shared by the Graphviz and the Mermaid drawing: which
transitions are drawn one per state, which fan-outs are drawn once from a box around their
sources, how each state looks (group colours, final, reported), and which kinds of evidence
the edges carry.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import attrs

from statemachine.model.definition import Definition, EvidenceKind, Transition

__all__ = [
    "GROUP_COLOURS",
    "Cluster",
    "Content",
    "EdgeKind",
    "GroupEdge",
    "Look",
    "content_of",
    "edge_label",
]

#: (fill, strong) colours given to groups in the order a definition declares them
GROUP_COLOURS = (
    ("#dbeafe", "#2563eb"),
    ("#dcfce7", "#16a34a"),
    ("#fef3c7", "#d97706"),
    ("#fee2e2", "#b91c1c"),
    ("#ede9fe", "#7c3aed"),
    ("#cffafe", "#0891b2"),
    ("#fce7f3", "#db2777"),
)
NO_GROUP = "#ffffff"


class EdgeKind(enum.StrEnum):
    """How an edge is drawn: by the evidence of the transitions it stands for."""

    DOCUMENTED = "documented"
    INFERRED = "inferred"
    #: the definition gives evidence elsewhere, but not for this transition
    UNSTATED = "no evidence given"
    #: the definition gives no evidence for any transition: nothing to distinguish
    PLAIN = "transition"


@attrs.frozen
class Look:
    """How one state is drawn."""

    #: fill colours, one per group of the state (white when it has none)
    fills: tuple[str, ...]
    #: strong colours of the state's groups, for engines that cannot stripe a fill
    strokes: tuple[str, ...]
    final: bool
    reported: bool


@attrs.frozen
class Cluster:
    """A box around states that a fan-out leaves: every state of a group, or every state
    that is not final."""

    number: int
    title: str
    members: tuple[str, ...]


@attrs.frozen
class GroupEdge:
    """One edge drawn from a cluster for the transitions that leave each of its states."""

    cluster: Cluster
    dest: str
    label: str
    kind: EdgeKind
    #: which sources have weaker evidence than `kind`, when they differ (else empty)
    note: str
    #: the transitions it stands for, one per member
    transitions: tuple[Transition, ...]


@attrs.frozen
class Content:
    """What a diagram of one definition shows."""

    definition: Definition
    #: group name -> its (fill, strong) colours
    group_colours: Mapping[str, tuple[str, str]]
    looks: Mapping[str, Look]
    #: transitions drawn one edge each (per source and destination pair)
    single: tuple[Transition, ...]
    clusters: tuple[Cluster, ...]
    group_edges: tuple[GroupEdge, ...]
    #: the kind of each (source, dest) edge drawn per state
    pair_kinds: Mapping[tuple[str, str], EdgeKind]

    @property
    def edge_kinds(self) -> tuple[EdgeKind, ...]:
        """The kinds of edge the diagram uses, in legend order."""
        used = set(self.pair_kinds.values()) | {e.kind for e in self.group_edges}
        return tuple(kind for kind in EdgeKind if kind in used)

    @property
    def several_groups(self) -> Look | None:
        """The look of the first state in several groups, if any."""
        return next((look for look in self.looks.values() if len(look.fills) > 1), None)

    @property
    def unreported(self) -> bool:
        return any(not look.reported for look in self.looks.values())


def edge_label(t: Transition) -> str:
    """`trigger [guard & guard]`, as transitions labels an edge."""
    return t.trigger + (f" [{' & '.join(t.conditions)}]" if t.conditions else "")


def _kind(kinds: Iterable[EvidenceKind | None], evidenced: bool) -> EdgeKind:
    """The strongest evidence among the transitions an edge stands for."""
    found = set(kinds)
    if not evidenced:
        return EdgeKind.PLAIN
    if EvidenceKind.DOCUMENTED in found:
        return EdgeKind.DOCUMENTED
    if EvidenceKind.INFERRED in found:
        return EdgeKind.INFERRED
    return EdgeKind.UNSTATED


def _looks(d: Definition, colour: Mapping[str, tuple[str, str]]) -> dict[str, Look]:
    looks = {}
    for name, state in d.states.items():
        colours = [colour[g] for g in state.groups if g in colour]
        looks[name] = Look(
            tuple(fill for fill, _ in colours) or (NO_GROUP,),
            tuple(strong for _, strong in colours),
            state.final,
            state.reported,
        )
    return looks


def _candidates(d: Definition) -> dict[frozenset[str], str]:
    """Source sets drawn as one box, with the box's title: the states of each group that can
    be left (its non-final states), then every non-final state."""
    found: dict[frozenset[str], str] = {}
    for group in d.groups.values():
        members = frozenset(
            name for name, s in d.states.items() if group.name in s.groups and not s.final
        )
        if len(members) > 1:
            found.setdefault(members, group.title or group.name)
    open_states = frozenset(name for name, s in d.states.items() if not s.final)
    if len(open_states) > 1:
        found.setdefault(open_states, "every state not final")
    return found


def _notes(ts: Iterable[Transition], kind: EdgeKind, evidenced: bool) -> str:
    """For an edge whose transitions differ in evidence: which sources have weaker evidence
    than the edge is drawn with (`inferred from initiated, sent`)."""
    weaker: dict[EdgeKind, list[str]] = {}
    for t in ts:
        own = _kind([t.evidence.kind if t.evidence else None], evidenced)
        if own is not kind:
            weaker.setdefault(own, []).append(t.source)
    return "; ".join(f"{k} from {', '.join(names)}" for k, names in weaker.items())


def _build(d: Definition) -> Content:
    evidenced = any(t.evidence is not None for t in d.transitions)
    # transitions drawn alike (label and destination) form a bundle
    bundles: dict[tuple[str, str], list[Transition]] = {}
    for t in d.transitions:
        bundles.setdefault((edge_label(t), t.dest), []).append(t)
    candidates = _candidates(d)
    clusters: dict[frozenset[str], Cluster] = {}
    collapsed: dict[int, GroupEdge] = {}
    for (label, dest), ts in bundles.items():
        sources = frozenset(t.source for t in ts)
        title = candidates.get(sources)
        if title is None or dest in sources or len(ts) != len(sources):
            continue
        cluster = clusters.get(sources)
        if cluster is None:
            if any(sources & other for other in clusters):
                continue  # Graphviz clusters and Mermaid composites do not overlap
            members = tuple(name for name in d.states if name in sources)
            cluster = clusters[sources] = Cluster(len(clusters), title, members)
        kind = _kind((t.evidence.kind if t.evidence else None for t in ts), evidenced)
        note = _notes(ts, kind, evidenced)
        edge = GroupEdge(cluster, dest, label, kind, note, tuple(ts))
        for t in ts:
            collapsed[id(t)] = edge
    single = tuple(t for t in d.transitions if id(t) not in collapsed)
    kinds: dict[tuple[str, str], list[EvidenceKind | None]] = {}
    for t in single:
        kinds.setdefault((t.source, t.dest), []).append(t.evidence.kind if t.evidence else None)
    group_edges = tuple({id(e): e for e in collapsed.values()}.values())
    colours = {g: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(d.groups)}
    return Content(
        d,
        colours,
        _looks(d, colours),
        single,
        tuple(clusters.values()),
        group_edges,
        {pair: _kind(found, evidenced) for pair, found in kinds.items()},
    )


def content_of(d: Definition) -> Content:
    """What a diagram of `d` shows, computed once and kept with the definition."""
    found = d.derived.get("diagram")
    if found is None:
        found = d.derived["diagram"] = _build(d)
    assert isinstance(found, Content)
    return found
