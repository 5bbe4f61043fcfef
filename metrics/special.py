"""Metrics that need more than one window or the history table: sales velocity and stage conversion.

They are still declared by name with their allowed dimensions, and still computed by the database; each knows
how to build its own queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, not_, select

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
    h = opportunity_history
    first = (
        select(h.c.opportunity_id, h.c.stage, func.min(h.c.changed_at).label("entered_at"))
        .group_by(h.c.opportunity_id, h.c.stage)
        .subquery("first_entry")
    )
    sk = stages.alias("sk")
    h2 = opportunity_history.alias("h2")
    s2 = stages.alias("s2")
    reached_next = exists(
        select(h2.c.id)
        .select_from(h2.join(s2, h2.c.stage == s2.c.name))
        .where(
            h2.c.opportunity_id == first.c.opportunity_id,
            h2.c.changed_at >= first.c.entered_at,
            s2.c.position > sk.c.position,
            not_(and_(s2.c.is_closed, not_(s2.c.is_won))),
        )
    )
    start = datetime.combine(period_start, time.min, tzinfo=UTC)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    query = (
        select(
            sk.c.name.label(DIM_PREFIX + "stage"),
            func.count().label("entered"),
            func.sum(case((reached_next, 1), else_=0)).label("advanced"),
        )
        .select_from(first.join(sk, first.c.stage == sk.c.name).join(
            opportunities, opportunities.c.id == first.c.opportunity_id))
        .where(not_(sk.c.is_closed), first.c.entered_at >= start, first.c.entered_at < end)
        .group_by(sk.c.name, sk.c.position)
        .order_by(sk.c.position)
    )
    if owner_ids is not None:
        query = query.where(opportunities.c.owner_id.in_(owner_ids))
    return query


def _conversion(conn, ctx, period, scope, dims, today, cache, run_query):
    """Share of deals that entered stage k in the period and later reached a further stage (not lost)."""
    query = (conversion_query(period.start, period.end, scope.owner_ids()), {})
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
