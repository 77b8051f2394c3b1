"""The generated coupled SQL (DuckDB) finds exactly what the Python reference finds.

Random timelines of every bundled relation, with what real logs have and the planted sets
may miss: times that tie, times out of history order, moves without a time, children
naming no parent or a parent with no events, events that do not move, counters that are no
numbers. Each relation's rows go into DuckDB as its timeline relations; `coupled_sql` and
`fields_sql` must return the rows `judge` and `judge_fields` return.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statemachine.coupled import (
    Move,
    Timeline,
    Violation,
    coupling_of,
    field_rules_of,
    judge,
    judge_fields,
)
from statemachine.model.definition import Definition
from statemachine.runtime import definition
from statemachine.sql.coupled import (
    coupled_sql,
    fields_sql,
    kept,
    parent_fields,
    relation_name,
)

T0 = datetime(2025, 3, 1)
PAIRS = (
    ("dialnexa.batch", "dialnexa.call"),
    ("dialnexa.workflow", "dialnexa.workflow_lead"),
    ("dialnexa.transfer", "dialnexa.transfer_leg"),
    ("dialnexa.workflow_lead", "dialnexa.call"),
)
#: a row: (time in minutes or None, moving, state, values of the kept columns)
Row = tuple[int | None, bool, str, tuple[str | None, ...]]


def rows(d: Definition, values: Sequence[st.SearchStrategy[str | None]]) -> Any:
    """One entity's timeline rows in audit order."""
    return st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 4)),
            st.booleans(),
            st.sampled_from(sorted(d.states)),
            st.tuples(*values),
        ),
        max_size=5,
    )


def table(con: Any, name: str, columns: Sequence[str], entities: dict[str, list[Row]]) -> None:
    kept_columns = "".join(f', "{kept(c)}" VARCHAR' for c in columns)
    con.execute(
        f"CREATE OR REPLACE TABLE {name} "
        f"(id VARCHAR, rn BIGINT, ts TIMESTAMP, moving BOOLEAN, state VARCHAR{kept_columns})"
    )
    for ident, history in entities.items():
        for rn, (minute, moving, state, values) in enumerate(history, 1):
            ts = None if minute is None else T0 + timedelta(minutes=minute)
            marks = ", ".join(["?"] * (5 + len(columns)))
            con.execute(
                f"INSERT INTO {name} VALUES ({marks})", [ident, rn, ts, moving, state, *values]
            )


def timelines(
    columns: Sequence[str], entities: dict[str, list[Row]], key: str | None
) -> list[Timeline]:
    """The timelines as the audit reads them back (`audit.coupled`)."""
    found = []
    for ident, history in entities.items():
        moves, last, settled, parent = [], {}, {}, None
        for minute, moving, state, values in history:
            last = dict(zip(columns, values, strict=True))
            if moving:
                moves.append(
                    Move(None if minute is None else T0 + timedelta(minutes=minute), state)
                )
                settled = last
            if parent is None and key is not None:
                parent = last.get(key)
        found.append(Timeline(ident, tuple(moves), last, settled, parent))
    return found


def found(con: Any, sql: str | None) -> list[Violation]:
    return [] if sql is None else [Violation(*row) for row in con.execute(sql).fetchall()]


PARENT_IDS = ("p0", "p1", "p2", "p3")
VALUES = st.sampled_from([None, "0", "1", "2", "x"])


@pytest.mark.parametrize(("parent_name", "child_name"), PAIRS)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_sql_and_python_agree(parent_name: str, child_name: str, data: st.DataObject) -> None:
    parent, child = definition(parent_name), definition(child_name)
    coupling = coupling_of(parent, child)
    pcols = sorted(parent_fields(coupling))
    labels = sorted(
        {label for rule in coupling.rules for ls in rule.labels.values() for label in ls}
    )
    field = st.sampled_from([None, *labels, "x"]) if labels else VALUES
    parents = data.draw(
        st.dictionaries(st.sampled_from(PARENT_IDS[:3]), rows(parent, [field] * len(pcols)))
    )
    ccols = [coupling.key]
    kids = data.draw(
        st.dictionaries(
            st.sampled_from([f"c{i}" for i in range(8)]),
            rows(child, [st.sampled_from([None, *PARENT_IDS])]),
        )
    )
    con = duckdb.connect()
    table(con, relation_name(parent.name), pcols, parents)
    table(con, relation_name(child.name), ccols, kids)
    want = judge(
        coupling, timelines(pcols, parents, None), timelines(ccols, kids, coupling.key), pcols
    )
    assert found(con, coupled_sql(parent, child, "duckdb", pcols)) == want


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_field_rules_agree(data: st.DataObject) -> None:
    call = definition("dialnexa.call")
    columns = sorted({r.field for r in field_rules_of(call)})
    labels = sorted(
        {label for r in field_rules_of(call) for ls in r.labels.values() for label in ls}
    )
    entities = data.draw(
        st.dictionaries(
            st.sampled_from([f"c{i}" for i in range(6)]),
            rows(call, [st.sampled_from([None, *labels, "x"])] * len(columns)),
        )
    )
    con = duckdb.connect()
    table(con, relation_name(call.name), columns, entities)
    want = judge_fields(call, timelines(columns, entities, None), columns)
    assert found(con, fields_sql(call, "duckdb", columns)) == want
