"""Immutable lifecycle definitions: what one YAML file under `machines/` says."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from statemachine.model.location import Location

if TYPE_CHECKING:
    from statemachine.model.coupling import Constraint, Related

__all__ = [
    "Acknowledgement",
    "Alias",
    "Definition",
    "Evidence",
    "EvidenceKind",
    "Group",
    "Guard",
    "LabelMap",
    "Setting",
    "Source",
    "State",
    "Totality",
    "Transition",
]

_NOWHERE = Location("<memory>")


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _entries(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _no_location() -> Any:
    return attrs.field(default=_NOWHERE, eq=False, repr=False)


class EvidenceKind(enum.StrEnum):
    """Whether a provider document says it, or we concluded it."""

    DOCUMENTED = "documented"
    INFERRED = "inferred"


@attrs.frozen
class Evidence:
    """Where a state, flag, transition or entry comes from."""

    kind: EvidenceKind = attrs.field(converter=EvidenceKind)
    text: str = attrs.field(validator=attrs.validators.min_len(1))

    def as_dict(self) -> dict[str, str]:
        return {str(self.kind): self.text}


@attrs.frozen
class Source:
    """A provider document the definition follows."""

    id: str
    title: str
    provider: str = ""
    file: str = ""


@attrs.frozen
class Group:
    """A named group of states."""

    name: str
    title: str = ""
    description: str = ""
    evidence: Evidence | None = None
    location: Location = _no_location()


@attrs.frozen
class State:
    """One status value, spelled exactly as the provider spells it."""

    name: str = attrs.field(validator=attrs.validators.min_len(1))
    final: bool = False
    description: str = ""
    next: str = ""
    groups: tuple[str, ...] = ()
    stale_after: timedelta | None = None
    #: False when the provider never delivers this status (an inferred in-between step)
    reported: bool = True
    evidence: Evidence | None = None
    location: Location = _no_location()


@attrs.frozen
class Transition:
    """One move: `trigger` takes an entity from `source` to `dest` if all `conditions` hold."""

    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...] = ()
    description: str = ""
    evidence: Evidence | None = None
    location: Location = _no_location()
    #: where each field's value stands (`trigger`, `source`, `dest`, `conditions`)
    at: Mapping[str, Location] = attrs.field(
        factory=dict, converter=_frozen_map, eq=False, repr=False
    )

    def where(self, field: str) -> Location:
        return self.at.get(field, self.location)


@attrs.frozen
class Guard:
    """A named condition; its code is registered in Python by the embedding application."""

    name: str
    description: str
    location: Location = _no_location()


@attrs.frozen
class Alias:
    """A value that means another state (a legacy `running` that means `active`)."""

    name: str
    state: str
    description: str = ""
    evidence: Evidence | None = None
    location: Location = _no_location()


@attrs.frozen
class Acknowledgement:
    """A value an API returns that is never a lifecycle state: an acknowledgement (a create
    call's `initiated`), or an informational event sharing the status field."""

    name: str
    description: str = ""
    evidence: Evidence | None = None
    location: Location = _no_location()


@attrs.frozen
class Setting:
    """A setting of the object (a retry count) that a service can validate values against."""

    name: str
    type: str
    minimum: int | None = None
    description: str = ""
    nonzero_requires: tuple[str, ...] = ()
    evidence: Evidence | None = None
    location: Location = _no_location()


class Totality(enum.StrEnum):
    """Which states a mapping must cover."""

    PARTIAL = "partial"
    FINAL = "final"
    ALL = "all"


@attrs.frozen
class LabelMap:
    """A named table from states (of this or another machine) to one or more labels."""

    name: str
    entries: Mapping[str, tuple[str, ...]] = attrs.field(converter=_frozen_map)
    title: str = ""
    description: str = ""
    keys: str | None = None
    values: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    total: Totality = Totality.PARTIAL
    evidence: Evidence | None = None
    entry_evidence: Mapping[str, Evidence] = attrs.field(factory=dict, converter=_frozen_map)
    location: Location = _no_location()
    entry_locations: Mapping[str, Location] = attrs.field(
        factory=dict, converter=_frozen_map, eq=False, repr=False
    )

    def where(self, key: str) -> Location:
        return self.entry_locations.get(key, self.location)

    def keys_for(self, label: str) -> tuple[str, ...]:
        """The states mapped to `label` (the table read backwards)."""
        return tuple(key for key, labels in self.entries.items() if label in labels)


@attrs.frozen
class Definition:
    """One lifecycle, as loaded and expanded from its YAML file."""

    name: str
    states: Mapping[str, State] = attrs.field(converter=_frozen_map)
    transitions: tuple[Transition, ...] = ()
    #: the entry states: a new entity starts in any of them (the first is transitions' initial)
    initial: tuple[str, ...] = attrs.field(default=(), converter=_entries)
    title: str = ""
    object: str = ""
    field: str = "status"
    description: str = ""
    sources: tuple[Source, ...] = ()
    groups: Mapping[str, Group] = attrs.field(factory=dict, converter=_frozen_map)
    guards: Mapping[str, Guard] = attrs.field(factory=dict, converter=_frozen_map)
    aliases: Mapping[str, Alias] = attrs.field(factory=dict, converter=_frozen_map)
    acknowledgements: Mapping[str, Acknowledgement] = attrs.field(
        factory=dict, converter=_frozen_map
    )
    #: informational events delivered in the status field (Amazon Connect's
    #: CONTACT_DATA_UPDATED): accepted and ignored, the status unchanged
    informational: Mapping[str, Acknowledgement] = attrs.field(factory=dict, converter=_frozen_map)
    mappings: Mapping[str, LabelMap] = attrs.field(factory=dict, converter=_frozen_map)
    settings: Mapping[str, Setting] = attrs.field(factory=dict, converter=_frozen_map)
    #: child machine name -> how its rows point at this machine's and the rules between them
    related: Mapping[str, Related] = attrs.field(factory=dict, converter=_frozen_map)
    #: rules on this machine's own fields (an `end_reason` that must fit the status)
    rules: tuple[Constraint, ...] = ()
    location: Location = _no_location()
    #: where `initial` stands, or the machine name when it is missing
    initial_location: Location = _no_location()
    #: what is derived from this definition once and shared (its graph); not part of equality
    derived: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def provider(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def start(self) -> str | None:
        """The first entry state (transitions' `initial`), or None when there is none."""
        return self.initial[0] if self.initial else None

    @property
    def final_states(self) -> tuple[str, ...]:
        return tuple(name for name, state in self.states.items() if state.final)

    def resolve(self, value: str) -> str | None:
        """The state a status value means: itself, its alias target, or None."""
        if value in self.states:
            return value
        alias = self.aliases.get(value)
        return alias.state if alias is not None else None
