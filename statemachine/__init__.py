"""Explicit finite-state machines for the status lifecycles of voice-AI and telephony platforms.

Definitions (`statemachine.model`) are loaded from YAML (`statemachine.io`), checked
(`statemachine.checks`) and run as transitions machines (`statemachine.runtime`).
"""

from statemachine.checks import RULES, Finding, Severity, check_definition
from statemachine.io.export import definition_to_dict
from statemachine.io.loader import load_file
from statemachine.io.registry import Registry, bundled_dir, load_registry
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
