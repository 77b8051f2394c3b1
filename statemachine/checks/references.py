"""Checks that every name a definition uses is declared."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from statemachine.checks.finding import Finding, Severity
from statemachine.checks.rule import Context, check

__all__ = ["nearest", "suggest"]


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to `name`, if any is close."""
    near = difflib.get_close_matches(name, list(known), n=1)
    return near[0] if near else None


def suggest(name: str, known: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the nearest known name, or nothing."""
    near = nearest(name, known)
    return f"; did you mean '{near}'?" if near else ""


@check("SM020", "unknown-state")
def unknown_state(ctx: Context) -> Iterator[Finding]:
    """Every transition's source and destination must be a declared state."""
    d = ctx.definition
    for t in d.transitions:
        for field, name in (("source", t.source), ("dest", t.dest)):
            if name in d.states:
                continue
            hint = suggest(name, d.states)
            if name in d.aliases:
                hint = f"; '{name}' is an alias, use its state '{d.aliases[name].state}'"
            elif name in d.acknowledgements:
                hint = f"; '{name}' is an acknowledgement only, never a state"
            yield unknown_state.at(
                t.where(field), f"transition '{t.trigger}' {field} '{name}' is not a state{hint}"
            )


@check("SM021", "bad-initial")
def bad_initial(ctx: Context) -> Iterator[Finding]:
    """The machine must name its initial state with `initial`, and it must be a declared,
    non-final state."""
    d = ctx.definition
    if not d.initial:
        yield bad_initial.at(
            d.initial_location, "no `initial` state; add `initial: <state>` at the top level"
        )
    for entry in d.initial:
        if entry not in d.states:
            yield bad_initial.at(
                d.initial_location,
                f"initial state '{entry}' is not a state{suggest(entry, d.states)}",
            )


@check("SM022", "unknown-group")
def unknown_group(ctx: Context) -> Iterator[Finding]:
    """A state's groups must be declared under the top-level `groups`."""
    d = ctx.definition
    for state in d.states.values():
        for group in state.groups:
            if group not in d.groups:
                yield unknown_group.at(
                    state.location,
                    f"state '{state.name}' is in group '{group}', which is not declared under "
                    f"`groups`{suggest(group, d.groups)}",
                )


@check("SM023", "undeclared-guard")
def undeclared_guard(ctx: Context) -> Iterator[Finding]:
    """A transition's conditions must name guards declared under `guards`, each with a
    one-line meaning; the embedding application registers their code."""
    d = ctx.definition
    for t in d.transitions:
        for name in t.conditions:
            if name not in d.guards:
                yield undeclared_guard.at(
                    t.where("conditions"),
                    f"condition '{name}' is not a declared guard{suggest(name, d.guards)}; "
                    f"declare it under `guards` as `{name}: <what it means>`",
                )


@check("SM024", "unused-guard", Severity.WARNING)
def unused_guard(ctx: Context) -> Iterator[Finding]:
    """A declared guard that no transition uses is probably left over."""
    d = ctx.definition
    used = {name for t in d.transitions for name in t.conditions}
    for guard in d.guards.values():
        if guard.name not in used:
            yield unused_guard.at(
                guard.location, f"guard '{guard.name}' is declared but no transition uses it"
            )


@check("SM025", "unknown-setting")
def unknown_setting(ctx: Context) -> Iterator[Finding]:
    """A setting's `nonzero_requires` must name declared settings."""
    d = ctx.definition
    for setting in d.settings.values():
        for name in setting.nonzero_requires:
            if name not in d.settings:
                yield unknown_setting.at(
                    setting.location,
                    f"setting '{setting.name}' requires '{name}', which is not a declared "
                    f"setting{suggest(name, d.settings)}",
                )
