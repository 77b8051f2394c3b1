"""Lifecycle diagrams drawn by transitions' own diagram engines (graphviz and mermaid).

Nodes and edges come from `GraphMachine`; this module only chooses styles through its
hooks (`style_attributes`, `machine_attributes`, `set_node_style`, the edge styles) and
adds what transitions does not draw: a start marker, a legend, and for a history the
illegal step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import graphviz
from transitions.extensions import GraphMachine

from statemachine.model.definition import Definition, EvidenceKind
from statemachine.runtime.lifecycle import Lifecycle
from statemachine.runtime.machine import machine_config

__all__ = ["GROUP_COLOURS", "dot_source", "mermaid_source", "path_graph"]

#: fill colours given to groups in the order a definition declares them
GROUP_COLOURS = ("#dbeafe", "#dcfce7", "#fef3c7", "#fee2e2", "#ede9fe", "#cffafe", "#fce7f3")
_NO_GROUP = "#ffffff"
_FONT = "Helvetica"


class _Model:
    """The one model a diagram machine needs; never triggered."""


def _placeholder(name: str) -> Any:
    def guard(event: Any) -> bool:
        raise RuntimeError(f"diagram guard {name} evaluated")

    return guard


def _group_colour(d: Definition, group: str) -> str:
    return GROUP_COLOURS[list(d.groups).index(group) % len(GROUP_COLOURS)]


def _colour(d: Definition, state: str) -> str:
    own = d.states[state].groups
    return _group_colour(d, own[0]) if own else _NO_GROUP


def _style_name(d: Definition, state: str) -> str:
    s = d.states[state]
    return f"{'final' if s.final else 'state'}_{s.groups[0] if s.groups else 'none'}"


def _node_styles(d: Definition, mermaid: bool) -> dict[str, dict[str, str]]:
    """One node style per (final?, first group) pair, named as `_style_name` names it."""
    styles: dict[str, dict[str, str]] = {}
    for name, state in d.states.items():
        style = {"fillcolor": _colour(d, name), "color": "black"}
        if mermaid:
            style["stroke-width"] = "3px" if state.final else "1px"
        else:
            style.update(peripheries="2" if state.final else "1", penwidth="1.2")
        styles[_style_name(d, name)] = style
    return styles


def _inferred_pairs(d: Definition) -> set[tuple[str, str]]:
    """Edges drawn dashed: every transition between the two states is inferred."""
    kinds: dict[tuple[str, str], set[Any]] = {}
    for t in d.transitions:
        kinds.setdefault((t.source, t.dest), set()).add(t.evidence.kind if t.evidence else None)
    return {pair for pair, found in kinds.items() if found == {EvidenceKind.INFERRED}}


def _graph_machine(d: Definition, engine: Literal["graphviz", "mermaid"]) -> tuple[Any, Any]:
    """A model bound to a GraphMachine for `d`, styled, and the model's transitions graph."""
    mermaid = engine == "mermaid"
    config = machine_config(d, {name: _placeholder(name) for name in d.guards})
    if mermaid:  # mermaid cannot dash an edge: say it in the label
        for raw, t in zip(config["transitions"], d.transitions, strict=True):
            if t.evidence and t.evidence.kind is EvidenceKind.INFERRED:
                raw["label"] = f"{t.trigger} (inferred)"
    model = _Model()
    # mermaid puts the title in YAML front matter, which wants a `title:` key on one line
    title = f'title: "{d.name} - {d.title or d.name}"' if mermaid else _title(d)
    machine = GraphMachine(
        model=model, title=title, show_conditions=True, graph_engine=engine, **config
    )
    base: Any = GraphMachine.style_attributes
    nodes: dict[str, dict[str, str]] = {**base["node"], **_node_styles(d, mermaid)}
    edges: dict[str, dict[str, str]] = {
        **base["edge"],
        "inferred": {"style": "dashed", "color": "#555555"},
        "previous": {"color": "#1d4ed8", "penwidth": "2.5"},
    }
    if mermaid:
        machine.machine_attributes = {"rankdir": "LR"}
    else:
        machine.machine_attributes = {
            **GraphMachine.machine_attributes,
            "labelloc": "t",
            "fontname": _FONT,
            "fontsize": "16",
            "nodesep": "0.35",
            "ranksep": "0.9",
        }
        nodes["default"] = {**nodes["default"], "fontname": _FONT, "fontsize": "12"}
        edges["default"] = {
            **edges["default"],
            "fontname": _FONT,
            "fontsize": "10",
            "color": "#333333",
        }
    styles: Any = {"node": nodes, "edge": edges, "graph": base["graph"]}
    machine.style_attributes = styles
    graph: Any = machine.model_graphs[id(model)]
    graph.reset_styling()
    for name in d.states:
        graph.set_node_style(name, _style_name(d, name))
    if not mermaid:
        for src, dst in _inferred_pairs(d):
            graph.custom_styles["edge"][src][dst] = "inferred"
    return model, graph


def _title(d: Definition) -> str:
    subject = f"{d.object}.{d.field}" if d.object else d.field
    sources = "; ".join(f"{s.id} {s.title}" for s in d.sources) or "no provider document"
    return f"{d.name}: {d.title or d.name}\n{subject} | source: {sources}"


def _legend(d: Definition, digraph: graphviz.Digraph) -> None:
    """A legend cluster: marks, group colours, edge kinds, aliases and acknowledgements."""
    with digraph.subgraph(name="cluster_legend") as legend:
        legend.attr(label="Legend", fontname=_FONT, fontsize="11", style="rounded", color="grey")
        legend.attr(
            "node",
            shape="rectangle",
            style="rounded,filled",
            fontname=_FONT,
            fontsize="10",
            fillcolor=_NO_GROUP,
        )
        legend.node(
            "legend_start",
            label="",
            shape="circle",
            style="filled",
            fillcolor="black",
            width="0.15",
        )
        legend.node("legend_initial", label="initial state")
        legend.edge("legend_start", "legend_initial", label="start", fontsize="9")
        legend.node("legend_final", label="final state", peripheries="2")
        for key, label, style in (
            ("documented", "trigger [guard]\\ndocumented", "solid"),
            ("inferred", "inferred", "dashed"),
        ):
            legend.node(f"legend_{key}_from", label="state")
            legend.node(f"legend_{key}_to", label="state")
            legend.edge(
                f"legend_{key}_from",
                f"legend_{key}_to",
                label=label,
                style=style,
                fontname=_FONT,
                fontsize="9",
            )
        for group in d.groups.values():
            legend.node(
                f"legend_group_{group.name}",
                label=f"group: {group.title or group.name}",
                fillcolor=_group_colour(d, group.name),
            )
        notes = [f"alias {a.name} = {a.state}" for a in d.aliases.values()]
        notes += [
            f"{a.name}: acknowledgement only, never a state" for a in d.acknowledgements.values()
        ]
        if notes:
            legend.node(
                "legend_values",
                label="\\l".join(notes) + "\\l",
                shape="note",
                style="filled",
                fillcolor="#f8fafc",
            )


def _digraph(d: Definition, model: Any) -> graphviz.Digraph:
    digraph: graphviz.Digraph = model.get_graph()
    digraph.node(
        "__start__", label="", shape="circle", style="filled", fillcolor="black", width="0.2"
    )
    for entry in d.initial:
        digraph.edge("__start__", entry)
    _legend(d, digraph)
    return digraph


def dot_source(d: Definition) -> str:
    """The lifecycle as Graphviz DOT, deterministic for a given definition."""
    model, _ = _graph_machine(d, "graphviz")
    return str(_digraph(d, model).source)


def mermaid_source(d: Definition) -> str:
    """The lifecycle as a Mermaid state diagram, with final states marked `--> [*]`."""
    model, _ = _graph_machine(d, "mermaid")
    source: str = model.get_graph().source
    finals = "".join(f"\n  {name} --> [*]" for name in d.final_states)
    return source + finals + "\n"


def path_graph(d: Definition, statuses: Sequence[str]) -> tuple[graphviz.Digraph, str | None]:
    """The lifecycle with one history drawn on it: the steps taken highlighted, the state
    reached marked active, and the first illegal step as a red edge. Returns the graph and
    the rejection message, if any."""
    lc = Lifecycle(d, structural=True)
    model, graph = _graph_machine(d, "graphviz")
    steps = lc.steps(statuses)
    reached = lc.canonical(statuses[0])
    for step in steps:
        if step.move is not None:
            graph.set_previous_transition(step.move.source, step.move.dest)
            reached = step.move.dest
    graph.set_node_style(reached, "active")
    digraph = _digraph(d, model)
    bad = steps[-1] if steps and steps[-1].error else None
    if bad is None:
        return digraph, None
    digraph.edge(
        lc.canonical(bad.source),
        lc.canonical(bad.dest),
        label=f"step {bad.index}: illegal",
        color="#dc2626",
        fontcolor="#dc2626",
        penwidth="2.5",
        style="bold",
    )
    return digraph, str(bad.error)
