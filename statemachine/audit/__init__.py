"""Status histories at rest: the audit of event logs on DuckDB, Spark or Python."""
