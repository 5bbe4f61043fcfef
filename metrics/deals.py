"""Deal lists and single-deal detail: the rows behind `/sales deals` and `/sales deal NAME`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, func, not_, or_, select

from db.schema import accounts, activities, opportunities, opportunity_history, reps, stages
from metrics.periods import Period
from metrics.scopes import Scope

o, s = opportunities, stages


@dataclass(frozen=True)
class DealRow:
    id: int
    record: str
    name: str
    owner: str | None
    account: str | None
    stage: str
    amount: Decimal | None
    close_date: date | None
    probability: int
    next_step: str | None


def _base(scope: Scope):
    query = (
        select(o.c.id, o.c.external_id, o.c.name, reps.c.name.label("owner"), accounts.c.name.label("account"),
               o.c.stage, o.c.amount, o.c.close_date,
               func.coalesce(o.c.probability, s.c.probability).label("probability"), o.c.next_step)
        .select_from(o.join(s, s.c.name == o.c.stage).outerjoin(reps, reps.c.id == o.c.owner_id)
                     .outerjoin(accounts, accounts.c.id == o.c.account_id))
    )
    ids = scope.owner_ids()
    return query.where(o.c.owner_id.in_(ids)) if ids is not None else query


def _rows(conn: Connection, query) -> list[DealRow]:
    return [DealRow(r.id, r.external_id, r.name, r.owner, r.account, r.stage, r.amount, r.close_date,
                    r.probability, r.next_step) for r in conn.execute(query)]


def open_deals_closing(conn: Connection, scope: Scope, period: Period, limit: int = 15) -> tuple[list[DealRow], int]:
    """Open deals with a close date in the period, largest first, and how many there are in all."""
    cond = [not_(s.c.is_closed), o.c.close_date.between(period.start, period.end)]
    query = _base(scope).where(*cond).order_by(o.c.amount.desc().nulls_last(), o.c.close_date, o.c.id)
    total = conn.execute(select(func.count()).select_from(_base(scope).where(*cond).subquery())).scalar_one()
    return _rows(conn, query.limit(limit)), total


def find_deal(conn: Connection, scope: Scope, text: str) -> tuple[DealRow | None, list[str]]:
    """A deal in scope by external id or name (exact, then contains, then close spelling); else suggestions."""
    key = text.strip().lower()
    if not key:
        return None, []
    exact = _rows(conn, _base(scope).where(or_(func.lower(o.c.external_id) == key, func.lower(o.c.name) == key))
                  .order_by(o.c.id).limit(2))
    if len(exact) == 1:
        return exact[0], []
    contains = _rows(conn, _base(scope).where(func.lower(o.c.name).contains(key, autoescape=True))
                     .order_by(not_(s.c.is_closed).desc(), o.c.amount.desc().nulls_last()).limit(6))
    if len(contains) == 1:
        return contains[0], []
    if contains:
        return None, [f"{d.name} ({d.record})" for d in contains[:5]]
    names = [n for (n,) in conn.execute(select(_base(scope).subquery().c.name).limit(20000))]
    close = difflib.get_close_matches(text.strip(), names, n=3, cutoff=0.6)
    if len(close) == 1:
        return find_deal(conn, scope, close[0])[0], []
    return None, close


@dataclass(frozen=True)
class DealHistory:
    stage_path: list[tuple[str, datetime]]
    changes: list[tuple[datetime, str, object, object]]  # (when, field, before, after)
    last_activity: datetime | None
    stage_entered_at: datetime | None


def deal_history(conn: Connection, opp_id: int) -> DealHistory:
    h = opportunity_history
    rows = conn.execute(select(h.c.changed_at, h.c.stage, h.c.amount, h.c.close_date)
                        .where(h.c.opportunity_id == opp_id).order_by(h.c.changed_at, h.c.id)).all()
    path: list[tuple[str, datetime]] = []
    changes: list[tuple[datetime, str, object, object]] = []
    prev = None
    for r in rows:
        if r.stage and (not path or path[-1][0] != r.stage):
            path.append((r.stage, r.changed_at))
        if prev is not None:
            for field in ("amount", "close_date"):
                before, after = getattr(prev, field), getattr(r, field)
                if before != after and after is not None:
                    changes.append((r.changed_at, field, before, after))
        prev = r
    last = conn.execute(select(func.max(activities.c.occurred_at)).where(activities.c.opportunity_id == opp_id))
    current = conn.execute(select(o.c.last_activity_at, o.c.stage_entered_at).where(o.c.id == opp_id)).one()
    last_activity = max(filter(None, (last.scalar(), current.last_activity_at)), default=None)
    return DealHistory(path, changes, last_activity, current.stage_entered_at)
