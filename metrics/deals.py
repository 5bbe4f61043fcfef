"""Deal lists and single-deal detail: the rows behind `/sales deals` and `/sales deal NAME`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection, func, not_, select

from db.schema import accounts, activities, opportunities, opportunity_history, reps, stages
from metrics.currency import Conversion
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
    amount: Decimal | None  # in the org currency; None also when its currency has no rate
    close_date: date | None
    probability: int
    next_step: str | None
    currency: str | None = None  # the deal's own currency and amount
    own_amount: Decimal | None = None


def _in_scope(query, scope: Scope):
    ids = scope.owner_ids()
    return query.where(o.c.owner_id.in_(ids)) if ids is not None else query


def conversion(conn: Connection, money: Conversion | None) -> Conversion:
    """`money`, or for a caller that gave none: amounts in USD, open deals at today's rate in UTC."""
    return money or Conversion.of(conn, "USD", datetime.now(UTC).date())


def _base(scope: Scope, money: Conversion):
    query = (
        select(o.c.id, o.c.external_id, o.c.name, reps.c.name.label("owner"), accounts.c.name.label("account"),
               o.c.stage, money.amount().label("amount"), o.c.close_date,
               func.coalesce(o.c.probability, s.c.probability).label("probability"), o.c.next_step,
               o.c.currency, o.c.amount.label("own_amount"))
        .select_from(o.join(s, s.c.name == o.c.stage).outerjoin(reps, reps.c.id == o.c.owner_id)
                     .outerjoin(accounts, accounts.c.id == o.c.account_id))
    )
    return _in_scope(query, scope)


def _rows(conn: Connection, query) -> list[DealRow]:
    return [DealRow(r.id, r.external_id, r.name, r.owner, r.account, r.stage, _money(r.amount), r.close_date,
                    r.probability, r.next_step, r.currency, r.own_amount) for r in conn.execute(query)]


def _money(value) -> Decimal | None:
    """A converted amount as exact cents (SQLite hands the quotient back as a float of the cents)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def open_deals_closing(conn: Connection, scope: Scope, period: Period, limit: int = 15,
                       money: Conversion | None = None) -> tuple[list[DealRow], int]:
    """Open deals with a close date in the period, largest first (in the org currency), and how many in all."""
    money = conversion(conn, money)
    cond = [not_(s.c.is_closed), o.c.close_date.between(period.start, period.end)]
    query = _base(scope, money).where(*cond).order_by(money.amount().desc().nulls_last(), o.c.close_date, o.c.id)
    total = conn.execute(select(func.count()).select_from(_base(scope, money).where(*cond).subquery())).scalar_one()
    return _rows(conn, query.limit(limit)), total


CHOICES = 5  # deals offered when a name could mean several
FUZZY_NAMES = 20000  # names compared for a close spelling
FUZZY_CUTOFF = 0.8  # a typo or two; "globex platform" is not "acme platform" (0.71)
FUZZY_MARGIN = 0.1  # the best close spelling wins only this far ahead of the next


@dataclass(frozen=True)
class DealMatch:
    """What a typed deal name found: one deal (`read_as` says how the text was read when it was not the deal's
    exact name or id), or the deals it could mean (`choices`), or nothing."""

    deal: DealRow | None = None
    read_as: str | None = None
    choices: list[DealRow] = field(default_factory=list)


def _candidates(conn: Connection, scope: Scope, *cond, money: Conversion | None = None) -> list[DealRow]:
    """Deals in scope meeting `cond`: open ones first, then the largest, at most one more than CHOICES."""
    money = conversion(conn, money)
    query = _base(scope, money).where(*cond).order_by(s.c.is_closed, money.amount().desc().nulls_last(), o.c.id)
    return _rows(conn, query.limit(CHOICES + 1))


def _one_or_choices(found: list[DealRow], *, inexact: bool) -> DealMatch:
    """One deal (read as its name when the text was not its exact name), or the deals to choose from."""
    if len(found) == 1:
        return DealMatch(found[0], found[0].name if inexact else None)
    return DealMatch(choices=found)


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def find_deal(conn: Connection, scope: Scope, text: str, money: Conversion | None = None) -> DealMatch:
    """A deal in scope by external id or name: the id, then the exact name, then a part of the name, then a close
    spelling (difflib over up to FUZZY_NAMES names). Case is ignored throughout."""
    key = text.strip().lower()
    if not key:
        return DealMatch()
    by_id = _candidates(conn, scope, func.lower(o.c.external_id) == key, money=money)
    if len(by_id) == 1:
        return DealMatch(by_id[0])
    named = _candidates(conn, scope, func.lower(o.c.name) == key, money=money)
    if named:
        return _one_or_choices(named, inexact=False)
    within = _candidates(conn, scope, func.lower(o.c.name).contains(key, autoescape=True), money=money)
    if within:
        return _one_or_choices(within, inexact=True)
    names = {n.lower() for (n,) in conn.execute(_in_scope(select(o.c.name).distinct(), scope).limit(FUZZY_NAMES))}
    # A typo is forgiven in letters, not in numbers: "Deal 19" is not a misspelt "Deal 11".
    names = {n for n in names if _numbers(n) == _numbers(key)}
    close = difflib.get_close_matches(key, list(names), n=CHOICES, cutoff=FUZZY_CUTOFF)
    if not close:
        return DealMatch()
    ratios = [difflib.SequenceMatcher(None, key, name).ratio() for name in close]
    if len(close) > 1 and ratios[0] - max(ratios[1:]) < FUZZY_MARGIN:
        return DealMatch(choices=_candidates(conn, scope, func.lower(o.c.name).in_(close), money=money))
    return _one_or_choices(_candidates(conn, scope, func.lower(o.c.name) == close[0], money=money), inexact=True)


@dataclass(frozen=True)
class DealHistory:
    stage_path: list[tuple[str, datetime | None]]  # (stage, entered at), ending at the current stage
    changes: list[tuple[datetime, str, object, object]]  # (when, field, before, after): amount and close_date
    last_activity: datetime | None


TRACKED_CHANGES = ("amount", "close_date")


def deal_history(conn: Connection, opp_id: int) -> DealHistory:
    """The deal's path through stages and its amount and close-date changes, from its history rows in order.

    A history row may leave a field empty (a source that records only what changed): an empty field is "no news",
    so each row is compared with the last value known for that field, not with the row before it."""
    h = opportunity_history
    rows = conn.execute(select(h.c.changed_at, h.c.stage, h.c.amount, h.c.close_date)
                        .where(h.c.opportunity_id == opp_id).order_by(h.c.changed_at, h.c.id)).all()
    path: list[tuple[str, datetime | None]] = []
    changes: list[tuple[datetime, str, object, object]] = []
    known: dict[str, object] = {}
    for r in rows:
        if r.stage and (not path or path[-1][0] != r.stage):
            path.append((r.stage, r.changed_at))
        for name in TRACKED_CHANGES:
            value = getattr(r, name)
            if value is None:
                continue
            if name in known and known[name] != value:
                changes.append((r.changed_at, name, known[name], value))
            known[name] = value
    deal = conn.execute(select(o.c.stage, o.c.last_activity_at, o.c.stage_entered_at).where(o.c.id == opp_id)).one()
    if not path or path[-1][0] != deal.stage:  # history that has not caught up with the deal
        path.append((deal.stage, deal.stage_entered_at))
    logged = conn.execute(select(func.max(activities.c.occurred_at)).where(activities.c.opportunity_id == opp_id))
    last_activity = max(filter(None, (logged.scalar(), deal.last_activity_at)), default=None)
    return DealHistory(path, changes, last_activity)


STAGE_SETS = {"open": lambda: not_(s.c.is_closed), "won": lambda: s.c.is_closed & s.c.is_won,
              "lost": lambda: s.c.is_closed & not_(s.c.is_won), "closed": lambda: s.c.is_closed}


def stage_names(conn: Connection, which: str = "all") -> list[str]:
    """The stage names in pipeline order (position): all of them, or only the open, won, lost or closed ones."""
    query = select(s.c.name).order_by(s.c.position, s.c.name)
    if which in STAGE_SETS:
        query = query.where(STAGE_SETS[which]())
    return list(conn.execute(query).scalars())
