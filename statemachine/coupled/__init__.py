"""Coupled lifecycles: a parent machine and its related children judged together.

`coupling_of(parent, child)` compiles the rules of `parent.related[child.name]` into tables
once (kept with the parent, as the graph is); `field_rules_of(definition)` does the same for
a machine's own field rules. `judge` and `judge_fields` apply the rules to timelines in plain
Python: the reference the audit's generated SQL agrees with. The runtime, the audit, the SQL
generator and the diagrams all read these; this package reads only the model and the graph.
"""

from statemachine.coupled.judge import (
    COLUMNS,
    Move,
    Timeline,
    Violation,
    judge,
    judge_fields,
    status_at,
)
from statemachine.coupled.tables import (
    UNDECIDED,
    Coupling,
    FieldRule,
    Rule,
    coupling_of,
    field_rules_of,
)

__all__ = [
    "COLUMNS",
    "UNDECIDED",
    "Coupling",
    "FieldRule",
    "Move",
    "Rule",
    "Timeline",
    "Violation",
    "coupling_of",
    "field_rules_of",
    "judge",
    "judge_fields",
    "status_at",
]
