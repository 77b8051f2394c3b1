"""What each provider really sends, replayed through `statemachine replay` with the default
policy: every event gets the verdict its history row expects, and each entity ends where it
must. The histories are data, one file per provider under tests/histories/ (columns
machine,id,status,seq,at,expect,end,note; `end` is the state the entity is in after that row).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest

from statemachine import bundled_dir, load_registry
from statemachine.graph import Kind, graph_of, rows
from tests.conftest import run_cli
from tests.seeds import section, seed, transfer_outcomes, upper_names

HISTORIES = Path(__file__).parent / "histories"
REGISTRY = load_registry([bundled_dir()])
#: verdicts that make `replay` exit 1
FAILING = {Kind.ILLEGAL, Kind.UNKNOWN}


def histories() -> dict[str, list[dict[str, str]]]:
    """machine -> its rows from every file, in arrival order, each with `where` (file:line)."""
    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    for path in sorted(HISTORIES.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                row["where"] = f"{path.name}:{reader.line_num}"
                found[row["machine"]].append(row)
    return dict(found)


def replay(machine: str, events: list[dict[str, str]]) -> tuple[int, list[dict[str, object]]]:
    """Run `statemachine replay MACHINE - --format json` on `events` given on stdin."""
    columns = ["id", "status"] + [c for c in ("seq", "at") if any(e.get(c) for e in events)]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(events)
    done = run_cli("replay", machine, "-", "--format", "json", input=text.getvalue())
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines() if line]
    assert len(out) == len(events), (machine, done.stderr)
    return done.returncode, out


def assert_replayed(machine: str, events: list[dict[str, str]]) -> None:
    """Each event's verdict is its `expect`, each `end` is the state after it, and the exit
    code says whether anything was illegal or unknown."""
    code, out = replay(machine, events)
    for event, got in zip(events, out, strict=True):
        where = event.get("where", machine)
        assert (got["id"], got["status"]) == (event["id"], event["status"]), where
        assert got["verdict"] == event["expect"], (where, event["status"], got)
        if event.get("end"):
            assert got["after"] == event["end"], (where, event["status"], got)
    assert code == (1 if any(e["expect"] in FAILING for e in events) else 0), machine


HISTORY = histories()


@pytest.mark.parametrize("machine", sorted(HISTORY))
def test_provider_histories(machine):
    assert_replayed(machine, HISTORY[machine])


def test_every_bundled_machine_has_legitimate_and_impossible_histories():
    """Each machine has a history that ends somewhere, and an example of every verdict its
    graph makes possible between two statuses the provider reports (an illegal one wherever
    two such statuses are neither ahead of nor behind each other)."""
    assert set(HISTORY) == set(REGISTRY.machines)
    for name, d in REGISTRY.machines.items():
        events = HISTORY[name]
        assert any(e["end"] for e in events), name
        reported = {s for s, state in d.states.items() if state.reported}
        possible = {
            found.kind
            for current, _, found in rows(graph_of(d))
            if current in reported and found.dest in reported
        }
        listed = {e["expect"] for e in events}
        for verdict in (Kind.ILLEGAL, Kind.STALE, Kind.SKIPPED, Kind.AMBIGUOUS):
            assert verdict in listed or verdict not in possible, (name, verdict)


def test_every_kaleyra_status_is_a_first_report():
    """'Every Voice call has a status value that describes the final status of the call':
    each of the 28, as the only report of a new call, is applied, and a redelivery repeated."""
    names = upper_names(section(seed("003"), "Call StatusDescription", "\0"))
    assert len(names) == 28
    events = []
    for name in names:
        events.append({"id": name, "status": name, "expect": "applied", "end": name})
        events.append({"id": name, "status": name, "expect": "repeated", "end": name})
    assert_replayed("kaleyra.call", events)


def test_every_transfer_outcome_is_a_first_report():
    """DialNexa documents a warm transfer's 11 outcomes only: each one is applied as the first
    report of a new transfer, and any other outcome after it is illegal."""
    outcomes = transfer_outcomes()
    assert len(outcomes) == 11
    events = []
    for outcome in outcomes:
        other = outcomes[0] if outcome != outcomes[0] else outcomes[1]
        events.append({"id": outcome, "status": outcome, "expect": "applied", "end": outcome})
        events.append({"id": outcome, "status": other, "expect": "illegal", "end": outcome})
    assert_replayed("dialnexa.transfer", events)
