"""`/sales trend pipeline|commit|forecast|winrate|attainment [who] [weekly|monthly]` (DESIGN §4a "Trend"): the
metric as of the end of each of the last weeks (13) or months (12), as the data stood then — the weekly snapshots
where they hold the point, as-of rebuilds for the rest (metrics.trend_snapshots) — with the change from the first
point to the last in words ("up 12% in 12 weeks") and a line chart, the quota line on it where the metric has one.

Money moves in percent of the first point; a ratio (win rate, attainment) in percentage points, since "up 10%" of
a 50% win rate would read as 60%.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from assistant.answer_parts import _context
from assistant.ask import Ask
from assistant.chart_specs import time_line_chart
from errors import UserError
from i18n import N_, _, ngettext
from metrics.moments import DEFAULT_POINTS, trend_moments
from metrics.trend_snapshots import evaluate_trend
from render.answers import Answer, Column, Table
from render.format import date_text, money_exact, percent

# The metric a trend of each named metric draws, and what it is called.
TREND_LABELS = {"pipeline": N_("Open pipeline"), "forecast": N_("Commit roll-up"), "win_rate": N_("Win rate"),
                "attainment": N_("Quota attainment")}


def change_words(first: Decimal | None, last: Decimal | None, fmt: str, steps: int, grain: str,
                 currency: str = "USD") -> str:
    """"up 12% in 4 weeks", "down 3 points in 2 months", "flat over 4 weeks": the change from the first point to
    the last, `steps` weeks or months apart."""
    if first is None or last is None:
        return _("No change can be given: a point has no value (nothing to divide).")
    if fmt == "ratio":
        amount = ((last - first) * 100).quantize(Decimal(1), ROUND_HALF_UP)
        shown = ngettext("{n} point", "{n} points", abs(int(amount))).format(n=abs(int(amount)))
    elif first > 0:
        amount = ((last - first) / first * 100).quantize(Decimal(1), ROUND_HALF_UP)
        shown = f"{abs(int(amount))}%"
    else:  # no percent of zero or less: the amount itself
        amount = last - first
        shown = money_exact(abs(amount), currency)
    weekly = grain == "weekly"
    if amount == 0:
        return (ngettext("flat over {n} week", "flat over {n} weeks", steps) if weekly else
                ngettext("flat over {n} month", "flat over {n} months", steps)).format(n=steps)
    if amount > 0:
        text = (ngettext("up {change} in {n} week", "up {change} in {n} weeks", steps) if weekly else
                ngettext("up {change} in {n} month", "up {change} in {n} months", steps))
    else:
        text = (ngettext("down {change} in {n} week", "down {change} in {n} weeks", steps) if weekly else
                ngettext("down {change} in {n} month", "down {change} in {n} months", steps))
    return text.format(change=shown, n=steps)


def _grain(ask: Ask) -> str:
    by = ask.request.by
    if by and by != ("month",):
        raise UserError(_("A trend is weekly or monthly, not by {by}: ask `/sales trend pipeline weekly` or "
                          "`monthly`.").format(by=", ".join(by)))
    return "monthly" if by else "weekly"


def _change_line(what: str, rows: list[dict], fmt: str, grain: str, currency: str) -> str:
    """"Open pipeline: up 12% in 12 weeks." from the first point that has a value to the last (a win rate has none
    before the period's first deal closes); the sentence saying why there is no change when fewer than two do."""
    valued = [i for i, r in enumerate(rows) if r["value"] is not None]
    if len(valued) < 2:
        return change_words(None, None, fmt, 0, grain, currency)
    first, last = valued[0], valued[-1]
    words = change_words(rows[first]["value"], rows[last]["value"], fmt, last - first, grain, currency)
    return _("{what}: {change}.").format(what=what, change=words[0].upper() + words[1:])


def trend(ask: Ask) -> Answer:
    name = ask.request.metric
    if name not in TREND_LABELS:
        raise UserError(_("I can draw the trend of pipeline, commit, forecast, win rate or attainment: try "
                          "`/sales trend pipeline` or `/sales trend commit team monthly`."))
    grain, period, scope = _grain(ask), ask.period(), ask.scope()
    moments = trend_moments(grain, DEFAULT_POINTS[grain], ask.now, ask.settings.tz)
    result = evaluate_trend(ask.conn, name, period, scope, moments, today=ask.today, fiscal_start_month=ask.fiscal,
                            cache=ask.cache, org_currency=ask.settings.org_currency)
    rows, what = result.rows, _(TREND_LABELS[name])
    columns = [Column(_("as of"), "date"), Column(what, result.fmt)]
    if name == "forecast":
        columns.append(Column(_("best case"), "money"))
    table = Table(columns, [[r["as_of"].astimezone(ask.settings.tz).date(), r["value"],
                             *([r.get("best_case")] if name == "forecast" else [])] for r in rows])
    cur = ask.settings.org_currency
    lines = [_change_line(what, rows, result.fmt, grain, cur)]
    quota = rows[-1].get("quota")
    if quota is not None:
        lines.append(_("Quota for {period}: {quota}.").format(period=period.label, quota=money_exact(quota, cur)))
    stored = sum(1 for r in rows if r.get("source") == "snapshot")
    lines.append(_("{stored} of {n} points read from the weekly forecast snapshots, the rest rebuilt from the deal "
                   "history.").format(stored=stored, n=len(rows)))
    target = Decimal(1) if name == "attainment" else quota
    chart = time_line_chart(
        _("{what} trend · {scope} · {period}").format(what=what, scope=scope.label, period=period.label),
        [(date_text(r["as_of"].astimezone(ask.settings.tz)), r["value"]) for r in rows], result.fmt,
        target, _("quota") if target is not None else None)
    title = _("{what} trend · {scope}").format(what=what, scope=scope.label)
    answer = Answer(kind="metric", title=title, table=table, lines=lines, chart=chart,
                    context=_context(ask, period, scope))
    if name in ("win_rate", "attainment"):
        answer.lines.insert(1, _("Last point: {value}.").format(value=percent(rows[-1]["value"])))
    return answer
