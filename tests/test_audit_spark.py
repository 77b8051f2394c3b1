"""The Spark engine's own paths: a report without files to write numbers events by the place
Spark read them (which orders them as their lines do) and caches them packed in one integer,
a log with nothing in doubt is judged without the fold, and with entities in doubt the
one-pass rows are summed by entity without a shuffle. All give the Python engine's report."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from statemachine.audit import Options, audit
from statemachine.model.definition import Definition
from statemachine.runtime import definition
from tests.conftest import run_cli
from tests.test_audit_agreement import T0, history, log, long_log, spark, write  # noqa: F401 - the session


def _report(data: Path, engine: str, machine: str = "dialnexa.call") -> dict[str, Any]:
    d = definition(machine)
    options = Options(stale_after={s: timedelta(minutes=1) for s in d.states})
    return audit(d, [str(data)], options, engine=engine).as_json()


@pytest.mark.usefixtures("spark")
@pytest.mark.parametrize("absent", [(), ("seq",)])
def test_a_report_alone_is_the_python_engines(tmp_path: Path, absent: tuple[str, ...]) -> None:
    """With every key column and without sequence numbers (left out of Spark's sort)."""
    data = write(tmp_path / "log.csv", log(11, definition("dialnexa.call"), 40), absent)
    assert _report(data, "spark") == _report(data, "python")


def _clean(seed: int, d: Definition, entities: int) -> list[dict[str, Any]]:
    """Histories that walk the graph in order with every key part, a state spelled by one of
    its aliases half the time: no event of them is in doubt, so they are judged in one pass
    and read back from the packed rows."""
    rng = random.Random(seed)
    spelled: dict[str, list[str]] = {}
    for name, alias in d.aliases.items():
        spelled.setdefault(alias.state, []).append(name)
    return [
        {
            "id": f"c{n}",
            "status": rng.choice(spelled.get(state, [state])) if rng.random() < 0.5 else state,
            "seq": i + 1,
            "at": T0 + timedelta(minutes=i),
            "event_id": f"c{n}-{i}",
        }
        for n in range(entities)
        for i, state in enumerate(history(rng, d))
    ]


@pytest.mark.usefixtures("spark")
@pytest.mark.parametrize(
    ("machine", "seed"),
    [("dialnexa.batch", 102), ("dialnexa.workflow", 110), ("dialnexa.transfer_leg", 15)],
)
def test_every_column_of_the_packed_rows_is_the_python_engines(
    tmp_path: Path, machine: str, seed: int
) -> None:
    """Machines whose moves skip a state (`missing`), are `ambiguous`, or take a status to a
    state of another name (an alias), with clean histories beside perturbed ones: the packed
    move, state before and verdict name what the Python engine names. Each seed's perturbed
    log has an entity whose one event has a status the machine does not know: it ends in no
    state."""
    d = definition(machine)
    rows = _clean(seed, d, 40) + log(seed, d, 60) + long_log(seed + 1, d, 300)
    data = write(tmp_path / "log.csv", rows)
    report = _report(data, "spark", machine)
    assert report == _report(data, "python", machine)
    assert "(none)" in report["final"]  # type: ignore[operator]


@pytest.mark.usefixtures("spark")
def test_rows_too_wide_to_pack_are_cached_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine whose moves leave the row number too few bits is judged from the rows as
    they are: the same report."""
    import statemachine.audit.spark as on_spark

    monkeypatch.setattr(on_spark._Packing, "of", classmethod(lambda cls, d: None))
    d = definition("dialnexa.workflow")
    data = write(tmp_path / "log.csv", _clean(5, d, 20) + log(5, d, 30))
    assert _report(data, "spark", d.name) == _report(data, "python", d.name)


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


def _operators(plan: Any, top: bool = True) -> list[Any]:
    """The operators of the executed Spark `plan` (a JVM object), down to the cached
    relations and query stages it reads (each named, not entered)."""
    name = plan.getClass().getSimpleName()
    if name == "AdaptiveSparkPlanExec":
        return _operators(plan.executedPlan(), top)
    if name == "ResultQueryStageExec":
        return _operators(plan.plan(), top)
    if name.endswith("QueryStageExec") or (name == "InMemoryTableScanExec" and not top):
        return [plan]
    children = plan.children()
    return [
        plan,
        *(op for i in range(children.size()) for op in _operators(children.apply(i), False)),
    ]


def _named(operators: list[Any]) -> list[str]:
    return [op.getClass().getSimpleName() for op in operators]


@pytest.mark.usefixtures("spark")
def test_the_entities_judged_in_one_pass_are_summed_without_a_shuffle(tmp_path: Path) -> None:
    """With entities in doubt, each entity's sums (`grouped`, which the report's entity
    queries read) are a union of the one-pass rows' sums and the folded rows': the one-pass
    rows are summed where the cache holds them, partitioned by entity, with no shuffle (a
    union of the rows summed as one is shuffled whole)."""
    d = definition("dialnexa.call")
    data = write(tmp_path / "log.csv", _clean(3, d, 30) + log(3, d, 30))
    assert _report(data, "spark") == _report(data, "python")
    from statemachine.audit.spark import session

    read = _operators(session().table("grouped")._jdf.queryExecution().executedPlan())
    scan = read[_named(read).index("InMemoryTableScanExec")]
    cached = _operators(scan.relation().cachedPlan())
    unions = [op for op, name in zip(cached, _named(cached), strict=True) if name == "UnionExec"]
    assert unions, _named(cached)
    sides = [_named(_operators(unions[0].children().apply(i), False)) for i in range(2)]
    one_pass = next(side for side in sides if "BroadcastHashJoinExec" in side)
    assert not [name for name in one_pass if "Shuffle" in name], sides
