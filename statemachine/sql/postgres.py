"""PostgreSQL enforcement of one lifecycle on a table, generated from the verdict relation.

The DDL makes the server itself give every write of the status column the verdict the
runtime gives it, whichever program writes: the machine's schema holds the whole verdict
relation as a table (`verdicts`), `classify` (held and written status, and how their
ordering keys compare -> kind, before, after) and, per table, the trigger function and
`apply_<table>` (the verdict back instead of an error; it creates a new entity's row).

What each verdict does is the runtime's `DEFAULT_POLICY`: a status it applies is stored as
the state it means (an alias is stored as its state); an ignored `repeated` keeps the stored
status and lets the rest of the row's update through; any other ignored verdict (`stale`: an
older ordering key, or a status behind the stored one) drops that row's update without error
(the statement reports the row as not updated); a verdict it raises on fails with the
verdict's SQLSTATE. A new row is judged as the runtime judges a new entity (an entry state
is `applied`, a later one `skipped` past statuses that never arrived), so a status a new row
may take as itself passes the INSERT trigger's WHEN clause without calling the function (COPY
and bulk INSERTs stay cheap). Every write pattern reaches one of the two triggers: an
`INSERT ... ON CONFLICT DO UPDATE` and `MERGE ... WHEN MATCHED THEN UPDATE` reach the UPDATE
trigger with the stored row as OLD (the INSERT trigger has judged the proposed row as new,
which changes nothing the UPDATE trigger sees: a status a new entity may take is kept, or an
alias stored as its state), so an ignored verdict there leaves the row as it is. An ordering
key a write does not carry (NULL) keeps the stored one, as the runtime keeps the last key.
One rule is the database's own: a row holding a value that is no status of the machine
(stored before the enforcement existed) may be set to any status.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from statemachine.graph import Kind, graph_of, row, rows
from statemachine.model.definition import Definition
from statemachine.runtime.streams import DEFAULT_POLICY, Action

__all__ = [
    "MAX_IDENTIFIER",
    "SQLSTATE",
    "IdentifierError",
    "enforce_sql",
    "quote_ident",
    "quote_literal",
]

#: the stable SQLSTATE of a verdict that fails (class SM: not used by PostgreSQL); the
#: default policy fails `illegal` and `unknown`
SQLSTATE = {
    Kind.ILLEGAL: "SM001",
    Kind.UNKNOWN: "SM002",
    Kind.AMBIGUOUS: "SM003",
    Kind.SKIPPED: "SM004",
    Kind.STALE: "SM005",
    Kind.REPEATED: "SM006",
}
#: PostgreSQL silently truncates longer identifiers (NAMEDATALEN - 1 bytes)
MAX_IDENTIFIER = 63


class IdentifierError(ValueError):
    """A name PostgreSQL cannot hold as one identifier."""


def quote_ident(name: str) -> str:
    """`name` as one quoted PostgreSQL identifier, whatever it contains."""
    if not name or "\0" in name:
        raise IdentifierError(f"{name!r} cannot be a PostgreSQL name")
    if len(name.encode()) > MAX_IDENTIFIER:
        raise IdentifierError(
            f"'{name}' is longer than PostgreSQL's {MAX_IDENTIFIER} bytes for a name; "
            "rename it (PostgreSQL would cut it short and names could collide)"
        )
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """`value` as a PostgreSQL string literal (standard-conforming strings)."""
    if "\0" in value:
        raise IdentifierError(f"{value!r} cannot be a PostgreSQL string")
    return "'" + value.replace("'", "''") + "'"


def _array(values: Iterable[str]) -> str:
    """A text[] constant: one literal, which the parser turns into a constant once (an
    ARRAY[...] constructor would build the array again for every row a trigger sees)."""
    elements = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return quote_literal("{" + ",".join(elements) + "}") + "::text[]"


def _dollar(body: str) -> str:
    """`body` dollar-quoted with a tag it does not contain."""
    tag = "sm"
    while f"${tag}$" in body:
        tag += "_"
    return f"${tag}${body}${tag}$"


def _relation_json(definition: Definition) -> str:
    """The graph's relation as one JSON object: held value ('' for none yet) -> written value
    -> [kind, dest, missing, through, position]; the aliases a row may hold (stored before
    enforcement) are answered as their states."""
    values = [*definition.states, *definition.aliases, *definition.informational]
    order = {value: i for i, value in enumerate(values)}
    by_state: dict[str | None, dict[str, list[object]]] = {}
    for current, incoming, found in rows(graph_of(definition)):
        entry: list[object] = [
            found.kind,
            found.dest,
            found.missing,
            found.through,
            order[incoming],
        ]
        by_state.setdefault(current, {})[incoming] = entry
    relation = {held or "": by_state[held] for held in by_state}
    relation.update({a.name: by_state[a.state] for a in definition.aliases.values()})
    return json.dumps(relation, ensure_ascii=False, separators=(",", ":"))


def _decide(relation: str, held: str, written: str, keys: str, applies: str) -> str:
    """PL/pgSQL setting `kind` and `found` (the relation's entry, NULL when unknown) for
    status `written` over `held` whose ordering keys compare as `keys` (-1, 0, 1)."""
    return f"""found := {relation} -> coalesce({held}, '') -> {written};
    IF found IS NULL AND {held} IS NOT NULL AND NOT {relation} ? {held} THEN
        -- the row holds no status of this machine (stored before enforcement):
        -- any status repairs it
        found := {relation} -> '' -> {written};
        kind := CASE WHEN found IS NULL THEN 'unknown' ELSE 'applied' END;
    ELSIF found IS NULL THEN
        kind := 'unknown';
    ELSIF found ->> 0 = 'informational' THEN
        kind := 'informational';  -- no state: the row stays as it is, whatever its keys
    ELSIF {keys} < 0 THEN
        kind := 'stale';
    ELSE
        kind := found ->> 0;
        IF kind = 'ambiguous' AND {keys} > 0 THEN
            kind := 'skipped';  -- a newer ordering key puts it ahead
        END IF;
    END IF;
    IF kind NOT IN ({applies}) THEN
        found := NULL;  -- the status stays: nothing passed or missed
    END IF;"""


def _order(pairs: Sequence[tuple[str, str]]) -> str:
    """-1, 0 or 1: the written ordering keys against the held ones, the first key that both
    carry and that differs deciding (sequence number, then event time)."""
    if not pairs:
        return "0"
    whens = []
    for new, old in pairs:
        both = f"{new} IS NOT NULL AND {old} IS NOT NULL"
        whens.append(f"WHEN {both} AND {new} < {old} THEN -1 WHEN {both} AND {new} > {old} THEN 1")
    return f"CASE {' '.join(whens)} ELSE 0 END"


def _starts(definition: Definition) -> list[str]:
    """The states a new row may hold as written: the INSERT trigger's WHEN clause lets them
    through without calling the trigger function (a NULL status passes too)."""
    new = row(graph_of(definition), None)
    return [s for s in definition.states if DEFAULT_POLICY.action(new[s].kind) is Action.APPLY]


def _kinds(action: Action) -> list[Kind]:
    return [kind for kind in Kind if DEFAULT_POLICY.action(kind) is action]


def _listed(kinds: Iterable[Kind]) -> str:
    return ", ".join(quote_literal(k) for k in kinds)


def _drop_overloads(schema: str, name: str) -> str:
    """SQL dropping every function `schema.name` (its parameters follow the table's columns
    and the ordering keys chosen, so a re-run with other ones would add an overload)."""
    body = f"""
DECLARE
    found regprocedure;
BEGIN
    FOR found IN SELECT p.oid::regprocedure FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = {quote_literal(schema)} AND p.proname = {quote_literal(name)}
    LOOP
        EXECUTE 'DROP FUNCTION ' || found;
    END LOOP;
END
"""
    return f"DO {_dollar(body)};"


def _machine_objects(definition: Definition, schema: str) -> str:
    relation = f"{schema}.relation()"
    applies = _listed(_kinds(Action.APPLY))
    classify = f"""
DECLARE
    found jsonb;
BEGIN
    {_decide(relation, "held", "written", "keys", applies)}
    before := held;
    after := coalesce(found ->> 1, held);
    missing := ARRAY(SELECT jsonb_array_elements_text(coalesce(found -> 2, '[]')));
    through := ARRAY(SELECT jsonb_array_elements_text(coalesce(found -> 3, '[]')));
END
"""
    allowed = f"""
SELECT CASE
    WHEN $1 = ANY ({_array(definition.final_states)}) THEN $1 || ' is final'
    WHEN $1 IS NULL THEN 'a row starts at: '
        || string_agg(v.written, ', ' ORDER BY v.position) FILTER (WHERE v.kind = 'applied')
    ELSE 'allowed from ' || $1 || ': ' || coalesce(
        string_agg(v.written, ', ' ORDER BY v.position) FILTER (WHERE v.kind IN ({applies})),
        'nothing')
END
FROM {schema}.verdicts AS v
WHERE v.held IS NOT DISTINCT FROM $1 AND v.written = v.dest
"""
    body = _dollar(f"SELECT {quote_literal(_relation_json(definition))}::jsonb")
    title = quote_literal(
        f"The verdict of the lifecycle {definition.name} on every (held, written) status "
        "pair, from its graph; generated by `statemachine sql`."
    )
    return f"""CREATE SCHEMA IF NOT EXISTS {schema};

-- held value ('' for none yet) -> written value -> [kind, dest, missing, through, position]
CREATE OR REPLACE FUNCTION {relation} RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS {body};

CREATE OR REPLACE VIEW {schema}.verdicts AS
SELECT NULLIF(h.key, '') AS held, w.key AS written, w.value ->> 0 AS kind,
    w.value ->> 1 AS dest,
    ARRAY(SELECT jsonb_array_elements_text(w.value -> 2)) AS missing,
    ARRAY(SELECT jsonb_array_elements_text(w.value -> 3)) AS through,
    (w.value ->> 4)::integer AS position
FROM jsonb_each({relation}) AS h, jsonb_each(h.value) AS w;
COMMENT ON VIEW {schema}.verdicts IS {title};

CREATE OR REPLACE FUNCTION {schema}.classify(
    held text, written text, keys integer DEFAULT 0,
    OUT kind text, OUT before text, OUT after text, OUT missing text[], OUT through text[])
LANGUAGE plpgsql IMMUTABLE AS {_dollar(classify)};

CREATE OR REPLACE FUNCTION {schema}.allowed(held text) RETURNS text
LANGUAGE sql IMMUTABLE AS {_dollar(allowed)};
"""


def enforce_sql(
    definition: Definition,
    table: str,
    *,
    column: str | None = None,
    id_column: str = "id",
    seq: str | None = None,
    at: str | None = None,
) -> str:
    """Idempotent DDL making PostgreSQL (14 or later) enforce `definition` on `table`'s
    status `column` (default: the definition's field). `id_column` names the row in errors;
    `seq` and `at` are ordering-key columns (a provider sequence number, an event time)."""
    column = column or definition.field
    schema = quote_ident(definition.name)
    tbl, col, row_id = quote_ident(table), quote_ident(column), quote_ident(id_column)
    keys = [quote_ident(name) for name in (seq, at) if name is not None]
    enforce = f"{schema}.{quote_ident(f'enforce_{table}')}"
    apply = f"{schema}.{quote_ident(f'apply_{table}')}"
    on_insert = quote_ident(f"{definition.name}.{column} on insert")
    on_update = quote_ident(f"{definition.name}.{column} on update")
    who = quote_literal(f"{definition.name}: {table} row ")
    raised = _kinds(Action.RAISE)
    codes = " ".join(f"WHEN {quote_literal(k)} THEN {quote_literal(SQLSTATE[k])}" for k in raised)
    applies = _listed(_kinds(Action.APPLY))
    # a write without an ordering key keeps the stored one (the runtime's `merged`)
    kept = "".join(f"\n        NEW.{k} := coalesce(NEW.{k}, OLD.{k});" for k in keys)
    branches = [f"WHEN {applies} THEN\n        NEW.{col} := found ->> 1;"]
    ignored = _kinds(Action.IGNORE)
    if Kind.REPEATED in ignored:  # the stored status stays; the rest of the update passes
        ignored.remove(Kind.REPEATED)
        branches.append(f"WHEN 'repeated' THEN\n        NEW.{col} := OLD.{col};")
    if ignored:
        branches.append(f"WHEN {_listed(ignored)} THEN\n        RETURN NULL;  -- row left as is")
    cases = "\n    ".join(branches)
    decide = _decide(f"{schema}.relation()", "held", f"NEW.{col}", "keys", applies)
    trigger = f"""
DECLARE
    held text;
    keys integer := 0;
    kind text;
    found jsonb;
    reason text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        held := OLD.{col};
        keys := {_order([(f"NEW.{k}", f"OLD.{k}") for k in keys])};{kept}
    ELSIF NEW.{col} IS NULL THEN
        RETURN NEW;  -- a new row without a status yet
    END IF;
    {decide}
    CASE kind
    {cases}
    ELSE
        reason := CASE
            WHEN kind = 'unknown' THEN format('unknown status %L', NEW.{col})
            WHEN held IS NULL THEN format('cannot start at %s', NEW.{col})
            WHEN kind = 'illegal' THEN format('cannot go from %s to %s', held, NEW.{col})
            ELSE format('cannot go from %s to %s (%s)', held, NEW.{col}, kind)
        END;
        RAISE EXCEPTION USING
            ERRCODE = CASE kind {codes} END,
            MESSAGE = {who} || NEW.{row_id} || ': ' || reason,
            DETAIL = {schema}.allowed(held),
            SCHEMA = TG_TABLE_SCHEMA,
            TABLE = TG_TABLE_NAME,
            COLUMN = {quote_literal(column)};
    END CASE;
    RETURN NEW;
END
"""
    params = [f"id {tbl}.{row_id}%TYPE", "status text"]
    named = [(name, quote_ident(k)) for name, k in (("seq", seq), ("at", at)) if k is not None]
    params += [f"{name} {tbl}.{k}%TYPE DEFAULT NULL" for name, k in named]
    numbered = list(enumerate(keys, start=3))  # parameter $3, $4 and the held key{3,4}
    compare = _order([(f"${i}", f"held.key{i}") for i, _ in numbered])
    held_keys = "".join(f", t.{k} AS key{i}" for i, k in numbered)
    sets = "".join(f", {k} = coalesce(${i}, t.{k})" for i, k in numbered)
    given = "".join(f", {k}" for _, k in numbered)
    given_values = "".join(f", ${i}" for i, _ in numbered)
    relation = f"{schema}.relation()"
    judge_held = _decide(relation, "held.status", "$2", "newer", applies).replace(
        "\n", "\n        "
    )
    judge_new = _decide(relation, "NULL", "$2", "0", applies).replace("\n", "\n    ")
    apply_body = f"""
#variable_conflict use_variable
DECLARE
    held record;
    newer integer;
    found jsonb;  -- the relation's entry (this hides FOUND: row counts say what was found)
    done integer;
BEGIN
    LOOP
        SELECT t.{col} AS status{held_keys} INTO held FROM {tbl} AS t WHERE t.{row_id} = $1
            FOR UPDATE;
        GET DIAGNOSTICS done = ROW_COUNT;
        IF done > 0 THEN
            newer := {compare};
            {judge_held}
            before := held.status;
            after := coalesce(found ->> 1, held.status);
            -- a repeat with a newer key confirms the status as of that key (the runtime
            -- keeps the newer key)
            IF kind IN ({applies}) OR (kind = 'repeated' AND newer > 0) THEN
                UPDATE {tbl} AS t SET {col} = after{sets} WHERE t.{row_id} = $1;
            END IF;
            EXIT;
        END IF;
        -- a new entity: stored only when the runtime would apply it
        {judge_new}
        before := NULL;
        after := found ->> 1;
        EXIT WHEN kind NOT IN ({applies});
        INSERT INTO {tbl} ({row_id}, {col}{given}) VALUES ($1, after{given_values})
            ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS done = ROW_COUNT;
        EXIT WHEN done > 0;
        -- another writer created the row meanwhile: judge the status against its row
    END LOOP;
    -- most moves pass or miss nothing: no query to unpack an empty list
    missing := CASE WHEN found -> 2 = '[]' OR found IS NULL THEN '{{}}'::text[] END;
    IF missing IS NULL THEN
        missing := ARRAY(SELECT jsonb_array_elements_text(found -> 2));
    END IF;
    through := CASE WHEN found -> 3 = '[]' OR found IS NULL THEN '{{}}'::text[] END;
    IF through IS NULL THEN
        through := ARRAY(SELECT jsonb_array_elements_text(found -> 3));
    END IF;
    RETURN NEXT;
END
"""
    header = (
        f"-- PostgreSQL (14+) enforces the lifecycle {definition.name} on {table}.{column}.\n"
        "-- Generated by `statemachine sql`; idempotent: re-run it whenever the definition\n"
        "-- changes, in one transaction (psql --single-transaction, or your migration's).\n"
    )
    return f"""{header}
{_machine_objects(definition, schema)}
CREATE OR REPLACE FUNCTION {enforce}() RETURNS trigger
LANGUAGE plpgsql AS {_dollar(trigger)};

CREATE OR REPLACE TRIGGER {on_insert} BEFORE INSERT ON {tbl}
    FOR EACH ROW WHEN (NEW.{col} <> ALL ({_array(_starts(definition))}))
    EXECUTE FUNCTION {enforce}();
CREATE OR REPLACE TRIGGER {on_update} BEFORE UPDATE OF {", ".join([col, *keys])} ON {tbl}
    FOR EACH ROW WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in [col, *keys])})
    EXECUTE FUNCTION {enforce}();

{_drop_overloads(definition.name, f"apply_{table}")}
CREATE OR REPLACE FUNCTION {apply}({", ".join(params)})
RETURNS TABLE (kind text, before text, after text, missing text[], through text[])
LANGUAGE plpgsql AS {_dollar(apply_body)};
"""
