"""`/sales accuracy [who] [last 4 quarters]` (DESIGN §4a "Forecast accuracy"): for each finished quarter, the
forecast at mid-quarter against the actual (metric `forecast_accuracy`): the system's commit and best-case roll-ups,
the submitted call where one exists, the accuracy and the bias of the commit; for a team, each person's row too.
Below it the trailing mean absolute percentage error of the commit (mean of |F − A| / A over the quarters with an
actual), and a chart of the latest quarter's commit roll-up week by week (the weekly snapshots, else as-of
rebuilds) against the actual.

Which quarters: none named → the last 4 finished; a quarter → that one (finished); "last N quarters" (a rolling
range, N = its days ÷ 91) → the last N finished; a year, `ytd` or another range → the finished quarters inside it.
"""

from __future__ import annotations

from datetime import date, timedelta

from assistant.answer_parts import _context
from assistant.ask import Ask
from assistant.chart_specs import time_line_chart
from errors import UserError
from i18n import _, ngettext
from metrics.accuracy import weekly_moments
from metrics.accuracy_trail import Trail, last_quarters
from metrics.evaluate import evaluate
from metrics.periods import Period, period_containing
from metrics.scopes import Scope
from metrics.trend_snapshots import evaluate_trend
from render.answers import Answer, Column, Table
from render.format import date_text, percent

QUARTERS_SHOWN = 4
MAX_QUARTERS = 12
ROWS_SHOWN = 40


def asked_quarters(period: Period | None, today: date, fiscal: int) -> list[Period]:
    """The finished quarters asked for, oldest first (see the module docstring)."""
    if period is None:
        return last_quarters(today, QUARTERS_SHOWN, fiscal)
    if period.grain is None and period.label.startswith("last "):  # rolling: "last 4 quarters", "last 6 months"
        return last_quarters(today, max(1, min(MAX_QUARTERS, round(period.days / 91))), fiscal)
    out, quarter = [], period_containing(period.start, "quarter", fiscal)
    while quarter.start <= period.end and quarter.end < today:
        if quarter.start >= period.start:
            out.append(quarter)
        quarter = period_containing(quarter.end + timedelta(days=1), "quarter", fiscal)
    if not out:
        raise UserError(_("Forecast accuracy is measured on finished quarters, and {period} has none yet: ask for "
                          "last quarter or `last 4 quarters`.").format(period=period.label))
    return out[-MAX_QUARTERS:]


def _accuracy(ask: Ask, quarter: Period, scope: Scope, by: tuple[str, ...] = ()) -> list[dict]:
    return evaluate(ask.conn, "forecast_accuracy", quarter, scope, by=by, today=ask.today,
                    fiscal_start_month=ask.fiscal, cache=ask.cache, org_currency=ask.settings.org_currency).rows


def _cells(label: str, person: str, row: dict) -> list:
    return [label, person, row["forecast"], row["best_case"], row.get("call"), row["actual"], row["value"],
            row["bias"]]


def mape_line(trail: Trail) -> str:
    errors = trail.errors
    if not errors:
        return _("No quarter had closed won to measure against, so there is no error to average.")
    return ngettext("Mean absolute percentage error of the commit at mid-quarter: {mape} over {n} quarter.",
                    "Mean absolute percentage error of the commit at mid-quarter: {mape} over {n} quarters.",
                    len(errors)).format(mape=percent(trail.mape), n=len(errors))


def accuracy(ask: Ask) -> Answer:
    scope = ask.scope()
    quarters = asked_quarters(ask.request.period, ask.today, ask.fiscal)
    totals = [(q, _accuracy(ask, q, scope)[0]) for q in quarters]
    rows = []
    for quarter, total in totals:
        rows.append(_cells(quarter.label, scope.label, total))
        if scope.kind != "rep":
            for person in sorted(_accuracy(ask, quarter, scope, ("owner",)), key=lambda r: str(r.get("owner"))):
                rows.append(_cells(quarter.label, str(person.get("owner") or "—"), person))
    table = Table([Column(_("quarter")), Column(_("person")), Column(_("commit"), "money"),
                   Column(_("best case"), "money"), Column(_("call"), "money"), Column(_("actual"), "money"),
                   Column(_("accuracy"), "ratio"), Column(_("bias"), "ratio")], rows[:ROWS_SHOWN],
                  total_rows=len(rows), all_rows=rows)
    lines = [mape_line(Trail(totals)),
             _("Forecast: the roll-up at mid-quarter (the Monday snapshot of the middle week); actual: closed won at "
               "the quarter's end. Accuracy = 1 − |forecast − actual| ÷ actual; bias = (forecast − actual) ÷ actual, "
               "above zero when the forecast was high.")]
    latest, latest_total = totals[-1]
    path = evaluate_trend(ask.conn, "forecast", latest, scope, tuple(weekly_moments(latest)), today=ask.today,
                          fiscal_start_month=ask.fiscal, cache=ask.cache, org_currency=ask.settings.org_currency)
    chart = time_line_chart(
        _("Commit roll-up week by week vs actual · {scope} · {quarter}").format(scope=scope.label,
                                                                                 quarter=latest.label),
        [(date_text(r["as_of"]), r["value"]) for r in path.rows], "money", latest_total["actual"], _("actual"))
    return Answer(kind="metric", title=_("Forecast accuracy · {scope}").format(scope=scope.label), table=table,
                  lines=lines, chart=chart, context=_context(ask, None, scope))
