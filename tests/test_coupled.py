"""The coupled room: tables derived from a relation's rules, and the Python judgement."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from statemachine.coupled import (
    UNDECIDED,
    Move,
    Timeline,
    coupling_of,
    field_rules_of,
    judge,
    judge_fields,
    status_at,
)
from statemachine.model.coupling import Constraint, Related, RuleKind
from statemachine.model.definition import Definition
from statemachine.runtime import definition

T0 = datetime(2025, 3, 1)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def timeline(
    ident: str, *moves: tuple[int, str], parent: str | None = None, **last: str
) -> Timeline:
    steps = tuple(Move(at(m), s) for m, s in moves)
    return Timeline(ident, steps, last, last, parent)


@pytest.fixture(scope="module")
def call() -> Definition:
    return definition("dialnexa.call")


@pytest.fixture(scope="module")
def batch(call: Definition) -> Definition:
    rules = (
        Constraint(RuleKind.BLOCKS_START, states=("draft", "paused", "cancelled", "completed")),
        Constraint(RuleKind.REQUIRES_FINAL, states=("completed",)),
        Constraint(RuleKind.COUNTS, mapping="campaign_counter"),
    )
    related = {call.name: Related(call.name, "batch_id", rules)}
    return attrs.evolve(definition("dialnexa.batch"), related=related)


def test_tables_are_derived_once_per_pair(batch: Definition, call: Definition) -> None:
    pair = coupling_of(batch, call)
    assert coupling_of(batch, call) is pair
    assert pair.key == "batch_id"
    assert pair.child_final == frozenset(call.final_states)
    (counts,) = pair.of(RuleKind.COUNTS)
    # a label no status has (total_lead_count) counts no final status: it is no counter
    assert counts.counters["failed_leads"] == {"failed", "busy", "no_answer"}
    assert "total_lead_count" not in counts.counters
    assert pair.blocked("paused", "created") is not None
    assert pair.blocked("running", "created") is None
    assert pair.blocked("paused", "completed", first=False) is None
    with pytest.raises(KeyError):
        coupling_of(call, batch)


def test_status_at_counts_a_move_at_exactly_t() -> None:
    moves = (Move(at(0), "active"), Move(at(5), "paused"))
    assert status_at(moves, at(5)) == Move(at(5), "paused")
    assert status_at(moves, at(4)) == Move(at(0), "active")
    assert status_at(moves, at(-1)) is None


def test_blocks_start_by_time(batch: Definition, call: Definition) -> None:
    parents = [timeline("b1", (0, "draft"), (1, "active"), (2, "running"), (10, "paused"))]
    children = [
        # started before the pause and finished during it: legitimate
        timeline("c1", (3, "created"), (12, "completed"), parent="b1"),
        # started during the pause: SM201
        timeline("c2", (11, "created"), parent="b1"),
        # started while the batch was a draft: SM201
        timeline("c3", (0, "created"), parent="b1"),
        # no parent event before it: no status, no rule
        timeline("c4", (-5, "created"), parent="b1"),
    ]
    found = judge(coupling_of(batch, call), parents, children)
    assert [(v.code, v.child_id, v.parent_at) for v in found] == [
        ("SM201", "c2", at(10)),
        ("SM201", "c3", at(0)),
    ]
    assert (
        found[0].message == "dialnexa.call c2 started (created) while dialnexa.batch b1 was paused"
    )


def test_requires_final_and_counts(batch: Definition, call: Definition) -> None:
    parents = [
        timeline(
            "b1",
            (0, "draft"),
            (1, "active"),
            (2, "running"),
            (20, "completed"),
            completed_leads="1",
            failed_leads="1",
            did_not_pick_count="0",
        ),
    ]
    children = [
        timeline("c1", (3, "created"), (9, "completed"), parent="b1"),
        timeline("c2", (4, "created"), (25, "busy"), parent="b1"),  # not final at 20
        timeline("c3", (5, "created"), (6, "failed"), parent="b1"),
    ]
    pair = coupling_of(batch, call)
    columns = ("completed_leads", "failed_leads", "did_not_pick_count")
    found = judge(pair, parents, children, columns)
    assert [(v.code, v.child_id) for v in found] == [("SM202", "c2"), ("SM204", None)]
    assert "failed_leads = 1 but 2" in found[1].message
    # a counter the parent's data lacks is not judged
    assert [v.code for v in judge(pair, parents, children, ("completed_leads",))] == ["SM202"]


def test_children_agree_quantities(call: Definition) -> None:
    leg = definition("dialnexa.transfer_leg")
    rules = (
        Constraint(
            RuleKind.CHILDREN_AGREE,
            states=("transfer_connected",),
            child_states=("winner",),
            reached=True,
            quantity="one",
        ),
        Constraint(
            RuleKind.CHILDREN_AGREE,
            states=("transfer_all_ics_busy",),
            child_states=("busy",),
            quantity="all",
        ),
    )
    transfer = attrs.evolve(
        definition("dialnexa.transfer"), related={leg.name: Related(leg.name, "transfer_id", rules)}
    )
    parents = [
        timeline("t1", (0, "transfer_connected")),  # one winner, others cancelled: fine
        timeline("t2", (0, "transfer_connected")),  # two winners
        timeline("t3", (0, "transfer_connected")),  # none
        timeline("t4", (0, "transfer_all_ics_busy")),  # one leg answered
        timeline("t5", (0, "transfer_all_ics_busy")),  # no legs at all
    ]
    children = [
        timeline("l1", (1, "dialing"), (2, "answered"), (3, "winner"), parent="t1"),
        timeline("l2", (1, "dialing"), (4, "cancelled"), parent="t1"),
        timeline("l3", (1, "dialing"), (2, "answered"), (3, "winner"), parent="t2"),
        timeline("l4", (1, "dialing"), (2, "answered"), (3, "winner"), parent="t2"),
        timeline("l5", (1, "dialing"), (4, "cancelled"), parent="t3"),
        timeline("l6", (1, "dialing"), (2, "busy"), parent="t4"),
        timeline("l7", (1, "dialing"), (2, "answered"), parent="t4"),
    ]
    found = judge(coupling_of(transfer, leg), parents, children)
    assert [(v.parent_id, v.child_id) for v in found] == [
        ("t2", "l3"),
        ("t3", None),
        ("t4", "l7"),
        ("t5", None),
    ]
    assert {v.code for v in found} == {"SM203"}


def test_matches_reads_the_latest_child(call: Definition) -> None:
    rules = (Constraint(RuleKind.MATCHES, field="branch", mapping="voice_call_branch"),)
    lead = attrs.evolve(
        definition("dialnexa.workflow_lead"),
        related={call.name: Related(call.name, "lead_id", rules)},
    )
    parents = [
        timeline("L1", (0, "pending"), branch="COMPLETED"),
        timeline("L2", (0, "pending"), branch="DNP"),  # latest call completed: SM205
        timeline("L3", (0, "pending")),  # no branch column value: not judged
    ]
    children = [
        timeline("c1", (1, "created"), (2, "busy"), parent="L1"),
        timeline("c2", (5, "created"), (6, "completed"), parent="L1"),
        timeline("c3", (1, "created"), (2, "completed"), parent="L2"),
        timeline("c4", (1, "created"), (2, "completed"), parent="L3"),
    ]
    found = judge(coupling_of(lead, call), parents, children, ("branch",))
    assert [(v.code, v.parent_id, v.child_id) for v in found] == [("SM205", "L2", "c3")]


def test_field_fits_and_decides(call: Definition) -> None:
    fits = Constraint(
        RuleKind.FIELD_FITS, field="end_reason", mapping="end_reason", severity="warning"
    )
    machine = attrs.evolve(call, rules=(fits,))
    entities = [
        timeline("c1", (0, "created"), (1, "completed"), end_reason="voicemail_detected"),
        timeline("c2", (0, "created"), (1, "busy"), end_reason="unknown"),
        timeline("c3", (0, "created"), (1, "completed")),  # no value: fits
        timeline("c4", (0, "created"), end_reason="voicemail_detected"),  # not final
    ]
    found = judge_fields(machine, entities, ("end_reason",))
    assert [(v.code, v.parent_id, v.severity) for v in found] == [("SM206", "c1", "warning")]
    assert judge_fields(machine, entities, ()) == []

    outcome = attrs.evolve(
        call.mappings["outcome"],
        entries={**call.mappings["outcome"].entries, "completed": ("connected", "busy")},
    )
    decides = Constraint(
        RuleKind.DECIDES, field="reason", mapping="outcome", decisions={"busy": {"x": "busy"}}
    )
    machine = attrs.evolve(call, mappings={**call.mappings, "outcome": outcome}, rules=(decides,))
    (rule,) = field_rules_of(machine)
    assert rule.decide("completed", "anything") == UNDECIDED
    assert rule.decide("busy", "x") == "busy"
    assert rule.decide("failed", None) == "failed"
    found = judge_fields(machine, [timeline("c1", (0, "completed"), reason="r")], ("reason",))
    assert [v.code for v in found] == ["SM207"]
