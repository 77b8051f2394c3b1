"""Checks on the shape of the lifecycle graph."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from statemachine.checks.finding import Finding
from statemachine.checks.rule import Context, check
from statemachine.graph import graph_of
from statemachine.model.definition import Transition

__all__: list[str] = []


@check("SM030", "unreachable-state")
def unreachable_state(ctx: Context) -> Iterator[Finding]:
    """Every state must be reachable from an entry state; an unreachable one is either
    a missing transition or a state that does not belong in this lifecycle."""
    d = ctx.definition
    graph = graph_of(d)
    if not graph.entries or len(graph.entries) != len(d.initial):
        return
    seen = graph.entered
    entry = "the initial state" if len(d.initial) == 1 else "any of the entry states"
    entries = ", ".join(map(repr, d.initial))
    for name, state in d.states.items():
        if name not in seen:
            yield unreachable_state.at(
                state.location,
                f"state '{name}' cannot be reached from {entry} {entries}; "
                "add a transition into it or remove it",
            )


@check("SM031", "no-way-out")
def no_way_out(ctx: Context) -> Iterator[Finding]:
    """From every non-final state some final state must be reachable, or an entity that
    enters it is stuck for ever."""
    d = ctx.definition
    finals = d.final_states
    can_finish = graph_of(d).finishing
    for name, state in d.states.items():
        if name not in can_finish:
            what = "no final state exists" if not finals else "no final state can be reached"
            yield no_way_out.at(
                state.location,
                f"from non-final state '{name}' {what}; add a transition towards a final "
                "state or mark it `final: true`",
            )


@check("SM032", "final-has-exit")
def final_has_exit(ctx: Context) -> Iterator[Finding]:
    """A final state is final: no transition may leave it (a late webhook must not turn a
    completed call back into initiated)."""
    d = ctx.definition
    for t in d.transitions:
        state = d.states.get(t.source)
        if state is not None and state.final:
            yield final_has_exit.at(
                t.where("source"),
                f"transition '{t.trigger}' leaves final state '{t.source}'; "
                f"remove it or make '{t.source}' non-final",
            )


@check("SM033", "nondeterministic")
def nondeterministic(ctx: Context) -> Iterator[Finding]:
    """For one trigger and source, every transition but the last must have conditions:
    otherwise the first unconditional one always wins and the destination is ambiguous."""
    by_key: dict[tuple[str, str], list[Transition]] = defaultdict(list)
    for t in ctx.definition.transitions:
        by_key[(t.trigger, t.source)].append(t)
    for (trigger, source), group in by_key.items():
        dests = sorted({t.dest for t in group})
        if len(dests) < 2:
            continue
        leads = ", ".join(dests)
        for t in group[:-1]:
            if not t.conditions:
                yield nondeterministic.at(
                    t.where("trigger"),
                    f"trigger '{trigger}' from '{source}' leads to {leads} and this "
                    f"transition to '{t.dest}' has no condition to choose; add `conditions` "
                    "or rename one trigger",
                )


@check("SM034", "duplicate-transition")
def duplicate_transition(ctx: Context) -> Iterator[Finding]:
    """The same trigger, source, destination and conditions may be listed once."""
    seen: dict[tuple[str, str, str, tuple[str, ...]], Transition] = {}
    for t in ctx.definition.transitions:
        key = (t.trigger, t.source, t.dest, t.conditions)
        first = seen.setdefault(key, t)
        if first is not t:
            yield duplicate_transition.at(
                t.where("source"),
                f"transition '{t.trigger}' from '{t.source}' to '{t.dest}' repeats the one at "
                f"line {first.location.line}; remove one",
            )
