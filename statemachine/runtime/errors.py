"""Rejections: every illegal move is an `IllegalTransition`, a transitions `MachineError`."""

from __future__ import annotations

from collections.abc import Sequence

from transitions import MachineError

__all__ = [
    "AcknowledgementStatus",
    "DefinitionError",
    "GuardNotRegistered",
    "IllegalTransition",
    "RepeatedStatus",
    "StatusConflict",
    "UnknownMachine",
    "UnknownStatus",
]


class IllegalTransition(MachineError):
    """A move the lifecycle does not allow; its message is one an operator understands."""

    def __init__(
        self,
        message: str,
        *,
        machine: str,
        source: str | None = None,
        dest: str | None = None,
        trigger: str | None = None,
        allowed: Sequence[str] = (),
        object_id: object = None,
    ) -> None:
        super().__init__(message)
        self.machine = machine
        self.source = source
        self.dest = dest
        self.trigger = trigger
        self.allowed = tuple(allowed)
        self.object_id = object_id

    def __str__(self) -> str:  # transitions' MachineError shows repr(value)
        return str(self.value)


class UnknownStatus(IllegalTransition):
    """A value that is neither a state, an alias nor an acknowledgement of the machine,
    including a value that is not a string at all (`None` where a status is required, a
    number, bytes, a list): `status` holds the value as given."""

    def __init__(
        self, message: str, *, status: object, suggestions: Sequence[str], **kw: object
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.status = status
        self.suggestions = tuple(suggestions)


class AcknowledgementStatus(IllegalTransition):
    """An acknowledgement-only value (a create API's `initiated`) used as a lifecycle state."""


class RepeatedStatus(IllegalTransition):
    """The entity already has this status: usually a duplicate webhook, which callers may ignore."""


class StatusConflict(IllegalTransition):
    """Compare-and-set failed: the status changed since the caller read it."""


class GuardNotRegistered(ValueError):
    """A definition's condition names a guard that the application did not register."""


class DefinitionError(ValueError):
    """A definition with errors cannot be run; the message lists the findings."""


class UnknownMachine(DefinitionError):
    """No file under the paths searched defines the machine named."""
