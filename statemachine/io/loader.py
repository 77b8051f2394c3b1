"""From a schema-valid document to a `Definition`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from statemachine.io.schema import schema_findings
from statemachine.io.yamldoc import Document, PathKey, read_document
from statemachine.model.attributes import generated_attributes, reserved_problem
from statemachine.model.coupling import Constraint, Related
from statemachine.model.definition import (
    Acknowledgement,
    Alias,
    Definition,
    Evidence,
    Group,
    Guard,
    LabelMap,
    Setting,
    Source,
    State,
    Totality,
    Transition,
)
from statemachine.model.finding import Finding

__all__ = ["Loaded", "TriggerNames", "load_file", "parse_duration"]

ANY_SOURCE = "*"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@attrs.frozen
class Loaded:
    """What reading one file gave: the definition if it could be built, and the findings."""

    file: str
    definition: Definition | None
    findings: tuple[Finding, ...]


def parse_duration(text: str) -> timedelta:
    """`1d12h`, `15m`, `90s` as a timedelta (the schema has checked the form)."""
    match = _DURATION.match(text)
    if not match or not text:
        raise ValueError(f"not a duration: {text!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class TriggerNames:
    """Readable trigger names for transitions that give none, derived from the destination:
    Python identifiers, one per destination, never a trigger the definition gives, an
    attribute transitions generates (`is_status_x`, `to_x`, `may_<trigger>`), a keyword or a
    dunder name."""

    def __init__(self, field: str, states: Iterable[str], given: Iterable[str]) -> None:
        self._given = set(given)
        self._taken = self._given | set(generated_attributes(field, states, self._given))
        self._by_dest: dict[str, str] = {}
        self._next: dict[str, int] = {}

    def __call__(self, dest: str) -> str:
        name = self._by_dest.get(dest)
        if name is None:
            name = self._by_dest[dest] = self._free(_identifier(dest))
            self._taken.add(name)
        return name

    def _free(self, base: str) -> str:
        # one counter per base keeps the search linear: each taken name is skipped once
        number = self._next.get(base, 1)
        name = base if number == 1 else f"{base}_{number}"
        while name in self._taken or f"may_{name}" in self._given:
            number += 1
            name = f"{base}_{number}"
        self._next[base] = number + 1
        return name


def _identifier(text: str) -> str:
    """`in-progress` -> `in_progress`, `8x8` -> `reach_8x8`, `in` -> `in_`."""
    kept = "".join(ch if ("_" + ch).isidentifier() else " " for ch in text)
    name = "_".join(kept.replace("_", " ").split())
    if not name or not name.isidentifier():
        name = f"reach_{name}" if name else "reach"
    return f"{name}_" if reserved_problem(name) else name


def _evidence(raw: Mapping[str, str] | None) -> Evidence | None:
    if not raw:
        return None
    ((kind, text),) = raw.items()
    return Evidence(kind, text)


def _labels(raw: str | list[str]) -> tuple[str, ...]:
    return (raw,) if isinstance(raw, str) else tuple(raw)


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data

    def key(self, *path: str | int) -> Any:
        return self.doc.at(path, key=True)

    def value(self, *path: str | int) -> Any:
        return self.doc.at(path)

    def states(self) -> dict[str, State]:
        states = {}
        for name, raw in self.data["states"].items():
            raw = raw or {}
            stale = raw.get("stale_after")
            states[name] = State(
                name=name,
                final=raw.get("final", False),
                reported=raw.get("reported", True),
                description=raw.get("description", ""),
                next=raw.get("next", ""),
                groups=tuple(raw.get("groups", ())),
                stale_after=parse_duration(stale) if stale else None,
                evidence=_evidence(raw.get("evidence")),
                location=self.key("states", name),
            )
        return states

    def transitions(self, states: Mapping[str, State]) -> tuple[Transition, ...]:
        result = []
        listed = self.data.get("transitions", ())
        derived = TriggerNames(
            self.data.get("field", "status"),
            states,
            (raw["trigger"] for raw in listed if "trigger" in raw),
        )
        for i, raw in enumerate(listed):
            path: PathKey = ("transitions", i)
            conditions = raw.get("conditions", ())
            conditions = (conditions,) if isinstance(conditions, str) else tuple(conditions)
            trigger = raw["trigger"] if "trigger" in raw else derived(raw["dest"])
            common = {
                "trigger": self.doc.at((*path, "trigger")),
                "dest": self.doc.at((*path, "dest")),
                "conditions": self.doc.at((*path, "conditions")),
            }
            for source, where in self._sources(raw, path, states):
                result.append(
                    Transition(
                        trigger=trigger,
                        source=source,
                        dest=raw["dest"],
                        conditions=conditions,
                        description=raw.get("description", ""),
                        evidence=_evidence(raw.get("evidence")),
                        location=self.doc.at(path),
                        at={**common, "source": where},
                    )
                )
        return tuple(result)

    def _sources(
        self, raw: Mapping[str, Any], path: PathKey, states: Mapping[str, State]
    ) -> list[tuple[str, Any]]:
        source = raw["source"]
        where = self.doc.at((*path, "source"))
        if source == ANY_SOURCE:
            # every non-final state but the destination: `*` never adds a self-loop
            return [
                (name, where)
                for name, state in states.items()
                if not state.final and name != raw["dest"]
            ]
        if isinstance(source, str):
            return [(source, where)]
        return [(name, self.doc.at((*path, "source", j))) for j, name in enumerate(source)]

    def mappings(self) -> dict[str, LabelMap]:
        result = {}
        for name, raw in self.data.get("mappings", {}).items():
            entries, evidence = {}, {}
            for key, entry in raw.get("entries", {}).items():
                if isinstance(entry, dict):
                    entries[key] = _labels(entry["value"])
                    found = _evidence(entry.get("evidence"))
                    if found is not None:
                        evidence[key] = found
                else:
                    entries[key] = _labels(entry)
            total = raw.get("total", False)
            result[name] = LabelMap(
                name=name,
                entries=entries,
                title=raw.get("title", ""),
                description=raw.get("description", ""),
                keys=raw.get("keys"),
                values=raw.get("values"),
                labels=raw.get("labels", {}),
                total=Totality.ALL if total is True else Totality(total or "partial"),
                evidence=_evidence(raw.get("evidence")),
                entry_evidence=evidence,
                location=self.key("mappings", name),
                entry_locations={
                    key: self.key("mappings", name, "entries", key) for key in entries
                },
            )
        return result

    def rules(self, *path: str | int) -> tuple[Constraint, ...]:
        """The rules listed at `path` (a relation's `rules`, or the top-level `rules`)."""
        listed = self.doc.data
        for part in path:
            listed = listed[part]
        return tuple(
            Constraint(
                kind=raw["rule"],
                states=raw.get("states", ()),
                child_states=raw.get("child_states", ()),
                reached=raw.get("reached", False),
                quantity=raw.get("quantity"),
                field=raw.get("field"),
                mapping=raw.get("mapping"),
                decisions=raw.get("decisions", {}),
                severity=raw.get("severity", "error"),
                description=raw.get("description", ""),
                evidence=_evidence(raw.get("evidence")),
                location=self.value(*path, i, "rule"),
                at={field: self.value(*path, i, field) for field in raw},
            )
            for i, raw in enumerate(listed)
        )

    def related(self) -> dict[str, Related]:
        return {
            child: Related(
                machine=child,
                key=raw["key"],
                rules=self.rules("related", child, "rules") if "rules" in raw else (),
                description=raw.get("description", ""),
                evidence=_evidence(raw.get("evidence")),
                location=self.key("related", child),
            )
            for child, raw in self.data.get("related", {}).items()
        }

    def definition(self) -> Definition:
        data = self.data
        states = self.states()
        aliases = {}
        for name, raw in data.get("aliases", {}).items():
            raw = {"state": raw} if isinstance(raw, str) else raw
            aliases[name] = Alias(
                name,
                raw["state"],
                raw.get("description", ""),
                _evidence(raw.get("evidence")),
                self.value("aliases", name),
            )
        acks, informational = (
            {
                name: Acknowledgement(
                    name,
                    raw if isinstance(raw, str) else raw.get("description", ""),
                    None if isinstance(raw, str) else _evidence(raw.get("evidence")),
                    self.key(block, name),
                )
                for name, raw in data.get(block, {}).items()
            }
            for block in ("acknowledgements", "informational")
        )
        return Definition(
            name=data["machine"],
            states=states,
            transitions=self.transitions(states),
            initial=data.get("initial"),
            title=data.get("title", ""),
            object=data.get("object", ""),
            field=data.get("field", "status"),
            description=data.get("description", ""),
            sources=tuple(Source(**raw) for raw in data.get("sources", ())),
            groups={
                name: Group(
                    name,
                    raw.get("title", ""),
                    raw.get("description", ""),
                    _evidence(raw.get("evidence")),
                    self.key("groups", name),
                )
                for name, raw in data.get("groups", {}).items()
            },
            guards={
                name: Guard(name, text, self.key("guards", name))
                for name, text in data.get("guards", {}).items()
            },
            aliases=aliases,
            acknowledgements=acks,
            informational=informational,
            mappings=self.mappings(),
            settings={
                name: Setting(
                    name,
                    raw["type"],
                    raw.get("minimum"),
                    raw.get("description", ""),
                    tuple(raw.get("nonzero_requires", ())),
                    _evidence(raw.get("evidence")),
                    self.key("settings", name),
                )
                for name, raw in data.get("settings", {}).items()
            },
            related=self.related(),
            rules=self.rules("rules") if "rules" in data else (),
            location=self.value("machine"),
            initial_location=self.value("initial") if "initial" in data else self.key("machine"),
        )


def load_document(doc: Document) -> Loaded:
    """Schema-check a read document and build its definition when it is valid."""
    findings = list(doc.findings)
    if any(f.code == "SM001" for f in findings):
        return Loaded(doc.file, None, tuple(findings))
    schema = schema_findings(doc)
    findings.extend(schema)
    if schema:
        return Loaded(doc.file, None, tuple(findings))
    return Loaded(doc.file, _Builder(doc).definition(), tuple(findings))


def load_file(path: Path, display: str | None = None) -> Loaded:
    """Read, schema-check and build one definition file; problems become findings."""
    return load_document(read_document(path, display))
