"""Checks on aliases, acknowledgements, informational values and mappings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from statemachine.checks.finding import Finding
from statemachine.checks.references import Vocabulary
from statemachine.checks.rule import Context, check
from statemachine.model.definition import Acknowledgement, Alias, Totality


@check("SM050", "alias-unknown-state")
def alias_unknown_state(ctx: Context) -> Iterator[Finding]:
    """An alias must point at a declared state (not at another alias)."""
    d = ctx.definition
    states = Vocabulary(d.states)
    for alias in d.aliases.values():
        if alias.state not in d.states:
            yield alias_unknown_state.at(
                alias.location,
                f"alias '{alias.name}' points at '{alias.state}', which is not a state"
                + states.suggest(alias.state),
            )


@check("SM051", "value-shadows-state")
def value_shadows_state(ctx: Context) -> Iterator[Finding]:
    """An alias, acknowledgement or informational value must not reuse the name of a state
    (it would hide it), and no value may be two of them."""
    d = ctx.definition
    kinds: tuple[tuple[str, Mapping[str, Alias | Acknowledgement]], ...] = (
        ("alias", d.aliases),
        ("acknowledgement", d.acknowledgements),
        ("informational value", d.informational),
    )
    for i, (kind, values) in enumerate(kinds):
        for name, value in values.items():
            if name in d.states:
                yield value_shadows_state.at(
                    value.location, f"{kind} '{name}' has the name of a state; rename or remove it"
                )
            for earlier, others in kinds[:i]:
                if name in others:
                    yield value_shadows_state.at(
                        value.location, f"'{name}' is both an {earlier} and an {kind}; keep one"
                    )


@check("SM060", "unknown-machine")
def unknown_machine(ctx: Context) -> Iterator[Finding]:
    """A mapping's `keys` and `values` must name a machine that is loaded beside it."""
    known = set(ctx.machines) | {ctx.definition.name}
    names = Vocabulary(known)
    for mapping in ctx.definition.mappings.values():
        for role, name in (("keys", mapping.keys), ("values", mapping.values)):
            if name is not None and name not in known:
                yield unknown_machine.at(
                    mapping.location,
                    f"mapping '{mapping.name}' {role} refers to machine '{name}', which is not "
                    f"loaded{names.suggest(name)}; check it together with that machine",
                )


@check("SM061", "mapping-unknown-state")
def mapping_unknown_state(ctx: Context) -> Iterator[Finding]:
    """A mapping's keys must be states of its `keys` machine; with `values`, its labels
    must be states of that machine; with `labels`, every label must be listed there."""
    for mapping in ctx.definition.mappings.values():
        keyed = ctx.machine(mapping.keys or ctx.definition.name)
        targets = ctx.machine(mapping.values) if mapping.values else None
        keys = Vocabulary(keyed.states if keyed else ())
        values = Vocabulary(targets.states if targets else ())
        labels_known = Vocabulary(mapping.labels)
        for key, labels in mapping.entries.items():
            where = mapping.where(key)
            if keyed is not None and key not in keyed.states:
                yield mapping_unknown_state.at(
                    where,
                    f"mapping '{mapping.name}' maps '{key}', which is not a state of "
                    f"{keyed.name}{keys.suggest(key)}",
                )
            for label in labels:
                if targets is not None and label not in targets.states:
                    yield mapping_unknown_state.at(
                        where,
                        f"mapping '{mapping.name}' maps '{key}' to '{label}', which is not a "
                        f"state of {targets.name}{values.suggest(label)}",
                    )
                elif mapping.labels and label not in mapping.labels:
                    yield mapping_unknown_state.at(
                        where,
                        f"mapping '{mapping.name}' maps '{key}' to '{label}', which is not one "
                        f"of its `labels`{labels_known.suggest(label)}",
                    )


@check("SM062", "mapping-not-total")
def mapping_not_total(ctx: Context) -> Iterator[Finding]:
    """A mapping marked `total: true` must map every state of its `keys` machine;
    `total: final` every final state."""
    for mapping in ctx.definition.mappings.values():
        keyed = ctx.machine(mapping.keys or ctx.definition.name)
        if keyed is None or mapping.total is Totality.PARTIAL:
            continue
        wanted = keyed.final_states if mapping.total is Totality.FINAL else tuple(keyed.states)
        missing = [name for name in wanted if name not in mapping.entries]
        if missing:
            yield mapping_not_total.at(
                mapping.location,
                f"mapping '{mapping.name}' must cover every "
                f"{'final ' if mapping.total is Totality.FINAL else ''}state of {keyed.name} "
                f"but leaves out {', '.join(missing)}; add entries for them",
            )
