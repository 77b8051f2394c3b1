"""The coupled audit: each machine's events judged alone, then the rules between them.

A parent machine's events and each related child's are audited alone by the engine (the
rules read a few more columns: the child's key, the parent's counters, own fields), each
leaving a *timeline* (`statemachine.sql.coupled`); the relation's rules then run over the
timelines: generated SQL on DuckDB and Spark, `statemachine.coupled.judge` on Python. A
single machine whose own field rules (field_fits, decides) have their column in the data is
audited the same way, without children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from statemachine.audit.data import Columns, InputError, Source, file_columns
from statemachine.audit.duck import connect, copy_to
from statemachine.audit.engines import ENGINES, run
from statemachine.audit.options import Options, Outputs
from statemachine.audit.report import EXAMPLES, Report
from statemachine.coupled import (
    COLUMNS,
    FieldRule,
    Move,
    Timeline,
    Violation,
    coupling_of,
    field_rules_of,
    judge,
    judge_fields,
)
from statemachine.model.coupling import RuleKind
from statemachine.model.definition import Definition
from statemachine.model.finding import Severity
from statemachine.sql.coupled import (
    NO_VIOLATIONS,
    ORDER,
    coupled_sql,
    ends_sql,
    fields_sql,
    kept,
    parent_fields,
    relation_name,
    timeline_sql,
)

__all__ = ["Coupled", "Machine", "RuleCount", "audit_coupled", "judged_fields"]

Query = Callable[[str], Sequence[Sequence[Any]]]


@attrs.frozen
class Machine:
    """One machine of a coupled audit: its definition, its data files (`data.expand`, once:
    stdin is read once) and how to read them."""

    definition: Definition
    data: tuple[Source, ...]
    columns: Columns = Columns()


@attrs.frozen
class RuleCount:
    """The violations of one rule kind between two machines (or of one machine's field)."""

    code: str
    rule: str
    severity: str
    parent_machine: str
    child_machine: str | None
    count: int
    examples: tuple[Violation, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity,
            "parent_machine": self.parent_machine,
            "child_machine": self.child_machine,
            "count": self.count,
            "examples": [
                {
                    "parent_id": v.parent_id,
                    "child_id": v.child_id,
                    "parent_at": v.parent_at.isoformat() if v.parent_at else None,
                    "child_at": v.child_at.isoformat() if v.child_at else None,
                    "message": v.message,
                }
                for v in self.examples
            ],
        }


@attrs.frozen
class Coupled:
    """A coupled audit: the parent's report, each child's, and the rules' violations."""

    report: Report
    related: Mapping[str, Report]
    rules: tuple[RuleCount, ...]

    @property
    def failed(self) -> bool:
        """An event is illegal or unknown somewhere, or an error-severity rule is broken."""
        return (
            self.report.failed
            or any(r.failed for r in self.related.values())
            or any(r.count and r.severity == Severity.ERROR for r in self.rules)
        )

    def as_json(self) -> dict[str, Any]:
        """The parent's report (`Report.as_json`) with `related` (each child's report, when
        there are children) and `rules` (violations per rule with examples)."""
        found = self.report.as_json()
        if self.related:
            found["related"] = {name: r.as_json() for name, r in self.related.items()}
        found["rules"] = [r.as_json() for r in self.rules]
        return found

    def text(self) -> str:
        parts = [self.report.text()]
        parts += [report.text() for report in self.related.values()]
        lines = ["rules      none broken" if not self.rules else "rules"]
        for r in self.rules:
            between = r.parent_machine + (f" -> {r.child_machine}" if r.child_machine else "")
            lines.append(f"  {r.code} {r.rule:<15} {r.severity:<8} {r.count:>10,}  {between}")
            lines += [f"      e.g. {v.message}" for v in r.examples[:2]]
        parts.append("\n".join(lines))
        return "\n\n".join(parts)


def judged_fields(definition: Definition, present: Iterable[str]) -> tuple[str, ...]:
    """The columns of `definition`'s own field rules that the data has (`present`)."""
    have = set(present)
    return tuple(sorted({r.field for r in field_rules_of(definition) if r.field in have}))


def _keeps(parent: Machine, children: Sequence[Machine]) -> list[tuple[Machine, tuple[str, ...]]]:
    """Each machine with the columns its audit keeps for the rules. Raises `InputError` when
    a child's data lacks the key column."""
    machines: list[tuple[Machine, tuple[str, ...]]] = []
    wanted: set[str] = set()
    for child in children:
        wanted |= parent_fields(coupling_of(parent.definition, child.definition))
    present = file_columns(parent.data)
    own = judged_fields(parent.definition, present)
    machines.append((parent, tuple(sorted((wanted & present) | set(own)))))
    for child in children:
        key = coupling_of(parent.definition, child.definition).key
        present = file_columns(child.data)
        if key not in present:
            raise InputError(
                f"{', '.join(s.shown for s in child.data)}: no column '{key}' for the key of "
                f"{child.definition.name} (the {parent.definition.name} each row belongs to); "
                f"the columns are {', '.join(sorted(present))}"
            )
        own = judged_fields(child.definition, present)
        machines.append((child, tuple(sorted({key, *own}))))
    return machines


def _with_keep(options: Options, columns: Columns, keep: tuple[str, ...]) -> Options:
    return attrs.evolve(options, columns=attrs.evolve(columns, keep=keep))


def _counts(query: Query) -> tuple[RuleCount, ...]:
    """The violations of the relation `violations` summed up per rule, with examples."""
    groups = query(
        "SELECT code, rule, severity, parent_machine, child_machine, count(*) FROM violations "
        "GROUP BY code, rule, severity, parent_machine, child_machine"
    )
    examples: dict[tuple[Any, ...], list[Violation]] = {}
    for row in query(
        f"SELECT {', '.join(COLUMNS)} FROM (SELECT *, row_number() OVER (PARTITION BY code, "
        "rule, parent_machine, child_machine ORDER BY parent_id, COALESCE(child_id, ''), "
        f"message) AS n FROM violations) v WHERE n <= {EXAMPLES} {ORDER}"
    ):
        v = Violation(*row)
        examples.setdefault((v.code, v.rule, v.parent_machine, v.child_machine), []).append(v)
    found = [
        RuleCount(
            code,
            rule,
            severity,
            parent,
            child,
            int(n),
            tuple(examples[(code, rule, parent, child)]),
        )
        for code, rule, severity, parent, child, n in groups
    ]
    return tuple(sorted(found, key=lambda r: (r.code, r.parent_machine, r.child_machine or "")))


def _decides(definition: Definition, keep: Sequence[str]) -> FieldRule | None:
    """The decides rule of the `outcome` mapping whose field the data has, if any."""
    return next(
        (
            r
            for r in field_rules_of(definition)
            if r.kind is RuleKind.DECIDES and r.constraint.mapping == "outcome" and r.field in keep
        ),
        None,
    )


def _decided(report: Report, outcomes: dict[str, int] | None) -> Report:
    return report if outcomes is None else attrs.evolve(report, outcomes=outcomes)


def audit_coupled(
    parent: Machine,
    children: Sequence[Machine],
    options: Options,
    engine: str,
    outputs: Outputs | None = None,
    violations: Sequence[Path] = (),
) -> Coupled:
    """Audit `parent`'s data and each child's, then the rules between them and each machine's
    own field rules. `outputs` are the parent's audit's files; each of `violations` gets one
    row per violation (`COLUMNS`). Raises `InputError` when the data cannot be read as
    asked."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    machines = _keeps(parent, children)
    if engine == "spark":
        return _spark(machines, options, outputs or Outputs(), violations)
    return _local(machines, options, (outputs or Outputs(), violations), engine)


def _sources(machine: Machine) -> list[Source]:
    return list(machine.data)


def _local(
    machines: list[tuple[Machine, tuple[str, ...]]],
    options: Options,
    outputs: tuple[Outputs, Sequence[Path]],
    engine: str,
) -> Coupled:
    """DuckDB (generated SQL) or Python (the reference judgement) over each machine's
    timeline, taken from its audit's connection as an Arrow table (no file written and read
    back: that was a third of the coupled audit's time)."""
    reports: list[Report] = []
    con = connect()
    for i, (machine, keep) in enumerate(machines):
        audited = connect()
        reports.append(
            run(
                machine.definition,
                _sources(machine),
                _with_keep(options, machine.columns, keep),
                engine,
                outputs[0] if i == 0 else Outputs(),
                audited,
            )
        )
        con.register(
            relation_name(machine.definition.name),
            audited.sql(timeline_sql(keep, "duckdb")).to_arrow_table(),
        )
        audited.close()
    if engine == "python":
        _load_violations(con, _judged(con, machines))
    else:
        con.execute(f"CREATE TEMP TABLE violations AS {_union(machines, 'duckdb')}")

    def query(sql: str) -> Sequence[Sequence[Any]]:
        return con.execute(sql).fetchall()

    for path in outputs[1]:
        copy_to(con, f"SELECT * FROM violations {ORDER}", path)
    return _result(reports, machines, query, "duckdb")


def _load_violations(con: Any, violations: Sequence[Violation]) -> None:
    """The table `violations` in `con`, from the Python judgement's rows."""
    import pyarrow as pa

    types = {"parent_at": pa.timestamp("us"), "child_at": pa.timestamp("us")}
    rows = pa.table(  # noqa: F841 - DuckDB reads it by name
        {
            c: pa.array([v.row()[i] for v in violations], types.get(c, pa.string()))
            for i, c in enumerate(COLUMNS)
        }
    )
    con.execute("CREATE TEMP TABLE violations AS SELECT * FROM rows")


def _result(
    reports: list[Report],
    machines: list[tuple[Machine, tuple[str, ...]]],
    query: Query,
    dialect: str,
) -> Coupled:
    """The coupled audit read through `query` from the timelines and `violations`: each
    machine's report with the outcomes its decides rule gives, and the rules' counts."""
    decided = [
        _decided(report, _outcome_counts(query, machine.definition, keep, dialect))
        for report, (machine, keep) in zip(reports, machines, strict=True)
    ]
    related = {m.definition.name: r for r, (m, _) in zip(decided[1:], machines[1:], strict=True)}
    return Coupled(decided[0], related, _counts(query))


def _outcome_counts(
    query: Query, definition: Definition, keep: Sequence[str], dialect: str
) -> dict[str, int] | None:
    """Outcome label -> entities, each label decided by the rule's field (None: no such
    rule, the report's outcomes stand)."""
    rule = _decides(definition, keep)
    if rule is None:
        return None
    settled = "s_" + rule.field
    quoted = f"`{settled}`" if dialect == "spark" else f'"{settled}"'
    ends = ends_sql(relation_name(definition.name), dialect, (rule.field,))
    found: dict[str, int] = {}
    for state, value, n in query(
        f"SELECT final, {quoted}, count(*) FROM ({ends}) e GROUP BY final, {quoted}"
    ):
        label = rule.decide(state, value)
        if label is not None:
            found[label] = found.get(label, 0) + int(n)
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def _union(machines: list[tuple[Machine, tuple[str, ...]]], dialect: str) -> str:
    """Every violation: each relation's rules, then each machine's own field rules."""
    (parent, parent_keep), *children = machines
    parts = [
        coupled_sql(parent.definition, child.definition, dialect, parent_keep)
        for child, _ in children
    ]
    for machine, keep in machines:
        found = fields_sql(machine.definition, dialect, keep)
        if found is not None:
            parts.append(found)
    union = " UNION ALL ".join(f"SELECT * FROM ({p}) x{i}" for i, p in enumerate(parts))
    return f"SELECT * FROM ({union or NO_VIOLATIONS}) v {ORDER}"


def _timelines(con: Any, name: str, keep: Sequence[str], key: str | None) -> list[Timeline]:
    """The timelines of one machine read back from its relation, as the rules see them."""
    columns = ", ".join(f'"{kept(c)}"' for c in keep)
    cursor = con.execute(
        f"SELECT id, ts, moving, state{', ' + columns if columns else ''} FROM {name} "
        "ORDER BY id, rn"
    )
    found: list[Timeline] = []
    current: str | None = None
    moves: list[Move] = []
    last: dict[str, str | None] = {}
    settled: dict[str, str | None] = {}
    parent: str | None = None

    def close() -> None:
        if current is not None:
            found.append(Timeline(current, tuple(moves), dict(last), dict(settled), parent))

    while batch := cursor.fetchmany(100_000):
        for ident, at, moving, state, *values in batch:
            if ident != current:
                close()
                current, moves, settled, parent = ident, [], {}, None
            last = dict(zip(keep, values, strict=True))
            if moving:
                moves.append(Move(at, state))
                settled = last
            if parent is None and key is not None:
                parent = last.get(key)
    close()
    return found


def _judged(con: Any, machines: list[tuple[Machine, tuple[str, ...]]]) -> list[Violation]:
    """The reference: every rule judged in Python over the timelines."""
    (parent, parent_keep), *children = machines
    parents = _timelines(con, relation_name(parent.definition.name), parent_keep, None)
    found = judge_fields(parent.definition, parents, parent_keep)
    for child, keep in children:
        coupling = coupling_of(parent.definition, child.definition)
        kids = _timelines(con, relation_name(child.definition.name), keep, coupling.key)
        found += judge(coupling, parents, kids, parent_keep)
        found += judge_fields(child.definition, kids, keep)
    return sorted(found, key=Violation.order)


def _spark(
    machines: list[tuple[Machine, tuple[str, ...]]],
    options: Options,
    outputs: Outputs,
    violations: Sequence[Path],
) -> Coupled:
    """Spark: each machine's timeline kept in the executors, the generated Spark SQL over
    them."""
    from pyspark.errors import PySparkException

    from statemachine.audit.spark import export, run_spark, session

    spark = session()
    reports: list[Report] = []
    try:
        for i, (machine, keep) in enumerate(machines):
            reports.append(
                run_spark(
                    machine.definition,
                    _sources(machine),
                    _with_keep(options, machine.columns, keep),
                    outputs if i == 0 else Outputs(),
                )
            )
            # materialised with its lineage cut: the audit's plan is not deterministic
            # (monotonically_increasing_id, the fold), so Spark keeps the rules' CTEs over it
            # un-inlined, and the rewrite of their references then fails on the deep plan
            # (UnresolvedException in DeduplicateRelations)
            spark.sql(timeline_sql(keep, "spark")).localCheckpoint().createOrReplaceTempView(
                relation_name(machine.definition.name)
            )
            # the audit's cached relations are read no more: free them for the next machine's
            spark.catalog.clearCache()
        spark.sql(_union(machines, "spark")).cache().createOrReplaceTempView("violations")

        def query(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in spark.sql(sql).collect()]

        rows = f"SELECT * FROM violations {ORDER}"
        export(spark, Outputs(extra=tuple((path, rows) for path in violations)))
        return _result(reports, machines, query, "spark")
    except PySparkException as err:
        first = next(iter(str(err).strip().splitlines()), type(err).__name__)
        raise InputError(f"Spark cannot judge the rules: {first}") from None
