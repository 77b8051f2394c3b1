"""Relations and own-field rules are read from YAML into the model, located."""

from __future__ import annotations

from pathlib import Path

from statemachine.io.loader import load_file
from statemachine.model.coupling import Quantity, RuleKind

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
