"""Metrics that need more than one window or the history table: sales velocity and stage conversion.

They are still declared by name with their allowed dimensions, and still computed by the database; each knows
how to build its own queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, select, union_all

from db.schema import bot_stage_entries, opportunities, opportunity_history, stages
from errors import UserError
from metrics.accuracy import run_accuracy
from metrics.compile import DIM_PREFIX, Window, deal_query
from metrics.history_snapshot import changed_since, first_entries, usable_watermark
from metrics.model import DIMENSIONS, REP_DIMENSIONS
from metrics.periods import day_after_start
from metrics.waterfall import run_waterfall

VELOCITY_LOOKBACK_DAYS = 365


@dataclass(frozen=True)
class SpecialMetric:
    name: str
    label: str
    description: str
    fmt: str
    dimensions: tuple[str, ...]
    run: Callable
    takes_moments: bool = False  # reads `moments` (as-of instants); the others cannot be asked as of a date

    def evaluate(self, conn, ctx, period, scope, dims, today, cache, moments=None):
        from metrics.evaluate import MetricResult, _quantize, run_query

        if self.takes_moments:
            queries, rows = self.run(conn, ctx, period, scope, dims, today, cache, run_query, moments)
        elif moments:
            raise UserError(f"{self.label} cannot be asked as of a past date; ask it without --as-of or --trend.")
        else:
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


def conversion_query(period_start: date, period_end: date, owner_ids, watermark: int | None = None):
    """Per open stage k: deals whose first entry into k falls in the period, and how many of them later reached a
    further stage that is not a lost one.

    With a history snapshot (`watermark`: the history id it covers, metrics.history_snapshot), deals without
    newer history are read from it and only the others are computed from history; without one, every deal with
    a history row in the period is (found through the changed_at index, so the cost follows the period)."""
    start = datetime.combine(period_start, time.min, tzinfo=UTC)
    end = day_after_start(period_end)
    h = opportunity_history
    in_period = and_(h.c.changed_at >= start, h.c.changed_at < end)
    if watermark is None:
        live_deals = select(h.c.opportunity_id).where(in_period).distinct()
    else:
        recent = h.alias("recent")
        live_deals = (
            select(recent.c.opportunity_id).where(recent.c.id > watermark)
            .where(select(h.c.id).where(h.c.opportunity_id == recent.c.opportunity_id, in_period).exists())
            .distinct()
        )
    scoped = None if owner_ids is None else select(opportunities.c.id).where(opportunities.c.owner_id.in_(owner_ids))
    if scoped is not None:
        live_deals = live_deals.where(live_deals.selected_columns[0].in_(scoped))
    live = first_entries(live_deals).subquery("live")
    parts = [select(live.c.stage, case((live.c.advanced, 1), else_=0).label("advanced"))
             .where(live.c.entered_at >= start, live.c.entered_at < end)]
    if watermark is not None:
        se = bot_stage_entries
        snap = (select(se.c.stage, case((se.c.advanced, 1), else_=0).label("advanced"))
                .where(se.c.entered_at >= start, se.c.entered_at < end,
                       se.c.opportunity_id.not_in(changed_since(watermark))))
        if scoped is not None:
            snap = snap.where(se.c.opportunity_id.in_(scoped))
        parts.append(snap)
    entries = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("entries")
    counts = (
        select(entries.c.stage, func.count().label("entered"), func.sum(entries.c.advanced).label("advanced"))
        .group_by(entries.c.stage)
        .subquery("counts")
    )
    return (
        select(counts.c.stage.label(DIM_PREFIX + "stage"), counts.c.entered, counts.c.advanced)
        .join_from(counts, stages, stages.c.name == counts.c.stage)
        .order_by(stages.c.position)
    )


def _conversion(conn, ctx, period, scope, dims, today, cache, run_query):
    """Share of deals that entered stage k in the period and later reached a further stage (not lost)."""
    query = (conversion_query(period.start, period.end, scope.member_ids(conn), usable_watermark(conn)), {})
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
        SpecialMetric("waterfall", "Pipeline waterfall",
                      "how the period's open pipeline moved between two moments (default: the period's start and "
                      "now): start + created + pulled_in + increased − decreased − pushed_out − won − lost − "
                      "other_out = end", "money", ("bucket", *DIMENSIONS), run_waterfall, takes_moments=True),
        SpecialMetric("forecast_accuracy", "Forecast accuracy",
                      "for a finished period: 1 − |F − A| / A, F the commit roll-up at a point (default the "
                      "period's midpoint), A the closed won at the period's end; bias (F − A) / A; also for the "
                      "best-case roll-up and the submitted call", "ratio", REP_DIMENSIONS, run_accuracy,
                      takes_moments=True),
        SpecialMetric("velocity", "Sales velocity",
                      "open deals × average deal size × win rate ÷ mean cycle days (money per day); "
                      "size, win rate and cycle over the 365 days to the period end", "money",
                      REP_DIMENSIONS, _velocity),
        SpecialMetric("conversion", "Stage conversion",
                      "share of deals entering each stage in the period that later reached a further stage "
                      "(from history)", "ratio", ("stage",), _conversion),
    )
}
