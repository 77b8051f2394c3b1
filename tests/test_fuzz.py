"""A bounded mutation fuzz of `check` (benchmarks/fuzz.py runs it for as long as you like):
no input raises, and every finding has a file, line and column."""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path

from benchmarks.fuzz import check_input, inputs, seeds
from statemachine.io.registry import bundled_dir, load_registry
from tests.conftest import run_cli

SECONDS = 6.0


def test_mutated_definitions_never_escape_check(tmp_path: Path) -> None:
    rng = random.Random(0)  # fixed: a failure here replays exactly
    context = load_registry([bundled_dir()]).machines
    path = tmp_path / "fuzz.yaml"
    deadline = time.monotonic() + SECONDS
    ran = 0
    for data in inputs(rng, seeds()):
        if time.monotonic() > deadline:
            break
        path.write_bytes(data)
        problem = check_input(path, context)
        assert problem is None, f"{problem}\ninput: {data!r}"
        ran += 1
    assert ran >= 100, f"only {ran} inputs ran in {SECONDS} s"


def test_mutated_definitions_through_the_cli(tmp_path: Path) -> None:
    rng = random.Random(1)
    for i, data in enumerate(itertools.islice(inputs(rng, seeds()), 4)):
        path = tmp_path / f"fuzz{i}.yaml"
        path.write_bytes(data)
        result = run_cli("check", "--format", "json", str(path))
        assert "Traceback" not in result.stderr, (data, result.stderr)
        assert result.returncode in (0, 1), (data, result.stderr)
        for finding in json.loads(result.stdout):
            assert finding["file"] == str(path)
            assert finding["line"] >= 1 and finding["col"] >= 1
