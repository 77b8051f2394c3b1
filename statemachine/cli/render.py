"""`statemachine render`: lifecycle diagrams, their freshness, and one entity's history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    definition_option,
    named_definition,
    registry,
    structural,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    render = sub.add_parser(
        "render", help="draw lifecycle diagrams (default: the bundled machines)"
    )
    render.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="YAML files or directories; with --path, one machine NAME",
    )
    render.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="output directory (default: diagrams/, or . with --path)",
    )
    render.add_argument(
        "--format",
        default="svg,png,dot,mmd",
        help="comma-separated, from svg,png,dot,mmd (default: all four)",
    )
    render.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each stale or missing diagram",
    )
    render.add_argument(
        "--path", metavar="S1,S2,...", help="draw one entity's status history on machine NAME"
    )
    definition_option(render, "--from")
    render.set_defaults(run=run)


def _formats(raw: str) -> list[str]:
    from statemachine.io.render import FORMATS

    formats = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"unknown format(s) {', '.join(unknown) or raw!r}; choose from {','.join(FORMATS)}"
        )
    return formats


def run(args: argparse.Namespace) -> int:
    from statemachine.checks.finding import Severity
    from statemachine.io.render import INSTALL_DOT, render_files, stale, write

    formats = _formats(args.format)
    if args.path is not None:
        return _render_path(args, formats)
    found = registry(args.paths)
    errors = [f for f in found.findings if f.severity is Severity.ERROR]
    if errors:
        for finding in errors:
            print(finding, file=sys.stderr)
        raise UsageError("fix the definitions first (`statemachine check`)")
    out = Path(args.output or "diagrams")
    rendered = render_files(found.machines.values(), out, formats)
    if rendered.dot_missing:
        print(f"statemachine: warning: {INSTALL_DOT}", file=sys.stderr)
    if args.check:
        problems = stale(rendered)
        for line in problems:
            print(line)
        total = len(rendered.files)
        print(
            f"{len(problems)} of {total} diagram file(s) stale or missing; "
            "run `statemachine render`"
            if problems
            else f"{total} diagram file(s) fresh",
            file=sys.stderr,
        )
        return EXIT_FAILED if problems or rendered.dot_missing else EXIT_OK
    written = write(rendered)
    for path in written:
        print(f"wrote {path}")
    print(
        f"{len(written)} of {len(rendered.files)} diagram file(s) written, the rest unchanged",
        file=sys.stderr,
    )
    return EXIT_FAILED if rendered.dot_missing else EXIT_OK


def _render_path(args: argparse.Namespace, formats: list[str]) -> int:
    from statemachine.io.diagrams import path_graph
    from statemachine.io.render import INSTALL_DOT, diagram_path, drawn, has_dot

    if len(args.paths) != 1:
        raise UsageError(
            "render --path takes one machine NAME: "
            "statemachine render NAME --path created,sent,completed"
        )
    statuses = [s.strip() for s in args.path.split(",") if s.strip()]
    if not statuses:
        raise UsageError("--path needs at least one status")
    found = named_definition(args.paths[0], args.sources)
    structural(found, statuses)
    graph, error = path_graph(found, statuses)
    out = Path(args.output or ".")
    for fmt in formats:
        target = diagram_path(out, found, fmt, suffix="-path")
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "dot":
            target.write_text(graph.source)
        elif fmt == "mmd":
            continue  # a history is drawn with Graphviz only
        elif not has_dot():
            print(f"statemachine: warning: {INSTALL_DOT}", file=sys.stderr)
            continue
        else:
            target.write_bytes(drawn(graph.source, fmt))
        print(f"wrote {target}")
    if error:
        print(f"illegal step: {error}")
        return EXIT_FAILED
    return EXIT_OK
