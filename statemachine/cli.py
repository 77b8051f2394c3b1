"""The `statemachine` command: check, list, show, validate and render lifecycle definitions."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from statemachine.checks.finding import Finding, Severity
from statemachine.checks.references import suggest
from statemachine.io.diagrams import path_graph
from statemachine.io.export import definition_to_dict
from statemachine.io.registry import Registry, bundled_dir, load_registry
from statemachine.io.render import (
    FORMATS,
    INSTALL_DOT,
    diagram_path,
    drawn,
    has_dot,
    render_files,
    stale,
    write,
)
from statemachine.model.definition import Definition
from statemachine.runtime import (
    AcknowledgementStatus,
    DefinitionError,
    Lifecycle,
    UnknownStatus,
    definition,
)

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable path: exit 2."""


def _registry(paths: Sequence[str]) -> Registry:
    """Definitions under `paths`, or the bundled machines when none are named."""
    bundled = bundled_dir()
    if not paths:
        return load_registry([bundled], root=bundled.parent)
    resolved = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        resolved.append(path)
    # the user's mappings may refer to bundled machines (`values: canonical.call`)
    return load_registry(resolved, context=load_registry([bundled]).machines)


def _format(finding: Finding, fmt: str, strict: bool) -> str:
    severity = Severity.ERROR if strict else finding.severity
    loc = finding.location
    if fmt == "github":
        message = finding.message.replace("%", "%25").replace("\n", "%0A")
        return (
            f"::{severity} file={loc.file},line={loc.line},col={loc.col},"
            f"title={finding.code}::{message}"
        )
    return f"{finding}" if severity is finding.severity else f"{finding} [{severity}]"


def cmd_check(args: argparse.Namespace) -> int:
    registry = _registry(args.paths)
    if not registry.files:
        raise UsageError("no definition files (*.yaml, *.yml) found in " + " ".join(args.paths))
    findings = registry.findings
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
        f"{len(registry.files)} file(s) checked: {len(errors)} error(s), {warnings} warning(s)",
        file=sys.stderr,
    )
    return EXIT_FAILED if errors else EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    registry = _registry(args.paths)
    for name in sorted(registry.machines):
        d = registry.machines[name]
        subject = f"{d.object}.{d.field}" if d.object else d.field
        print(f"{name}\t{d.title or '-'}\t{subject}\t{len(d.states)} states\t{d.file}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    registry = _registry(args.sources)
    definition = registry.get(args.name)
    if definition is None:
        raise UsageError(
            f"unknown machine '{args.name}'{suggest(args.name, registry.machines)}; "
            "`statemachine list` shows them"
        )
    data = definition_to_dict(definition)
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{data['name']}: {data['title']} ({data['object']}.{data['field']})")
    print(f"initial: {data['initial']}")
    print("states:")
    for s in data["states"]:
        print(f"  {s['name']}{' (final)' if s['final'] else ''}  {s['description']}")
    print("transitions:")
    for t in data["transitions"]:
        cond = f" [{' & '.join(t['conditions'])}]" if t["conditions"] else ""
        print(f"  {t['source']} --{t['trigger']}{cond}--> {t['dest']}")
    for name, alias in data["aliases"].items():
        print(f"alias: {name} -> {alias['state']}")
    for ack in data["acknowledgements"]:
        print(f"acknowledgement only: {ack['name']}")
    for name, mapping in data["mappings"].items():
        print(f"mapping {name}: {len(mapping['entries'])} entries")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    lc = _structural(_definition(args.name, args.sources), args.statuses)
    steps = lc.steps(args.statuses)
    print(f"0: {args.statuses[0]}  (start)")
    for step in steps:
        if step.error is None and step.move is not None:
            guard = f" if {' and '.join(step.move.conditions)}" if step.move.conditions else ""
            print(f"{step.index}: {step.source} -> {step.dest}  ({step.move.trigger}{guard})")
            continue
        print(f"{step.index}: {step.source} -> {step.dest}  ILLEGAL: {step.error}")
        return EXIT_FAILED
    return EXIT_OK


def _formats(raw: str) -> list[str]:
    formats = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"unknown format(s) {', '.join(unknown) or raw!r}; choose from {','.join(FORMATS)}"
        )
    return formats


def cmd_render(args: argparse.Namespace) -> int:
    formats = _formats(args.format)
    if args.path is not None:
        return _render_path(args, formats)
    registry = _registry(args.paths)
    errors = [f for f in registry.findings if f.severity is Severity.ERROR]
    if errors:
        for finding in errors:
            print(finding, file=sys.stderr)
        raise UsageError("fix the definitions first (`statemachine check`)")
    out = Path(args.output or "diagrams")
    rendered = render_files(registry.machines.values(), out, formats)
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
    if len(args.paths) != 1:
        raise UsageError(
            "render --path takes one machine NAME: "
            "statemachine render NAME --path created,sent,completed"
        )
    statuses = [s.strip() for s in args.path.split(",") if s.strip()]
    if not statuses:
        raise UsageError("--path needs at least one status")
    found = _definition(args.paths[0], args.sources)
    _structural(found, statuses)
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


def _definitions_option(parser: argparse.ArgumentParser, flag: str) -> None:
    parser.add_argument(
        flag,
        dest="sources",
        action="append",
        default=[],
        metavar="PATH",
        help="load definitions from PATH instead of the bundled machines",
    )


def _definition(name: str, sources: list[str]) -> Definition:
    """Machine `name` from `sources` or the bundled machines, ready to run."""
    try:
        return definition(name, [Path(p) for p in sources] or None)
    except DefinitionError as err:
        raise UsageError(str(err)) from None


def _structural(found: Definition, statuses: Sequence[str]) -> Lifecycle:
    """A lifecycle for `found` to validate `statuses` with, once each is known to be a status."""
    lc = Lifecycle(found, structural=True)
    try:
        for status in statuses:
            lc.canonical(status)
    except (UnknownStatus, AcknowledgementStatus) as err:
        raise UsageError(str(err)) from None
    return lc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statemachine",
        description="Explicit status lifecycles for voice-AI and telephony platforms.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="check definitions (default: the bundled machines)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="YAML files or directories")
    check.add_argument("--format", choices=["text", "json", "github"], default="text")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.set_defaults(func=cmd_check)

    lst = sub.add_parser("list", help="list machines, one a line, dotted name first")
    lst.add_argument("paths", nargs="*", metavar="PATH")
    lst.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="show one machine as loaded")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--format", choices=["text", "json"], default="text")
    _definitions_option(show, "--path")
    show.set_defaults(func=cmd_show)

    validate = sub.add_parser(
        "validate", help="check a sequence of statuses as one entity's history"
    )
    validate.add_argument("name", metavar="NAME")
    validate.add_argument("statuses", nargs="+", metavar="STATUS")
    _definitions_option(validate, "--path")
    validate.set_defaults(func=cmd_validate)

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
    _definitions_option(render, "--from")
    render.set_defaults(func=cmd_render)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageError as err:
        print(f"statemachine: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `statemachine list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code
