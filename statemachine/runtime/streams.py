"""Real status streams: a verdict for every incoming status, from the lifecycle's own graph.

Webhooks arrive late, twice, swapped, or after steps the provider never reports. For an
entity in state `c` and an incoming status `s` the graph (`statemachine.graph.row`) says
whether `s` is one legal move ahead, ahead past statuses that never arrived, behind, on a
cycle with `c`, or unrelated; ordering keys (provider sequence number, then event time, then
arrival) overrule it where they can: an event older than the last applied one is `stale`
whatever the graph says, and a newer one resolves an `ambiguous` cycle as a skip ahead.
A `Policy` says what each verdict does (apply, ignore, raise).

Applying a verdict to an object (locking, reading and writing it) is `Lifecycle.apply`'s job.
Guards: `apply` evaluates every guard on the edges of the path the move takes (the graph's
path with the fewest reported states in between, unreported and missing states included); a
guard that does not hold makes the verdict `illegal`. `classify` and `replay` have no object
to evaluate guards on and decide from the graph alone, as `check` does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import attrs

from statemachine.checks.references import Vocabulary
from statemachine.graph import Kind, Relation, graph_of, row
from statemachine.io.events import Event, Key
from statemachine.model.definition import Definition
from statemachine.runtime.errors import (
    AcknowledgementStatus,
    IllegalTransition,
    RepeatedStatus,
    UnknownStatus,
)

__all__ = [
    "DEFAULT_POLICY",
    "UNKEYED",
    "Action",
    "Event",
    "Kept",
    "Key",
    "Policy",
    "Rejected",
    "RejectedRepeat",
    "RejectedUnknown",
    "Verdict",
    "Verdicts",
    "classify",
    "counted",
    "judging",
    "merged",
    "nearest_status",
    "not_a_state",
    "rejected",
    "replay",
    "shown",
    "verdicts",
]


def shown(status: str) -> str:
    """`status` as a message shows it: bare when plain, repr-quoted when it holds whitespace,
    control or other unprintable characters (`'ringing '`), or is empty."""
    if status and status.isprintable() and not any(c.isspace() for c in status):
        return status
    return repr(status)


def counted(n: int, noun: str) -> str:
    """`n noun` with the noun in the plural unless `n` is 1: `1 entity`, `2 entities`,
    `1,200 events`."""
    if n != 1:
        noun = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun}"


@attrs.frozen
class Verdict:
    """What one incoming status is, and what it did (or would do) to the entity."""

    kind: Kind
    #: the incoming value as delivered
    status: str
    #: the entity's state before (None: a new entity)
    before: str | None
    #: the state after: `before` unless the status was applied
    after: str | None
    #: reported states on the way that never arrived
    skipped: tuple[str, ...] = ()
    #: unreported states the move passed through
    through: tuple[str, ...] = ()
    message: str = ""


class Action(enum.StrEnum):
    """What a verdict does to the entity."""

    APPLY = "apply"
    IGNORE = "ignore"
    RAISE = "raise"


def _not_apply(_: object, attribute: attrs.Attribute[Any], value: Action) -> None:
    if value is Action.APPLY:
        raise ValueError(f"{attribute.name} cannot be {value}: such a value is no state")


@attrs.frozen(cache_hash=True)
class Policy:
    """What each verdict does; `applied` always applies.

    The defaults are a webhook handler's: apply a status that skipped unarrived ones (the
    provider is ahead of us), ignore late and repeated deliveries (acknowledge and drop),
    apply an `ambiguous` one (when neither ordering keys nor the graph order two statuses,
    arrival order is the last evidence left), raise on `illegal` and `unknown` (alert), and
    ignore an `informational` event (a legitimate delivery that is no status).
    """

    skipped: Action = attrs.field(default=Action.APPLY, converter=Action)
    stale: Action = attrs.field(default=Action.IGNORE, converter=Action)
    repeated: Action = attrs.field(default=Action.IGNORE, converter=Action)
    ambiguous: Action = attrs.field(default=Action.APPLY, converter=Action)
    illegal: Action = attrs.field(default=Action.RAISE, converter=Action)
    unknown: Action = attrs.field(default=Action.RAISE, converter=Action, validator=_not_apply)
    informational: Action = attrs.field(
        default=Action.IGNORE, converter=Action, validator=_not_apply
    )

    def action(self, kind: Kind) -> Action:
        """What a verdict of `kind` does under this policy."""
        return Action.APPLY if kind is Kind.APPLIED else Action(getattr(self, kind.value))


DEFAULT_POLICY = Policy()


class Rejected(IllegalTransition):
    """`apply` refused an incoming status because its policy raises on the verdict."""

    verdict: Verdict


class RejectedRepeat(RepeatedStatus, Rejected):
    """A repeated status under a policy that raises on repeats."""


class RejectedUnknown(UnknownStatus, Rejected):
    """A value that is no status of the machine (or an acknowledgement only)."""


# -- verdicts from the graph ----------------------------------------------------------------


def nearest_status(d: Definition, status: str) -> str | None:
    """The state or alias of `d` nearest the unknown `status`, if any is close; the names are
    indexed once per definition, so a stream of garbage costs no rebuilding per value."""
    names = d.derived.get("status names")
    if names is None:
        names = d.derived["status names"] = Vocabulary([*d.states, *d.aliases])
    assert isinstance(names, Vocabulary)
    return names.nearest(status)


def _shown_value(value: object) -> str:
    """A wrong-typed value as a message shows it: its type and a bounded repr."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def not_a_state(d: Definition, status: object, object_id: object = None) -> IllegalTransition:
    """The error for a value that is no status of `d`: `AcknowledgementStatus` for an
    acknowledgement, else `UnknownStatus` (with the nearest status as a suggestion)."""
    if not isinstance(status, str):
        return UnknownStatus(
            f"{d.name}: a status is a string, not {_shown_value(status)}",
            status=status,
            suggestions=[],
            machine=d.name,
            object_id=object_id,
        )
    if status in d.acknowledgements:
        return AcknowledgementStatus(
            f"{d.name}: '{status}' is an acknowledgement only, never a "
            f"{d.object or 'lifecycle'} status; fetch the real status instead",
            machine=d.name,
            source=status,
            object_id=object_id,
        )
    near = nearest_status(d, status)
    hint = f"; did you mean '{near}'?" if near else ""
    if status in d.informational:
        hint = ": it is informational, never a state (`advance` and `apply` ignore it)"
    return UnknownStatus(
        f"{d.name}: unknown status '{status}'{hint}",
        status=status,
        suggestions=[near] if near else [],
        machine=d.name,
        source=status,
        object_id=object_id,
    )


def _unknown(d: Definition, before: str | None, status: str, current: str | None) -> Verdict:
    if current is not None and before is None:
        what = f"current status {shown(current)} is not a status of {d.name}; repair it"
    elif status in d.acknowledgements:
        what = (
            f"{shown(status)} is an acknowledgement only, never a {d.object or 'lifecycle'} "
            "status; fetch the real status instead"
        )
    else:
        near = nearest_status(d, status)
        hint = f"; did you mean {near!r}?" if near else ""
        what = f"unknown status {status!r}{hint}"
    return Verdict(Kind.UNKNOWN, status, before, before, message=what)


def _message(d: Definition, found: Relation, status: str) -> str:
    """The operator-readable sentence for a graph verdict."""
    before, dest = found.source, found.dest
    if found.kind is Kind.INFORMATIONAL:
        now = "no status yet" if before is None else f"the status stays {shown(before)}"
        return (
            f"{shown(status)} is informational, never a {d.object or 'lifecycle'} status: "
            f"accepted and ignored, {now}"
        )
    assert dest is not None
    to = shown(status) if d.resolve(status) == status else f"{shown(status)} ({shown(dest)})"
    names = ", ".join
    if found.kind is Kind.APPLIED:
        via = f" through {names(map(shown, found.through))}" if found.through else ""
        if before is None:
            return f"new entity starts at {to}{via}"
        return f"{shown(before)} -> {to}{via}"
    if found.kind is Kind.REPEATED:
        return f"already {shown(dest)}"
    if found.kind is Kind.SKIPPED:
        origin = "new entity" if before is None else shown(before)
        # equally near from several entry states: any one of those paths was lost
        lost = " or ".join(names(map(shown, m)) for m in found.candidates or (found.missing,))
        return f"{origin} -> {to}: {lost} never arrived"
    assert before is not None or found.kind is Kind.ILLEGAL
    if found.kind is Kind.STALE:
        return f"late {to}: already {shown(before or '')}, which comes after it"
    if found.kind is Kind.AMBIGUOUS:
        return (
            f"{shown(before or '')} and {to} lie on a cycle, not one move apart: cannot tell "
            "whether it is ahead or behind"
        )
    graph = graph_of(d)
    if before is None:
        entries = names(map(shown, graph.entries))
        return f"{to} cannot be a first status: a new entity starts at {entries}"
    if d.states[before].final:
        return f"cannot go from {shown(before)} to {to}: {shown(before)} is final"
    allowed = names(map(shown, graph.successors[before])) or "nothing"
    return f"cannot go from {shown(before)} to {to}: allowed from {shown(before)}: {allowed}"


def _judge(d: Definition, policy: Policy, current: str | None, status: str) -> Verdict:
    """The graph's verdict for `status` arriving at an entity in `current`, under `policy`."""
    for value in (current, status):
        if value is not None and not isinstance(value, str):
            what = f"{value!r} is a {type(value).__name__}, not a status value"
            shown_as = status if isinstance(status, str) else repr(status)
            return Verdict(Kind.UNKNOWN, shown_as, None, None, message=what)
    state = None if current is None else d.resolve(current)
    if current is not None and state is None:
        return _unknown(d, None, status, current)
    found = row(graph_of(d), state).get(status)
    if found is None:
        return _unknown(d, state, status, None)
    applies = policy.action(found.kind) is Action.APPLY
    return Verdict(
        found.kind,
        status,
        state,
        found.dest if applies else state,
        found.missing,
        found.through,
        _message(d, found, status),
    )


class Verdicts:
    """The verdicts of one definition under one policy, per (current, status), made when first
    asked for. Only known values are kept, so garbage input costs no memory."""

    def __init__(self, definition: Definition, policy: Policy) -> None:
        self.definition = definition
        self.policy = policy
        #: current status -> incoming status -> verdict: the fast path reads it directly
        self.rows: dict[str | None, dict[str, Verdict]] = {}
        #: the part of `rows` that `apply` stores without further thought: applied verdicts
        #: of a machine without guards
        self.moves: dict[str | None, dict[str, Verdict]] = {}
        self.actions = {kind: policy.action(kind) for kind in Kind}
        #: whether `apply` must evaluate guards at all
        self.guarded = any(t.conditions for t in definition.transitions)

    def of(self, current: str | None, status: str) -> Verdict:
        """The verdict for `status` arriving at an entity in `current`."""
        try:
            return self.rows[current][status]
        except (KeyError, TypeError):
            return self.verdict(current, status)

    def verdict(self, current: str | None, status: str) -> Verdict:
        """The slow path of `of`: make and keep the verdict."""
        found = _judge(self.definition, self.policy, current, status)
        if found.kind is not Kind.UNKNOWN:
            self.rows.setdefault(current, {})[status] = found
            if found.kind is Kind.APPLIED and not self.guarded:
                self.moves.setdefault(current, {})[status] = found
        return found

    def keyed(self, verdict: Verdict, key: Key, last: Key) -> tuple[Verdict, bool]:
        """The verdict once the event's key is compared with the last applied one, and
        whether the event confirms the entity's status as of a newer key (a repeat with a
        newer key)."""
        if key[2] is not None and key[2] == last[2]:
            message = f"event {shown(key[2])} delivered again"
            return self.recast(verdict, Kind.REPEATED, message), False
        order = _order(key, last)
        if order < 0:
            seq = key[0] is not None and last[0] is not None and key[0] != last[0]
            what, now, was = ("seq", key[0], last[0]) if seq else ("time", key[1], last[1])
            message = (
                f"late {shown(verdict.status)}: its {what} {_key_text(now)} is older than the "
                f"last applied status's {what} {_key_text(was)}"
            )
            return self.recast(verdict, Kind.STALE, message), False
        if order > 0 and verdict.kind is Kind.AMBIGUOUS:
            message = f"{verdict.message}; its newer key puts it ahead"
            return self.recast(verdict, Kind.SKIPPED, message), False
        return verdict, order > 0 and verdict.kind is Kind.REPEATED

    def recast(self, verdict: Verdict, kind: Kind, message: str) -> Verdict:
        """`verdict` as another kind, `after` following the policy for that kind."""
        dest = self.definition.resolve(verdict.status)
        applies = self.actions[kind] is Action.APPLY
        return attrs.evolve(
            verdict, kind=kind, after=dest if applies else verdict.before, message=message
        )


def verdicts(definition: Definition, policy: Policy = DEFAULT_POLICY) -> Verdicts:
    """The verdict table of `definition` under `policy`, kept with the definition (by the
    policy's identity, which the table keeps alive: a lookup costs no hashing)."""
    tables: dict[int, Verdicts] = definition.derived.setdefault("verdicts", {})
    found = tables.get(id(policy))
    if found is None:
        found = tables[id(policy)] = Verdicts(definition, policy)
    return found


def classify(
    definition: Definition, current: str | None, status: str, policy: Policy = DEFAULT_POLICY
) -> Verdict:
    """The verdict for `status` arriving at an entity in `current` (None: a new entity),
    from the graph alone; `after` is where `policy` would leave the entity."""
    return verdicts(definition, policy).of(current, status)


# -- ordering keys ------------------------------------------------------------------------------

#: the verdicts ordering keys never change: the value is no state of the lifecycle
UNKEYED = frozenset({Kind.UNKNOWN, Kind.INFORMATIONAL})


def _order(key: Key, last: Key) -> int:
    """-1 when `key` is older than `last`, 1 when newer, 0 when equal or incomparable:
    the sequence number decides first, then the event time."""
    seq, at, _ = key
    last_seq, last_at, _ = last
    if seq is not None and last_seq is not None and seq != last_seq:
        return -1 if seq < last_seq else 1
    if at is not None and last_at is not None and at != last_at:
        return -1 if at < last_at else 1
    return 0


def _key_text(value: int | datetime | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def merged(key: Key | None, last: Key | None) -> Key | None:
    """The key to keep once an event with `key` is applied over one with `last`: each part
    the event does not carry (None) is kept from `last`, so an event without a sequence
    number (or without any key) never makes an older one look new again."""
    if key is None or last is None:
        return last if key is None else key
    seq, at, event_id = key
    return (
        last[0] if seq is None else seq,
        last[1] if at is None else at,
        last[2] if event_id is None else event_id,
    )


# -- rejecting and replaying ---------------------------------------------------------------------


def rejected(d: Definition, verdict: Verdict, object_id: object) -> Rejected:
    """The error `apply` raises for a verdict its policy raises on; it carries the verdict."""
    who = f" ({object_id})" if object_id is not None else ""
    text = f"{d.name}{who}: {verdict.kind}: {verdict.message}"
    common: dict[str, Any] = {
        "machine": d.name,
        "source": verdict.before,
        "dest": d.resolve(verdict.status),
        "object_id": object_id,
    }
    err: Rejected
    if verdict.kind is Kind.UNKNOWN:
        near = nearest_status(d, verdict.status)
        err = RejectedUnknown(
            text, status=verdict.status, suggestions=[near] if near else [], **common
        )
    elif verdict.kind is Kind.REPEATED:
        err = RejectedRepeat(text, **common)
    else:
        err = Rejected(text, **common)
    err.verdict = verdict
    return err


#: what replay keeps of an entity: its status and its last applied key
Kept = tuple[str | None, Key | None]


def judging(
    d: Definition, policy: Policy = DEFAULT_POLICY, entities: dict[str, Kept] | None = None
) -> Callable[[str, str, Key | None], Verdict]:
    """A judge of deliveries in arrival order, many entities interleaved: called with an
    entity's id, the status delivered and the event's key (None: it carries none), it gives
    the verdict and keeps the entity's status and last applied key (see `merged`) in
    `entities`, as `replay` does. For callers that hold the values already and need no
    `Event`; one that knows an entity's history has ended may drop it from `entities`."""
    table = verdicts(d, policy)
    rows, actions = table.rows, table.actions
    entities = {} if entities is None else entities

    def judge(ident: str, status: str, key: Key | None) -> Verdict:
        current, last = entities.get(ident, (None, None))
        try:
            verdict = rows[current][status]
        except (KeyError, TypeError):
            verdict = table.verdict(current, status)
        confirms = False
        if key is not None and last is not None and verdict.kind not in UNKEYED:
            verdict, confirms = table.keyed(verdict, key, last)
        if actions[verdict.kind] is Action.APPLY or confirms:
            entities[ident] = (verdict.after, merged(key, last))
        return verdict

    return judge


def replay(
    d: Definition, events: Iterable[Event], policy: Policy = DEFAULT_POLICY
) -> Iterator[tuple[Event, Verdict]]:
    """`Lifecycle.replay`: each event with its verdict, in arrival order, many entities
    interleaved, keeping each entity's status and last applied key (see `merged`). Never
    raises for a verdict (what `policy` raises on is left unapplied); guards are not
    evaluated."""
    judge = judging(d, policy)
    for event in events:
        yield event, judge(event.id, event.status, event.key)
