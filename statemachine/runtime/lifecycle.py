"""A lifecycle at run time: transitions' trigger style and a fast status style, always agreeing."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs
from transitions.core import EventData

from statemachine.graph import Kind, graph_of
from statemachine.graph import row as relation_row
from statemachine.graph.paths import walk
from statemachine.io.events import Event, Key, utc
from statemachine.model.definition import Definition
from statemachine.runtime import locks, streams
from statemachine.runtime.errors import (
    DefinitionError,
    GuardNotRegistered,
    IllegalTransition,
    RepeatedStatus,
    StatusConflict,
)
from statemachine.runtime.locks import EntityLock, wait_for, wake
from statemachine.runtime.machine import (
    Guard,
    LifecycleMachine,
    locked_machine_class,
    machine_config,
    model_clash,
)
from statemachine.runtime.settings import settings_problems
from statemachine.runtime.streams import DEFAULT_POLICY, Action, Policy, Verdict, Verdicts, shown

__all__ = ["EntityLock", "Lifecycle", "Move", "Step"]

# bound by assignment, not imported: CPython 3.11 compiles `name.method(...)` on an imported
# name as an attribute load and a call, which makes a bound method per call (~35 ns)
_HELD, _WAITING = locks.HELD, locks.WAITING
# enum members as plain globals: reading `Kind.APPLIED` costs ~10x a global in Python 3.11
_APPLIED, _UNKEYED = Kind.APPLIED, streams.UNKEYED
_APPLY, _RAISE = Action.APPLY, Action.RAISE


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


def _load(obj: Any, row: bool, name: str) -> Any:
    """`obj`'s field `name` (`row`: `obj` is a dict row and `name` a key); None when absent.
    The hot paths of `advance` and `apply` inline it: a call costs ~40 ns there."""
    return obj.get(name) if row else getattr(obj, name, None)


def _store(obj: Any, row: bool, name: str, value: object) -> None:
    """Set `obj`'s field `name` (`row`: a dict row's key) to `value`; inlined like `_load`."""
    if row:
        obj[name] = value
    else:
        setattr(obj, name, value)


def _unregistered(name: str) -> Guard:
    def guard(event: EventData) -> bool:
        raise GuardNotRegistered(f"guard '{name}' is not registered; pass it in `guards`")

    return guard


class Lifecycle:
    """One definition as a transitions machine plus a status-style lookup derived from it.

    Trigger style: `attach(model)` registers a model with the transitions machine, which gives
    it `complete()`, `may_complete()` and the rest. Status style: `check`, `is_allowed`,
    `advance` and `check_sequence` take status values as webhooks deliver them, at the cost
    of two dictionary lookups and with no per-object registration. Objects are plain objects
    whose attribute named by the definition's `field` holds the status, or dict rows whose
    key of that name does. A status that is not a string (None where one is required, a
    number, bytes, a list) is an `UnknownStatus`, as is any string that is no status.
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
        `is_allowed` and `check_sequence` only, whose guards raise if evaluated. A
        definition whose status field or a trigger would clash with the methods a model
        gets is a `DefinitionError`. Time and memory are linear in the states,
        transitions and aliases."""
        if definition.start is None:
            raise DefinitionError(f"{definition.name}: no initial state")
        clash = model_clash(definition)
        if clash is not None:
            raise DefinitionError(
                f"{definition.name}: {clash}: the model cannot hold both; rename it"
            )
        self.initial: str = definition.start
        self._entries = frozenset(definition.initial)
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
        cls = locked_machine_class() if locked else LifecycleMachine
        self.machine = cls(model=None, **machine_config(definition, guards))
        self.machine.lifecycle = self
        self._moves = self._derive_moves()
        #: status value (state or alias) -> the state it means
        self._states: dict[object, str] = {s: s for s in self._moves}
        self._states.update((a.name, a.state) for a in definition.aliases.values())
        #: status value (state or alias) -> destination state -> first move; an alias shares
        #: its state's row, and destinations given as aliases are resolved on a miss
        rows = {src: {dst: ms[0] for dst, ms in by.items()} for src, by in self._moves.items()}
        self._lookup: dict[object, dict[str, Move]] = {
            value: rows[state] for value, state in self._states.items()
        }
        #: the verdicts under the default policy, found without a lookup on the hot path
        self._verdicts = streams.verdicts(definition)

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

    def _state_of(self, value: object) -> str | None:
        """The state a status value means, or None (for any value, of any type)."""
        try:
            return self._states.get(value)
        except TypeError:  # unhashable: no status
            return None

    def _find(self, source: object, dest: object) -> Move | None:
        """The move from `source` to `dest`, either given as a state or an alias."""
        src, dst = self._state_of(source), self._state_of(dest)
        if src is None or dst is None:
            return None
        return self._lookup[src].get(dst)

    # -- status style -------------------------------------------------------------------------

    def check(self, source: str, dest: str) -> Move:
        """The move from status `source` to `dest` (aliases resolved); raises the rejection.
        Guards are not evaluated here: `advance` evaluates them."""
        try:
            return self._lookup[source][dest]
        except (KeyError, TypeError):
            move = self._find(source, dest)
            if move is None:
                raise self.rejection(source, dest) from None
            return move

    def is_allowed(self, source: str, dest: str) -> bool:
        """Whether some transition leads from `source` to `dest` (guards not evaluated);
        False for a string that is no status, `UnknownStatus` for a value that is no string."""
        try:
            if dest in self._lookup[source]:
                return True
        except (KeyError, TypeError):
            pass
        for value in (source, dest):
            if not isinstance(value, str):
                raise self._not_a_state(value)
        return self._find(source, dest) is not None

    def allowed_from(self, status: str) -> tuple[str, ...]:
        """The states reachable in one move from `status`."""
        state = self._state_of(status)
        return tuple(self._moves[state]) if state is not None else ()

    def canonical(self, status: str) -> str:
        """The state a status value means (an alias resolved); raises for anything else."""
        state = self._state_of(status)
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
        """Set `obj`'s status to `dest` if the lifecycle allows the move, atomically across
        the process (see `lock_for`): `obj` is an object or a dict row.

        With `expected`, compare-and-set: fails with `StatusConflict` unless the current
        status is still `expected`. A repeated status raises `RepeatedStatus`, or returns None
        with `ignore_repeat=True`. Guards receive an EventData with `model=obj` and `data` as
        kwargs; they run with the entity held, which delays no other entity: a guard may
        advance other entities, never `obj` itself (see `EntityLock`). An object whose status is
        missing or None is new: it starts in any entry state (`dest` itself, stored and None
        returned) or moves from one to `dest`. An informational value (`informational:`)
        changes nothing and returns None.
        """
        key = id(obj) if object_id is None else object_id
        claim: list[int] = []  # `EntityLock`, inlined: no lock object, no thread ident per call
        if _HELD.setdefault(key, claim) is not claim:
            wait_for(key, claim)
        try:
            row = isinstance(obj, dict)  # `_load` and `_store`, decided once per call
            field = self.field
            current = obj.get(field) if row else getattr(obj, field, None)  # `_load`
            if expected is not None and current != expected:
                raise self._conflict(current, expected, dest, object_id)
            try:
                move = self._lookup[current][dest]
            except (KeyError, TypeError):
                if isinstance(dest, str) and dest in self.definition.informational:
                    return None
                if current is None:
                    found = self._entry_move(dest, object_id)
                    if found is None:
                        self.write_status(obj, self.canonical(dest))
                        return None
                else:
                    found = self._find(current, dest)
                    if found is None:
                        err = self.rejection(current, dest, object_id)
                        if ignore_repeat and isinstance(err, RepeatedStatus):
                            return None
                        raise err from None
                move = found
            if move.conditions:
                claim.append(threading.get_ident())  # guards are user code: see `wait_for`
                move = self._guarded(obj, move, object_id, data)
            if row:  # `_store`
                obj[field] = move.dest
            else:
                setattr(obj, field, move.dest)
            return move
        finally:
            del _HELD[key]  # `release`, inlined
            if _WAITING:
                wake()

    def _conflict(
        self, current: Any, expected: str, dest: str, object_id: object
    ) -> StatusConflict:
        """The compare-and-set failure of `advance` and `apply`."""
        return StatusConflict(
            f"{self.name}: status of {object_id or 'object'} is {shown(str(current))}, "
            f"not the expected {shown(expected)}; re-read it and decide again",
            machine=self.name,
            source=current,
            dest=dest,
            object_id=object_id,
        )

    def _entry_move(self, dest: object, object_id: object) -> Move | None:
        """For a new entity: None when `dest` is an entry state, else the first move from an
        entry state to it; raises when neither."""
        state = self._state_of(dest)
        if state in self._entries:
            return None
        if state is not None:
            for entry in self.definition.initial:
                move = self._lookup[entry].get(state)
                if move is not None:
                    return move
        if state is None:
            raise self._not_a_state(dest, object_id)
        entries = self.definition.initial
        onward = {d: None for e in entries for d in self._moves[e]}
        who = f" ({object_id})" if object_id is not None else ""
        raise IllegalTransition(
            f"{self.name}{who}: cannot start at {state}: a new {self.definition.object or 'entity'}"
            f" starts at {' or '.join(entries)}, then {', '.join(onward) or 'nothing'}",
            machine=self.name,
            dest=state,
            allowed=tuple(dict.fromkeys([*entries, *onward])),
            object_id=object_id,
        )

    def lock_for(self, obj: Any, object_id: object = None) -> EntityLock:
        """The lock that serialises status changes of the entity `object_id`, or of `obj`
        when no id is given (by identity: give the id when one entity may be loaded as
        several objects). Shared by every Lifecycle in the process. Hold it (`with`) around
        reading, deciding and writing; it delays only this entity."""
        return EntityLock(id(obj) if object_id is None else object_id)

    def read_status(self, obj: Any) -> Any:
        """The status `obj` holds in the definition's field (a dict row: under that key);
        None when it holds none."""
        return _load(obj, isinstance(obj, dict), self.field)

    def write_status(self, obj: Any, status: str) -> None:
        """Store `status` in `obj`'s field (a dict row: under that key)."""
        _store(obj, isinstance(obj, dict), self.field, status)

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
        a trigger method per event, `may_<trigger>()` and `is_<field>_<state>()`, in O(1) of
        the models already attached (registered by identity).

        A status the model already holds is kept (an alias becomes its state; an unknown
        status raises `UnknownStatus`, an acknowledgement `AcknowledgementStatus`); a model
        that holds none starts at `initial`, else at the first entry state. An `initial` that
        contradicts the held status raises `StatusConflict`."""
        state = self.canonical(initial) if initial is not None else None
        held = self.read_status(model)
        if held is not None:
            stored = self.canonical(held)
            if state is not None and state != stored:
                raise StatusConflict(
                    f"{self.name}: the model holds {stored}, not the initial {state} "
                    "given to attach; attach it without `initial` to keep its status",
                    machine=self.name,
                    source=stored,
                    dest=state,
                )
            state = stored
        self.machine.add_model(model, initial=state)
        return model

    def detach(self, model: Any) -> None:
        """Unregister `model` (transitions' `remove_model`)."""
        self.machine.remove_model(model)

    # -- rejections ---------------------------------------------------------------------------

    def _not_a_state(self, status: object, object_id: object = None) -> IllegalTransition:
        return streams.not_a_state(self.definition, status, object_id)

    def rejection(self, source: str, dest: str, object_id: object = None) -> IllegalTransition:
        """The error explaining why `source -> dest` is not allowed."""
        for status in (source, dest):
            if self._state_of(status) is None:
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

    # -- streams: verdicts on real status streams (statemachine.runtime.streams) ---------------

    def classify(self, current: str | None, status: str) -> Verdict:
        """The verdict for `status` arriving at an entity in `current` (None: a new entity),
        from the graph alone, with no side effects; `after` is where `apply` with the
        default policy would leave it."""
        return self._verdicts.of(current, status)

    def apply(
        self,
        obj: Any,
        status: str,
        seq: int | None = None,
        at: datetime | str | None = None,
        event_id: str | None = None,
        expected: str | None = None,
        object_id: object = None,
        key_field: str | None = None,
        policy: Policy = DEFAULT_POLICY,
        data: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """Decide on one delivery of `status` for `obj` (an object or a dict row) and act as
        `policy` says, atomically across the process (the lock of `advance`); returns the
        verdict, raises `streams.Rejected` (carrying it) where the policy raises. The last
        applied ordering key (`seq`, `at`: a datetime or ISO 8601 text, `event_id`) is kept
        in `obj`'s `key_field` when given (a part an event does not carry is kept from the key
        before: see `streams.merged`); `expected` makes it compare-and-set; guards on the path taken
        run as in `advance`, with `data` as their keyword arguments. Unlike `advance`, guard
        data is one mapping rather than `**data`: a misspelt `seq=` or `expected=` is a
        TypeError, never guard data that silently drops an ordering key or the compare."""
        table = (
            self._verdicts
            if policy is DEFAULT_POLICY
            else streams.verdicts(self.definition, policy)
        )
        when = None if at is None else utc(at)  # a datetime or ISO 8601 text; else TypeError
        key = id(obj) if object_id is None else object_id
        claim: list[int] = []  # as in `advance`
        if _HELD.setdefault(key, claim) is not claim:
            wait_for(key, claim)
        try:
            row = isinstance(obj, dict)
            field = self.field
            current = obj.get(field) if row else getattr(obj, field, None)  # `_load`
            if expected is not None and current != expected:
                raise self._conflict(current, expected, status, object_id)
            if key_field is None:  # the common case: a move that needs nothing more
                try:
                    verdict = table.moves[current][status]
                except (KeyError, TypeError):
                    pass
                else:
                    if row:  # `_store`
                        obj[field] = verdict.after
                    else:
                        setattr(obj, field, verdict.after)
                    return verdict
            verdict = table.of(current, status)
            confirms = False
            keep: Key | None = None
            if key_field is not None and (
                seq is not None or when is not None or event_id is not None
            ):
                keep = (seq, when, event_id)
                last = _load(obj, row, key_field)
                if last is not None:
                    if verdict.kind not in _UNKEYED:
                        verdict, confirms = table.keyed(verdict, keep, last)
                    keep = streams.merged(keep, last)
            if table.guarded and verdict.after != verdict.before:
                claim.append(threading.get_ident())  # guards are user code: see `wait_for`
                verdict = self._path_guards(table, obj, verdict, dict(data or {}))
            action = _APPLY if verdict.kind is _APPLIED else table.actions[verdict.kind]
            if action is _RAISE:
                raise streams.rejected(self.definition, verdict, object_id)
            if action is _APPLY or confirms:
                after = verdict.after
                if after != current and after is not None:
                    _store(obj, row, field, after)
                if keep is not None and key_field is not None:
                    _store(obj, row, key_field, keep)
            return verdict
        finally:
            del _HELD[key]  # `release`, inlined
            if _WAITING:
                wake()

    def _path_guards(
        self, table: Verdicts, obj: Any, verdict: Verdict, data: dict[str, Any]
    ) -> Verdict:
        """`verdict`, or an `illegal` one when a guard on the path its move takes does not
        hold."""
        graph = graph_of(self.definition)
        for source, dest in walk(graph, relation_row(graph, verdict.before)[verdict.status]):
            move = self.check(source, dest)
            if move.conditions:
                try:
                    self._guarded(obj, move, None, data)
                except IllegalTransition as err:
                    message = str(err).split(": ", 1)[-1]
                    return table.recast(verdict, Kind.ILLEGAL, message)
        return verdict

    def replay(
        self, events: Iterable[Event], policy: Policy = DEFAULT_POLICY
    ) -> Iterator[tuple[Event, Verdict]]:
        """Each event with its verdict, in arrival order, many entities interleaved; an
        entity's final status is the `after` of its last verdict. Never raises for a
        verdict; guards are not evaluated."""
        return streams.replay(self.definition, events, policy)
