"""Names as providers spell them, derived triggers, several entry states: through the CLI."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

from statemachine.checks.references import Vocabulary
from tests.conftest import run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _show(name: str, path: Path) -> dict:
    result = run_cli("show", name, "--format", "json", "--path", str(path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_provider_spellings_check_clean_and_show_exactly(write):
    path = write(
        """
        machine: 8x8.call-leg
        initial: [call.initiated, ringing ]
        states:
          call.initiated: {}
          ringing: {}
          in-progress: {}
          no answer: {final: true}
          Completed: {final: true}
        transitions:
          - {source: [call.initiated, ringing], dest: in-progress}
          - {source: ringing, dest: no answer}
          - {source: in-progress, dest: Completed}
    """.replace("ringing ]", "ringing]")
    )
    result = run_cli("check", "--strict", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    data = _show("8x8.call-leg", path)
    assert [s["name"] for s in data["states"]] == [
        "call.initiated",
        "ringing",
        "in-progress",
        "no answer",
        "Completed",
    ]
    assert data["initial"] == "call.initiated"
    assert data["entries"] == ["call.initiated", "ringing"]
    triggers = {(t["source"], t["dest"]): t["trigger"] for t in data["transitions"]}
    assert triggers == {
        ("call.initiated", "in-progress"): "in_progress",
        ("ringing", "in-progress"): "in_progress",
        ("ringing", "no answer"): "no_answer",
        ("in-progress", "Completed"): "Completed",
    }


def test_derived_triggers_are_identifiers_unique_and_free_of_collisions(write):
    path = write("""
        machine: a.b
        initial: a
        states:
          a: {}
          in-progress: {}
          in_progress: {}
          "8x8": {}
          in: {}
          "...": {final: true}
        transitions:
          - {trigger: go, source: a, dest: in-progress}
          - {source: in-progress, dest: in_progress}
          - {source: a, dest: in-progress}
          - {source: in_progress, dest: "8x8"}
          - {source: "8x8", dest: in}
          - {source: in, dest: "..."}
          - {trigger: in_progress_2, source: a, dest: "..."}
    """)
    data = _show("a.b", path)
    derived = {t["dest"]: t["trigger"] for t in data["transitions"] if t["source"] != "a"}
    assert derived == {
        "in_progress": "in_progress",  # first come, first served
        "8x8": "reach_8x8",
        "in": "in_",
        "...": "reach",
    }
    from_a = {t["trigger"] for t in data["transitions"] if t["source"] == "a"}
    # `in-progress` needs a name other than `in_progress` (taken) and `in_progress_2` (given)
    assert from_a == {"go", "in_progress_3", "in_progress_2"}
    findings = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
    assert [f["code"] for f in findings] == ["SM041"], findings  # the two in-progress spellings


def test_given_triggers_stay_identifiers(write):
    path = write("""
        machine: a.b
        initial: a
        states: {a: {}, b: {final: true}}
        transitions:
          - {trigger: go-on, source: a, dest: b}
    """)
    findings = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
    assert [(f["code"], f["line"]) for f in findings] == [("SM013", 5)], findings
    assert "Python identifier" in findings[0]["message"]


def test_control_characters_are_an_error_anywhere_in_a_name(write):
    for name in ('"b\\n"', '"b\\tc"', '"\\x1bb"', '" b"', '"b "'):
        path = write(f"machine: a.b\ninitial: a\nstates:\n  a: {{}}\n  {name}: {{final: true}}\n")
        findings = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
        assert [(f["code"], f["line"], f["col"]) for f in findings] == [("SM013", 5, 3)], name


def test_an_alias_for_a_resembling_state_is_not_confusable(write):
    path = write("""
        machine: a.b
        initial: ringing
        states: {ringing: {}, no-answer: {final: true}}
        transitions: [{source: ringing, dest: no-answer}]
        aliases: {no_answer: no-answer, NO-ANSWER: no-answer}
    """)
    result = run_cli("check", "--strict", str(path))
    assert result.returncode == 0, result.stdout


def test_reachability_counts_every_entry_state(write):
    path = write("""
        machine: a.b
        initial: [queued, receiving]
        states:
          queued: {}
          receiving: {}
          sent: {final: true}
          received: {final: true}
          lost: {final: true}
        transitions:
          - {source: queued, dest: sent}
          - {source: receiving, dest: received}
    """)
    findings = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
    assert [(f["code"], f["line"]) for f in findings] == [("SM030", 8)], findings
    assert "any of the entry states 'queued', 'receiving'" in findings[0]["message"]


def test_suggestions_stay_good_among_many_names():
    rng = random.Random(7)
    letters = string.ascii_lowercase + "-_."
    names = ["".join(rng.choices(letters, k=rng.randint(6, 14))) for _ in range(3000)]
    vocabulary = Vocabulary(names)
    typos = 0
    for name in names[:300]:
        i = rng.randrange(len(name))
        typos += vocabulary.nearest(name[:i] + "#" + name[i + 1 :]) == name
    assert typos >= 290
    assert vocabulary.nearest("zzzzzzzzzzzzzzzzzzzzzzzz") is None


def test_examples_check_clean_and_strict():
    for flags in ((), ("--strict",)):
        result = run_cli("check", *flags, str(EXAMPLES))
        assert result.returncode == 0, result.stdout
        assert result.stdout == ""
        assert "4 file(s) checked" in result.stderr


def test_examples_validate_real_histories():
    histories = [
        ("twilio.call", ["queued", "ringing", "in-progress", "completed"], 0),
        ("twilio.call", ["ringing", "no-answer"], 0),
        ("twilio.call", ["completed", "ringing"], 1),
        ("twilio.message", ["accepted", "queued", "sending", "sent", "delivered", "read"], 0),
        ("twilio.message", ["scheduled", "canceled"], 0),
        ("twilio.message", ["receiving", "received"], 0),
        ("twilio.message", ["delivered", "sending"], 1),
        ("plivo.call", ["ringing", "in-progress", "completed"], 0),
        ("plivo.call", ["ringing", "cancel"], 0),
        (
            "telnyx.call-control",
            ["call.initiated", "call.answered", "call.bridged", "call.hangup"],
            0,
        ),
        ("telnyx.call-control", ["call.hangup", "call.answered"], 1),
    ]
    for name, statuses, code in histories:
        result = run_cli("validate", name, *statuses, "--path", str(EXAMPLES))
        assert result.returncode == code, (name, statuses, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
