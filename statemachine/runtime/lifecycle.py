"""A lifecycle at run time: transitions' trigger style and a fast status style, always agreeing."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from transitions.core import EventData

from statemachine.checks.references import nearest
from statemachine.model.definition import Definition
from statemachine.runtime.errors import (
    AcknowledgementStatus,
    DefinitionError,
    GuardNotRegistered,
    IllegalTransition,
    RepeatedStatus,
    StatusConflict,
    UnknownStatus,
)
from statemachine.runtime.machine import (
    Guard,
    LifecycleMachine,
    LockedLifecycleMachine,
    machine_config,
)
from statemachine.runtime.settings import settings_problems

__all__ = ["Lifecycle", "Move", "Step"]

_LOCK_STRIPES = 64


@attrs.frozen
class Move:
    """One legal move between two states, as the transitions machine defines it."""

    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...] = ()
    transition: Any = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Step:
    """One step of a status history: its index, the statuses, and the move or the rejection."""

    index: int
    source: str
    dest: str
    move: Move | None = None
    error: IllegalTransition | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.error is None


def _unregistered(name: str) -> Guard:
    def guard(event: EventData) -> bool:
        raise GuardNotRegistered(f"guard '{name}' is not registered; pass it in `guards`")

    return guard


class Lifecycle:
    """One definition as a transitions machine plus a status-style lookup derived from it.

    Trigger style: `attach(model)` registers a model with the transitions machine, which gives
    it `complete()`, `may_complete()` and the rest. Status style: `check`, `is_allowed`,
    `advance` and `check_sequence` take status values as webhooks deliver them, at the cost
    of two dictionary lookups and with no per-object registration.
    """

    def __init__(
        self,
        definition: Definition,
        guards: Mapping[str, Guard] | None = None,
        *,
        locked: bool = False,
        structural: bool = False,
    ) -> None:
        """Build the machine. Every guard the definition uses must be in `guards`, else
        `GuardNotRegistered`; `structural=True` instead builds a machine for `check`,
        `is_allowed` and `check_sequence` only, whose guards raise if evaluated."""
        if definition.start is None:
            raise DefinitionError(f"{definition.name}: no initial state")
        self.initial: str = definition.start
        guards = dict(guards or {})
        used = sorted({c for t in definition.transitions for c in t.conditions})
        missing = [name for name in used if name not in guards]
        if missing and not structural:
            raise GuardNotRegistered(
                f"{definition.name}: guard(s) {', '.join(missing)} not registered; pass "
                "them as Lifecycle(definition, guards={name: callable(event_data) -> bool})"
            )
        for name in missing:
            guards[name] = _unregistered(name)
        self.definition = definition
        self.name = definition.name
        self.field = definition.field
        cls = LockedLifecycleMachine if locked else LifecycleMachine
        self.machine = cls(model=None, **machine_config(definition, guards))
        self.machine.lifecycle = self
        self._moves = self._derive_moves()
        self._lookup = self._with_aliases()
        self._locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))

    def _derive_moves(self) -> dict[str, dict[str, tuple[Move, ...]]]:
        """Every move, read from the transitions machine's own events (not from the YAML)."""
        moves: dict[str, dict[str, list[Move]]] = {name: {} for name in self.machine.states}
        for event in self.machine.events.values():
            for source, transitions in event.transitions.items():
                for t in transitions:
                    names = tuple(getattr(c.func, "__name__", str(c.func)) for c in t.conditions)
                    move = Move(event.name, source, str(t.dest), names, t)
                    moves[source].setdefault(move.dest, []).append(move)
        return {src: {dst: tuple(ms) for dst, ms in by.items()} for src, by in moves.items()}

    def _with_aliases(self) -> dict[str, dict[str, Move]]:
        """status value -> status value -> first move, aliases included as keys."""
        aliases = {a.name: a.state for a in self.definition.aliases.values()}
        values = {**{s: s for s in self._moves}, **aliases}
        return {
            value: {
                target: self._moves[state][canonical][0]
                for target, canonical in values.items()
                if canonical in self._moves[state]
            }
            for value, state in values.items()
        }

    # -- status style -------------------------------------------------------------------------

    def check(self, source: str, dest: str) -> Move:
        """The move from status `source` to `dest` (aliases resolved); raises the rejection.
        Guards are not evaluated here: `advance` evaluates them."""
        try:
            return self._lookup[source][dest]
        except KeyError:
            raise self.rejection(source, dest) from None

    def is_allowed(self, source: str, dest: str) -> bool:
        """Whether some transition leads from `source` to `dest` (guards not evaluated)."""
        nexts = self._lookup.get(source)
        return nexts is not None and dest in nexts

    def allowed_from(self, status: str) -> tuple[str, ...]:
        """The states reachable in one move from `status`."""
        state = self.definition.resolve(status)
        return tuple(self._moves[state]) if state is not None else ()

    def canonical(self, status: str) -> str:
        """The state a status value means (an alias resolved); raises for anything else."""
        state = self.definition.resolve(status)
        if state is None:
            raise self._not_a_state(status)
        return state

    def check_sequence(self, statuses: Iterable[str]) -> Step | None:
        """The first illegal step of a status history, or None when every step is legal."""
        for step in self.steps(statuses):
            if not step.ok:
                return step
        return None

    def steps(self, statuses: Iterable[str]) -> list[Step]:
        """Each step of a history with its move, stopping at the first illegal one."""
        history = list(statuses)
        result: list[Step] = []
        if history:
            self.canonical(history[0])
        for i in range(1, len(history)):
            src, dst = history[i - 1], history[i]
            try:
                result.append(Step(i, src, dst, self.check(src, dst)))
            except IllegalTransition as err:
                result.append(Step(i, src, dst, None, err))
                break
        return result

    def advance(
        self,
        obj: Any,
        dest: str,
        *,
        expected: str | None = None,
        ignore_repeat: bool = False,
        object_id: object = None,
        **data: Any,
    ) -> Move | None:
        """Set `obj`'s status field to `dest` if the lifecycle allows the move, atomically.

        With `expected`, compare-and-set: fails with `StatusConflict` unless the current
        status is still `expected`. A repeated status raises `RepeatedStatus`, or returns None
        with `ignore_repeat=True`. Guards receive an EventData with `model=obj` and `data` as
        kwargs. An object whose field is missing or None starts at the initial state.
        """
        with self.lock_for(obj, object_id):
            current = self.read_status(obj)
            if expected is not None and current != expected:
                raise StatusConflict(
                    f"{self.name}: status of {object_id or 'object'} is {current}, "
                    f"not the expected {expected}; re-read it and decide again",
                    machine=self.name,
                    source=current,
                    dest=dest,
                    object_id=object_id,
                )
            if current is None:
                current = self.initial
                if self.canonical(dest) == current:
                    self.write_status(obj, current)
                    return None
            try:
                move = self._lookup[current][dest]
            except KeyError:
                err = self.rejection(current, dest, object_id)
                if ignore_repeat and isinstance(err, RepeatedStatus):
                    return None
                raise err from None
            if move.conditions:
                move = self._guarded(obj, move, object_id, data)
            self.write_status(obj, move.dest)
            return move

    def lock_for(self, obj: Any, object_id: object = None) -> threading.Lock:
        """The lock that serialises status changes of `obj` (or of the entity `object_id`)."""
        return self._locks[id(obj) % _LOCK_STRIPES]

    def read_status(self, obj: Any) -> Any:
        """The status `obj` holds in the definition's field (None when it holds none)."""
        return getattr(obj, self.field, None)

    def write_status(self, obj: Any, status: str) -> None:
        """Store `status` in `obj`'s field."""
        setattr(obj, self.field, status)

    def _guarded(self, obj: Any, first: Move, object_id: object, data: dict[str, Any]) -> Move:
        machine = self.machine
        for move in self._moves[first.source][first.dest]:
            event = EventData(
                machine.get_state(move.source),
                machine.events[move.trigger],
                machine,
                obj,
                args=(),
                kwargs=data,
            )
            event.transition = move.transition
            if all(c.check(event) for c in move.transition.conditions):
                return move
        names = sorted({c for m in self._moves[first.source][first.dest] for c in m.conditions})
        raise IllegalTransition(
            f"{self.name}: cannot go from {first.source} to {first.dest}: "
            f"guard {' and '.join(names)} does not hold",
            machine=self.name,
            source=first.source,
            dest=first.dest,
            allowed=self.allowed_from(first.source),
            object_id=object_id,
        )

    def settings_problems(self, values: Mapping[str, Any]) -> list[str]:
        """Every way `values` breaks the definition's `settings`; empty when valid."""
        return settings_problems(self.definition, values)

    # -- trigger style ------------------------------------------------------------------------

    def attach(self, model: Any, initial: str | None = None) -> Any:
        """Register `model` with the transitions machine (transitions' `add_model`), giving it
        a trigger method per event, `may_<trigger>()` and `is_<field>_<state>()`."""
        self.machine.add_model(model, initial=self.canonical(initial) if initial else None)
        return model

    def detach(self, model: Any) -> None:
        """Unregister `model` (transitions' `remove_model`)."""
        self.machine.remove_model(model)

    # -- rejections ---------------------------------------------------------------------------

    def _not_a_state(self, status: str, object_id: object = None) -> IllegalTransition:
        d = self.definition
        if status in d.acknowledgements:
            return AcknowledgementStatus(
                f"{self.name}: '{status}' is an acknowledgement only, never a "
                f"{d.object or 'lifecycle'} status; fetch the real status instead",
                machine=self.name,
                source=status,
                object_id=object_id,
            )
        near = nearest(status, [*d.states, *d.aliases])
        hint = f"; did you mean '{near}'?" if near else ""
        return UnknownStatus(
            f"{self.name}: unknown status '{status}'{hint}",
            status=status,
            suggestions=[near] if near else [],
            machine=self.name,
            source=status,
            object_id=object_id,
        )

    def rejection(self, source: str, dest: str, object_id: object = None) -> IllegalTransition:
        """The error explaining why `source -> dest` is not allowed."""
        for status in (source, dest):
            if self.definition.resolve(status) is None:
                return self._not_a_state(status, object_id)
        src, dst = self.canonical(source), self.canonical(dest)
        allowed = self.allowed_from(src)
        common: dict[str, Any] = {
            "machine": self.name,
            "source": src,
            "dest": dst,
            "allowed": allowed,
            "object_id": object_id,
        }
        who = f" ({object_id})" if object_id is not None else ""
        if src == dst:
            return RepeatedStatus(f"{self.name}{who}: already {src}", **common)
        if self.definition.states[src].final:
            why = f"{src} is final"
        else:
            why = f"allowed from {src}: {', '.join(allowed) or 'nothing'}"
        return IllegalTransition(
            f"{self.name}{who}: cannot go from {src} to {dst}: {why}", **common
        )

    def trigger_rejection(self, trigger: str, state: str) -> IllegalTransition:
        """The error for firing `trigger` in `state` (trigger style)."""
        triggers = self.machine.get_triggers(state)
        if self.definition.states[state].final:
            why = f"{state} is final"
        else:
            why = f"triggers allowed from {state}: {', '.join(triggers) or 'none'}"
        return IllegalTransition(
            f"{self.name}: cannot {trigger} from {state}: {why}",
            machine=self.name,
            source=state,
            trigger=trigger,
            allowed=self.allowed_from(state),
        )
