"""Per-entity claims: the process-wide exclusion that `advance`, `apply` and `lock_for` share.

An entity is held while its key is in `HELD`. Taking it is one `dict.setdefault` and letting
go one `del`, each atomic in the interpreter (with or without the GIL); measured, the pair
costs ~30 ns less than a mutex chosen by hashing the key, and two entities never wait for
each other, whatever their keys hash to. A thread that finds its entity held waits on one
condition, which a release signals only when somebody waits. Nothing is kept for an entity
nobody holds.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["HELD", "WAITING", "EntityLock", "release", "wait_for", "wake"]

#: entity key -> its holder's claim: a list made for this hold (a fresh object is the token:
#: `setdefault` returns it only to the call that stored it), which holds the holder thread's
#: ident while user code runs under it (guards, a `with lock_for(...)` block), so that the
#: thread asking again for an entity it holds is refused rather than left waiting for itself
HELD: dict[object, list[int]] = {}
#: entity key -> how many threads wait for it; empty unless two threads want one entity
WAITING: dict[object, int] = {}
_FREED = threading.Condition()


def wait_for(key: object, claim: list[int]) -> None:
    """Store `claim` for `key` once its holder lets go (the contended path of a
    `HELD.setdefault(key, claim)` that returned another claim); raises `RuntimeError` when
    this thread holds `key` under user code (a guard advancing the entity it decides for)."""
    me = threading.get_ident()
    with _FREED:
        # counted before the entity is looked at again: a release after that look sees a
        # waiter and signals, and it cannot signal before this thread waits (it needs _FREED)
        WAITING[key] = WAITING.get(key, 0) + 1
        try:
            while (owner := HELD.setdefault(key, claim)) is not claim:
                if owner and owner[0] == me:
                    raise RuntimeError(
                        f"this thread already holds entity {key!r}: a guard or a `lock_for` "
                        "block must not advance the entity it decides for (its status is "
                        "written when the guard returns or the block ends)"
                    )
                _FREED.wait()
        finally:
            left = WAITING.pop(key) - 1
            if left:
                WAITING[key] = left


def release(key: object) -> None:
    """Let go of `key`, which the caller holds (`advance` and `apply` inline these lines)."""
    del HELD[key]
    if WAITING:
        wake()


def wake() -> None:
    """Signal the threads that wait for an entity: the one they want may be free now."""
    with _FREED:
        _FREED.notify_all()


class EntityLock:
    """Exclusive access to one entity's status across the process (every Lifecycle, every
    machine), keyed by `object_id` or else the object's identity.

    `with lock:` holds the entity for a read-decide-write of the caller's own; `advance` and
    `apply` of this entity wait until the block ends. Holding it delays nothing else: the
    block may run slow code and advance other entities, but not this one (a `RuntimeError`,
    never a wait for itself). Two blocks that each wait for the other's entity wait for
    ever, like any two locks taken in opposite orders.
    """

    __slots__ = ("key",)

    def __init__(self, key: object) -> None:
        self.key = key

    def __enter__(self) -> EntityLock:
        claim = [threading.get_ident()]
        if HELD.setdefault(self.key, claim) is not claim:
            wait_for(self.key, claim)
        return self

    def __exit__(self, *exc: object) -> None:
        release(self.key)

    def unlocked(self) -> contextlib.AbstractContextManager[None]:
        """A block that runs user code with the entity still held. Since 0.3 every `with
        lock:` block is one (other entities never wait for it); kept for 0.2's callers."""
        return contextlib.nullcontext()
