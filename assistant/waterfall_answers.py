"""`/sales waterfall [who] [when]`: how a period's open pipeline moved between two moments (DESIGN §4a), bucket by
bucket, from the metrics layer's `waterfall` metric (metrics/waterfall.py), with a waterfall chart.

The moments: the start of the period (00:00 where the org is) to now, or to the period's end once it is over; "as
of D" moves the second moment to D. Each row of the answer is one bucket with the operator it carries in
start + created + pulled_in + increased − decreased − pushed_out − won − lost − other_out = end.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from assistant.answer_parts import LIST_LIMIT, _actions, _explain
from assistant.as_of_answers import as_of_text
from assistant.ask import Ask
from assistant.chart_specs import chart_title
from assistant.reading_words import dimension_name
from errors import UserError
from i18n import N_, _
from metrics.evaluate import MetricResult, evaluate
from metrics.waterfall import BUCKETS, SIGNS, moments_of
from render.answers import Answer, ChartSpec, Column, Figure, Table
from render.format import date_text

BUCKET_LABELS = {
    "start": N_("Start"), "created": N_("Created"), "pulled_in": N_("Pulled in"), "increased": N_("Increased"),
    "decreased": N_("Decreased"), "pushed_out": N_("Pushed out"), "won": N_("Won"), "lost": N_("Lost"),
    "other_out": N_("Other out"), "end": N_("End"),
}
OPERATORS = {1: "+", -1: "\u2212", 0: "="}


def moment_words(moment: datetime, zone: ZoneInfo) -> str:
    """"the start of 1 Oct 2026" for midnight where the org is; else as `as_of_text` says it."""
    local = moment.astimezone(zone)
    if local.time() == time.min:
        return _("the start of {date}").format(date=date_text(local.date()))
    return as_of_text(moment, zone)


def waterfall_moments(ask: Ask) -> tuple[datetime, datetime]:
    """The two moments the question asks about, or a sentence saying why there are none."""
    period, zone = ask.period(), ask.settings.tz
    if datetime.combine(period.start, time.min, tzinfo=zone) > ask.now:
        raise UserError(_("{period} has not started yet, so its pipeline has not moved. Ask `/sales pipeline` "
                          "for what is in it now.").format(period=period.label))
    first, second = moments_of(period, ask.now, zone, ask.request.as_of)
    if first >= second:
        raise UserError(_("The waterfall runs from the start of {period}; “as of” must come after that.")
                        .format(period=period.label))
    return first, second


def bucket_values(result: MetricResult) -> dict[str, Decimal]:
    """The ungrouped result as bucket → amount (as the identity names it: decreased, won… are positive)."""
    return {r["bucket"]: r["value"] for r in result.rows}


def group_table(result: MetricResult) -> Table:
    """One small waterfall per group: a row per group (its dimensions as of the second moment), a column per
    bucket, each amount as the identity names it; every row kept for the CSV file."""
    groups: dict[tuple, dict[str, Decimal]] = {}
    for r in result.rows:
        groups.setdefault(tuple(r[d] for d in result.by), {})[r["bucket"]] = r["value"]
    rows = [[*key, *(values[b] for b in BUCKETS)] for key, values in groups.items()]
    columns = [Column(dimension_name(d)) for d in result.by] + [Column(_(BUCKET_LABELS[b]), "money")
                                                                  for b in BUCKETS]
    return Table(columns, rows[:LIST_LIMIT], total_rows=len(rows), all_rows=rows)


def waterfall(ask: Ask) -> Answer:
    period, scope, zone, by = ask.period(), ask.scope(), ask.settings.tz, ask.request.by
    first, second = waterfall_moments(ask)

    def run(dims: tuple[str, ...]) -> MetricResult:
        return evaluate(ask.conn, "waterfall", period, scope, by=dims, today=ask.today, fiscal_start_month=ask.fiscal,
                        cache=ask.cache, org_currency=ask.settings.org_currency, as_of=(first, second))

    result = run(())
    values = bucket_values(result)
    steps = [(f"{OPERATORS[SIGNS[b]] + ' ' if b != 'start' else ''}{_(BUCKET_LABELS[b])}", values[b])
             for b in BUCKETS]
    when = _("from {first} to {second}").format(first=moment_words(first, zone), second=moment_words(second, zone))
    answer = Answer(kind="metric", title=_("Pipeline waterfall · {scope}").format(scope=scope.label),
                    figures=[Figure(_("Start"), values["start"]), Figure(_("End"), values["end"]),
                             Figure(_("Net change"), values["end"] - values["start"])],
                    table=Table([Column(_("step")), Column(_("amount"), "money")], [list(s) for s in steps]),
                    lines=[_("How the open pipeline of {period} moved {when}.").format(period=period.label,
                                                                                       when=when)],
                    context=[period.described, scope.label, *filter(None, [ask.freshness_at(ask.request.as_of)])],
                    actions=_actions(ask))
    results = [result]
    if by:
        results.append(grouped := run(by))
        answer.table = group_table(grouped)
        answer.lines.append(_("One row per {dimensions}, as the deals stood at the end: start + created + pulled "
                              "in + increased − decreased − pushed out − won − lost − other out = end.")
                            .format(dimensions=_(" and ").join(dimension_name(d) for d in by)))
    if not any(values.values()):
        answer.lines.append(_("Nothing was in this pipeline, and nothing came in or went out, in that time."))
    if "chart" in ask.request.options:
        answer.chart = ChartSpec("waterfall", chart_title(_("Pipeline waterfall"), (), scope, period),
                                 [(_(BUCKET_LABELS[b]), values[b] * (SIGNS[b] or 1)) for b in BUCKETS],
                                 extra={"fmt": "money"})
    return _explain(ask, answer, *results)
