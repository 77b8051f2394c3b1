"""Checks that every name a definition uses is declared."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from statemachine.checks.finding import Finding, Severity
from statemachine.checks.rule import Context, check

__all__ = ["Vocabulary", "nearest", "suggest"]

#: up to this many known names, every one is compared (difflib's own behaviour)
SMALL = 200
#: a two-letter piece found in more names than this tells nothing and is not indexed
COMMON = 256
#: how many of the best-sharing known names difflib compares for one lookup
CANDIDATES = 32


def _pieces(name: str) -> set[str]:
    """Overlapping two-letter pieces of `name`, case-folded, with its ends marked."""
    text = f"\0{name.casefold()}\0"
    return {text[i : i + 2] for i in range(len(text) - 1)}


class Vocabulary:
    """Known names, indexed so that finding the one nearest an unknown name costs time
    bounded by the unknown name's length, however many names are known."""

    def __init__(self, known: Iterable[str]) -> None:
        self.names = list(dict.fromkeys(known))
        self._index: dict[str, list[int] | None] = {}
        if len(self.names) <= SMALL:
            return
        for i, name in enumerate(self.names):
            for piece in _pieces(name):
                postings = self._index.setdefault(piece, [])
                if postings is not None:
                    postings.append(i)
                    if len(postings) > COMMON:
                        self._index[piece] = None

    def nearest(self, name: str) -> str | None:
        """The known name closest to `name`, if any is close."""
        import difflib  # imported when first needed: start-up time matters

        candidates = self.names
        if len(candidates) > SMALL:
            shared = Counter(i for piece in _pieces(name) for i in self._index.get(piece) or ())
            candidates = [self.names[i] for i, _ in shared.most_common(CANDIDATES)]
        near = difflib.get_close_matches(name, candidates, n=1)
        return near[0] if near else None

    def suggest(self, name: str) -> str:
        """`; did you mean 'x'?` for the nearest known name, or nothing."""
        near = self.nearest(name)
        return f"; did you mean '{near}'?" if near else ""


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to `name`, if any is close (for many lookups among the same
    names, build one `Vocabulary`)."""
    return Vocabulary(known).nearest(name)


def suggest(name: str, known: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the nearest known name, or nothing."""
    return Vocabulary(known).suggest(name)


@check("SM020", "unknown-state")
def unknown_state(ctx: Context) -> Iterator[Finding]:
    """Every transition's source and destination must be a declared state."""
    d = ctx.definition
    states = Vocabulary(d.states)
    for t in d.transitions:
        for field, name in (("source", t.source), ("dest", t.dest)):
            if name in d.states:
                continue
            hint = states.suggest(name)
            if name in d.aliases:
                hint = f"; '{name}' is an alias, use its state '{d.aliases[name].state}'"
            elif name in d.acknowledgements:
                hint = f"; '{name}' is an acknowledgement only, never a state"
            elif name in d.informational:
                hint = f"; '{name}' is informational, never a state"
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
    states = Vocabulary(d.states)
    for entry in d.initial:
        if entry not in d.states:
            yield bad_initial.at(
                d.initial_location,
                f"initial state '{entry}' is not a state{states.suggest(entry)}",
            )


@check("SM022", "unknown-group")
def unknown_group(ctx: Context) -> Iterator[Finding]:
    """A state's groups must be declared under the top-level `groups`."""
    d = ctx.definition
    groups = Vocabulary(d.groups)
    for state in d.states.values():
        for group in state.groups:
            if group not in d.groups:
                yield unknown_group.at(
                    state.location,
                    f"state '{state.name}' is in group '{group}', which is not declared under "
                    f"`groups`{groups.suggest(group)}",
                )


@check("SM023", "undeclared-guard")
def undeclared_guard(ctx: Context) -> Iterator[Finding]:
    """A transition's conditions must name guards declared under `guards`, each with a
    one-line meaning; the embedding application registers their code."""
    d = ctx.definition
    guards = Vocabulary(d.guards)
    for t in d.transitions:
        for name in t.conditions:
            if name not in d.guards:
                yield undeclared_guard.at(
                    t.where("conditions"),
                    f"condition '{name}' is not a declared guard{guards.suggest(name)}; "
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
    settings = Vocabulary(d.settings)
    for setting in d.settings.values():
        for name in setting.nonzero_requires:
            if name not in d.settings:
                yield unknown_setting.at(
                    setting.location,
                    f"setting '{setting.name}' requires '{name}', which is not a declared "
                    f"setting{settings.suggest(name)}",
                )
