"""Explicit finite-state machines for the status lifecycles of voice-AI and telephony platforms.

Definitions (`statemachine.model`) are loaded from YAML (`statemachine.io`), checked
(`statemachine.checks`) and run as transitions machines (`statemachine.runtime`).

The names below are imported on first use (PEP 562), so that `import statemachine.cli` or
`statemachine.runtime` pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statemachine.checks import Finding, Severity, check_definition
    from statemachine.io.export import definition_to_dict
    from statemachine.io.loader import load_file
    from statemachine.io.registry import RULES, Registry, bundled_dir, load_registry
    from statemachine.model.definition import Definition, State, Transition
    from statemachine.model.location import Location

__all__ = [
    "RULES",
    "Definition",
    "Finding",
    "Location",
    "Registry",
    "Severity",
    "State",
    "Transition",
    "bundled_dir",
    "check_definition",
    "definition_to_dict",
    "load_file",
    "load_registry",
]

#: where each exported name lives
_HOME = {
    # the registry module imports every module that registers a rule (reader, loader, checks)
    "RULES": "statemachine.io.registry",
    "Finding": "statemachine.checks",
    "Severity": "statemachine.checks",
    "check_definition": "statemachine.checks",
    "definition_to_dict": "statemachine.io.export",
    "load_file": "statemachine.io.loader",
    "Registry": "statemachine.io.registry",
    "bundled_dir": "statemachine.io.registry",
    "load_registry": "statemachine.io.registry",
    "Definition": "statemachine.model.definition",
    "State": "statemachine.model.definition",
    "Transition": "statemachine.model.definition",
    "Location": "statemachine.model.location",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'statemachine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
