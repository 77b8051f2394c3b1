"""The coupled rules as SQL generated from a relation's tables, for DuckDB and Spark SQL.

Each machine's events are first judged alone by the audit (`statemachine.sql.audit`); its
*timeline* relation (`timeline_sql`, over the audit's `verdicts` and `events`) holds every
event with what the rules read:

    id, rn, ts, moving, state, f_<column>...

(`rn`: the place in the entity's audit order; `moving`: the verdict moves the entity;
`state`: the entity's state after the event; `f_<column>`: a column of the data the rules
read, as text). `coupled_sql` reads a parent's and a child's timelines and returns one row
per violation of the relation's rules, `fields_sql` one per violation of a machine's own
field rules; both in the columns of `statemachine.coupled.COLUMNS`, ordered as
`statemachine.coupled.judge` orders them (the reference they agree with).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from statemachine.coupled import Coupling, FieldRule, Rule, coupling_of, field_rules_of
from statemachine.model.coupling import Quantity, RuleKind
from statemachine.model.definition import Definition
from statemachine.sql.audit import MOVING, literal

__all__ = [
    "NO_VIOLATIONS",
    "ORDER",
    "coupled_sql",
    "ends_sql",
    "fields_sql",
    "kept",
    "parent_fields",
    "relation_name",
    "timeline_sql",
]

#: how violations are listed (as `statemachine.coupled.Violation.order`)
ORDER = "ORDER BY code, parent_id, COALESCE(child_id, ''), message"


def kept(column: str) -> str:
    """The name data column `column` goes by in the audit's `events` and in a timeline."""
    return "f_" + column


def _quoted(name: str, dialect: str) -> str:
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def _col(column: str, dialect: str) -> str:
    return _quoted(kept(column), dialect)


def relation_name(machine: str) -> str:
    """The name a machine's timeline relation goes by in the generated SQL."""
    return "t_" + "".join(c if c.isalnum() else "_" for c in machine)


def _by(dialect: str) -> tuple[str, str]:
    """The (first, last) aggregates: the value at the least/greatest key, NULL values kept
    and rows with a NULL key skipped."""
    if dialect == "duckdb":
        return "arg_min_null", "arg_max_null"
    if dialect == "spark":
        return "min_by", "max_by"
    raise ValueError(f"the coupled audit reads DuckDB or Spark SQL, not {dialect!r}")


def _list(values: Iterable[str]) -> str:
    """An SQL list for `IN (...)`; never empty (no state is spelled '')."""
    return ", ".join(literal(v) for v in sorted(values)) or "''"


def _values(columns: str, rows: Iterable[tuple[str, ...]]) -> str:
    """A VALUES table (one row of NULLs, matching nothing, when `rows` is empty)."""
    body = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    width = columns.count(",") + 1
    if not body:
        body = "(" + ", ".join(["CAST(NULL AS STRING)"] * width) + ")"
    return f"(SELECT * FROM (VALUES {body}) AS v({columns}))"


def timeline_sql(keep: Sequence[str], dialect: str) -> str:
    """One machine's timeline from the audit's `verdicts` and `events` (joined by `ord` only
    when columns are kept)."""
    moving = ", ".join(literal(k) for k in MOVING)
    columns = "".join(f", e.{_col(c, dialect)}" for c in keep)
    join = " JOIN events e ON e.ord = v.ord" if keep else ""
    return (
        f"SELECT v.id, v.rn, v.ts, v.verdict IN ({moving}) AS moving, v.after AS state"
        f"{columns} FROM verdicts v{join}"
    )


def ends_sql(relation: str, dialect: str, last: Collection[str], key: str | None = None) -> str:
    """One row per entity of timeline `relation` with a move: `id, final, end_at, first_at,
    first_state`, each column of `last` on the last event (`l_<column>`) and on the last move
    (`s_<column>`), and (`key` given) `parent_id`: the first value of `key`."""
    first, final = _by(dialect)
    move = "CASE WHEN moving THEN rn END"
    parts = [
        "id",
        f"{final}(state, {move}) AS final",
        f"{final}(ts, {move}) AS end_at",
        f"{first}(ts, {move}) AS first_at",
        f"{first}(state, {move}) AS first_state",
    ]
    for column in sorted(last):
        col = _col(column, dialect)
        parts.append(f"{final}({col}, rn) AS {_quoted('l_' + column, dialect)}")
        parts.append(f"{final}({col}, {move}) AS {_quoted('s_' + column, dialect)}")
    if key is not None:
        col = _col(key, dialect)
        parts.append(f"{first}({col}, CASE WHEN {col} IS NOT NULL THEN rn END) AS parent_id")
    return (
        f"SELECT {', '.join(parts)} FROM {relation} GROUP BY id "
        "HAVING count(CASE WHEN moving THEN 1 END) > 0"
    )


def parent_fields(coupling: Coupling) -> frozenset[str]:
    """The parent's columns the relation's rules read: counters and `matches` fields."""
    found: set[str] = set()
    for rule in coupling.rules:
        if rule.kind is RuleKind.COUNTS:
            found.update(rule.counters)
        elif rule.kind is RuleKind.MATCHES and rule.constraint.field:
            found.add(rule.constraint.field)
    return frozenset(found)


def _select(
    rule: Rule | FieldRule,
    machines: tuple[str, str | None],
    ids: tuple[str, str],
    at: tuple[str, str],
    message: str,
) -> str:
    """A violation row's columns, in order: `machines` (parent, child) by name, `ids` and
    `at` (parent's, child's) and `message` as SQL."""
    child = literal(machines[1]) if machines[1] is not None else "NULL"
    return (
        f"SELECT {literal(rule.code)} AS code, {literal(str(rule.kind))} AS rule, "
        f"{literal(str(rule.severity))} AS severity, {literal(machines[0])} AS parent_machine, "
        f"{ids[0]} AS parent_id, CAST({child} AS STRING) AS child_machine, "
        f"CAST({ids[1]} AS STRING) AS child_id, CAST({at[0]} AS TIMESTAMP) AS parent_at, "
        f"CAST({at[1]} AS TIMESTAMP) AS child_at, {message} AS message"
    )


class _Generator:
    def __init__(self, c: Coupling, dialect: str, columns: Collection[str]) -> None:
        self.c, self.dialect, self.columns = c, dialect, frozenset(columns)
        self.first, self.last = _by(dialect)
        self.ctes: list[tuple[str, str]] = []
        self.parts: list[str] = []
        self.p, self.k = literal(c.parent.name + " "), literal(c.child.name + " ")

    def select(self, rule: Rule, ids: tuple[str, str], at: tuple[str, str], msg: str) -> str:
        return _select(rule, (self.c.parent.name, self.c.child.name), ids, at, msg)

    def blocks_start(self, i: int, rule: Rule) -> None:
        if rule.child_states:
            self.ctes.append(
                (
                    f"start{i}",
                    f"SELECT k.id, k.parent_id, {self.first}(m.ts, m.rn) AS ts, "
                    f"{self.first}(m.state, m.rn) AS state FROM kids k JOIN cm m ON m.id = k.id "
                    f"AND m.state IN ({_list(rule.child_states)}) GROUP BY k.id, k.parent_id",
                )
            )
            starts = f"start{i}"
        else:
            starts = "(SELECT id, parent_id, first_at AS ts, first_state AS state FROM kids)"
        # the parent's status at a start is its last move (in history order) at or before it:
        # the one move whose time is at or before the start and before every later move's
        # (`until`), so each start meets at most one of the blocking moves and nothing groups
        self.ctes.append(
            (
                f"blocked{i}",
                "SELECT s.parent_id, s.id, s.ts, s.state, p.state AS pstate, p.ts AS pat "
                f"FROM {starts} s JOIN pu p ON p.id = s.parent_id AND p.ts <= s.ts "
                "AND (p.until IS NULL OR s.ts < p.until) "
                f"WHERE p.state IN ({_list(rule.parent_states)})",
            )
        )
        message = (
            f"{self.k} || id || ' started (' || state || ') while ' || {self.p} || parent_id "
            "|| ' was ' || pstate"
        )
        select = self.select(rule, ("parent_id", "id"), ("pat", "ts"), message)
        self.parts.append(f"{select} FROM blocked{i}")

    def requires_final(self, i: int, rule: Rule) -> None:
        self.ctes.append(
            (
                f"present{i}",
                "SELECT p.id AS parent_id, p.rn AS prn, p.ts AS t, p.state AS pstate, k.id, "
                "k.final, k.end_at FROM pm p JOIN kids k ON k.parent_id = p.id "
                f"AND k.first_at <= p.ts WHERE p.state IN ({_list(rule.parent_states)})",
            )
        )
        # a child whose last move came before the parent's is in its final state then; only
        # the few still moving afterwards are looked up among their moves
        self.ctes.append(
            (
                f"required{i}",
                f"SELECT parent_id, prn, t, pstate, id, final AS cstate, end_at AS cat "
                f"FROM present{i} WHERE end_at <= t UNION ALL "
                f"SELECT r.parent_id, r.prn, r.t, r.pstate, r.id, {self.last}(m.state, m.rn), "
                f"{self.last}(m.ts, m.rn) FROM present{i} r JOIN cm m ON m.id = r.id "
                "AND m.ts <= r.t WHERE r.end_at IS NULL OR r.end_at > r.t "
                "GROUP BY r.parent_id, r.prn, r.t, r.pstate, r.id",
            )
        )
        first = self.first
        self.ctes.append(
            (
                f"unfinished{i}",
                f"SELECT parent_id, id, {first}(t, prn) AS t, {first}(pstate, prn) AS pstate, "
                f"{first}(cstate, prn) AS cstate, {first}(cat, prn) AS cat FROM required{i} "
                f"WHERE cstate NOT IN ({_list(self.c.child_final)}) GROUP BY parent_id, id",
            )
        )
        message = (
            f"{self.p} || parent_id || ' entered ' || pstate || ' while ' || {self.k} || id "
            "|| ' was ' || cstate || ', not final'"
        )
        select = self.select(rule, ("parent_id", "id"), ("t", "cat"), message)
        self.parts.append(f"{select} FROM unfinished{i}")

    def children_agree(self, i: int, rule: Rule) -> None:
        states = _list(rule.child_states)
        if rule.constraint.reached:
            self.ctes.append(
                (f"reached{i}", f"SELECT DISTINCT id FROM cm WHERE state IN ({states})")
            )
            join, inside = f"LEFT JOIN reached{i} r ON r.id = k.id", "r.id IS NOT NULL"
        else:
            join, inside = "", f"k.final IN ({states})"
        self.ctes.append(
            (
                f"agree{i}",
                "SELECT p.id AS parent_id, p.final AS pstate, p.end_at, count(k.id) AS total, "
                f"sum(CASE WHEN {inside} THEN 1 ELSE 0 END) AS n, "
                f"min(CASE WHEN {inside} THEN k.id END) AS first_in, "
                f"min(CASE WHEN k.id IS NOT NULL AND NOT ({inside}) THEN k.id END) AS first_out "
                f"FROM pe p LEFT JOIN kids k ON k.parent_id = p.id {join} "
                f"WHERE p.final IN ({_list(rule.parent_states)}) "
                "GROUP BY p.id, p.final, p.end_at",
            )
        )
        quantity = rule.constraint.quantity or Quantity.SOME
        bad, example = {
            Quantity.ONE: ("n <> 1", "CASE WHEN n > 1 THEN first_in END"),
            Quantity.SOME: ("n < 1", "NULL"),
            Quantity.NONE: ("n > 0", "first_in"),
            Quantity.ALL: ("n <> total OR total = 0", "first_out"),
        }[quantity]
        how = "reached" if rule.constraint.reached else "ended in"
        message = (
            f"{self.p} || parent_id || ' ended ' || pstate || ' with ' || CAST(n AS STRING) "
            f"|| ' of ' || CAST(total AS STRING) || "
            f"{literal(f' {self.c.child.name} that {how} ' + ', '.join(sorted(rule.child_states)))}"
            f" || {literal(f'; expected {quantity}')}"
        )
        select = self.select(rule, ("parent_id", example), ("end_at", "NULL"), message)
        self.parts.append(f"{select} FROM agree{i} WHERE {bad}")

    def counts(self, i: int, rule: Rule) -> None:
        labels = sorted(label for label in rule.counters if label in self.columns)
        if not labels:
            return
        sums = ", ".join(
            f"sum(CASE WHEN k.final IN ({_list(rule.counters[label])}) THEN 1 ELSE 0 END) AS n{j}"
            for j, label in enumerate(labels)
        )
        values = ", ".join(
            f"p.{_quoted('l_' + label, self.dialect)} AS v{j}" for j, label in enumerate(labels)
        )
        groups = ", ".join(f"p.{_quoted('l_' + label, self.dialect)}" for label in labels)
        self.ctes.append(
            (
                f"counted{i}",
                f"SELECT p.id AS parent_id, p.end_at, {values}, {sums} FROM pe p "
                f"LEFT JOIN kids k ON k.parent_id = p.id "
                f"WHERE p.final IN ({_list(self.c.parent_final)}) "
                f"GROUP BY p.id, p.end_at, {groups}",
            )
        )
        for j, label in enumerate(labels):
            message = (
                f"{self.p} || parent_id || {literal(f' has {label} = ')} || v{j} || ' but ' || "
                f"CAST(n{j} AS STRING) || "
                f"{literal(f' {self.c.child.name} ended in a state it counts')}"
            )
            select = self.select(rule, ("parent_id", "NULL"), ("end_at", "NULL"), message)
            number = f"try_cast(v{j} AS DOUBLE)"
            self.parts.append(
                f"{select} FROM counted{i} WHERE {number} IS NOT NULL AND {number} <> n{j}"
            )

    def matches(self, i: int, rule: Rule) -> None:
        field = rule.constraint.field or ""
        if field not in self.columns:
            return
        value = f"p.{_quoted('l_' + field, self.dialect)}"
        fits = _values(
            "state, label", ((s, label) for s, labels in rule.labels.items() for label in labels)
        )
        shown = _values(
            "state, shown",
            ((s, ", ".join(sorted(labels))) for s, labels in rule.labels.items() if labels),
        )
        self.ctes.append(
            (
                f"mismatch{i}",
                f"SELECT p.id AS parent_id, p.end_at, {value} AS value, l.id, l.first_at, "
                f"l.final, w.shown FROM pe p JOIN latest l ON l.parent_id = p.id AND l.r = 1 "
                f"JOIN {shown} w ON w.state = l.final "
                f"LEFT JOIN {fits} f ON f.state = l.final AND f.label = {value} "
                f"WHERE {value} IS NOT NULL AND f.label IS NULL",
            )
        )
        message = (
            f"{self.p} || parent_id || {literal(f' has {field} = ')} || value || "
            f"{literal(f' but its latest {self.c.child.name} ')} || id || ' ended ' || final "
            "|| ' (' || shown || ')'"
        )
        select = self.select(rule, ("parent_id", "id"), ("end_at", "first_at"), message)
        self.parts.append(f"{select} FROM mismatch{i}")


_KINDS = {
    RuleKind.BLOCKS_START: _Generator.blocks_start,
    RuleKind.REQUIRES_FINAL: _Generator.requires_final,
    RuleKind.CHILDREN_AGREE: _Generator.children_agree,
    RuleKind.COUNTS: _Generator.counts,
    RuleKind.MATCHES: _Generator.matches,
}

#: no violation, in the violations' columns
NO_VIOLATIONS = (
    "SELECT CAST(NULL AS STRING) AS code, CAST(NULL AS STRING) AS rule, "
    "CAST(NULL AS STRING) AS severity, CAST(NULL AS STRING) AS parent_machine, "
    "CAST(NULL AS STRING) AS parent_id, CAST(NULL AS STRING) AS child_machine, "
    "CAST(NULL AS STRING) AS child_id, CAST(NULL AS TIMESTAMP) AS parent_at, "
    "CAST(NULL AS TIMESTAMP) AS child_at, CAST(NULL AS STRING) AS message WHERE FALSE"
)


def coupled_sql(
    parent: Definition,
    child: Definition,
    dialect: str,
    parent_columns: Collection[str],
    relations: tuple[str, str] | None = None,
) -> str:
    """The violations of `parent`'s relation to `child`, from their timelines `relations`
    (default: `relation_name` of each); `parent_columns`: the columns the parent's data has
    (a counter or `matches` field it lacks is not judged)."""
    c = coupling_of(parent, child)
    ptl, ctl = relations or (relation_name(parent.name), relation_name(child.name))
    g = _Generator(c, dialect, parent_columns)
    last = frozenset(parent_columns) & parent_fields(c)
    g.ctes += [
        ("pm", f"SELECT id, rn, ts, state FROM {ptl} WHERE moving"),
        (
            "pu",
            "SELECT id, ts, state, min(ts) OVER (PARTITION BY id ORDER BY rn "
            "ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS until FROM pm",
        ),
        ("pe", ends_sql(ptl, dialect, last)),
        ("cm", f"SELECT id, rn, ts, state FROM {ctl} WHERE moving"),
        (
            "kids",
            f"SELECT * FROM ({ends_sql(ctl, dialect, (), c.key)}) e WHERE parent_id IS NOT NULL",
        ),
        (
            "latest",
            "SELECT parent_id, id, first_at, final, row_number() OVER (PARTITION BY parent_id "
            "ORDER BY first_at DESC, id DESC) AS r FROM kids WHERE first_at IS NOT NULL",
        ),
    ]
    for i, rule in enumerate(c.rules):
        _KINDS[rule.kind](g, i, rule)
    return _query(g.ctes, g.parts, dialect)


def _query(ctes: list[tuple[str, str]], parts: list[str], dialect: str) -> str:
    body = "\nUNION ALL\n".join(parts) if parts else NO_VIOLATIONS
    text = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in ctes)
    query = f"WITH {text}\nSELECT * FROM (\n{body}\n) v {ORDER}" if ctes else f"{body}"
    return query


def fields_sql(definition: Definition, dialect: str, columns: Collection[str]) -> str | None:
    """The violations of `definition`'s own field rules whose column is among `columns`, from
    its timeline (`relation_name`); None when no such rule."""
    rules = [r for r in field_rules_of(definition) if r.field in columns]
    if not rules:
        return None
    tl = relation_name(definition.name)
    name = literal(definition.name + " ")
    machine = (definition.name, None)
    finals = definition.final_states
    parts: list[str] = []
    for rule in rules:
        value = _quoted("s_" + rule.field, dialect)
        at = ("end_at", "NULL")
        if rule.kind is RuleKind.FIELD_FITS:
            fits = _values(
                "state, label",
                ((s, label) for s, labels in rule.labels.items() for label in labels),
            )
            shown = _values(
                "state, shown",
                ((s, ", ".join(sorted(rule.labels.get(s, ()))) or "nothing") for s in finals),
            )
            message = (
                f"{name} || id || ' ended ' || final || {literal(f' with {rule.field} = ')} || "
                f"{value} || ', which does not go with it (' || w.shown || ')'"
            )
            select = _select(rule, machine, ("id", "NULL"), at, message)
            parts.append(
                f"{select} FROM e JOIN {shown} w ON w.state = e.final "
                f"LEFT JOIN {fits} f ON f.state = e.final AND f.label = {value} "
                f"WHERE {value} IS NOT NULL AND f.label IS NULL"
            )
            continue
        decisions = rule.constraint.decisions
        several = _values(
            "state, shown",
            ((s, ", ".join(c)) for s, c in rule.candidates.items() if len(c) > 1),
        )
        decided = _values(
            "state, value", ((s, v) for s, d in decisions.items() for v in d if v != "*")
        )
        star = _values("state", ((s,) for s, d in decisions.items() if "*" in d))
        message = (
            f"{name} || id || ' is ' || final || {literal(f' with {rule.field} = ')} || "
            f"COALESCE({value}, '(none)') || ': no decision among ' || m.shown || '; undecided'"
        )
        select = _select(rule, machine, ("id", "NULL"), at, message)
        parts.append(
            f"{select} FROM e JOIN {several} m ON m.state = e.final "
            f"LEFT JOIN {decided} d ON d.state = e.final AND d.value = {value} "
            f"LEFT JOIN {star} s ON s.state = e.final WHERE d.state IS NULL AND s.state IS NULL"
        )
    ends = ends_sql(tl, dialect, {r.field for r in rules})
    return _query([("e", ends)], parts, dialect)
