"""`statemachine sql`: SQL generated from one machine, the audit query or PostgreSQL
enforcement of its lifecycle on a table."""

from __future__ import annotations

import argparse
from typing import Any

from statemachine.cli.common import EXIT_OK, UsageError, definition_option, named_definition

__all__ = ["register"]

#: the options that say where the lifecycle is enforced: only with --enforce
_TABLE_OPTIONS = ("table", "column", "seq", "at")


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
    from statemachine.sql.postgres import IdentifierError, enforce_sql

    found = named_definition(args.name, args.sources)
    try:
        ddl = enforce_sql(
            found,
            args.table,
            column=args.column,
            id_column=args.id or "id",
            seq=args.seq,
            at=args.at,
        )
    except IdentifierError as err:
        raise UsageError(str(err)) from None
    print(ddl, end="")
    return EXIT_OK
