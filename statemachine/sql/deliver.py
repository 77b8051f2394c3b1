"""One delivery judged and written by PostgreSQL in one round trip, the runtime's `Verdict`
back: the Python path for many worker processes sharing one table.

`Delivery(definition, table).apply(conn, id, status, seq=...)` calls the generated
`apply_<table>()` (`statemachine sql --enforce`): under the row's lock it reads the stored
status and ordering keys, judges the status as the runtime does under its default policy,
writes what that policy applies (a row for a new entity), and returns the verdict. No
read-classify-write in the handler, so two workers handling two callbacks of one call at once
cannot both judge against the same stale read. psycopg 3 (the extra `postgres`) is the
caller's: this module only calls `execute` on the connection it is given, sync or async.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from statemachine.graph import Kind
from statemachine.model.definition import Definition
from statemachine.runtime.streams import Verdict, shown, verdicts
from statemachine.sql.postgres import quote_ident

if TYPE_CHECKING:
    import psycopg

__all__ = ["Delivery"]


def _call(definition: Definition, table: str, keys: Sequence[str]) -> str:
    """The SELECT calling `apply_<table>` with the ordering keys `keys` by name (the others
    take their default, NULL: the stored key stays)."""
    args = ", ".join(f"{name} => %({name})s" for name in ("id", "status", *keys))
    function = f"{quote_ident(definition.name)}.{quote_ident(f'apply_{table}')}"
    return f"SELECT kind, before, after, missing, through FROM {function}({args})"


@attrs.frozen
class Delivery:
    """Deliveries of statuses to `table`, enforced by `definition` (the DDL of
    `statemachine sql NAME --dialect postgres --enforce --table TABLE` must have run)."""

    definition: Definition
    table: str

    def _query(
        self, row_id: object, status: str, seq: int | None, at: datetime | None
    ) -> tuple[str, dict[str, Any]]:
        given = {"id": row_id, "status": status, "seq": seq, "at": at}
        keys = [name for name in ("seq", "at") if given[name] is not None]
        return _call(self.definition, self.table, keys), given

    def _verdict(self, status: str, found: tuple[Any, ...] | None) -> Verdict:
        assert found is not None, "apply_<table> returns one row"
        kind, before, after, missing, through = found
        verdict = Verdict(Kind(kind), status, before, after, tuple(missing), tuple(through))
        # the sentence the runtime gives the graph's verdict; an ordering key can make it
        # another kind (older: stale; newer on a cycle: skipped)
        table = verdicts(self.definition)
        graph = table.of(before, status)
        if graph.kind is verdict.kind:
            message = graph.message
        elif verdict.kind is Kind.STALE:
            message = f"late {shown(status)}: its ordering key is older than the stored one's"
        elif graph.kind is Kind.AMBIGUOUS:
            message = f"{graph.message}; its newer key puts it ahead"
        else:  # the database's own rule: a row holding no status takes any status
            message = f"{shown(str(before))} is no status of {self.definition.name}: repaired"
        return attrs.evolve(verdict, message=message)

    def apply(
        self,
        conn: psycopg.Connection[Any],
        row_id: object,
        status: str,
        *,
        seq: int | None = None,
        at: datetime | None = None,
    ) -> Verdict:
        """Judge and write `status` for row `row_id` (with its ordering keys) in one round
        trip; the verdict says what happened (an illegal or unknown status is not written)."""
        query, given = self._query(row_id, status, seq, at)
        return self._verdict(status, conn.execute(query, given).fetchone())

    async def apply_async(
        self,
        conn: psycopg.AsyncConnection[Any],
        row_id: object,
        status: str,
        *,
        seq: int | None = None,
        at: datetime | None = None,
    ) -> Verdict:
        """`apply` on an asyncio connection."""
        query, given = self._query(row_id, status, seq, at)
        cur = await conn.execute(query, given)
        return self._verdict(status, await cur.fetchone())
