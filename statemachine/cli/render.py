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
    shown_path,
    structural,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    render = sub.add_parser(
        "render", help="draw lifecycle diagrams (default: the configured or bundled machines)"
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
        help="output folder (default: the configured one, else diagrams/; . with --path)",
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
    from statemachine.diagrams.files import FORMATS

    formats = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"unknown format(s) {', '.join(unknown) or raw!r}; choose from {','.join(FORMATS)}"
        )
    return formats


def _destination(args: argparse.Namespace) -> tuple[Path, list[str]]:
    """Where diagrams go and the definition folders the index names: `-o` or the configured
    diagram folder (`[tool.statemachine]`), else `diagrams/` for the bundled machines."""
    from statemachine.io.config import ConfigError, find_config

    try:
        config = None if args.paths else find_config(Path.cwd())
    except ConfigError as err:
        raise UsageError(str(err)) from None
    if args.paths:
        sources = list(args.paths)
    elif config is not None:
        sources = [
            m.relative_to(config.root).as_posix() + ("/" if m.is_dir() else "")
            for m in config.machines
        ]
    else:
        # the bundled machines, named as the repository's folder (installed, it is `bundled/`)
        sources = ["machines/"]
    if args.output:
        return Path(args.output), sources
    return (shown_path(config.diagrams) if config else Path("diagrams")), sources


def _output_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a directory; -o names the folder diagrams are written to")


def _written(rendered: Any) -> list[Path]:
    """`write(rendered)`, with a folder or file that cannot be written as a usage error."""
    from statemachine.diagrams.files import write

    try:
        return write(rendered)
    except OSError as err:
        raise UsageError(f"{err.filename}: cannot write: {err.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from statemachine.checks.finding import Severity
    from statemachine.diagrams.files import INSTALL_DOT, render_files, stale

    formats = _formats(args.format)
    if args.path is not None:
        return _render_path(args, formats)
    found = registry(args.paths)
    errors = [f for f in found.findings if f.severity is Severity.ERROR]
    if errors:
        for finding in errors:
            print(finding, file=sys.stderr)
        raise UsageError("fix the definitions first (`statemachine check`)")
    out, sources = _destination(args)
    _output_folder(out)
    rendered = render_files(found.machines.values(), out, formats, sources)
    if rendered.dot_missing:
        print(f"statemachine: warning: {INSTALL_DOT}", file=sys.stderr)
    if args.check:
        try:
            problems = stale(rendered)
        except OSError as err:
            raise UsageError(f"{err.filename}: cannot read: {err.strerror}") from None
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
    written = _written(rendered)
    for path in written:
        print(f"wrote {path}")
    print(
        f"{len(written)} of {len(rendered.files)} diagram file(s) written, the rest unchanged",
        file=sys.stderr,
    )
    return EXIT_FAILED if rendered.dot_missing else EXIT_OK


def _render_path(args: argparse.Namespace, formats: list[str]) -> int:
    from statemachine.diagrams.dot import path_graph
    from statemachine.diagrams.files import INSTALL_DOT, Rendered, diagram_path, drawn, has_dot

    if len(args.paths) != 1:
        raise UsageError(
            "render --path takes one machine NAME: "
            "statemachine render NAME --path created,sent,completed"
        )
    statuses = [s.strip() for s in args.path.split(",") if s.strip()]
    if not statuses:
        raise UsageError("--path needs at least one status")
    found = named_definition(args.paths[0], args.sources)
    lc = structural(found, statuses)
    steps = lc.steps(statuses)
    reached = lc.canonical(statuses[0])
    taken = []
    for step in steps:
        if step.move is not None:
            taken.append((step.move.source, step.move.dest))
            reached = step.move.dest
    bad = steps[-1] if steps and steps[-1].error else None
    illegal = (
        (lc.canonical(bad.source), lc.canonical(bad.dest), f"step {bad.index}: illegal")
        if bad is not None
        else None
    )
    source = path_graph(found, taken, reached, illegal).source
    out = Path(args.output or ".")
    _output_folder(out)
    files = {}
    for fmt in formats:
        target = diagram_path(out, found, fmt, suffix="-path")
        if fmt == "dot":
            files[target] = source.encode()
        elif fmt == "mmd":
            continue  # a history is drawn with Graphviz only
        elif not has_dot():
            print(f"statemachine: warning: {INSTALL_DOT}", file=sys.stderr)
        else:
            files[target] = drawn(source, fmt)
    for path in _written(Rendered(files)):
        print(f"wrote {path}")
    if bad is not None:
        print(f"illegal step: {bad.error}")
        return EXIT_FAILED
    return EXIT_OK
