"""Text safe to print: what a definition says (names, titles, messages) never reaches a
terminal or a CI log raw, so it cannot forge a finding line or send escape sequences."""

from __future__ import annotations

__all__ = ["github_annotation", "printable"]


def printable(text: str) -> str:
    """`text` with every character that is not printable (controls, line breaks, tabs,
    bidirectional overrides, non-breaking spaces) escaped as Python writes it: `\\x1b`,
    `\\n`, `\\u202e`, `\\xa0`."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _data(text: str) -> str:
    # GitHub's workflow-command escapes first, so what GitHub decodes is the text itself
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(
    severity: str, file: str, line: int, col: int, title: str, message: str
) -> str:
    """One `::error file=...,line=...,col=...,title=...::message` workflow command, every
    field escaped by GitHub's rules (`%`, CR and LF everywhere; `:` and `,` in properties)."""
    return (
        f"::{severity} file={_property(file)},line={line},col={col},"
        f"title={_property(title)}::{_data(message)}"
    )
