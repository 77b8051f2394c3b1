"""Lifecycle diagrams in Graphviz DOT, drawn by transitions' graphviz engine.

Nodes and per-state edges come from `GraphMachine`; this module chooses their styles
through its hooks and adds what transitions does not draw: a start marker per entry state,
the boxes and single edges of fan-outs (compound edges with `ltail`), a legend that names
exactly what the diagram uses, and for a history the steps taken and the illegal step.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import graphviz

from statemachine.diagrams.content import Content, EdgeKind, Look, content_of
from statemachine.diagrams.machine import graph_machine
from statemachine.graph import graph_of
from statemachine.model.definition import Definition

__all__ = ["dot_source", "node_ids", "path_graph"]

_FONT = "Helvetica"
_GREY = "#6b7280"
_STEP = "#1d4ed8"
_ILLEGAL = "#dc2626"
#: names DOT could read as a port (`:`), an escape (`\`), HTML (`<...>`) or one of our own
#: nodes (`#start0`): drawn under a generated identifier, labelled with the exact name
_UNSAFE = re.compile(r'["\\:#<>]')

_EDGE_STYLES: Mapping[EdgeKind, dict[str, str]] = {
    EdgeKind.DOCUMENTED: {},
    EdgeKind.PLAIN: {},
    EdgeKind.INFERRED: {"style": "dashed", "color": "#555555"},
    EdgeKind.UNSTATED: {"style": "dotted", "color": _GREY},
}
_STEP_STYLE = {"color": _STEP, "penwidth": "2.5", "fontcolor": _STEP}


def node_ids(d: Definition) -> dict[str, str]:
    """Each state's DOT node identifier: its name, or `#s<n>` for a name DOT would misread."""
    return {name: f"#s{i}" if _UNSAFE.search(name) else name for i, name in enumerate(d.states)}


def _text(*lines: str) -> str:
    """`lines` as DOT shows them literally (backslashes kept, never an HTML label), one
    under the other."""
    joined: str = graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))
    return joined


def _node_attrs(look: Look, reached: bool = False) -> dict[str, str]:
    style = ["rounded", "filled"] if len(look.fills) == 1 else ["striped"]
    attrs = {
        "fillcolor": ":".join(look.fills),
        "color": "black",
        "peripheries": "2" if look.final else "1",
        "penwidth": "1.2",
    }
    if not look.reported:
        style.append("dotted")
        attrs.update(color=_GREY, fontcolor=_GREY, penwidth="1.6")
    if reached:
        attrs.update(color=_ILLEGAL, penwidth="3.5", fontname=f"{_FONT}-Bold")
    attrs["style"] = ",".join(style)
    return attrs


def _columns(d: Definition) -> int:
    """About how many header characters wide the drawn graph is: Graphviz sizes a graph to
    its label, so a header of long source titles on one line would set the width (5,000 px
    for a 5-state machine). Left to right, the width grows with the ranks: the longest
    chain of moves between the graph's strongly connected components."""
    graph = graph_of(d)
    rank = dict.fromkeys(d.states, 0)
    # components are numbered successors first: the highest number has no predecessor
    for state in sorted(d.states, key=lambda s: -graph.component[s]):
        for nxt in graph.successors[state]:
            if graph.component[nxt] != graph.component[state]:
                rank[nxt] = max(rank[nxt], rank[state] + 1)
    return max(_MIN_COLUMNS, min(_MAX_COLUMNS, _COLUMNS_PER_RANK * (max(rank.values()) + 1)))


#: header characters per rank of the graph, and the narrowest and widest header
_COLUMNS_PER_RANK, _MIN_COLUMNS, _MAX_COLUMNS = 14, 42, 110


def _title(d: Definition) -> str:
    """The header: the machine, its subject and each source document, wrapped to about the
    graph's width."""
    subject = f"{d.object}.{d.field}" if d.object else d.field
    sources = [f"{s.id} {s.title}" for s in d.sources] or ["no provider document"]
    width = _columns(d)
    lines = [f"{d.name}: {d.title or d.name}", f"{subject} | source:"]
    for source in sources:
        # a word longer than a line (a URL) starts its own line and is cut there
        for line in textwrap.wrap(source, width, break_long_words=False, break_on_hyphens=False):
            lines += [line[i : i + width] for i in range(0, len(line), width)]
    return _text(*lines)


def _machine(content: Content, reached: str | None) -> tuple[Any, Any]:
    """The model and graph of a styled GraphMachine for `content`."""
    d = content.definition
    ids = node_ids(d)
    model, machine, graph = graph_machine(
        content,
        "graphviz",
        ids,
        _text,  # transitions appends `\l` to the label: never read as HTML
        lambda t: t.trigger,
        _title(d),
    )
    styles: dict[tuple[tuple[str, str], ...], str] = {}
    nodes: dict[str, dict[str, str]] = {
        "default": {"shape": "rectangle", "fontname": _FONT, "fontsize": "12"}
    }
    for name, look in content.looks.items():
        attrs = _node_attrs(look, reached=name == reached)
        key = tuple(sorted(attrs.items()))
        if key not in styles:
            styles[key] = f"n{len(styles)}"
            nodes[styles[key]] = attrs
        graph.set_node_style(ids[name], styles[key])
    edges: dict[str, dict[str, str]] = {
        "default": {"fontname": _FONT, "fontsize": "10", "color": "#333333"}
    }
    for kind, attrs in _EDGE_STYLES.items():
        edges[kind.name] = attrs
        edges[f"{kind.name}_step"] = {**attrs, **_STEP_STYLE}
    for (source, dest), kind in content.pair_kinds.items():
        graph.custom_styles["edge"][ids[source]][ids[dest]] = kind.name
    machine.style_attributes = {"node": nodes, "edge": edges, "graph": {"default": {}}}
    machine.machine_attributes = {
        "directed": "true",
        "strict": "false",
        "rankdir": "LR",
        "labelloc": "t",
        "fontname": _FONT,
        "fontsize": "16",
        "nodesep": "0.5",
        "ranksep": "0.9",
        **({"compound": "true"} if content.clusters else {}),
    }
    return model, graph


def _start_markers(d: Definition, digraph: graphviz.Digraph, ids: Mapping[str, str]) -> None:
    for i, entry in enumerate(s for s in d.initial if s in d.states):
        marker = f"#start{i}"
        digraph.node(
            marker, label="", shape="circle", style="filled", fillcolor="black", width="0.2"
        )
        digraph.edge(marker, ids[entry])


def _fanouts(content: Content, digraph: graphviz.Digraph, ids: Mapping[str, str]) -> None:
    """Each fan-out's box around its sources and its one edge leaving the box."""
    for cluster in content.clusters:
        with digraph.subgraph(name=f"cluster_{cluster.number}") as box:
            box.attr(
                label=_text(cluster.title),
                style="rounded,dashed",
                color="#94a3b8",
                fontname=_FONT,
                fontsize="11",
                fontcolor="#475569",
            )
            for member in cluster.members:
                box.node(ids[member])
    for edge in content.group_edges:
        digraph.edge(
            ids[edge.cluster.members[-1]],
            ids[edge.dest],
            label=_text(edge.label, f"({edge.note})") if edge.note else _text(edge.label),
            ltail=f"cluster_{edge.cluster.number}",
            **_EDGE_STYLES[edge.kind],
        )


def _legend(
    content: Content, digraph: graphviz.Digraph, path: bool = False, illegal: bool = False
) -> None:
    """A legend naming exactly the marks, colours and edge kinds this diagram uses."""
    d = content.definition
    with digraph.subgraph(name="cluster_legend") as legend:
        legend.attr(label="Legend", fontname=_FONT, fontsize="11", style="rounded", color="grey")
        legend.attr(
            "node",
            shape="rectangle",
            style="rounded,filled",
            fontname=_FONT,
            fontsize="10",
            fillcolor="#ffffff",
        )
        legend.attr("edge", fontname=_FONT, fontsize="9")

        def edge(key: str, label: str, **attrs: str) -> None:
            legend.node(f"#legend_{key}_from", label="state")
            legend.node(f"#legend_{key}_to", label="state")
            legend.edge(f"#legend_{key}_from", f"#legend_{key}_to", label=label, **attrs)

        legend.node(
            "#legend_start",
            label="",
            shape="circle",
            style="filled",
            fillcolor="black",
            width="0.15",
        )
        legend.node(
            "#legend_initial", label="initial state" if len(d.initial) < 2 else "entry state"
        )
        legend.edge("#legend_start", "#legend_initial", label="start")
        legend.node("#legend_final", label="final state", peripheries="2")
        if content.unreported:
            legend.node(
                "#legend_unreported",
                label="never reported\\n(inferred step)",
                **_node_attrs(_plain(reported=False)),
            )
        for kind in content.edge_kinds:
            text = "trigger [guard]" if kind is EdgeKind.PLAIN else f"trigger [guard]\\n{kind}"
            edge(kind.name, text, **_EDGE_STYLES[kind])
        if content.clusters:
            legend.node(
                "#legend_box",
                label="one edge from a dashed box:\\na move from each state in it",
                style="rounded,dashed",
                color="#94a3b8",
            )
        for group in d.groups.values():
            legend.node(
                f"#legend_group_{group.name}",
                label=_text(f"group: {group.title or group.name}"),
                fillcolor=content.group_colours[group.name][0],
            )
        several = content.several_groups
        if several is not None:
            legend.node(
                "#legend_groups",
                label="in several groups",
                style="striped",
                fillcolor=":".join(several.fills),
            )
        if path:
            legend.node("#legend_reached", label="state reached", **_node_attrs(_plain(), True))
            edge("step", "step taken", **_STEP_STYLE)
        if illegal:
            edge("illegal", "illegal step", color=_ILLEGAL, fontcolor=_ILLEGAL, penwidth="2.5")
        notes = [f"alias {a.name} = {a.state}" for a in d.aliases.values()]
        notes += [
            f"{a.name}: acknowledgement only, never a state" for a in d.acknowledgements.values()
        ]
        notes += [
            f"{a.name}: informational, ignored: the status stays" for a in d.informational.values()
        ]
        if notes:
            legend.node(
                "#legend_values",
                label="\\l".join(_text(n) for n in notes) + "\\l",
                shape="note",
                style="filled",
                fillcolor="#f8fafc",
            )


def _plain(reported: bool = True) -> Look:
    return Look(("#ffffff",), (), False, reported)


def _digraph(content: Content, model: Any) -> graphviz.Digraph:
    d = content.definition
    ids = node_ids(d)
    digraph: graphviz.Digraph = model.get_graph()
    _start_markers(d, digraph, ids)
    _fanouts(content, digraph, ids)
    return digraph


def dot_source(d: Definition) -> str:
    """The lifecycle as Graphviz DOT, deterministic for a given definition."""
    content = content_of(d)
    model, _ = _machine(content, None)
    digraph = _digraph(content, model)
    _legend(content, digraph)
    return str(digraph.source)


def path_graph(
    d: Definition,
    taken: Sequence[tuple[str, str]],
    reached: str,
    illegal: tuple[str, str, str] | None = None,
) -> graphviz.Digraph:
    """The lifecycle with one history drawn on it: the moves taken (source, dest) highlighted,
    the state reached marked, and the illegal step (source, dest, label) as a red edge."""
    content = content_of(d)
    ids = node_ids(d)
    model, graph = _machine(content, reached)
    fanned: dict[tuple[str, str], str] = {}
    for edge in content.group_edges:
        for t in edge.transitions:
            fanned[(t.source, t.dest)] = edge.label
    extra = []
    for source, dest in dict.fromkeys(taken):
        kind = content.pair_kinds.get((source, dest))
        if kind is not None:
            graph.custom_styles["edge"][ids[source]][ids[dest]] = f"{kind.name}_step"
        else:  # drawn once from a box: draw this state's own move too
            extra.append((source, dest))
    digraph = _digraph(content, model)
    for source, dest in extra:
        digraph.edge(
            ids[source], ids[dest], label=_text(fanned.get((source, dest), "")), **_STEP_STYLE
        )
    if illegal is not None:
        source, dest, label = illegal
        digraph.edge(
            ids[source],
            ids[dest],
            label=_text(label),
            color=_ILLEGAL,
            fontcolor=_ILLEGAL,
            penwidth="2.5",
            style="bold",
        )
    _legend(content, digraph, path=True, illegal=illegal is not None)
    return digraph
