"""Checks on coupled lifecycles: a machine's `related` machines and the rules between them,
and the rules on its own fields; and the codes a violation of each rule kind carries."""

from __future__ import annotations

from collections.abc import Iterator

from statemachine.checks.finding import Finding, Severity
from statemachine.checks.references import Vocabulary
from statemachine.checks.rule import Context, check
from statemachine.model.coupling import CODES, Constraint, RuleKind
from statemachine.model.definition import Definition, LabelMap
from statemachine.model.finding import rule

#: the violation codes, one per rule kind, explained for `RULES` (a violation is found in
#: data by the audit, the runtime and PostgreSQL, never in a definition)
_VIOLATIONS = {
    RuleKind.BLOCKS_START: (
        "blocks-start",
        "A child started (its first moving event into `child_states`, default its first "
        "moving event) while its parent's status at that time was one of `states`. A child "
        "that started before the parent moved is legitimate and may finish afterwards.",
    ),
    RuleKind.REQUIRES_FINAL: (
        "requires-final",
        "The parent moved into one of `states` at a time when a child that had started by "
        "then had no final status yet.",
    ),
    RuleKind.CHILDREN_AGREE: (
        "children-agree",
        "A parent whose last status is one of `states` has not `quantity` (one, some, none, "
        "all) children whose final status is in `child_states` (with `reached: true`: that "
        "ever reached one of them).",
    ),
    RuleKind.COUNTS: (
        "counts",
        "A parent in a final state holds, in a column named like a label of the child's "
        "`mapping`, a number other than the count of its children whose final status the "
        "mapping gives that label.",
    ),
    RuleKind.MATCHES: (
        "matches",
        "The parent's column `field` differs from the label the child's `mapping` gives the "
        "final status of its latest child (latest by start time, ties by id).",
    ),
    RuleKind.FIELD_FITS: (
        "field-fits",
        "An entity in a final state holds in column `field` (on the event that set that "
        "status) a value that is not null and not among the labels `mapping` gives the status.",
    ),
    RuleKind.DECIDES: (
        "decides",
        "The value of column `field` decides no label of `mapping` for the status (no "
        "decision for it, no `*`, several candidate labels): the outcome is reported as "
        "undecided, never as the first candidate.",
    ),
}
for _kind, (_name, _doc) in _VIOLATIONS.items():
    rule(CODES[_kind], _name, _doc)

#: rule kinds on the machine's own fields (top-level `rules`); the others stand in a relation
OWN = frozenset({RuleKind.FIELD_FITS, RuleKind.DECIDES})
#: the fields each kind needs (besides `rule`), and those it may also take
NEEDS: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.BLOCKS_START: ("states",),
    RuleKind.REQUIRES_FINAL: ("states",),
    RuleKind.CHILDREN_AGREE: ("states", "child_states", "quantity"),
    RuleKind.COUNTS: ("mapping",),
    RuleKind.MATCHES: ("field", "mapping"),
    RuleKind.FIELD_FITS: ("field", "mapping"),
    RuleKind.DECIDES: ("field", "mapping"),
}
TAKES: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.BLOCKS_START: ("child_states",),
    RuleKind.CHILDREN_AGREE: ("reached",),
    RuleKind.DECIDES: ("decisions",),
}
#: the fields whose use depends on the kind
SPECIFIC = ("states", "child_states", "reached", "quantity", "field", "mapping", "decisions")


def _rules(d: Definition) -> Iterator[tuple[Constraint, str | None]]:
    """Every rule of `d` with the child machine of its relation (None: an own-field rule)."""
    for related in d.related.values():
        for constraint in related.rules:
            yield constraint, related.machine
    for constraint in d.rules:
        yield constraint, None


def _given(c: Constraint) -> set[str]:
    """The kind-specific fields a rule sets: written in the file, or given a value."""
    return {
        name for name in SPECIFIC if name in c.at or getattr(c, name) not in ((), False, None, {})
    }


@check("SM090", "related-unknown-machine")
def related_unknown_machine(ctx: Context) -> Iterator[Finding]:
    """A relation must name a machine that is loaded beside it (checked together, or
    bundled)."""
    known = set(ctx.machines) | {ctx.definition.name}
    names = Vocabulary(known)
    for related in ctx.definition.related.values():
        if related.machine not in known:
            yield related_unknown_machine.at(
                related.location,
                f"related machine '{related.machine}' is not loaded"
                f"{names.suggest(related.machine)}; check it together with that machine",
            )


@check("SM091", "related-to-itself")
def related_to_itself(ctx: Context) -> Iterator[Finding]:
    """A machine may not relate to itself: its rules judge a parent against other rows (its
    children), and a row that is its own child would be judged against itself."""
    d = ctx.definition
    if d.name in d.related:
        yield related_to_itself.at(
            d.related[d.name].location,
            f"machine '{d.name}' is related to itself; relate it to another machine, or put "
            "rules on its own fields under the top-level `rules`",
        )


@check("SM092", "rule-unknown-state")
def rule_unknown_state(ctx: Context) -> Iterator[Finding]:
    """A rule's `states` must be states of the machine that declares it (the parent), its
    `child_states` states of the related (child) machine."""
    d = ctx.definition
    for c, child_name in _rules(d):
        child = ctx.machine(child_name) if child_name else None
        for field, machine in (("states", d), ("child_states", child)):
            if machine is None:
                continue
            known = Vocabulary(machine.states)
            for name in getattr(c, field):
                if name not in machine.states:
                    yield rule_unknown_state.at(
                        c.where(field),
                        f"{c.kind} rule {field} '{name}' is not a state of {machine.name}"
                        f"{known.suggest(name)}",
                    )


@check("SM093", "rule-unknown-mapping")
def rule_unknown_mapping(ctx: Context) -> Iterator[Finding]:
    """A rule's `mapping` must be a mapping of the machine it reads: the child's for
    `counts` and `matches` (the labels of its children's final statuses), the machine's own
    for `field_fits` and `decides`."""
    for c, child_name in _rules(ctx.definition):
        owner = ctx.definition if c.kind in OWN else ctx.machine(child_name or "")
        if c.mapping is None or owner is None or c.mapping in owner.mappings:
            continue
        yield rule_unknown_mapping.at(
            c.where("mapping"),
            f"{c.kind} rule mapping '{c.mapping}' is not a mapping of {owner.name}"
            f"{Vocabulary(owner.mappings).suggest(c.mapping)}; name one declared under its "
            "`mappings`",
        )


def _labels(mapping: LabelMap) -> set[str]:
    return set(mapping.labels) | {label for labels in mapping.entries.values() for label in labels}


@check("SM094", "decision-unknown")
def decision_unknown(ctx: Context) -> Iterator[Finding]:
    """A `decides` rule's decisions are keyed by states of the machine and give labels of
    its `mapping` (listed under `labels`, or a value of an entry)."""
    d = ctx.definition
    states = Vocabulary(d.states)
    for c, _ in _rules(d):
        mapping = d.mappings.get(c.mapping or "")
        labels = _labels(mapping) if mapping else set()
        for status, decided in c.decisions.items():
            if status not in d.states:
                yield decision_unknown.at(
                    c.where("decisions"),
                    f"decision for '{status}', which is not a state of {d.name}"
                    f"{states.suggest(status)}",
                )
            for value, label in decided.items():
                if mapping is not None and label not in labels:
                    yield decision_unknown.at(
                        c.where("decisions"),
                        f"decision {status}: {value} gives '{label}', which is not a label of "
                        f"mapping '{mapping.name}'{Vocabulary(labels).suggest(label)}",
                    )


@check("SM095", "rule-field-missing")
def rule_field_missing(ctx: Context) -> Iterator[Finding]:
    """Each rule kind needs its fields: `states` (blocks_start, requires_final,
    children_agree), `child_states` and `quantity` (children_agree), `field` (matches,
    field_fits, decides), `mapping` (counts, matches, field_fits, decides)."""
    for c, _ in _rules(ctx.definition):
        missing = [name for name in NEEDS[c.kind] if name not in _given(c)]
        if missing:
            yield rule_field_missing.at(
                c.location,
                f"{c.kind} rule needs {', '.join(f'`{name}`' for name in missing)}; add "
                f"{'them' if len(missing) > 1 else 'it'} (docs/format.md, Coupled lifecycles)",
            )


@check("SM096", "rule-field-not-taken")
def rule_field_not_taken(ctx: Context) -> Iterator[Finding]:
    """A rule kind takes only its own fields: `quantity` and `reached` only children_agree,
    `child_states` only blocks_start and children_agree, `decisions` only decides, and so
    on. A field the kind ignores would be a rule that silently means less than it says."""
    for c, _ in _rules(ctx.definition):
        allowed = {*NEEDS[c.kind], *TAKES.get(c.kind, ())}
        for name in sorted(_given(c) - allowed, key=SPECIFIC.index):
            yield rule_field_not_taken.at(
                c.where(name),
                f"{c.kind} rule does not take `{name}`; remove it (it takes "
                f"{', '.join(f'`{n}`' for n in sorted(allowed, key=SPECIFIC.index))})",
            )


@check("SM097", "rule-misplaced")
def rule_misplaced(ctx: Context) -> Iterator[Finding]:
    """Rules between a parent and its children stand under a relation (`related: CHILD:
    rules:`); rules on the machine's own fields (field_fits, decides) under the top-level
    `rules`."""
    for c, child_name in _rules(ctx.definition):
        if child_name and c.kind in OWN:
            yield rule_misplaced.at(
                c.location,
                f"{c.kind} rule judges the machine's own field, not its children; move it "
                "to the top-level `rules`",
            )
        elif not child_name and c.kind not in OWN:
            yield rule_misplaced.at(
                c.location,
                f"{c.kind} rule judges a parent against its children; move it under "
                "`related: <child machine>: rules:`",
            )


@check("SM098", "coupling-missing-evidence", Severity.WARNING)
def coupling_missing_evidence(ctx: Context) -> Iterator[Finding]:
    """Every relation and every rule should carry `evidence` (`documented` quoting the
    words that say it, or `inferred` with a one-line reason), in definitions that declare
    `sources`, like states and transitions (SM070)."""
    d = ctx.definition
    if not d.sources:
        return
    for related in d.related.values():
        if related.evidence is None:
            yield coupling_missing_evidence.at(
                related.location,
                f"relation to '{related.machine}' has no evidence; add "
                "`evidence: {documented: ...}` or `{inferred: ...}`",
            )
    for c, _ in _rules(d):
        if c.evidence is None:
            yield coupling_missing_evidence.at(
                c.location,
                f"{c.kind} rule has no evidence; add `evidence: {{documented: ...}}` or "
                "`{inferred: ...}`",
            )
