"""The HTML report, rendered in a real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import chromium
from tests.conftest import run_cli

SAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "audit" / "dialnexa-calls.csv"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("report")
    report, findings = out / "report.html", out / "findings.csv"
    done = run_cli(
        "audit",
        "dialnexa.call",
        str(SAMPLE),
        "--id",
        "call_id",
        "--stale-after",
        "sent=30m",
        "--format",
        "html",
        "-o",
        str(report),
        "--findings",
        str(findings),
    )
    assert done.returncode == 1, done.stderr  # the sample has illegal and unknown events
    return report, out


def test_page_is_self_contained(page: tuple[Path, Path]) -> None:
    text = page[0].read_text(encoding="utf-8")
    assert "<svg" in text
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)


def test_chromium_renders_the_traffic(page: tuple[Path, Path]) -> None:
    report, out = page
    done = chromium.run(out, "--dump-dom", report.as_uri())
    dom = done.stdout
    assert "Audit of DialNexa call attempt" in dom
    # the illegal completed -> busy moves are drawn in red, with their count
    assert re.search(r'stroke="#c62828"', dom)
    assert re.search(r">\s*\d+ illegal\s*<", dom)
    # stuck entities show on their state, and in the tables
    assert re.search(r">\s*\d+ stuck\s*<", dom)
    assert "Worst transitions" in dom and "completed" in dom


def test_chromium_screenshot(page: tuple[Path, Path]) -> None:
    report, out = page
    shot = out / "shot.png"
    chromium.run(out, f"--screenshot={shot}", "--window-size=1400,1800", report.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
