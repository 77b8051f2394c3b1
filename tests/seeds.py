"""Reading the status tables out of the provider documents in ../shared/seeds/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def seed(prefix: str) -> str:
    """The text of the seed whose file name starts with `prefix`; skips (fails in CI) if absent."""
    found = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"seed {prefix} not found under {SEEDS}")
        pytest.skip(f"provider documents not found under {SEEDS}")
    return found[0].read_text(encoding="utf-8")


def section(text: str, header: str, end: str, after: str | None = None) -> list[str]:
    """The non-empty lines after the line `header` (the first one after the line `after`)
    up to the line starting with `end`."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(header, lines.index(after) if after else 0) + 1
    out = []
    for line in lines[start:]:
        if line.startswith(end):
            break
        if line.strip():
            out.append(line.strip())
    return out


def lower_rows(lines: list[str], finals: tuple[str, ...] = ("Yes", "No")) -> dict[str, str]:
    """`createdNoDialNexa created ...` -> {'created': 'No'} for a lower-case status table."""
    pattern = re.compile(r"^([a-z_]+)(" + "|".join(map(re.escape, finals)) + ")")
    rows = {}
    for line in lines:
        match = pattern.match(line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def upper_names(lines: list[str]) -> list[str]:
    """`NOANSWERThe call ...` -> 'NOANSWER': the upper-case run before the description."""
    names = []
    for line in lines:
        match = re.match(r"^([A-Z][A-Z0-9_]*)([A-Z][a-z-])", line)
        if match:
            names.append(match.group(1))
    return names


def pipe_rows(lines: list[str]) -> dict[str, str]:
    """`draft | No | ... |` -> {'draft': 'No'} for a Markdown-style table."""
    rows = {}
    for line in lines:
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) >= 3 and cells[0] and " " not in cells[0] and cells[1] != "---":
            rows[cells[0]] = cells[1]
    return rows


def transfer_outcomes() -> list[str]:
    """The warm transfer statuses of seed 000, in the document's order."""
    return [
        line.split("The")[0].split("An")[0].split("Every")[0].split("No ")[0]
        for line in section(seed("000"), "Transfer statusMeaning", "Transfer Leg Statuses")
    ]
