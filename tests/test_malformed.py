"""A corpus of broken files through the real CLI: clear findings, right exit codes, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

MERGE_BOMB = "a0: &a0 {k: v}\n" + "".join(
    f"a{i}: &a{i}\n  <<: [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 30)
)

CORPUS: dict[str, bytes] = {
    "empty": b"",
    "only_comment": b"# nothing here\n",
    "top_level_list": b"- machine: a.b\n",
    "top_level_scalar": b"just text\n",
    "binary_junk": bytes(range(256)) * 4,
    "invalid_utf8": b"machine: a.b\nstates:\n  caf\xe9: {}\n",
    "nul_byte": b"machine: a.b\x00\n",
    "deep_nesting": b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
    "deep_block_nesting": "".join(f"{'  ' * i}k{i}:\n" for i in range(2000)).encode(),
    "alias_bomb": BILLION_LAUGHS.encode(),
    "python_tag": b"machine: !!python/object/apply:os.system [echo pwned]\nstates: {}\n",
    "custom_tag": b"machine: !include other.yaml\n",
    "two_documents": b"machine: a.b\n---\nmachine: c.d\n",
    "tab_indent": b"machine: a.b\nstates:\n\tx: {}\n",
    "unclosed_quote": b'machine: "a.b\n',
    "complex_key": b"? [a, b]\n: 1\n",
    "states_is_list": b"machine: a.b\ninitial: x\nstates: [x, y]\n",
    "transition_not_mapping": (
        b"machine: a.b\ninitial: x\nstates: {x: {final: true}}\ntransitions: [go]\n"
    ),
    "number_state_name": b"machine: a.b\ninitial: x\nstates:\n  x: {final: true}\n  42: {}\n",
    "null_everything": b"machine:\nstates:\ntransitions:\n",
    "huge_string": b"machine: '" + b"a" * 100_000 + b"'\nstates: {x: {}}\n",
    "merge_bomb": MERGE_BOMB.encode(),
    "tagged_values": (
        b"machine: a.b\ninitial: x\nstates:\n  x: {final: !!bool x}\n"
        b"title: !!int x\nobject: !!float x\nfield: !!timestamp x\ndescription: !!int ''\n"
    ),
    "invalid_dates": b"machine: a.b\ninitial: x\nstates:\n  x: {description: 2024-13-01}\n"
    b"title: 2024-02-30\n",
    "huge_integer": b"machine: a.b\ninitial: x\nstates:\n  x: {final: " + b"9" * 5000 + b"}\n",
    "tagged_key": b"machine: a.b\ninitial: x\nstates:\n  !!int x: {final: true}\n",
    "set_tag": b"machine: a.b\nstates: !!set {x, y}\n",
    "undefined_alias": b"machine: a.b\nstates: *nowhere\n",
    "recursive_alias": b"machine: a.b\nstates: &s {x: *s}\n",
    "merge_of_scalar": b"machine: a.b\nstates: {<<: 5}\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_file_gives_findings_not_a_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(CORPUS[name])
    result = run_cli("check", "--format", "json", str(path))
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 1, (result.stdout, result.stderr)
    findings = json.loads(result.stdout)
    assert findings, "a broken file must give at least one finding"
    for finding in findings:
        assert finding["file"] == str(path)
        assert finding["line"] >= 1 and finding["col"] >= 1
        assert finding["code"].startswith("SM") and finding["message"]
    text = run_cli("check", str(path))
    assert text.stdout.startswith(f"{path}:"), text.stdout


def test_fifty_megabyte_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.write(b"machine: a.b\nstates:\n")
        line = b"  # " + b"x" * 1000 + b"\n"
        for _ in range(50 * 1024):
            handle.write(line)
    result = run_cli("check", str(path))
    assert result.returncode == 1
    assert "SM001" in result.stdout and "larger than" in result.stdout


def test_invalid_utf8_points_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(CORPUS["invalid_utf8"])
    result = run_cli("check", str(path))
    assert f"{path}:3:6: SM001 not valid UTF-8" in result.stdout


def test_alias_bomb_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    result = run_cli("check", str(path))
    assert "alias bomb" in result.stdout


def test_python_tag_is_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"machine: !!python/object/apply:os.system ['touch {marker}']\nstates: {{}}\n")
    result = run_cli("check", str(path))
    assert result.returncode == 1
    assert not marker.exists()
    assert "tags other than YAML's standard ones" in result.stdout


def test_one_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"machine: [\n")
    (tmp_path / "good.yaml").write_text("machine: a.b\ninitial: x\nstates:\n  x: {}\n")
    result = run_cli("check", "--format", "json", str(tmp_path))
    files = {Path(f["file"]).name: f["code"] for f in json.loads(result.stdout)}
    assert files == {"bad.yaml": "SM001", "good.yaml": "SM031"}


@pytest.mark.parametrize(
    "args",
    [
        ["check", "/no/such/path.yaml"],
        ["check", "--format", "xml"],
        ["show", "dialnexa.cal"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_unknown_machine_suggests_the_nearest() -> None:
    result = run_cli("show", "dialnexa.cal")
    assert "did you mean 'dialnexa.call'" in result.stderr


def test_directory_without_definitions_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 2
    assert "no definition files" in result.stderr


def test_list_works_from_any_directory(tmp_path: Path) -> None:
    result = run_cli("list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "dialnexa.call" in names
