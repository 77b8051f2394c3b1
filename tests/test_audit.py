"""`statemachine audit`: inputs, columns, verdicts, stuck entities, outputs and exit codes."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from statemachine.audit import Columns, Options, Outputs, audit
from statemachine.runtime import definition, lifecycle
from statemachine.runtime.streams import Event
from statemachine.sql.audit import audit_sql
from tests.conftest import imported, run_cli
from tests.test_audit_agreement import spark  # noqa: F401 - the Spark session fixture

HEADER = ["call_id", "status", "at", "event_id"]
#: DialNexa calls: a clean one, a late `sent` after completion, a duplicate webhook, an
#: impossible `busy` after `completed`, a garbage status, a call whose first report is
#: `completed` and one stuck in `sent`
ROWS = [
    ["c1", "created", "2025-03-03T09:00:00Z", "e1"],
    ["c1", "sent", "2025-03-03T09:00:05Z", "e2"],
    ["c1", "completed", "2025-03-03T09:03:00Z", "e3"],
    ["c2", "created", "2025-03-03T09:10:00Z", "e4"],
    ["c2", "completed", "2025-03-03T09:12:00Z", "e5"],
    ["c2", "sent", "2025-03-03T09:13:00Z", "e6"],
    ["c3", "created", "2025-03-03T09:20:00Z", "e7"],
    ["c3", "sent", "2025-03-03T09:20:02Z", "e8"],
    ["c3", "sent", "2025-03-03T09:20:02Z", "e8"],
    ["c3", "completed", "2025-03-03T09:25:00Z", "e9"],
    ["c3", "busy", "2025-03-03T09:26:00Z", "e10"],
    ["c4", "created", "2025-03-03T09:30:00Z", "e11"],
    ["c4", "ringing", "2025-03-03T09:30:01Z", "e12"],
    ["c5", "completed", "2025-03-03T09:40:00Z", "e13"],
    ["c6", "created", "2025-03-03T08:00:00Z", "e14"],
    ["c6", "sent", "2025-03-03T08:00:03Z", "e15"],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "calls.csv", ROWS)


def audit_json(*args: str) -> tuple[int, dict[str, object]]:
    done = run_cli("audit", "dialnexa.call", *args, "--id", "call_id", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_verdicts_and_entities_match_the_runtime_replay(calls: Path) -> None:
    code, report = audit_json(str(calls))
    lc = lifecycle("dialnexa.call")
    expected: dict[str, int] = {}
    finals: dict[str, int] = {}
    by_call: dict[str, list[list[str]]] = {}
    for row in ROWS:
        by_call.setdefault(row[0], []).append(row)
    for history in by_call.values():
        ordered = sorted(history, key=lambda r: r[2])  # stable: ties keep file order
        after = None
        for _, verdict in lc.replay(
            Event(r[0], r[1], at=__import__("datetime").datetime.fromisoformat(r[2]), event_id=r[3])
            for r in ordered
        ):
            expected[str(verdict.kind)] = expected.get(str(verdict.kind), 0) + 1
            after = verdict.after
        finals[str(after)] = finals.get(str(after), 0) + 1
    verdicts = report["verdicts"]
    assert isinstance(verdicts, dict)
    assert {k: n for k, n in verdicts.items() if n} == expected
    assert report["final"] == dict(sorted(finals.items(), key=lambda kv: (-kv[1], kv[0])))
    assert code == 1  # an illegal busy and an unknown ringing


def test_worked_cases(calls: Path, tmp_path: Path) -> None:
    findings = tmp_path / "findings.csv"
    code, report = audit_json(str(calls), "--findings", str(findings))
    assert set(report) >= {
        "machine",
        "events",
        "entities",
        "verdicts",
        "final",
        "outcomes",
        "stuck",
        "transitions",
        "examples",
    }
    assert (report["events"], report["entities"]) == (len(ROWS), 6)
    rows = list(csv.DictReader(findings.open(encoding="utf-8")))
    kinds = {(r["id"], r["status"], r["verdict"]) for r in rows}
    # c2: completed arrived before the late sent; c3: the duplicate e8, then busy after completed
    assert ("c2", "sent", "stale") in kinds
    assert ("c3", "sent", "repeated") in kinds
    assert ("c3", "busy", "illegal") in kinds
    assert ("c4", "ringing", "unknown") in kinds
    # c5's first report is a final status, reachable from created: a skip, not illegal
    assert ("c5", "completed", "skipped") in kinds
    assert report["outcomes"] == {"connected": 4}
    transitions = report["transitions"]
    assert isinstance(transitions, list)
    assert {
        "source": "completed",
        "dest": "busy",
        "count": 1,
        "verdict": "illegal",
        "example": "c3",
    } in transitions
    assert code == 1


def test_stuck_needs_a_limit_and_respects_as_of(calls: Path) -> None:
    _, report = audit_json(str(calls))
    assert report["stuck"] == {}
    _, report = audit_json(str(calls), "--stale-after", "sent=30m")
    # c6 entered sent at 08:00:03; the latest event is 09:40:00
    assert report["stuck"] == {"sent": 1}
    assert report["examples"]["stuck"] == ["c6"]  # type: ignore[index]
    _, report = audit_json(str(calls), "--stale-after", "sent=2h")
    assert report["stuck"] == {}
    _, report = audit_json(
        str(calls), "--stale-after", "sent=2h", "--as-of", "2025-03-03T12:00:00Z"
    )
    assert report["stuck"] == {"sent": 1}


def test_formats_globs_and_stdin_agree(calls: Path, tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{calls}', all_varchar=true)) TO '{tmp_path}/calls.parquet'"
    )
    with (tmp_path / "calls.jsonl").open("w", encoding="utf-8") as f:
        for row in ROWS:
            f.write(json.dumps(dict(zip(HEADER, row, strict=True))) + "\n")
    _, base = audit_json(str(calls))
    for name in ("calls.parquet", "calls.jsonl"):
        assert audit_json(str(tmp_path / name))[1] == base
    half = len(ROWS) // 2
    write_csv(tmp_path / "part-1.csv", ROWS[:half])
    write_csv(tmp_path / "part-2.csv", ROWS[half:])
    assert audit_json(str(tmp_path / "part-*.csv"))[1] == base
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "statemachine",
            "audit",
            "dialnexa.call",
            "-",
            "--id",
            "call_id",
            "--format",
            "json",
        ],
        input=calls.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(done.stdout) == base


def test_typed_parquet_times_and_lines_read_as_the_csv_text(calls: Path, tmp_path: Path) -> None:
    """Parquet times typed naive (UTC) or zoned, and a file with its own `file_row_number`
    column: every event keeps its time and its line (`ord`), as from the CSV's text."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Paris'")  # not UTC: a zoned time must not move
    text = f"read_csv('{calls}', all_varchar = true)"
    typed = {
        "naive": "CAST(CAST(\"at\" AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)",
        "zoned": 'CAST("at" AS TIMESTAMPTZ)',
    }
    for name, at in typed.items():
        con.execute(
            f"COPY (SELECT * REPLACE ({at} AS \"at\") FROM {text}) TO '{tmp_path}/{name}.parquet'"
        )
    con.execute(
        f"COPY (SELECT *, 7 AS file_row_number FROM {text}) TO '{tmp_path}/numbered.parquet'"
    )
    assert (
        con.execute(f"DESCRIBE SELECT \"at\" FROM '{tmp_path}/zoned.parquet'")
        .fetchall()[0][1]
        .startswith("TIMESTAMP WITH TIME ZONE")
    )
    options = Options(Columns(id="call_id"))

    def audited(path: Path) -> tuple[object, ...]:
        events = tmp_path / f"{path.stem}-events.csv"
        report = audit(definition("dialnexa.call"), [str(path)], options, outputs=Outputs(events))
        rows = con.execute(f"SELECT * FROM read_csv('{events}', all_varchar = true)").fetchall()
        return report.as_json(), rows

    base = audited(calls)
    for name in (*typed, "numbered"):
        assert audited(tmp_path / f"{name}.parquet") == base, name


def test_clean_log_exits_0_and_the_text_summary_reads(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "ok.csv", ROWS[:3])
    done = run_cli("audit", "dialnexa.call", str(data), "--id", "call_id")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dialnexa.call: 3 events, 1 entity")
    assert "verdicts   applied 3" in done.stdout


def test_a_report_with_nothing_to_fold_loads_no_arrow(tmp_path: Path) -> None:
    """PyArrow (and pandas, which it loads when installed) takes longer to import than a
    small audit takes to run; the one pass needs it only to fold entities in doubt."""
    data = write_csv(tmp_path / "ok.csv", ROWS[:3])
    cli = ["-m", "statemachine", "audit", "dialnexa.call", str(data), "--id", "call_id"]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *cli],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = imported(done)
    assert "duckdb" in modules  # the log was read
    assert "pyarrow" not in modules


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{data}"], "no column 'id' for the id"),
        (["{data}", "--id", "call_id", "--seq", "sequence"], "no column 'sequence'"),
        (["{missing}", "--id", "call_id"], "no such file"),
        (["{data}", "--id", "call_id", "--stale-after", "sent=soon"], "not a duration"),
        (["{data}", "--id", "call_id", "--stale-after", "snet=1h"], "STATE one of"),
        (["{data}", "--id", "call_id", "--as-of", "yesterday"], "not a time"),
        # named as replay names it: file, line, column, how to fix it
        (["{bad}", "--id", "call_id"], 'bad.csv:2:3: at "not a time" is not an ISO 8601 time'),
        (["{data}", "--id", "call_id", "--format", "html"], "needs -o FILE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    calls: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    bad = write_csv(tmp_path / "bad.csv", [["c1", "created", "not a time", "e1"]])
    paths = {"data": str(calls), "missing": str(tmp_path / "nope.csv"), "bad": str(bad)}
    done = run_cli("audit", "dialnexa.call", *(a.format(**paths) for a in args))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_sequence_numbers_order_before_times(tmp_path: Path) -> None:
    """Twilio-style: completed (seq 3) arrives first with the earliest time; seq decides."""
    rows = [
        ["c1", "completed", "3", "2025-03-03T09:00:00Z"],
        ["c1", "created", "1", "2025-03-03T09:00:01Z"],
        ["c1", "sent", "2", "2025-03-03T09:00:02Z"],
    ]
    data = write_csv(tmp_path / "seq.csv", rows, ["call_id", "status", "seq", "at"])
    _, report = audit_json(str(data))
    assert report["verdicts"]["applied"] == 3  # type: ignore[index]
    assert report["final"] == {"completed": 1}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_a_key_part_an_event_lacks_is_kept_from_before(tmp_path: Path, engine: str) -> None:
    """As the runtime's replay: `initiated` carries no time, so the time of `created` stays
    the last kept one and the timeless `sent` after it is older; `e1` stays the last kept
    event id, so an event `e1` after `initiated` (which has none) is that event again."""
    rows = [
        ["c1", "created", "1", "2025-03-03T09:10:00Z", "e1"],
        ["c1", "initiated", "2", "", "e2"],
        ["c1", "sent", "", "2025-03-03T09:05:00Z", "e3"],
        ["c2", "created", "1", "2025-03-03T09:10:00Z", "e1"],
        ["c2", "initiated", "2", "2025-03-03T09:11:00Z", ""],
        ["c2", "sent", "", "", "e1"],
    ]
    data = write_csv(tmp_path / "keys.csv", rows, ["id", "status", "seq", "at", "event_id"])
    events = tmp_path / "events.csv"
    audit(definition("dialnexa.call"), [str(data)], engine=engine, outputs=Outputs(events=events))
    verdicts = [(r["id"], r["status"], r["verdict"]) for r in csv.DictReader(events.open())]
    assert verdicts == [
        ("c1", "created", "applied"),
        ("c1", "initiated", "applied"),
        ("c1", "sent", "stale"),
        ("c2", "created", "applied"),
        ("c2", "initiated", "applied"),
        ("c2", "sent", "repeated"),
    ]


def test_unreported_states_kaleyra(tmp_path: Path) -> None:
    """Kaleyra reports one final status per call: ANSWER first is applied through the
    unreported in-progress states."""
    data = write_csv(tmp_path / "k.csv", [["k1", "ANSWER"]], ["id", "status"])
    events = tmp_path / "events.csv"
    report = audit(
        definition("kaleyra.call"), [str(data)], Options(), outputs=Outputs(events=events)
    )
    assert report.verdicts["applied"] == 1
    (row,) = csv.DictReader(events.open(encoding="utf-8"))
    assert row["verdict"] == "applied" and row["through"]


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "postgres"])
def test_audit_sql_names_its_relations(dialect: str) -> None:
    sql = audit_sql(definition("dialnexa.call"), dialect)
    assert "FROM events" in sql and "WITH RECURSIVE" in sql
    with pytest.raises(ValueError, match="unknown dialect"):
        audit_sql(definition("dialnexa.call"), "oracle")


def test_columns_default_to_the_replay_names() -> None:
    assert Columns().id == "id" and Columns().at == "at" and Columns().event_id == "event_id"


@pytest.fixture(params=["duckdb", "python", "spark"])
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "spark":
        request.getfixturevalue("spark")  # skips, visibly, without PySpark or java
    return str(request.param)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("id,status,id\nc1,created,c2\n", "dup.csv"),  # a duplicate column
        ("call_id,status,seq,call_id\nc1,created,1,c2\n", "dup-named.csv"),
        ("id,status,seq\nc1,created,1\nc1,sent,abc\n", "seq.csv"),  # not an integer
        ("id,status,at\nc1,created,2025-03-03T09:00:00Z\nc1,sent,never\n", "at.csv"),
        (
            '{"id": "c1", "status": "created", "seq": 1}\n{"id": "c1", "status": "sent", '
            '"seq": "abc"}\n',
            "seq.jsonl",
        ),
    ],
)
def test_the_audit_reads_a_file_by_the_rules_of_replay(
    tmp_path: Path, engine: str, text: str, name: str
) -> None:
    data = tmp_path / name
    data.write_text(text, encoding="utf-8")
    column = ["--id", "call_id"] if "call_id" in text else []
    replayed = run_cli("replay", "dialnexa.call", str(data))
    audited = run_cli("audit", "dialnexa.call", str(data), "--engine", engine, *column)
    assert audited.returncode == 2, audited.stdout
    assert "Traceback" not in audited.stderr
    # Spark's JVM and logger write their own lines to the same stream, at any time
    assert f"statemachine: error: {data}:" in audited.stderr, audited.stderr
    if not column:  # replay knows no --id: the same file refused in the same words
        assert replayed.returncode == 2
        assert replayed.stderr.strip() in audited.stderr
        assert "; " in replayed.stderr  # what is wrong; how to fix it


def test_findings_csv_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    """OWASP's CSV injection advice: a text cell starting with = + - @ tab or CR gets a
    leading single quote, and every text cell is quoted; Parquet keeps the values."""
    hostile = ["=cmd|' /C calc'!A0", "+1,2", "-2+3", "@SUM(A1)", "\tx", "\rx", 'a"b', "plain"]
    data = write_csv(tmp_path / "evil.csv", [[i, "bogus"] for i in hostile], ["id", "status"])
    found = tmp_path / "findings.csv"
    done = run_cli("audit", "dialnexa.call", str(data), "--findings", str(found))
    assert done.returncode == 1, done.stderr
    with found.open(newline="", encoding="utf-8") as f:
        ids = [row["id"] for row in csv.DictReader(f)]
    assert ids == [f"'{i}" if i[0] in "=+-@\t\r" else i for i in hostile]
    raw = found.read_text(encoding="utf-8")
    assert "\"'=cmd|' /C calc'!A0\"" in raw and '"a""b"' in raw  # quoted, quotes doubled
    parquet = tmp_path / "findings.parquet"
    run_cli("audit", "dialnexa.call", str(data), "--findings", str(parquet))
    stored = duckdb.sql(f"SELECT id FROM '{parquet}' ORDER BY ord").fetchall()
    assert [r[0] for r in stored] == hostile


def _keys(text: str) -> set[str]:
    return set(re.findall(r'"(\w+)"', text))


def test_the_readme_lists_every_key_of_the_json_contract(calls: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("`--format json` is a pinned contract")
    contract = readme[start : readme.index("`--findings FILE`", start)]
    _, report = audit_json(str(calls))
    emitted = set(report) | {key for t in report["transitions"] for key in t}  # type: ignore[attr-defined]
    assert _keys(contract) == emitted


def test_without_a_time_column_stuck_cannot_be_judged(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "timeless.csv", [["c1", "created"]], ["id", "status"])
    done = run_cli("audit", "dialnexa.call", str(data), "--stale-after", "created=1m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dialnexa.call: 1 event, 1 entity\n")
    assert "stuck      cannot be judged without a time column (--at) or --as-of" in done.stdout
    assert "stuck      none" not in done.stdout
    timed = write_csv(
        tmp_path / "timed.csv", [["c1", "created", "2025-03-03T09:00:00Z"]], ["id", "status", "at"]
    )
    assert "stuck      none" in run_cli("audit", "dialnexa.call", str(timed)).stdout


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_examples_name_entities_past_one_with_many_events_of_a_verdict(
    tmp_path: Path, engine: str
) -> None:
    """The first five entities with a `repeated` event, by the place of each one's first
    (`a` repeats `created` 80 times before any other entity shows), and each transition's
    example is the entity of its first event."""
    rows = [
        ["a", "created", f"2025-03-03T09:00:{i // 60:02d}.{i % 60:02d}Z", f"a{i}"]
        for i in range(81)
    ]
    for name in "bcdefg":
        rows += [[name, "created", "2025-03-03T10:00:00Z", f"{name}1"]] * 2
    data = write_csv(tmp_path / "many.csv", rows, ["call_id", "status", "at", "event_id"])
    code, report = audit_json(str(data), "--engine", engine)
    assert code == 0
    assert report["examples"] == {"repeated": ["a", "b", "c", "d", "e"]}
    assert [(t["dest"], t["verdict"], t["count"], t["example"]) for t in report["transitions"]] == [  # type: ignore[union-attr]
        ("created", "repeated", 86, "a"),
        ("created", "applied", 7, "a"),
    ]


def counted_moves(report: dict[str, object]) -> dict[tuple[object, ...], tuple[object, ...]]:
    """(source, dest, verdict) -> (count, example) of each transition of a JSON report."""
    transitions = report["transitions"]
    assert isinstance(transitions, list)
    return {(t["source"], t["dest"], t["verdict"]): (t["count"], t["example"]) for t in transitions}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_a_transition_the_fold_judges_otherwise_is_named_by_its_first_true_event(
    tmp_path: Path, engine: str
) -> None:
    """`a`'s late `created` is stale and not its last event: its history is in doubt. DuckDB's
    one pass judges `a`'s `sent` against the event before it (`created -> sent`), the fold
    against its state (`initiated -> sent`). The first true `created -> sent` is `b`'s, later
    in the file: the report names it whether it is read from the sums of the one pass (the
    report alone) or from every event's row (kept to write the findings)."""
    rows = [
        ["a", "created", "2025-03-03T09:00:01Z", "a1"],
        ["a", "initiated", "2025-03-03T09:00:02Z", "a2"],
        ["a", "created", "2025-03-03T09:00:03Z", "a3"],
        ["a", "sent", "2025-03-03T09:00:04Z", "a4"],
        ["b", "created", "2025-03-03T09:00:05Z", "b1"],
        ["b", "sent", "2025-03-03T09:00:06Z", "b2"],
    ]
    data = write_csv(tmp_path / "doubt.csv", rows)
    code, alone = audit_json(str(data), "--engine", engine)
    _, kept = audit_json(str(data), "--engine", engine, "--findings", str(tmp_path / "f.csv"))
    assert code == 0
    assert alone == kept
    moves = counted_moves(alone)
    assert moves["created", "sent", "applied"] == (1, "b")
    assert moves["initiated", "sent", "applied"] == (1, "a")
    assert moves["initiated", "created", "stale"] == (1, "a")


def test_a_transition_s_first_true_event_is_found_past_the_first_entities(
    tmp_path: Path,
) -> None:
    """As above, `a`'s `created -> sent` is judged otherwise by the fold. The one pass finds
    the first true one again among the entities in the order of their first event, a few
    thousand at a time: `c` starts early but sends late, after `b`, which starts past the
    first few thousand entities. `b` is named, as the replay names it."""
    at = iter(
        f"2025-03-03T{9 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z" for i in range(10**5)
    )
    rows = [
        ["a", "created", next(at), "a1"],
        ["a", "initiated", next(at), "a2"],
        ["a", "created", next(at), "a3"],
        ["a", "sent", next(at), "a4"],
        ["c", "created", next(at), "c1"],
    ]
    rows += [[f"f{i}", "created", next(at), f"f{i}"] for i in range(5000)]
    rows += [["b", "created", next(at), "b1"], ["b", "sent", next(at), "b2"]]
    rows += [["c", "sent", next(at), "c2"]]
    data = str(write_csv(tmp_path / "many.csv", rows))
    _, report = audit_json(data)
    _, replayed = audit_json(data, "--engine", "python")
    assert report == replayed
    assert counted_moves(report)["created", "sent", "applied"] == (2, "b")


def test_a_failure_in_the_fold_is_raised_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one pass sums the fold's rows as DuckDB reads them from the fold: an error the
    fold raises there (a bug, an interrupt) comes out as it is, not as DuckDB's failure to
    read a stream, which the audit would report as data it cannot read."""
    import statemachine.audit.duck

    def failing(*_: object) -> None:
        raise LookupError("the fold failed")

    rows = [
        ["a", "created", "2025-03-03T09:00:01Z", "a1"],
        ["a", "initiated", "2025-03-03T09:00:02Z", "a2"],
        ["a", "created", "2025-03-03T09:00:03Z", "a3"],
        ["a", "sent", "2025-03-03T09:00:04Z", "a4"],
    ]
    data = str(write_csv(tmp_path / "doubt.csv", rows))
    options = Options(Columns(id="call_id"))
    assert audit(definition("dialnexa.call"), [data], options).verdicts["stale"] == 1
    monkeypatch.setattr(statemachine.audit.duck, "fold", failing)
    with pytest.raises(LookupError, match="the fold failed"):
        audit(definition("dialnexa.call"), [data], options)
