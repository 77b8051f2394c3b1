"""One definition's graph, computed once and shared: reachability, components, verdicts.

The checks, the runtime, the audit, the SQL generator and the diagrams all ask this package,
so every decision about a status is derived from the definition's own graph.
"""

from statemachine.graph.relation import Kind, Relation, relation, row, rows
from statemachine.graph.structure import Graph, graph_of, reachable

__all__ = ["Graph", "Kind", "Relation", "graph_of", "reachable", "relation", "row", "rows"]
