"""Which files `check` reads below the paths it is given, and what it does with files it
cannot read: never a wait, never a silent skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from statemachine.io.files import UnreadablePath, definition_files
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


def _without_root_powers() -> list[str]:
    """A command prefix that runs without the powers that let root read any folder."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("running as root without setpriv: cannot make a folder unreadable")
        pytest.skip("running as root and setpriv (util-linux) is missing")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_folder_is_exit_2_with_its_name(tmp_path: Path) -> None:
    """Root reads a mode-000 folder; setpriv drops the capabilities that allow it."""
    (tmp_path / "good.yaml").write_bytes(BROKEN)
    locked = tmp_path / "sub" / "locked"
    locked.mkdir(parents=True)
    (locked / "hidden.yaml").write_bytes(BROKEN)
    locked.chmod(0)
    try:
        result = subprocess.run(
            [*_without_root_powers(), sys.executable, "-m", "statemachine", "check", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert str(locked) in result.stderr and "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr
