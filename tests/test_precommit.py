"""The pre-commit hooks on a real `git commit` in a user's repository: the whole configured
tree is context, and only the files a commit changes are reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

CALL = """\
machine: acme.call
initial: ringing
states:
  ringing: {}
  in-progress: {}
  no-answer: {final: true}
  completed: {final: true}
transitions:
  - {source: ringing, dest: in-progress}
  - {source: ringing, dest: no-answer}
  - {source: in-progress, dest: completed}
"""

OUTCOME = """\
machine: acme.outcome
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - {source: open, dest: closed}
mappings:
  by_call:
    keys: acme.call
    total: final
    entries: {no-answer: retry, completed: done}
"""


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _hook_repository(tmp: Path) -> tuple[Path, str]:
    """This repository's working tree as a throwaway git repository (what a tagged release
    holds), so the hooks are installed from a local path whatever is committed here."""
    copy = tmp / "statemachine-hooks"
    skipped = shutil.ignore_patterns(
        ".git", ".venv", ".*_cache", "__pycache__", "*.egg-info", "build"
    )

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {"diagrams", "tests", "benchmarks"} if Path(folder) == REPO else set()
        return set(skipped(folder, names)) | (top & set(names))

    shutil.copytree(REPO, copy, ignore=ignore)
    assert _git(copy, "init", "-q").returncode == 0
    _git(copy, "add", "-A")
    assert _git(copy, "commit", "-q", "-m", "hooks").returncode == 0
    return copy, _git(copy, "rev-parse", "HEAD").stdout.strip()


def _user_repository(tmp: Path, hooks: list[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's repository with `[tool.statemachine]`, a mapping across two files, and
    this repository's `hooks` installed by pre-commit; one commit made."""
    repository, rev = _hook_repository(tmp)
    user = tmp / "user"
    (user / "lifecycles").mkdir(parents=True)
    (user / "pyproject.toml").write_text(
        '[tool.statemachine]\nmachines = ["lifecycles"]\ndiagrams = "docs/lifecycles"\n'
    )
    (user / "lifecycles" / "call.yaml").write_text(CALL)
    (user / "lifecycles" / "outcome.yaml").write_text(OUTCOME)
    (user / "compose.yml").write_text("services: {}\n")  # YAML that is not a definition
    ids = "".join(f"      - id: {hook}\n" for hook in hooks)
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repository}\n    rev: {rev}\n    hooks:\n{ids}"
    )
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp / "pre-commit-home"))
    assert _git(user, "init", "-q").returncode == 0
    _git(user, "add", "-A")
    assert _git(user, "commit", "-q", "-m", "start", "--no-verify").returncode == 0
    install = subprocess.run(
        [str(PRE_COMMIT), "install"], cwd=user, capture_output=True, text=True, check=False
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return user


needs_git = pytest.mark.skipif(
    shutil.which("git") is None and os.environ.get("CI") != "true", reason="git is not installed"
)


@needs_git
def test_hook_checks_a_one_file_commit_against_the_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user_repository(tmp_path, ["statemachine-check"], monkeypatch)
    # valid: one file changes; its mapping refers to a machine in the other file
    (user / "lifecycles" / "outcome.yaml").write_text(OUTCOME.replace("retry", "again"))
    _git(user, "add", "lifecycles/outcome.yaml")
    good = _git(user, "commit", "-m", "relabel")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "statemachine check" in good.stdout + good.stderr
    # invalid: the same file now maps a state the other file does not have
    (user / "lifecycles" / "outcome.yaml").write_text(OUTCOME.replace("no-answer", "no_answer"))
    _git(user, "add", "lifecycles/outcome.yaml")
    bad = _git(user, "commit", "-m", "typo")
    output = bad.stdout + bad.stderr  # git shows the hook's output on stderr
    assert bad.returncode != 0
    assert "lifecycles/outcome.yaml:12:15: SM061" in output, output
    assert "did you mean 'no-answer'" in output
    assert "call.yaml" not in output  # the tree is context, not reported
    assert "1 file(s) checked" in output


def _render(user: Path) -> None:
    drawn = run_cli("render", cwd=user)
    assert drawn.returncode == 0, drawn.stderr


@needs_git
def test_render_check_hook_fails_a_commit_whose_diagrams_are_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user_repository(tmp_path, ["statemachine-render-check"], monkeypatch)
    # a definition changes and its diagrams are drawn again: the hook passes
    (user / "lifecycles" / "call.yaml").write_text(CALL.replace("in-progress", "answered"))
    _render(user)
    assert (user / "docs" / "lifecycles" / "acme" / "call.svg").is_file()
    _git(user, "add", "-A")
    fresh = _git(user, "commit", "-m", "rename a state, with diagrams")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "statemachine render --check" in fresh.stdout + fresh.stderr
    # a definition changes, its diagrams do not: the hook names what is stale
    (user / "lifecycles" / "call.yaml").write_text(CALL.replace("in-progress", "talking"))
    _git(user, "add", "lifecycles/call.yaml")
    stale = _git(user, "commit", "-m", "rename a state again")
    output = stale.stdout + stale.stderr
    assert stale.returncode != 0, output
    assert "docs/lifecycles/acme/call.dot" in output, output
