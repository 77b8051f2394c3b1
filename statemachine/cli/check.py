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
    check = sub.add_parser("check", help="check definitions (default: the bundled machines)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="YAML files or directories")
    check.add_argument("--format", choices=["text", "json", "github"], default="text")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.set_defaults(run=run)


def _format(finding: Finding, fmt: str, strict: bool) -> str:
    from statemachine.checks.finding import Severity

    severity = Severity.ERROR if strict else finding.severity
    loc = finding.location
    if fmt == "github":
        message = finding.message.replace("%", "%25").replace("\n", "%0A")
        return (
            f"::{severity} file={loc.file},line={loc.line},col={loc.col},"
            f"title={finding.code}::{message}"
        )
    return f"{finding}" if severity is finding.severity else f"{finding} [{severity}]"


def run(args: argparse.Namespace) -> int:
    from statemachine.checks.finding import Severity

    found = registry(args.paths)
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
