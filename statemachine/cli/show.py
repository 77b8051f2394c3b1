"""`statemachine show`: one machine as loaded, for people or (JSON) for other tools."""

from __future__ import annotations

import argparse
import json
from typing import Any

from statemachine.cli.common import EXIT_OK, UsageError, definition_option, registry

__all__ = ["register"]


def register(sub: Any) -> None:
    show = sub.add_parser("show", help="show one machine as loaded")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--format", choices=["text", "json"], default="text")
    definition_option(show, "--path")
    show.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from statemachine.checks.references import suggest
    from statemachine.io.export import definition_to_dict

    found = registry(args.sources)
    definition = found.get(args.name)
    if definition is None:
        raise UsageError(
            f"unknown machine '{args.name}'{suggest(args.name, found.machines)}; "
            "`statemachine list` shows them"
        )
    data = definition_to_dict(definition)
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{data['name']}: {data['title']} ({data['object']}.{data['field']})")
    print(f"initial: {', '.join(data['entries'])}")
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
