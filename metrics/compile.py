"""Compile a metric request into SQL: one GROUP BY query per source (deals, quotas), run by the database.

pandas-free on purpose: results come back as a few aggregated rows; `metrics.evaluate` merges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from db.schema import quotas
from metrics import hooks
from metrics.model import DEAL_MEASURES, DIMENSIONS, FILTERS, Ctx, acct, mgr, o, owner, s
from metrics.scopes import Scope

# Dimension values are returned under these labels; `dim_` avoids clashing with measure names.
DIM_PREFIX = "dim_"


@dataclass(frozen=True)
class Window:
    start: date
    end: date


def _dim_columns(ctx: Ctx, by: tuple[str, ...]) -> list[ColumnElement]:
    return [DIMENSIONS[name].expr(ctx).label(DIM_PREFIX + name) for name in by]


def _order_by(ctx: Ctx, by: tuple[str, ...]) -> list[ColumnElement]:
    out = []
    for name in by:
        dim = DIMENSIONS[name]
        out.append(dim.sort(ctx) if dim.sort else DIMENSIONS[name].expr(ctx))
    return out


def deal_query(ctx: Ctx, measures: tuple[str, ...], window: Window, scope: Scope, by: tuple[str, ...]) -> Select:
    """SELECT dims, measures FROM deals WHERE close_date in window AND owner in scope GROUP BY dims."""
    from_ = o.join(s, o.c.stage == s.c.name).outerjoin(owner, o.c.owner_id == owner.c.id)
    from_ = from_.outerjoin(acct, o.c.account_id == acct.c.id)
    if any(DIMENSIONS[d].needs_manager for d in by):
        from_ = from_.outerjoin(mgr, owner.c.manager_id == mgr.c.id)
    # Rows no measure counts are filtered out in WHERE (fewer rows scanned, no empty groups); when every
    # measure shares one filter it lives only there.
    filters = {DEAL_MEASURES[m].filter for m in measures}
    single = len(filters) == 1 and None not in filters
    cols = _dim_columns(ctx, by) + [DEAL_MEASURES[m].column(ctx, single).label(m) for m in measures]
    query = select(*cols).select_from(from_).where(o.c.close_date.between(window.start, window.end))
    if None not in filters:
        query = query.where(or_(*(FILTERS[f](ctx) for f in sorted(filters))))
    ids = scope.owner_ids()
    if ids is not None:
        query = query.where(o.c.owner_id.in_(ids))
    if by:
        dims = [DIMENSIONS[name].expr(ctx) for name in by]
        query = query.group_by(*dims).order_by(*_order_by(ctx, by))
    return query


def quota_query(ctx: Ctx, window: Window, scope: Scope, by: tuple[str, ...]) -> Select:
    """Quota for the window, prorated by overlapping days; a manager's own row wins over their team's sum.

    For a tree scope rooted at a manager with a quota row of their own (and no breakdown), that row is the
    answer. Otherwise the quota is the sum over the reps (role `rep`) in scope, so a manager's carried number
    is never counted on top of their team's.
    """
    d = ctx.dialect
    overlap_start = hooks.greatest(d, quotas.c.period_start, literal(window.start))
    overlap_end = hooks.least(d, quotas.c.period_end, literal(window.end))
    overlap_days = hooks.days_between(d, overlap_end, overlap_start) + 1
    quota_days = hooks.days_between(d, quotas.c.period_end, quotas.c.period_start) + 1
    prorated = quotas.c.amount * overlap_days / cast(quota_days, quotas.c.amount.type)
    from_ = quotas.join(owner, quotas.c.rep_id == owner.c.id)
    if any(DIMENSIONS[x].needs_manager for x in by):
        from_ = from_.outerjoin(mgr, owner.c.manager_id == mgr.c.id)
    cols = _dim_columns(ctx, by) + [func.sum(prorated).label("quota")]
    overlaps = and_(quotas.c.period_start <= window.end, quotas.c.period_end >= window.start)
    query = select(*cols).select_from(from_).where(overlaps)
    if scope.kind == "tree" and not by:
        # own row if present, else the team's reps
        own = select(quotas.c.id).where(quotas.c.rep_id == scope.rep_id, overlaps).exists()
        team = and_(owner.c.id.in_(scope.owner_ids()), owner.c.role == "rep")
        query = query.where((own & (quotas.c.rep_id == scope.rep_id)) | (~own & team))
    elif scope.kind == "rep":
        query = query.where(quotas.c.rep_id == scope.rep_id)
    else:
        ids = scope.owner_ids()
        if ids is not None:
            query = query.where(owner.c.id.in_(ids))
        query = query.where(owner.c.role == "rep")
    if by:
        query = query.group_by(*[DIMENSIONS[n].expr(ctx) for n in by]).order_by(*_order_by(ctx, by))
    return query


def render_sql(query: Select, dialect) -> str:
    """The SQL with its parameters inlined, for --explain."""
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
