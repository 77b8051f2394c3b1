"""Every rule code, each with a minimal bad definition: code, line and column asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statemachine.io.registry import RULES, bundled_dir
from statemachine.model.coupling import CODES
from tests.conftest import run_cli

# (code, definition, line, col, words the message must contain)
CASES = [
    ("SM001", "machine: [unclosed\n", 2, 1, ["invalid YAML"]),
    (
        "SM002",
        """
machine: a.b
initial: x
states:
  x: {final: true}
  x: {}
""",
        5,
        3,
        ["duplicate state 'x'", "line 4"],
    ),
    (
        "SM010",
        """
machine: a.b
initial: x
states:
  x: {final: true}
transitons: []
""",
        5,
        1,
        ["unknown key 'transitons'", "did you mean 'transitions'", "allowed:"],
    ),
    (
        "SM011",
        """
machine: a.b
initial: x
states:
  x: {final: yes please}
""",
        4,
        14,
        ["'states.x.final' must be true or false, not text"],
    ),
    (
        "SM012",
        """
initial: x
states:
  x: {final: true}
""",
        1,
        1,
        ["needs the key 'machine'"],
    ),
    (
        "SM013",
        """
machine: a.b
initial: x
states:
  x: {final: true, evidence: {documented: a, inferred: b}}
""",
        4,
        30,
        ["more than one kind"],
    ),
    (
        "SM014",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {trigger: go, source: x, dest: y, after: os.system}
""",
        7,
        39,
        ["callback key 'after'", "definitions are data"],
    ),
    (
        "SM020",
        """
machine: a.b
initial: x
states:
  x: {}
  done: {final: true}
transitions:
  - {trigger: go, source: x, dest: dnoe}
""",
        7,
        36,
        ["dest 'dnoe' is not a state", "did you mean 'done'"],
    ),
    (
        "SM021",
        """
machine: a.b
initial: strat
states:
  start: {final: true}
""",
        2,
        10,
        ["initial state 'strat'", "did you mean 'start'"],
    ),
    (
        "SM012",
        """
machine: a.b
states:
  start: {final: true}
""",
        1,
        1,
        ["needs the key 'initial'"],
    ),
    (
        "SM022",
        """
machine: a.b
initial: x
states:
  x: {final: true, groups: [wating]}
""",
        4,
        3,
        ["group 'wating'"],
    ),
    (
        "SM023",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {trigger: go, source: x, dest: y, conditions: [is_ready]}
""",
        7,
        51,
        ["condition 'is_ready' is not a declared guard"],
    ),
    (
        "SM024",
        """
machine: a.b
initial: x
guards:
  spare: never used
states:
  x: {final: true}
""",
        4,
        3,
        ["guard 'spare'"],
    ),
    (
        "SM025",
        """
machine: a.b
initial: x
states:
  x: {final: true}
settings:
  retry_count: {type: integer, nonzero_requires: [retry_intervall]}
  retry_interval: {type: duration}
""",
        6,
        3,
        ["requires 'retry_intervall'", "did you mean 'retry_interval'"],
    ),
    (
        "SM030",
        """
machine: a.b
initial: x
states:
  x: {final: true}
  island: {final: true}
""",
        5,
        3,
        ["'island' cannot be reached"],
    ),
    (
        "SM031",
        """
machine: a.b
initial: x
states:
  x: {}
  loop: {}
  done: {final: true}
transitions:
  - {trigger: a, source: x, dest: loop}
  - {trigger: b, source: loop, dest: loop}
  - {trigger: c, source: x, dest: done}
""",
        5,
        3,
        ["from non-final state 'loop' no final state can be reached"],
    ),
    (
        "SM032",
        """
machine: a.b
initial: x
states:
  x: {}
  done: {final: true}
transitions:
  - {trigger: finish, source: x, dest: done}
  - {trigger: reopen, source: done, dest: x}
""",
        8,
        31,
        ["leaves final state 'done'"],
    ),
    (
        "SM033",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
  z: {final: true}
transitions:
  - {trigger: go, source: x, dest: y}
  - {trigger: go, source: x, dest: z}
""",
        8,
        15,
        ["no condition to choose"],
    ),
    (
        "SM034",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {trigger: go, source: x, dest: y}
  - {trigger: go, source: [x], dest: y}
""",
        8,
        28,
        ["repeats the one at line 7"],
    ),
    (
        "SM040",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {trigger: is_status_y, source: x, dest: y}
""",
        7,
        15,
        ["collides with the test for state 'y'"],
    ),
    (
        "SM040",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {trigger: class, source: x, dest: y}
""",
        7,
        15,
        ["Python keyword"],
    ),
    (
        "SM040",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {trigger: __init__, source: x, dest: y}
""",
        7,
        15,
        ["dunder"],
    ),
    (
        "SM041",
        """
machine: a.b
initial: ringing
states:
  ringing: {}
  no-answer: {final: true}
  no_answer: {final: true}
transitions:
  - {source: ringing, dest: no-answer}
  - {source: ringing, dest: no_answer}
""",
        6,
        3,
        ["state 'no_answer' differs from state 'no-answer' only in case or punctuation"],
    ),
    (
        "SM042",
        """
machine: a.b
initial: queued
states:
  queued: {}
  \u0441ancelled: {final: true}
transitions:
  - {source: queued, dest: \u0441ancelled}
""",
        5,
        3,
        ["mixes scripts (Cyrillic, Latin)", "(Cyrillic)"],
    ),
    (
        "SM050",
        """
machine: a.b
initial: x
states:
  x: {final: true}
aliases:
  old: y
""",
        6,
        8,
        ["points at 'y'"],
    ),
    (
        "SM051",
        """
machine: a.b
initial: x
states:
  x: {final: true}
acknowledgements:
  x: create response
""",
        6,
        3,
        ["acknowledgement 'x' has the name of a state"],
    ),
    (
        "SM060",
        """
machine: a.b
initial: x
states:
  x: {final: true}
mappings:
  route: {keys: other.machine, entries: {}}
""",
        6,
        3,
        ["machine 'other.machine', which is not loaded"],
    ),
    (
        "SM061",
        """
machine: a.b
initial: x
states:
  x: {final: true}
mappings:
  route:
    entries:
      x: ok
      y: bad
""",
        9,
        7,
        ["maps 'y', which is not a state"],
    ),
    (
        "SM061",
        """
machine: a.b
initial: x
states:
  x: {final: true}
mappings:
  route:
    labels: {ok: fine}
    entries:
      x: okay
""",
        9,
        7,
        ["'okay', which is not one of its `labels`"],
    ),
    (
        "SM062",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
  z: {final: true}
transitions:
  - {trigger: a, source: x, dest: y}
  - {trigger: b, source: x, dest: z}
mappings:
  outcome:
    total: final
    entries: {y: ok}
""",
        11,
        3,
        ["leaves out z"],
    ),
    (
        "SM070",
        """
machine: a.b
sources: [{id: "1", title: Doc}]
initial: x
states:
  x: {final: true}
""",
        5,
        3,
        ["state 'x' has no evidence"],
    ),
    (
        "SM090",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
related:
  dialnexa.cal: {key: b_id}
""",
        9,
        3,
        ["related machine 'dialnexa.cal' is not loaded", "did you mean 'dialnexa.call'"],
    ),
    (
        "SM091",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
related:
  a.b: {key: b_id}
""",
        9,
        3,
        ["related to itself", "top-level `rules`"],
    ),
    (
        "SM092",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
related:
  dialnexa.call:
    key: b_id
    rules:
      - {rule: blocks_start, states: [y], child_states: [creatd]}
""",
        12,
        57,
        ["child_states 'creatd' is not a state of dialnexa.call", "did you mean 'created'"],
    ),
    (
        "SM093",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
related:
  dialnexa.call:
    key: b_id
    rules:
      - {rule: counts, mapping: campaign_countr}
""",
        12,
        33,
        [
            "mapping 'campaign_countr' is not a mapping of dialnexa.call",
            "did you mean 'campaign_counter'",
        ],
    ),
    (
        "SM094",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
mappings:
  m: {labels: {a: A, b: B}, entries: {y: [a, b]}}
rules:
  - {rule: decides, field: r, mapping: m, decisions: {y: {v: c}}}
""",
        11,
        54,
        ["decision y: v gives 'c', which is not a label of mapping 'm'"],
    ),
    (
        "SM095",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
related:
  dialnexa.transfer_leg:
    key: b_id
    rules:
      - {rule: children_agree, states: [y], child_states: [winner]}
""",
        12,
        16,
        ["children_agree rule needs `quantity`"],
    ),
    (
        "SM096",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
related:
  dialnexa.call:
    key: b_id
    rules:
      - {rule: requires_final, states: [y], quantity: all}
""",
        12,
        55,
        ["requires_final rule does not take `quantity`; remove it"],
    ),
    (
        "SM097",
        """
machine: a.b
initial: x
states:
  x: {}
  y: {final: true}
transitions:
  - {source: x, dest: y}
mappings:
  m: {entries: {y: a}}
rules:
  - {rule: requires_final, states: [y]}
""",
        11,
        12,
        ["requires_final rule judges a parent against its children", "`related:"],
    ),
    (
        "SM098",
        """
machine: a.b
sources: [{id: "1", title: Doc}]
initial: x
states:
  x: {evidence: {inferred: i}}
  y: {final: true, evidence: {inferred: i}}
transitions:
  - {source: x, dest: y, evidence: {inferred: i}}
related:
  dialnexa.call: {key: b_id}
""",
        10,
        3,
        ["relation to 'dialnexa.call' has no evidence"],
    ),
]


@pytest.mark.parametrize(
    ("code", "text", "line", "col", "words"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_rule_reports_code_line_and_column(write, code, text, line, col, words):
    path = write(text.lstrip("\n"))
    result = run_cli("check", "--format", "json", str(path))
    findings = json.loads(result.stdout)
    matching = [f for f in findings if f["code"] == code]
    assert matching, findings
    assert (matching[0]["line"], matching[0]["col"]) == (line, col), matching
    for word in words:
        assert word in matching[0]["message"], matching[0]["message"]
    severity = RULES[code].severity
    assert matching[0]["severity"] == str(severity)
    assert result.returncode == (1 if any(f["severity"] == "error" for f in findings) else 0)
    assert "Traceback" not in result.stderr


def test_every_rule_has_a_case_and_a_docstring():
    tested = {case[0] for case in CASES} | {"SM080", "SM081"} | set(CODES.values())
    assert tested == set(RULES), set(RULES) ^ tested
    for rule in RULES.values():
        assert len(rule.doc) > 20, rule.code


def test_sm080_duplicate_machine_across_files(write):
    write("machine: a.b\ninitial: x\nstates:\n  x: {final: true}\n", "one.yaml")
    second = write("machine: a.b\ninitial: x\nstates:\n  x: {final: true}\n", "sub/two.yml")
    result = run_cli("check", str(second.parent.parent))
    assert result.returncode == 1
    assert "two.yml:1:10: SM080 machine 'a.b' is already defined in" in result.stdout


def test_cross_machine_mapping_resolves_against_machines_loaded_together(write, tmp_path):
    write(
        "machine: a.call\ninitial: x\nstates:\n  x: {}\n  done: {final: true}\n"
        "transitions:\n  - {trigger: end, source: x, dest: done}\n",
        "call.yaml",
    )
    write(
        "machine: a.route\ninitial: r\nstates:\n  r: {final: true}\nmappings:\n"
        "  branch:\n    keys: a.call\n    total: true\n    entries: {done: DONE}\n",
        "route.yaml",
    )
    result = run_cli("check", "--format", "json", str(tmp_path))
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ["SM062"], findings
    assert "leaves out x" in findings[0]["message"]


def test_strict_makes_warnings_errors(write):
    path = write("machine: a.b\ninitial: x\nguards: {g: unused}\nstates:\n  x: {final: true}\n")
    assert run_cli("check", str(path)).returncode == 0
    strict = run_cli("check", "--strict", str(path))
    assert strict.returncode == 1
    assert "SM024" in strict.stdout


def test_github_format(write):
    path = write("machine: a.b\ninitial: y\nstates:\n  x: {final: true}\n")
    result = run_cli("check", "--format", "github", str(path))
    assert result.returncode == 1
    assert f"::error file={path},line=2,col=10,title=SM021::" in result.stdout


def test_bundled_machines_are_clean():
    result = run_cli("check")
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    strict = run_cli("check", "--strict")
    assert strict.returncode == 0, strict.stdout


def test_users_mapping_may_refer_to_bundled_machines(write):
    path = write(
        "machine: acme.call\ninitial: ringing\nstates:\n  ringing: {}\n  done: {final: true}\n"
        "transitions:\n  - {trigger: end, source: ringing, dest: done}\nmappings:\n"
        "  outcome: {values: canonical.call, total: final, entries: {done: connectd}}\n"
    )
    result = run_cli("check", "--format", "json", str(path))
    findings = json.loads(result.stdout)
    assert [f["code"] for f in findings] == ["SM061"], findings
    assert "did you mean 'connected'" in findings[0]["message"]


def test_sm081_a_users_machine_may_not_take_a_bundled_name(write):
    path = write("machine: dialnexa.call\ninitial: x\nstates:\n  x: {final: true}\n")
    result = run_cli("check", "--format", "json", str(path))
    findings = json.loads(result.stdout)
    assert [(f["code"], f["line"], f["col"]) for f in findings] == [("SM081", 1, 10)], findings
    assert "has the name of a bundled machine" in findings[0]["message"]
    assert result.returncode == 1
    # the bundled machines checked as themselves are not a user's
    assert run_cli("check", "machines").returncode == 0


def test_sm081_a_copy_of_a_bundled_file_replaces_nothing(tmp_path: Path) -> None:
    """A checkout's `machines/` beside the package installed from it: its files are copies of
    the bundled ones, checked from elsewhere; a copy changed by one byte is a user's machine."""
    bundled = bundled_dir() / "dialnexa" / "call.yaml"
    copy = tmp_path / "call.yaml"
    copy.write_bytes(bundled.read_bytes())
    result = run_cli("check", "--format", "json", str(copy), cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout)) == (0, []), result.stderr
    copy.write_bytes(bundled.read_bytes() + b"\n")
    result = run_cli("check", "--format", "json", str(copy), cwd=tmp_path)
    assert [f["code"] for f in json.loads(result.stdout)] == ["SM081"], result.stdout


def test_github_format_escapes_every_field(tmp_path):
    path = tmp_path / "a,b:c%.yaml"
    path.write_text("machine: a.b\ninitial: '100%'\nstates:\n  x: {final: true}\n")
    result = run_cli("check", "--format", "github", str(path))
    line = result.stdout.strip()
    assert line.startswith(f"::error file={tmp_path}/a%2Cb%3Ac%25.yaml,line=2,col=10,title=SM021::")
    assert "initial state '100%25'" in line


def test_text_output_cannot_forge_a_finding_or_send_escapes(write):
    path = write(
        "machine: a.b\ninitial: x\nstates:\n  x: {}\n  y: {final: true}\ntransitions:\n"
        '  - {source: x, dest: "y\\ninjected.yaml:1:1: SM000 forged\\e[2J"}\n'
    )
    result = run_cli("check", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(f"{path}:") for line in lines), lines
    assert "\x1b" not in result.stdout
    assert "\\ninjected.yaml:1:1: SM000 forged\\x1b[2J" in result.stdout
    data = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
    (message,) = [f["message"] for f in data if f["code"] == "SM020"]
    assert "'y\ninjected.yaml:1:1: SM000 forged\x1b[2J'" in message  # JSON stays exact
