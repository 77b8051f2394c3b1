"""Diagrams: drawn by transitions' engines and the real `dot`, deterministic, kept fresh."""

from __future__ import annotations

import html
import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from statemachine import bundled_dir, load_registry
from statemachine.diagrams.content import content_of
from statemachine.diagrams.dot import dot_source, node_ids
from statemachine.diagrams.mermaid import mermaid_source
from statemachine.model.definition import Definition, Evidence, State, Transition
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
REGISTRY = load_registry([bundled_dir()])

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None and os.environ.get("CI") != "true",
    reason="Graphviz `dot` is not installed",
)

#: names as providers spell them, and a title that would break Mermaid's front matter
ODD_MACHINE = r"""
machine: 8x8.call
title: 'Eight "by" eight: it''s odd'
initial: [queued, in-progress]
groups:
  on-hold: {title: On hold}
  two words: {}
states:
  queued: {groups: [on-hold]}
  in-progress: {groups: [on-hold, two words]}
  call.initiated: {reported: false, groups: [on-hold]}
  8x8: {groups: [on-hold]}
  'it''s "quoted"': {groups: [on-hold]}
  ünïcode: {groups: [on-hold]}
  'a:b#c': {groups: [on-hold]}
  'back\slash': {groups: [on-hold]}
  '<b>bold</b>': {groups: [on-hold]}
  state: {groups: [on-hold]}
  no answer: {final: true}
  end: {final: true}
transitions:
  - {trigger: start, source: queued, dest: call.initiated}
  - {trigger: go, source: call.initiated, dest: in-progress}
  - {trigger: dial, source: in-progress, dest: 8x8}
  - {trigger: quote, source: 8x8, dest: 'it''s "quoted"'}
  - {trigger: uni, source: 'it''s "quoted"', dest: ünïcode}
  - {trigger: colon, source: ünïcode, dest: 'a:b#c'}
  - {trigger: slash, source: 'a:b#c', dest: 'back\slash'}
  - {trigger: bold, source: 'back\slash', dest: '<b>bold</b>'}
  - {trigger: keyword, source: '<b>bold</b>', dest: state}
  - {trigger: miss, source: "*", dest: no answer}
  - {trigger: finish, source: "*", dest: end}
"""
ODD_STATES = (
    "queued",
    "in-progress",
    "call.initiated",
    "8x8",
    'it\'s "quoted"',
    "ünïcode",
    "a:b#c",
    "back\\slash",
    "<b>bold</b>",
    "state",
    "no answer",
    "end",
)
SECOND_MACHINE = """
machine: amazon-connect.contact
title: Contact
initial: INITIATED
states:
  INITIATED: {}
  CONNECTED_TO_AGENT: {final: true}
transitions:
  - {trigger: connect, source: INITIATED, dest: CONNECTED_TO_AGENT}
"""


def odd_folder(root: Path) -> Path:
    folder = root / "odd"
    folder.mkdir()
    (folder / "eight.yaml").write_text(ODD_MACHINE.lstrip(), encoding="utf-8")
    (folder / "contact.yaml").write_text(SECOND_MACHINE.lstrip(), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diagrams")
    result = run_cli("render", "-o", str(out), cwd=REPO)
    assert result.returncode == 0, result.stderr
    return out


def _svg_titles(svg: str) -> set[str]:
    return {html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", svg)}


def _svg_texts(svg: str) -> set[str]:
    return {html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)}


def _edges(dot: str) -> list[str]:
    """The lifecycle's edges in a DOT source: no legend, no start markers."""
    return [
        line
        for line in dot.splitlines()
        if " -> " in line and "#legend" not in line and "#start" not in line
    ]


@pytest.mark.parametrize("name", sorted(REGISTRY.machines))
def test_every_state_and_transition_is_in_the_svg(rendered: Path, name: str) -> None:
    d = REGISTRY.machines[name]
    content = content_of(d)
    ids = node_ids(d)
    provider, _, rest = name.partition(".")
    svg = (rendered / provider / f"{rest}.svg").read_text()
    titles = _svg_titles(svg)
    texts = _svg_texts(svg)
    for state in d.states:
        assert ids[state] in titles and state in texts, state
    for t in content.single:
        assert f"{ids[t.source]}->{ids[t.dest]}" in titles, (t.source, t.dest)
    for edge in content.group_edges:
        assert f"{ids[edge.cluster.members[-1]]}->{ids[edge.dest]}" in titles
    for t in d.transitions:
        label = t.trigger + (f" [{' & '.join(t.conditions)}]" if t.conditions else "")
        assert any(label in text for text in texts), label
    assert any(name in text for text in texts), "the title names the machine"
    assert (rendered / provider / f"{rest}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_conventions_in_the_dot_source() -> None:
    d = REGISTRY.machines["dialnexa.call"]
    dot = dot_source(d)
    assert re.search(r"\tcompleted \[[^\]]*peripheries=2", dot), "final states are distinct"
    assert re.search(r"\tcreated \[[^\]]*peripheries=1", dot)
    for i, entry in enumerate(d.initial):
        assert f'"#start{i}" -> {entry}' in dot, "each entry state has its start marker"
    assert re.search(r"initiated -> sent \[[^\]]*style=dashed", dot), "inferred edges dashed"
    assert not re.search(r"created -> sent \[[^\]]*style=dashed", dot)
    assert "cluster_legend" in dot
    batch = dot_source(REGISTRY.machines["dialnexa.batch"])
    assert "complete [all_recipients_final]" in batch, "conditions shown on edges"
    assert "initiated: acknowledgement only" in batch
    workflow = dot_source(REGISTRY.machines["dialnexa.workflow"])
    assert "alias running = active" in workflow


def test_a_fan_out_is_one_edge_from_a_box() -> None:
    d = REGISTRY.machines["dialnexa.call"]
    dot = dot_source(d)
    edges = _edges(dot)
    assert len(edges) + len(d.initial) <= 15, edges
    assert "compound=true" in dot
    waiting = [name for name, s in d.states.items() if not s.final]
    box = re.search(r"subgraph (cluster_\d+) \{([^}]*)\}", dot)
    assert box is not None and "Waiting for call progress" in box.group(2)
    assert box.group(2).split()[-len(waiting) :] == waiting
    for final in d.final_states:
        into = [e for e in edges if re.search(rf"-> {final} \[", e)]
        assert len(into) == 1 and f"ltail={box.group(1)}" in into[0], into
    to_finals = [re.findall(r"label=\"?(\w+)", e)[0] for e in edges if "ltail" in e]
    assert len(set(to_finals)) == len(to_finals) == len(d.final_states), "one label each"


def test_a_fan_out_with_mixed_evidence_says_which() -> None:
    dot = dot_source(REGISTRY.machines["dialnexa.call"])
    assert re.search(r"-> cancelled \[label=\"cancel\\n\(inferred from initiated, sent", dot)


def test_group_colours_are_shared_and_several_groups_are_striped() -> None:
    dot = dot_source(REGISTRY.machines["dialnexa.call"])
    colour = {m[0]: m[1] for m in re.findall(r"\t(\w+) \[[^\]]*fillcolor=\"(#\w+)\"", dot)}
    assert colour["did_not_pick"] == colour["busy"] == colour["no_answer"]
    assert colour["created"] == colour["sent"] != colour["completed"]
    assert "in several groups" not in dot
    kaleyra = REGISTRY.machines["kaleyra.call"]
    several = [n for n, s in kaleyra.states.items() if len(s.groups) > 1]
    assert several
    dot = dot_source(kaleyra)
    for name in several:
        node = re.search(rf"\t{name} \[([^\]]*)\]", dot)
        assert node is not None and re.search(r'style="?striped', node.group(1)), name
        assert re.search(r'fillcolor="#\w+:#\w+', node.group(1)), "one stripe per group"
    assert "in several groups" in dot


def test_unreported_states_are_dotted_and_named_in_the_legend() -> None:
    kaleyra = REGISTRY.machines["kaleyra.call"]
    unreported = [n for n, s in kaleyra.states.items() if not s.reported]
    assert unreported
    dot = dot_source(kaleyra)
    for name in kaleyra.states:
        node = re.search(rf"\t{name} \[([^\]]*)\]", dot)
        assert node is not None
        assert ("dotted" in node.group(1)) == (name in unreported), name
    assert "never reported" in dot
    assert "never reported" not in dot_source(REGISTRY.machines["dialnexa.call"])


def _plain_definition(evidence: Evidence | None) -> Definition:
    return Definition(
        "plain.thing",
        {"open": State("open"), "shut": State("shut", final=True)},
        (Transition("close", "open", "shut", evidence=evidence),),
        initial="open",
    )


def test_the_legend_names_only_the_evidence_the_definition_has() -> None:
    bare = dot_source(_plain_definition(None))
    assert "documented" not in bare and "inferred" not in bare
    assert "style=dashed" not in bare and "style=dotted" not in bare
    assert 'label="trigger [guard]"' in bare
    inferred = dot_source(_plain_definition(Evidence("inferred", "we think so")))
    assert "inferred" in inferred and "documented" not in inferred
    assert re.search(r"open -> shut \[[^\]]*style=dashed", inferred)


def test_odd_names_in_dot_are_exact(tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = run_cli("render", str(odd_folder(tmp_path)), "-o", str(out))
    assert result.returncode == 0, result.stderr
    svg = (out / "8x8" / "call.svg").read_text()
    texts = _svg_texts(svg)
    for state in ODD_STATES:
        assert state in texts, state
    assert '8x8.call: Eight "by" eight: it\'s odd' in texts
    assert "<b>" not in svg.replace("&lt;b&gt;", ""), "a name is never HTML"
    assert (out / "amazon-connect" / "contact.svg").is_file()
    index = (out / "README.md").read_text()
    assert "- [8x8.call](#8x8call)" in index
    assert "- [amazon-connect.contact](#amazon-connectcontact)" in index
    assert "![amazon-connect.contact lifecycle](amazon-connect/contact.svg)" in index
    assert "| `back\\slash` | no | yes | `on-hold` |" in index
    assert "| `in-progress` (initial) | no | yes | `on-hold`, `two words` |" in index
    assert "| `call.initiated` | no | no |" in index, "the index says what is never reported"
    assert "from the definitions in `" in index


def test_several_entry_states_each_get_a_start_marker() -> None:
    d = Definition(
        "twilio.message",
        {
            "queued": State("queued"),
            "accepted": State("accepted"),
            "sent": State("sent", final=True),
        },
        (Transition("a", "queued", "sent"), Transition("b", "accepted", "sent")),
        initial=("queued", "accepted"),
    )
    dot = dot_source(d)
    assert '"#start0" -> queued' in dot and '"#start1" -> accepted' in dot
    mmd = mermaid_source(d)
    assert "[*] --> queued" in mmd and "[*] --> accepted" in mmd


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
    call = mermaid_source(REGISTRY.machines["dialnexa.call"])
    assert re.search(r"state box0 \{\n(\s+\w+\n)+\s+\}", call), "a fan-out's composite state"
    assert re.search(r"box0 --> completed: complete\n", call)


def test_output_is_deterministic(tmp_path: Path, rendered: Path) -> None:
    again = tmp_path / "again"
    assert run_cli("render", "-o", str(again), cwd=REPO).returncode == 0
    for path in rendered.rglob("*"):
        if path.is_file():
            assert (again / path.relative_to(rendered)).read_bytes() == path.read_bytes(), path


def test_index_readme_lists_every_machine(rendered: Path) -> None:
    index = (rendered / "README.md").read_text()
    assert "from the definitions in `machines/`" in index
    for name, d in REGISTRY.machines.items():
        assert f"## {name.replace('_', chr(92) + '_')}" in index
        provider, _, rest = name.partition(".")
        assert f"lifecycle]({provider}/{rest}.svg)" in index
        for state in d.states.values():
            assert f"| `{state.name}`" in index
    assert "| `created` (initial) | no | yes | `waiting` |" in index


def test_check_detects_stale_and_missing(tmp_path: Path) -> None:
    out = tmp_path / "d"
    assert run_cli("render", "-o", str(out), cwd=REPO).returncode == 0
    fresh = run_cli("render", "--check", "-o", str(out), cwd=REPO)
    assert fresh.returncode == 0, fresh.stdout
    (out / "dialnexa" / "call.dot").write_text("digraph {}\n")
    (out / "kaleyra" / "call.mmd").unlink()
    before = sorted(p.name for p in out.rglob("*"))
    stale = run_cli("render", "--check", "-o", str(out), cwd=REPO)
    assert stale.returncode == 1
    assert f"stale: {out / 'dialnexa' / 'call.dot'}" in stale.stdout.splitlines()
    assert f"missing: {out / 'kaleyra' / 'call.mmd'}" in stale.stdout.splitlines()
    assert len(stale.stdout.splitlines()) == 2
    assert sorted(p.name for p in out.rglob("*")) == before, "--check writes nothing"


def test_a_definition_change_makes_diagrams_stale(tmp_path: Path) -> None:
    machines = tmp_path / "machines"
    machines.mkdir()
    path = machines / "lead.yaml"
    bundled = (REPO / "machines" / "dialnexa" / "workflow_lead.yaml").read_text()
    path.write_text(bundled.replace("machine: dialnexa.workflow_lead", "machine: mine.lead"))
    out = tmp_path / "d"
    assert run_cli("render", str(machines), "-o", str(out)).returncode == 0
    path.write_text(path.read_text().replace("trigger: drop", "trigger: drop_lead"))
    result = run_cli("render", "--check", str(machines), "-o", str(out))
    assert result.returncode == 1
    assert f"stale: {out / 'mine' / 'lead.dot'}" in result.stdout


def test_committed_diagrams_are_fresh() -> None:
    result = run_cli("render", "--check", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_in_a_users_repository(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.statemachine]\nmachines = ["lifecycles"]\ndiagrams = "docs/lifecycles"\n'
    )
    (tmp_path / "lifecycles").mkdir()
    (tmp_path / "lifecycles" / "contact.yaml").write_text(SECOND_MACHINE.lstrip())
    result = run_cli("render", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [
        "docs/lifecycles/README.md",
        *(f"docs/lifecycles/amazon-connect/contact.{ext}" for ext in ("dot", "mmd", "png", "svg")),
        "lifecycles/contact.yaml",
        "pyproject.toml",
    ]
    index = (tmp_path / "docs" / "lifecycles" / "README.md").read_text()
    assert "from the definitions in `lifecycles/`" in index
    assert "dialnexa" not in index, "only the user's machines"
    assert run_cli("render", "--check", cwd=tmp_path).returncode == 0
    (tmp_path / "docs" / "lifecycles" / "README.md").write_text("changed\n")
    stale = run_cli("render", "--check", cwd=tmp_path)
    assert stale.returncode == 1 and "stale: docs/lifecycles/README.md" in stale.stdout


@pytest.mark.parametrize("target", ["file", "under-file", "proc"])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, target: str
) -> None:
    a_file = tmp_path / "taken.txt"
    a_file.write_text("not a folder\n")
    out = {
        "file": a_file,
        "under-file": a_file / "sub",
        "proc": Path("/proc/statemachine-diagrams"),
    }[target]
    checks = [["--check", "-o", str(out)]] if target == "file" else []
    for args in (["-o", str(out)], *checks):
        result = run_cli("render", *args, "--format", "dot", cwd=REPO)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if "statemachine: error" in line]
        assert len(lines) == 1 and str(out.parent if target == "under-file" else out) in lines[0]
    path = run_cli("render", "dialnexa.call", "--path", "created,sent", "-o", str(out))
    assert path.returncode == 2 and "Traceback" not in path.stderr, path.stderr


def test_a_read_only_folder_is_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        result = run_cli("render", "-o", str(out), "--format", "dot", cwd=REPO, as_user=True)
    finally:
        out.chmod(0o755)
    assert result.returncode == 2 and "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


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
    assert re.search(r"sent -> completed \[[^\]]*color=\"#1d4ed8\"", dot), "a fanned-out step"
    reached = re.search(r"\tcompleted \[([^\]]*)\]", dot)
    assert reached is not None and 'color="#dc2626"' in reached.group(1), "state reached"
    assert "state reached" in dot and "illegal step" in dot, "the legend names both"
    svg = (tmp_path / "dialnexa" / "call-path.svg").read_text()
    assert "step 4: illegal" in svg
    ok = run_cli(
        "render",
        "dialnexa.call",
        "--path",
        "created,sent",
        "-o",
        str(tmp_path),
        "--format",
        "dot",
    )
    assert ok.returncode == 0
    dot = (tmp_path / "dialnexa" / "call-path.dot").read_text()
    sent = re.search(r"\tsent \[([^\]]*)\]", dot)
    assert sent is not None and "peripheries=1" in sent.group(1), "not the final-state look"
    assert 'color="#dc2626"' in sent.group(1)
    assert "illegal step" not in dot
    bad = run_cli("render", "dialnexa.call", "--path", "created,snet", "-o", str(tmp_path))
    assert bad.returncode == 2 and "did you mean 'sent'" in bad.stderr


def test_missing_dot_still_writes_sources(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {**os.environ, "PATH": str(empty_bin)}
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


def _svg_width(dot: str) -> int:
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    found = re.search(r'<svg width="(\d+)pt"', svg.stdout)
    assert found is not None
    return int(found.group(1))


@pytest.mark.parametrize("ranks", [2, 5])
def test_the_header_wraps_to_the_graphs_width(tmp_path: Path, ranks: int) -> None:
    """Long source titles (with URLs) wrap: the graph, not its header, sets the width."""
    chain = [f"s{i}" for i in range(ranks)]
    title = "A provider status reference, section on delivery receipts " * 3
    text = (
        "machine: acme.wide\ninitial: s0\nsources:\n"
        + "".join(
            f"  - {{id: D{i}, title: '{title}(https://example.com/{'x' * 90})'}}\n"
            for i in range(3)
        )
        + "states:\n"
        + "".join(f"  {s}: {{{'final: true' if s == chain[-1] else ''}}}\n" for s in chain)
        + "transitions:\n"
        + "".join(f"  - {{source: {a}, dest: {b}}}\n" for a, b in itertools.pairwise(chain))
    )
    path = tmp_path / "wide.yaml"
    path.write_text(text)
    done = run_cli("render", str(path), "-o", str(tmp_path / "out"), "--format", "dot")
    assert done.returncode == 0, done.stderr
    dot = (tmp_path / "out" / "acme" / "wide.dot").read_text()
    header = re.compile(r'(fontsize=16 )label="((?:[^"\\]|\\.)*)"')
    found = header.search(dot)
    assert found is not None
    assert found.group(2).count("https://example.com/") == 3  # every source, each URL whole
    headless = header.sub(r'\1label=""', dot, count=1)
    # the narrowest header is 42 characters: about 430 pt at 16 pt
    assert _svg_width(dot) <= max(_svg_width(headless) * 1.1, 450)
