"""`statemachine check`: every finding in definition files, as text, JSON or CI annotations."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import EXIT_FAILED, EXIT_OK, UsageError, registry

if TYPE_CHECKING:
    from statemachine.checks.finding import Finding

__all__ = ["register"]


def register(sub: Any) -> None:
    check = sub.add_parser(
        "check",
        help="check definitions (default: the folders [tool.statemachine] in pyproject.toml "
        "names, else the bundled machines)",
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="YAML files or directories")
    check.add_argument("--format", choices=["text", "json", "github"], default="text")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--only-configured",
        action="store_true",
        help="ignore named files outside the configured definition folders (the pre-commit hook)",
    )
    check.set_defaults(run=run)


def _format(finding: Finding, fmt: str, strict: bool) -> str:
    from statemachine.checks.finding import Severity
    from statemachine.cli.output import github_annotation, printable

    severity = Severity.ERROR if strict else finding.severity
    loc = finding.location
    if fmt == "github":
        return github_annotation(
            str(severity), loc.file, loc.line, loc.col, finding.code, finding.message
        )
    line = printable(str(finding))
    return line if severity is finding.severity else f"{line} [{severity}]"


def run(args: argparse.Namespace) -> int:
    from statemachine.checks.finding import Severity

    found = registry(args.paths, only_configured=args.only_configured)
    if not found.files and args.only_configured:
        print("no definition files among the files named", file=sys.stderr)
        return EXIT_OK
    if not found.files:
        raise UsageError("no definition files (*.yaml, *.yml) found in " + " ".join(args.paths))
    findings = found.findings
    errors = [f for f in findings if f.severity is Severity.ERROR or args.strict]
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "file": f.location.file,
                        "line": f.location.line,
                        "col": f.location.col,
                        "code": f.code,
                        "severity": str(Severity.ERROR if args.strict else f.severity),
                        "message": f.message,
                    }
                    for f in findings
                ],
                indent=2,
            )
        )
    else:
        for finding in findings:
            print(_format(finding, args.format, args.strict))
    warnings = len(findings) - len(errors)
    print(
        f"{len(found.files)} file(s) checked: {len(errors)} error(s), {warnings} warning(s)",
        file=sys.stderr,
    )
    return EXIT_FAILED if errors else EXIT_OK
