"""The audit's outcomes never pick the first of several candidates: a status whose outcome
only a reason can tell is `undecided`, unless a `decides` rule's column is in the data, and
then the reason decides it (Retell's `ended` with its `disconnection_reason`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

MACHINE = """\
machine: t.call
initial: registered
states:
  registered: {}
  ongoing: {}
  ended: {final: true}
  error: {final: true}
transitions:
  - {source: registered, dest: ongoing}
  - {source: [registered, ongoing], dest: ended}
  - {source: registered, dest: error}
mappings:
  outcome:
    labels: {connected: talked, busy: line busy, no_answer: nobody answered, failed: failed}
    entries:
      ended: [connected, busy, no_answer]
      error: failed
rules:
  - rule: decides
    field: disconnection_reason
    mapping: outcome
    decisions: {ended: {dial_busy: busy, dial_no_answer: no_answer, "*": connected}}
"""

#: (call, final status, disconnection_reason)
CALLS = (
    ("c1", "ended", "user_hangup"),
    ("c2", "ended", "agent_hangup"),
    ("c3", "ended", "dial_busy"),
    ("c4", "ended", "dial_no_answer"),
    ("c5", "ended", "dial_no_answer"),
    ("c6", "error", "error_unknown"),
)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    (tmp_path / "machines").mkdir()
    (tmp_path / "machines" / "call.yaml").write_text(MACHINE, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.statemachine]\nmachines = ["machines"]\n', encoding="utf-8"
    )
    return tmp_path


def _audited(repository: Path, engine: str, reason: bool) -> dict[str, Any]:
    """The JSON report of `audit t.call` over CALLS, with or without the reason column."""
    data = repository / "calls.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "status", "seq", *(["disconnection_reason"] if reason else [])])
        for ident, final, why in CALLS:
            out.writerow([ident, "registered", 1, *([""] if reason else [])])
            out.writerow([ident, final, 2, *([why] if reason else [])])
    done = run_cli(
        "audit", "t.call", str(data), "--engine", engine, "--format", "json", cwd=repository
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_without_the_reason_several_candidates_are_undecided(repository: Path, engine: str) -> None:
    found = _audited(repository, engine, reason=False)
    assert found["outcomes"] == {"undecided": 5, "failed": 1}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_the_reason_decides_the_outcome(repository: Path, engine: str) -> None:
    found = _audited(repository, engine, reason=True)
    assert found["outcomes"] == {"connected": 2, "no_answer": 2, "busy": 1, "failed": 1}
    assert found["rules"] == [], "every ended call's reason decides it"
