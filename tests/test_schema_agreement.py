"""The shipped JSON Schema and `statemachine check` agree on a shared corpus.

Every file is judged twice: by a real validator of the schema (`jsonschema`, on the data the
file holds) and by the checker through the real CLI. When the schema rejects a file, the
checker must reject it with a schema code; when the schema accepts it, the checker may only
reject it for a reason a schema cannot express (references between names, the graph,
duplicate keys). File names in tests/schema_corpus say which verdict each one expects.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest

from statemachine.io.schema import schema
from statemachine.io.yamldoc import read_document
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "schema_corpus"
#: codes the schema stands for: a file the schema rejects gets one of these, and only then
SCHEMA_CODES = {"SM010", "SM011", "SM012", "SM013", "SM014"}
#: what a schema cannot express: reading (duplicate keys), names that refer to names, the graph
SEMANTIC_CODES = {
    "SM002",
    *(f"SM0{n}" for n in (20, 21, 22, 23, 25, 30, 31, 32, 33, 34, 40, 50, 51, 60, 61, 62, 80, 81)),
}
#: which fields a rule kind takes and where it stands (SM095-SM097) is left to the checker: a
#: schema says it only as one if/then branch per kind, whose errors name neither the kind nor
#: the fix; the rest of the coupling checks (SM090-SM094) refer to names
COUPLING_CODES = {f"SM09{n}" for n in range(8)}
VALIDATOR = jsonschema.Draft202012Validator(schema())


def _schema_accepts(path: Path) -> bool:
    return not list(VALIDATOR.iter_errors(read_document(path).data))


def _checker_errors(folder: Path) -> dict[str, set[str]]:
    result = run_cli("check", "--format", "json", str(folder))
    assert "Traceback" not in result.stderr, result.stderr
    errors: dict[str, set[str]] = defaultdict(set)
    for finding in json.loads(result.stdout):
        if finding["severity"] == "error":
            errors[Path(finding["file"]).name].add(finding["code"])
    return errors


def _disagreement(accepts: bool, codes: set[str]) -> str | None:
    if not accepts and not codes & SCHEMA_CODES:
        return f"schema rejects, checker reports {sorted(codes) or 'nothing'}"
    if accepts and codes - SEMANTIC_CODES - COUPLING_CODES:
        return f"schema accepts, checker reports {sorted(codes - SEMANTIC_CODES - COUPLING_CODES)}"
    return None


def test_corpus_has_every_verdict() -> None:
    kinds = {path.name.split("-", 1)[0] for path in CORPUS.glob("*.yaml")}
    assert kinds == {"valid", "schema", "semantic"}


def test_zero_disagreements_on_the_corpus() -> None:
    errors = _checker_errors(CORPUS)
    problems = []
    for path in sorted(CORPUS.glob("*.yaml")):
        accepts, codes = _schema_accepts(path), errors.get(path.name, set())
        kind = path.name.split("-", 1)[0]
        expected = {"valid": (True, False), "schema": (False, True), "semantic": (True, True)}
        if (accepts, bool(codes)) != expected[kind]:
            problems.append(f"{path.name}: schema accepts={accepts}, checker errors={codes}")
        found = _disagreement(accepts, codes)
        if found:
            problems.append(f"{path.name}: {found}")
    assert problems == []


@pytest.mark.parametrize("folder", ["machines", "docs/examples"])
def test_shipped_definitions_pass_both(folder: str) -> None:
    errors = _checker_errors(ROOT / folder)
    assert errors == {}
    for path in sorted((ROOT / folder).rglob("*.yaml")):
        assert _schema_accepts(path), path


def test_zero_disagreements_on_every_rule_case(tmp_path: Path) -> None:
    from tests.test_checks import CASES

    for i, (_, text, *_rest) in enumerate(CASES):
        (tmp_path / f"case{i:02}").mkdir()
        (tmp_path / f"case{i:02}" / f"case{i:02}.yaml").write_text(
            text.lstrip("\n").replace("machine: a.b", f"machine: case.n{i:02}"), encoding="utf-8"
        )
    errors = _checker_errors(tmp_path)
    problems = []
    for path in sorted(tmp_path.rglob("*.yaml")):
        if read_document(path).data is None:
            continue  # unreadable YAML: there is nothing for a schema to judge
        found = _disagreement(_schema_accepts(path), errors.get(path.name, set()))
        if found:
            problems.append(f"{path.name}: {found}")
    assert problems == []
