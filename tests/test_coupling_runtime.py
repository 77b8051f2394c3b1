"""The runtime's coupled judgements: a child's start against its parent's status, a parent's
move against its children's counts, as a service keeping those counts would call them."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import attrs
import pytest

from statemachine.coupled import Move, Timeline, judge
from statemachine.coupled import coupling_of as tables_of
from statemachine.graph import Kind, graph_of
from statemachine.model.coupling import Constraint, Related
from statemachine.model.definition import Acknowledgement, Alias, Definition
from statemachine.model.finding import Severity
from statemachine.runtime import (
    OK,
    AcknowledgementStatus,
    Coupling,
    DefinitionError,
    UnknownStatus,
    coupling,
    definition,
)
from statemachine.runtime.streams import classify
from tests import coupled_data
from tests.coupled_service import Service


def related(parent: str, child: str, key: str, *rules: Constraint) -> Definition:
    """Bundled machine `parent` relating bundled `child` with `rules`."""
    return attrs.evolve(definition(parent), related={child: Related(child, key, rules=rules)})


def batch_calls() -> Coupling:
    batch = related(
        "dialnexa.batch",
        "dialnexa.call",
        "batch_id",
        Constraint("blocks_start", states=["draft", "paused", "cancelled", "completed"]),
        Constraint("requires_final", states=["completed"]),
    )
    return coupling(batch, definition("dialnexa.call"))


def transfer_legs() -> Coupling:
    transfer = related(
        "dialnexa.transfer",
        "dialnexa.transfer_leg",
        "transfer_id",
        Constraint(
            "children_agree",
            states=["transfer_connected"],
            child_states=["winner"],
            reached=True,
            quantity="one",
        ),
        Constraint(
            "children_agree",
            states=["transfer_all_ics_busy"],
            child_states=["busy"],
            quantity="all",
        ),
        Constraint(
            "children_agree",
            states=["transfer_no_ic_answered"],
            child_states=["answered", "winner"],
            reached=True,
            quantity="none",
        ),
    )
    return coupling(transfer, definition("dialnexa.transfer_leg"))


def test_a_child_may_not_start_under_a_blocking_parent() -> None:
    pair = batch_calls()
    for parent in definition("dialnexa.batch").states:
        for child in ("created", "received"):
            judged = pair.judge_start(parent, child)
            blocked = parent in {"draft", "paused", "cancelled", "completed"}
            assert judged.ok is not blocked, (parent, child)
            if blocked:
                assert (judged.code, judged.rule, judged.severity) == (
                    "SM201",
                    "blocks_start",
                    Severity.ERROR,
                )
                assert judged.message == (
                    f"dialnexa.call cannot start at {child} while its dialnexa.batch is {parent} "
                    "(blocks_start: no dialnexa.call may start while the dialnexa.batch is "
                    "draft, paused, cancelled or completed)"
                )
            else:
                assert judged is OK
    # a parent without a status yet judges nothing
    assert pair.judge_start(None, "created") is OK


def test_only_entries_into_child_states_are_starts() -> None:
    workflow = related(
        "dialnexa.workflow",
        "dialnexa.workflow_lead",
        "workflow_id",
        Constraint("blocks_start", states=["paused"], child_states=["active"]),
    )
    pair = coupling(workflow, definition("dialnexa.workflow_lead"))
    assert pair.judge_start("paused", "pending") is OK
    assert pair.judge_start("paused", "active").code == "SM201"
    # `running` is the workflow's legacy alias of `active`: no block
    assert pair.judge_start("running", "active") is OK


def test_a_parent_enters_completed_only_with_final_children() -> None:
    pair = batch_calls()
    assert pair.judge_move("running", "completed", {"completed": 8, "busy": 2}) is OK
    assert pair.judge_move("running", "completed", {"completed": 8, "sent": 0}) is OK
    assert pair.judge_move("running", "completed", {}) is OK  # no calls at all
    judged = pair.judge_move("running", "completed", {"sent": 2, "completed": 8, "created": 1})
    assert (judged.ok, judged.code, judged.rule) == (False, "SM202", "requires_final")
    assert judged.message == (
        "dialnexa.batch cannot enter completed while 3 dialnexa.call are not final "
        "(2 sent, 1 created; requires_final: every dialnexa.call must be final when the "
        "dialnexa.batch enters completed)"
    )
    # a move that enters no rule's state reads no counts, and neither does a repeat
    assert pair.judge_move("running", "paused") is OK
    assert pair.judge_move("completed", "completed") is OK


def test_counts_may_come_from_a_callback_called_only_when_needed() -> None:
    pair = batch_calls()
    calls: list[str] = []

    def counts() -> dict[str, int]:
        calls.append("counted")
        return {"initiated": 1}

    assert pair.judge_move("active", "running", counts) is OK
    assert calls == []
    assert pair.judge_move("running", "completed", counts).code == "SM202"
    assert calls == ["counted"]


def test_children_agree_reads_current_and_reached_counts() -> None:
    pair = transfer_legs()
    connected = ("validating", "transfer_connected")
    # one leg won (and has completed since), the others were cancelled
    now, ever = {"completed": 1, "cancelled": 2}, {"winner": 1, "answered": 1, "ringing": 3}
    assert pair.judge_move(*connected, now, reached=ever) is OK
    judged = pair.judge_move(*connected, now, reached={"winner": 0})
    assert (judged.code, judged.message) == (
        "SM203",
        "dialnexa.transfer cannot enter transfer_connected: it needs exactly one "
        "dialnexa.transfer_leg that reached winner, found 0 (children_agree)",
    )
    assert pair.judge_move(*connected, reached={"winner": 2}).code == "SM203"
    # every leg busy, and at least one
    busy = ("hunting", "transfer_all_ics_busy")
    assert pair.judge_move(*busy, {"busy": 3}) is OK
    assert pair.judge_move(*busy, {}).code == "SM203"
    judged = pair.judge_move(*busy, {"busy": 2, "cancelled": 1})
    assert judged.message.endswith(
        "it needs every (and at least one) dialnexa.transfer_leg in "
        "busy, found 2 of 3 (children_agree)"
    )
    # nobody answered: a leg that answered and was cancelled since still counts
    unanswered = ("hunting", "transfer_no_ic_answered")
    assert pair.judge_move(*unanswered, reached={"ringing": 2}) is OK
    assert pair.judge_move(*unanswered, reached={"answered": 1}).code == "SM203"


def test_aliases_resolve_and_unknown_statuses_raise() -> None:
    call = definition("dialnexa.call")
    aliased = attrs.evolve(call, aliases={"queued": Alias("queued", "created")})
    batch = related(
        "dialnexa.batch",
        "dialnexa.call",
        "batch_id",
        Constraint("blocks_start", states=["paused"]),
        Constraint("requires_final", states=["completed"]),
    )
    pair = coupling(batch, aliased)
    judged = pair.judge_start("paused", "queued")
    assert judged.code == "SM201" and "start at queued (created)" in judged.message
    judged = pair.judge_move("running", "completed", {"queued": 1, "created": 1})
    assert "2 dialnexa.call are not final (2 created;" in judged.message
    with pytest.raises(
        UnknownStatus, match=re.escape("dialnexa.batch: unknown status 'pausd'; did you mean")
    ):
        pair.judge_start("pausd", "created")
    with pytest.raises(UnknownStatus, match=re.escape("dialnexa.call: unknown status 'creatd'")):
        pair.judge_start("paused", "creatd")
    with pytest.raises(UnknownStatus, match=re.escape("dialnexa.batch: unknown status 'complete'")):
        pair.judge_move("running", "complete", {})
    with pytest.raises(UnknownStatus, match=re.escape("dialnexa.call: unknown status 'snt'")):
        pair.judge_move("running", "completed", {"snt": 1})
    with pytest.raises(UnknownStatus, match=re.escape("a status is a string, not NoneType")):
        pair.judge_start("paused", None)  # type: ignore[arg-type]
    with pytest.raises(UnknownStatus, match=re.escape("a status is a string, not list")):
        pair.judge_move(["running"], "completed", {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("pass children=")):
        pair.judge_move("running", "completed")


def test_an_acknowledgement_is_no_status() -> None:
    call = attrs.evolve(
        definition("dialnexa.call"), acknowledgements={"queued": Acknowledgement("queued")}
    )
    batch = related("dialnexa.batch", "dialnexa.call", "batch_id")
    with pytest.raises(AcknowledgementStatus, match="acknowledgement only"):
        coupling(batch, call).judge_start("running", "queued")


def test_an_unrelated_pair_is_a_definition_error() -> None:
    with pytest.raises(
        DefinitionError, match=re.escape("declares no related machine dialnexa.batch")
    ):
        coupling(definition("dialnexa.call"), definition("dialnexa.batch"))


def test_warnings_come_after_errors() -> None:
    batch = related(
        "dialnexa.batch",
        "dialnexa.call",
        "batch_id",
        Constraint("blocks_start", states=["paused"], severity="warning"),
        Constraint("blocks_start", states=["paused", "cancelled"]),
    )
    pair = coupling(batch, definition("dialnexa.call"))
    assert pair.judge_start("paused", "created").severity is Severity.ERROR


# -- a planted stream, judged as a service would -------------------------------------------

#: (time, machine, entity, parent, status): a batch and its calls, a transfer and its legs
STREAM = [
    (1, "batch", "b1", None, "draft"),
    (2, "call", "c-draft", "b1", "created"),  # planted: started while b1 is a draft
    (3, "batch", "b1", None, "active"),
    (4, "batch", "b1", None, "running"),
    (5, "call", "c1", "b1", "created"),
    (6, "call", "c2", "b1", "created"),
    (7, "batch", "b1", None, "paused"),
    (8, "call", "c-paused", "b1", "created"),  # planted: started during the pause
    (9, "call", "c1", "b1", "completed"),  # look-alike: finishes during a pause it predates
    (10, "batch", "b1", None, "running"),
    (11, "call", "c-paused", "b1", "busy"),
    (12, "batch", "b1", None, "completed"),  # planted: c2 and c-draft are still created
    (20, "batch", "b2", None, "draft"),
    (21, "batch", "b2", None, "active"),
    (22, "call", "c3", "b2", "created"),
    (23, "batch", "b2", None, "cancelled"),
    (24, "call", "c3", "b2", "completed"),  # look-alike: started before the cancel
    (25, "call", "c-late", "b2", "created"),  # planted: started after the cancel
    (30, "transfer", "t1", None, "hunting"),
    (31, "leg", "l1", "t1", "dialing"),
    (32, "leg", "l2", "t1", "dialing"),
    (33, "leg", "l1", "t1", "winner"),
    (34, "leg", "l2", "t1", "cancelled"),  # look-alike: another leg won
    (35, "leg", "l1", "t1", "completed"),
    (36, "transfer", "t1", None, "transfer_connected"),
    (40, "transfer", "t2", None, "hunting"),
    (41, "leg", "l3", "t2", "dialing"),
    (42, "transfer", "t2", None, "transfer_connected"),  # planted: no winner
    (50, "transfer", "t3", None, "hunting"),
    (51, "leg", "l4", "t3", "busy"),
    (52, "leg", "l5", "t3", "answered"),
    (53, "leg", "l5", "t3", "cancelled"),
    (54, "transfer", "t3", None, "transfer_all_ics_busy"),  # planted: l5 is not busy
]
PLANTED = {("SM201", "c-draft"), ("SM201", "c-paused"), ("SM202", "b1"), ("SM201", "c-late")}
PLANTED |= {("SM203", "t2"), ("SM203", "t3")}


def judged_stream() -> Iterator[tuple[str, str]]:
    """(code, entity) for every violation the runtime finds in STREAM as it arrives."""
    services = {"batch": Service(batch_calls()), "transfer": Service(transfer_legs())}
    parents = {"call": "batch", "leg": "transfer"}
    for _, machine, entity, parent, new in STREAM:
        if parent is None:
            judged = services[machine].parent(entity, new)
        else:
            judged = services[parents[machine]].child(entity, parent, new)
        if not judged.ok:
            yield judged.code, entity


def test_the_runtime_finds_exactly_the_planted_violations() -> None:
    assert set(judged_stream()) == PLANTED
    assert len(list(judged_stream())) == len(PLANTED)


def test_the_planted_stream_is_legal_machine_by_machine() -> None:
    # only the coupled rules find anything in it
    names = {"batch": "dialnexa.batch", "call": "dialnexa.call"}
    names |= {"transfer": "dialnexa.transfer", "leg": "dialnexa.transfer_leg"}
    held: dict[str, str] = {}
    for _, machine, entity, _, new in STREAM:
        verdict = classify(definition(names[machine]), held.get(entity), new)
        assert verdict.kind in {Kind.APPLIED, Kind.SKIPPED}, (entity, verdict)
        held[entity] = new


# -- the runtime agrees with the coupled audit's reference judgement ------------------------


#: (time, machine, entity, its parent or None for a parent, status)
Event = tuple[int, str, str, str | None, str]


def walk(d: Definition, rnd: random.Random, entries: tuple[str, ...]) -> list[str]:
    """A random legal history of `d` from one of `entries`, ending anywhere."""
    graph = graph_of(d)
    path = [rnd.choice(entries)]
    while graph.successors[path[-1]] and rnd.random() < 0.75:
        path.append(rnd.choice(graph.successors[path[-1]]))
    return path


def interleaved(
    rnd: random.Random, histories: dict[tuple[str, str, str | None], list[str]]
) -> list[Event]:
    """Every entity's history merged in a random order, each event at its own time."""
    queues = {entity: list(history) for entity, history in histories.items()}
    stream: list[Event] = []
    while queues:
        entity = rnd.choice(sorted(queues, key=str))
        machine, name, parent = entity
        stream.append((len(stream), machine, name, parent, queues[entity].pop(0)))
        if not queues[entity]:
            del queues[entity]
    return stream


def runtime_finds(pair: Coupling, stream: list[Event]) -> set[tuple[str, str]]:
    """(code, entity) the runtime refuses in `stream`, judged as each event arrives."""
    service = Service(pair)
    found: set[tuple[str, str]] = set()
    for _, _, entity, parent, new in stream:
        if parent is None:
            judged = service.parent(entity, new)
        else:
            judged = service.child(entity, parent, new)
        if not judged.ok:
            found.add((judged.code, entity))
    return found


def reference_finds(pair: Coupling, stream: list[Event]) -> set[tuple[str, str]]:
    """(code, entity) the coupled room's `judge` finds in `stream` at rest."""
    moves: dict[tuple[str, str | None], list[Move]] = {}
    start = datetime(2026, 1, 1)
    for t, _, entity, parent, new in stream:
        moves.setdefault((entity, parent), []).append(Move(start + timedelta(seconds=t), new))
    timelines = [Timeline(e, tuple(m), parent=p) for (e, p), m in moves.items()]
    found = judge(
        tables_of(pair.parent, pair.child),
        [t for t in timelines if t.parent is None],
        [t for t in timelines if t.parent is not None],
    )
    return {(v.code, v.child_id if v.code == "SM201" else v.parent_id) for v in found}


def random_streams(seed: int) -> Iterator[tuple[Coupling, list[Event]]]:
    """A batch with its calls, then a transfer with its legs, as random interleaved streams."""
    rnd = random.Random(seed)
    batch, call = batch_calls(), transfer_legs()
    for pair, child_entries in ((batch, ("created", "received")), (call, ("dialing",))):
        parent, child = pair.parent, pair.child
        histories: dict[tuple[str, str, str | None], list[str]] = {}
        for p in range(3):
            histories["parent", f"p{p}", None] = walk(parent, rnd, parent.initial)
        for c in range(8):
            owner = f"p{rnd.randrange(3)}"
            histories["child", f"c{c}", owner] = walk(child, rnd, child_entries)
        stream = interleaved(rnd, histories)
        if pair is call:
            # children_agree is judged on a parent's last status at rest and at its entry
            # at run time: the two agree when no leg moves after its transfer's end
            ends = [e for e in stream if e[3] is None and e[4] in parent.final_states]
            stream = [e for e in stream if e not in ends] + ends
            stream = [(t, *rest) for t, (_, *rest) in enumerate(stream)]  # type: ignore[misc]
        yield pair, stream


@pytest.mark.parametrize("seed", range(40))
def test_the_runtime_agrees_with_the_reference_judgement(seed: int) -> None:
    for pair, stream in random_streams(seed):
        assert runtime_finds(pair, stream) == reference_finds(pair, stream), stream


def test_the_random_streams_break_every_rule() -> None:
    codes = Counter(
        code
        for seed in range(40)
        for pair, stream in random_streams(seed)
        for code, _ in runtime_finds(pair, stream)
    )
    assert set(codes) == {"SM201", "SM202", "SM203"}, codes


def test_the_bundled_relations_judge_as_declared() -> None:
    calls = coupling("dialnexa.batch", "dialnexa.call")
    assert calls.judge_start("cancelled", "created").code == "SM201"
    assert calls.judge_start("active", "created") is OK
    assert calls.judge_move("running", "completed", {"no_answer": 3}) is OK
    legs = coupling("dialnexa.transfer", "dialnexa.transfer_leg")
    timeout = ("hunting", "transfer_hunt_timeout")
    assert legs.judge_move(*timeout, {"cancelled": 1}, reached={"ringing": 1}) is OK
    assert legs.judge_move(*timeout, {"cancelled": 1}, reached={"answered": 1}).code == "SM203"
    leads = coupling("dialnexa.workflow", "dialnexa.workflow_lead")
    assert leads.judge_start("paused", "active").code == "SM201"
    # a relation with no start or move rule (the lead's branch: matches) refuses nothing
    branch = coupling("dialnexa.workflow_lead", "dialnexa.call")
    assert branch.judge_start("completed", "created") is OK
    assert branch.judge_move("active", "completed") is OK


#: the rules the runtime judges as deliveries arrive (counters and `matches` read the
#: parent's own fields, which the audit judges at rest)
AT_RUN_TIME = {"SM201", "SM202", "SM203"}


@pytest.mark.parametrize(
    "make",
    [
        coupled_data.batches_and_calls,
        coupled_data.transfers_and_legs,
        coupled_data.workflows_and_leads,
    ],
)
def test_the_runtime_finds_the_audits_planted_violations(
    make: Callable[[], coupled_data.Planted],
) -> None:
    """The audit's planted datasets delivered in time order (a parent's move at the same
    minute first: it has happened) to a service with the bundled relation: the runtime
    rejects exactly the planted starts and moves, and none of the look-alikes."""
    planted = make()
    (parent, parents), (child, children) = planted.rows.items()
    pair = coupling(definition(parent), definition(child))
    service = Service(pair)
    arrivals = sorted(
        [(row["at"], False, row) for row in parents] + [(row["at"], True, row) for row in children],
        key=lambda arrival: arrival[:2],
    )
    found = set()
    for _, is_child, row in arrivals:
        if is_child:
            parent_id = row[pair.relation.key]
            judged = service.child(row["id"], parent_id, row["status"])
            who = (parent_id, row["id"])
        else:
            judged = service.parent(row["id"], row["status"])
            who = (row["id"], None)
        if not judged.ok:
            found.add((judged.code, *who))
    # a parent's move is judged on counts: the runtime names the parent, not the child
    expected = {
        (code, parent_id, child_id if code == "SM201" else None)
        for code, parent_id, child_id in planted.expected
        if code in AT_RUN_TIME
    }
    assert expected, "the dataset plants violations the runtime judges"
    assert found == expected
