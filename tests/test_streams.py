"""Real status streams: verdicts from the graph, ordering keys, policies, apply and replay."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from statemachine.graph import Kind, graph_of, relation
from statemachine.io.loader import load_file
from statemachine.io.registry import bundled_dir, load_registry
from statemachine.model.definition import Definition
from statemachine.runtime import (
    DEFAULT_POLICY,
    Action,
    Event,
    Lifecycle,
    Policy,
    Rejected,
    RejectedRepeat,
    RejectedUnknown,
    RepeatedStatus,
    StatusConflict,
    UnknownStatus,
    Verdict,
    definition,
    lifecycle,
)

TWILIO = """
machine: twilio.call
initial: queued
states:
  queued: {}
  ringing: {}
  in-progress: {}
  completed: {final: true}
  busy: {final: true}
  failed: {final: true}
  no-answer: {final: true}
  canceled: {final: true}
transitions:
  - {trigger: ring, source: queued, dest: ringing}
  - {trigger: answer, source: ringing, dest: in-progress}
  - {trigger: complete, source: in-progress, dest: completed}
  - {trigger: busy, source: [queued, ringing], dest: busy}
  - {trigger: fail, source: [queued, ringing, in-progress], dest: failed}
  - {trigger: no_answer, source: ringing, dest: no-answer}
  - {trigger: cancel, source: [queued, ringing], dest: canceled}
aliases:
  in_progress: in-progress
acknowledgements:
  initiated: the create response only
"""

#: a job whose `checking` step is never reported and whose way out of it is guarded
GUARDED = """
machine: acme.job
initial: new
guards:
  approved: a person approved the job
states:
  new: {}
  checking: {reported: false}
  running: {}
  paused: {}
  done: {final: true}
transitions:
  - {trigger: check, source: new, dest: checking}
  - {trigger: start, source: checking, dest: running, conditions: approved}
  - {trigger: pause, source: running, dest: paused}
  - {trigger: resume, source: paused, dest: running}
  - {trigger: finish, source: [running, paused], dest: done}
"""

TOGGLE = """
machine: acme.toggle
initial: idle
states: {idle: {}, busy: {}}
transitions:
  - {trigger: take, source: idle, dest: busy}
  - {trigger: free, source: busy, dest: idle}
"""


class Record:
    """A plain object with a status field and a place for the last key, as a service has."""

    def __init__(self, status: str | None = None) -> None:
        self.status = status
        self.last_key: Any = None


def _load(write: Callable[..., Path], text: str) -> Definition:
    loaded = load_file(write(text))
    assert loaded.definition is not None, loaded.findings
    return loaded.definition


@cache
def _machines() -> tuple[str, ...]:
    return tuple(sorted(load_registry([bundled_dir()]).machines))


@cache
def _lifecycle(name: str) -> Lifecycle:
    return Lifecycle(definition(name), structural=True)


def _final(lc: Lifecycle, events: Sequence[Event]) -> tuple[str | None, list[Verdict]]:
    """The entity's final status (the `after` of its last verdict) and every verdict."""
    verdicts = [v for _, v in lc.replay(events)]
    return (verdicts[-1].after if verdicts else None), verdicts


@st.composite
def histories(draw: st.DrawFn, acyclic: bool = False) -> tuple[Lifecycle, list[str]]:
    """A bundled machine and the statuses a legal history of it delivers (its reported
    states), ending in a reported state."""
    names = _machines()
    if acyclic:
        names = tuple(n for n in names if graph_of(definition(n)).acyclic)
    lc = _lifecycle(draw(st.sampled_from(names)))
    graph = graph_of(lc.definition)
    states = lc.definition.states
    path = [draw(st.sampled_from(graph.entries))]
    for _ in range(draw(st.integers(0, 8))):
        nexts = graph.successors[path[-1]]
        if not nexts:
            break
        path.append(draw(st.sampled_from(nexts)))
    delivered = [s for s in path if states[s].reported]
    assume(delivered)
    return lc, delivered


PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@PROPERTY
@given(histories(), st.randoms(use_true_random=False))
def test_any_order_with_sequence_numbers_ends_in_the_last_state(
    case: tuple[Lifecycle, list[str]], rnd: Any
) -> None:
    lc, delivered = case
    events = [Event("e", s, seq) for seq, s in enumerate(delivered)]
    rnd.shuffle(events)
    final, verdicts = _final(lc, events)
    assert final == delivered[-1]
    assert not [v for v in verdicts if v.kind in (Kind.ILLEGAL, Kind.UNKNOWN)]


@PROPERTY
@given(histories(acyclic=True), st.randoms(use_true_random=False))
def test_any_order_without_sequence_numbers_on_an_acyclic_machine(
    case: tuple[Lifecycle, list[str]], rnd: Any
) -> None:
    lc, delivered = case
    events = [Event("e", s) for s in delivered]
    rnd.shuffle(events)
    final, verdicts = _final(lc, events)
    assert final == delivered[-1]
    assert not [v for v in verdicts if v.kind in (Kind.ILLEGAL, Kind.UNKNOWN)]


@PROPERTY
@given(histories(), st.randoms(use_true_random=False), st.data())
def test_duplicates_never_change_the_outcome(
    case: tuple[Lifecycle, list[str]], rnd: Any, data: st.DataObject
) -> None:
    lc, delivered = case
    keyed = not graph_of(lc.definition).acyclic
    events = [Event("e", s, seq if keyed else None) for seq, s in enumerate(delivered)]
    rnd.shuffle(events)
    with_copies = list(events)
    for _ in range(data.draw(st.integers(1, 4))):
        original = data.draw(st.integers(0, len(events) - 1))
        # a copy arrives after its original, anywhere later
        at = data.draw(st.integers(with_copies.index(events[original]) + 1, len(with_copies)))
        with_copies.insert(at, events[original])
    assert _final(lc, with_copies)[0] == _final(lc, events)[0] == delivered[-1]


@PROPERTY
@given(histories(), st.data())
def test_one_injected_unrelated_status_is_the_only_illegal(
    case: tuple[Lifecycle, list[str]], data: st.DataObject
) -> None:
    lc, delivered = case
    graph = graph_of(lc.definition)
    at = data.draw(st.integers(0, len(delivered)))
    before = delivered[at - 1] if at else None
    unrelated = [s for s in lc.definition.states if relation(graph, before, s).kind is Kind.ILLEGAL]
    assume(unrelated)
    injected = data.draw(st.sampled_from(unrelated))
    clean = [v for _, v in lc.replay(Event("e", s) for s in delivered)]
    statuses = [*delivered[:at], injected, *delivered[at:]]
    verdicts = [v for _, v in lc.replay(Event("e", s) for s in statuses)]
    assert [v.kind for v in verdicts].count(Kind.ILLEGAL) == 1
    assert verdicts[at].kind is Kind.ILLEGAL
    assert verdicts[at].after == before
    assert verdicts[:at] + verdicts[at + 1 :] == clean
    assert verdicts[-1].after == delivered[-1]


# -- worked cases from the providers' own words ------------------------------------------------


def test_kaleyra_answer_as_the_first_report_of_a_new_call_is_applied() -> None:
    lc = lifecycle("kaleyra.call")
    verdict = lc.classify(None, "ANSWER")
    assert verdict.kind is Kind.APPLIED
    assert verdict.after == "ANSWER"
    assert verdict.through  # the in-progress steps Kaleyra never reports
    assert all(not lc.definition.states[s].reported for s in verdict.through)
    call: dict[str, Any] = {}
    assert lc.apply(call, "ANSWER").kind is Kind.APPLIED
    assert call["status"] == "ANSWER"


def test_dialnexa_transfer_connected_as_the_first_report_is_applied() -> None:
    lc = lifecycle("dialnexa.transfer")
    verdict = lc.classify(None, "transfer_connected")
    assert verdict.kind is Kind.APPLIED
    assert verdict.through
    transfer = Record()
    lc.apply(transfer, "transfer_connected")
    assert transfer.status == "transfer_connected"


def test_twilio_completed_before_in_progress_ends_completed(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    events = [
        Event("CA1", "queued", 0),
        Event("CA1", "ringing", 1),
        Event("CA1", "completed", 3),
        Event("CA1", "in-progress", 2),
    ]
    verdicts = [v for _, v in lc.replay(events)]
    assert [v.kind for v in verdicts] == [Kind.APPLIED, Kind.APPLIED, Kind.SKIPPED, Kind.STALE]
    assert verdicts[2].skipped == ("in-progress",)
    assert verdicts[-1].after == "completed"
    # without sequence numbers the graph alone says the same
    call = Record()
    for event in events:
        lc.apply(call, event.status)
    assert call.status == "completed"


# -- the verdicts -------------------------------------------------------------------------------


def test_classify_names_every_kind(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    cases = {
        ("queued", "ringing"): Kind.APPLIED,
        ("ringing", "ringing"): Kind.REPEATED,
        ("in-progress", "in_progress"): Kind.REPEATED,
        ("in-progress", "ringing"): Kind.STALE,
        ("queued", "completed"): Kind.SKIPPED,
        ("completed", "busy"): Kind.ILLEGAL,
        ("queued", "answered"): Kind.UNKNOWN,
        ("queued", "initiated"): Kind.UNKNOWN,
        (None, "queued"): Kind.APPLIED,
        (None, "completed"): Kind.SKIPPED,
    }
    for (current, status), kind in cases.items():
        assert lc.classify(current, status).kind is kind, (current, status)
    skipped = lc.classify("queued", "completed")
    assert skipped.skipped == ("ringing", "in-progress")
    assert skipped.after == "completed"
    stale = lc.classify("in-progress", "ringing")
    assert (stale.before, stale.after) == ("in-progress", "in-progress")
    assert "did you mean" in lc.classify("queued", "ringin").message
    assert "acknowledgement" in lc.classify("queued", "initiated").message


def test_messages_quote_statuses_with_odd_characters(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    message = lc.classify("queued", "ringing ").message
    assert "'ringing '" in message
    assert "\x1b" not in lc.classify("queued", "ring\x1b[2J").message
    assert "in-progress" in lc.classify("queued", "completed").message  # plain: bare


def test_ambiguous_on_a_cycle_and_a_newer_key_resolves_it(write: Callable[..., Path]) -> None:
    text = """
    machine: acme.loop
    initial: a
    states: {a: {}, b: {}, c: {}, d: {final: true}}
    transitions:
      - {trigger: ab, source: a, dest: b}
      - {trigger: bc, source: b, dest: c}
      - {trigger: ca, source: c, dest: a}
      - {trigger: end, source: c, dest: d}
    """
    lc = Lifecycle(_load(write, text))
    assert lc.classify("a", "c").kind is Kind.AMBIGUOUS
    assert lc.classify("a", "c").after == "c"  # the default applies: arrival order decides
    row: dict[str, Any] = {}
    lc.apply(row, "a", seq=1, key_field="key")
    assert lc.apply(row, "c", seq=5, key_field="key").kind is Kind.SKIPPED
    assert lc.apply(row, "b", seq=3, key_field="key").kind is Kind.STALE
    assert row["status"] == "c"
    ignoring = Policy(ambiguous="ignore")
    assert lc.apply({"status": "a"}, "c", policy=ignoring).after == "a"


# -- ordering keys ------------------------------------------------------------------------------


def test_sequence_number_takes_precedence_over_event_time(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    call = Record("queued")
    lc.apply(call, "ringing", seq=2, at=t0, key_field="last_key")
    # an earlier time but a later seq: the seq decides, and in-progress is ahead anyway
    assert lc.apply(
        call, "in-progress", seq=3, at=t0 - timedelta(1), key_field="last_key"
    ).kind is (Kind.APPLIED)
    assert call.last_key == (3, t0 - timedelta(1), None)
    # an older seq is stale whatever the graph says (completed is ahead of in-progress)
    verdict = lc.apply(call, "completed", seq=1, key_field="last_key")
    assert verdict.kind is Kind.STALE and "seq 1" in verdict.message
    assert call.status == "in-progress"


def test_event_time_decides_without_sequence_numbers(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    noon = datetime(2024, 5, 1, 12, 0)
    row: dict[str, Any] = {"status": "queued"}
    lc.apply(row, "ringing", at=noon, key_field="k")  # naive: UTC
    later_elsewhere = datetime(2024, 5, 1, 13, 30, tzinfo=timezone(timedelta(hours=2)))  # 11:30Z
    assert lc.apply(row, "in-progress", at=later_elsewhere, key_field="k").kind is Kind.STALE
    assert row["status"] == "ringing"
    # equal times fall back to the graph
    assert lc.apply(row, "in-progress", at=noon, key_field="k").kind is Kind.APPLIED
    assert row["k"][1] == noon.replace(tzinfo=UTC)


def test_same_event_id_again_is_repeated(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    row: dict[str, Any] = {}
    lc.apply(row, "queued", event_id="ev-1", key_field="k")
    lc.apply(row, "ringing", event_id="ev-2", key_field="k")
    verdict = lc.apply(row, "ringing", event_id="ev-2", key_field="k")
    assert verdict.kind is Kind.REPEATED and "ev-2" in verdict.message
    # the same status under another id is a repeat by the graph
    assert lc.apply(row, "ringing", event_id="ev-3", key_field="k").kind is Kind.REPEATED
    assert row == {"status": "ringing", "k": (None, None, "ev-2")}


def test_a_repeat_with_a_newer_key_keeps_the_key(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TOGGLE))
    # history idle(1) busy(2) idle(3), delivered 1, 3, 2: the late `busy` must not win
    events = [Event("t", "idle", 1), Event("t", "idle", 3), Event("t", "busy", 2)]
    verdicts = [v for _, v in lc.replay(events)]
    assert [v.kind for v in verdicts] == [Kind.APPLIED, Kind.REPEATED, Kind.STALE]
    assert verdicts[-1].after == "idle"


#: on a cycle the graph applies anything, so only the kept key can find the last one late
LATE_AFTER_AN_UNKEYED_EVENT = [
    Event("t", "idle", 1),
    Event("t", "busy", 4),
    Event("t", "idle"),  # no key: applied by the graph
    Event("t", "busy", 2),  # older than busy(4), which was applied
]


def test_an_event_without_a_key_keeps_the_last_key(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TOGGLE))
    verdicts = [v for _, v in lc.replay(LATE_AFTER_AN_UNKEYED_EVENT)]
    assert [v.kind for v in verdicts] == [Kind.APPLIED] * 3 + [Kind.STALE]
    assert "seq 2 is older than the last applied status's seq 4" in verdicts[-1].message
    assert verdicts[-1].after == "idle"
    for toggle in (Record(), {"status": None, "last_key": None}):
        kinds = [
            lc.apply(toggle, e.status, seq=e.seq, key_field="last_key").kind
            for e in LATE_AFTER_AN_UNKEYED_EVENT
        ]
        assert kinds == [Kind.APPLIED] * 3 + [Kind.STALE]
        stored = toggle if isinstance(toggle, dict) else vars(toggle)
        assert (stored["status"], stored["last_key"]) == ("idle", (4, None, None))


def test_an_event_id_alone_keeps_the_last_sequence_number(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TOGGLE))
    events = [*LATE_AFTER_AN_UNKEYED_EVENT]
    events[2] = Event("t", "idle", event_id="ev-3")
    verdicts = [v for _, v in lc.replay([*events, events[2]])]
    assert [v.kind for v in verdicts] == [Kind.APPLIED] * 3 + [Kind.STALE, Kind.REPEATED]
    assert verdicts[-1].after == "idle" and "ev-3" in verdicts[-1].message
    row: dict[str, Any] = {}
    for e in events:
        lc.apply(row, e.status, seq=e.seq, event_id=e.event_id, key_field="k")
    assert row == {"status": "idle", "k": (4, None, "ev-3")}
    t = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    lc.apply(row, "busy", at=t, key_field="k")  # a time joins the kept parts
    assert row == {"status": "busy", "k": (4, t, "ev-3")}


# -- apply: objects, dict rows, policies, compare-and-set, guards, threads ------------------------


def test_policy_raises_carry_the_verdict(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    call = Record("completed")
    with pytest.raises(Rejected) as illegal:
        lc.apply(call, "busy", object_id="CA9")
    assert illegal.value.verdict.kind is Kind.ILLEGAL
    assert "CA9" in str(illegal.value) and "completed is final" in str(illegal.value)
    with pytest.raises(UnknownStatus) as unknown:
        lc.apply(call, "answered")
    assert isinstance(unknown.value, RejectedUnknown)
    assert unknown.value.verdict.kind is Kind.UNKNOWN
    strict = Policy(repeated=Action.RAISE, stale="raise")
    with pytest.raises(RepeatedStatus) as repeated:
        lc.apply(call, "completed", policy=strict)
    assert isinstance(repeated.value, RejectedRepeat)
    with pytest.raises(Rejected):
        lc.apply(Record("in-progress"), "ringing", policy=strict)
    assert call.status == "completed"


def test_policies_apply_or_ignore(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    trusting = Policy(stale=Action.APPLY, illegal=Action.APPLY, skipped=Action.IGNORE)
    call = Record("in-progress")
    assert lc.apply(call, "ringing", policy=trusting).after == "ringing"
    assert call.status == "ringing"
    assert lc.apply(Record("queued"), "completed", policy=trusting).after == "queued"
    assert DEFAULT_POLICY.action(Kind.STALE) is Action.IGNORE
    with pytest.raises(ValueError, match="unknown"):
        Policy(unknown=Action.APPLY)


def test_compare_and_set(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    call = Record("ringing")
    with pytest.raises(StatusConflict):
        lc.apply(call, "in-progress", expected="queued")
    assert call.status == "ringing"
    assert lc.apply(call, "in-progress", expected="ringing").after == "in-progress"


def test_guards_on_the_path_through_unreported_states(write: Callable[..., Path]) -> None:
    d = _load(write, GUARDED)
    allowed = {"ok": False}
    seen: list[dict[str, Any]] = []

    def approved(event: Any) -> bool:
        seen.append(event.kwargs)
        return allowed["ok"]

    lc = Lifecycle(d, guards={"approved": approved})
    job: dict[str, Any] = {"status": "new"}
    assert lc.classify("new", "running").through == ("checking",)
    with pytest.raises(Rejected) as refused:
        lc.apply(job, "running")
    assert refused.value.verdict.kind is Kind.ILLEGAL
    assert "approved" in refused.value.verdict.message
    assert job["status"] == "new"
    allowed["ok"] = True
    assert lc.apply(job, "running", data={"reason": "test"}).kind is Kind.APPLIED
    assert job["status"] == "running"
    assert seen[-1] == {"reason": "test"}


def test_a_misspelt_keyword_is_an_error_not_guard_data() -> None:
    """`apply` takes guard data as one mapping: a misspelt ordering key or compare-and-set
    must fail loudly instead of being handed to guards and dropped."""
    lc = lifecycle("dialnexa.call")
    call = Record("created")
    with pytest.raises(TypeError, match="sequence"):
        lc.apply(call, "initiated", sequence=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="expect"):
        lc.apply(call, "initiated", expect="created")  # type: ignore[call-arg]
    assert call.status == "created"


def test_concurrent_deliveries_end_in_the_last_state(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    rows = [{"status": None, "key": None} for _ in range(50)]
    history = ["queued", "ringing", "in-progress", "completed"]

    def deliver(order: list[int]) -> None:
        for row in rows:
            for seq in order:
                lc.apply(row, history[seq], seq=seq, key_field="key", object_id=id(row))

    orders = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]
    threads = [threading.Thread(target=deliver, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(row == {"status": "completed", "key": (3, None, None)} for row in rows)


def test_check_and_advance_still_work(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    assert lc.check("queued", "ringing").dest == "ringing"
    call = Record("queued")
    lc.advance(call, "ringing")
    assert call.status == "ringing"


def test_replay_interleaves_entities_and_never_raises(write: Callable[..., Path]) -> None:
    lc = Lifecycle(_load(write, TWILIO))
    events = [
        Event("a", "queued"),
        Event("b", "ringing"),
        Event("a", "bogus"),
        Event("b", "queued"),
        Event("a", "completed"),
        Event("b", "busy"),
        Event("a", "busy"),
    ]
    last: dict[str, str | None] = {}
    kinds = []
    for event, verdict in lc.replay(events):
        last[event.id] = verdict.after
        kinds.append(verdict.kind)
    assert kinds == [
        Kind.APPLIED,
        Kind.SKIPPED,
        Kind.UNKNOWN,
        Kind.STALE,
        Kind.SKIPPED,
        Kind.APPLIED,
        Kind.ILLEGAL,
    ]
    assert last == {"a": "completed", "b": "busy"}


def test_events_normalise_times_and_check_sequence_numbers() -> None:
    naive = Event("x", "queued", at=datetime(2024, 1, 1, 9, 0))
    assert naive.at == datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    shifted = Event(
        "x", "queued", at=datetime(2024, 1, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    assert shifted.at == naive.at
    with pytest.raises(TypeError):
        Event("x", "queued", seq=True)  # type: ignore[arg-type]
    assert Event("x", "queued").key is None


def test_at_takes_a_datetime_or_iso_8601_text_in_apply_and_replay() -> None:
    calls = lifecycle("dialnexa.call")
    row: dict[str, Any] = {}
    first = calls.apply(row, "created", at="2025-06-02T08:00:20Z", key_field="key")
    assert first.kind is Kind.APPLIED
    assert row["key"] == (None, datetime(2025, 6, 2, 8, 0, 20, tzinfo=UTC), None)
    # the same instant written with an offset, then an older one given as a datetime
    same = calls.apply(row, "sent", at="2025-06-02T10:00:20+02:00", key_field="key")
    assert same.kind is Kind.APPLIED
    older = datetime(2025, 6, 2, 8, 0, 19, tzinfo=UTC)
    assert calls.apply(row, "completed", at=older, key_field="key").kind is Kind.STALE
    for bad in (5, 1.5, b"2025-06-02", ["2025"]):
        with pytest.raises(TypeError, match=r"^at must be a datetime or ISO 8601 text"):
            calls.apply({}, "created", at=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^at must be a datetime or ISO 8601 text"):
            Event("c1", "created", at=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^at must be an ISO 8601 time .* not 'yesterday'"):
        calls.apply({}, "created", at="yesterday")
    events = [
        Event("c1", "created", at="2025-06-02T08:00:20Z"),
        Event("c1", "sent", at=datetime(2025, 6, 2, 8, 0, 21)),  # naive: UTC
        Event("c1", "created", at="2025-06-02T08:00:20.5"),
    ]
    kinds = [verdict.kind for _, verdict in calls.replay(events)]
    assert kinds == [Kind.APPLIED, Kind.APPLIED, Kind.STALE]


TIE = """
machine: acme.tie
initial: [a, b, z]
states:
  a: {}
  b: {}
  z: {}
  c: {}
  d: {final: true}
transitions:
  - {source: [a, b], dest: c}
  - {source: z, dest: a}
  - {source: c, dest: d}
"""


def test_never_arrived_names_every_equally_near_entry(write: Callable[..., Path]) -> None:
    """A new entity at `c` came from `a` or from `b` (each one step away; `z` is two): both
    are named, in the definition's order, whatever order the definition lists moves in."""
    for text in (TIE, TIE.replace("[a, b], dest: c", "[b, a], dest: c")):
        lc = lifecycle("acme.tie", paths=[write(text, "tie.yaml")])
        first = lc.classify(None, "c")
        assert first.kind is Kind.SKIPPED
        assert first.message == "new entity -> c: a or b never arrived"
        assert lc.classify(None, "d").message == "new entity -> d: a, c or b, c never arrived"
        assert lc.classify("a", "d").message == "a -> d: c never arrived"  # one way only
