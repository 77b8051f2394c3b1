"""The audit as one self-contained HTML page: the lifecycle drawn with the observed traffic.

Edges of the definition are drawn with their observed moves (width and label by count);
observed illegal and stale moves the definition does not have are added in red and grey;
each state shows how many entities ended there and how many of those are stuck.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

from statemachine.audit.coupled import Coupled
from statemachine.audit.report import NO_STATUS, Report
from statemachine.graph import Kind, graph_of
from statemachine.model.definition import Definition
from statemachine.model.finding import Severity
from statemachine.sql.audit import MOVING

__all__ = ["render_html", "traffic_dot"]

_START = "__new__"
#: allowed moves nobody made are drawn only when there are at most this many moves in all
_QUIET_EDGES = 20
_RED, _GREY, _INK, _MUTED = "#c62828", "#9e9e9e", "#37474f", "#cfd8dc"


def _q(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _width(count: int, most: int) -> float:
    return 1.0 + 5.0 * math.log1p(count) / math.log1p(max(most, 1))


def traffic_dot(definition: Definition, report: Report) -> str:
    """Graphviz source: the lifecycle with the observed moves on it."""
    graph = graph_of(definition)
    moved: dict[tuple[str, str], int] = {}
    extra: dict[tuple[str, str], tuple[Kind, int]] = {}
    for t in report.transitions:
        source = t.source or _START
        if t.verdict in MOVING:
            moved[(source, t.dest)] = moved.get((source, t.dest), 0) + t.count
        elif t.verdict in (Kind.ILLEGAL, Kind.STALE) and t.dest in definition.states:
            previous = extra.get((source, t.dest), (t.verdict, 0))
            extra[(source, t.dest)] = (t.verdict, previous[1] + t.count)
    most = max([*moved.values(), *(n for _, n in extra.values()), 1])
    lines = [
        "digraph audit {",
        '  graph [rankdir=LR, bgcolor="transparent", fontname="Helvetica", nodesep=0.25,'
        " ranksep=0.9];",
        '  node [shape=box, style="rounded,filled", fillcolor="#eceff1", color="#90a4ae",'
        ' fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10, color="#546e7a", fontcolor="#37474f"];',
        f'  {_START} [shape=point, width=0.15, label="", color="{_INK}"];',
    ]
    for name, state in definition.states.items():
        ended = report.final.get(name, 0)
        stuck = report.stuck.get(name, 0)
        label = f"<<b>{html.escape(name)}</b>"
        if ended:
            label += f'<br/><font point-size="9">{ended:,} ended here</font>'
        if stuck:
            label += f'<br/><font point-size="9" color="{_RED}">{stuck:,} stuck</font>'
        label += ">"
        attrs = [f"label={label}"]
        if state.final:
            attrs.append("peripheries=2")
        if not state.reported:
            attrs.append('style="rounded,dashed"')
        if stuck:
            attrs.append(f'color="{_RED}", penwidth=2')
        lines.append(f"  {_q(name)} [{', '.join(attrs)}];")
    pairs = [(_START, entry) for entry in graph.entries]
    pairs += [(s, d) for s, nexts in graph.successors.items() for d in nexts]
    finals = " ".join(_q(name) for name in definition.final_states)
    if finals:
        lines.append(f"  {{rank=sink; {finals}}}")
    quiet = len(pairs) <= _QUIET_EDGES
    drawn = set()
    for source, dest in pairs:
        count = moved.get((source, dest), 0)
        drawn.add((source, dest))
        if count:
            lines.append(
                f"  {_q(source)} -> {_q(dest)} "
                f'[penwidth={_width(count, most):.2f}, label="{count:,}"];'
            )
        elif quiet:
            lines.append(f'  {_q(source)} -> {_q(dest)} [color="{_MUTED}", style=dashed];')
    for (source, dest), count in sorted(moved.items()):
        if (source, dest) not in drawn:  # a skip or a move through unreported states
            lines.append(
                f"  {_q(source)} -> {_q(dest)} [penwidth={_width(count, most):.2f}, "
                f'style=dotted, label="{count:,} skipped", constraint=false];'
            )
    for (source, dest), (kind, count) in sorted(extra.items()):
        colour = _RED if kind is Kind.ILLEGAL else _GREY
        lines.append(
            f'  {_q(source)} -> {_q(dest)} [color="{colour}", fontcolor="{colour}", '
            f'penwidth={_width(count, most):.2f}, label="{count:,} {kind}", constraint=false];'
        )
    lines.append("}")
    return "\n".join(lines)


def _table(head: Iterable[str], body: Iterable[Iterable[object]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in body
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>"


def _counts(title: str, counts: dict[str, int] | object, total: int) -> str:
    assert isinstance(counts, dict)
    if not counts:
        return f"<section><h2>{html.escape(title)}</h2><p class=none>none</p></section>"
    body = [(name, f"{n:,}", f"{100 * n / max(total, 1):.1f}%") for name, n in counts.items()]
    return f"<section><h2>{html.escape(title)}</h2>{_table(('', 'count', 'share'), body)}</section>"


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
  margin:24px;
  color:#263238;
  background:#fafafa}
h1{font-size:22px;
  margin:0 0 4px}
h2{font-size:15px;
  margin:0 0 8px;
  color:#455a64}
.sub{color:#607d8b;
  margin-bottom:16px}
.cards{display:flex;
  gap:12px;
  flex-wrap:wrap;
  margin-bottom:16px}
.card{background:#fff;
  border:1px solid #e0e0e0;
  border-radius:8px;
  padding:10px 16px;
  min-width:110px}
.card b{display:block;
  font-size:22px}
.card.bad b{color:#c62828}
.diagram{background:#fff;
  border:1px solid #e0e0e0;
  border-radius:8px;
  padding:12px;
  overflow:auto;
  margin-bottom:16px}
.diagram svg{max-width:100%;
  height:auto}
.grid{display:grid;
  grid-template-columns:repeat(auto-fit,minmax(260px,1fr));
  gap:16px}
section{background:#fff;
  border:1px solid #e0e0e0;
  border-radius:8px;
  padding:12px}
table{border-collapse:collapse;
  width:100%}
th,td{text-align:left;
  padding:3px 8px;
  border-bottom:1px solid #eceff1}
td:nth-child(n+2){font-variant-numeric:tabular-nums}
.legend{color:#607d8b;
  font-size:12px;
  margin-top:6px}
.none{color:#90a4ae}
.illegal{color:#c62828}
.rules,.related{margin-top:16px}
.rules tr.error td:first-child code{color:#c62828}
.rules tr.warning td:first-child code{color:#ef6c00}
.rules td:last-child{font-size:12px;
  color:#455a64}
.related .diagram{margin-bottom:12px}
.stale{color:#757575}
"""


def _svg(definition: Definition, report: Report) -> str:
    import graphviz

    svg: str = graphviz.Source(traffic_dot(definition, report)).pipe(format="svg").decode("utf-8")
    return svg[svg.index("<svg") :]


def _cards(cards: Iterable[tuple[str, str, bool]]) -> str:
    return "".join(
        f'<div class="card{" bad" if hot else ""}"><b>{value}</b>{html.escape(label)}</div>'
        for label, value, hot in cards
    )


def _machine_cards(report: Report) -> str:
    bad = report.verdicts.get(Kind.ILLEGAL, 0) + report.verdicts.get(Kind.UNKNOWN, 0)
    return _cards(
        (
            ("events", f"{report.events:,}", False),
            ("entities", f"{report.entities:,}", False),
            ("illegal or unknown", f"{bad:,}", bad > 0),
            ("stuck", f"{sum(report.stuck.values()):,}", bool(report.stuck)),
            ("unstartable", f"{report.unstartable:,}", report.unstartable > 0),
        )
    )


def _rules(coupled: Coupled) -> str:
    """The rules' violations: a card per rule kind and machine pair, then a table."""
    if not coupled.rules:
        return (
            '<section class="rules"><h2>Rules between machines and fields</h2>'
            "<p class=none>no rule broken</p></section>"
        )
    body = "".join(
        f'<tr class="{html.escape(r.severity)}"><td><code>{html.escape(r.code)}</code></td>'
        f"<td>{html.escape(r.rule)}</td><td>{html.escape(r.severity)}</td>"
        f"<td>{html.escape(r.parent_machine)}"
        f"{' &rarr; ' + html.escape(r.child_machine) if r.child_machine else ''}</td>"
        f"<td>{r.count:,}</td><td>"
        + "<br>".join(html.escape(v.message) for v in r.examples[:3])
        + "</td></tr>"
        for r in coupled.rules
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("code", "rule", "severity", "between", "violations", "e.g.")
    )
    return (
        '<section class="rules"><h2>Rules between machines and fields</h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def _related(definitions: Iterable[Definition], coupled: Coupled) -> str:
    """Each related machine: its cards, its traffic and its final statuses."""
    parts = []
    for d in definitions:
        report = coupled.related[d.name]
        final = {k: v for k, v in report.final.items() if k != NO_STATUS or v}
        parts.append(
            f'<section class="related"><h2>Related machine <code>{html.escape(d.name)}</code>'
            f"{' &middot; ' + html.escape(d.title) if d.title else ''}</h2>"
            f'<div class="cards">{_machine_cards(report)}</div>'
            f'<div class="diagram">{_svg(d, report)}</div>'
            f'<div class="grid">{_counts("Verdicts", dict(report.verdicts), report.events)}'
            f"{_counts('Final status', final, report.entities)}</div></section>"
        )
    return "".join(parts)


def render_html(
    definition: Definition, audited: Report | Coupled, related: Sequence[Definition] = ()
) -> str:
    """The report as one self-contained HTML page (the diagram inline as SVG); a coupled
    audit adds the rules' violations and each of the `related` machines."""
    coupled = audited if isinstance(audited, Coupled) else None
    report = audited.report if isinstance(audited, Coupled) else audited
    svg = _svg(definition, report)
    card_html = _machine_cards(report)
    if coupled is not None:
        errors = sum(r.count for r in coupled.rules if r.severity == Severity.ERROR)
        warnings = sum(r.count for r in coupled.rules if r.severity != Severity.ERROR)
        card_html += _cards(
            (
                ("rule errors", f"{errors:,}", errors > 0),
                ("rule warnings", f"{warnings:,}", False),
            )
        )
    worst = [
        (
            t.source or "(new)",
            t.dest,
            str(t.verdict),
            f"{t.count:,}",
            t.example,
        )
        for t in report.transitions
        if t.verdict is not Kind.APPLIED
    ][:20]
    worst_html = (
        _table(("from", "status", "verdict", "events", "e.g. entity"), worst)
        if worst
        else "<p class=none>every event applied</p>"
    )
    examples = _table(
        ("kind", "entities"), [(kind, ", ".join(ids)) for kind, ids in report.examples.items()]
    )
    as_of = f" · stuck judged at {report.as_of:%Y-%m-%d %H:%M:%S} UTC" if report.as_of else ""
    final = {k: v for k, v in report.final.items() if k != NO_STATUS or v}
    rules = _rules(coupled) if coupled is not None else ""
    children = _related(related, coupled) if coupled is not None else ""
    with_ = "".join(f" &middot; with <code>{html.escape(d.name)}</code>" for d in related)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Audit: {html.escape(definition.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body>
<h1>Audit of {html.escape(definition.title or definition.name)}</h1>
<div class="sub">machine <code>{html.escape(definition.name)}</code>{as_of}{with_}</div>
<div class="cards">{card_html}</div>
<div class="diagram">{svg}
<div class="legend">Edge width and label: events that made the move.
Dashed pale edges: allowed, never observed (drawn for small machines only).
Dotted: skips past statuses that never arrived.
<span class="illegal">Red</span>: observed illegal moves; <span class="stale">grey</span>:
late (stale) deliveries. Double border: final state. Red border: entities stuck there.</div></div>
<div class="grid">
{_counts("Verdicts", dict(report.verdicts), report.events)}
{_counts("Final status", final, report.entities)}
{_counts("Canonical outcome", dict(report.outcomes), report.entities)}
{_counts("Stuck", dict(report.stuck), report.entities)}
</div>
<div class="grid" style="margin-top:16px">
<section><h2>Worst transitions</h2>{worst_html}</section>
<section><h2>Examples</h2>{examples}</section>
</div>
{rules}
{children}
</body></html>"""
