"""Every command of the README in a repository configured by `[tool.statemachine]`, without
`--path`: each finds the user's machine the same way, and a definition with errors is
reported with its findings by every command that loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

CALL = """\
machine: acme.call
initial: ringing
states:
  ringing: {}
  answered: {}
  done: {final: true}
transitions:
  - {source: ringing, dest: answered}
  - {source: [ringing, answered], dest: done}
mappings:
  outcome:
    values: canonical.call
    total: final
    entries: {done: connected}
"""

EVENTS = "id,status,seq\nc1,ringing,1\nc1,answered,2\nc1,done,3\nc2,ringing,1\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "lifecycles").mkdir()
    (tmp_path / "lifecycles" / "call.yaml").write_text(CALL)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "acme"\n\n[tool.statemachine]\nmachines = ["lifecycles"]\n'
        'diagrams = "docs/lifecycles"\n'
    )
    (tmp_path / "events.csv").write_text(EVENTS)
    return tmp_path


#: every command line of the README's "Command line" list that names a machine or a folder,
#: with what its output must hold to show it used the configured `acme.call`
COMMANDS = [
    (["check"], 0, "1 file(s) checked"),
    (["list"], 0, "acme.call"),
    (["show", "acme.call"], 0, "acme.call:"),
    (["show", "acme.call", "--format", "json"], 0, '"name": "acme.call"'),
    (["validate", "acme.call", "ringing", "answered", "done"], 0, "answered -> done"),
    (["validate", "acme.call", "--events", "events.csv"], 0, "2 entities"),
    (["validate", "acme.call", "--events", "events.csv", "--format", "json"], 0, "acme.call"),
    (["replay", "acme.call", "events.csv"], 0, "c1: done"),
    (["replay", "acme.call", "events.csv", "--format", "json"], 0, '"after": "done"'),
    (["paths", "acme.call"], 0, "answered"),
    (["paths", "acme.call", "--format", "json"], 0, "answered"),
    (["render", "--format", "dot"], 0, "acme/call.dot"),
    (["render", "--check", "--format", "dot"], 0, ""),
    (["render", "acme.call", "--path", "ringing,answered", "--format", "dot"], 0, "-path.dot"),
    (["audit", "acme.call", "events.csv"], 0, "acme.call: 4 events"),
    (["audit", "acme.call", "events.csv", "--format", "json"], 0, '"machine": "acme.call"'),
    (["audit", "acme.call", "events.csv", "--engine", "python"], 0, "acme.call: 4 events"),
    (["sql", "acme.call", "--dialect", "duckdb"], 0, "answered"),
    (["sql", "acme.call", "--dialect", "postgres", "--enforce", "--table", "calls"], 0, "calls"),
]


def test_every_command_uses_the_configured_folders(repo: Path) -> None:
    for args, code, expected in COMMANDS:
        done = run_cli(*args, cwd=repo)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert expected in done.stdout + done.stderr, (args, done.stdout, done.stderr)
        assert "[tool.statemachine]" in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert (repo / "docs" / "lifecycles" / "acme" / "call.dot").is_file()


def test_a_bundled_machine_is_still_found_by_name_in_a_configured_repository(
    repo: Path,
) -> None:
    done = run_cli("validate", "dialnexa.call", "created", "sent", cwd=repo)
    assert done.returncode == 0, done.stderr
    unknown = run_cli("validate", "acme.cal", "ringing", cwd=repo)
    assert unknown.returncode == 2
    assert "unknown machine 'acme.cal'; did you mean 'acme.call'" in unknown.stderr


BROKEN = CALL.replace("answered: {}", "answered: {final: maybe-not}")


@pytest.mark.parametrize(
    "args",
    [
        ["show", "acme.call"],
        ["validate", "acme.call", "ringing", "done"],
        ["validate", "acme.call", "--events", "events.csv"],
        ["replay", "acme.call", "events.csv"],
        ["paths", "acme.call"],
        ["audit", "acme.call", "events.csv"],
        ["sql", "acme.call", "--dialect", "duckdb"],
        ["render", "acme.call", "--path", "ringing,done"],
        ["list"],
        ["render"],
    ],
)
def test_a_definition_with_errors_is_reported_with_its_findings(
    repo: Path, args: list[str]
) -> None:
    (repo / "lifecycles" / "call.yaml").write_text(BROKEN)
    done = run_cli(*args, cwd=repo)
    assert done.returncode in (1, 2), (done.stdout, done.stderr)
    assert "lifecycles/call.yaml:5:21: SM011" in done.stderr, done.stderr
    assert "unknown machine" not in done.stderr
    assert "Traceback" not in done.stderr
