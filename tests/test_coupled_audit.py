"""`statemachine audit PARENT FILE --related CHILD=FILE`: the coupled audit through the real
CLI, on every engine, over the planted datasets of `tests.coupled_data`: each engine finds
exactly the planted violations (none of the legitimate look-alikes) and they agree row by
row. Spark starts a JVM per run, so each dataset is audited once per engine and the tests
read those runs."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from statemachine.audit import Options
from statemachine.audit.coupled import Machine, audit_coupled
from statemachine.audit.data import expand
from statemachine.coupled import COLUMNS
from statemachine.model.coupling import Constraint, RuleKind
from statemachine.runtime import definition
from tests import coupled_data
from tests.conftest import run_cli
from tests.test_audit_agreement import spark  # noqa: F401 - the Spark session fixture

ENGINES = ("duckdb", "python", "spark")

#: (dataset, parent machine, child machine or None for a single machine's own fields)
DATASETS: dict[str, tuple[Callable[[], coupled_data.Planted], str, str | None]] = {
    "batches": (coupled_data.batches_and_calls, "dialnexa.batch", "dialnexa.call"),
    "transfers": (coupled_data.transfers_and_legs, "dialnexa.transfer", "dialnexa.transfer_leg"),
    "workflows": (coupled_data.workflows_and_leads, "dialnexa.workflow", "dialnexa.workflow_lead"),
    "leads": (coupled_data.leads_and_calls, "dialnexa.workflow_lead", "dialnexa.call"),
    "end_reason": (coupled_data.calls_with_end_reason, "dialnexa.call", None),
}


@attrs.frozen
class Audited:
    """One run of the CLI: its exit code, its JSON report and its rule violation rows."""

    code: int
    report: dict[str, Any]
    rows: list[dict[str, str]]


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


def _audit(engine: str, folder: Path) -> dict[str, Audited]:
    """Each dataset audited on `engine`: a coupled one's rows by --findings, a single
    machine's by --violations."""
    found: dict[str, Audited] = {}
    for name, (_, _, child) in DATASETS.items():
        (folder / name).mkdir()
        args, _ = _args(name, folder / name)
        out = folder / name / "violations.csv"
        option = "--findings" if child is not None else "--violations"
        done = run_cli(*args, "--engine", engine, "--format", "json", option, str(out))
        assert done.returncode in (0, 1), done.stderr
        found[name] = Audited(done.returncode, json.loads(done.stdout), _rows(out))
    return found


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "spark":
        request.getfixturevalue("spark")  # fails under CI without PySpark or java
    return str(request.param)


@pytest.fixture(scope="module")
def audited(engine: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audited]:
    return _audit(engine, tmp_path_factory.mktemp(engine))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audited]:
    """Each dataset audited by the runtime's own replay and the rules judged in Python."""
    return _audit("python", tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("name", list(DATASETS))
def test_finds_exactly_the_planted_violations(audited: dict[str, Audited], name: str) -> None:
    rows = audited[name].rows
    assert _found(rows) == DATASETS[name][0]().expected
    assert list(rows[0]) == list(COLUMNS)


@pytest.mark.parametrize("name", list(DATASETS))
def test_engines_agree_row_by_row(
    audited: dict[str, Audited], reference: dict[str, Audited], name: str
) -> None:
    """The violation rows, the exit code and the whole report (verdicts, outcomes, rule
    counts with their examples) are the reference's."""
    assert audited[name] == reference[name]


def test_json_counts_per_rule_and_exit_code(audited: dict[str, Audited]) -> None:
    found = audited["batches"]
    assert found.code == 1  # error-severity rules are broken
    counts = {r["code"]: r["count"] for r in found.report["rules"]}
    assert counts == {"SM201": 5, "SM202": 1, "SM204": 1}
    assert all(
        r["examples"] and r["child_machine"] == "dialnexa.call" for r in found.report["rules"]
    )
    assert "dialnexa.call" in found.report["related"]
    batches = coupled_data.batches_and_calls().rows["dialnexa.batch"]
    assert found.report["entities"] == len({r["id"] for r in batches})


def test_single_machine_judges_its_own_fields(engine: str, tmp_path: Path) -> None:
    """Without --related or --violations, a machine's own field rules are judged when the
    data has their column; field_fits on end_reason is a warning ("usually"): listed, not
    failing."""
    args, _ = _args("end_reason", tmp_path)
    done = run_cli(*args, "--engine", engine, "--format", "json")
    assert done.returncode == 0, done.stderr
    (rule,) = json.loads(done.stdout)["rules"]
    assert (rule["code"], rule["rule"], rule["severity"], rule["count"]) == (
        "SM206",
        "field_fits",
        "warning",
        2,
    )


def test_decides_gives_the_outcomes(engine: str, tmp_path: Path) -> None:
    """A decides rule labels each entity's outcome by the field's value at its last move."""
    call = definition("dialnexa.call")
    outcome = call.mappings["outcome"]
    candidates = {**outcome.entries, "completed": ("connected", "busy")}
    decides = Constraint(
        RuleKind.DECIDES,
        field="end_reason",
        mapping="outcome",
        decisions={"completed": {"user_busy": "busy"}},
    )
    machine = attrs.evolve(
        call,
        mappings={**call.mappings, "outcome": attrs.evolve(outcome, entries=candidates)},
        rules=(decides,),
    )
    rows: list[coupled_data.Row] = []
    rows += coupled_data.history("o1", (0, "created"), (1, "completed"), end_reason="user_busy")
    # two candidates, no decision for the value: undecided (SM207)
    rows += coupled_data.history("o2", (0, "created"), (1, "completed"), end_reason="other")
    rows += coupled_data.history("o3", (0, "created"), (1, "failed"))  # failed's only label
    rows += coupled_data.history("o4", (0, "created"))  # not final: no outcome
    # the late `sent` moves nothing: the value at the move decides
    rows += coupled_data.history("o5", (0, "created"), (1, "completed"), end_reason="user_busy")
    rows += coupled_data.history("o5", (2, "sent"), end_reason="other")
    files = coupled_data.Planted({"calls": rows}, frozenset()).write(tmp_path)
    audited = audit_coupled(
        Machine(machine, tuple(expand([str(files["calls"])]))), [], Options(), engine
    )
    assert audited.report.outcomes == {"busy": 2, "failed": 1, "undecided": 1}
    assert [(r.code, r.count) for r in audited.rules] == [("SM207", 1)]


def test_text_lists_the_rule_findings(tmp_path: Path) -> None:
    args, _ = _args("transfers", tmp_path)
    done = run_cli(*args)
    assert done.returncode == 1, done.stderr
    assert "SM203 children_agree" in done.stdout
    assert "dialnexa.transfer -> dialnexa.transfer_leg" in done.stdout
    args, _ = _args("end_reason", tmp_path)
    done = run_cli(*args)
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
