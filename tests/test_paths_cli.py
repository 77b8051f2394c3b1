"""`statemachine paths`: histories to every state and over every move, and what a network
makes of their deliveries, checked against the definition itself."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine.runtime import definition
from tests.conftest import run_cli
from tests.test_streams import TWILIO


def _paths(*args: str) -> dict[str, Any]:
    result = run_cli("paths", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("name", ["kaleyra.call", "dialnexa.batch", "dialnexa.transfer"])
def test_histories_are_legal_and_cover_every_state_and_move(name: str) -> None:
    d = definition(name)
    report = _paths(name)
    moves = {(t.source, t.dest) for t in d.transitions}
    histories = [*report["shortest"].values(), *report["covering"]]
    for history in histories:
        states = history["states"]
        assert states[0] in d.initial
        assert set(itertools.pairwise(states)) <= moves
        assert history["delivered"] == [s for s in states if d.states[s].reported]
    for state, history in report["shortest"].items():
        assert history["states"][-1] == state
    assert set(report["shortest"]) == set(d.states)  # every bundled state is reachable
    covered = {pair for h in report["covering"] for pair in itertools.pairwise(h["states"])}
    assert covered == moves


def test_deliveries_with_sequence_numbers_end_in_the_last_status(
    write: Callable[..., Path],
) -> None:
    report = _paths("twilio.call", "--path", str(write(TWILIO, "twilio.yaml")))
    kinds = set()
    for history in [*report["shortest"].values(), *report["covering"]]:
        delivered = history["delivered"]
        for delivery in history["deliveries"]:
            kinds.add(delivery["kind"])
            events = delivery["events"]
            statuses = [e["status"] for e in events]
            assert sorted(statuses) == sorted([delivered[e["seq"] - 1] for e in events]), (
                "each seq names the status's place in the history"
            )
            assert not {e["verdict"] for e in events} & {"illegal", "unknown"}
            final = [e["after"] for e in events][-1]
            assert final == delivered[-1]
        in_order = history["deliveries"][0]
        assert in_order["kind"] == "in order"
        assert all(e["verdict"] == "applied" for e in in_order["events"])
    assert kinds == {"in order", "duplicate", "swap", "late", "missing"}
    # a late first status without its seq is judged by the graph alone: stale
    covering = report["covering"][0]
    late = next(d for d in covering["deliveries"] if d["kind"] == "late")
    assert late["events"][-1]["verdict_without_seq"] == "stale"


def test_text_lists_histories_and_verdicts(write: Callable[..., Path]) -> None:
    result = run_cli("paths", "twilio.call", "--path", str(write(TWILIO, "twilio.yaml")))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("twilio.call: 8 states, 8 reachable;")
    assert "in-progress: queued > ringing > in-progress" in result.stdout
    assert "with seq:" in result.stdout
    assert run_cli("paths", "no.such").returncode == 2
