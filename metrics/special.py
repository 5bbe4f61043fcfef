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
from i18n import N_, _
from metrics.accuracy import run_accuracy
from metrics.activity_metrics import run_activities, run_deals_created, run_pipeline_created
from metrics.compile import DIM_PREFIX, Window, deal_query
from metrics.dialect import among
from metrics.history_snapshot import changed_since, first_entries, usable_watermark
from metrics.model import DIMENSIONS, REP_DIMENSIONS
from metrics.payout_metric import run_payout, run_payout_projected
from metrics.periods import day_after_start
from metrics.result import MetricResult, left_out, quantize, run_query
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
        parts: list[list[dict]] = []

        def run_and_keep(conn, query, cache):
            rows = run_query(conn, query, cache)
            parts.append(rows)
            return rows

        if self.takes_moments:
            queries, rows = self.run(conn, ctx, period, scope, dims, today, cache, run_and_keep, moments)
        elif moments:
            raise UserError(_("{metric} cannot be asked as of a past date; ask it without --as-of or --trend.").format(
                metric=_(self.label)))
        else:
            queries, rows = self.run(conn, ctx, period, scope, dims, today, cache, run_and_keep)
        for row in rows:
            row["value"] = quantize(row["value"], self.fmt)
        return MetricResult(self.name, self.label, self.fmt, self.description, period, scope, dims, rows,
                            queries=queries, dialect=conn.dialect, left_out=left_out(parts),
                            org_currency=ctx.org_currency, currency=ctx.org_currency)


def _key(row: dict, dims: tuple[str, ...]) -> tuple:
    return tuple(row.get(DIM_PREFIX + d) for d in dims)


def _velocity(conn, ctx, period, scope, dims, today, cache, run_query):
    """open deals in the period × average won deal size × win rate ÷ mean cycle days.

    Deal size, win rate and cycle come from deals closed in the 365 days up to the period's end (or today, if
    the period ends later), so an early or future period still has a history to draw on.
    """
    ref = min(period.end, today)
    history = Window(ref - timedelta(days=VELOCITY_LOOKBACK_DAYS - 1), ref, today)
    open_q = deal_query(ctx, ("open_count", "open_amount"), Window(period.start, period.end, today), scope, dims)
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


def conversion_query(period_start: date, period_end: date, owner_ids, watermark: int | None = None,
                     by_rep: bool = False):
    """Per open stage k (and deal owner, `by_rep`): deals whose first entry into k falls in the period, and how
    many of them later reached a further stage that is not a lost one.

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
    # By rep, the deals are joined to their owner anyway: the scope is kept there, so opportunities is read once.
    scoped = (None if owner_ids is None or by_rep
              else select(opportunities.c.id).where(among(opportunities.c.owner_id, owner_ids)))
    if scoped is not None:
        live_deals = live_deals.where(live_deals.selected_columns[0].in_(scoped))
    live = first_entries(live_deals).subquery("live")
    parts = [select(live.c.opportunity_id, live.c.stage, case((live.c.advanced, 1), else_=0).label("advanced"))
             .where(live.c.entered_at >= start, live.c.entered_at < end)]
    if watermark is not None:
        se = bot_stage_entries
        snap = (select(se.c.opportunity_id, se.c.stage, case((se.c.advanced, 1), else_=0).label("advanced"))
                .where(se.c.entered_at >= start, se.c.entered_at < end,
                       se.c.opportunity_id.not_in(changed_since(watermark))))
        if scoped is not None:
            snap = snap.where(se.c.opportunity_id.in_(scoped))
        parts.append(snap)
    entries = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("entries")
    keys = [entries.c.stage]
    source = entries
    if by_rep:
        keys.append(opportunities.c.owner_id.label("rep_id"))
        source = entries.join(opportunities, opportunities.c.id == entries.c.opportunity_id)
    counts = select(*keys, func.count().label("entered"), func.sum(entries.c.advanced).label("advanced"))
    if by_rep and owner_ids is not None:
        counts = counts.where(among(opportunities.c.owner_id, owner_ids))
    counts = counts.select_from(source).group_by(*keys).subquery("counts")
    owner = [counts.c.rep_id.label(DIM_PREFIX + "rep_id")] if by_rep else []
    return (
        select(counts.c.stage.label(DIM_PREFIX + "stage"), *owner, counts.c.entered, counts.c.advanced)
        .join_from(counts, stages, stages.c.name == counts.c.stage)
        .order_by(stages.c.position, *owner)
    )


def _conversion(conn, ctx, period, scope, dims, today, cache, run_query):
    """Share of deals that entered stage k in the period and later reached a further stage (not lost)."""
    by_rep = "rep_id" in dims
    query = (conversion_query(period.start, period.end, scope.member_ids(conn), usable_watermark(conn), by_rep), {})
    rows = []
    for r in run_query(conn, query, cache):
        entered, advanced = int(r["entered"]), int(r["advanced"] or 0)
        rows.append({"stage": r[DIM_PREFIX + "stage"], **({"rep_id": r[DIM_PREFIX + "rep_id"]} if by_rep else {}),
                     "value": Decimal(advanced) / entered if entered else None,
                     "entered": entered, "advanced": advanced})
    return [query], rows


SPECIAL_METRICS = {
    m.name: m
    for m in (
        SpecialMetric("waterfall", N_("Pipeline waterfall"),
                      N_("how the period's open pipeline moved between two moments (default: the period's start and "
                      "now): start + created + pulled_in + increased − decreased − pushed_out − won − lost − "
                      "other_out = end"), "money", ("bucket", *DIMENSIONS), run_waterfall, takes_moments=True),
        SpecialMetric("forecast_accuracy", N_("Forecast accuracy"),
                      N_("for a finished period: 1 − |F − A| / A, F the commit roll-up at a point (default the "
                      "period's midpoint), A the closed won at the period's end; bias (F − A) / A; also for the "
                      "best-case roll-up and the submitted call"), "ratio", REP_DIMENSIONS, run_accuracy,
                      takes_moments=True),
        SpecialMetric("velocity", N_("Sales velocity"),
                      N_("open deals × average deal size × win rate ÷ mean cycle days (money per day); "
                      "size, win rate and cycle over the 365 days to the period end"), "money",
                      REP_DIMENSIONS, _velocity),
        SpecialMetric("conversion", N_("Stage conversion"),
                      N_("share of deals entering each stage in the period that later reached a further stage "
                      "(from history)"), "ratio", ("stage", "rep_id"), _conversion),
        SpecialMetric("payout", N_("Estimated payout"),
                      N_("tiered payout on closed won against quota under each rep's comp plan, plus SPIFFs "
                      "(an estimate)"), "money", ("owner",), run_payout),
        SpecialMetric("payout_projected", N_("Projected payout"),
                      N_("the payout if the rep's open commit deals closing in the period close (an estimate)"),
                      "money", ("owner",), run_payout_projected),
        SpecialMetric("activities", N_("Activities"),
                      N_("count of activities logged in the period (per_week beside it)"),
                      "count", ("owner", "kind"), run_activities),
        SpecialMetric("pipeline_created", N_("Pipeline created"), N_("Σ amount of deals created in the period"),
                      "money",
                      ("owner", "team", "region"), run_pipeline_created),
        SpecialMetric("deals_created", N_("Deals created"), N_("count of deals created in the period"), "count",
                      ("owner", "team", "region"), run_deals_created),
    )
}
