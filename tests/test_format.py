"""The definition format: the minimal file, the JSON Schema, and the loaded model."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import yaml

from statemachine import load_file
from statemachine.io.schema import schema
from tests.conftest import run_cli

MINIMAL = """
machine: example.door
initial: closed
states:
  closed: {}
  opened: {}
  removed: {final: true}
transitions:
  - {trigger: open, source: closed, dest: opened}
  - {trigger: close, source: opened, dest: closed}
  - {trigger: remove, source: [opened, closed], dest: removed}
"""


def test_minimal_file_is_valid_as_written(write):
    path = write(MINIMAL)
    result = run_cli("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    loaded = load_file(path)
    assert loaded.findings == ()
    d = loaded.definition
    assert d is not None
    assert list(d.states) == ["closed", "opened", "removed"]
    assert d.final_states == ("removed",)
    assert [(t.trigger, t.source, t.dest) for t in d.transitions] == [
        ("open", "closed", "opened"),
        ("close", "opened", "closed"),
        ("remove", "opened", "removed"),
        ("remove", "closed", "removed"),
    ]


def test_star_source_means_every_non_final_state_but_the_destination(write):
    path = write("""
        machine: example.call
        initial: a
        states:
          a: {}
          b: {}
          c: {}
          done: {final: true}
          gone: {final: true}
        transitions:
          - {trigger: go_b, source: a, dest: b}
          - {trigger: go_c, source: "*", dest: c}
          - {trigger: finish, source: "*", dest: done}
          - {trigger: drop, source: done, dest: gone}
    """)
    d = load_file(path).definition
    assert d is not None
    assert [t.source for t in d.transitions if t.trigger == "go_c"] == ["a", "b"]
    assert [t.source for t in d.transitions if t.trigger == "finish"] == ["a", "b", "c"]


def test_definitions_are_frozen(write):
    d = load_file(write(MINIMAL)).definition
    assert d is not None
    try:
        d.name = "other"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("Definition is mutable")
    try:
        d.states["x"] = d.states["closed"]  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("Definition.states is mutable")


def test_full_format_loads(write):
    path = write("""
        machine: acme.batch
        title: Acme batch
        object: campaign
        field: state_value
        description: A campaign.
        sources: [{id: "A1", title: Acme docs, provider: Acme, file: a1.txt}]
        initial: draft
        groups:
          live: {title: Live, evidence: {documented: "A1 groups"}}
        guards:
          all_done: every recipient call has a final status
        states:
          draft:
            description: Saved.
            next: Review it.
            groups: [live]
            stale_after: 1d12h
            evidence: {documented: "A1 row draft"}
          done: {final: true, evidence: {inferred: "the campaign must end"}}
        transitions:
          - trigger: finish
            source: draft
            dest: done
            conditions: all_done
            evidence: {inferred: "only once all calls ended"}
        aliases:
          running: {state: draft, evidence: {documented: "A1 legacy"}}
          old_draft: draft
        acknowledgements:
          initiated: {description: create response, evidence: {documented: "A1 ack"}}
        mappings:
          report:
            total: final
            labels: {ok: fine}
            entries:
              done: ok
    """)
    loaded = load_file(path)
    assert loaded.findings == ()
    d = loaded.definition
    assert d is not None
    assert d.field == "state_value"
    assert d.states["draft"].stale_after == timedelta(days=1, hours=12)
    assert d.transitions[0].conditions == ("all_done",)
    assert d.resolve("running") == "draft" and d.resolve("old_draft") == "draft"
    assert d.resolve("initiated") is None
    assert d.mappings["report"].entries == {"done": ("ok",)}
    assert str(d.states["draft"].evidence.kind) == "documented"


def test_schema_ships_in_package_and_validates_bundled_machines():
    root = Path(__file__).resolve().parent.parent / "machines"
    validator = jsonschema.Draft202012Validator(schema())
    jsonschema.Draft202012Validator.check_schema(schema())
    files = sorted(root.rglob("*.yaml"))
    assert files
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path, errors[:1])


def test_schema_rejects_what_check_rejects():
    bad = {"machine": "x.y", "states": {"a": {"final": "yes"}}, "transitons": []}
    messages = [e.message for e in jsonschema.Draft202012Validator(schema()).iter_errors(bad)]
    assert any("transitons" in m for m in messages)
    assert any("'yes' is not of type 'boolean'" in m for m in messages)


def test_show_json_contract():
    result = run_cli("show", "dialnexa.call", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "name",
        "title",
        "object",
        "field",
        "initial",
        "states",
        "transitions",
        "aliases",
        "acknowledgements",
        "mappings",
    ):
        assert key in data
    assert data["name"] == "dialnexa.call" and data["field"] == "status"
    state = data["states"][0]
    assert {"name", "final", "description", "groups"} <= set(state)
    for t in data["transitions"]:
        assert set(t) >= {"trigger", "source", "dest", "conditions", "evidence"}
        assert isinstance(t["source"], str)
    # `complete` from "*" expands to one transition per non-final state
    sources = sorted(t["source"] for t in data["transitions"] if t["trigger"] == "complete")
    assert sources == ["created", "initiated", "received", "sent"]
