"""Status histories at rest: the audit of event logs on DuckDB, Spark or Python.

`audit(definition, data, options, engine=...)` judges every stored event as the runtime's
replay would and returns a `Report`; `render_html` draws it as one self-contained page.
"""

from __future__ import annotations

from collections.abc import Sequence

from statemachine.audit.data import Columns, InputError, expand
from statemachine.audit.engines import ENGINES, run
from statemachine.audit.html import render_html
from statemachine.audit.options import Options, Outputs
from statemachine.audit.report import Report, Transition
from statemachine.model.definition import Definition

__all__ = [
    "ENGINES",
    "Columns",
    "InputError",
    "Options",
    "Outputs",
    "Report",
    "Transition",
    "audit",
    "render_html",
]


def audit(
    definition: Definition,
    data: Sequence[str],
    options: Options | None = None,
    *,
    engine: str = "duckdb",
    outputs: Outputs | None = None,
) -> Report:
    """Audit the events in the files (or globs; `-`: CSV on stdin) `data` against
    `definition` on `engine` ("duckdb", "spark" or "python"). Raises `InputError` when the
    data cannot be read as asked."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    return run(definition, expand(data), options or Options(), engine, outputs or Outputs())
