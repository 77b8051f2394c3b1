"""The transitions `GraphMachine` that draws a lifecycle's states and per-state edges.

States reach the engine under identifiers it accepts (`ids`) with the exact name as their
label; the engines' own escaping of labels is applied by the caller (`label`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from transitions import State
from transitions.extensions import GraphMachine

from statemachine.diagrams.content import Content
from statemachine.model.definition import Transition

__all__ = ["graph_machine"]


class _Model:
    """The one model a diagram machine needs; never triggered."""


def _placeholder(name: str) -> Any:
    def guard(event: Any) -> bool:
        raise RuntimeError(f"diagram guard {name} evaluated")

    guard.__name__ = guard.__qualname__ = name
    return guard


def graph_machine(
    content: Content,
    engine: Literal["graphviz", "mermaid"],
    ids: Mapping[str, str],
    label: Callable[[str], str],
    edge_label: Callable[[Transition], str],
    title: str,
) -> tuple[Any, Any, Any]:
    """A model, the GraphMachine drawing `content`'s states and single edges for it (whose
    styles the caller sets), and the model's graph."""
    d = content.definition
    states = []
    for name, state in d.states.items():
        drawn = State(ids[name], final=state.final)
        drawn.label = label(name)  # type: ignore[attr-defined]  # read by transitions' markup
        states.append(drawn)
    transitions = [
        {
            "trigger": t.trigger,
            "source": ids[t.source],
            "dest": ids[t.dest],
            "conditions": [_placeholder(c) for c in t.conditions],
            "label": edge_label(t),
        }
        for t in content.single
    ]
    model = _Model()
    machine = GraphMachine(
        model=model,
        states=states,
        transitions=transitions,
        initial=ids[d.start] if d.start is not None else None,
        model_attribute=d.field,
        auto_transitions=False,
        send_event=True,
        name=d.name,
        title=title,
        show_conditions=True,
        graph_engine=engine,
    )
    return model, machine, machine.model_graphs[id(model)]
