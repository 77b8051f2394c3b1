"""The cache of schema verdicts: a remembered valid document skips validation, anything else
is validated, and no finding depends on the cache. Through the real CLI, with the cache
folder set through the environment."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import imported

CORPUS = Path(__file__).resolve().parent / "schema_corpus"

VALID = """
machine: test.cached
initial: queued
states:
  queued: {}
  done: {final: true}
transitions:
  - {source: queued, dest: done}
"""


def _check(cache: Path | None, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`statemachine check ARGS`, with the cache in `cache` (None: the cache off), and
    Python's import log on stderr (`-X importtime`) to show whether jsonschema was needed."""
    env = {k: v for k, v in os.environ.items() if k != "STATEMACHINE_NO_CACHE"}
    if cache is None:
        env["STATEMACHINE_NO_CACHE"] = "1"
    else:
        env["XDG_CACHE_HOME"] = str(cache)
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "statemachine", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def _validated(result: subprocess.CompletedProcess[str]) -> bool:
    return "jsonschema" in imported(result)


def _shown(result: subprocess.CompletedProcess[str]) -> tuple[int, str, list[str]]:
    """What a user sees: exit code, findings, and stderr without the import log."""
    said = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    return result.returncode, result.stdout, said


def _entries(cache: Path) -> list[str]:
    return (cache / "statemachine" / "schema-passed").read_text(encoding="ascii").split()


def test_a_remembered_valid_file_checks_clean_without_validating(
    tmp_path: Path, write: Callable[..., Path]
) -> None:
    path = write(VALID)
    cache = tmp_path / "cache"
    first = _check(cache, str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stdout
    assert _validated(first)
    remembered = _entries(cache)  # the file's verdict and those of the bundled machines
    assert len(remembered) == len(set(remembered)) > 1
    second = _check(cache, str(path), cwd=tmp_path)
    assert not _validated(second)
    assert _shown(second) == _shown(first)
    assert _entries(cache) == remembered


def test_an_edited_file_is_validated_again(tmp_path: Path, write: Callable[..., Path]) -> None:
    path = write(VALID)
    cache = tmp_path / "cache"
    assert _check(cache, str(path), cwd=tmp_path).returncode == 0
    remembered = _entries(cache)
    write(VALID.replace("{final: true}", "{final: true, colour: red}"))
    broken = _check(cache, str(path), cwd=tmp_path)
    assert _validated(broken)
    assert broken.returncode == 1
    assert "SM010" in broken.stdout and "colour" in broken.stdout
    assert _entries(cache) == remembered  # a failing verdict is never remembered
    write(VALID.replace("{final: true}", "{final: true, description: Finished}"))
    edited = _check(cache, str(path), cwd=tmp_path)
    assert _validated(edited)
    assert edited.returncode == 0
    assert _entries(cache)[:-1] == remembered and len(_entries(cache)) == len(remembered) + 1


def test_findings_are_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    """The schema corpus (valid and invalid files) checked cold, then twice with a cache."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    cache = tmp_path / "cache"
    off = _check(None, "--format", "json", str(corpus), cwd=tmp_path)
    cold = _check(cache, "--format", "json", str(corpus), cwd=tmp_path)
    warm = _check(cache, "--format", "json", str(corpus), cwd=tmp_path)
    assert '"code": "SM01' in off.stdout  # the corpus holds files the schema refuses
    assert _entries(cache)  # ... and files it accepts
    assert _validated(warm)  # the refused ones are validated every time
    assert _shown(off) == _shown(cold) == _shown(warm)


@pytest.mark.parametrize("damage", ["not a folder", "garbage"])
def test_a_broken_cache_is_never_an_error(
    tmp_path: Path, write: Callable[..., Path], damage: str
) -> None:
    path = write(VALID)
    cache = tmp_path / "cache"
    if damage == "not a folder":
        cache.write_text("a file where the cache folder should be\n", encoding="utf-8")
    else:
        (cache / "statemachine").mkdir(parents=True)
        (cache / "statemachine" / "schema-passed").write_bytes(b"\xff\x00 " * 100 + b"\n" * 5)
    off = _check(None, str(path), cwd=tmp_path)
    for _ in range(2):
        result = _check(cache, str(path), cwd=tmp_path)
        assert _shown(result) == _shown(off)
        assert "Traceback" not in result.stderr


def test_the_cache_can_be_turned_off(tmp_path: Path, write: Callable[..., Path]) -> None:
    path = write(VALID)
    env_home = tmp_path / "home"
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "statemachine", "check", str(path)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "XDG_CACHE_HOME": str(env_home), "STATEMACHINE_NO_CACHE": "1"},
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout
    assert not env_home.exists()


@pytest.mark.skipif(
    importlib.util.find_spec("_blake2") is None, reason="this Python has no built-in BLAKE2"
)
def test_a_cached_check_loads_neither_openssl_nor_jsonschema(tmp_path: Path) -> None:
    """Start-up is a target (issue 12): the cache key's hash must not pull in OpenSSL."""
    cache = tmp_path / "cache"
    assert _check(cache, cwd=tmp_path).returncode == 0  # remembers the bundled machines
    modules = imported(_check(cache, cwd=tmp_path))
    assert "statemachine.io.schema" in modules
    assert not modules & {"hashlib", "_hashlib", "jsonschema"}
