"""Diagrams: drawn by transitions' engines and the real `dot`, deterministic, kept fresh."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest

from statemachine import bundled_dir, load_registry
from statemachine.io.diagrams import dot_source, mermaid_source
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
REGISTRY = load_registry([bundled_dir()])

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz `dot` is not installed",
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diagrams")
    result = run_cli("render", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def _svg_titles(svg: str) -> set[str]:
    return {html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", svg)}


@pytest.mark.parametrize("name", sorted(REGISTRY.machines))
def test_every_state_and_transition_is_in_the_svg(rendered: Path, name: str) -> None:
    d = REGISTRY.machines[name]
    provider, _, rest = name.partition(".")
    svg = (rendered / provider / f"{rest}.svg").read_text()
    titles = _svg_titles(svg)
    texts = {html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)}
    for state in d.states:
        assert state in titles, state
    for t in d.transitions:
        assert f"{t.source}->{t.dest}" in titles, (t.source, t.dest)
        label = t.trigger + (f" [{' & '.join(t.conditions)}]" if t.conditions else "")
        assert any(label in text for text in texts), label
    assert any(name in text for text in texts), "the title names the machine"
    assert (rendered / provider / f"{rest}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_conventions_in_the_dot_source() -> None:
    d = REGISTRY.machines["dialnexa.call"]
    dot = dot_source(d)
    assert re.search(r"completed \[[^\]]*peripheries=2", dot), "final states are distinct"
    assert re.search(r"created \[[^\]]*peripheries=1", dot)
    assert "__start__ -> created" in dot, "the initial state is marked"
    assert re.search(r"initiated -> sent \[[^\]]*style=dashed", dot), "inferred edges dashed"
    assert not re.search(r"created -> sent \[[^\]]*style=dashed", dot)
    assert "cluster_legend" in dot
    batch = dot_source(REGISTRY.machines["dialnexa.batch"])
    assert "complete [all_recipients_final]" in batch, "conditions shown on edges"
    assert "initiated: acknowledgement only" in batch
    workflow = dot_source(REGISTRY.machines["dialnexa.workflow"])
    assert "alias running = active" in workflow


def test_group_colours_are_shared() -> None:
    dot = dot_source(REGISTRY.machines["dialnexa.call"])
    colour = {m[0]: m[1] for m in re.findall(r"\t(\w+) \[[^\]]*fillcolor=\"(#\w+)\"", dot)}
    assert colour["did_not_pick"] == colour["busy"] == colour["no_answer"]
    assert colour["created"] == colour["sent"] != colour["completed"]


def test_mermaid_source() -> None:
    d = REGISTRY.machines["recho.outbound_call"]
    mmd = mermaid_source(d)
    assert mmd.startswith('---\ntitle: "recho.outbound_call - ')
    assert "stateDiagram-v2" in mmd
    assert "[*] --> PENDING" in mmd
    assert "COMPLETED --> [*]" in mmd and "PENDING --> [*]" not in mmd
    assert "PENDING --> CANCELED: cancel" in mmd
    assert "PENDING --> EXPIRED: expire (inferred)" in mmd
    for state in d.states:
        assert f'state "{state}" as {state}' in mmd


def test_output_is_deterministic(tmp_path: Path, rendered: Path) -> None:
    again = tmp_path / "again"
    assert run_cli("render", "-o", str(again)).returncode == 0
    for path in rendered.rglob("*"):
        if path.is_file():
            assert (again / path.relative_to(rendered)).read_bytes() == path.read_bytes(), path


def test_index_readme_lists_every_machine(rendered: Path) -> None:
    index = (rendered / "README.md").read_text()
    for name, d in REGISTRY.machines.items():
        assert f"## {name}" in index
        provider, _, rest = name.partition(".")
        assert f"![{name} lifecycle]({provider}/{rest}.svg)" in index
        for state in d.states.values():
            assert f"| `{state.name}`" in index
    assert "| `created` (initial) | no | waiting |" in index


def test_check_detects_stale_and_missing(tmp_path: Path) -> None:
    out = tmp_path / "d"
    assert run_cli("render", "-o", str(out)).returncode == 0
    fresh = run_cli("render", "--check", "-o", str(out))
    assert fresh.returncode == 0, fresh.stdout
    (out / "dialnexa" / "call.dot").write_text("digraph {}\n")
    (out / "kaleyra" / "call.mmd").unlink()
    before = sorted(p.name for p in out.rglob("*"))
    stale = run_cli("render", "--check", "-o", str(out))
    assert stale.returncode == 1
    assert f"stale: {out / 'dialnexa' / 'call.dot'}" in stale.stdout.splitlines()
    assert f"missing: {out / 'kaleyra' / 'call.mmd'}" in stale.stdout.splitlines()
    assert len(stale.stdout.splitlines()) == 2
    assert sorted(p.name for p in out.rglob("*")) == before, "--check writes nothing"


def test_a_definition_change_makes_diagrams_stale(tmp_path: Path) -> None:
    machines = tmp_path / "machines"
    shutil.copytree(REPO / "machines", machines)
    out = tmp_path / "d"
    assert run_cli("render", str(machines), "-o", str(out)).returncode == 0
    path = machines / "dialnexa" / "workflow_lead.yaml"
    path.write_text(path.read_text().replace("trigger: drop", "trigger: drop_lead"))
    result = run_cli("render", "--check", str(machines), "-o", str(out))
    assert result.returncode == 1
    assert f"stale: {out / 'dialnexa' / 'workflow_lead.dot'}" in result.stdout


def test_committed_diagrams_are_fresh() -> None:
    result = run_cli("render", "--check", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_path_draws_one_history(tmp_path: Path) -> None:
    result = run_cli(
        "render",
        "dialnexa.call",
        "--path",
        "created,initiated,sent,completed,initiated",
        "-o",
        str(tmp_path),
        "--format",
        "svg,dot",
    )
    assert result.returncode == 1
    assert "illegal step: dialnexa.call: cannot go from completed to initiated" in result.stdout
    dot = (tmp_path / "dialnexa" / "call-path.dot").read_text()
    assert re.search(r"completed -> initiated \[[^\]]*color=\"#dc2626\"", dot)
    assert re.search(r"created -> initiated \[[^\]]*color=\"#1d4ed8\"", dot), "steps taken"
    assert re.search(r"\tcompleted \[[^\]]*fillcolor=darksalmon", dot), "state reached"
    svg = (tmp_path / "dialnexa" / "call-path.svg").read_text()
    assert "step 4: illegal" in svg
    ok = run_cli(
        "render",
        "dialnexa.call",
        "--path",
        "created,sent,completed",
        "-o",
        str(tmp_path),
        "--format",
        "dot",
    )
    assert ok.returncode == 0
    bad = run_cli("render", "dialnexa.call", "--path", "created,snet", "-o", str(tmp_path))
    assert bad.returncode == 2 and "did you mean 'sent'" in bad.stderr


def test_missing_dot_still_writes_sources(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {**os.environ, "PATH": str(empty_bin)}
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "statemachine", "render", "-o", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "d" / "dialnexa" / "call.dot").exists()
    assert (tmp_path / "d" / "dialnexa" / "call.mmd").exists()
    assert not (tmp_path / "d" / "dialnexa" / "call.svg").exists()
