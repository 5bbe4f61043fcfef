"""Ranked and filtered lists of open deals: "top 5 deals", "biggest deals closing this month", "deals over 100k"."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, func, not_, select

from metrics.currency import Conversion
from metrics.deals import DealRow, _base, _rows, conversion, o, s
from metrics.periods import Period
from metrics.scopes import Scope


def ranked_open_deals(conn: Connection, scope: Scope, period: Period, *, limit: int,
                      amount_min: Decimal | None = None, amount_max: Decimal | None = None,
                      stage: str | None = None, smallest: bool = False, money: Conversion | None = None
                      ) -> tuple[list[DealRow], int]:
    """Open deals closing in the period that pass the filters, largest first (smallest first on request), and
    how many pass in all. Amounts, their order and `amount_min`/`amount_max` (inclusive) are in the org currency
    (`money`); `stage` matches the stage name in any case."""
    money = conversion(conn, money)
    amount = money.amount()
    cond = [not_(s.c.is_closed), o.c.close_date.between(period.start, period.end)]
    if amount_min is not None:
        cond.append(amount >= amount_min)
    if amount_max is not None:
        cond.append(amount <= amount_max)
    if stage:
        cond.append(func.lower(o.c.stage) == stage.lower())
    order = amount.asc().nulls_last() if smallest else amount.desc().nulls_last()
    query = _base(scope, money).where(*cond).order_by(order, o.c.close_date, o.c.id)
    total = conn.execute(select(func.count()).select_from(_base(scope, money).where(*cond).subquery())).scalar_one()
    return _rows(conn, query.limit(limit)), total
