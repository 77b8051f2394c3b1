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


def test_one_line_per_entity_with_an_illegal_step(
    messages: Path, write: Callable[..., Path]
) -> None:
    events = write(HISTORIES, "histories.csv")
    result = run_cli("validate", "twilio.message", "--events", str(events), "--path", str(messages))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "5 entities, 12 event(s): 3 with an illegal step"
    failing = lines[:-1]
    assert [line.split(":")[0] for line in failing] == ["SM3", "SM4", "SM5"]
    assert failing[0].startswith("SM3: step 1 (line 5): skipped:")  # not an entry state
    assert failing[1].startswith("SM4: step 2 (line 10): illegal:")
    assert "'sent '" in failing[2] and "unknown" in failing[2]  # quoted, not raw


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
    assert (report["entities"], report["events"]) == (5, 12)
    assert [(r["id"], r["step"], r["line"], r["verdict"]) for r in report["illegal"]] == [
        ("SM3", 1, 5, "skipped"),
        ("SM4", 2, 10, "illegal"),
        ("SM5", 2, 13, "unknown"),
    ]
    # accepted, receiving and scheduled started histories without a finding
    assert not {"SM1", "SM2"} & {r["id"] for r in report["illegal"]}


def test_history_follows_seq_and_legal_files_exit_0(
    messages: Path, write: Callable[..., Path]
) -> None:
    shuffled = "id,status,seq\nSM1,sent,4\nSM1,accepted,1\nSM1,sending,3\nSM1,queued,2\n"
    events = write(shuffled, "shuffled.csv")
    result = run_cli("validate", "twilio.message", "--events", str(events), "--path", str(messages))
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "1 entity, 4 event(s): 0 with an illegal step"
    unordered = write(shuffled.replace(",4\n", ",\n"), "unordered.csv")  # not all rows keyed
    assert (
        run_cli(
            "validate", "twilio.message", "--events", str(unordered), "--path", str(messages)
        ).returncode
        == 1
    )


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
    assert done.stdout.strip() == "2 entities, 2 event(s): 0 with an illegal step"


def test_positional_form_still_works_and_usage_errors(
    twilio_file: Path, write: Callable[..., Path]
) -> None:
    ok = run_cli("validate", "twilio.call", "queued", "ringing", "--path", str(twilio_file))
    assert ok.returncode == 0 and "1: queued -> ringing" in ok.stdout
    bad = run_cli("validate", "twilio.call", "queued", "completed", "--path", str(twilio_file))
    assert bad.returncode == 1 and "ILLEGAL" in bad.stdout
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
