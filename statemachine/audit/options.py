"""What an audit is asked: how to read and judge the data, and which files to write."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import attrs

from statemachine.audit.data import Columns
from statemachine.audit.report import FINDINGS_SQL
from statemachine.model.definition import Definition

__all__ = ["Options", "Outputs", "exports"]


@attrs.frozen
class Options:
    """How to read and judge the data."""

    columns: Columns = Columns()
    #: the time stuck is judged at (None: the latest event time)
    as_of: datetime | None = None
    #: state -> how long it may last, over the definition's own `stale_after`
    stale_after: dict[str, timedelta] = attrs.field(factory=dict)

    def judged_at(self, latest: datetime | None) -> datetime | None:
        """The time stuck is judged at: `as_of`, else `latest` (the latest event time)."""
        return self.as_of if self.as_of is not None else latest

    def limits(self, definition: Definition) -> dict[str, timedelta]:
        found = {n: s.stale_after for n, s in definition.states.items() if s.stale_after}
        return {**found, **self.stale_after}


@attrs.frozen
class Outputs:
    """Files to write besides the report (CSV or Parquet, by extension)."""

    findings: Path | None = None
    #: every event with its verdict (the columns of `VERDICT_COLUMNS`)
    events: Path | None = None
    #: every entity: id, events, final, entered, first_verdict, stuck
    entities: Path | None = None
    #: further files, each with the query over `verdicts`, `entities` and `events` that
    #: fills it (the coupled audit's per-machine timelines)
    extra: tuple[tuple[Path, str], ...] = ()


def exports(outputs: Outputs) -> list[tuple[Path, str]]:
    """Each requested file with the query over `verdicts` and `entities` that fills it."""
    wanted = (
        (outputs.findings, FINDINGS_SQL),
        (outputs.events, "SELECT * FROM verdicts ORDER BY ord"),
        (outputs.entities, "SELECT * FROM entities ORDER BY id"),
    )
    return [(path, sql) for path, sql in wanted if path is not None] + list(outputs.extra)
