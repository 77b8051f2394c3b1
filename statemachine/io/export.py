"""The machine as loaded, as plain data: the stable JSON contract of `statemachine show`."""

from __future__ import annotations

from typing import Any

from statemachine.model.coupling import Constraint
from statemachine.model.definition import Definition, Evidence

__all__ = ["constraint_to_dict", "definition_to_dict"]


def _evidence(evidence: Evidence | None) -> dict[str, str] | None:
    return evidence.as_dict() if evidence else None


def constraint_to_dict(c: Constraint) -> dict[str, Any]:
    """One rule: its kind and code, severity, and every field (empty where the kind takes none)."""
    return {
        "rule": str(c.kind),
        "code": c.code,
        "severity": str(c.severity),
        "states": list(c.states),
        "child_states": list(c.child_states),
        "reached": c.reached,
        "quantity": str(c.quantity) if c.quantity else None,
        "field": c.field,
        "mapping": c.mapping,
        "decisions": {status: dict(labels) for status, labels in c.decisions.items()},
        "description": c.description,
        "evidence": _evidence(c.evidence),
    }


def definition_to_dict(d: Definition) -> dict[str, Any]:
    """Every part of `d`, with sources expanded to one transition per source state."""
    return {
        "name": d.name,
        "title": d.title,
        "object": d.object,
        "field": d.field,
        "description": d.description,
        "file": d.file,
        "sources": [
            {"id": s.id, "title": s.title, "provider": s.provider, "file": s.file}
            for s in d.sources
        ],
        "initial": d.start,
        "entries": list(d.initial),
        "groups": {
            g.name: {
                "title": g.title,
                "description": g.description,
                "evidence": _evidence(g.evidence),
            }
            for g in d.groups.values()
        },
        "states": [
            {
                "name": s.name,
                "final": s.final,
                "reported": s.reported,
                "description": s.description,
                "next": s.next,
                "groups": list(s.groups),
                "stale_after": s.stale_after.total_seconds() if s.stale_after else None,
                "evidence": _evidence(s.evidence),
            }
            for s in d.states.values()
        ],
        "guards": {g.name: g.description for g in d.guards.values()},
        "transitions": [
            {
                "trigger": t.trigger,
                "source": t.source,
                "dest": t.dest,
                "conditions": list(t.conditions),
                "description": t.description,
                "evidence": _evidence(t.evidence),
            }
            for t in d.transitions
        ],
        "aliases": {
            a.name: {
                "state": a.state,
                "description": a.description,
                "evidence": _evidence(a.evidence),
            }
            for a in d.aliases.values()
        },
        **{
            block: [
                {"name": a.name, "description": a.description, "evidence": _evidence(a.evidence)}
                for a in values.values()
            ]
            for block, values in (
                ("acknowledgements", d.acknowledgements),
                ("informational", d.informational),
            )
        },
        "settings": {
            s.name: {
                "type": s.type,
                "minimum": s.minimum,
                "description": s.description,
                "nonzero_requires": list(s.nonzero_requires),
                "evidence": _evidence(s.evidence),
            }
            for s in d.settings.values()
        },
        "mappings": {
            m.name: {
                "title": m.title,
                "description": m.description,
                "keys": m.keys or d.name,
                "values": m.values,
                "labels": dict(m.labels),
                "total": str(m.total),
                "evidence": _evidence(m.evidence),
                "entries": {key: list(labels) for key, labels in m.entries.items()},
                "entry_evidence": {k: e.as_dict() for k, e in m.entry_evidence.items()},
            }
            for m in d.mappings.values()
        },
        "related": {
            r.machine: {
                "key": r.key,
                "description": r.description,
                "evidence": _evidence(r.evidence),
                "rules": [constraint_to_dict(c) for c in r.rules],
            }
            for r in d.related.values()
        },
        "rules": [constraint_to_dict(c) for c in d.rules],
    }
