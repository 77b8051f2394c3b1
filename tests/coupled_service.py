"""What a service keeps to call a runtime `Coupling` as deliveries arrive: each entity's
status and, per parent, its children counted by current status and by every status they
reached (a callback reads the latter, as a service would query it only when needed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

from statemachine.runtime import OK, Coupling, Judgement


class Service:
    """One parent/child coupling with the statuses and counts a service keeps."""

    def __init__(self, pair: Coupling) -> None:
        self.pair = pair
        self.status: dict[tuple[bool, Hashable], str] = {}
        self.counts: dict[Hashable, Counter[str]] = {}
        self.reached: dict[Hashable, Counter[str]] = {}
        #: each child's statuses so far, and the statuses a rule calls a start (`child_states`)
        self.held: dict[Hashable, set[str]] = {}
        self.starts = {s for rule in pair.tables.rules for s in rule.child_states}

    def parent(self, entity: Hashable, new: str) -> Judgement:
        """The judgement of parent `entity` moving to `new` (a repeat is no move: OK)."""
        held = self.status.get((True, entity))
        self.status[True, entity] = new
        if held == new:
            return OK
        return self.pair.judge_move(
            held,
            new,
            self.counts.get(entity, Counter()),
            reached=lambda: self.reached.get(entity, Counter()),
        )

    def child(self, entity: Hashable, parent: Hashable, new: str) -> Judgement:
        """The judgement of child `entity` of `parent` taking status `new`: its first status
        and its first entry into a rule's `child_states` are starts; a repeat is no move."""
        held = self.status.get((False, entity))
        if held == new:
            return OK
        entered = new not in self.held.setdefault(entity, set())
        self.held[entity].add(new)
        self.status[False, entity] = new
        siblings = self.counts.setdefault(parent, Counter())
        if held is not None:
            siblings[held] -= 1
        siblings[new] += 1
        self.reached.setdefault(parent, Counter())[new] += 1
        if held is not None and not (entered and new in self.starts):
            return OK
        return self.pair.judge_start(self.status.get((True, parent)), new)
