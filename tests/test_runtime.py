"""The runtime: rejections, both styles, guards, compare-and-set under threads, the CLI."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from transitions import MachineError

from statemachine.io.loader import load_file
from statemachine.runtime import (
    AcknowledgementStatus,
    GuardNotRegistered,
    IllegalTransition,
    Lifecycle,
    RepeatedStatus,
    StatusConflict,
    UnknownStatus,
    lifecycle,
)
from tests.conftest import run_cli

BATCH = """
machine: acme.batch
object: campaign
initial: draft
guards:
  all_final: every recipient call has a final status
  has_budget: the wallet can pay for the next call
states:
  draft: {}
  active: {}
  done: {final: true}
  stopped: {final: true}
transitions:
  - {trigger: launch, source: draft, dest: active, conditions: has_budget}
  - {trigger: finish, source: active, dest: done, conditions: [all_final]}
  - {trigger: pause, source: active, dest: draft}
  - {trigger: stop, source: "*", dest: stopped}
aliases:
  running: active
acknowledgements:
  initiated: create response only
"""

DOOR = """
machine: example.door
initial: closed
states:
  closed: {}
  opened: {}
  locked: {}
  removed: {final: true}
transitions:
  - {trigger: open, source: closed, dest: opened}
  - {trigger: close, source: opened, dest: closed}
  - {trigger: lock, source: closed, dest: locked}
  - {trigger: unlock, source: locked, dest: closed}
  - {trigger: remove, source: [opened, closed], dest: removed}
"""


class Record:
    """A plain object with a status field, as a service stores it."""

    def __init__(self, status: str | None = None) -> None:
        self.status = status


def _load(write: Any, text: str, name: str = "m.yaml") -> Any:
    loaded = load_file(write(text, name))
    assert loaded.definition is not None, loaded.findings
    return loaded.definition


def test_rejects_completed_to_initiated_with_an_operator_message():
    lc = lifecycle("dialnexa.call")
    with pytest.raises(IllegalTransition) as info:
        lc.check("completed", "initiated")
    assert (
        str(info.value)
        == "dialnexa.call: cannot go from completed to initiated: completed is final"
    )
    assert isinstance(info.value, MachineError)
    err = info.value
    assert (err.machine, err.source, err.dest, err.allowed) == (
        "dialnexa.call",
        "completed",
        "initiated",
        (),
    )


def test_illegal_from_non_final_lists_allowed_moves():
    lc = lifecycle("dialnexa.call")
    with pytest.raises(IllegalTransition) as info:
        lc.check("sent", "initiated")
    assert "allowed from sent:" in str(info.value)
    assert "completed" in info.value.allowed and "initiated" not in info.value.allowed


def test_distinct_errors(write):
    lc = Lifecycle(_load(write, BATCH), {"all_final": lambda e: True, "has_budget": lambda e: True})
    with pytest.raises(UnknownStatus) as unknown:
        lc.check("draft", "actve")
    assert unknown.value.suggestions == ("active",)
    assert "did you mean 'active'" in str(unknown.value)
    with pytest.raises(AcknowledgementStatus):
        lc.check("initiated", "active")
    with pytest.raises(RepeatedStatus):
        lc.check("active", "running")  # an alias of the same state
    for cls in (UnknownStatus, AcknowledgementStatus, RepeatedStatus, StatusConflict):
        assert issubclass(cls, IllegalTransition)


def test_aliases_resolve_in_every_status_method(write):
    lc = Lifecycle(_load(write, BATCH), {"all_final": lambda e: True, "has_budget": lambda e: True})
    assert lc.check("draft", "running").dest == "active"
    assert lc.is_allowed("running", "done")
    rec = Record("running")
    assert lc.advance(rec, "done").trigger == "finish"
    assert rec.status == "done"


def test_unregistered_guard_fails_at_load_time(write):
    definition = _load(write, BATCH)
    with pytest.raises(GuardNotRegistered) as info:
        Lifecycle(definition, {"all_final": lambda e: True})
    assert "has_budget" in str(info.value)


def test_guards_receive_model_and_event_data(write):
    seen: list[tuple[Any, dict[str, Any]]] = []

    def all_final(event: Any) -> bool:
        seen.append((event.model, event.kwargs))
        return bool(event.kwargs.get("pending", 1) == 0)

    lc = Lifecycle(_load(write, BATCH), {"all_final": all_final, "has_budget": lambda e: True})
    rec = Record("active")
    with pytest.raises(IllegalTransition) as info:
        lc.advance(rec, "done", pending=3)
    assert "guard all_final does not hold" in str(info.value)
    assert rec.status == "active"
    assert lc.advance(rec, "done", pending=0) is not None
    assert seen == [(rec, {"pending": 3}), (rec, {"pending": 0})]
    # trigger style, the same guard
    model = lc.attach(Record.__new__(Record), initial="active")
    assert model.finish(pending=2) is False and model.status == "active"
    assert model.may_finish(pending=0) is True
    assert model.finish(pending=0) is True and model.status == "done"


def test_trigger_style_is_plain_transitions(write):
    lc = Lifecycle(_load(write, DOOR))
    door = lc.attach(type("Door", (), {})())
    assert door.status == "closed" and door.is_status_closed()
    door.open()
    assert door.may_close() and not door.may_lock()
    with pytest.raises(IllegalTransition) as info:
        door.lock()
    assert str(info.value) == (
        "example.door: cannot lock from opened: triggers allowed from opened: close, remove"
    )
    assert info.value.trigger == "lock"
    door.remove()
    with pytest.raises(MachineError, match="removed is final"):
        door.open()
    assert not hasattr(door, "to_closed"), "auto transitions must be off"


def test_advance_sets_the_definitions_field(write):
    text = BATCH.replace("object: campaign", "object: campaign\nfield: state_code")
    lc = Lifecycle(_load(write, text), {"all_final": lambda e: True, "has_budget": lambda e: True})
    obj = type("Campaign", (), {})()
    assert lc.advance(obj, "draft") is None  # a new object starts at the initial state
    move = lc.advance(obj, "active")
    assert obj.state_code == "active" and move.trigger == "launch"


def test_repeated_status_can_be_ignored():
    lc = lifecycle("dialnexa.call")
    rec = Record("sent")
    with pytest.raises(RepeatedStatus):
        lc.advance(rec, "sent")
    assert lc.advance(rec, "sent", ignore_repeat=True) is None
    assert rec.status == "sent"


def test_compare_and_set():
    lc = lifecycle("dialnexa.call")
    rec = Record("sent")
    with pytest.raises(StatusConflict):
        lc.advance(rec, "completed", expected="created", object_id="call-7")
    assert rec.status == "sent"
    assert lc.advance(rec, "completed", expected="sent").dest == "completed"


def test_error_carries_object_id():
    lc = lifecycle("dialnexa.call")
    with pytest.raises(IllegalTransition) as info:
        lc.advance(Record("completed"), "initiated", object_id="call-42")
    assert info.value.object_id == "call-42"
    assert "(call-42)" in str(info.value)


def test_check_sequence_returns_first_illegal_step():
    lc = lifecycle("dialnexa.call")
    assert lc.check_sequence(["created", "initiated", "sent", "completed"]) is None
    step = lc.check_sequence(["created", "sent", "completed", "initiated", "sent"])
    assert step is not None and (step.index, step.source, step.dest) == (
        3,
        "completed",
        "initiated",
    )
    assert isinstance(step.error, IllegalTransition)


class Tracked:
    """Records every status written, in the order it is written."""

    def __init__(self, status: str) -> None:
        self.history = [status]
        self._status = status

    @property
    def status(self) -> str:
        value = self._status
        time.sleep(0)  # yield to other threads between a read and the write after it
        return value

    @status.setter
    def status(self, value: str) -> None:
        self.history.append(value)
        self._status = value


def test_eight_threads_hammer_one_object(write):
    lc = Lifecycle(_load(write, DOOR))
    obj = Tracked("closed")
    applied: list[Any] = []
    applied_lock = threading.Lock()
    start = threading.Barrier(8)
    targets = ["opened", "closed", "locked", "closed"]

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        start.wait()
        for _ in range(3000):
            current = obj.status
            try:
                move = lc.advance(obj, rnd.choice(targets), expected=current)
            except IllegalTransition:
                continue
            with applied_lock:
                applied.append(move)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = obj.history
    assert len(history) == len(applied) + 1, "an update was lost or doubled"
    assert lc.check_sequence(history) is None
    # compare-and-set: no two moves applied from the same starting status in a row
    assert sorted(itertools.pairwise(history)) == sorted((m.source, m.dest) for m in applied)
    assert len(applied) > 1000


def test_locked_trigger_style_under_threads(write):
    lc = Lifecycle(_load(write, DOOR), locked=True)
    door = lc.attach(Tracked("closed"), initial="closed")
    door.history = ["closed"]
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(500):
            for trigger in ("open", "close", "lock", "unlock"):
                with contextlib.suppress(IllegalTransition):
                    getattr(door, trigger)()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lc.check_sequence(door.history) is None
    assert len(door.history) > 100


def test_validate_cli():
    ok = run_cli("validate", "dialnexa.call", "created", "sent", "completed")
    assert ok.returncode == 0
    assert ok.stdout.splitlines()[1:] == [
        "1: created -> sent  (send)",
        "2: sent -> completed  (complete)",
    ]
    bad = run_cli("validate", "dialnexa.call", "created", "completed", "busy")
    assert bad.returncode == 1
    assert (
        "2: completed -> busy  ILLEGAL: dialnexa.call: cannot go from completed to "
        "busy: completed is final" in bad.stdout
    )
    unknown = run_cli("validate", "dialnexa.call", "created", "snet")
    assert unknown.returncode == 1 and "UNKNOWN" in unknown.stdout
    assert "did you mean 'sent'" in unknown.stdout
    machine = run_cli("validate", "dialnexa.cal", "created")
    assert machine.returncode == 2 and "did you mean 'dialnexa.call'" in machine.stderr


def test_validate_cli_on_a_users_file(write):
    path = write(DOOR)
    result = run_cli("validate", "example.door", "closed", "opened", "locked", "--path", str(path))
    assert result.returncode == 1
    assert "2: opened -> locked  AMBIGUOUS: example.door: opened and locked lie on a cycle" in (
        result.stdout
    )
    assert Path(path).exists()
