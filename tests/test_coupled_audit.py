"""`statemachine audit PARENT FILE --related CHILD=FILE`: the coupled audit through the real
CLI, on every engine, over the planted datasets of `tests.coupled_data`: each engine finds
exactly the planted violations (none of the legitimate look-alikes) and they agree row by
row."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine.coupled import COLUMNS
from tests import coupled_data
from tests.conftest import run_cli

ENGINES = ("duckdb", "python")

#: (dataset, parent machine, child machine or None for a single machine's own fields)
DATASETS: dict[str, tuple[Callable[[], coupled_data.Planted], str, str | None]] = {
    "batches": (coupled_data.batches_and_calls, "dialnexa.batch", "dialnexa.call"),
    "transfers": (coupled_data.transfers_and_legs, "dialnexa.transfer", "dialnexa.transfer_leg"),
    "workflows": (coupled_data.workflows_and_leads, "dialnexa.workflow", "dialnexa.workflow_lead"),
    "leads": (coupled_data.leads_and_calls, "dialnexa.workflow_lead", "dialnexa.call"),
    "end_reason": (coupled_data.calls_with_end_reason, "dialnexa.call", None),
}


def _args(name: str, folder: Path) -> tuple[list[str], coupled_data.Planted]:
    make, parent, child = DATASETS[name]
    planted = make()
    files = planted.write(folder)
    args = ["audit", parent, str(files[parent])]
    if child is not None:
        args += ["--related", f"{child}={files[child]}"]
    return args, planted


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _found(rows: list[dict[str, str]]) -> set[tuple[str, str, str | None]]:
    return {(r["code"], r["parent_id"], r["child_id"] or None) for r in rows}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Each dataset audited on each engine: the rule findings file of each run."""
    found: dict[tuple[str, str], Path] = {}
    for name, (_, _, child) in DATASETS.items():
        folder = tmp_path_factory.mktemp(name)
        args, _ = _args(name, folder)
        for engine in ENGINES:
            out = folder / f"{engine}.csv"
            option = "--findings" if child is not None else "--violations"
            done = run_cli(*args, "--engine", engine, option, str(out))
            assert done.returncode in (0, 1), done.stderr
            found[(name, engine)] = out
    return found


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(DATASETS))
def test_finds_exactly_the_planted_violations(
    audited: dict[tuple[str, str], Path], name: str, engine: str, tmp_path: Path
) -> None:
    rows = _rows(audited[(name, engine)])
    _, planted = _args(name, tmp_path)
    assert _found(rows) == planted.expected
    assert list(rows[0]) == list(COLUMNS)


@pytest.mark.parametrize("name", list(DATASETS))
def test_engines_agree_row_by_row(audited: dict[tuple[str, str], Path], name: str) -> None:
    reference = _rows(audited[(name, "python")])
    for engine in ENGINES:
        assert _rows(audited[(name, engine)]) == reference, engine


@pytest.mark.parametrize("engine", ENGINES)
def test_json_counts_per_rule_and_exit_code(engine: str, tmp_path: Path) -> None:
    args, planted = _args("batches", tmp_path)
    done = run_cli(*args, "--engine", engine, "--format", "json")
    assert done.returncode == 1, done.stderr  # error-severity rules are broken
    report = json.loads(done.stdout)
    counts = {r["code"]: r["count"] for r in report["rules"]}
    assert counts == {"SM201": 5, "SM202": 1, "SM204": 1}
    assert all(r["examples"] and r["child_machine"] == "dialnexa.call" for r in report["rules"])
    assert "dialnexa.call" in report["related"]
    assert report["entities"] == len({r["id"] for r in planted.rows["dialnexa.batch"]})


@pytest.mark.parametrize("engine", ENGINES)
def test_text_lists_the_rule_findings(engine: str, tmp_path: Path) -> None:
    args, _ = _args("transfers", tmp_path)
    done = run_cli(*args, "--engine", engine)
    assert done.returncode == 1, done.stderr
    assert "SM203 children_agree" in done.stdout
    assert "dialnexa.transfer -> dialnexa.transfer_leg" in done.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_warnings_alone_exit_0(engine: str, tmp_path: Path) -> None:
    """field_fits on end_reason is a warning ("usually"): listed, not failing."""
    args, _ = _args("end_reason", tmp_path)
    done = run_cli(*args, "--engine", engine)
    assert done.returncode == 0, done.stderr
    assert "SM206 field_fits" in done.stdout and "warning" in done.stdout


def test_single_machine_findings_stay_the_events(tmp_path: Path) -> None:
    """Without --related, --findings keeps its rows (events not applied, stuck entities)."""
    args, _ = _args("end_reason", tmp_path)
    out = tmp_path / "findings.csv"
    assert run_cli(*args, "--findings", str(out)).returncode == 0
    assert "code" not in next(csv.reader(out.open(encoding="utf-8")))


def test_no_field_column_no_rules_section(tmp_path: Path) -> None:
    """A single-machine audit whose data lacks the rules' columns prints as before."""
    data = tmp_path / "calls.csv"
    data.write_text("id,status,at\nc1,created,2025-03-03T09:00:00\n", encoding="utf-8")
    done = run_cli("audit", "dialnexa.call", str(data))
    assert done.returncode == 0, done.stderr
    assert "rules" not in done.stdout


def test_unrelated_machine_is_a_usage_error(tmp_path: Path) -> None:
    args, _ = _args("transfers", tmp_path)
    done = run_cli(*args[:3], "--related", f"dialnexa.call={args[-1].split('=')[1]}")
    assert done.returncode == 2
    assert "relates no machine 'dialnexa.call'" in done.stderr


def test_child_without_key_column_is_a_usage_error(tmp_path: Path) -> None:
    args, _ = _args("batches", tmp_path)
    calls = tmp_path / "nokey.csv"
    calls.write_text("id,status,at\nc1,created,2025-03-03T09:00:00\n", encoding="utf-8")
    done = run_cli(*args[:3], "--related", f"dialnexa.call={calls}")
    assert done.returncode == 2
    assert "no column 'batch_id'" in done.stderr


def test_spark_refuses_related(tmp_path: Path) -> None:
    args, _ = _args("batches", tmp_path)
    done = run_cli(*args, "--engine", "spark")
    assert done.returncode == 2
    assert "--engine spark" in done.stderr


def test_html_shows_related_machines_and_rule_findings(tmp_path: Path) -> None:
    args, _ = _args("batches", tmp_path)
    page = tmp_path / "report.html"
    done = run_cli(*args, "--format", "html", "-o", str(page))
    assert done.returncode == 1, done.stderr
    text = page.read_text(encoding="utf-8")
    assert "Related machine <code>dialnexa.call</code>" in text
    assert "Rules between machines and fields" in text
    for code in ("SM201", "SM202", "SM204"):
        assert f"<code>{code}</code>" in text
