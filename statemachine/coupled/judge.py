"""The coupled rules judged in plain Python over each entity's timeline: the reference the
generated SQL must agree with, and the judgement the runtime and the Python audit use.

An entity's timeline is its moving events (applied, skipped, ambiguous under the default
policy) in audit order, each with its time. Its status at time t is the state of the last
move at or before t; before its first move it has no status and no rule is judged against
it, and a move without a time decides nothing that needs one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

import attrs

from statemachine.coupled.tables import UNDECIDED, Coupling, FieldRule, Rule, field_rules_of
from statemachine.model.coupling import Quantity, RuleKind
from statemachine.model.definition import Definition

__all__ = ["COLUMNS", "Move", "Timeline", "Violation", "judge", "judge_fields", "status_at"]

#: the columns of a findings row, in order
COLUMNS = (
    "code",
    "rule",
    "severity",
    "parent_machine",
    "parent_id",
    "child_machine",
    "child_id",
    "parent_at",
    "child_at",
    "message",
)


@attrs.frozen
class Move:
    """One moving event: the state it moved the entity to, and when."""

    at: datetime | None
    state: str


@attrs.frozen
class Timeline:
    """One entity as the rules see it."""

    id: str
    #: its moving events in audit order
    moves: tuple[Move, ...]
    #: the columns the rules read, on its last event (any verdict)
    last: Mapping[str, str | None] = attrs.field(factory=dict)
    #: the same columns on the event that set its last status (its last move)
    settled: Mapping[str, str | None] = attrs.field(factory=dict)
    #: a child's parent id (its key column), None when it names none
    parent: str | None = None


@attrs.frozen
class Violation:
    """One broken rule: a row of `--findings` (the columns of `COLUMNS`)."""

    code: str
    rule: str
    severity: str
    parent_machine: str
    parent_id: str
    child_machine: str | None
    child_id: str | None
    parent_at: datetime | None
    child_at: datetime | None
    message: str

    def row(self) -> tuple[object, ...]:
        return attrs.astuple(self)

    def order(self) -> tuple[str, str, str, str]:
        """How findings are listed: by code, parent, child, then message."""
        return (self.code, self.parent_id, self.child_id or "", self.message)


def status_at(moves: Iterable[Move], t: datetime) -> Move | None:
    """The move that set the status at time `t` (the last move at or before it), or None."""
    found = None
    for move in moves:
        if move.at is not None and move.at <= t:
            found = move
    return found


def _start(rule: Rule, child: Timeline) -> Move | None:
    for i, move in enumerate(child.moves):
        if rule.starts(move.state, i == 0):
            return move
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class _Judge:
    """The rules of one coupling over a parent's timelines and their children's."""

    def __init__(self, coupling: Coupling, columns: Collection[str]) -> None:
        self.c = coupling
        self.columns = columns
        self.found: list[Violation] = []

    def add(
        self,
        rule: Rule,
        parent: Timeline,
        child: str | None,
        at: tuple[datetime | None, datetime | None],
        message: str,
    ) -> None:
        """A violation about `parent` and `child` (an id), `at` (parent_at, child_at)."""
        self.found.append(
            Violation(
                rule.code,
                str(rule.kind),
                str(rule.severity),
                self.c.parent.name,
                parent.id,
                self.c.child.name,
                child,
                *at,
                message,
            )
        )

    def blocks_start(self, rule: Rule, parent: Timeline, kids: list[Timeline]) -> None:
        for child in kids:
            start = _start(rule, child)
            if start is None or start.at is None:
                continue
            then = status_at(parent.moves, start.at)
            if then is not None and then.state in rule.parent_states:
                self.add(
                    rule,
                    parent,
                    child.id,
                    (then.at, start.at),
                    f"{self.c.child.name} {child.id} started ({start.state}) while "
                    f"{self.c.parent.name} {parent.id} was {then.state}",
                )

    def requires_final(self, rule: Rule, parent: Timeline, kids: list[Timeline]) -> None:
        done: set[str] = set()
        for move in parent.moves:
            if move.state not in rule.parent_states or move.at is None:
                continue
            for child in kids:
                first = child.moves[0].at
                if child.id in done or first is None or first > move.at:
                    continue
                then = status_at(child.moves, move.at)
                if then is not None and then.state not in self.c.child_final:
                    done.add(child.id)
                    self.add(
                        rule,
                        parent,
                        child.id,
                        (move.at, then.at),
                        f"{self.c.parent.name} {parent.id} entered {move.state} while "
                        f"{self.c.child.name} {child.id} was {then.state}, not final",
                    )

    def children_agree(self, rule: Rule, parent: Timeline, kids: list[Timeline]) -> None:
        end = parent.moves[-1]
        if end.state not in rule.parent_states:
            return
        reached = rule.constraint.reached
        inside = sorted(
            child.id
            for child in kids
            if (
                any(m.state in rule.child_states for m in child.moves)
                if reached
                else child.moves[-1].state in rule.child_states
            )
        )
        counted = set(inside)
        outside = sorted(child.id for child in kids if child.id not in counted)
        n, total = len(inside), len(kids)
        quantity = rule.constraint.quantity or Quantity.SOME
        example: str | None
        if quantity is Quantity.ONE:
            ok, example = n == 1, inside[0] if n > 1 else None
        elif quantity is Quantity.SOME:
            ok, example = n >= 1, None
        elif quantity is Quantity.NONE:
            ok, example = n == 0, inside[0] if inside else None
        else:
            ok, example = n == total and total > 0, outside[0] if outside else None
        if ok:
            return
        how = "reached" if reached else "ended in"
        states = ", ".join(sorted(rule.child_states))
        self.add(
            rule,
            parent,
            example,
            (end.at, None),
            f"{self.c.parent.name} {parent.id} ended {end.state} with {n} of {total} "
            f"{self.c.child.name} that {how} {states}; expected {quantity}",
        )

    def counts(self, rule: Rule, parent: Timeline, kids: list[Timeline]) -> None:
        end = parent.moves[-1]
        if end.state not in self.c.parent_final:
            return
        for label, states in sorted(rule.counters.items()):
            value = parent.last.get(label) if label in self.columns else None
            number = _number(value) if value is not None else None
            if number is None:
                continue
            n = sum(1 for child in kids if child.moves[-1].state in states)
            if number != n:
                self.add(
                    rule,
                    parent,
                    None,
                    (end.at, None),
                    f"{self.c.parent.name} {parent.id} has {label} = {value} but {n} "
                    f"{self.c.child.name} ended in a state it counts",
                )

    def matches(self, rule: Rule, parent: Timeline, kids: list[Timeline]) -> None:
        field = rule.constraint.field or ""
        value = parent.last.get(field) if field in self.columns else None
        started = [(k.moves[0].at, k.id, k) for k in kids if k.moves[0].at is not None]
        if value is None or not started:
            return
        start, _, latest = max(started, key=lambda s: (s[0], s[1]))
        final = latest.moves[-1].state
        labels = rule.labels.get(final)
        if not labels or value in labels:
            return
        self.add(
            rule,
            parent,
            latest.id,
            (parent.moves[-1].at, start),
            f"{self.c.parent.name} {parent.id} has {field} = {value} but its latest "
            f"{self.c.child.name} {latest.id} ended {final} ({', '.join(sorted(labels))})",
        )


_KINDS = {
    RuleKind.BLOCKS_START: _Judge.blocks_start,
    RuleKind.REQUIRES_FINAL: _Judge.requires_final,
    RuleKind.CHILDREN_AGREE: _Judge.children_agree,
    RuleKind.COUNTS: _Judge.counts,
    RuleKind.MATCHES: _Judge.matches,
}


def judge(
    coupling: Coupling,
    parents: Iterable[Timeline],
    children: Iterable[Timeline],
    parent_columns: Collection[str] = (),
) -> list[Violation]:
    """Every violation of the relation's rules by `parents` and their `children` (each child
    names its parent in `Timeline.parent`), ordered by `Violation.order`. `parent_columns`:
    the columns the parents' data has (a counter or a `matches` field it lacks is not
    judged). Entities without a move take part in no rule."""
    kids: dict[str, list[Timeline]] = {}
    for child in children:
        if child.moves and child.parent is not None:
            kids.setdefault(child.parent, []).append(child)
    judge = _Judge(coupling, frozenset(parent_columns))
    for parent in parents:
        if not parent.moves:
            continue
        mine = kids.get(parent.id, [])
        for rule in coupling.rules:
            _KINDS[rule.kind](judge, rule, parent, mine)
    return sorted(judge.found, key=Violation.order)


def _field_violation(
    definition: Definition, rule: FieldRule, entity: Timeline, message: str
) -> Violation:
    return Violation(
        rule.code,
        str(rule.kind),
        str(rule.severity),
        definition.name,
        entity.id,
        None,
        None,
        entity.moves[-1].at,
        None,
        message,
    )


def judge_fields(
    definition: Definition, entities: Iterable[Timeline], columns: Collection[str]
) -> list[Violation]:
    """Every violation of the machine's own field rules (field_fits, decides) whose column is
    among `columns`, judged on each entity's last status and the field's value on the event
    that set it; ordered by `Violation.order`."""
    rules = [r for r in field_rules_of(definition) if r.field in columns]
    found: list[Violation] = []
    final = frozenset(definition.final_states)
    for entity in entities:
        if not entity.moves:
            continue
        state = entity.moves[-1].state
        for rule in rules:
            value = entity.settled.get(rule.field)
            shown = value if value is not None else "(none)"
            if rule.kind is RuleKind.FIELD_FITS:
                if state in final and not rule.fits(state, value):
                    fits = ", ".join(sorted(rule.labels.get(state, ())))
                    found.append(
                        _field_violation(
                            definition,
                            rule,
                            entity,
                            f"{definition.name} {entity.id} ended {state} with {rule.field} = "
                            f"{shown}, which does not go with it ({fits or 'nothing'})",
                        )
                    )
            elif rule.decide(state, value) == UNDECIDED:
                found.append(
                    _field_violation(
                        definition,
                        rule,
                        entity,
                        f"{definition.name} {entity.id} is {state} with {rule.field} = {shown}: "
                        f"no decision among {', '.join(rule.candidates[state])}; undecided",
                    )
                )
    return sorted(found, key=Violation.order)
