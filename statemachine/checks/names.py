"""Checks on names: usable as attributes on a transitions model, and not confusable."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator

from statemachine.checks.finding import Finding, Severity
from statemachine.checks.rule import Context, check
from statemachine.model.attributes import field_problem, generated_attributes, reserved_problem
from statemachine.model.definition import Definition
from statemachine.model.location import Location

__all__: list[str] = []


@check("SM040", "reserved-name")
def reserved_name(ctx: Context) -> Iterator[Finding]:
    """Triggers become methods on the model object, beside the attributes transitions
    generates (`trigger`, `may_<trigger>`, `is_<field>_<state>`, `to_<state>`, the status
    field): a trigger or guard must not be one of them, a Python keyword, or a dunder name."""
    d = ctx.definition
    generated = generated_attributes(d.field, d.states, {t.trigger for t in d.transitions})
    seen: set[str] = set()
    for t in d.transitions:
        if t.trigger in seen:
            continue
        seen.add(t.trigger)
        problem = reserved_problem(t.trigger)
        if problem is None and t.trigger in generated:
            problem = f"collides with {generated[t.trigger]}"
        if problem:
            yield reserved_name.at(
                t.where("trigger"), f"trigger '{t.trigger}' {problem}; rename the trigger"
            )
    for guard in d.guards.values():
        problem = reserved_problem(guard.name)
        if problem:
            yield reserved_name.at(guard.location, f"guard '{guard.name}' {problem}; rename it")
    for state in d.states.values():
        problem = reserved_problem(state.name)
        if problem and problem.startswith("is a dunder"):
            yield reserved_name.at(state.location, f"state '{state.name}' {problem}")
    problem = field_problem(d.field, d.states, seen)
    if problem:
        yield reserved_name.at(
            d.location, f"status field '{d.field}' {problem}; rename the field or the name"
        )


def _spelling_key(name: str) -> str:
    """What is left of a name without case, punctuation and spaces (`No-Answer` -> `noanswer`)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


def _values(d: Definition) -> Iterator[tuple[str, str, str, Location]]:
    """Every status value a provider may send: (kind, name, what it means, location)."""
    for state in d.states.values():
        yield "state", state.name, state.name, state.location
    for alias in d.aliases.values():
        yield "alias", alias.name, alias.state, alias.location
    for ack in d.acknowledgements.values():
        yield "acknowledgement", ack.name, f"\0ack {ack.name}", ack.location
    for info in d.informational.values():
        yield "informational value", info.name, f"\0info {info.name}", info.location


@check("SM041", "confusable-names", Severity.WARNING)
def confusable_names(ctx: Context) -> Iterator[Finding]:
    """Two status values (or two groups) of one machine must not differ only in case,
    punctuation or spaces (`no-answer` beside `no_answer`): a provider sends one spelling,
    and the other is a typo waiting to happen. An alias that points at the state it
    resembles is how to accept both spellings, and is fine."""
    d = ctx.definition
    groups = ((("group", g.name, g.name, g.location) for g in d.groups.values()), _values(d))
    for names in groups:
        first: dict[str, tuple[str, str, str, Location]] = {}
        for kind, name, meaning, location in names:
            seen = first.setdefault(_spelling_key(name), (kind, name, meaning, location))
            if seen[2] != meaning:
                yield confusable_names.at(
                    location,
                    f"{kind} '{name}' differs from {seen[0]} '{seen[1]}' only in case or "
                    "punctuation; rename one, or make one an alias of the other",
                )


def _script(ch: str) -> str:
    """The script a letter is written in, from its Unicode name (`LATIN`, `CYRILLIC`)."""
    word = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    return "CJK" if word in _EAST_ASIAN else word


#: scripts that one Japanese or Korean name mixes legitimately
_EAST_ASIAN = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC"})


@check("SM042", "mixed-script", Severity.WARNING)
def mixed_script(ctx: Context) -> Iterator[Finding]:
    """A name should be written in one script: a Cyrillic es (U+0441) in place of the Latin
    `c` of `cancelled` looks the same but never matches what the provider sends."""
    d = ctx.definition
    everything = [
        *_values(d),
        *(("group", g.name, g.name, g.location) for g in d.groups.values()),
    ]
    for kind, name, _, location in everything:
        letters = {ch: _script(ch) for ch in unicodedata.normalize("NFKC", name) if ch.isalpha()}
        counts = Counter(letters[ch] for ch in unicodedata.normalize("NFKC", name) if ch.isalpha())
        if len(counts) < 2:
            continue
        main = counts.most_common(1)[0][0]
        odd = ", ".join(
            f"{ch!r} ({script.title()})" for ch, script in letters.items() if script != main
        )
        yield mixed_script.at(
            location,
            f"{kind} {name!r} mixes scripts ({', '.join(sorted(s.title() for s in counts))}): "
            f"{odd} among {main.title()}; spell it as the provider does",
        )
