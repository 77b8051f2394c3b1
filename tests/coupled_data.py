"""Planted datasets for the coupled audit, built from the DialNexa documents' rules.

Each dataset holds every machine's event rows and the violations planted in them, as
(code, parent id, child id); the legitimate look-alikes the documents describe are planted
beside them and must not be found. Times are minutes after T0.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

T0 = datetime(2025, 3, 3, 9)

Row = dict[str, Any]


@attrs.frozen
class Planted:
    """Event rows per machine, and the violations planted in them."""

    rows: Mapping[str, list[Row]]
    expected: frozenset[tuple[str, str, str | None]]

    def write(self, folder: Path) -> dict[str, Path]:
        """Each machine's rows as a CSV file in `folder`."""
        return {name: _csv(folder / f"{name}.csv", rows) for name, rows in self.rows.items()}


def _csv(path: Path, rows: Sequence[Row]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def history(ident: str, *steps: tuple[float, str], **last: Any) -> list[Row]:
    """One entity's events: (minute, status) each, `last` columns on the last event only."""
    rows = [
        {"id": ident, "status": status, "at": (T0 + timedelta(minutes=m)).isoformat()}
        for m, status in steps
    ]
    rows[-1].update(last)
    return rows


def child(ident: str, key: str, parent: str, *steps: tuple[float, str], **last: Any) -> list[Row]:
    """A child's events, each carrying its parent's id in column `key`."""
    return [{**row, key: parent} for row in history(ident, *steps, **last)]


def _counters(completed: int, failed: int, dnp: int) -> Row:
    return {
        "completed_leads": completed,
        "picked_up_lead_count": completed,
        "failed_leads": failed,
        "did_not_pick_count": dnp,
    }


def batches_and_calls() -> Planted:
    """dialnexa.batch with dialnexa.call: blocks_start, requires_final, counts."""
    run = ((0, "draft"), (1, "active"), (2, "running"))
    b: list[Row] = []
    c: list[Row] = []

    def call(ident: str, parent: str, *steps: tuple[float, str]) -> None:
        c.extend(child(ident, "batch_id", parent, *steps))

    b += history("b_ok", *run, (50, "completed"), **_counters(1, 1, 0))
    b += history("b_ok", (51, "completed"), **_counters(1, 1, 0))  # a repeated delivery
    call("b_ok-c1", "b_ok", (3, "created"), (20, "completed"))
    call("b_ok-c2", "b_ok", (4, "created"), (10, "busy"))
    # 000 paused: "Already initiated calls can finish, but no new calls should be started"
    b += history(
        "b_pause", *run, (10, "paused"), (20, "running"), (60, "completed"), **_counters(2, 1, 0)
    )
    call("b_pause-c1", "b_pause", (5, "created"), (6, "initiated"), (15, "completed"))
    call("b_pause-c2", "b_pause", (12, "created"), (30, "completed"))  # SM201
    call("b_pause-c3", "b_pause", (25, "created"), (40, "no_answer"))
    # 001: "Calls already initiated before cancellation can still finish"
    b += history("b_cancel", *run, (10, "cancelled"), **_counters(1, 0, 0))
    call("b_cancel-c1", "b_cancel", (5, "created"), (6, "initiated"), (30, "completed"))
    call("b_cancel-c2", "b_cancel", (15, "created"), (16, "cancelled"))  # SM201
    b += history(
        "b_draft",
        (0, "draft"),
        (20, "active"),
        (21, "running"),
        (40, "completed"),
        **_counters(1, 0, 0),
    )
    call("b_draft-c1", "b_draft", (5, "created"), (30, "completed"))  # SM201
    # 000 completed: "All recipients reached final counted outcomes"
    b += history("b_early", *run, (30, "completed"), **_counters(1, 1, 0))
    call("b_early-c1", "b_early", (5, "created"), (10, "initiated"), (40, "completed"))  # SM202
    call("b_early-c2", "b_early", (6, "created"), (8, "failed"))
    # 000: "failed_leads: Calls counted as failed, including failed, busy, and no-answer"
    b += history("b_count", *run, (50, "completed"), **_counters(0, 1, 0))  # SM204: 2 failed
    call("b_count-c1", "b_count", (3, "created"), (10, "busy"))
    call("b_count-c2", "b_count", (4, "created"), (9, "no_answer"))
    b += history("b_after", *run, (20, "completed"), **_counters(2, 0, 0))
    call("b_after-c1", "b_after", (3, "created"), (10, "completed"))
    call("b_after-c2", "b_after", (25, "created"), (30, "completed"))  # SM201
    # a move at exactly the start time has happened
    b += history("b_edge", *run, (10, "paused"), (12, "cancelled"), **_counters(0, 1, 0))
    call("b_edge-c1", "b_edge", (10, "created"), (11, "failed"))  # SM201
    expected = {
        ("SM201", "b_pause", "b_pause-c2"),
        ("SM201", "b_cancel", "b_cancel-c2"),
        ("SM201", "b_draft", "b_draft-c1"),
        ("SM201", "b_after", "b_after-c2"),
        ("SM201", "b_edge", "b_edge-c1"),
        ("SM202", "b_early", "b_early-c1"),
        ("SM204", "b_count", None),
    }
    return Planted({"dialnexa.batch": b, "dialnexa.call": c}, frozenset(expected))


def transfers_and_legs() -> Planted:
    """dialnexa.transfer with dialnexa.transfer_leg: children_agree."""
    t: list[Row] = []
    legs: list[Row] = []

    def leg(ident: str, parent: str, *statuses: str) -> None:
        legs.extend(child(ident, "transfer_id", parent, *enumerate(statuses, start=1)))

    won = ("dialing", "ringing", "answered", "winner")
    t += history("t_ok", (10, "transfer_connected"))
    leg("t_ok-l1", "t_ok", *won, "completed")
    leg("t_ok-l2", "t_ok", "dialing", "ringing", "cancelled")  # "often because another leg won"
    t += history("t_two", (10, "transfer_connected"))  # SM203: two winners
    leg("t_two-l1", "t_two", *won, "completed")
    leg("t_two-l2", "t_two", *won, "cancelled")
    t += history("t_none", (10, "transfer_connected"))  # SM203: no winner
    leg("t_none-l1", "t_none", "dialing", "busy")
    t += history("t_busy", (10, "transfer_all_ics_busy"))  # SM203: a leg not busy
    leg("t_busy-l1", "t_busy", "dialing", "busy")
    leg("t_busy-l2", "t_busy", "dialing", "ringing", "no_answer")
    t += history("t_busy_ok", (10, "transfer_all_ics_busy"))
    leg("t_busy_ok-l1", "t_busy_ok", "dialing", "busy")
    leg("t_busy_ok-l2", "t_busy_ok", "dialing", "ringing", "busy")
    t += history("t_noans", (10, "transfer_no_ic_answered"))  # SM203: a leg answered
    leg("t_noans-l1", "t_noans", "dialing", "ringing", "answered", "cancelled")
    leg("t_noans-l2", "t_noans", "dialing", "ringing", "no_answer")
    t += history("t_noans_ok", (10, "transfer_no_ic_answered"))
    leg("t_noans_ok-l1", "t_noans_ok", "dialing", "ringing", "no_answer")
    t += history("t_rejected", (10, "transfer_all_ics_rejected"))  # SM203: no leg at all
    expected = {
        ("SM203", "t_two", "t_two-l1"),
        ("SM203", "t_none", None),
        ("SM203", "t_busy", "t_busy-l2"),
        ("SM203", "t_noans", "t_noans-l1"),
        ("SM203", "t_rejected", None),
    }
    return Planted({"dialnexa.transfer": t, "dialnexa.transfer_leg": legs}, frozenset(expected))


def workflows_and_leads() -> Planted:
    """dialnexa.workflow with dialnexa.workflow_lead: blocks_start of the lead's `active`."""
    w: list[Row] = []
    leads: list[Row] = []

    def lead(ident: str, parent: str, *steps: tuple[float, str]) -> None:
        leads.extend(child(ident, "workflow_id", parent, *steps))

    w += history(
        "w1", (0, "draft"), (5, "active"), (10, "paused"), (20, "active"), (50, "completed")
    )
    lead("w1-a", "w1", (1, "pending"), (6, "active"), (30, "completed"))
    # created during the pause, active only after the resume: legitimate
    lead("w1-b", "w1", (11, "pending"), (21, "active"), (40, "completed"))
    lead("w1-c", "w1", (2, "pending"), (12, "active"), (45, "completed"))  # SM201: paused
    lead("w1-d", "w1", (2, "pending"), (4, "active"), (45, "dropped"))  # SM201: draft
    w += history("w2", (0, "draft"), (1, "active"), (10, "cancelled"))
    lead("w2-a", "w2", (2, "pending"), (15, "active"))  # SM201: cancelled
    # "Leads already inside an active call step can finish"
    lead("w2-b", "w2", (2, "pending"), (3, "active"), (12, "dropped"))
    expected = {("SM201", "w1", "w1-c"), ("SM201", "w1", "w1-d"), ("SM201", "w2", "w2-a")}
    return Planted({"dialnexa.workflow": w, "dialnexa.workflow_lead": leads}, frozenset(expected))


def leads_and_calls() -> Planted:
    """dialnexa.workflow_lead with dialnexa.call: the Voice Call node branch matches."""
    leads: list[Row] = []
    calls: list[Row] = []
    steps = ((0, "pending"), (1, "active"), (30, "completed"))

    def call(ident: str, parent: str, *steps: tuple[float, str]) -> None:
        calls.extend(child(ident, "lead_id", parent, *steps))

    leads += history("L1", *steps, branch="COMPLETED")  # the latest call decides
    call("L1-c1", "L1", (2, "created"), (5, "busy"))
    call("L1-c2", "L1", (10, "created"), (20, "completed"))
    leads += history("L2", *steps, branch="DNP")  # SM205: its call completed
    call("L2-c1", "L2", (2, "created"), (8, "completed"))
    leads += history("L3", *steps, branch="FAILED")
    call("L3-c1", "L3", (2, "created"), (5, "no_answer"))
    leads += history("L4", *steps, branch="DNP")  # SM205: the latest call failed
    call("L4-c1", "L4", (2, "created"), (4, "did_not_pick"))
    call("L4-c2", "L4", (10, "created"), (12, "failed"))
    leads += history("L5", *steps)  # no branch: not judged
    call("L5-c1", "L5", (2, "created"), (8, "completed"))
    expected = {("SM205", "L2", "L2-c1"), ("SM205", "L4", "L4-c2")}
    return Planted({"dialnexa.workflow_lead": leads, "dialnexa.call": calls}, frozenset(expected))


def calls_with_end_reason() -> Planted:
    """dialnexa.call's own end_reason: field_fits ("Usually appears with": a warning)."""
    rows: list[Row] = []
    start = ((0, "created"), (1, "initiated"))
    rows += history("e1", *start, (5, "completed"), end_reason="voicemail_detected")  # SM206
    rows += history("e2", *start, (5, "completed"), end_reason="user_disconnected")
    for n, final in enumerate(("busy", "failed", "cancelled", "completed", "retry_expired")):
        rows += history(f"u{n}", *start, (5, final), end_reason="unknown")  # fits any final
    rows += history("e6", *start, (5, "no_answer"), end_reason="user_busy")  # SM206
    rows += history("e7", *start, (5, "did_not_pick"), end_reason="voicemail_detected")
    rows += history("e8", *start, end_reason="voicemail_detected")  # not final
    rows += history("e9", *start, (5, "completed"))  # no end_reason
    expected = {("SM206", "e1", None), ("SM206", "e6", None)}
    return Planted({"dialnexa.call": rows}, frozenset(expected))
