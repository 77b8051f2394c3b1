"""Mermaid proven: every `.mmd` rendered by the real Mermaid library in headless Chromium.

Needs Debian's `chromium` and `npm ci --prefix tests/browser` (which installs the pinned
`mermaid` package). Outside CI the test is skipped with the reason when either is missing.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests import chromium
from tests.conftest import run_cli
from tests.test_diagrams import ODD_STATES, odd_folder

REPO = Path(__file__).resolve().parent.parent
BROWSER = REPO / "tests" / "browser"
PAGE = BROWSER / "render.html"
MERMAID = BROWSER / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
_SECTION = re.compile(
    r'<section class="result" data-name="([^"]*)" data-status="(\w+)">(.*?)</section>', re.S
)


def render_in_chromium(sources: dict[str, str], tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (status, SVG or error) for each Mermaid source, as the real library draws it."""
    chromium.require(
        "" if MERMAID.is_file() else "Mermaid is not installed: run `npm ci --prefix tests/browser`"
    )
    script = tmp / "sources.js"
    items = [{"name": name, "text": text} for name, text in sources.items()]
    script.write_text(f"window.SOURCES = {json.dumps(items)};\n", encoding="utf-8")
    url = f"{PAGE.as_uri()}?sources={script.as_uri()}"
    result = chromium.run(tmp, "--virtual-time-budget=60000", "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    done = re.search(r'data-done="(\d+)"', result.stdout)
    assert done is not None and int(done.group(1)) == len(sources), "the page finished"
    return {
        html.unescape(name): (status, body)
        for name, status, body in _SECTION.findall(result.stdout)
    }


@pytest.fixture(scope="module")
def mermaid_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every bundled machine's `.mmd` (rendered now and committed) and the odd-named ones."""
    tmp = tmp_path_factory.mktemp("mmd")
    fresh = tmp / "bundled"
    assert run_cli("render", "-o", str(fresh), "--format", "mmd", cwd=REPO).returncode == 0
    odd = tmp / "odd"
    result = run_cli("render", str(odd_folder(tmp)), "-o", str(odd), "--format", "mmd")
    assert result.returncode == 0, result.stderr
    files = {}
    for root, label in ((fresh, "rendered"), (odd, "odd"), (REPO / "diagrams", "committed")):
        for path in sorted(root.rglob("*.mmd")):
            files[f"{label}/{path.relative_to(root).as_posix()}"] = path.read_text("utf-8")
    assert len([n for n in files if n.startswith("odd/")]) == 2
    return files


def test_every_mermaid_file_renders(mermaid_files: dict[str, str], tmp_path: Path) -> None:
    results = render_in_chromium(mermaid_files, tmp_path)
    assert sorted(results) == sorted(mermaid_files)
    errors = {name: body for name, (status, body) in results.items() if status != "ok"}
    assert not errors, errors
    for name, (_, svg) in results.items():
        assert "<svg" in svg, name
    odd = results["odd/8x8/call.mmd"][1]
    shown = html.unescape(re.sub(r"<[^>]+>", "\n", odd))
    for state in ODD_STATES:
        assert state in shown.splitlines(), f"{state!r} is drawn exactly"
    assert '8x8.call - Eight "by" eight: it\'s odd' in shown, "the title with its quotes"
    call = html.unescape(re.sub(r"<[^>]+>", "\n", results["rendered/dialnexa/call.mmd"][1]))
    assert "Waiting for call progress" in call, "the fan-out's composite state"


def test_a_parse_error_is_reported(tmp_path: Path) -> None:
    results = render_in_chromium(
        {"broken": 'stateDiagram-v2\n  state "a" as in-progress\n  in-progress --> b\n'},
        tmp_path,
    )
    status, error = results["broken"]
    assert status == "error" and "Parse error" in error
