"""Relations and own-field rules are read from YAML into the model, located."""

from __future__ import annotations

import json
from pathlib import Path

from statemachine.io.loader import load_file
from statemachine.model.coupling import Quantity, RuleKind
from tests.conftest import run_cli

PARENT = """\
machine: t.parent
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - {source: open, dest: done}
related:
  t.child:
    key: parent_id
    evidence: {inferred: test}
    rules:
      - {rule: blocks_start, states: [done], evidence: {inferred: test}}
      - {rule: children_agree, states: done, child_states: [b], reached: true, quantity: one}
rules:
  - {rule: decides, field: reason, mapping: m, decisions: {done: {x: a, "*": b}}}
"""


def test_relations_and_rules_are_loaded_with_locations(tmp_path: Path) -> None:
    path = tmp_path / "parent.yaml"
    path.write_text(PARENT)
    loaded = load_file(path)
    assert loaded.findings == ()
    assert loaded.definition is not None
    related = loaded.definition.related["t.child"]
    assert related.key == "parent_id"
    blocks, agree = related.rules
    assert blocks.kind is RuleKind.BLOCKS_START and blocks.states == ("done",)
    assert blocks.code == "SM201"
    assert agree.quantity is Quantity.ONE and agree.reached and agree.child_states == ("b",)
    assert (agree.where("child_states").line, agree.where("child_states").col) == (14, 60)
    (decides,) = loaded.definition.rules
    assert decides.decisions["done"]["*"] == "b"
    assert decides.location.line == 16


CHILD = """\
machine: t.child
initial: a
states:
  a: {}
  b: {final: true}
transitions:
  - {source: a, dest: b}
mappings:
  tally:
    labels: {bees: children in b}
    entries: {b: bees}
"""


def _pair(folder: Path, parent: str = PARENT) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "parent.yaml").write_text(parent.replace("m, decisions", "own, decisions") + OWN)
    (folder / "child.yaml").write_text(CHILD)
    return folder


OWN = """\
mappings:
  own:
    labels: {a: A, b: B}
    entries: {done: [a, b]}
"""


def test_a_relation_and_its_rules_pass_check(tmp_path: Path) -> None:
    result = run_cli("check", "--format", "json", str(_pair(tmp_path / "m")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_bad_relations_are_located_with_a_fix(tmp_path: Path) -> None:
    bad = PARENT.replace("t.child:", "t.chlid:").replace("states: [done]", "states: [dnoe]")
    folder = _pair(tmp_path / "m", bad)
    result = run_cli("check", str(folder))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert any(":9:3: SM090" in line and "did you mean 't.child'" in line for line in lines), lines
    # the child is unknown, so only the parent's own states are judged
    assert any(":13:38: SM092" in line and "'dnoe'" in line for line in lines), lines


def test_show_lists_relations_and_rules(tmp_path: Path) -> None:
    folder = _pair(tmp_path / "m")
    shown = run_cli("show", "t.parent", "--format", "json", "--path", str(folder))
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    (blocks, agree) = data["related"]["t.child"]["rules"]
    assert data["related"]["t.child"]["key"] == "parent_id"
    assert (blocks["code"], blocks["states"], blocks["severity"]) == ("SM201", ["done"], "error")
    assert (agree["quantity"], agree["reached"], agree["child_states"]) == ("one", True, ["b"])
    assert data["rules"][0]["decisions"] == {"done": {"x": "a", "*": "b"}}
    text = run_cli("show", "t.parent", "--path", str(folder)).stdout
    assert "related t.child (key parent_id):" in text
    assert "SM203 children_agree states done child_states b quantity one, reached" in text
    plain = run_cli("show", "dialnexa.phone_number", "--format", "json")
    assert json.loads(plain.stdout)["related"] == {} and json.loads(plain.stdout)["rules"] == []


def test_render_draws_a_system_view_and_checks_it(tmp_path: Path) -> None:
    folder = _pair(tmp_path / "m")
    out = tmp_path / "out"
    assert run_cli("render", str(folder), "-o", str(out)).returncode == 0
    dot = (out / "t" / "parent.system.dot").read_text()
    assert "t.child.parent_id" in dot, "the relation edge names the child's key"
    assert "SM201 blocks_start" in dot and "SM203 children_agree" in dot
    assert "SM207 decides" in dot, "the parent's own rule, in its cluster"
    assert (out / "t" / "parent.system.svg").read_bytes().startswith(b"<?xml")
    assert (out / "t" / "parent.system.png").read_bytes()[:4] == b"\x89PNG"
    assert "flowchart LR" in (out / "t" / "parent.system.mmd").read_text()
    assert not (out / "t" / "child.system.dot").exists(), "a machine with no relation"
    assert "parent.system.svg" in (out / "README.md").read_text()
    assert run_cli("render", str(folder), "-o", str(out), "--check").returncode == 0
    parent = folder / "parent.yaml"
    parent.write_text(parent.read_text().replace("quantity: one", "quantity: some"))
    stale = run_cli("render", str(folder), "-o", str(out), "--check")
    assert stale.returncode == 1
    assert any("parent.system" in line for line in stale.stdout.splitlines()), stale.stdout


def test_the_public_api_checks_relations(tmp_path: Path) -> None:
    from statemachine import load_registry

    bad = PARENT.replace("quantity: one", "quantity: one, mapping: tally, field: f")
    found = load_registry([_pair(tmp_path / "m", bad)])
    codes = sorted((f.code, f.location.line) for f in found.findings)
    assert codes == [("SM096", 14), ("SM096", 14)], codes


def test_the_runtime_loads_a_parent_with_its_children(tmp_path: Path) -> None:
    from statemachine.runtime import definition

    assert definition("dialnexa.transfer").related["dialnexa.transfer_leg"].key == "transfer_id"
    folder = _pair(tmp_path / "m")
    assert definition("t.parent", paths=[folder]).related["t.child"].rules[1].code == "SM203"
