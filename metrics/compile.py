"""Compile a metric request into SQL: one GROUP BY query per source (deals, quotas), run by the database.

A statement's *shape* (measures, breakdown, kind of scope, dialect, fiscal calendar) is built once and cached;
the period and the scope's rep or team travel as bound parameters. So a request costs the database's time plus
a dictionary look-up, not the building of an expression tree, and no input text is ever part of the SQL.
pandas-free on purpose: results come back as a few aggregated rows; `metrics.evaluate` merges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import Date, Integer, Select, String, and_, bindparam, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from db.schema import quotas, reps
from metrics import dialect as hooks
from metrics.currency import RATE_DAY
from metrics.model import (
    DEAL_MEASURES,
    DIMENSIONS,
    FILTERS,
    MISSING_RATES,
    Ctx,
    acct,
    mgr,
    missing_rate_count,
    o,
    owner,
    s,
)
from metrics.scopes import Scope, tree_ids

# Dimension values are returned under these labels; `dim_` avoids clashing with measure names.
DIM_PREFIX = "dim_"
START, END = bindparam("window_start", type_=Date), bindparam("window_end", type_=Date)
SCOPE_REP, SCOPE_TEAM = bindparam("scope_rep", type_=Integer), bindparam("scope_team", type_=String)
# One CTE object for every statement, so a statement that nests two scoped queries declares it once.
SCOPE_TREE = tree_ids(SCOPE_REP)


@dataclass(frozen=True)
class Window:
    """The close dates to read, and today (open deals convert at today's exchange rate)."""

    start: date
    end: date
    today: date


def params(window: Window, scope: Scope) -> dict:
    """The bound values for a statement built by this module."""
    return {"window_start": window.start, "window_end": window.end, "scope_rep": scope.rep_id,
            "scope_team": scope.team, RATE_DAY.key: window.today}


def scope_condition(column: ColumnElement, kind: str) -> ColumnElement | None:
    """`column` (a rep id) restricted to the scope, with the scope's rep or team as a bound parameter."""
    if kind == "org":
        return None
    if kind == "rep":
        return column == SCOPE_REP
    if kind == "team":
        return column.in_(select(reps.c.id).where(func.lower(reps.c.team) == func.lower(SCOPE_TEAM)))
    return column.in_(SCOPE_TREE)


def _dim_columns(ctx: Ctx, by: tuple[str, ...]) -> list[ColumnElement]:
    return [DIMENSIONS[name].expr(ctx).label(DIM_PREFIX + name) for name in by]


def _order_by(ctx: Ctx, by: tuple[str, ...]) -> list[ColumnElement]:
    out = []
    for name in by:
        dim = DIMENSIONS[name]
        out.append(dim.sort(ctx) if dim.sort else DIMENSIONS[name].expr(ctx))
    return out


def deal_from(by: tuple[str, ...]):
    """Deals joined to their stage and to whatever the breakdown's dimensions read (owner, manager, account)."""
    joins = frozenset().union(*(DIMENSIONS[d].joins for d in by))
    from_ = o.join(s, o.c.stage == s.c.name)
    if joins & {"owner", "mgr"}:
        from_ = from_.outerjoin(owner, o.c.owner_id == owner.c.id)
    if "mgr" in joins:
        from_ = from_.outerjoin(mgr, owner.c.manager_id == mgr.c.id)
    if "acct" in joins:
        from_ = from_.outerjoin(acct, o.c.account_id == acct.c.id)
    return from_


@lru_cache(maxsize=1024)
def deal_statement(ctx: Ctx, measures: tuple[str, ...], scope_kind: str, by: tuple[str, ...]) -> Select:
    """SELECT dims, measures FROM deals WHERE close_date in window AND owner in scope GROUP BY dims."""
    from_ = deal_from(by)
    # Rows no measure counts are filtered out in WHERE (fewer rows scanned, no empty groups); when every
    # measure shares one filter it lives only there.
    filters = {DEAL_MEASURES[m].filter for m in measures}
    single = len(filters) == 1 and None not in filters
    cols = _dim_columns(ctx, by) + [DEAL_MEASURES[m].column(ctx, single).label(m) for m in measures]
    cols.append(missing_rate_count(ctx).label(MISSING_RATES))
    query = select(*cols).select_from(from_).where(o.c.close_date.between(START, END))
    if None not in filters:
        query = query.where(or_(*(FILTERS[f](ctx) for f in sorted(filters))))
    cond = scope_condition(o.c.owner_id, scope_kind)
    if cond is not None:
        query = query.where(cond)
    if by:
        query = query.group_by(*[DIMENSIONS[name].expr(ctx) for name in by]).order_by(*_order_by(ctx, by))
    return query


@lru_cache(maxsize=256)
def quota_statement(ctx: Ctx, scope_kind: str, by: tuple[str, ...]) -> Select:
    """Quota for the window, prorated by overlapping days; a manager's own row wins over their team's sum.

    For a tree scope rooted at a manager with a quota row of their own (and no breakdown), that row is the
    answer. Otherwise the quota is the sum over the reps (role `rep`) in scope, so a manager's carried number
    is never counted on top of their team's.
    """
    d = ctx.dialect
    overlap_start = hooks.greatest(d, quotas.c.period_start, START)
    overlap_end = hooks.least(d, quotas.c.period_end, END)
    overlap_days = hooks.days_between(d, overlap_end, overlap_start) + 1
    quota_days = hooks.days_between(d, quotas.c.period_end, quotas.c.period_start) + 1
    prorated = quotas.c.amount * overlap_days / cast(quota_days, quotas.c.amount.type)
    total = hooks.money_total(d, func.sum(prorated))
    from_ = quotas.join(owner, quotas.c.rep_id == owner.c.id)
    if any(DIMENSIONS[x].needs_manager for x in by):
        from_ = from_.outerjoin(mgr, owner.c.manager_id == mgr.c.id)
    cols = _dim_columns(ctx, by) + [total.label("quota")]
    overlaps = and_(quotas.c.period_start <= END, quotas.c.period_end >= START)
    query = select(*cols).select_from(from_).where(overlaps)
    if scope_kind == "tree" and not by:
        # two plain sums the planner handles well: the manager's own row, else the team's reps
        own = select(total).select_from(from_).where(overlaps, quotas.c.rep_id == SCOPE_REP)
        team = select(total).select_from(from_).where(
            overlaps, owner.c.role == "rep", scope_condition(owner.c.id, "tree"))
        return select(func.coalesce(own.scalar_subquery(), team.scalar_subquery()).label("quota"))
    if scope_kind == "rep":
        query = query.where(quotas.c.rep_id == SCOPE_REP)
    else:
        cond = scope_condition(owner.c.id, scope_kind)
        if cond is not None:
            query = query.where(cond)
        query = query.where(owner.c.role == "rep")
    if by:
        query = query.group_by(*[DIMENSIONS[n].expr(ctx) for n in by]).order_by(*_order_by(ctx, by))
    return query


@lru_cache(maxsize=256)
def deal_and_quota_statement(ctx: Ctx, measures: tuple[str, ...], scope_kind: str) -> Select:
    """The deal measures with the quota beside them as a scalar subquery: one round trip instead of two for the
    metrics that need both without a breakdown (attainment, gap, coverage, forecast)."""
    quota = quota_statement(ctx, scope_kind, ()).scalar_subquery().label("quota")
    return deal_statement(ctx, measures, scope_kind, ()).add_columns(quota)


def deal_and_quota_query(ctx: Ctx, measures: tuple[str, ...], window: Window, scope: Scope
                         ) -> tuple[Select, dict]:
    return deal_and_quota_statement(ctx, tuple(measures), scope.kind), params(window, scope)


def deal_query(ctx: Ctx, measures: tuple[str, ...], window: Window, scope: Scope, by: tuple[str, ...]
               ) -> tuple[Select, dict]:
    return deal_statement(ctx, tuple(measures), scope.kind, tuple(by)), params(window, scope)


def quota_query(ctx: Ctx, window: Window, scope: Scope, by: tuple[str, ...]) -> tuple[Select, dict]:
    return quota_statement(ctx, scope.kind, tuple(by)), params(window, scope)


def render_sql(query: Select, dialect, values: dict | None = None) -> str:
    """The SQL with its parameters inlined, for --explain."""
    if values:
        query = query.params(**{k: v for k, v in values.items() if v is not None})
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
