"""Answers in another currency (`/sales pipeline in eur`, `--currency EUR`): every money figure of an answer,
built in the org currency by the metrics layer, shown in the asked currency at today's exchange rate."""

from __future__ import annotations

from dataclasses import replace

from assistant.ask import Ask
from i18n import _, ngettext
from metrics.currency import rate_on, to_display
from metrics.evaluate import CurrencyError, MetricResult
from metrics.periods import format_day
from render.answers import Answer, ChartSpec, Table

# Charts whose values are money (the leaderboard's are ratios).
MONEY_CHARTS = ("pipeline_by_stage", "attainment_pace", "forecast", "waterfall")


def conversion_lines(org_currency: str) -> list[str]:
    """What --explain says about currencies."""
    return [_("Amounts are in {currency}: each deal is converted at the exchange rate valid on its close date "
              "when closed, today's when open (amount ÷ rate, rounded half-even to the cent, deal by deal); a deal "
              "whose currency has no rate on that day is left out and counted.").format(currency=org_currency)]


def left_out_line(*results: MetricResult) -> str | None:
    """The sentence saying how many deals were left out of the totals for want of an exchange rate."""
    n = max((r.left_out for r in results), default=0)
    if not n:
        return None
    return ngettext("{count} deal was left out of these totals: their currency has no exchange rate on their date "
                    "(`/sales integrity` lists them).",
                    "{count} deals were left out of these totals: their currency has no exchange rate on their date "
                    "(`/sales integrity` lists them).", n).format(count=n)


def _table(table: Table, rate) -> Table:
    money = [i for i, c in enumerate(table.columns) if c.fmt == "money"]
    def convert(rows):
        return [[to_display(v, rate) if i in money else v for i, v in enumerate(row)] for row in rows]

    return replace(table, rows=convert(table.rows),
                   all_rows=None if table.all_rows is None else convert(table.all_rows))


def _chart(chart: ChartSpec, rate, code: str) -> ChartSpec:
    if chart.kind not in MONEY_CHARTS:
        return replace(chart, extra={**chart.extra, "currency": code})
    series = [(label, to_display(value, rate)) for label, value in chart.series]
    return replace(chart, series=series, target=to_display(chart.target, rate), extra={**chart.extra, "currency": code})


def _rate(ask: Ask, code: str):
    rate = rate_on(ask.conn, code, ask.today)
    if rate is None:
        raise CurrencyError(_("There is no exchange rate for {code} valid today ({today}), so I can't show this in "
                              "{code}. Amounts are in {org}.").format(code=code, today=format_day(ask.today),
                                                                     org=ask.settings.org_currency))
    return rate


def org_filter(ask: Ask, key: str):
    """An amount filter ("over 100k") as typed, in the asked currency, turned into the org currency."""
    value = ask.request.filters.get(key)
    code = ask.request.currency
    if value is None or not code or code == ask.settings.org_currency:
        return value
    return value / _rate(ask, code)


def in_display_currency(ask: Ask, answer: Answer) -> Answer:
    """The answer with its money in the asked currency at today's rate (nothing to do for the org's own)."""
    org = ask.settings.org_currency
    code = ask.request.currency or org
    answer.currency = org
    if answer.chart is not None:
        answer.chart = replace(answer.chart, extra={**answer.chart.extra, "currency": org})
    if code == org:
        return answer
    rate = _rate(ask, code)
    answer.figures = [replace(f, value=to_display(f.value, rate)) if f.fmt == "money" and f.value is not None
                      and not isinstance(f.value, str) else f for f in answer.figures]
    if answer.table is not None:
        answer.table = _table(answer.table, rate)
    if answer.chart is not None:
        answer.chart = _chart(answer.chart, rate, code)
    if answer.deal is not None:
        answer.deal = replace(answer.deal, amount=to_display(answer.deal.amount, rate))
    answer.currency = code
    answer.lines.append(_("Amounts in {code} at today's rate: 1 {org} = {rate} {code} ({today}).").format(
        code=code, org=org, rate=f"{rate.normalize():f}", today=ask.today))
    return answer

