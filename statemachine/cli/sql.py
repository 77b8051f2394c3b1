"""`statemachine sql`: SQL generated from one machine, the audit query or PostgreSQL
enforcement of its lifecycle on a table."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import EXIT_OK, UsageError, definition_option, named_definition

if TYPE_CHECKING:
    from statemachine.model.definition import Definition

__all__ = ["register"]

#: the options that say where the lifecycle is enforced: only with --enforce
_TABLE_OPTIONS = ("table", "column", "seq", "at", "related")


def register(sub: Any) -> None:
    sql = sub.add_parser(
        "sql",
        help="print SQL generated from a machine: its audit query, or (--enforce) the "
        "PostgreSQL DDL that enforces its lifecycle on a table",
    )
    sql.add_argument("name", metavar="NAME")
    sql.add_argument("--dialect", choices=["duckdb", "spark", "postgres"], default="duckdb")
    sql.add_argument(
        "--enforce",
        action="store_true",
        help="print idempotent PostgreSQL DDL (a trigger and functions) that makes the server "
        "give every write of the status column the runtime's verdict",
    )
    sql.add_argument("--table", metavar="TABLE", help="with --enforce: the table to enforce on")
    sql.add_argument(
        "--column", metavar="COL", help="the status column (default: the machine's field)"
    )
    sql.add_argument(
        "--id", default=None, metavar="COL", help="the row id column errors name (default: id)"
    )
    sql.add_argument(
        "--seq", metavar="COL", help="a provider sequence number column (ordering key)"
    )
    sql.add_argument("--at", metavar="COL", help="an event time column (ordering key after --seq)")
    sql.add_argument(
        "--related",
        action="append",
        default=[],
        metavar="CHILD=TABLE",
        help="with --enforce: a related machine's table (repeatable); the DDL also enforces "
        "the hard rules between the machine and it (SQLSTATE = the rule's code, SM201...)",
    )
    definition_option(sql, "--path")
    sql.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.enforce:
        given = [f"--{name}" for name in (*_TABLE_OPTIONS, "id") if getattr(args, name)]
        if given:
            raise UsageError(f"{', '.join(given)} only go with --enforce")
        from statemachine.sql.audit import audit_sql

        print(audit_sql(named_definition(args.name, args.sources), args.dialect))
        return EXIT_OK
    if args.dialect != "postgres":
        raise UsageError("--enforce generates PostgreSQL only: add --dialect postgres")
    if not args.table:
        raise UsageError("--enforce needs --table TABLE: the table whose status column to enforce")
    from statemachine.sql.coupled_postgres import coupled_sql
    from statemachine.sql.postgres import IdentifierError, enforce_sql

    found = named_definition(args.name, args.sources)
    children = [
        (named_definition(child, args.sources), table)
        for child, table in (_related(found, given) for given in args.related)
    ]
    try:
        ddl = enforce_sql(
            found,
            args.table,
            column=args.column,
            id_column=args.id or "id",
            seq=args.seq,
            at=args.at,
        )
        if children:
            ddl += "\n" + coupled_sql(
                found, args.table, children, column=args.column, id_column=args.id or "id"
            )
    except IdentifierError as err:
        raise UsageError(str(err)) from None
    print(ddl, end="")
    return EXIT_OK


def _related(parent: Definition, given: str) -> tuple[str, str]:
    """(child machine, its table) from `--related CHILD=TABLE`."""
    child, sep, table = given.partition("=")
    if not sep or not child or not table:
        raise UsageError(
            f"--related takes CHILD=TABLE (a related machine and its table), not '{given}'"
        )
    if child not in parent.related:
        declared = ", ".join(parent.related) or "none"
        raise UsageError(
            f"{parent.name} declares no related machine {child} (its related machines: {declared})"
        )
    return child, table
