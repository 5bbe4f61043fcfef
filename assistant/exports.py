"""What an answer carries beyond its message: its full rows for a CSV file (`csv`), and the CSV and Chart buttons.

The CSV holds the rows the answer's figures came from (every row, not the ones the message shows), never a
second computation: breakdowns and lists keep all their rows on the Table (`all_rows`), and an answer of single
figures exports those figures as one row.
"""

from __future__ import annotations

from assistant.ask import Ask
from i18n import _
from render.answers import Action, Answer, Column, Table

EXPORT_LIMIT = 100_000  # rows a list fetches for a CSV file (a deal list asked with `csv`)
CHARTED = frozenset({"pipeline", "quota", "forecast", "leaderboard", "winrate", "cycle", "funnel", "metric"})


def export_table(answer: Answer) -> Table | None:
    """Every row of the answer's table, or its figures as one row; None when it has neither."""
    if answer.table is not None:
        rows = answer.table.all_rows if answer.table.all_rows is not None else answer.table.rows
        return Table(list(answer.table.columns), rows)
    if answer.figures:
        return Table([Column(f.label, f.fmt) for f in answer.figures], [[f.value for f in answer.figures]])
    return None


def with_exports(ask: Ask, answer: Answer) -> Answer:
    """Attach the CSV rows when `csv` was asked, say when a chart was asked of a single figure that has none,
    and offer the Chart and CSV buttons beside Share."""
    options = ask.request.options
    if "csv" in options:
        answer.export = export_table(answer)
    if "chart" in options and answer.chart is None and ask.request.intent in CHARTED:
        answer.lines.append(_("There is no chart for one person's single figure: ask it `by month` or for a team."))
    if answer.kind not in ("metric", "list") or not any(a.kind == "share" for a in answer.actions):
        return answer
    base = ask.request.raw
    if ask.request.intent in CHARTED and "chart" not in options and not any(a.kind == "chart" for a in answer.actions):
        answer.actions.append(Action("chart", _("Chart"), value=(base + " chart")[:1900]))
    if answer.table is not None and "csv" not in options:
        answer.actions.append(Action("csv", "CSV", value=(base + " csv")[:1900]))
    return answer
