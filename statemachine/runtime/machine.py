"""Building a transitions machine from a definition, with guards as registered callables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from transitions import Machine, State
from transitions.core import Event, EventData
from transitions.extensions import LockedMachine
from transitions.extensions.locking import LockedEvent

from statemachine.model.definition import Definition

__all__ = ["Guard", "LifecycleMachine", "LockedLifecycleMachine", "machine_config"]

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


class _Rejecting:
    """Event mixin: an invalid trigger raises `IllegalTransition` with the allowed moves."""

    name: str
    machine: Any
    transitions: Mapping[str, Any]

    def _is_valid_source(self, state: State) -> bool:
        if state.name in self.transitions:
            return True
        raise self.machine.lifecycle.trigger_rejection(self.name, state.name)


class RejectingEvent(_Rejecting, Event):  # type: ignore[misc]
    """A transitions Event that raises our rejection for an invalid trigger."""


class LockedRejectingEvent(_Rejecting, LockedEvent):  # type: ignore[misc]
    """The same for `LockedMachine`."""


class LifecycleMachine(Machine):
    """A transitions Machine that knows its lifecycle, for operator-readable rejections."""

    event_cls = RejectingEvent
    lifecycle: Any = None


class LockedLifecycleMachine(LockedMachine):
    """The thread-safe variant, on transitions' own LockedMachine."""

    event_cls = LockedRejectingEvent
    lifecycle: Any = None
