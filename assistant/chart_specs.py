"""Which chart fits an answer, chosen by its data (metric and breakdown), and the ChartSpec that draws it.

- a breakdown by month, quarter or day → `lines`, in time order, every month of the period (zero when nothing
  happened; a ratio with nothing to divide is a gap);
- a breakdown by stage → `bars` with every stage the metric can hold, in pipeline order, zero ones too;
- a breakdown by any other category (owner, team, product…) → `bars`, largest first; ratios (win rate,
  attainment) on a percent axis;
- no breakdown → the metric by month over the period (`lines`: the trend), or by owner for a team when the
  metric belongs to reps (quota, attainment, gap, coverage), or no chart for one person's single figure;
- stage conversion → `funnel`; a comparison of two periods or two people → `paired` bars.

Every title names what, the scope and the period.
"""

from __future__ import annotations

from datetime import date

from assistant.ask import Ask
from i18n import _
from metrics.deals import stage_names
from metrics.evaluate import MetricResult, metric_definition
from metrics.periods import Period
from metrics.scopes import Scope
from render.answers import ChartSpec

TIME_DIMENSIONS = ("month", "quarter", "day")
MAX_MONTHS = 36  # longer periods ("all time") are drawn from the months that have data only
# The stages a metric by stage can have figures in (the rest of the stage list is always zero for it).
STAGE_SET = {"pipeline": "open", "weighted_pipeline": "open", "velocity": "open", "closed_won": "won",
             "avg_deal_size": "won", "cycle_days": "won", "cycle_days_mean": "won", "closed_lost": "lost",
             "win_rate": "closed", "win_rate_value": "closed"}
ZERO_FORMATS = ("money", "count")  # formats where "no rows" means zero (a ratio or a duration has no value)


def chart_title(what: str, by: tuple[str, ...], scope: Scope, period: Period) -> str:
    from assistant.reading_words import dimension_name

    if by:
        what = _("{what} by {dimensions}").format(
            what=what, dimensions=_(" and ").join(dimension_name(d) for d in by))
    return f"{what} · {scope.label} · {period.label}"


def _months(period: Period) -> list[str]:
    if period.start.year < 1900 or period.end.year > 2200:
        return []
    months, y, m = [], period.start.year, period.start.month
    while (y, m) <= (period.end.year, period.end.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months if len(months) <= MAX_MONTHS else []


def _time_key(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _lines(result: MetricResult, title: str) -> ChartSpec:
    dim = result.by[0]
    values = {_time_key(r[dim]): r["value"] for r in result.rows if r.get(dim) is not None}
    if dim == "month":
        blank = 0 if result.fmt in ZERO_FORMATS else None
        for month in _months(result.period):
            values.setdefault(month, blank)
    return ChartSpec("lines", title, sorted(values.items()), extra={"fmt": result.fmt})


def _stage_bars(ask: Ask, result: MetricResult, title: str) -> ChartSpec:
    values = {r.get("stage"): r["value"] for r in result.rows}
    blank = 0 if result.fmt in ZERO_FORMATS else None
    order = stage_names(ask.conn, STAGE_SET.get(result.metric, "all"))
    series = [(s, values.get(s, blank)) for s in order] + [(s, v) for s, v in values.items() if s not in order]
    return ChartSpec("bars", title, series, extra={"fmt": result.fmt})


def breakdown_chart(ask: Ask, result: MetricResult, what: str) -> ChartSpec | None:
    """The chart of a metric broken down (see the module docstring); None when it has no breakdown."""
    if not result.by:
        return None
    title = chart_title(what, result.by, result.scope, result.period)
    if len(result.by) == 1 and result.by[0] in TIME_DIMENSIONS:
        return _lines(result, title)
    if result.by == ("stage",) and ask.request.limit is None:
        return _stage_bars(ask, result, title)
    labelled = [(" · ".join(str(r.get(d) or "—") for d in result.by), r["value"]) for r in result.rows]
    if ask.request.limit is None:  # a ranked answer keeps its own order
        labelled.sort(key=lambda p: (p[1] is None, -(p[1] or 0)))
    return ChartSpec("bars", title, labelled, extra={"fmt": result.fmt})


def trend_chart(ask: Ask, name: str, period: Period, scope: Scope, what: str) -> ChartSpec | None:
    """A metric with no breakdown: by month over the period, or by owner for a team when the metric belongs to
    reps; None for one rep's figure that has no month to split by."""
    allowed = metric_definition(name).dimensions
    if "month" in allowed:
        return breakdown_chart(ask, ask.metric(name, period, scope, ("month",)), what)
    if scope.kind != "rep" and "owner" in allowed:
        return breakdown_chart(ask, ask.metric(name, period, scope, ("owner",)), what)
    return None


def chart_for(ask: Ask, name: str, period: Period, scope: Scope, what: str,
              split: MetricResult | None = None) -> ChartSpec | None:
    """The chart for a metric answer: its breakdown when it has one, else the trend."""
    if split is not None and split.by:
        return breakdown_chart(ask, split, what)
    return trend_chart(ask, name, period, scope, what)


def funnel_chart(result: MetricResult, scope: Scope, period: Period) -> ChartSpec:
    return ChartSpec("funnel", chart_title(_("Stage conversion"), (), scope, period),
                     [(r["stage"], r["entered"]) for r in result.rows],
                     extra={"conversion": [r["value"] for r in result.rows]})


def paired_chart(title: str, what: str, labels: tuple[str, str], first, second, fmt: str) -> ChartSpec:
    return ChartSpec("paired", title, [(what, (first, second))], extra={"fmt": fmt, "legend": list(labels)})


def time_line_chart(title: str, series: list[tuple[str, object]], fmt: str, target=None,
                    target_label: str | None = None) -> ChartSpec:
    """A value at each moment (a trend's points, a forecast's weeks), in time order, with a dashed target line (the
    quota, the actual) when there is one."""
    extra = {"fmt": fmt} if target_label is None else {"fmt": fmt, "target_label": target_label}
    return ChartSpec("lines", title, series, target=target, extra=extra)
