"""Shared helpers: write definitions to real files and run the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import pgserver


def without_root_powers() -> list[str]:
    """A command prefix that drops the powers that let root read and write any folder, so
    that permission bits mean for the tests what they mean for a user (empty unless root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("running as root without setpriv (util-linux): cannot drop root's powers")
        pytest.skip("running as root and setpriv (util-linux) is missing")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def run_cli(
    *args: str, cwd: Path | None = None, input: str | None = None, as_user: bool = False
) -> subprocess.CompletedProcess[str]:
    """`statemachine ARGS...` in a subprocess, as a user runs it (`as_user`: without root's
    power to ignore permissions), with `input` on its standard input."""
    prefix = without_root_powers() if as_user else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "statemachine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=input,
        timeout=120,
        check=False,
    )


def imported(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules a process run with `python -X importtime` imported, from its log."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a dedented YAML text to a file under tmp_path and return its path."""

    def _write(text: str, name: str = "machine.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def server() -> Iterator[pgserver.Server]:
    """A PostgreSQL server for the session (skipped with the reason outside CI without one)."""
    if pgserver.find_bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(pgserver.MISSING)
        pytest.skip(pgserver.MISSING)
    with pgserver.running() as running:
        yield running


@pytest.fixture
def db(server: pgserver.Server) -> Iterator[pgserver.Conn]:
    """An autocommit connection to the session's server."""
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        yield conn
