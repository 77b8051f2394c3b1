"""The event-by-event fold: the runtime's own replay over Arrow batches, in linear time.

The engines judge most entities in one sorted pass (`statemachine.sql.audit.judged_sql`);
the entities whose one-pass rows may be wrong, and every entity in the Python engine, are
handed here as batches of events sorted by entity, then by `HISTORY_ORDER`. An entity may
span batches: what the replay keeps of it (its status and last key) goes on to the next, so
memory holds one batch however long a history is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from statemachine.graph.relation import Kind
from statemachine.model.definition import Definition
from statemachine.runtime.streams import Kept, judging
from statemachine.sql.audit import VERDICT_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FOLD_INPUT", "fold", "verdict_schema"]

#: the columns `fold` reads, sorted by id, then seq, ts and ord (NULLs last)
FOLD_INPUT = ("id", "ord", "status", "seq", "ts", "event_id")


def verdict_schema(ts: pa.Field | None = None) -> pa.Schema:
    """The Arrow schema of `fold`'s batches: `VERDICT_COLUMNS` with their types; `ts`, the
    field of the times folded (they go out as they came in: Spark's carry the session's time
    zone)."""
    import pyarrow as pa

    kinds = {"ord": pa.int64(), "rn": pa.int64(), "seq": pa.int64(), "ts": pa.timestamp("us")}
    schema = pa.schema([(name, kinds.get(name, pa.string())) for name in VERDICT_COLUMNS])
    return schema if ts is None else schema.set(VERDICT_COLUMNS.index("ts"), ts)


def fold(definition: Definition, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The rows of `audit_sql` for the events in `batches` (the columns of `FOLD_INPUT`,
    sorted), as the runtime's replay gives them, a batch for each batch."""
    import pyarrow as pa

    # the replay's judge, handed the typed values as they are (an `Event` for each would
    # check and convert them again: a third of the fold's time); it keeps the entity a batch
    # ends with, which may go on in the next, and forgets the others
    entities: dict[str, Kept] = {}
    judge = judging(definition, entities=entities)
    resolve = definition.resolve
    names = {kind: str(kind) for kind in Kind}
    made = ("rn", "verdict", "before", "after", "state", "missing", "through")
    rn, previous = 0, None
    for batch in batches:
        if not batch.num_rows:
            continue
        schema = verdict_schema(batch.schema.field("ts"))
        ids, ords, statuses, seqs, event_ids = (
            batch.column(name).to_pylist() for name in FOLD_INPUT if name != "ts"
        )
        out: dict[str, list[Any]] = {name: [] for name in made}
        # each column's append bound once: the loop runs once an event
        rns, kinds, befores, afters, states, skipped, through = (out[n].append for n in made)
        for ident, status, seq, at, event_id in zip(
            ids, statuses, seqs, _times(batch.column("ts")), event_ids, strict=True
        ):
            rn = rn + 1 if ident == previous else 1
            previous = ident
            key = None if seq is None and at is None and event_id is None else (seq, at, event_id)
            verdict = judge(ident, status, key)
            rns(rn)
            kinds(names[verdict.kind])
            befores(verdict.before)
            afters(verdict.after)
            states(resolve(status))
            skipped(",".join(verdict.skipped) if verdict.skipped else "")
            through(",".join(verdict.through) if verdict.through else "")
        going_on = entities.get(ids[-1])
        entities.clear()
        if going_on is not None:
            entities[ids[-1]] = going_on
        columns = {"id": ids, "ord": ords, "status": statuses, "seq": seqs, "event_id": event_ids}
        arrays = [
            batch.column("ts")
            if name == "ts"
            else pa.array(columns[name] if name in columns else out[name], schema.field(name).type)
            for name in schema.names
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _times(column: pa.Array) -> list[datetime | None]:
    """The times of `column` as UTC datetimes (as an `Event` holds them: its keys are
    compared), read as ISO text with its offset: Arrow writes it and Python parses it four
    times faster than Arrow makes datetimes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parse = datetime.fromisoformat
    text = column.cast(pa.timestamp(column.type.unit)).cast(pa.string())
    return [
        None if value is None else parse(value)
        for value in pc.binary_join_element_wise(text, "+00:00", "").to_pylist()
    ]
