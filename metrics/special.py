"""Metrics that need more than one window or the history table: sales velocity and stage conversion.

They are still declared by name with their allowed dimensions, and still computed by the database; each knows
how to build its own queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, not_, select

from db.schema import opportunities, opportunity_history, stages
from metrics.compile import DIM_PREFIX, Window, deal_query
from metrics.model import REP_DIMENSIONS

VELOCITY_LOOKBACK_DAYS = 365


@dataclass(frozen=True)
class SpecialMetric:
    name: str
    label: str
    description: str
    fmt: str
    dimensions: tuple[str, ...]
    run: Callable

    def evaluate(self, conn, ctx, period, scope, dims, today, cache):
        from metrics.evaluate import MetricResult, _quantize, run_query

        queries, rows = self.run(conn, ctx, period, scope, dims, today, cache, run_query)
        for row in rows:
            row["value"] = _quantize(row["value"], self.fmt)
        return MetricResult(self.name, self.label, self.fmt, self.description, period, scope, dims, rows,
                            queries=queries, dialect=conn.dialect)


def _key(row: dict, dims: tuple[str, ...]) -> tuple:
    return tuple(row.get(DIM_PREFIX + d) for d in dims)


def _velocity(conn, ctx, period, scope, dims, today, cache, run_query):
    """open deals in the period × average won deal size × win rate ÷ mean cycle days.

    Deal size, win rate and cycle come from deals closed in the 365 days up to the period's end (or today, if
    the period ends later), so an early or future period still has a history to draw on.
    """
    ref = min(period.end, today)
    history = Window(ref - timedelta(days=VELOCITY_LOOKBACK_DAYS - 1), ref)
    open_q = deal_query(ctx, ("open_count", "open_amount"), Window(period.start, period.end), scope, dims)
    hist_q = deal_query(ctx, ("won_amount", "won_count", "lost_count", "cycle_days_mean"), history, scope, dims)
    opened = {_key(r, dims): r for r in run_query(conn, open_q, cache)}
    closed = {_key(r, dims): r for r in run_query(conn, hist_q, cache)}
    rows = []
    for key in list(opened) + [k for k in closed if k not in opened]:
        o, c = opened.get(key, {}), closed.get(key, {})
        won, lost = int(c.get("won_count") or 0), int(c.get("lost_count") or 0)
        cycle = c.get("cycle_days_mean")
        open_count = int(o.get("open_count") or 0)
        value = None
        if won and cycle and Decimal(str(cycle)) > 0:
            avg_size = Decimal(str(c["won_amount"])) / won
            win_rate = Decimal(won) / Decimal(won + lost)
            value = open_count * avg_size * win_rate / Decimal(str(cycle))
        row = dict(zip(dims, key, strict=True))
        row.update(value=value, open_count=open_count, won_count=won, lost_count=lost,
                   cycle_days_mean=None if cycle is None else round(Decimal(str(cycle)), 1))
        rows.append(row)
    return [open_q, hist_q], rows


def conversion_query(period_start: date, period_end: date, owner_ids):
    """Per open stage k: deals whose first entry into k falls in the period, and how many of them later reached a
    further stage that is not a lost one. Window functions over the history of only those deals with a history
    row in the period (found through the changed_at index), so the cost follows the period, not the database."""
    h = opportunity_history
    start = datetime.combine(period_start, time.min, tzinfo=UTC)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    active = select(h.c.opportunity_id).where(h.c.changed_at >= start, h.c.changed_at < end)
    if owner_ids is not None:
        active = active.where(h.c.opportunity_id.in_(
            select(opportunities.c.id).where(opportunities.c.owner_id.in_(owner_ids))))
    st = stages.alias("st")
    not_lost_position = case((not_(and_(st.c.is_closed, not_(st.c.is_won))), st.c.position))
    timeline = (
        select(
            h.c.opportunity_id, h.c.stage, h.c.changed_at, st.c.position, st.c.is_closed,
            # furthest non-lost stage reached from this row on (this row included): one sort per deal's history
            func.max(not_lost_position).over(partition_by=h.c.opportunity_id,
                                             order_by=(h.c.changed_at.desc(), h.c.id.desc()),
                                             rows=(None, 0)).label("furthest_after"),
        )
        .select_from(h.join(st, st.c.name == h.c.stage))
        .where(h.c.opportunity_id.in_(active.distinct()))
        .subquery("timeline")
    )
    # The suffix maximum only falls over time, so its value at a stage's first entry is the largest over all of
    # that stage's rows: a plain GROUP BY finds both the first entry and how far the deal got after it.
    entries = (
        select(timeline.c.stage, timeline.c.position, func.min(timeline.c.changed_at).label("entered_at"),
               func.max(timeline.c.furthest_after).label("furthest"))
        .where(not_(timeline.c.is_closed))
        .group_by(timeline.c.opportunity_id, timeline.c.stage, timeline.c.position)
        .subquery("entries")
    )
    return (
        select(
            entries.c.stage.label(DIM_PREFIX + "stage"),
            func.count().label("entered"),
            func.sum(case((entries.c.furthest > entries.c.position, 1), else_=0)).label("advanced"),
        )
        .where(entries.c.entered_at >= start, entries.c.entered_at < end)
        .group_by(entries.c.stage, entries.c.position)
        .order_by(entries.c.position)
    )


def _conversion(conn, ctx, period, scope, dims, today, cache, run_query):
    """Share of deals that entered stage k in the period and later reached a further stage (not lost)."""
    query = (conversion_query(period.start, period.end, scope.member_ids(conn)), {})
    rows = []
    for r in run_query(conn, query, cache):
        entered, advanced = int(r["entered"]), int(r["advanced"] or 0)
        rows.append({"stage": r[DIM_PREFIX + "stage"],
                     "value": Decimal(advanced) / entered if entered else None,
                     "entered": entered, "advanced": advanced})
    return [query], rows


SPECIAL_METRICS = {
    m.name: m
    for m in (
        SpecialMetric("velocity", "Sales velocity",
                      "open deals × average deal size × win rate ÷ mean cycle days (money per day); "
                      "size, win rate and cycle over the 365 days to the period end", "money",
                      REP_DIMENSIONS, _velocity),
        SpecialMetric("conversion", "Stage conversion",
                      "share of deals entering each stage in the period that later reached a further stage "
                      "(from history)", "ratio", ("stage",), _conversion),
    )
}
