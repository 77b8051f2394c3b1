"""Checks that names stay usable as attributes on a transitions model."""

from __future__ import annotations

import keyword
from collections.abc import Iterator

from statemachine.checks.finding import Finding
from statemachine.checks.rule import Context, check
from statemachine.model.definition import Definition

#: attributes transitions itself puts on every model (and GraphMachine's `get_graph`)
MODEL_ATTRIBUTES = frozenset({"trigger", "may_trigger", "state", "get_graph"})


def _generated(d: Definition) -> dict[str, str]:
    """Every attribute transitions generates on a model for `d`, with what generates it."""
    names = {name: "a transitions model attribute" for name in MODEL_ATTRIBUTES}
    names[d.field] = "the status field"
    for state in d.states:
        test = f"is_{state}" if d.field == "state" else f"is_{d.field}_{state}"
        names[test] = f"the test for state '{state}'"
        names[f"to_{state}"] = f"the auto transition to '{state}'"
        names[f"on_enter_{state}"] = f"the enter callback of '{state}'"
        names[f"on_exit_{state}"] = f"the exit callback of '{state}'"
    for trigger in {t.trigger for t in d.transitions}:
        names[f"may_{trigger}"] = f"the test for trigger '{trigger}'"
    return names


def _problem(name: str) -> str | None:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name.startswith("__") and name.endswith("__"):
        return "is a dunder name reserved by Python"
    return None


@check("SM040", "reserved-name")
def reserved_name(ctx: Context) -> Iterator[Finding]:
    """Triggers become methods on the model object, beside the attributes transitions
    generates (`trigger`, `may_<trigger>`, `is_<field>_<state>`, `to_<state>`, the status
    field): a trigger or guard must not be one of them, a Python keyword, or a dunder name."""
    d = ctx.definition
    generated = _generated(d)
    seen: set[str] = set()
    for t in d.transitions:
        if t.trigger in seen:
            continue
        seen.add(t.trigger)
        problem = _problem(t.trigger)
        if problem is None and t.trigger in generated:
            problem = f"collides with {generated[t.trigger]}"
        if problem:
            yield reserved_name.at(
                t.where("trigger"), f"trigger '{t.trigger}' {problem}; rename the trigger"
            )
    for guard in d.guards.values():
        problem = _problem(guard.name)
        if problem:
            yield reserved_name.at(guard.location, f"guard '{guard.name}' {problem}; rename it")
    for state in d.states.values():
        problem = _problem(state.name)
        if problem and problem.startswith("is a dunder"):
            yield reserved_name.at(state.location, f"state '{state.name}' {problem}")
    if d.field in MODEL_ATTRIBUTES - {"state"} or _problem(d.field):
        yield reserved_name.at(
            d.location, f"status field '{d.field}' collides with transitions' own attributes"
        )
