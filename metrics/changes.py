"""What changed since an instant D, from the history table (DESIGN §4 "changes since D").

Each deal's state as of D is its last `opportunity_history` row at or before D; it is compared with the current
row. The comparison runs in SQL: one query lists the changed deals with a flag per kind, another totals them;
an answer (changes_overview) gets both, and the number of changed deals, from one statement.

Kinds: `new` (created after D), `won` / `lost` (not closed at D, closed now), `advanced` (open at D and now,
later stage now), `slipped` (open, close date later now), `pushed_out` (close date inside the period at D,
after its end now), `amount_up` / `amount_down` (open, amount changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, FromClause, Subquery, and_, case, func, not_, or_, select

from db.schema import opportunities, opportunity_history, reps, stages
from i18n import N_
from metrics.currency import Conversion
from metrics.deals import conversion
from metrics.dialect import among
from metrics.periods import Period
from metrics.scopes import Scope, is_wide

KINDS = ("new", "advanced", "slipped", "pushed_out", "won", "lost", "amount_up", "amount_down")
KIND_TITLES = {
    "new": N_("New"), "advanced": N_("Advanced"), "slipped": N_("Slipped"),
    "pushed_out": N_("Pushed out of the period"), "won": N_("Won"), "lost": N_("Lost"), "amount_up": N_("Amount up"),
    "amount_down": N_("Amount down"),
}


# The deal's stage now and at D (one object each: every expression over them must name the same FROM).
NOW_S, THEN_S = stages.alias("now_s"), stages.alias("then_s")


@dataclass(frozen=True)
class Change:
    opportunity_id: int
    record: str
    name: str
    owner: str | None
    kinds: tuple[str, ...]
    stage_before: str | None
    stage_after: str
    amount_before: Decimal | None
    amount_after: Decimal | None
    close_before: date | None
    close_after: date | None


def _probed_state_at(since: datetime, moved) -> Subquery:
    """The same as probes of the (deal, changed_at) index, one per moved deal: SQLite neither hashes nor indexes
    a window subquery on the right of a LEFT JOIN, and scanned it once per deal (8.5 s for a week at 100,000
    deals)."""
    h = opportunity_history
    last = (
        select(h.c.id).where(h.c.opportunity_id == moved.c.opportunity_id, h.c.changed_at <= since)
        .order_by(h.c.changed_at.desc(), h.c.id.desc()).limit(1).scalar_subquery()
    )
    ids = select(moved.c.opportunity_id, last.label("row_id")).subquery("last_rows")
    return (
        select(h.c.opportunity_id, h.c.stage, h.c.amount, h.c.close_date)
        .select_from(ids.join(h, h.c.id == ids.c.row_id))
        .subquery("before")
    )


def _lateral_state_at(since: datetime, moved) -> FromClause:
    """The same as a LATERAL probe of the (deal, changed_at) index per moved deal (PostgreSQL): the window over
    every earlier history row read all of opportunity_history (4M rows at 1,000,000 deals, ~0.65 s) to keep
    the ~10,000 rows of the moved deals; the probes read those alone."""
    h = opportunity_history
    return (
        select(h.c.opportunity_id, h.c.stage, h.c.amount, h.c.close_date)
        .where(h.c.opportunity_id == moved.c.opportunity_id, h.c.changed_at <= since)
        .order_by(h.c.changed_at.desc(), h.c.id.desc()).limit(1)
        .lateral("before")
    )


# How each database finds the state at D fastest (SQLite's probes by row id are ~30x faster than a window there:
# 8.5 s vs 0.25 s for a week at 100,000 deals; PostgreSQL plans its LATERAL probes per moved deal best).
_STATE_AT = {"sqlite": _probed_state_at, "postgresql": _lateral_state_at}


def _scope_flags(conn: Connection, since: datetime, period: Period, scope: Scope):
    """_flags for the scope's reps; a wide scope's changed deals are found like the org's (see _flags)."""
    ids = scope.member_ids(conn)
    return _flags(since, period, ids, conn.dialect.name, wide=is_wide(conn, ids))


def _flags(since: datetime, period: Period, owner_ids, dialect: str, *, wide: bool = True):
    """The per-kind flag expressions, the FROM clause and the WHERE conditions; owner_ids: None (org) or rep ids.
    A narrow scope (`wide` False) looks for its own deals' history first; a wide one (a VP's tree) does not: that
    costs a scan of every deal twice and saves less (a VP at 150,000 deals: ~1.0 s -> ~0.75 s, the org ~0.8 s)."""
    h = opportunity_history
    # Only a deal with a history row after D can have changed: the index on changed_at finds those few, and the
    # state at D is then looked up for them alone, not for every deal in the database.
    moved = select(h.c.opportunity_id).where(h.c.changed_at > since)
    if not wide:  # a rep's or a team's deals first: far fewer than the org's changed ones
        moved = moved.where(h.c.opportunity_id.in_(
            select(opportunities.c.id).where(among(opportunities.c.owner_id, owner_ids))))
    moved = moved.distinct().subquery("moved")
    before = _STATE_AT[dialect](since, moved)
    o, now_s, then_s = opportunities, NOW_S, THEN_S
    was_open = and_(before.c.opportunity_id.is_not(None), not_(func.coalesce(then_s.c.is_closed, False)))
    is_open = not_(now_s.c.is_closed)
    is_new = o.c.created_at > since
    flags = {
        "new": is_new,
        "won": and_(or_(was_open, is_new), now_s.c.is_closed, now_s.c.is_won),
        "lost": and_(or_(was_open, is_new), now_s.c.is_closed, not_(now_s.c.is_won)),
        "advanced": and_(was_open, is_open, now_s.c.position > then_s.c.position),
        "slipped": and_(was_open, is_open, o.c.close_date > before.c.close_date),
        "pushed_out": and_(was_open, before.c.close_date.between(period.start, period.end),
                           o.c.close_date > period.end),
        "amount_up": and_(was_open, is_open, o.c.amount > before.c.amount),
        "amount_down": and_(was_open, is_open, o.c.amount < before.c.amount),
    }
    from_ = (
        o.join(moved, moved.c.opportunity_id == o.c.id)
        .join(now_s, o.c.stage == now_s.c.name)
        .outerjoin(before, before.c.opportunity_id == o.c.id)
        .outerjoin(then_s, then_s.c.name == before.c.stage)
        .outerjoin(reps, reps.c.id == o.c.owner_id)
    )
    conds = [or_(*flags.values())]
    if owner_ids is not None:
        conds.append(among(o.c.owner_id, owner_ids))
    return flags, from_, conds, before


def _amounts(money: Conversion, before) -> tuple:
    """The deal's amount now and at D, both in the org currency at the deal's rate now (so a change of amount is
    not mistaken for a change of rate)."""
    columns = {"is_closed": NOW_S.c.is_closed}
    return money.amount(**columns), money.amount(amount=before.c.amount, **columns)


def _list_query(flags: dict, from_, conds: list, before, money: Conversion | None, limit: int, *extra):
    """The changed deals, largest first, `limit` of them (with `extra` columns, e.g. window totals)."""
    o = opportunities
    amount_now, amount_then = _amounts(money, before)
    cols = [case((f, 1), else_=0).label(k) for k, f in flags.items()]
    return (
        select(o.c.id, o.c.external_id, o.c.name, reps.c.name.label("owner"), before.c.stage.label("stage_before"),
               o.c.stage, amount_then.label("amount_before"), amount_now.label("amount"),
               before.c.close_date.label("close_before"), o.c.close_date, *cols, *extra)
        .select_from(from_).where(*conds).order_by(amount_now.desc().nulls_last(), o.c.id).limit(limit)
    )


def _change(r) -> Change:
    return Change(r["id"], r["external_id"], r["name"], r["owner"], tuple(k for k in KINDS if r[k]),
                  r["stage_before"], r["stage"], _cents(r["amount_before"]), _cents(r["amount"]),
                  r["close_before"], r["close_date"])


def changes_since(conn: Connection, since: datetime, *, period: Period, scope: Scope, limit: int = 500,
                  money: Conversion | None = None) -> list[Change]:
    """The changed deals, largest first; amounts in the org currency (`money`)."""
    flags, from_, conds, before = _scope_flags(conn, since, period, scope)
    query = _list_query(flags, from_, conds, before, conversion(conn, money), limit)
    return [_change(r) for r in conn.execute(query).mappings()]


@dataclass(frozen=True)
class ChangesOverview:
    """What an answer shows: the first changed deals (changes_since), the totals per kind (changes_summary) and
    how many deals changed (changed_deal_count)."""

    changes: list[Change]
    summary: dict[str, dict]
    total_deals: int


def changes_overview(conn: Connection, since: datetime, *, period: Period, scope: Scope, limit: int,
                     money: Conversion | None = None) -> ChangesOverview:
    """changes_since, changes_summary and changed_deal_count in one statement: the totals are window aggregates
    over every changed deal, computed before the LIMIT, so the changed deals are found once, not three times
    (a VP at 1,000,000 deals on PostgreSQL: three statements of ~0.4-0.8 s each before)."""
    flags, from_, conds, before = _scope_flags(conn, since, period, scope)
    money = conversion(conn, money)
    totals = _totals(flags, _amounts(money, before)[0], window=True)
    deals = func.count().over().label("changed_deals")
    rows = conn.execute(_list_query(flags, from_, conds, before, money, limit, *totals, deals)).mappings().all()
    if not rows:
        zero = {f"{k}_{part}": 0 for k in KINDS for part in ("count", "amount")}
        return ChangesOverview([], _totals_row(zero), 0)
    return ChangesOverview([_change(r) for r in rows], _totals_row(rows[0]), int(rows[0]["changed_deals"]))


def _cents(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _totals(flags: dict, amount_now, *, window: bool = False) -> list:
    """count and Σ current amount (org currency) per kind, as aggregate columns (`window`: as window aggregates
    over every row); a deal with no exchange rate adds nothing to the amount."""
    amount = func.coalesce(amount_now, 0)

    def total(value):
        summed = func.sum(value)
        return func.coalesce(summed.over() if window else summed, 0)

    cols = []
    for k, f in flags.items():
        cols.append(total(case((f, 1), else_=0)).label(f"{k}_count"))
        cols.append(total(case((f, amount), else_=0)).label(f"{k}_amount"))
    return cols


def _totals_row(row) -> dict[str, dict]:
    return {k: {"count": int(row[f"{k}_count"]), "amount": Decimal(str(row[f"{k}_amount"])).quantize(Decimal("0.01"))}
            for k in KINDS}


def changes_summary(conn: Connection, since: datetime, *, period: Period, scope: Scope,
                    money: Conversion | None = None) -> dict[str, dict]:
    """{kind: {"count": n, "amount": Σ current amount}} for every kind, zeros included."""
    flags, from_, conds, before = _scope_flags(conn, since, period, scope)
    totals = _totals(flags, _amounts(conversion(conn, money), before)[0])
    return _totals_row(conn.execute(select(*totals).select_from(from_).where(*conds)).mappings().one())


def changed_deal_count(conn: Connection, since: datetime, *, period: Period, scope: Scope) -> int:
    """How many deals changed in any way since D: the length of the whole `changes_since` list (a deal with
    several kinds counts once), so a list cut at its limit can say how many more there are."""
    _, from_, conds, _ = _scope_flags(conn, since, period, scope)
    return int(conn.execute(select(func.count()).select_from(from_).where(*conds)).scalar_one())


def changes_by_owner(conn: Connection, since: datetime, *, period: Period, money: Conversion | None = None
                     ) -> dict[int | None, dict[str, dict]]:
    """changes_summary for the whole org in one query, per deal owner: summing a tree's owners gives that tree's
    summary (the digests use it to build hundreds of summaries at once)."""
    flags, from_, conds, before = _flags(since, period, None, conn.dialect.name)
    totals = _totals(flags, _amounts(conversion(conn, money), before)[0])
    query = select(opportunities.c.owner_id, *totals).select_from(from_).where(*conds)
    return {row["owner_id"]: _totals_row(row)
            for row in conn.execute(query.group_by(opportunities.c.owner_id)).mappings()}
