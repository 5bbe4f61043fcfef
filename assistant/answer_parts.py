"""Pieces every answer is built from: the context line, the buttons, the explanation, a breakdown table."""

from __future__ import annotations

from assistant.as_of_answers import as_of_line
from assistant.ask import Ask
from assistant.reading_words import dimension_name
from i18n import _
from metrics.evaluate import MetricResult
from metrics.periods import Period
from metrics.scopes import Scope
from render.answers import Action, Answer, Column, Table

LIST_LIMIT = 15
# A breakdown's dimension as a column heading.
def _context(ask: Ask, period: Period | None, scope: Scope | None) -> list[str]:
    out = []
    if period is not None:
        out.append(period.described)
    if (moment := as_of_line(ask)) is not None:
        out.append(moment)
    if scope is not None:
        out.append(scope.label)
    if (fresh := ask.freshness_at(ask.request.as_of)) is not None:
        out.append(fresh)
    return out


def _actions(ask: Ask, chart: bool = True) -> list[Action]:
    acts = [Action("share", _("Share in channel"), value=ask.request.raw[:1900])]
    if chart and "chart" not in ask.request.options:
        acts.append(Action("chart", _("Chart"), value=(ask.request.raw + " chart")[:1900]))
    return acts


def _explain(ask: Ask, answer: Answer, *results: MetricResult) -> Answer:
    """The line saying how many deals were left out for want of an exchange rate, and on request (explain) the
    definitions, the currency conversion and the SQL."""
    from assistant.currency_view import conversion_lines, left_out_line

    left_out = left_out_line(*results)
    if left_out:
        answer.lines.append(left_out)
    if "explain" in ask.request.options:
        for r in results:
            answer.lines.append(f"{_(r.label)}: {_(r.description)}")
        answer.lines.extend(conversion_lines(ask.settings.org_currency))
        for r in results:
            answer.lines.extend(f"SQL: {sql}" for sql in r.sql)
    return answer


def _breakdown_table(result: MetricResult, label: str, extra: tuple[tuple[str, str, str], ...] = ()
                     ) -> Table | None:
    """The result's rows as a table: its dimensions, the value, then (key, heading, fmt) extras."""
    if not result.by or not result.rows:
        return None
    cols = ([Column(dimension_name(d)) for d in result.by] + [Column(label, result.fmt)]
            + [Column(h, f) for _k, h, f in extra])
    rows = [[r.get(d) for d in result.by] + [r["value"]] + [r.get(k) for k, _, _ in extra] for r in result.rows]
    return Table(cols, rows[:LIST_LIMIT * 2], total_rows=len(rows), all_rows=rows)


def velocity_note(result: MetricResult) -> str | None:
    """Why sales velocity is nothing or zero, in a sentence; None when it has a real value. Velocity is open deals
    × average won deal size × win rate ÷ mean cycle, so it is empty without wins and $0 without open deals."""
    row = result.rows[0] if result.rows else {}
    value = row.get("value")
    if value is None:
        return _("No deal was won in the 365 days to the end of this period, so velocity (which needs a deal "
                 "size, a win rate and a cycle) cannot be worked out.")
    if value == 0 and not row.get("open_count"):
        return _("Velocity is $0 a day because no open deal closes in {period}: it multiplies the open deals by "
                 "the average won deal size and the win rate, over the mean cycle.").format(period=result.period.label)
    return None


def ranked(result: MetricResult, limit: int | None, smallest: bool) -> MetricResult:
    """Rows ranked by value when a count or an order was asked for ("top 3 products by pipeline")."""
    if limit is None and not smallest:
        return result
    rows = sorted(result.rows, key=lambda r: (r["value"] is None, r["value"] if smallest else -(r["value"] or 0)))
    result.rows = rows[:limit] if limit else rows
    return result
