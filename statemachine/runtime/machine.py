"""Building a transitions machine from a definition, with guards as registered callables."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from transitions import Machine, State
from transitions.core import Event, EventData

from statemachine.model.attributes import field_problem, generated_attributes
from statemachine.model.definition import Definition

__all__ = ["Guard", "LifecycleMachine", "locked_machine_class", "machine_config", "model_clash"]

#: a guard receives transitions' EventData: `.model`, `.kwargs`, `.transition`
Guard = Callable[[EventData], bool]


def named(name: str, func: Guard) -> Guard:
    """`func` under the guard's name, which is what transitions shows for a condition."""

    def guard(event: EventData) -> bool:
        return bool(func(event))

    guard.__name__ = guard.__qualname__ = name
    return guard


def machine_config(definition: Definition, guards: Mapping[str, Guard]) -> dict[str, Any]:
    """Keyword arguments for a transitions `Machine`: no string reaches transitions'
    callback resolution, every condition is a callable taken from `guards`."""
    return {
        "states": [State(name, final=state.final) for name, state in definition.states.items()],
        "transitions": [
            {
                "trigger": t.trigger,
                "source": t.source,
                "dest": t.dest,
                "conditions": [named(c, guards[c]) for c in t.conditions],
            }
            for t in definition.transitions
        ],
        "initial": definition.start,
        "model_attribute": definition.field,
        "auto_transitions": False,
        "send_event": True,
        "name": definition.name,
    }


def model_clash(definition: Definition) -> str | None:
    """Why the status field or a trigger cannot live on a transitions model beside the
    attributes `attach` gives it (the checker's SM040 says the same); None when nothing
    clashes."""
    field = definition.field
    triggers = sorted({t.trigger for t in definition.transitions})
    problem = field_problem(field, definition.states, triggers)
    if problem:
        return f"status field '{field}' {problem}"
    made = generated_attributes(field, definition.states, triggers)
    for trigger in triggers:
        if trigger in made:
            return f"trigger '{trigger}' collides with {made[trigger]}"
    return None


class _Models(list[Any]):
    """transitions' list of models, with membership by identity in O(1): `add_model`'s
    `model not in self.models` would otherwise scan the list for every model attached.
    transitions only appends and removes, which keep the set of ids in step."""

    def __init__(self, models: Iterable[Any] = ()) -> None:
        super().__init__(models)
        self._ids = {id(model) for model in self}

    def __contains__(self, model: object) -> bool:
        return id(model) in self._ids

    def append(self, model: Any) -> None:
        self._ids.add(id(model))
        super().append(model)

    def remove(self, model: Any) -> None:
        for i, registered in enumerate(self):
            if registered is model:
                del self[i]
                self._ids.discard(id(model))
                return
        raise ValueError(f"{model!r} is not a registered model")


class _Rejecting:
    """Event mixin: an invalid trigger raises `IllegalTransition` with the allowed moves."""

    name: str
    machine: Any
    transitions: Mapping[str, Any]

    def _is_valid_source(self, state: State) -> bool:
        if state.name in self.transitions:
            return True
        raise self.machine.lifecycle.trigger_rejection(self.name, state.name)


class _Registering:
    """Machine mixin: the models' list is a `_Models`."""

    models: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models = _Models(self.models)


class RejectingEvent(_Rejecting, Event):  # type: ignore[misc]
    """A transitions Event that raises our rejection for an invalid trigger."""


class LifecycleMachine(_Registering, Machine):
    """A transitions Machine that knows its lifecycle, for operator-readable rejections."""

    event_cls: type[Event] = RejectingEvent
    lifecycle: Any = None


@cache
def locked_machine_class() -> type[LifecycleMachine]:
    """The thread-safe variant, on transitions' own LockedMachine. Built on first use: the
    `transitions.extensions` package imports asyncio and diagrams, which only it needs."""
    from transitions.extensions.locking import LockedEvent, LockedMachine

    class LockedRejectingEvent(_Rejecting, LockedEvent):  # type: ignore[misc]
        """A transitions LockedEvent that raises our rejection for an invalid trigger."""

    class LockedLifecycleMachine(LockedMachine, LifecycleMachine):
        """A transitions LockedMachine that knows its lifecycle."""

        event_cls = LockedRejectingEvent

    return LockedLifecycleMachine
