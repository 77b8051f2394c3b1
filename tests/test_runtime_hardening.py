"""The runtime's promises under hostile use: locks that hold across a process, errors that
keep to the documented family, dict rows, attach that never rewinds, linear construction."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine.model.definition import Alias, Definition, State, Transition
from statemachine.runtime import (
    AcknowledgementStatus,
    DefinitionError,
    IllegalTransition,
    Lifecycle,
    StatusConflict,
    UnknownStatus,
    lifecycle,
)

#: how long a test waits for a thread that must not block; far above any honest run
PATIENCE = 10.0

GUARDED = """
machine: acme.job
initial: [queued, imported]
guards:
  ready: the worker may take the job
states:
  queued: {}
  imported: {}
  running: {}
  done: {final: true}
transitions:
  - {trigger: start, source: [queued, imported], dest: running, conditions: ready}
  - {trigger: finish, source: running, dest: done}
aliases:
  active: running
acknowledgements:
  accepted: create response only
"""


class Record:
    """A plain object with a status field, as a service stores it."""

    def __init__(self, status: Any = None) -> None:
        self.status = status


class SlowRecord:
    """Reads its status slowly and records every write: a wide window for a race."""

    def __init__(self, status: str, delay: float) -> None:
        self._status = status
        self.delay = delay
        self.writes: list[str] = []

    @property
    def status(self) -> str:
        value = self._status
        time.sleep(self.delay)
        return value

    @status.setter
    def status(self, value: str) -> None:
        self.writes.append(value)
        self._status = value


def _finishes(target: Callable[[], None], timeout: float = PATIENCE) -> bool:
    """Run `target` in a daemon thread; whether it ended within `timeout` (no deadlock)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as err:  # re-raised in the test's thread below
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if errors:
        raise errors[0]
    return not thread.is_alive()


#: the two status-style ways to change an entity; both must keep every lock promise
VIA = ["advance", "apply"]


def _job(write: Callable[..., Path], ready: Callable[[Any], bool]) -> Lifecycle:
    path = write(GUARDED, "job.yaml")
    return lifecycle("acme.job", {"ready": ready}, paths=[path])


def _partnered_job(write: Callable[..., Path], via: str) -> tuple[Lifecycle, dict[int, Record]]:
    """A job lifecycle whose guard first moves the model's partner (by `via`: `advance` or
    `apply`) to running, and the partner table, keyed by the model's id, to fill in."""
    lc: Lifecycle | None = None
    partner: dict[int, Record] = {}

    def ready(event: Any) -> bool:
        other = partner.get(id(event.model))
        if other is not None:
            assert lc is not None
            getattr(lc, via)(other, "running")
        return True

    lc = _job(write, ready)
    return lc, partner


# -- locks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_holding_one_entity_delays_no_other(via):
    """While one entity is held (a caller's `lock_for` block), every other entity proceeds:
    ordinary objects, string ids, and integer ids whose hashes collide with the held one's."""
    lc = lifecycle("dialnexa.call")
    held = Record("created")
    objects = [Record("created") for _ in range(2_000)]
    ids = {f"call-{i}": Record("created") for i in range(500)}
    colliding = {1 + k * (2**61 - 1): Record("created") for k in range(1, 50)}  # hash 1

    def deliver_others() -> None:
        change = getattr(lc, via)
        for obj in objects:
            change(obj, "sent")
        for key, obj in [*ids.items(), *colliding.items()]:
            change(obj, "sent", object_id=key)

    with lc.lock_for(held, object_id=1):
        assert _finishes(deliver_others), "an entity waited for another one's lock"
    records = [*objects, *ids.values(), *colliding.values()]
    assert {r.status for r in records} == {"sent"}


@pytest.mark.parametrize("via", VIA)
def test_a_slow_guard_stalls_no_other_object(write, via):
    inside, release = threading.Event(), threading.Event()
    slow = Record("queued")

    def ready(event: Any) -> bool:
        if event.model is slow:
            inside.set()
            release.wait(3 * PATIENCE)
        return True

    lc = _job(write, ready)
    holder = threading.Thread(target=getattr(lc, via), args=(slow, "running"))
    holder.start()
    try:
        assert inside.wait(PATIENCE)
        others = [Record("queued") for _ in range(2_000)]

        def advance_others() -> None:
            change = getattr(lc, via)
            for other in others:
                change(other, "running")

        assert _finishes(advance_others), "an unrelated object waited for a slow guard"
        assert {o.status for o in others} == {"running"}
        assert slow.status == "queued"  # still deciding
    finally:
        release.set()
        holder.join(PATIENCE)
    assert slow.status == "running"


@pytest.mark.parametrize("via", VIA)
def test_a_guard_may_advance_other_objects(write, via):
    """Two threads, each guard advancing a second object: holding one entity while taking
    another may not deadlock."""
    lc, partner = _partnered_job(write, via)
    pairs = [(Record("queued"), Record("queued")) for _ in range(400)]
    for first, second in pairs:
        partner[id(first)] = second

    def work(chunk: list[tuple[Record, Record]]) -> Callable[[], None]:
        def run() -> None:
            for first, _ in chunk:
                getattr(lc, via)(first, "running")

        return run

    runs = [work(pairs[0::2]), work(pairs[1::2])]
    threads = [threading.Thread(target=run, daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(thread.is_alive() for thread in threads), "deadlock"
    assert {r.status for pair in pairs for r in pair} == {"running"}


@pytest.mark.parametrize("via", VIA)
def test_a_guard_may_advance_an_entity_whose_key_hashes_alike(write, via):
    lc: Lifecycle | None = None
    second = Record("queued")

    def ready(event: Any) -> bool:
        if event.model is not second:
            assert lc is not None
            getattr(lc, via)(second, "running", object_id=2**61)  # hash(2**61) == hash(1)
        return True

    lc = _job(write, ready)
    first = Record("queued")
    assert _finishes(lambda: getattr(lc, via)(first, "running", object_id=1)), "deadlock"
    assert (first.status, second.status) == ("running", "running")


@pytest.mark.parametrize("outer", VIA)
@pytest.mark.parametrize("inner", VIA)
def test_a_guard_advancing_its_own_object_is_refused_not_a_deadlock(write, outer, inner):
    lc: Lifecycle | None = None

    def ready(event: Any) -> bool:
        assert lc is not None
        getattr(lc, inner)(event.model, "running")
        return True

    lc = _job(write, ready)
    job = Record("queued")
    with pytest.raises(RuntimeError, match="must not advance the entity it decides for"):
        assert _finishes(lambda: getattr(lc, outer)(job, "running")), "deadlock"
    assert job.status == "queued"

    def enter() -> None:
        with lc.lock_for(job):  # the refused advance left nothing held
            pass

    assert _finishes(enter)


def test_lock_for_excludes_under_contention_and_leaves_nothing_held():
    """Four threads increment three shared counters under `lock_for`, with the interpreter
    switching threads every microsecond: no increment is lost, every waiter is woken, and
    nothing stays claimed or waiting."""
    from statemachine.runtime import locks

    lc = lifecycle("dialnexa.call")
    rows = [{"status": "created", "n": 0} for _ in range(3)]

    def work() -> None:
        for i in range(3_000):
            row = rows[i % 3]
            with lc.lock_for(row):
                n = row["n"]
                time.sleep(0) if i % 97 == 0 else None
                row["n"] = n + 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(PATIENCE * 3)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads), "a waiter was never woken"
    assert [row["n"] for row in rows] == [4_000, 4_000, 4_000]
    assert locks.HELD == {} and locks.WAITING == {}


@pytest.mark.parametrize("via", VIA)
def test_a_lock_for_block_advancing_its_own_entity_is_refused_not_a_deadlock(via):
    lc = lifecycle("dialnexa.call")
    call = Record("created")
    lock = lc.lock_for(call)

    def inside() -> None:
        with lock:
            getattr(lc, via)(call, "sent")

    with pytest.raises(RuntimeError, match="already holds entity"):
        assert _finishes(inside), "deadlock"
    assert call.status == "created"
    assert _finishes(lambda: getattr(lc, via)(call, "sent"))  # the block let go
    assert call.status == "sent"


def _race(
    handlers: list[Lifecycle], call: SlowRecord, dest: str, expected: str, via: str = "advance"
) -> list[str]:
    """Each handler compare-and-sets `call` in its own thread (`advance` or `apply`), all at
    once: their outcomes."""
    outcomes: list[str] = []
    start = threading.Barrier(len(handlers))

    def handle(lc: Lifecycle) -> None:
        start.wait()
        try:
            getattr(lc, via)(call, dest, expected=expected, object_id="entity-9")
            outcomes.append("applied")
        except StatusConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=handle, args=(lc,)) for lc in handlers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    return sorted(outcomes)


@pytest.mark.parametrize("via", VIA)
def test_two_lifecycle_handlers_do_not_double_apply(via):
    """Two handlers each build their own `lifecycle("dialnexa.call")` and compare-and-set the
    same call at once, with a slow read between the check and the write."""
    handlers = [lifecycle("dialnexa.call"), lifecycle("dialnexa.call")]
    for _ in range(5):
        call = SlowRecord("sent", delay=0.02)
        assert _race(handlers, call, "completed", "sent", via) == ["applied", "conflict"]
        assert call.writes == ["completed"], "applied twice"


@pytest.mark.parametrize("via", VIA)
def test_two_handlers_with_a_slow_guard_do_not_double_apply(write, via):
    path = write(GUARDED, "job.yaml")

    def slow(event: Any) -> bool:
        time.sleep(0.02)
        return True

    handlers = [lifecycle("acme.job", {"ready": slow}, paths=[path]) for _ in range(2)]
    job = SlowRecord("queued", delay=0)
    assert _race(handlers * 3, job, "running", "queued", via) == ["applied"] + ["conflict"] * 5
    assert job.writes == ["running"], "applied twice"


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("object_id", [None, "CA-1", 42])
def test_lock_for_advance_and_apply_take_one_lock_per_entity(via, object_id):
    """A caller's own read-decide-write under `lock_for` keeps `advance` and `apply` of
    every other Lifecycle off that entity while every other entity proceeds."""
    holder, other = lifecycle("dialnexa.call"), lifecycle("dialnexa.call")
    call = Record("created")
    done = threading.Event()

    def deliver() -> None:
        getattr(other, via)(call, "sent", object_id=object_id)
        done.set()

    unrelated = [Record("created") for _ in range(500)]
    lock = holder.lock_for(call, object_id)
    with lock:
        thread = threading.Thread(target=deliver, daemon=True)
        thread.start()
        assert not done.wait(0.3), f"{via} ran while the entity's lock was held"
        assert _finishes(lambda: [getattr(other, via)(u, "sent") for u in unrelated])
        with lock.unlocked():  # 0.2's way to run user code under the lock: still held
            assert not done.wait(0.1), f"{via} ran while the entity was reserved"
        assert call.status == "created"
    assert done.wait(PATIENCE) and call.status == "sent"
    assert {u.status for u in unrelated} == {"sent"}


# -- wrong-typed statuses ----------------------------------------------------------------------

WRONG = [None, 5, 1.5, ["sent"], b"sent", {"status": "sent"}]
WRONG_IDS = ["None", "int", "float", "list", "bytes", "dict"]


def _is_type_error_message(err: UnknownStatus, value: object) -> None:
    assert err.status == value
    assert f"not {type(value).__name__}" in str(err), str(err)
    assert "dialnexa.call" in str(err)


@pytest.mark.parametrize("value", WRONG, ids=WRONG_IDS)
def test_wrong_typed_statuses_are_unknown_statuses(value):
    lc = lifecycle("dialnexa.call")
    calls: list[Callable[[], object]] = [
        lambda: lc.check(value, "sent"),
        lambda: lc.check("created", value),
        lambda: lc.is_allowed(value, "sent"),
        lambda: lc.is_allowed("created", value),
        lambda: lc.canonical(value),
        lambda: lc.steps([value, "sent"]),
        lambda: lc.advance(Record("sent"), value),
        lambda: lc.attach(Record(), initial=value) if value is not None else lc.canonical(value),
        lambda: lc.attach(Record(value)) if value is not None else lc.canonical(value),
    ]
    if value is not None:  # a missing stored status is a new entity
        calls.append(lambda: lc.advance(Record(value), "completed"))
    for call in calls:
        with pytest.raises(UnknownStatus) as info:
            call()
        _is_type_error_message(info.value, value)
    step = lc.steps(["created", value])[-1]
    assert isinstance(step.error, UnknownStatus)
    _is_type_error_message(step.error, value)


def test_a_new_entity_with_a_wrong_typed_destination():
    lc = lifecycle("dialnexa.call")
    with pytest.raises(UnknownStatus, match="not int"):
        lc.advance(Record(), 5)


# -- dict rows ---------------------------------------------------------------------------------


def test_dict_rows_are_objects_whose_field_is_a_key(write):
    lc = lifecycle("dialnexa.call")
    row: dict[str, Any] = {"id": 7, "status": "sent"}
    assert lc.advance(row, "completed", expected="sent").trigger == "complete"
    assert row == {"id": 7, "status": "completed"}
    with pytest.raises(IllegalTransition, match="completed is final"):
        lc.advance(row, "initiated")
    fresh: dict[str, Any] = {"id": 8}
    assert lc.advance(fresh, "created") is None and fresh["status"] == "created"
    with pytest.raises(StatusConflict):
        lc.advance({"status": "sent"}, "completed", expected="created")
    text = GUARDED.replace("initial:", "field: state_code\ninitial:")
    other = lifecycle("acme.job", {"ready": lambda e: True}, paths=[write(text, "job.yaml")])
    job = {"state_code": "active"}  # an alias, as a legacy row may hold
    assert other.advance(job, "done").dest == "done" and job == {"state_code": "done"}


# -- attach ------------------------------------------------------------------------------------


def test_attach_keeps_the_status_an_object_holds():
    lc = lifecycle("dialnexa.call")
    call = lc.attach(Record("completed"))
    assert call.status == "completed"
    with pytest.raises(IllegalTransition, match="completed is final"):
        call.send()
    assert call.status == "completed"
    sent = lc.attach(Record("sent"))
    assert sent.may_complete() and sent.complete() and sent.status == "completed"
    assert lc.attach(Record()).status == lc.initial  # nothing held: the initial state


def test_attach_validates_the_stored_status(write):
    lc = _job(write, lambda e: True)
    assert lc.attach(Record("active")).status == "running"  # an alias resolves
    with pytest.raises(UnknownStatus, match="did you mean 'running'"):
        lc.attach(Record("runing"))
    with pytest.raises(AcknowledgementStatus):
        lc.attach(Record("accepted"))
    with pytest.raises(StatusConflict, match="holds done"):
        lc.attach(Record("done"), initial="queued")
    assert lc.attach(Record("done"), initial="done").status == "done"


def test_attach_registers_equal_models_by_identity():
    class Row:
        def __init__(self, status: str) -> None:
            self.status = status

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Row)

        __hash__ = None  # type: ignore[assignment]

    lc = Lifecycle(lifecycle("dialnexa.call").definition)
    first, second = lc.attach(Row("sent")), lc.attach(Row("created"))
    assert first.complete() and second.send()
    assert (first.status, second.status) == ("completed", "sent")
    assert len(lc.machine.models) == 2
    lc.attach(first)  # already registered: nothing changes
    assert len(lc.machine.models) == 2
    lc.detach(first)
    assert lc.machine.models == [second] and lc.machine.models[0] is second
    lc.attach(first)
    assert len(lc.machine.models) == 2


# -- several entry states ----------------------------------------------------------------------


def test_a_new_entity_may_start_in_any_entry_state(write):
    lc = _job(write, lambda e: True)
    imported = Record()
    assert lc.advance(imported, "imported") is None and imported.status == "imported"
    fresh = Record()
    move = lc.advance(fresh, "running")
    assert move is not None and move.source == "queued" and fresh.status == "running"
    with pytest.raises(IllegalTransition, match="cannot start at done") as info:
        lc.advance(Record(), "done")
    assert set(info.value.allowed) == {"queued", "imported", "running"}


# -- definitions the trigger style cannot run --------------------------------------------------


@pytest.mark.parametrize(
    ("field", "triggers", "named"),
    [
        ("may_send", ["send"], "status field 'may_send'"),
        ("send", ["send"], "status field 'send'"),
        ("trigger", ["send"], "status field 'trigger'"),
        ("on_exit_new", ["send"], "status field 'on_exit_new'"),
        ("status", ["send", "may_send"], "trigger 'may_send'"),
        ("status", ["send", "is_status_new"], "trigger 'is_status_new'"),
        ("status", ["on_enter_sent"], "trigger 'on_enter_sent'"),
    ],
)
def test_a_name_that_clashes_with_the_models_methods_is_refused(field, triggers, named):
    d = Definition(
        name="acme.clash",
        states={"new": State("new"), "sent": State("sent", final=True)},
        transitions=tuple(Transition(t, "new", "sent") for t in triggers),
        initial="new",
        field=field,
    )
    for structural in (False, True):
        with pytest.raises(DefinitionError, match=f"acme.clash: {named} (is|collides)"):
            Lifecycle(d, structural=structural)


# -- construction ------------------------------------------------------------------------------


def test_aliases_of_many_states_resolve_in_every_status_method():
    n = 300
    names = [f"s{i}" for i in range(n)]
    d = Definition(
        name="acme.chain",
        states={s: State(s, final=s == names[-1]) for s in names},
        transitions=tuple(Transition("next", a, b) for a, b in itertools.pairwise(names)),
        initial=names[0],
        aliases={f"old_{s}": Alias(f"old_{s}", s) for s in names},
    )
    lc = Lifecycle(d)
    for a, b in itertools.pairwise(names):
        assert lc.check(f"old_{a}", f"old_{b}").dest == b
        assert lc.is_allowed(a, f"old_{b}") and not lc.is_allowed(f"old_{b}", a)
    rec = Record("old_s0")
    assert lc.advance(rec, "old_s1").dest == "s1" and rec.status == "s1"


def test_the_runtime_does_not_import_the_locking_extension_until_asked():
    code = (
        "import sys\n"
        "from statemachine.runtime import lifecycle\n"
        "lifecycle('dialnexa.call')\n"
        "print('asyncio' in sys.modules, 'transitions.extensions' in sys.modules)\n"
        "lifecycle('dialnexa.call', locked=True)\n"
        "print('transitions.extensions.locking' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["False", "False", "True"]
