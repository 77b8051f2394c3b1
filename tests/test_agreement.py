"""The status style and the trigger style never disagree, on every bundled machine.

The trigger side fires real triggers on real models attached to the transitions machine,
over every combination of guard outcomes; the status side asks the derived lookup.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine import bundled_dir, load_registry
from statemachine.runtime import Lifecycle

REGISTRY = load_registry([bundled_dir()])
NAMES = sorted(REGISTRY.machines)


class Model:
    def __init__(self, allow: dict[str, bool]) -> None:
        self.allow = allow


@cache
def lifecycle(name: str) -> Lifecycle:
    """Guards read their outcome from the model, so a test can choose it."""
    definition = REGISTRY.machines[name]
    guards = {g: (lambda n: lambda event: event.model.allow[n])(g) for g in definition.guards}
    return Lifecycle(definition, guards)


@cache
def trigger_reachable(name: str, state: str) -> frozenset[str]:
    lc = lifecycle(name)
    guards = sorted(lc.definition.guards)
    reached = set()
    for outcome in itertools.product([True, False], repeat=len(guards)):
        for trigger in lc.machine.get_triggers(state):
            model = lc.attach(Model(dict(zip(guards, outcome, strict=True))), initial=state)
            try:
                if getattr(model, trigger)():
                    reached.add(getattr(model, lc.field))
            finally:
                lc.detach(model)
    return frozenset(reached)


def test_there_are_bundled_machines_to_compare():
    assert "dialnexa.call" in NAMES


def test_every_pair_agrees_exhaustively():
    disagreements = []
    for name in NAMES:
        lc = lifecycle(name)
        for src in lc.definition.states:
            reached = trigger_reachable(name, src)
            for dst in lc.definition.states:
                if lc.is_allowed(src, dst) != (dst in reached):
                    disagreements.append((name, src, dst))
    assert disagreements == []


@st.composite
def machine_and_states(draw: Any, size: tuple[int, int]) -> tuple[str, list[str]]:
    name = draw(st.sampled_from(NAMES))
    states = sorted(REGISTRY.machines[name].states)
    return name, draw(st.lists(st.sampled_from(states), min_size=size[0], max_size=size[1]))


@settings(max_examples=400, deadline=None)
@given(machine_and_states((2, 2)))
def test_random_pairs_agree(case: tuple[str, list[str]]) -> None:
    name, (src, dst) = case
    assert lifecycle(name).is_allowed(src, dst) == (dst in trigger_reachable(name, src))


@settings(max_examples=400, deadline=None)
@given(machine_and_states((1, 8)))
def test_random_sequences_agree(case: tuple[str, list[str]]) -> None:
    name, history = case
    expected = None
    for i in range(1, len(history)):
        if history[i] not in trigger_reachable(name, history[i - 1]):
            expected = i
            break
    step = lifecycle(name).check_sequence(history)
    assert (step.index if step else None) == expected


@settings(max_examples=200, deadline=None)
@given(machine_and_states((2, 8)))
def test_legal_walks_are_accepted(case: tuple[str, list[str]]) -> None:
    """Random sequences are mostly illegal; also walk the trigger side and replay it."""
    name, seeds = case
    lc = lifecycle(name)
    walk = [lc.initial]
    for seed in seeds:
        options = sorted(trigger_reachable(name, walk[-1]))
        if not options:
            break
        walk.append(options[sum(map(ord, seed)) % len(options)])
    assert lc.check_sequence(walk) is None
