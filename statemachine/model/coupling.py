"""Coupled lifecycles: how one machine's rows relate to another's, and the rules between them.

A parent machine (a batch) names its related child machines (its calls) and the column the
child's rows carry the parent's id in (`batch_id`); each relation holds rules from a small
closed vocabulary. Rules on one machine's own fields (an `end_reason` that must fit the
status) stand in the definition's own `rules`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from statemachine.model.definition import Evidence
from statemachine.model.finding import Severity
from statemachine.model.location import Location

__all__ = ["CODES", "Constraint", "Quantity", "Related", "RuleKind"]

_NOWHERE = Location("<memory>")


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _decisions(value: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({status: _frozen_map(labels) for status, labels in value.items()})


def _tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class RuleKind(enum.StrEnum):
    """The closed vocabulary of rules; each kind has one stable violation code (`CODES`)."""

    #: the child may not start while the parent is in one of `states` (judged by time)
    BLOCKS_START = "blocks_start"
    #: the parent may enter one of `states` only when every child is final at that time
    REQUIRES_FINAL = "requires_final"
    #: a parent that ends in one of `states` has `quantity` children in `child_states`
    CHILDREN_AGREE = "children_agree"
    #: each label of the child's `mapping` that is a parent column equals its children's count
    COUNTS = "counts"
    #: the parent's column `field` equals the child's `mapping` label of the child's final status
    MATCHES = "matches"
    #: the machine's own column `field` holds a label `mapping` gives its final status
    FIELD_FITS = "field_fits"
    #: the machine's own column `field` decides the label of `mapping` (`decisions`)
    DECIDES = "decides"


#: the stable code a violation of each rule kind carries (also the PostgreSQL SQLSTATE)
CODES: Mapping[RuleKind, str] = MappingProxyType(
    {
        RuleKind.BLOCKS_START: "SM201",
        RuleKind.REQUIRES_FINAL: "SM202",
        RuleKind.CHILDREN_AGREE: "SM203",
        RuleKind.COUNTS: "SM204",
        RuleKind.MATCHES: "SM205",
        RuleKind.FIELD_FITS: "SM206",
        RuleKind.DECIDES: "SM207",
    }
)


class Quantity(enum.StrEnum):
    """How many of a parent's children a `children_agree` rule asks for."""

    #: exactly one child
    ONE = "one"
    #: at least one child
    SOME = "some"
    #: no child
    NONE = "none"
    #: every child (and at least one)
    ALL = "all"


@attrs.frozen
class Constraint:
    """One rule of the closed vocabulary, with its severity and evidence.

    Which fields a kind uses: `states` (parent states: blocks_start, requires_final,
    children_agree), `child_states` (blocks_start: the child states whose entry counts as a
    start, default the child's entry states; children_agree: the states counted), `reached`
    (children_agree: count children that ever reached `child_states`, not only those that
    ended there), `quantity` (children_agree), `field` (matches: the parent's column;
    field_fits, decides: the machine's own column), `mapping` (counts, matches: the child's
    mapping; field_fits, decides: the machine's own), `decisions` (decides: status -> field
    value -> label, `*` for any other value)."""

    kind: RuleKind = attrs.field(converter=RuleKind)
    states: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    child_states: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    reached: bool = False
    quantity: Quantity | None = attrs.field(
        default=None, converter=attrs.converters.optional(Quantity)
    )
    field: str | None = None
    mapping: str | None = None
    decisions: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict, converter=_decisions)
    severity: Severity = attrs.field(default=Severity.ERROR, converter=Severity)
    description: str = ""
    evidence: Evidence | None = None
    location: Location = attrs.field(default=_NOWHERE, eq=False, repr=False)
    #: where each field's value stands (`states`, `child_states`, `mapping`, ...)
    at: Mapping[str, Location] = attrs.field(
        factory=dict, converter=_frozen_map, eq=False, repr=False
    )

    def where(self, field: str) -> Location:
        return self.at.get(field, self.location)

    @property
    def code(self) -> str:
        """The stable code a violation of this rule carries."""
        return CODES[self.kind]

    def summary(self) -> str:
        """The rule on one line: code, kind and what it names (`show`, diagrams)."""
        parts = [self.code, str(self.kind)]
        if self.severity is not Severity.ERROR:
            parts.append(f"({self.severity})")
        if self.states:
            parts.append(f"states {', '.join(self.states)}")
        if self.child_states:
            parts.append(f"child_states {', '.join(self.child_states)}")
        if self.quantity:
            parts.append(f"quantity {self.quantity}{', reached' if self.reached else ''}")
        parts.extend(
            f"{name} {value}"
            for name, value in (("field", self.field), ("mapping", self.mapping))
            if value
        )
        if self.decisions:
            parts.append(f"decisions for {', '.join(self.decisions)}")
        return " ".join(parts)


@attrs.frozen
class Related:
    """A child machine related to this (parent) machine: the child's rows carry the parent's
    id in column `key`, and `rules` hold between a parent and its children."""

    #: the child machine's name
    machine: str
    #: the child's column (attribute) holding the parent's id
    key: str
    rules: tuple[Constraint, ...] = ()
    description: str = ""
    evidence: Evidence | None = None
    location: Location = attrs.field(default=_NOWHERE, eq=False, repr=False)
