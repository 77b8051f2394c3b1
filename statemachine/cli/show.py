"""`statemachine show`: one machine as loaded, for people or (JSON) for other tools."""

from __future__ import annotations

import argparse
import json
from typing import Any

from statemachine.cli.common import EXIT_OK, definition_option, named_definition

__all__ = ["register"]


def register(sub: Any) -> None:
    show = sub.add_parser("show", help="show one machine as loaded")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--format", choices=["text", "json"], default="text")
    definition_option(show, "--path")
    show.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from statemachine.cli.output import printable
    from statemachine.io.export import definition_to_dict

    definition = named_definition(args.name, args.sources)
    data = definition_to_dict(definition)
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    lines = [f"{data['name']}: {data['title']} ({data['object']}.{data['field']})"]
    lines.append(f"initial: {', '.join(data['entries'])}")
    lines.append("states:")
    for s in data["states"]:
        lines.append(f"  {s['name']}{' (final)' if s['final'] else ''}  {s['description']}")
    lines.append("transitions:")
    for t in data["transitions"]:
        cond = f" [{' & '.join(t['conditions'])}]" if t["conditions"] else ""
        lines.append(f"  {t['source']} --{t['trigger']}{cond}--> {t['dest']}")
    lines.extend(f"alias: {name} -> {alias['state']}" for name, alias in data["aliases"].items())
    lines.extend(f"acknowledgement only: {ack['name']}" for ack in data["acknowledgements"])
    lines.extend(
        f"mapping {name}: {len(mapping['entries'])} entries"
        for name, mapping in data["mappings"].items()
    )
    for related in definition.related.values():
        lines.append(f"related {related.machine} (key {related.key}):")
        lines.extend(f"  {c.summary()}" for c in related.rules)
    if definition.rules:
        lines.append("rules:")
        lines.extend(f"  {c.summary()}" for c in definition.rules)
    for line in lines:
        print(printable(line))
    return EXIT_OK
