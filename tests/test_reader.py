"""The YAML reader: hostile values and keys become located findings, bounds hold, YAML 1.1
keys stay names, and libyaml's and PyYAML's parsers give the same findings byte for byte."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from statemachine.io import yamldoc
from statemachine.io.registry import bundled_dir, load_registry
from statemachine.io.yamldoc import read_document
from statemachine.runtime import DefinitionError, definition, lifecycle
from tests.conftest import run_cli
from tests.test_malformed import CORPUS, MERGE_BOMB

HOSTILE_VALUES = """\
machine: a.b
initial: x
title: !!int x
object: !!float x
field: !!bool x
description: !!timestamp x
states:
  x: {final: !!int ''}
  y: {description: 2024-13-01}
  z: {description: 2024-02-30}
  w: {description: DIGITS}
"""


def _json_findings(path: Path) -> list[dict[str, object]]:
    result = run_cli("check", "--format", "json", str(path))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.stdout, result.stderr)
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def test_bad_values_are_located_findings(write: Callable[..., Path]) -> None:
    path = write(HOSTILE_VALUES.replace("DIGITS", "9" * 5000))
    found = {(f["line"], f["col"]): f["message"] for f in _json_findings(path)}
    assert found == {
        (3, 8): "!!int value 'x' is not a whole number; remove the tag or fix the value",
        (4, 9): "!!float value 'x' is not a number; remove the tag or fix the value",
        (5, 8): "!!bool value 'x' is not true or false; remove the tag or fix the value",
        (6, 14): "!!timestamp value 'x' is not a date or time; remove the tag or fix the value",
        (8, 14): "!!int value '' is not a whole number; remove the tag or fix the value",
        (9, 20): "'2024-13-01' looks like a date or time but is not a valid one; "
        "quote it to keep it as text",
        (10, 20): "'2024-02-30' looks like a date or time but is not a valid one; "
        "quote it to keep it as text",
        (11, 20): "the whole number '"
        + "9" * 57
        + "...' has more than 4300 digits; quote it to keep it as text",
    }


@pytest.mark.parametrize(
    "number",
    [
        "0x" + "f" * 4000,
        "-0x" + "F" * 4000,
        "+0x" + "f_" * 4000 + "f",
        "0b" + "1" * 15000,
        "-0b_" + "1" * 15000,
        "0" + "7" * 5000,  # YAML 1.1 octal
        "+0_" + "7" * 5000,
        "-" + "9_" * 4400 + "9",
        "1" + ":59" * 3000,  # YAML 1.1 base 60
    ],
)
def test_every_integer_form_past_the_digit_limit_is_a_located_finding(
    write: Callable[..., Path], number: str
) -> None:
    path = write(
        f"machine: a.b\ninitial: x\nstates:\n  x: {{final: true, description: {number}}}\n"
    )
    found = _json_findings(path)
    assert [(f["line"], f["col"], f["code"]) for f in found] == [(4, 33, "SM001")], found
    message = str(found[0]["message"])
    assert message.startswith("the whole number '" + number[:20])
    assert message.endswith("has more than 4300 digits; quote it to keep it as text")


def test_keys_are_names_never_built(write: Callable[..., Path]) -> None:
    """Keys that YAML 1.1 would make into dates, numbers or booleans, or fail to build."""
    digits = "7" * 1000  # past what a key may hold as a number; YAML limits keys to 1024
    path = write(
        f"""
        machine: a.b
        initial: "2024-13-01"
        states:
          2024-13-01: {{}}
          {digits}: {{}}
          0x1F: {{final: true}}
          !!int z: {{}}
        transitions:
          - {{trigger: go, source: "2024-13-01", dest: "0x1F"}}
        """
    )
    found = _json_findings(path)
    assert [(f["line"], f["code"], f["message"]) for f in found if f["code"] == "SM001"] == [
        (7, "SM001", "a key is a name, written as text: remove the tag !!int from 'z'")
    ]
    data = read_document(path).data
    assert list(data["states"]) == ["2024-13-01", digits, "0x1F", "z"]


def test_lifecycle_refuses_a_bad_value_with_definition_error(write: Callable[..., Path]) -> None:
    path = write("machine: a.b\ninitial: x\nstates:\n  x: {final: !!bool maybe}\n")
    with pytest.raises(DefinitionError, match=r"machine.yaml:4:14: SM001 !!bool value 'maybe'"):
        lifecycle("a.b", paths=[path])
    with pytest.raises(DefinitionError):
        definition("a.b", [path.parent])


def test_one_bad_value_does_not_hide_other_files(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("machine: !!int x\n")
    (tmp_path / "good.yaml").write_text("machine: a.b\ninitial: x\nstates:\n  x: {final: true}\n")
    result = run_cli("check", "--format", "json", str(tmp_path))
    files = sorted(Path(str(f["file"])).name for f in json.loads(result.stdout))
    assert files == ["bad.yaml"], result.stdout
    assert "2 file(s) checked" in result.stderr


def test_merge_bomb_finishes_fast_with_a_finding(tmp_path: Path) -> None:
    """29 levels of `<<: [*a, *a]`: 2**29 nodes if expanded; PyYAML took 32 s at 22."""
    path = tmp_path / "bomb.yaml"
    path.write_text(MERGE_BOMB)
    start = time.monotonic()
    result = run_cli("check", str(path))
    assert time.monotonic() - start < 30
    assert result.returncode == 1
    assert "SM001 the document expands to more than 200000 nodes" in result.stdout


def test_merge_keys_follow_yaml_semantics(write: Callable[..., Path]) -> None:
    """Own keys win over merged ones, the first source over later ones; no false duplicate."""
    path = write(
        """
        base: &base {description: base, final: false}
        other: &other {description: other, next: later}
        machine: a.b
        initial: x
        states:
          x:
            <<: [*base, *other]
            final: true
        """
    )
    doc = read_document(path)
    assert doc.findings == ()
    assert doc.data["states"]["x"] == {"description": "base", "final": True, "next": "later"}


def test_scalar_length_is_bounded(write: Callable[..., Path]) -> None:
    path = write(f"machine: a.b\ninitial: x\nstates:\n  x: {{description: {'a' * 20_000}}}\n")
    (finding,) = read_document(path).findings
    assert str(finding).endswith(
        "machine.yaml:4:20: SM001 a value of 20000 characters (at most 16384); "
        "is this a definition?"
    )


YAML11 = """\
machine: switch.power
initial: "off"
states:
  "off": {}
  on: {}
  yes: {final: yes}
  no: {final: true}
aliases:
  y: "on"
  n: "off"
transitions:
  - {trigger: switch_on, source: "off", dest: "on"}
  - {trigger: confirm, source: "on", dest: "yes"}
  - {trigger: refuse, source: "on", dest: "no"}
"""


def test_yaml_1_1_keys_are_the_names_they_spell(write: Callable[..., Path]) -> None:
    path = write(YAML11)
    result = run_cli("check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(
        run_cli("show", "switch.power", "--format", "json", "--path", str(path)).stdout
    )
    assert [s["name"] for s in shown["states"]] == ["off", "on", "yes", "no"]
    assert [s["final"] for s in shown["states"]] == [False, False, True, True]
    assert sorted(shown["aliases"]) == ["n", "y"]
    lc = lifecycle("switch.power", paths=[path])
    assert lc.check_sequence(["off", "y", "yes"]) is None


def test_a_quoted_yes_is_not_a_boolean(write: Callable[..., Path]) -> None:
    path = write(YAML11.replace("{final: yes}", '{final: "yes"}'))
    result = run_cli("check", str(path))
    assert result.returncode == 1
    assert "machine.yaml:6:16: SM011 'states.yes.final' must be true or false, not text" in (
        result.stdout
    )


def _both_paths(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """The findings of checking `path`, read by libyaml and by the pure-Python parser."""
    context = load_registry([bundled_dir()]).machines
    fast = [str(f) for f in load_registry([path], context=context).findings]
    with monkeypatch.context() as patch:
        patch.setattr(yamldoc, "FAST", None)
        pure = [str(f) for f in load_registry([path], context=context).findings]
    return fast, pure


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    if not yaml.__with_libyaml__:
        if os.environ.get("CI") == "true":
            pytest.fail("PyYAML was built without libyaml: the fast reader is not tested")
        pytest.skip("PyYAML was built without libyaml")
    assert yamldoc.FAST is yaml.CSafeLoader


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_both_parsers_give_the_same_findings_on_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(CORPUS[name])
    fast, pure = _both_paths(path, monkeypatch)
    assert fast == pure
    assert read_document(path) == read_document(path, fast=False)


@pytest.mark.parametrize("path", sorted(bundled_dir().rglob("*.yaml")), ids=lambda p: p.stem)
def test_both_parsers_read_the_bundled_machines_alike(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_document(path) == read_document(path, fast=False)
    fast, pure = _both_paths(path, monkeypatch)
    assert fast == pure
