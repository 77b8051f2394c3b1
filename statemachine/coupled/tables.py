"""What a relation's rules ask, as tables derived once per (parent, child) pair and shared.

The runtime, the audit engines, the SQL generator and the diagrams read these tables rather
than the rules, so every engine decides from the same sets: which parent states block a
child's start, which child states count as a start or as final, which states a counter
counts, which label a child's final status gives, which field values fit a status.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from statemachine.model.coupling import Constraint, Related, RuleKind
from statemachine.model.definition import Definition, LabelMap
from statemachine.model.finding import Severity

__all__ = ["UNDECIDED", "Coupling", "FieldRule", "Rule", "coupling_of", "field_rules_of"]

#: the outcome of an entity whose status has several candidate labels and no decision
UNDECIDED = "undecided"


def _frozen(value: Mapping[str, frozenset[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType(dict(value))


class _Compiled:
    """What every compiled rule tells about the constraint it was compiled from."""

    constraint: Constraint

    @property
    def kind(self) -> RuleKind:
        return self.constraint.kind

    @property
    def code(self) -> str:
        return self.constraint.code

    @property
    def severity(self) -> Severity:
        return self.constraint.severity


@attrs.frozen
class Rule(_Compiled):
    """One rule of a relation with the sets it is judged by.

    `parent_states`: the parent states that block a start (blocks_start), whose entry needs
    every child final (requires_final), or whose end is judged (children_agree).
    `child_states`: the child states whose entry is a start (blocks_start; empty: a child
    starts with its first move) or that are counted (children_agree). `counters` (counts):
    each label of the child's mapping that some state has -> the child states it counts.
    `labels` (matches): child state -> the labels of the child's mapping it gives."""

    constraint: Constraint
    parent_states: frozenset[str] = frozenset()
    child_states: frozenset[str] = frozenset()
    counters: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_frozen)
    labels: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_frozen)

    def starts(self, status: str, first: bool) -> bool:
        """Whether a child's move into `status` (its `first` move or not) is its start."""
        return status in self.child_states if self.child_states else first


@attrs.frozen(eq=False)
class Coupling:
    """A parent machine, one related child machine, and the relation's rules compiled."""

    parent: Definition
    child: Definition
    relation: Related
    rules: tuple[Rule, ...]
    #: the child's final states
    child_final: frozenset[str]
    #: the parent's final states
    parent_final: frozenset[str]

    @property
    def key(self) -> str:
        """The child's column holding its parent's id."""
        return self.relation.key

    def of(self, kind: RuleKind) -> tuple[Rule, ...]:
        """The rules of `kind`, in the order the relation declares them."""
        return tuple(r for r in self.rules if r.kind is kind)

    def blocked(self, parent_status: str, child_status: str, first: bool = True) -> Rule | None:
        """The first blocks_start rule a child's move into `child_status` (its `first` or a
        later move) breaks while its parent is in `parent_status`, or None."""
        for rule in self.of(RuleKind.BLOCKS_START):
            if parent_status in rule.parent_states and rule.starts(child_status, first):
                return rule
        return None


def _by_state(mapping: LabelMap | None) -> dict[str, frozenset[str]]:
    """State -> its labels in `mapping` (empty without the mapping)."""
    if mapping is None:
        return {}
    return {state: frozenset(labels) for state, labels in mapping.entries.items()}


def _counters(mapping: LabelMap | None) -> dict[str, frozenset[str]]:
    """Label -> the states it counts, for every label some state has (a label no state has,
    such as a total of every child whatever its status, is no counter of final statuses)."""
    found: dict[str, set[str]] = {}
    for state, labels in mapping.entries.items() if mapping is not None else ():
        for label in labels:
            found.setdefault(label, set()).add(state)
    return {label: frozenset(states) for label, states in found.items()}


def _compile(rule: Constraint, child: Definition) -> Rule:
    mapping = child.mappings.get(rule.mapping) if rule.mapping else None
    if rule.kind is RuleKind.COUNTS:
        return Rule(rule, counters=_counters(mapping))
    if rule.kind is RuleKind.MATCHES:
        return Rule(rule, labels=_by_state(mapping))
    return Rule(rule, frozenset(rule.states), frozenset(rule.child_states))


def coupling_of(parent: Definition, child: Definition) -> Coupling:
    """The tables of `parent`'s relation to `child` (`parent.related[child.name]`),
    computed once and kept with the parent. Raises KeyError when `parent` does not relate
    `child`."""
    cache: dict[str, Coupling] = parent.derived.setdefault("coupled", {})
    found = cache.get(child.name)
    if found is None or found.child is not child:
        relation = parent.related[child.name]
        found = cache[child.name] = Coupling(
            parent,
            child,
            relation,
            tuple(_compile(rule, child) for rule in relation.rules),
            frozenset(child.final_states),
            frozenset(parent.final_states),
        )
    return found


@attrs.frozen
class FieldRule(_Compiled):
    """A rule on a machine's own column (field_fits, decides), with its mapping's labels per
    status and, for decides, the decisions."""

    constraint: Constraint
    #: state -> the labels the mapping gives it
    labels: Mapping[str, frozenset[str]] = attrs.field(converter=_frozen)
    #: state -> the mapping's labels in their declared order (the candidates of decides)
    candidates: Mapping[str, tuple[str, ...]]

    @property
    def field(self) -> str:
        """The machine's own column the rule reads."""
        assert self.constraint.field is not None
        return self.constraint.field

    def fits(self, status: str, value: str | None) -> bool:
        """Whether `value` of the field goes with final status `status` (a null always
        does; a status the mapping leaves out takes no value)."""
        return value is None or value in self.labels.get(status, frozenset())

    def decide(self, status: str, value: str | None) -> str | None:
        """The label `value` decides for `status`: `decisions[status][value]`, else
        `decisions[status]["*"]`, else the mapping's only label for the status; `UNDECIDED`
        with several candidates and no decision; None when the mapping has no label for it."""
        decisions = self.constraint.decisions.get(status, {})
        if value is not None and value in decisions:
            return decisions[value]
        if "*" in decisions:
            return decisions["*"]
        found = self.candidates.get(status, ())
        if len(found) == 1:
            return found[0]
        return UNDECIDED if found else None


def field_rules_of(definition: Definition) -> tuple[FieldRule, ...]:
    """The machine's own field rules (field_fits, decides) with their tables, computed once
    and kept with the definition; a rule whose mapping is missing is left out (the checks
    report it)."""
    found = definition.derived.get("field_rules")
    if found is None:
        rules: list[FieldRule] = []
        for rule in definition.rules:
            mapping = definition.mappings.get(rule.mapping or "")
            if rule.field is None or mapping is None:
                continue
            rules.append(FieldRule(rule, _by_state(mapping), mapping.entries))
        found = definition.derived["field_rules"] = tuple(rules)
    assert isinstance(found, tuple)
    return found
