"""Graphviz and Mermaid diagrams of lifecycles, and the diagram files of a registry."""
