"""The pipeline waterfall (DESIGN §4a): how a period's open pipeline got from one moment to another.

Each deal is read as of both moments (metrics.asof) and counted in signed buckets that add up exactly:
start + created + pulled_in + increased − decreased − pushed_out − won − lost − other_out = end.

- start / end: the deal's amount if it is in the period's open pipeline (open, not omitted, close date in the
  period, owner in scope) as of the first / second moment.
- A deal in the pipeline at both: its amount change is `increased` or `decreased`.
- A deal in it at the first and not the second left it: its amount change up to its exit goes to `increased` or
  `decreased`, then its amount as of the second moment to one exit bucket: `won` or `lost` (closed in the
  period between the moments), `pushed_out` (its close date is now outside the period), else `other_out`
  (forecast as omitted).
- A deal that entered the pipeline after the first moment (in it at the second, or closed won or lost in the
  period between the moments): `created` if it did not exist at the first moment, else `pulled_in` (its close
  date moved into the period, or it came back from omitted or closed), by its amount as of the second moment.
- `won` is the closed-won amount of the period's deals closed won between the moments, whatever their path.

Amounts are in the org currency as of each moment (metrics.asof): a closed deal at its close date's rate, an open
one at the rate of the moment's day, so a rate change moves an open deal's amount like an edit would (`increased`
or `decreased`). A deal whose currency has no rate on that day counts as 0 at that moment and is counted in
`left_out` (the identity holds whatever the amounts).

A breakdown (`--by`) reads each dimension as of the second moment, so every deal falls in exactly one group and
the identity holds in each.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from errors import UserError
from i18n import _
from metrics.asof import as_of_reading, deal_states, swap_deals
from metrics.compile import DIM_PREFIX, END, START, Window, deal_from, params, scope_condition
from metrics.currency import rate_missing
from metrics.dialect import money_total
from metrics.model import DIMENSIONS, FILTERS, MISSING_RATES, Ctx, amount, as_decimal, o

CENT = Decimal("0.01")

BUCKETS = ("start", "created", "pulled_in", "increased", "decreased", "pushed_out", "won", "lost", "other_out",
           "end")
# The sign each bucket carries in the identity (start and end are levels, not movements).
SIGNS = {"start": 1, "created": 1, "pulled_in": 1, "increased": 1, "decreased": -1, "pushed_out": -1, "won": -1,
         "lost": -1, "other_out": -1, "end": 0}


@lru_cache(maxsize=128)
def waterfall_statement(ctx: Ctx, scope_kind: str, by: tuple[str, ...], spans: bool = False, wide: bool = False):
    """One statement: the deals' states at both moments, pivoted per deal, bucketed, summed per group."""
    states = deal_states(ctx.dialect, scope_kind, 2, spans=spans, wide=wide)
    in_window = o.c.close_date.between(START, END)
    flags = {
        "pipe": and_(FILTERS["open_forecast"](ctx), in_window),
        "won_in": and_(FILTERS["won"](ctx), in_window),
        "lost_in": and_(FILTERS["lost"](ctx), in_window),
        "won_any": FILTERS["won"](ctx),
        "lost_any": FILTERS["lost"](ctx),
        "in_window": in_window,
    }
    # the amount in the org currency as of the moment; one with no rate then counts as 0 there (and is counted)
    cols = [o.c.id.label("deal_id"), states.c.moment, func.coalesce(amount(ctx), 0).label("amount"),
            case((and_(in_window, rate_missing(ctx.dialect, ctx.org_currency)), 1), else_=0).label("unconverted")]
    cols += [case((cond, 1), else_=0).label(name) for name, cond in flags.items()]
    cols += [DIMENSIONS[d].expr(ctx).label(DIM_PREFIX + d) for d in by]
    per_moment = select(*cols).select_from(deal_from(by))
    cond = scope_condition(o.c.owner_id, scope_kind)
    if cond is not None:
        per_moment = per_moment.where(cond)
    rows = swap_deals(per_moment, states).subquery("per_moment")
    first = rows.c.moment == 0

    def at(moment_is_first: bool, column) -> ColumnElement:
        """The deal's value at one moment (its one row there; 0 when it has none). Not MAX(CASE … ELSE 0): a
        negative amount would read as 0."""
        when = first if moment_is_first else not_(first)
        return func.coalesce(func.max(case((when, column))), 0)

    pivot = [rows.c.deal_id, at(True, 1).label("e1")]
    for name in ("pipe", "won_any", "lost_any"):
        pivot.append(at(True, rows.c[name]).label(f"{name}1"))
    for name in ("pipe", "won_in", "lost_in", "in_window"):
        pivot.append(at(False, rows.c[name]).label(f"{name}2"))
    pivot += [at(True, rows.c.amount).label("a1"), at(False, rows.c.amount).label("a2"),
              func.max(rows.c.unconverted).label("unconverted")]
    # a deal's group: its dimension values as of the second moment (every deal alive at the first is at the second)
    pivot += [func.max(case((not_(first), rows.c[DIM_PREFIX + d]))).label(DIM_PREFIX + d) for d in by]
    d = select(*pivot).group_by(rows.c.deal_id).subquery("deal")
    p1, p2 = d.c.pipe1 == 1, d.c.pipe2 == 1
    won = and_(d.c.won_in2 == 1, d.c.won_any1 == 0)
    lost = and_(d.c.lost_in2 == 1, d.c.lost_any1 == 0)
    entered = and_(not_(p1), or_(p2, won, lost))
    exited = and_(p1, not_(p2))
    change = d.c.a2 - d.c.a1
    zero = 0

    def total(condition, amount) -> ColumnElement:
        return func.coalesce(money_total(ctx.dialect, func.sum(case((condition, amount), else_=zero))), zero)

    buckets = {
        "start": total(p1, d.c.a1),
        "created": total(and_(entered, d.c.e1 == 0), d.c.a2),
        "pulled_in": total(and_(entered, d.c.e1 == 1), d.c.a2),
        "increased": total(and_(p1, change > 0), change),
        "decreased": total(and_(p1, change < 0), -change),
        "pushed_out": total(and_(exited, not_(won), not_(lost), d.c.in_window2 == 0), d.c.a2),
        "won": total(won, d.c.a2),
        "lost": total(lost, d.c.a2),
        "other_out": total(and_(exited, not_(won), not_(lost), d.c.in_window2 == 1), d.c.a2),
        "end": total(p2, d.c.a2),
    }
    dims = [d.c[DIM_PREFIX + x] for x in by]
    left_out = func.coalesce(func.sum(d.c.unconverted), 0).label(MISSING_RATES)
    query = select(*dims, *(v.label(k) for k, v in buckets.items()), left_out)
    if by:
        query = query.group_by(*dims).order_by(*dims)
    return query


def moments_of(period, now: datetime, tz, second: datetime | None) -> tuple[datetime, datetime]:
    """From the period's first instant (or now, if it has not started) to `second`, else now, else the period's
    last instant if it is over."""
    from metrics.moments import end_of_day

    start = datetime.combine(period.start, time.min, tzinfo=tz)
    end = second or min(now, end_of_day(period.end, tz))
    return min(start, end), end


def run_waterfall(conn, ctx, period, scope, dims, today, cache, run_query, moments):
    """rows: one per bucket (and group), each with `bucket`, `value` (the amount as the identity names it) and
    `signed` (the value with its sign in the identity; 0 for end). `moments`: the two moments, or the second."""
    from config import load_settings

    tz = load_settings().tz
    if moments and len(moments) == 2:
        first, second = moments
    else:
        first, second = moments_of(period, datetime.now(UTC), tz, moments[-1] if moments else None)
    if first > second:
        raise UserError(_("The waterfall's first moment must come before its second."))
    by = tuple(x for x in dims if x != "bucket")
    spans, wide, moment_values = as_of_reading(conn, scope, (first, second))
    query = (waterfall_statement(ctx, scope.kind, by, spans, wide),
             {**params(Window(period.start, period.end, today), scope), **moment_values})
    out = []
    for row in run_query(conn, query, cache):
        for bucket in BUCKETS:
            value = as_decimal(row[bucket]).quantize(CENT)
            entry = {x: row[DIM_PREFIX + x] for x in by}
            entry.update(bucket=bucket, value=value, signed=value * SIGNS[bucket])
            out.append(entry)
    return [query], out
