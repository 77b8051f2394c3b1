"""`[tool.statemachine]` in a user's pyproject.toml, and `--version`, through the real CLI."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from statemachine.io.config import find_config
from tests.conftest import run_cli

CALL = (
    "machine: acme.call\ninitial: ringing\nstates:\n  ringing: {}\n  done: {final: true}\n"
    "transitions:\n  - {source: ringing, dest: done}\n"
)


def _project(
    root: Path,
    table: str = '[tool.statemachine]\nmachines = ["lifecycles"]\ndiagrams = "docs/lifecycles"\n',
) -> Path:
    (root / "lifecycles").mkdir(parents=True)
    (root / "lifecycles" / "call.yaml").write_text(CALL)
    (root / "pyproject.toml").write_text('[project]\nname = "acme"\n\n' + table)
    return root


def test_found_from_a_subfolder_upwards(tmp_path):
    root = _project(tmp_path)
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 90\n")
    config = find_config(root / "src" / "pkg")
    assert config is not None
    assert config.root == root.resolve()
    assert config.machines == (root.resolve() / "lifecycles",)
    assert config.diagrams == root.resolve() / "docs" / "lifecycles"
    assert find_config(tmp_path.parent) is None or find_config(tmp_path.parent).root != root


def test_commands_without_a_path_use_the_configured_folders(tmp_path):
    root = _project(tmp_path)
    listed = run_cli("list", cwd=root / "lifecycles")
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["acme.call"]
    assert "using " in listed.stderr and "lifecycles" in listed.stderr
    assert "pyproject.toml" in listed.stderr
    checked = run_cli("check", cwd=root)
    assert checked.returncode == 0, checked.stdout
    assert "1 file(s) checked" in checked.stderr
    # bundled machines stay available by name beside the user's own
    shown = run_cli("show", "dialnexa.call", "--format", "json", cwd=root)
    assert json.loads(shown.stdout)["name"] == "dialnexa.call"


def test_without_configuration_the_bundled_machines_are_used(tmp_path):
    result = run_cli("list", cwd=tmp_path)
    assert result.returncode == 0
    assert "dialnexa.call" in result.stdout
    assert "using the bundled machines" in result.stderr


def test_a_users_machine_with_a_bundled_name_is_a_finding(tmp_path):
    root = _project(tmp_path)
    (root / "lifecycles" / "call.yaml").write_text(CALL.replace("acme.call", "dialnexa.call"))
    result = run_cli("check", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert [f["code"] for f in json.loads(result.stdout)] == ["SM081"]


def test_named_files_are_checked_with_the_configured_tree_as_context(tmp_path):
    root = _project(tmp_path)
    outcome = root / "lifecycles" / "outcome.yaml"
    outcome.write_text(
        "machine: acme.outcome\ninitial: x\nstates:\n  x: {final: true}\nmappings:\n"
        "  by_call: {keys: acme.call, total: final, entries: {don: ok}}\n"
    )
    (root / "lifecycles" / "broken.yaml").write_text("machine: acme.broken\n")
    result = run_cli("check", "--format", "json", "lifecycles/outcome.yaml", cwd=root)
    findings = json.loads(result.stdout)
    assert {(f["file"], f["code"]) for f in findings} == {
        ("lifecycles/outcome.yaml", "SM061"),
        ("lifecycles/outcome.yaml", "SM062"),
    }
    assert "did you mean 'done'" in " ".join(f["message"] for f in findings)
    (root / "compose.yml").write_text("services: {}\n")
    ignored = run_cli("check", "--only-configured", "compose.yml", cwd=root)
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr


def test_a_broken_configuration_is_a_usage_error(tmp_path):
    _project(tmp_path, '[tool.statemachine]\nmachines = "lifecycles"\ndiagram = "x"\n')
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml: [tool.statemachine] has unknown key(s) diagram" in result.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.statemachine\n")
    result = run_cli("list", cwd=tmp_path)
    assert result.returncode == 2 and "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"statemachine {version('statemachine')}"
