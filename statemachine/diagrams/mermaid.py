"""Lifecycle diagrams as Mermaid state diagrams, drawn by transitions' mermaid engine.

Mermaid has no dashed edges, striped fills or compound edges, so: evidence is said in the
edge label, a state in several groups gets a border in its second group's colour, and a
fan-out is one edge from a composite state around its sources.
"""

from __future__ import annotations

import json
import re

from statemachine.diagrams.content import Content, EdgeKind, Look, content_of
from statemachine.diagrams.machine import graph_machine
from statemachine.model.definition import Definition, Transition

__all__ = ["mermaid_source", "mermaid_text", "node_ids"]

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: identifiers Mermaid's state grammar or its JavaScript objects treat specially
_RESERVED = frozenset(
    {
        "as",
        "class",
        "classdef",
        "click",
        "constructor",
        "default",
        "direction",
        "end",
        "hide",
        "note",
        "prototype",
        "scale",
        "state",
        "style",
        "__proto__",
    }
)
_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
_ENTITY = re.compile('[#"<>&]')


def mermaid_text(s: str) -> str:
    """`s` shown literally in a Mermaid label: its markup characters as entity codes."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group()], s)


def node_ids(d: Definition) -> dict[str, str]:
    """Each state's Mermaid identifier: its name when Mermaid reads it as a plain identifier,
    else `s<n>_` (made unique); the exact name is the state's label."""
    ids = {
        name: name for name in d.states if _PLAIN.fullmatch(name) and name.lower() not in _RESERVED
    }
    used = set(ids.values())
    for i, name in enumerate(d.states):
        if name not in ids:
            made = f"s{i}_"
            while made in used:
                made += "_"
            ids[name] = made
            used.add(made)
    return {name: ids[name] for name in d.states}


def _style(look: Look) -> dict[str, str]:
    style = {"fill": look.fills[0], "color": "black", "stroke": "black", "stroke-width": "1px"}
    if look.final:
        style["stroke-width"] = "3px"
    if len(look.strokes) > 1:
        style.update({"stroke": look.strokes[1], "stroke-width": "4px"})
    if not look.reported:
        style.update({"color": "#6b7280", "stroke-dasharray": "4 3"})
        if len(look.strokes) < 2:
            style["stroke"] = "#6b7280"
    return style


def _label(t: Transition, kind: EdgeKind) -> str:
    suffix = f" ({kind})" if kind in (EdgeKind.INFERRED, EdgeKind.UNSTATED) else ""
    return mermaid_text(t.trigger) + suffix


def _unique(base: str, used: set[str]) -> str:
    while base in used:
        base += "_"
    used.add(base)
    return base


def _composites(content: Content, ids: dict[str, str]) -> list[str]:
    """Each fan-out's composite state around its sources, and its one edge."""
    lines: list[str] = []
    used = set(ids.values())
    names = {c.number: _unique(f"box{c.number}", used) for c in content.clusters}
    for cluster in content.clusters:
        box = names[cluster.number]
        lines.append(f'state "{mermaid_text(cluster.title)}" as {box}')
        lines.append(f"state {box} {{")
        lines += [f"  {ids[m]}" for m in cluster.members]
        lines.append("}")
    for edge in content.group_edges:
        label = mermaid_text(edge.label)
        if edge.kind in (EdgeKind.INFERRED, EdgeKind.UNSTATED):
            label += f" ({edge.kind})"
        if edge.note:
            label += f" ({mermaid_text(edge.note)})"
        lines.append(f"{names[edge.cluster.number]} --> {ids[edge.dest]}: {label}")
    return lines


def mermaid_source(d: Definition) -> str:
    """The lifecycle as a Mermaid state diagram: a start for each entry state, final states
    marked `--> [*]`, deterministic for a given definition."""
    content = content_of(d)
    ids = node_ids(d)
    kinds = content.pair_kinds
    # Mermaid reads the title from YAML front matter: a JSON string is a YAML scalar
    title = "title: " + json.dumps(f"{d.name} - {d.title or d.name}", ensure_ascii=False)
    model, machine, graph = graph_machine(
        content,
        "mermaid",
        ids,
        mermaid_text,
        lambda t: _label(t, kinds[(t.source, t.dest)]),
        title,
    )
    styles: dict[tuple[tuple[str, str], ...], str] = {}
    nodes: dict[str, dict[str, str]] = {}
    for name, look in content.looks.items():
        style = _style(look)
        key = tuple(style.items())
        if key not in styles:
            styles[key] = f"n{len(styles)}"
            nodes[styles[key]] = style
        graph.set_node_style(ids[name], styles[key])
    machine.style_attributes = {"node": nodes, "edge": {}, "graph": {}}
    machine.machine_attributes = {"rankdir": "LR"}
    source: str = model.get_graph().source
    extra = _composites(content, ids)
    extra += [f"[*] --> {ids[s]}" for s in d.initial[1:] if s in d.states]
    extra += [f"{ids[name]} --> [*]" for name in d.final_states]
    return source + "".join(f"\n  {line}" for line in extra) + "\n"
