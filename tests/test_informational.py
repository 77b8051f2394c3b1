"""Informational events that share the status field (Amazon Connect's CONTACT_DATA_UPDATED,
AMD_DISABLED): accepted and ignored, the status unchanged, with their own verdict, in the
format, the schema, the runtime, replay and validate, the three audit engines, PostgreSQL
enforcement and the diagrams."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from statemachine.graph import Kind
from statemachine.io.loader import load_file
from statemachine.io.schema import schema
from statemachine.io.yamldoc import read_document
from statemachine.runtime import Event, Policy, Rejected, UnknownStatus, definition, lifecycle
from statemachine.sql.postgres import enforce_sql
from tests.conftest import run_cli
from tests.pgserver import Conn
from tests.test_audit_agreement import results, spark  # noqa: F401 - the Spark fixture

CONTACT = """\
machine: amazon-connect.contact
object: contact
initial: INITIATED
states:
  INITIATED: {}
  QUEUED: {}
  CONNECTED_TO_AGENT: {}
  DISCONNECTED: {final: true}
transitions:
  - {source: INITIATED, dest: QUEUED}
  - {source: QUEUED, dest: CONNECTED_TO_AGENT}
  - {source: [INITIATED, QUEUED, CONNECTED_TO_AGENT], dest: DISCONNECTED}
informational:
  CONTACT_DATA_UPDATED:
    description: The contact's attributes changed; its state did not.
    evidence: {inferred: "a contact event type that names no state of the contact"}
  AMD_DISABLED: answering machine detection was off for this contact
"""

#: arrival order, with the verdict each delivery gets
EVENTS = """\
id,status,seq,expect
k1,INITIATED,1,applied
k1,CONTACT_DATA_UPDATED,2,informational
k1,QUEUED,3,applied
k1,AMD_DISABLED,1,informational
k1,CONTACT_DATA_UPDATED,4,informational
k1,CONNECTED_TO_AGENT,5,applied
k2,CONTACT_DATA_UPDATED,1,informational
k2,INITIATED,2,applied
k2,DISCONNECTED,3,applied
k2,CONTACT_DATA_UPDATED,4,informational
"""


@pytest.fixture
def contact(write: Callable[..., Path]) -> Path:
    return write(CONTACT, "contact.yaml")


def test_the_format_and_the_schema_take_an_informational_block(contact: Path) -> None:
    done = run_cli("check", "--strict", str(contact))
    assert done.returncode == 0, done.stdout + done.stderr
    jsonschema.Draft202012Validator(schema()).validate(read_document(contact).data)
    shown = json.loads(
        run_cli("show", "amazon-connect.contact", "--format", "json", "--path", str(contact)).stdout
    )
    assert [v["name"] for v in shown["informational"]] == ["CONTACT_DATA_UPDATED", "AMD_DISABLED"]
    assert shown["informational"][1]["description"].startswith("answering machine")
    # a value may be one thing only
    clash = contact.with_name("clash.yaml")
    clash.write_text(
        CONTACT + "acknowledgements:\n  AMD_DISABLED: {}\n" + "aliases:\n  QUEUED: INITIATED\n"
    )
    found = json.loads(run_cli("check", "--format", "json", str(clash)).stdout)
    messages = {f["message"] for f in found if f["code"] == "SM051"}
    assert "'AMD_DISABLED' is both an acknowledgement and an informational value; keep one" in (
        messages
    )
    bad = contact.with_name("bad.yaml")
    bad.write_text(
        CONTACT.replace("AMD_DISABLED: answering", "AMD_DISABLED: {note: answering").replace(
            "this contact\n", "this contact}\n"
        )
    )
    found = json.loads(run_cli("check", "--format", "json", str(bad)).stdout)
    assert [f["code"] for f in found] == ["SM010"]


def test_the_runtime_accepts_and_ignores_them(contact: Path) -> None:
    calls = lifecycle("amazon-connect.contact", paths=[contact])
    verdict = calls.classify("QUEUED", "CONTACT_DATA_UPDATED")
    assert verdict.kind is Kind.INFORMATIONAL
    assert (verdict.before, verdict.after) == ("QUEUED", "QUEUED")
    assert verdict.message == (
        "CONTACT_DATA_UPDATED is informational, never a contact status: accepted and ignored, "
        "the status stays QUEUED"
    )
    assert "fetch the real status" not in verdict.message
    row: dict[str, Any] = {"status": "QUEUED"}
    assert calls.apply(row, "AMD_DISABLED").kind is Kind.INFORMATIONAL
    assert row == {"status": "QUEUED"}
    # ordering keys never make it stale or applied, and it keeps no key
    calls.apply(row, "CONNECTED_TO_AGENT", seq=5, key_field="key")
    assert calls.apply(row, "CONTACT_DATA_UPDATED", seq=1, key_field="key").kind is (
        Kind.INFORMATIONAL
    )
    assert calls.apply(row, "CONTACT_DATA_UPDATED", seq=9, key_field="key").kind is (
        Kind.INFORMATIONAL
    )
    assert row == {"status": "CONNECTED_TO_AGENT", "key": (5, None, None)}
    fresh: dict[str, Any] = {}
    assert calls.apply(fresh, "CONTACT_DATA_UPDATED").after is None and fresh == {}
    assert calls.advance(row, "CONTACT_DATA_UPDATED") is None
    assert row["status"] == "CONNECTED_TO_AGENT"
    # a policy may raise on them, never apply them
    with pytest.raises(Rejected, match="informational"):
        calls.apply(row, "AMD_DISABLED", policy=Policy(informational="raise"))
    with pytest.raises(ValueError, match="informational cannot be apply"):
        Policy(informational="apply")
    with pytest.raises(UnknownStatus, match="it is informational, never a state"):
        calls.check("QUEUED", "AMD_DISABLED")
    # replay: arrival order, every verdict as expected
    rows = [line.split(",") for line in EVENTS.splitlines()[1:]]
    events = [Event(i, s, seq=int(n)) for i, s, n, _ in rows]
    assert [str(v.kind) for _, v in calls.replay(events)] == [r[3] for r in rows]


def test_replay_and_validate_pass_them(contact: Path, write: Callable[..., Path]) -> None:
    events = write(EVENTS, "events.csv")
    replayed = run_cli(
        "replay", "amazon-connect.contact", str(events), "--path", str(contact), "--format", "json"
    )
    assert replayed.returncode == 0, replayed.stderr
    kinds = [json.loads(line)["verdict"] for line in replayed.stdout.splitlines()]
    assert kinds == [line.split(",")[3] for line in EVENTS.splitlines()[1:]]
    validated = run_cli(
        "validate", "amazon-connect.contact", "--events", str(events), "--path", str(contact)
    )
    assert validated.returncode == 0, validated.stdout
    assert "5 applied, 5 informational" in validated.stdout
    for strict in ([], ["--strict"]):
        one = run_cli(
            "validate",
            "amazon-connect.contact",
            "INITIATED",
            "CONTACT_DATA_UPDATED",
            "QUEUED",
            *strict,
            "--path",
            str(contact),
        )
        assert one.returncode == 0, one.stdout
        assert one.stdout.splitlines()[1].startswith(
            "1: INITIATED -> CONTACT_DATA_UPDATED  (informational: "
        )
        assert one.stdout.splitlines()[2].startswith("2: INITIATED -> QUEUED")


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    lines = EVENTS.splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    return path


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_the_audit_counts_them_and_leaves_the_status(
    contact: Path, tmp_path: Path, engine: str
) -> None:
    done = run_cli(
        "audit",
        "amazon-connect.contact",
        str(_log(tmp_path)),
        "--engine",
        engine,
        "--format",
        "json",
        "--path",
        str(contact),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdicts"]["informational"] == 5
    assert report["verdicts"]["applied"] == 5
    assert report["final"] == {"CONNECTED_TO_AGENT": 1, "DISCONNECTED": 1}
    assert report["examples"]["informational"] == ["k1", "k2"]


def test_duckdb_python_and_spark_agree_on_them(
    contact: Path,
    tmp_path: Path,
    spark: Any,  # noqa: F811
) -> None:
    d = load_file(contact).definition
    assert d is not None
    data = _log(tmp_path)
    python = results(d, data, "python", tmp_path)
    assert results(d, data, "duckdb", tmp_path) == python
    assert results(d, data, "spark", tmp_path) == python


def test_postgres_leaves_the_row_unchanged(db: Conn, contact: Path) -> None:
    d = definition("amazon-connect.contact", [contact])
    db.execute("DROP TABLE IF EXISTS contacts")
    db.execute("CREATE TABLE contacts (id bigint PRIMARY KEY, status text, seq bigint)")
    db.execute(enforce_sql(d, "contacts", seq="seq"))
    db.execute("INSERT INTO contacts VALUES (1, 'INITIATED', 1)")
    update = "UPDATE contacts SET status = %s, seq = %s WHERE id = 1"
    assert db.execute(update, ("QUEUED", 3)).rowcount == 1
    for value, seq in (("CONTACT_DATA_UPDATED", 4), ("AMD_DISABLED", 2), ("AMD_DISABLED", None)):
        assert db.execute(update, (value, seq)).rowcount == 0  # no error, nothing written
    assert db.execute("SELECT status, seq FROM contacts").fetchall() == [("QUEUED", 3)]
    applied = db.execute(
        'SELECT kind, before, after FROM "amazon-connect.contact".apply_contacts(1, %s, 5)',
        ("CONTACT_DATA_UPDATED",),
    ).fetchall()
    assert applied == [("informational", "QUEUED", "QUEUED")]
    assert db.execute(update, ("CONNECTED_TO_AGENT", 5)).rowcount == 1
    # a new row with no status yet: nothing to store
    assert db.execute("INSERT INTO contacts VALUES (2, 'AMD_DISABLED', 1)").rowcount == 0
    assert db.execute("SELECT count(*) FROM contacts").fetchall() == [(1,)]


def test_the_diagram_legend_names_them(contact: Path, tmp_path: Path) -> None:
    done = run_cli("render", str(contact), "-o", str(tmp_path), "--format", "dot")
    assert done.returncode == 0, done.stderr
    dot = next(tmp_path.rglob("*.dot")).read_text()
    assert "CONTACT_DATA_UPDATED: informational, ignored: the status stays" in dot
    index = (tmp_path / "README.md").read_text()
    assert "`AMD_DISABLED` is informational: accepted and ignored" in index
