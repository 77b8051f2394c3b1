"""The system view of a parent machine: it and each machine related to it, one cluster each,
and every rule between them drawn as a note wired to the states it names.

Only what the rules say is drawn (the lifecycles' own moves are in each machine's diagram):
the parent's states on the left, its rules in the middle, each child's states on the right;
an edge from the parent's cluster to the child's carries the key the child's rows hold.
Rules on a machine's own fields are a note inside its cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import attrs
import graphviz

from statemachine.diagrams.content import GROUP_COLOURS
from statemachine.diagrams.mermaid import mermaid_text
from statemachine.model.coupling import Constraint, RuleKind
from statemachine.model.definition import Definition

__all__ = ["System", "system_dot", "system_mermaid", "system_of"]

_FONT = "Helvetica"
_GREY = "#6b7280"


@attrs.frozen
class System:
    """A parent and the machines related to it (None where one is not loaded)."""

    parent: Definition
    children: Mapping[str, Definition | None]

    @property
    def rules(self) -> list[tuple[str, Constraint]]:
        """Every rule of every relation, with its child machine's name, in file order."""
        return [(r.machine, c) for r in self.parent.related.values() for c in r.rules]

    def colour(self, i: int) -> str:
        """The colour rule `i` is drawn in."""
        return GROUP_COLOURS[i % len(GROUP_COLOURS)][1]

    def named(self) -> dict[str, set[str]]:
        """The states each machine's rules name (drawn emphasised)."""
        names: dict[str, set[str]] = {self.parent.name: set()}
        for child, c in self.rules:
            names[self.parent.name].update(c.states)
            names.setdefault(child, set()).update(c.child_states)
        return names


def system_of(d: Definition, machines: Mapping[str, Definition]) -> System | None:
    """The system view of `d` (None when it relates to no machine)."""
    if not d.related:
        return None
    return System(d, {name: machines.get(name) for name in d.related})


#: what each kind says, in a few words, between the states on its left and right
_MEANING = {
    RuleKind.BLOCKS_START: "no child may start while the parent is in",
    RuleKind.REQUIRES_FINAL: "entering it needs every started child final",
    RuleKind.CHILDREN_AGREE: "a parent ending here has {quantity} of its children {where}",
    RuleKind.COUNTS: "the parent's counters = its children per label of",
    RuleKind.MATCHES: "the parent's {field} = its latest child's label in",
    RuleKind.FIELD_FITS: "a final status's {field} is one of its labels in",
    RuleKind.DECIDES: "{field} decides the status's label in",
}


def _rule_text(c: Constraint) -> list[str]:
    """A rule as short lines: code and kind, what it says, and the mapping it reads."""
    head = f"{c.code} {c.kind}" + (f" ({c.severity})" if c.severity != "error" else "")
    where = "that ever reached" if c.reached else "ending in"
    meaning = _MEANING[c.kind].format(quantity=c.quantity, field=c.field, where=where)
    started = ["(a start: entering the child's state on the right)"] if c.child_states else []
    if c.kind is not RuleKind.BLOCKS_START:
        started = []
    return [head, meaning, *started, *([f"mapping {c.mapping}"] if c.mapping else [])]


def _dot_text(lines: list[str]) -> str:
    joined: str = graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))
    return joined


def _dot_id(machine: str, state: str) -> str:
    return json.dumps([machine, state])


def _dot_cluster(
    graph: graphviz.Digraph, i: int, name: str, d: Definition | None, named: set[str]
) -> str:
    """A machine's cluster with its states; returns the node a cluster edge attaches to."""
    anchor = _dot_id(name, "")
    with graph.subgraph(name=f"cluster_{i}") as box:
        title = f"{name}: {d.title}" if d is not None and d.title else name
        # one column per machine: its states one under the other
        box.attr(
            label=_dot_text([title]), style="rounded", color="#334155", fontsize="13", rank="same"
        )
        box.node(anchor, label="", shape="point", width="0.01", style="invis")
        for state in d.states.values() if d is not None else ():
            emphasis = {"fillcolor": "#e2e8f0", "penwidth": "1.6"} if state.name in named else {}
            box.node(
                _dot_id(name, state.name),
                label=_dot_text([state.name]),
                peripheries="2" if state.final else "1",
                **{"fillcolor": "#ffffff", "color": "black" if emphasis else _GREY, **emphasis},
            )
        for j, c in enumerate(d.rules if d is not None else ()):
            box.node(
                _dot_id(name, f"#own{j}"),
                label=_dot_text(_rule_text(c)),
                shape="note",
                style="filled",
                fillcolor="#fefce8",
                fontsize="10",
            )
    return anchor


def system_dot(system: System) -> str:
    """The system view as Graphviz DOT, deterministic for the given definitions."""
    parent = system.parent
    graph = graphviz.Digraph(name=f"{parent.name} system")
    graph.attr(
        rankdir="LR",
        compound="true",
        newrank="true",
        fontname=_FONT,
        labelloc="t",
        fontsize="16",
        nodesep="0.25",
        ranksep="1.1",
        label=_dot_text([f"{parent.name}: related machines and the rules between them"]),
    )
    graph.attr("node", shape="rectangle", style="rounded,filled", fontname=_FONT, fontsize="11")
    graph.attr("edge", fontname=_FONT, fontsize="10", arrowsize="0.7")
    named = system.named()
    anchors = {parent.name: _dot_cluster(graph, 0, parent.name, parent, named[parent.name])}
    clusters = {name: f"cluster_{i}" for i, name in enumerate(system.children, start=1)}
    for i, (name, child) in enumerate(system.children.items(), start=1):
        anchors[name] = _dot_cluster(graph, i, name, child, named.get(name, set()))
        related = parent.related[name]
        graph.edge(
            anchors[parent.name],
            anchors[name],
            label=_dot_text([f"1 to many: {name}.{related.key}"]),
            ltail="cluster_0",
            lhead=clusters[name],
            style="bold",
            color="#334155",
            constraint="false",
        )
    for k, (child_name, c) in enumerate(system.rules):
        colour = system.colour(k)
        node = f"#rule{k}"
        graph.node(
            node,
            label=_dot_text(_rule_text(c)),
            shape="note",
            style="filled",
            fillcolor="#ffffff",
            color=colour,
            fontcolor=colour,
            penwidth="1.5",
        )
        wired = {"color": colour, "style": "dashed", "arrowhead": "none"}
        for state in c.states:
            graph.edge(_dot_id(parent.name, state), node, **wired)
        for state in c.child_states:
            graph.edge(node, _dot_id(child_name, state), **wired)
        if not c.child_states:
            # no child state named: the rule reads the child's final status (or its mapping)
            graph.edge(node, anchors[child_name], lhead=clusters[child_name], **wired)
        if not c.states:
            graph.edge(anchors[parent.name], node, ltail="cluster_0", **wired)
    return str(graph.source)


def _mermaid_text(lines: list[str]) -> str:
    """Lines as one quoted Mermaid label (markup characters as entity codes)."""
    return '"' + "<br>".join(mermaid_text(line) for line in lines) + '"'


def system_mermaid(system: System) -> str:
    """The system view as a Mermaid flowchart: a subgraph per machine, a node per rule."""
    parent = system.parent
    title = json.dumps(f"{parent.name} - related machines and the rules between them")
    lines = ["---", f"title: {title}", "---", "flowchart LR"]
    named = system.named()
    machines: dict[str, Definition | None] = {parent.name: parent, **system.children}
    # generated identifiers: a machine `m<i>`, its states `m<i>s<j>`; names are labels only
    ids = {name: f"m{i}" for i, name in enumerate(machines)}
    states = {
        (name, state): f"{ids[name]}s{j}"
        for name, d in machines.items()
        for j, state in enumerate(d.states if d is not None else ())
    }
    for name, d in machines.items():
        lines.append(f"  subgraph {ids[name]}[{_mermaid_text([name])}]")
        lines.append("    direction TB")
        for state in d.states.values() if d is not None else ():
            node = states[(name, state.name)]
            shape = ("(((", ")))") if state.final else ("(", ")")
            lines.append(f"    {node}{shape[0]}{_mermaid_text([state.name])}{shape[1]}")
            if state.name in named.get(name, set()):
                lines.append(f"    style {node} stroke-width:3px")
        for j, c in enumerate(d.rules if d is not None else ()):
            lines.append(f"    {ids[name]}own{j}[{_mermaid_text(_rule_text(c))}]")
        lines.append("  end")
    for name, related in parent.related.items():
        key = _mermaid_text([f"1 to many: {name}.{related.key}"])
        lines.append(f"  {ids[parent.name]} == {key} ==> {ids[name]}")
    for k, (child_name, c) in enumerate(system.rules):
        node = f"rule{k}"
        lines.append(f"  {node}[{_mermaid_text(_rule_text(c))}]")
        lines.append(f"  style {node} stroke:{system.colour(k)},stroke-width:2px")
        lines += [f"  {states[(parent.name, s)]} -.- {node}" for s in c.states]
        lines += [f"  {node} -.- {states[(child_name, s)]}" for s in c.child_states]
        if not c.child_states:
            lines.append(f"  {node} -.- {ids[child_name]}")
        if not c.states:
            lines.append(f"  {ids[parent.name]} -.- {node}")
    return "\n".join(lines) + "\n"
