"""Scorecard metrics counted by when something happened rather than by close date: `activities` (by occurred_at,
`--by` kind and owner), `pipeline_created` (Σ amount of deals created in the period) and `deals_created`."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import func, select

from db.schema import activities, opportunities, reps, stages
from metrics.compile import DIM_PREFIX
from metrics.model import ROW_EXPRESSIONS, as_decimal
from metrics.periods import day_after_start


def _bounds(period):
    return datetime.combine(period.start, time.min, tzinfo=UTC), day_after_start(period.end)


def _grouped(query, dims, columns: dict):
    cols = [columns[d].label(DIM_PREFIX + d) for d in dims]
    query = query.add_columns(*cols)
    return query.group_by(*(columns[d] for d in dims)).order_by(*(columns[d] for d in dims)) if dims else query


def _rows(conn, query, dims, extra=lambda r: {}, params: dict | None = None):
    out = []
    for r in conn.execute(query, params or {}).mappings():
        row = {d: r[DIM_PREFIX + d] for d in dims}
        row.update(value=r["value"], **extra(r))
        out.append(row)
    return out


def run_activities(conn, ctx, period, scope, dims, today, cache, run_query):
    start, end = _bounds(period)
    a = activities
    query = (select(func.count().label("value")).select_from(a.outerjoin(reps, a.c.rep_id == reps.c.id))
             .where(a.c.occurred_at >= start, a.c.occurred_at < end))
    ids = scope.owner_ids()
    if ids is not None:
        query = query.where(a.c.rep_id.in_(ids))
    query = _grouped(query, dims, {"owner": reps.c.name, "rep_id": a.c.rep_id, "kind": a.c.kind})
    weeks = as_decimal(period.days) / 7
    return [], _rows(conn, query, dims, lambda r: {"per_week": (as_decimal(r["value"]) / weeks).quantize(
        as_decimal("0.1"))})


def _created(measure: str):
    def run(conn, ctx, period, scope, dims, today, cache, run_query):
        start, end = _bounds(period)
        o = opportunities
        amount = ROW_EXPRESSIONS["amount"](ctx)  # in the org currency, like every other amount
        value = func.coalesce(func.sum(amount), 0) if measure == "amount" else func.count()
        query = (select(value.label("value"), func.count().label("deals"))
                 .select_from(o.join(stages, o.c.stage == stages.c.name).outerjoin(reps, o.c.owner_id == reps.c.id))
                 .where(o.c.created_at >= start, o.c.created_at < end))
        ids = scope.owner_ids()
        if ids is not None:
            query = query.where(o.c.owner_id.in_(ids))
        query = _grouped(query, dims, {"owner": reps.c.name, "rep_id": o.c.owner_id, "team": reps.c.team,
                                        "region": reps.c.region})
        return [], _rows(conn, query, dims, lambda r: {"deals": r["deals"]} if measure == "amount" else {},
                         {"rate_day": today})

    return run


run_pipeline_created = _created("amount")
run_deals_created = _created("count")
