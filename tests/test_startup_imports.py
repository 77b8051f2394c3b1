"""What a `check` process imports: start-up time is a target (issue 12), and a module imported
by mistake costs every run (`benchmarks/bench_startup.py` measures the whole)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest


def imported(*args: str, cache: Path) -> set[str]:
    """The modules `python -m statemachine ARGS...` imports (from `-X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "statemachine", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
        timeout=120,
        check=True,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.skipif(
    importlib.util.find_spec("_blake2") is None, reason="this Python has no built-in BLAKE2"
)
def test_a_cached_check_loads_neither_openssl_nor_jsonschema(tmp_path: Path) -> None:
    imported("check", cache=tmp_path)  # remembers the bundled machines' schema verdicts
    modules = imported("check", cache=tmp_path)
    assert "statemachine.io.schema" in modules
    assert not modules & {"hashlib", "_hashlib", "jsonschema"}
