"""`statemachine validate --events`: every entity's history in one process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_streams import TWILIO

#: Twilio messages may start in several states
MESSAGES = """
machine: twilio.message
initial: [queued, accepted, scheduled, receiving]
states:
  queued: {}
  accepted: {}
  scheduled: {}
  receiving: {}
  sending: {}
  sent: {}
  delivered: {final: true}
  received: {final: true}
  failed: {final: true}
  canceled: {final: true}
transitions:
  - {trigger: queue, source: [accepted, scheduled], dest: queued}
  - {trigger: send, source: queued, dest: sending}
  - {trigger: hand_over, source: sending, dest: sent}
  - {trigger: deliver, source: sent, dest: delivered}
  - {trigger: receive, source: receiving, dest: received}
  - {trigger: fail, source: [queued, sending, sent], dest: failed}
  - {trigger: cancel, source: [scheduled, accepted], dest: canceled}
"""

HISTORIES = """\
id,status,seq
SM1,accepted,1
SM2,receiving,1
SM1,queued,2
SM3,sending,1
SM2,received,2
SM1,sending,3
SM4,scheduled,1
SM1,sent,4
SM4,received,2
SM1,delivered,5
SM5,queued,1
SM5,"sent ",2
"""


@pytest.fixture
def messages(write: Callable[..., Path]) -> Path:
    return write(MESSAGES, "message.yaml")


def test_one_line_per_delivery_not_applied(messages: Path, write: Callable[..., Path]) -> None:
    events = write(HISTORIES, "histories.csv")
    result = run_cli("validate", "twilio.message", "--events", str(events), "--path", str(messages))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == (
        "5 entities, 12 events: 9 applied, 1 skipped, 1 illegal, 1 unknown; "
        "2 failed (illegal or unknown)"
    )
    noted = lines[:-1]
    assert [line.split(":")[0] for line in noted] == ["line 5", "line 10", "line 13"]
    # not an entry state: past one that never arrived, which passes
    assert noted[0] == "line 5: SM3 sending: skipped: new entity -> sending: queued never arrived"
    assert noted[1].startswith("line 10: SM4 received: illegal:")
    assert "'sent '" in noted[2] and "unknown" in noted[2]  # quoted, not raw


def test_json_and_every_entry_state(messages: Path, write: Callable[..., Path]) -> None:
    events = write(HISTORIES, "histories.csv")
    result = run_cli(
        "validate",
        "twilio.message",
        "--events",
        str(events),
        "--path",
        str(messages),
        "--format",
        "json",
    )
    report = json.loads(result.stdout)
    assert (report["entities"], report["events"], report["failed"]) == (5, 12, 2)
    assert "illegal" not in report  # each verdict named as it is
    assert report["verdicts"] == {"applied": 9, "skipped": 1, "illegal": 1, "unknown": 1}
    assert [(r["id"], r["line"], r["verdict"]) for r in report["not_applied"]] == [
        ("SM3", 5, "skipped"),
        ("SM4", 10, "illegal"),
        ("SM5", 13, "unknown"),
    ]
    # accepted, receiving and scheduled started histories without a finding
    assert not {"SM1", "SM2"} & {r["id"] for r in report["not_applied"]}


def test_arrival_order_with_keys_as_replay_and_late_files_exit_0(
    messages: Path, write: Callable[..., Path]
) -> None:
    shuffled = "id,status,seq\nSM1,sent,4\nSM1,accepted,1\nSM1,sending,3\nSM1,queued,2\n"
    events = write(shuffled, "shuffled.csv")
    result = run_cli("validate", "twilio.message", "--events", str(events), "--path", str(messages))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == (
        "1 entity, 4 events: 3 stale, 1 skipped; 0 failed (illegal or unknown)"
    )
    unordered = write(shuffled.replace(",4\n", ",\n"), "unordered.csv")  # not all rows keyed
    late = run_cli(
        "validate", "twilio.message", "--events", str(unordered), "--path", str(messages)
    )
    assert late.returncode == 0, late.stdout


def test_unreported_steps_are_one_legal_move() -> None:
    # Kaleyra's histories are one final status each
    events = "id,status\nc1,ANSWER\nc2,BUSY\n"
    done = subprocess.run(
        [sys.executable, "-m", "statemachine", "validate", "kaleyra.call", "--events", "-"],
        input=events,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "2 entities, 2 events: 2 applied; 0 failed (illegal or unknown)"


def test_positional_form_still_works_and_usage_errors(
    twilio_file: Path, write: Callable[..., Path]
) -> None:
    ok = run_cli("validate", "twilio.call", "queued", "ringing", "--path", str(twilio_file))
    assert ok.returncode == 0 and "1: queued -> ringing" in ok.stdout
    bad = run_cli("validate", "twilio.call", "completed", "ringing", "--path", str(twilio_file))
    assert bad.returncode == 1 and "STALE" in bad.stdout
    events = write("id,status\nx,queued\n", "e.csv")
    both = run_cli(
        "validate", "twilio.call", "queued", "--events", str(events), "--path", str(twilio_file)
    )
    assert both.returncode == 2 and "not both" in both.stderr
    neither = run_cli("validate", "twilio.call", "--path", str(twilio_file))
    assert neither.returncode == 2
    broken = write("id,status,seq\nx,queued,1.5\n", "broken.csv")
    result = run_cli("validate", "twilio.call", "--events", str(broken), "--path", str(twilio_file))
    assert result.returncode == 2 and f"{broken}:2:3:" in result.stderr


@pytest.fixture
def twilio_file(write: Callable[..., Path]) -> Path:
    return write(TWILIO, "twilio.yaml")


def test_events_get_the_verdicts_replay_gives_in_the_same_order(
    twilio_file: Path, write: Callable[..., Path]
) -> None:
    from tests.test_replay_cli import EVENTS

    events = write(EVENTS, "events.csv")
    replayed = run_cli(
        "replay", "twilio.call", str(events), "--path", str(twilio_file), "--format", "json"
    )
    validated = run_cli(
        "validate",
        "twilio.call",
        "--events",
        str(events),
        "--path",
        str(twilio_file),
        "--format",
        "json",
    )
    every = [json.loads(line) for line in replayed.stdout.splitlines()]
    report = json.loads(validated.stdout)
    # the same events (those not applied), in the same order, with the same keys and values
    assert [{k: v for k, v in r.items() if k != "line"} for r in report["not_applied"]] == [
        r for r in every if r["verdict"] != "applied"
    ]
    expected = [row.split(",")[-1] for row in EVENTS.splitlines()[1:]]
    assert [r["verdict"] for r in every] == expected
    assert [r["line"] for r in report["not_applied"]] == [
        n for n, kind in enumerate(expected, 2) if kind != "applied"
    ]
    # one illegal: both fail; skipped, stale and repeated alone do not
    assert validated.returncode == replayed.returncode == 1
    legal = write(EVENTS.replace("CA2,busy,,,illegal\n", ""), "legal.csv")
    assert (
        run_cli(
            "validate", "twilio.call", "--events", str(legal), "--path", str(twilio_file)
        ).returncode
        == 0
    )


@pytest.mark.parametrize(
    ("statuses", "strict", "code", "last"),
    [
        (
            ["queued", "ringing", "in-progress", "completed"],
            False,
            0,
            "3: in-progress -> completed  (",
        ),
        # past a status that never arrived: passes, showing it
        (["queued", "completed"], False, 0, "1: queued -> completed  (skipped: "),
        (["queued", "queued"], False, 0, "1: queued -> queued  (repeated: already queued)"),
        (
            ["ringing"],
            False,
            0,
            "0: ringing  (skipped: new entity -> ringing: queued never arrived)",
        ),
        # backwards, illegal, unknown: fail
        (["queued", "ringing", "queued"], False, 1, "2: ringing -> queued  STALE: "),
        (["queued", "completed", "busy"], False, 1, "2: completed -> busy  ILLEGAL: "),
        (["queued", "bogus"], False, 1, "1: queued -> bogus  UNKNOWN: "),
        # --strict: one legal move per step
        (["queued", "ringing"], True, 0, "1: queued -> ringing  (ring"),
        (["queued", "completed"], True, 1, "1: queued -> completed  SKIPPED: "),
        (["queued", "queued"], True, 1, "1: queued -> queued  REPEATED: "),
    ],
)
def test_one_history_gets_the_runtimes_verdicts(
    twilio_file: Path, statuses: list[str], strict: bool, code: int, last: str
) -> None:
    flags = ["--strict"] if strict else []
    done = run_cli("validate", "twilio.call", *statuses, *flags, "--path", str(twilio_file))
    assert done.returncode == code, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(statuses)
    assert lines[-1].startswith(last), lines
    if "never arrived" in last or "SKIPPED" in last:
        assert "never arrived" in lines[-1]
