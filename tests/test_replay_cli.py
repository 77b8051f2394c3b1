"""`statemachine replay` through the real CLI: verdicts, final statuses, formats, bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_streams import TWILIO

#: arrival order, two calls interleaved; `expect` is ours (the reader ignores extra columns)
EVENTS = """\
id,status,seq,at,expect
CA1,queued,0,2024-05-01T12:00:00Z,applied
CA2,ringing,,,skipped
CA1,ringing,1,,applied
CA1,completed,3,,skipped
CA1,in-progress,2,,stale
CA2,ringing,,,repeated
CA2,no-answer,,,applied
CA2,busy,,,illegal
"""


@pytest.fixture
def twilio(write: Callable[..., Path]) -> Path:
    return write(TWILIO, "twilio.yaml")


def test_text_prints_what_was_not_applied_and_final_statuses(
    twilio: Path, write: Callable[..., Path]
) -> None:
    events = write(EVENTS, "events.csv")
    result = run_cli("replay", "twilio.call", str(events), "--path", str(twilio))
    assert result.returncode == 1, result.stderr  # one illegal
    lines = result.stdout.splitlines()
    not_applied = [line for line in lines if line.startswith("line ")]
    rows = [row.split(",") for row in EVENTS.splitlines()[1:]]
    expected = [(n, r[0], r[1], r[-1]) for n, r in enumerate(rows, 2) if r[-1] != "applied"]
    assert [line.split(":")[0:3] for line in not_applied] == [
        [f"line {n}", f" {entity} {status}", f" {kind}"] for n, entity, status, kind in expected
    ]
    assert "  CA1: completed" in lines
    assert "  CA2: no-answer" in lines
    assert "Traceback" not in result.stderr


def test_json_gives_one_object_per_event(twilio: Path, write: Callable[..., Path]) -> None:
    events = write(EVENTS, "events.csv")
    result = run_cli(
        "replay", "twilio.call", str(events), "--path", str(twilio), "--format", "json"
    )
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = [row.split(",")[-1] for row in EVENTS.splitlines()[1:]]
    assert [r["verdict"] for r in records] == expected
    assert all(
        set(r) == {"id", "status", "verdict", "before", "after", "skipped", "through", "message"}
        for r in records
    )
    late = records[3]
    assert late["skipped"] == ["in-progress"] and late["after"] == "completed"
    assert records[4]["before"] == records[4]["after"] == "completed"


def test_json_lines_from_stdin_exit_0_when_nothing_is_illegal(twilio: Path) -> None:
    lines = [
        {"id": "CA7", "status": "completed", "seq": 4, "sid": "x"},
        {"id": "CA7", "status": "ringing", "seq": 2},
        {"id": "CA7", "status": "completed", "seq": 4, "event_id": "e4"},
    ]
    result = subprocess.run(
        [sys.executable, "-m", "statemachine", "replay", "twilio.call", "-", "--path", str(twilio)],
        input="\n".join(json.dumps(line) for line in lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "line 2: CA7 ringing: stale" in result.stdout
    assert "line 3: CA7 completed: repeated" in result.stdout
    assert "  CA7: completed" in result.stdout


def test_bundled_kaleyra_first_report_is_applied(write: Callable[..., Path]) -> None:
    events = write("id,status\ncall-1,ANSWER\ncall-2,NOANSWER\n", "kaleyra.csv")
    result = run_cli("replay", "kaleyra.call", str(events), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["verdict"] for r in records] == ["applied", "applied"]
    assert all(r["through"] for r in records)


@pytest.mark.parametrize(
    ("text", "name", "where", "says"),
    [
        ("id,state\nCA1,queued\n", "e.csv", ":1:1:", "no column 'status'"),
        ("id,status,seq\nCA1,queued,1\nCA1,ringing,two\n", "e.csv", ":3:3:", "not an integer"),
        ("id,status,at\nCA1,queued,yesterday\n", "e.csv", ":2:3:", "ISO 8601"),
        ("id,status\nCA1,queued\nCA1\n", "e.csv", ":3:1:", "1 field(s)"),
        ("id,status\n,queued\n", "e.csv", ":2:1:", "id is empty"),
        ('{"id": "CA1", "status": "queued"}\n{"id": "CA1", "status": \n', "e.jsonl", ":2:", "JSON"),
        ('{"id": "CA1", "status": 3}\n', "e.jsonl", ":1:1:", "status must be a string"),
        ("", "e.csv", ":1:1:", "empty"),
    ],
)
def test_bad_files_exit_2_with_file_line_and_column(
    twilio: Path, write: Callable[..., Path], text: str, name: str, where: str, says: str
) -> None:
    events = write(text, name) if text else _empty(write, name)
    result = run_cli("replay", "twilio.call", str(events), "--path", str(twilio))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{events}{where}" in result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def _empty(write: Callable[..., Path], name: str) -> Path:
    path = write("x", name)
    path.write_text("")
    return path


def test_not_utf8_and_missing_files_exit_2(twilio: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,status\nCA1,queued\nCA\xe9,ringing\n".encode("latin-1"))
    result = run_cli("replay", "twilio.call", str(latin), "--path", str(twilio))
    assert result.returncode == 2
    assert f"{latin}:3:3: byte 0xe9 is not UTF-8" in result.stderr
    missing = run_cli("replay", "twilio.call", str(tmp_path / "nope.csv"), "--path", str(twilio))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    unknown = run_cli("replay", "twilio.cal", str(latin), "--path", str(twilio))
    assert unknown.returncode == 2 and "twilio.call" in unknown.stderr
