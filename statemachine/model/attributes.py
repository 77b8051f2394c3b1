"""The attributes a transitions model gets from a definition, and names Python reserves."""

from __future__ import annotations

import keyword
from collections.abc import Iterable

__all__ = ["MODEL_ATTRIBUTES", "field_problem", "generated_attributes", "reserved_problem"]

#: attributes transitions itself puts on every model (and GraphMachine's `get_graph`)
MODEL_ATTRIBUTES = frozenset({"trigger", "may_trigger", "state", "get_graph"})


def generated_attributes(
    field: str, states: Iterable[str], triggers: Iterable[str]
) -> dict[str, str]:
    """Every attribute transitions generates on a model, with what generates it."""
    names = {name: "a transitions model attribute" for name in MODEL_ATTRIBUTES}
    names[field] = "the status field"
    for state in states:
        test = f"is_{state}" if field == "state" else f"is_{field}_{state}"
        names[test] = f"the test for state '{state}'"
        names[f"to_{state}"] = f"the auto transition to '{state}'"
        names[f"on_enter_{state}"] = f"the enter callback of '{state}'"
        names[f"on_exit_{state}"] = f"the exit callback of '{state}'"
    for trigger in triggers:
        names[f"may_{trigger}"] = f"the test for trigger '{trigger}'"
    return names


def reserved_problem(name: str) -> str | None:
    """Why `name` cannot be a method name, or None."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name.startswith("__") and name.endswith("__"):
        return "is a dunder name reserved by Python"
    return None


def field_problem(field: str, states: Iterable[str], triggers: Iterable[str]) -> str | None:
    """Why the status field cannot live on a transitions model beside what transitions
    generates (`may_<trigger>`, `is_<field>_<state>`, a trigger's method, ...), or None."""
    triggers = set(triggers)
    if field in MODEL_ATTRIBUTES - {"state"}:
        return "collides with transitions' own attributes"
    what = generated_attributes(field, states, triggers)[field]
    if what != "the status field":
        return f"collides with {what}"
    if field in triggers:
        return "is also a trigger, which becomes a method of the model"
    return reserved_problem(field)
