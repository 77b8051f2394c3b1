"""The Spark engine's own paths: a report without files to write numbers events by the place
Spark read them (which orders them as their lines do), and a log with nothing in doubt is
judged without the fold. Both give the Python engine's report."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from statemachine.audit import Options, audit
from statemachine.runtime import definition
from tests.conftest import run_cli
from tests.test_audit_agreement import T0, log, spark, write  # noqa: F401 - the session


def _report(data: Path, engine: str) -> dict[str, Any]:
    d = definition("dialnexa.call")
    options = Options(stale_after={s: timedelta(minutes=1) for s in d.states})
    return audit(d, [str(data)], options, engine=engine).as_json()


@pytest.mark.usefixtures("spark")
@pytest.mark.parametrize("absent", [(), ("seq",)])
def test_a_report_alone_is_the_python_engines(tmp_path: Path, absent: tuple[str, ...]) -> None:
    """With every key column and without sequence numbers (left out of Spark's sort)."""
    data = write(tmp_path / "log.csv", log(11, definition("dialnexa.call"), 40), absent)
    assert _report(data, "spark") == _report(data, "python")


@pytest.mark.usefixtures("spark")
def test_nothing_in_doubt_is_judged_without_the_fold(tmp_path: Path) -> None:
    rows = [
        {
            "id": f"c{n}",
            "status": status,
            "seq": None,
            "at": T0 + timedelta(minutes=i),
            "event_id": f"e{n}-{i}",
        }
        for n in range(5)
        for i, status in enumerate(["created", "initiated", "sent", "received", "completed"])
    ]
    data = write(tmp_path / "clean.csv", rows)
    report = _report(data, "spark")
    assert report == _report(data, "python")
    assert report["verdicts"]["applied"] == 25  # type: ignore[index]


@pytest.mark.usefixtures("spark")
def test_the_command_line_hears_nothing_from_spark_but_the_report(tmp_path: Path) -> None:
    """`audit --engine spark` in its own process: Spark's start-up lines, its warnings and
    PySpark's word on pandas stay off the user's terminal (the JVM's own notice of an
    incubator module, printed before any configuration is read, is the one line left)."""
    data = write(tmp_path / "log.csv", log(3, definition("dialnexa.call"), 30))
    done = run_cli("audit", "dialnexa.call", str(data), "--engine", "spark", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    python = audit(definition("dialnexa.call"), [str(data)], engine="python")
    assert json.loads(done.stdout) == python.as_json()
    heard = [
        line for line in done.stderr.splitlines() if not line.startswith("WARNING: Using incubator")
    ]
    assert heard == [], done.stderr
