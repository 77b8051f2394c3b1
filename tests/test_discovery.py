"""Which files `check` reads below the paths it is given, and what it does with files it
cannot read: never a wait, never a silent skip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from statemachine.io.files import UnreadablePath, definition_files
from statemachine.io.index import machine_index
from statemachine.runtime import DefinitionError, definition, lifecycle
from tests.conftest import run_cli

BROKEN = b"machine: [\n"  # one SM001 finding: shows that the file was read


def _checked(*paths: Path) -> list[str]:
    """The files `check` reported (each holds one broken line), relative to their folder."""
    result = run_cli("check", "--format", "json", *map(str, paths))
    assert "Traceback" not in result.stderr, result.stderr
    return sorted({str(f["file"]) for f in json.loads(result.stdout)})


def test_yaml_suffixes_in_any_case_and_skipped_folders(tmp_path: Path) -> None:
    read = ["a.yaml", "b.yml", "c.YAML", "d.Yml", "sub/e.yaml", "sub/deeper/f.yml"]
    skipped = [
        ".hidden.yaml",
        "notes.txt",
        ".git/g.yaml",
        ".hidden/h.yaml",
        ".venv/i.yaml",
        "venv/j.yaml",
        "env/k.yaml",  # a virtual environment by its pyvenv.cfg
        "node_modules/pkg/l.yaml",
    ]
    for name in read + skipped:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(BROKEN)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert _checked(tmp_path) == sorted(str(tmp_path / name) for name in read)


def test_skipped_folders_are_read_when_named(tmp_path: Path) -> None:
    for name in (".hidden/a.yaml", "venv/b.yaml", "node_modules/c.yaml", ".hidden/.git/d.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(BROKEN)
    named = [tmp_path / ".hidden", tmp_path / "venv", tmp_path / "node_modules"]
    expected = [".hidden/a.yaml", "node_modules/c.yaml", "venv/b.yaml"]
    assert _checked(*named) == [str(tmp_path / name) for name in expected]


@pytest.mark.parametrize("where", ["named", "found"])
def test_a_fifo_is_a_finding_not_a_wait(tmp_path: Path, where: str) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    target = fifo if where == "named" else tmp_path
    result = run_cli("check", str(target))  # run_cli times out (fails) if this blocks
    assert result.returncode == 1, result.stderr
    assert f"{fifo}:1:1: SM001 a FIFO (named pipe) is not a definition file" in result.stdout


def test_a_folder_named_like_a_definition_is_walked(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").mkdir()
    (tmp_path / "odd.yaml" / "inner.yml").write_bytes(BROKEN)
    assert _checked(tmp_path) == [str(tmp_path / "odd.yaml" / "inner.yml")]


def test_links_to_folders_are_followed_once(tmp_path: Path) -> None:
    """A link back to an ancestor (a loop) or to a folder already walked adds nothing."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yaml").write_bytes(BROKEN)
    (tmp_path / "a" / "up").symlink_to(tmp_path)
    (tmp_path / "again").symlink_to(tmp_path / "a")
    assert list(definition_files([tmp_path])) == [tmp_path / "a" / "x.yaml"]


def test_a_dangling_link_named_like_a_definition_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_bytes(BROKEN)
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert str(tmp_path / "gone.yaml") in result.stderr
    assert "Traceback" not in result.stderr


def test_a_link_loop_below_a_named_folder_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    with pytest.raises(UnreadablePath) as raised:
        list(definition_files([tmp_path]))
    assert raised.value.filename == str(tmp_path / "loop.yaml")
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert str(tmp_path / "loop.yaml") in result.stderr


@pytest.mark.parametrize("what", ["folder", "file"])
def test_an_unreadable_folder_or_file_is_exit_2_with_its_name(tmp_path: Path, what: str) -> None:
    """Root reads mode-000 paths; setpriv drops the capabilities that allow it."""
    (tmp_path / "good.yaml").write_bytes(BROKEN)
    (tmp_path / "sub").mkdir()
    locked = tmp_path / "sub" / ("locked" if what == "folder" else "locked.yaml")
    if what == "folder":
        locked.mkdir()
        (locked / "inside.yaml").write_bytes(BROKEN)
    else:
        locked.write_bytes(BROKEN)
    locked.chmod(0)
    try:
        result = run_cli("check", str(tmp_path), as_user=True)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{locked}: Permission denied" in result.stderr
    assert "Traceback" not in result.stderr


USER_MACHINE = """\
machine: user.call
initial: ringing
states:
  ringing: {}
  answered: {final: true}
  missed: {final: true}
transitions:
  - {trigger: answer, source: ringing, dest: answered}
  - {trigger: miss, source: ringing, dest: missed}
mappings:
  outcome:
    values: canonical.call
    total: final
    entries: {answered: connected, missed: LABEL}
"""


def test_lifecycle_loads_one_definition_and_what_it_refers_to(tmp_path: Path) -> None:
    """A broken file beside it is never read; its reference to a bundled machine is checked."""
    (tmp_path / "call.yaml").write_text(USER_MACHINE.replace("LABEL", "no_answer"))
    os.mkfifo(tmp_path / "pipe.yaml")  # reading it would be a finding in `check`
    (tmp_path / "broken.yaml").write_bytes(BROKEN)
    lc = lifecycle("user.call", paths=[tmp_path])
    assert lc.check_sequence(["ringing", "answered"]) is None
    with pytest.raises(DefinitionError, match=r"unknown machine 'user\.cal'; did you mean"):
        lifecycle("user.cal", paths=[tmp_path])


def test_lifecycle_refuses_errors_found_against_its_references(tmp_path: Path) -> None:
    (tmp_path / "call.yaml").write_text(USER_MACHINE.replace("LABEL", "no_such_outcome"))
    with pytest.raises(DefinitionError, match=r"call.yaml:\d+:\d+: SM061 .*no_such_outcome"):
        lifecycle("user.call", paths=[tmp_path])


def test_the_index_follows_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "call.yaml"
    path.write_text(USER_MACHINE.replace("LABEL", "no_answer"))
    assert definition("user.call", [tmp_path]).states["ringing"].description == ""
    path.write_text(
        USER_MACHINE.replace("LABEL", "no_answer").replace(
            "ringing: {}", "ringing: {description: new}"
        )
    )
    assert definition("user.call", [tmp_path]).states["ringing"].description == "new"
    path.write_text(USER_MACHINE.replace("user.call", "user.renamed").replace("LABEL", "no_answer"))
    assert definition("user.renamed", [tmp_path]).name == "user.renamed"
    with pytest.raises(DefinitionError, match=r"unknown machine 'user\.call'"):
        definition("user.call", [tmp_path])


def test_a_name_the_index_cannot_read_from_its_line_is_still_found(tmp_path: Path) -> None:
    """A quoted key, or a `machine:` value continued on the next line: the file is parsed."""
    text = USER_MACHINE.replace("LABEL", "no_answer")
    (tmp_path / "a.yaml").write_text(text.replace("machine: user.call\n", '"machine": user.call\n'))
    assert definition("user.call", [tmp_path]).name == "user.call"
    (tmp_path / "a.yaml").write_text(text.replace("machine: user.call", "machine: user\n  .call"))
    assert list(machine_index([tmp_path])) == ["user .call"]  # YAML folds the two lines
    with pytest.raises(DefinitionError, match="unknown machine 'user'"):
        definition("user", [tmp_path])


def test_definition_of_a_missing_path_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"cannot read .*nowhere: No such file"):
        definition("user.call", [tmp_path / "nowhere"])
