"""PostgreSQL enforcement of a parent machine's hard coupled rules across its table and its
children's tables, generated from the coupled room's tables (`statemachine.coupled`).

Each rule of severity `error` becomes part of two triggers per (parent table, child table):

- on the child table, BEFORE INSERT or UPDATE of its status or key: a write that starts the
  child (its first status, or an entry into the rule's `child_states` from a status that
  cannot follow them, or a move under another parent) fails with SQLSTATE SM201 while the
  parent is in a blocking state; a write that changes what a `children_agree` rule counts
  fails with SM203 when the parent already stands in the rule's state and the count with
  the new row no longer agrees;
- on the parent table, BEFORE INSERT or UPDATE of its status: entering a `requires_final`
  state with a child that is not final fails with SM202; entering a `children_agree` state
  whose children do not agree fails with SM203.

Concurrency (READ COMMITTED, PostgreSQL's default, or SERIALIZABLE): the child's trigger
locks its parent row FOR SHARE before judging, and the parent's UPDATE holds the row's own
lock while its trigger counts the children; so a child's start and its parent's move never
interleave: whichever locks first commits (or rolls back) before the other judges, and the
later one's statements see it. Children of one parent share the lock and never wait for each
other. A single-statement writer holds one parent row at a time, so writers cannot wait for
each other in a cycle; a transaction that starts a child and then moves that parent itself
can, with another doing the same (as with foreign keys). Under REPEATABLE READ a parent's
move does not see a child committed after its snapshot.

`children_agree` rules with `reached: true` count the children that ever held a state: the
child's trigger records each entry into such a state in `<parent schema>.reached_<child
table>`, seeded from the statuses rows hold when the DDL runs. Warnings, `counts` and
`matches` are not enforced: `statemachine audit` reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from statemachine.coupled import Coupling, Rule, coupling_of
from statemachine.graph import graph_of
from statemachine.model.coupling import Quantity, RuleKind
from statemachine.model.definition import Definition
from statemachine.model.finding import Severity
from statemachine.sql.postgres import _dollar, quote_ident, quote_literal

__all__ = ["coupled_sql"]

#: how many children of each quantity agree, as SQL over `n` counted and `total` children
_AGREES = {
    Quantity.ONE: "n = 1",
    Quantity.SOME: "n >= 1",
    Quantity.NONE: "n = 0",
    Quantity.ALL: "n >= 1 AND n = total",
}
_NEEDS = {
    Quantity.ONE: "exactly one",
    Quantity.SOME: "at least one",
    Quantity.NONE: "no",
    Quantity.ALL: "every (and at least one)",
}


def _values(d: Definition, states: Iterable[str]) -> list[str]:
    """`states` and every alias of them: the values a row may hold for them."""
    wanted = set(states)
    return [s for s in d.states if s in wanted] + [
        a.name for a in d.aliases.values() if a.state in wanted
    ]


def _array(values: Sequence[str]) -> str:
    return f"ARRAY[{', '.join(map(quote_literal, values))}]::text[]"


def _format(*parts: str) -> str:
    """SQL `format()` of literal text and SQL expressions, alternating (text first): a
    message that shows a NULL as nothing rather than becoming NULL."""
    template = "%s".join(text.replace("%", "%%") for text in parts[::2])
    return f"format({', '.join([quote_literal(template), *parts[1::2]])})"


def _either(states: Iterable[str]) -> str:
    *rest, last = sorted(states)
    return f"{', '.join(rest)} or {last}" if rest else last


def _after(d: Definition, states: frozenset[str]) -> frozenset[str]:
    """`states` and every state reachable from them."""
    successors = graph_of(d).successors
    seen, todo = set(states), list(states)
    while todo:
        for nxt in successors[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


class _Pair:
    """One relation's names and sets, quoted for the DDL."""

    def __init__(
        self, c: Coupling, table: str, column: str, id_column: str, child_table: str
    ) -> None:
        self.c = c
        self.schema = quote_ident(c.parent.name)
        self.table, self.col, self.id = map(quote_ident, (table, column, id_column))
        self.child_table = quote_ident(child_table)
        self.child_col, self.child_id = quote_ident(c.child.field), quote_ident("id")
        self.key = quote_ident(c.key)
        self.names = (table, child_table)
        self.column = column
        hard = [r for r in c.rules if r.severity is Severity.ERROR]
        self.blocks = [r for r in hard if r.kind is RuleKind.BLOCKS_START]
        self.finals = [r for r in hard if r.kind is RuleKind.REQUIRES_FINAL]
        self.agrees = [r for r in hard if r.kind is RuleKind.CHILDREN_AGREE]
        reached = {s for r in self.agrees if r.constraint.reached for s in r.child_states}
        self.reached_values = _values(c.child, reached)
        self.reached = f"{self.schema}.{quote_ident(f'reached_{child_table}')}" if reached else None

    def parent_in(self, rule: Rule, value: str) -> str:
        return f"{value} = ANY ({_array(_values(self.c.parent, rule.parent_states))})"

    def counted(self, rule: Rule, row: str) -> str:
        """Whether child `row` (with columns id and status) counts for `rule`."""
        values = _array(_values(self.c.child, rule.child_states))
        now = f"{row}.status = ANY ({values})"
        if not rule.constraint.reached or self.reached is None:
            return now
        return (
            f"({now} OR EXISTS (SELECT 1 FROM {self.reached} AS r "
            f"WHERE r.child = {row}.id::text AND r.state = ANY ({values})))"
        )

    def children(self, parent_id: str, new_row: bool) -> str:
        """The children of the parent `parent_id` that have a status, as (id, status); with
        `new_row`, the row being written in place of its stored version."""
        stored = (
            f"SELECT s.{self.child_id} AS id, s.{self.child_col} AS status "
            f"FROM {self.child_table} AS s "
            f"WHERE s.{self.key} = {parent_id} AND s.{self.child_col} IS NOT NULL"
        )
        if not new_row:
            return stored
        return (
            f"{stored} AND s.{self.child_id} IS DISTINCT FROM NEW.{self.child_id}\n"
            f"            UNION ALL SELECT NEW.{self.child_id}, NEW.{self.child_col}"
        )

    def agree_check(self, rule: Rule, parent_id: str, new_row: bool, who: list[str]) -> str:
        """PL/pgSQL failing with SM203 unless `rule`'s children agree; `who` begins the
        message (`_format` parts)."""
        quantity = rule.constraint.quantity or Quantity.SOME
        how = "that reached" if rule.constraint.reached else "in"
        needs = (
            f": it needs {_NEEDS[quantity]} {self.c.child.name} {how} "
            f"{_either(rule.child_states)}, found "
        )
        message = _format(*who, needs, "n", " of ", "total", f" ({rule.kind})")
        return f"""SELECT count(*) FILTER (WHERE {self.counted(rule, "c")}), count(*)
            INTO n, total FROM ({self.children(parent_id, new_row)}) AS c;
        IF NOT ({_AGREES[quantity]}) THEN
            RAISE EXCEPTION USING
                ERRCODE = {quote_literal(rule.code)},
                MESSAGE = {message},
                SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;
        END IF;"""


def _start(p: _Pair, rule: Rule) -> str:
    """SQL: whether the row's write starts the child, as `rule` counts starts. An INSERT
    starts it at a start status; an UPDATE when it enters one from no status or from a
    status no start leads to; a move under another parent once it may have started."""
    child, col, key = p.c.child, p.child_col, p.key
    everything = frozenset(child.states)
    starts = rule.child_states or everything
    values = _array(_values(child, starts))
    before = _array(_values(child, everything - _after(child, starts)))
    return (
        f"CASE WHEN TG_OP = 'INSERT' THEN NEW.{col} = ANY ({values})\n"
        f"        WHEN OLD.{key} IS DISTINCT FROM NEW.{key} THEN NOT NEW.{col} = ANY ({before})\n"
        f"        ELSE NEW.{col} = ANY ({values})\n"
        f"            AND (OLD.{col} IS NULL OR OLD.{col} = ANY ({before})) END"
    )


def _child_trigger(p: _Pair) -> str:
    c = p.c
    prelude = [f"start{i} := {_start(p, rule)};" for i, rule in enumerate(p.blocks)]
    checks: list[str] = []
    for i, rule in enumerate(p.blocks):
        message = _format(
            f"{c.child.name}: {p.names[1]} row ",
            f"NEW.{p.child_id}",
            " cannot start at ",
            f"NEW.{p.child_col}",
            f" while its {c.parent.name} ",
            f"NEW.{p.key}",
            " is ",
            "held",
            f" ({rule.kind}: no {c.child.name} may start while the {c.parent.name} is "
            f"{_either(rule.parent_states)})",
        )
        checks.append(f"""IF start{i} AND {p.parent_in(rule, "held")} THEN
        RAISE EXCEPTION USING
            ERRCODE = {quote_literal(rule.code)},
            MESSAGE = {message},
            SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
            COLUMN = {quote_literal(c.child.field)};
    END IF;""")
    who = [
        f"{c.child.name}: {p.names[1]} row ",
        f"NEW.{p.child_id}",
        " cannot be ",
        f"NEW.{p.child_col}",
        f" while its {c.parent.name} ",
        f"NEW.{p.key}",
        " is ",
        "held",
    ]
    for rule in p.agrees:
        checks.append(f"""IF {p.parent_in(rule, "held")} THEN
        {p.agree_check(rule, f"NEW.{p.key}", True, who)}
    END IF;""")
    if p.reached is not None:
        prelude.insert(
            0,
            f"""IF NEW.{p.child_col} = ANY ({_array(p.reached_values)}) THEN
        INSERT INTO {p.reached} VALUES (NEW.{p.child_id}::text, NEW.{p.child_col})
            ON CONFLICT DO NOTHING;
    END IF;""",
        )
    # every write may change what a children_agree rule counts: each locks the parent
    if not p.agrees:  # then only a start needs the parent
        needed = " OR ".join(f"start{i}" for i in range(len(p.blocks))) or "false"
        prelude.append(f"IF NOT ({needed}) THEN\n        RETURN NEW;\n    END IF;")
    declared = "".join(f"\n    start{i} boolean;" for i in range(len(p.blocks)))
    return f"""
DECLARE
    held text;
    n bigint;
    total bigint;{declared}
BEGIN
    IF NEW.{p.key} IS NULL OR NEW.{p.child_col} IS NULL THEN
        RETURN NEW;  -- no parent, or no status yet: no rule is judged
    END IF;
    {_lines(prelude)}
    -- the parent's status cannot change until this transaction ends, and a move of the
    -- parent that counts its children waits for this row
    SELECT t.{p.col} INTO held FROM {p.table} AS t WHERE t.{p.id} = NEW.{p.key} FOR SHARE;
    IF held IS NULL THEN
        RETURN NEW;  -- a parent without a status (or none at all) judges nothing
    END IF;
    {_lines(checks)}
    RETURN NEW;
END
"""


def _lines(blocks: Iterable[str]) -> str:
    return "\n    ".join(blocks)


def _parent_trigger(p: _Pair) -> str:
    c = p.c
    who = [f"{c.parent.name}: {p.names[0]} row ", f"NEW.{p.id}", " cannot enter ", f"NEW.{p.col}"]
    finals = _array(_values(c.child, c.child_final))
    checks: list[str] = []
    for rule in p.finals:
        message = _format(
            *who,
            f": {c.child.name} {p.names[1]} row ",
            "offender.id",
            " is ",
            "offender.status",
            f", not final ({rule.kind})",
        )
        checks.append(f"""IF {p.parent_in(rule, f"NEW.{p.col}")} THEN
        SELECT c.id::text AS id, c.status, count(*) OVER () AS open INTO offender
            FROM ({p.children(f"NEW.{p.id}", False)}) AS c
            WHERE NOT c.status = ANY ({finals}) ORDER BY c.id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = {quote_literal(rule.code)},
                MESSAGE = {message},
                DETAIL = {_format("", "offender.open", f" {c.child.name} not final")},
                SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                COLUMN = {quote_literal(p.column)};
        END IF;
    END IF;""")
    for rule in p.agrees:
        checks.append(f"""IF {p.parent_in(rule, f"NEW.{p.col}")} THEN
        {p.agree_check(rule, f"NEW.{p.id}", False, who)}
    END IF;""")
    return f"""
DECLARE
    offender record;
    n bigint;
    total bigint;
BEGIN
    IF NEW.{p.col} IS NULL
        OR (TG_OP = 'UPDATE' AND NEW.{p.col} IS NOT DISTINCT FROM OLD.{p.col}) THEN
        RETURN NEW;  -- no move: nothing entered
    END IF;
    {_lines(checks)}
    RETURN NEW;
END
"""


def coupled_sql(
    parent: Definition,
    table: str,
    children: Sequence[tuple[Definition, str]],
    *,
    column: str | None = None,
    id_column: str = "id",
) -> str:
    """Idempotent DDL making PostgreSQL (14 or later) enforce the hard rules between
    `parent` on `table` (status `column`, default the machine's field; rows named by
    `id_column`) and each (child machine, child table) of `children`: a child's rows hold
    their parent's id in the relation's `key` column, their status in the child machine's
    field and their own id in `id`. Raises `KeyError` for a child `parent` does not relate."""
    out = []
    for child, child_table in children:
        p = _Pair(coupling_of(parent, child), table, column or parent.field, id_column, child_table)
        child_fn = f"{p.schema}.{quote_ident(f'{child_table} under {table}')}"
        parent_fn = f"{p.schema}.{quote_ident(f'{table} with {child_table}')}"
        # named to fire after each table's own enforcement (triggers fire in name order), so
        # they see the state an alias stands for and nothing the lifecycle refuses
        on_child = quote_ident(f"{child.name}.{child.field} under {parent.name}")
        on_parent = quote_ident(f"{parent.name}.{column or parent.field} with {child.name}")
        kept = ", ".join(f"{r.code} {r.kind}" for r in [*p.blocks, *p.finals, *p.agrees])
        reached = ""
        if p.reached is not None:
            forget = f"{p.schema}.{quote_ident(f'forget reached_{child_table}')}"
            on_delete = quote_ident(f"{child.name} forgets what it reached")
            on_truncate = quote_ident(f"{child.name} forgets what they reached")
            reached = f"""
-- the children that ever entered a state a `reached` rule counts
CREATE TABLE IF NOT EXISTS {p.reached} (child text, state text, PRIMARY KEY (child, state));
INSERT INTO {p.reached}
    SELECT s.{p.child_id}::text, s.{p.child_col} FROM {p.child_table} AS s
    WHERE s.{p.child_col} = ANY ({_array(p.reached_values)})
    ON CONFLICT DO NOTHING;
-- a deleted child takes what it reached along (a new row may take its id)
CREATE OR REPLACE FUNCTION {forget}() RETURNS trigger
LANGUAGE plpgsql AS $sm$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM {p.reached};
    ELSE
        DELETE FROM {p.reached} WHERE child = OLD.{p.child_id}::text;
    END IF;
    RETURN NULL;
END
$sm$;
CREATE OR REPLACE TRIGGER {on_delete} AFTER DELETE ON {p.child_table}
    FOR EACH ROW EXECUTE FUNCTION {forget}();
CREATE OR REPLACE TRIGGER {on_truncate} AFTER TRUNCATE ON {p.child_table}
    FOR EACH STATEMENT EXECUTE FUNCTION {forget}();
"""
        out.append(f"""
-- {parent.name} on {table} with {child.name} on {child_table} ({p.c.key}): {kept or "no rule"}
{reached}
CREATE OR REPLACE FUNCTION {child_fn}() RETURNS trigger
LANGUAGE plpgsql AS {_dollar(_child_trigger(p))};
CREATE OR REPLACE TRIGGER {on_child} BEFORE INSERT OR UPDATE OF {p.child_col}, {p.key}
    ON {p.child_table} FOR EACH ROW EXECUTE FUNCTION {child_fn}();

CREATE OR REPLACE FUNCTION {parent_fn}() RETURNS trigger
LANGUAGE plpgsql AS {_dollar(_parent_trigger(p))};
CREATE OR REPLACE TRIGGER {on_parent} BEFORE INSERT OR UPDATE OF {p.col}
    ON {p.table} FOR EACH ROW EXECUTE FUNCTION {parent_fn}();
""")
    header = (
        f"-- PostgreSQL (14+) enforces the hard rules between {parent.name} on {table} and\n"
        "-- its related machines' tables. Generated by `statemachine sql`; idempotent.\n"
    )
    return header + "".join(out)
