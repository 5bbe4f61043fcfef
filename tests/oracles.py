"""Independent computations of the README's definitions ("How the numbers are defined"), for tests to compare the
metrics layer, the digests and the bot with.

The sales tables are read whole with plain SELECTs into pandas; every figure is then worked out here, in pandas and
exact rational arithmetic (`Fraction`), rounded once at the end half-even as money (cents) or ratios (4 places)
are documented to be. Nothing here imports the metrics layer, so a test never checks the code against itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from sqlalchemy import Connection, select

from db.schema import exchange_rates, opportunities, quotas, reps, stages

VELOCITY_LOOKBACK_DAYS = 365


def _frame(conn: Connection, table) -> pd.DataFrame:
    """Every row of `table`, values as the driver returns them (Decimal money, dates, aware datetimes)."""
    df = pd.read_sql(select(table), conn, coerce_float=False)
    return df.astype(object).where(pd.notna(df), None)


@dataclass(frozen=True)
class SalesTables:
    deals: pd.DataFrame  # opportunities with their stage's flags, effective probability and forecast category
    reps: pd.DataFrame
    quotas: pd.DataFrame


ORG_CURRENCY = "USD"


def _in_org_currency(deals: pd.DataFrame, stage: pd.DataFrame, rates: pd.DataFrame, today: date) -> pd.DataFrame:
    """Amounts in the org currency, by this module's own reading of README "Currencies": a closed deal at the rate
    valid on its close date, an open one at today's; amount ÷ rate rounded half-even to the cent per deal. A deal
    whose currency has no rate on its day is left out, as the metrics layer leaves it out of every figure."""
    keep, amounts = [], []
    for amount, currency, name, close in zip(deals["amount"], deals["currency"], deals["stage"], deals["close_date"],
                                             strict=True):
        if currency in (None, ORG_CURRENCY) or amount is None:
            keep.append(True)
            amounts.append(amount)
            continue
        day = close if stage.at[name, "is_closed"] else today
        hit = rates[[c == currency and f <= day and (t is None or t >= day)
                     for c, f, t in zip(rates["currency"], rates["valid_from"], rates["valid_to"], strict=True)]]
        if hit.empty:
            keep.append(False)
            amounts.append(None)
            continue
        rate = hit.sort_values("valid_from")["rate"].iloc[-1]
        keep.append(True)
        amounts.append(cents(Fraction(amount) / Fraction(rate)))
    out = deals.copy()
    out["amount"] = amounts
    return _where(out, keep)


def read_tables(conn: Connection, today: date | None = None) -> SalesTables:
    """The sales tables; with `today`, deal amounts converted to the org currency (deals without a rate left out)."""
    deals = _frame(conn, opportunities)
    stage = _frame(conn, stages).set_index("name")
    if today is not None:
        deals = _in_org_currency(deals, stage, _frame(conn, exchange_rates), today)
    elif any(c not in (None, ORG_CURRENCY) for c in deals["currency"]):
        raise ValueError("deals in other currencies: pass today, so their amounts are converted")
    deals["is_open"] = [not stage.at[s, "is_closed"] for s in deals["stage"]]
    deals["is_won"] = [bool(stage.at[s, "is_closed"] and stage.at[s, "is_won"]) for s in deals["stage"]]
    deals["is_lost"] = [bool(stage.at[s, "is_closed"] and not stage.at[s, "is_won"]) for s in deals["stage"]]
    deals["category"] = [c if c is not None else stage.at[s, "forecast_category"]
                         for c, s in zip(deals["forecast_category"], deals["stage"], strict=True)]
    deals = deals.astype({"is_open": bool, "is_won": bool, "is_lost": bool})
    return SalesTables(deals, _frame(conn, reps), _frame(conn, quotas))


def tree_members(people: pd.DataFrame, root: int) -> set[int]:
    """The root and everyone below them, walking manager links breadth first."""
    members, frontier = {root}, {root}
    while frontier:
        frontier = set(people.loc[people["manager_id"].isin(frontier), "id"]) - members
        members |= frontier
    return members


@dataclass(frozen=True)
class ScopeSpec:
    """Whose numbers: kind org | tree (a manager and everyone below) | team (a team label) | rep."""

    kind: str
    rep_id: int | None = None
    team: str | None = None

    def members(self, t: SalesTables) -> set[int] | None:
        if self.kind == "org":
            return None
        if self.kind == "rep":
            return {self.rep_id}
        if self.kind == "team":
            return set(_where(t.reps, ((x or "").lower() == self.team.lower() for x in t.reps["team"]))["id"])
        return tree_members(t.reps, self.rep_id)


def _where(df: pd.DataFrame, mask) -> pd.DataFrame:
    """The rows where `mask` (one bool per row) holds; an empty frame keeps its columns."""
    return df[pd.Series(list(mask), index=df.index, dtype=bool)]


def _in_window(deals: pd.DataFrame, start: date, end: date, members: set[int] | None) -> pd.DataFrame:
    out = _where(deals, (c is not None and start <= c <= end for c in deals["close_date"]))
    return out if members is None else out[out["owner_id"].isin(members)]


def _total(amounts) -> Fraction:
    return sum((Fraction(a) for a in amounts if a is not None), Fraction(0))


def cents(value: Fraction | None) -> Decimal | None:
    """Money, rounded half-even to the cent."""
    return None if value is None else (Decimal(round(value * 100)) / 100).quantize(Decimal("0.01"))


def ratio(value: Fraction | None) -> Decimal | None:
    """A ratio, rounded half-even to 4 places."""
    return None if value is None else (Decimal(round(value * 10000)) / 10000).quantize(Decimal("0.0001"))


def _share(num: Fraction | None, den: Fraction | None) -> Fraction | None:
    return None if num is None or den is None or den == 0 else num / den


def quota(t: SalesTables, scope: ScopeSpec, start: date, end: date) -> Decimal | None:
    """Each quota row prorated by the days it overlaps the period; a manager's (tree's) quota is their own rows if
    any overlap, else the sum over the reps (role rep) in the tree; org and team sum their reps; a rep their own
    rows. None when no row overlaps."""
    q = _where(t.quotas, (s <= end and e >= start
                          for s, e in zip(t.quotas["period_start"], t.quotas["period_end"], strict=True)))
    if scope.kind == "rep" or (scope.kind == "tree" and (q["rep_id"] == scope.rep_id).any()):
        q = q[q["rep_id"] == scope.rep_id]
    else:
        members = scope.members(t)
        role = dict(zip(t.reps["id"], t.reps["role"], strict=True))
        q = _where(q, (role[r] == "rep" and (members is None or r in members) for r in q["rep_id"]))
    if q.empty:
        return None
    total = Fraction(0)
    for row in q.itertuples():
        overlap = (min(row.period_end, end) - max(row.period_start, start)).days + 1
        total += Fraction(row.amount) * overlap / ((row.period_end - row.period_start).days + 1)
    return cents(total)


@dataclass(frozen=True)
class Figures:
    """The README's figures for one scope and period, rounded as the bot shows them."""

    pipeline: Decimal
    open_count: int
    won_amount: Decimal
    won_count: int
    lost_amount: Decimal
    lost_count: int
    quota: Decimal | None
    attainment: Decimal | None
    gap: Decimal | None
    coverage: Decimal | None
    forecast: dict[str, Decimal]  # closed, commit, best_case, pipeline
    win_rate_value: Decimal | None
    velocity: Decimal | None


def velocity(t: SalesTables, scope: ScopeSpec, start: date, end: date, today: date) -> Decimal | None:
    """open deals in the period × average won size × win rate ÷ mean cycle days; size, win rate and cycle over the
    deals closed in the 365 days up to the period's end, or today if that is earlier."""
    members = scope.members(t)
    window = _in_window(t.deals, start, end, members)
    open_count = int((window["is_open"] & (window["category"] != "omitted")).sum())
    ref = min(end, today)
    closed = _in_window(t.deals, ref - timedelta(days=VELOCITY_LOOKBACK_DAYS - 1), ref, members)
    won, lost = closed[closed["is_won"]], closed[closed["is_lost"]]
    cycles = [(c - created.date()).days for c, created in zip(won["close_date"], won["created_at"], strict=True)
              if created is not None]
    if not len(won) or not cycles or sum(cycles) <= 0:
        return None
    avg_size = _total(won["amount"]) / len(won)
    win_rate = Fraction(len(won), len(won) + len(lost))
    return cents(open_count * avg_size * win_rate / Fraction(sum(cycles), len(cycles)))


def figures(t: SalesTables, scope: ScopeSpec, start: date, end: date, today: date) -> Figures:
    deals = _in_window(t.deals, start, end, scope.members(t))
    open_ = deals[deals["is_open"]]
    in_pipeline = open_[open_["category"] != "omitted"]
    won, lost = deals[deals["is_won"]], deals[deals["is_lost"]]
    won_amount, lost_amount = _total(won["amount"]), _total(lost["amount"])
    by_category = {c: _total(open_.loc[open_["category"] == c, "amount"])
                   for c in ("commit", "best_case", "pipeline")}
    q = quota(t, scope, start, end)
    gap = None if q is None else Fraction(q) - won_amount
    commit = won_amount + by_category["commit"]
    best = commit + by_category["best_case"]
    return Figures(
        pipeline=cents(_total(in_pipeline["amount"])),
        open_count=len(in_pipeline),
        won_amount=cents(won_amount),
        won_count=len(won),
        lost_amount=cents(lost_amount),
        lost_count=len(lost),
        quota=q,
        attainment=ratio(_share(won_amount, None if q is None else Fraction(q))),
        gap=cents(gap),
        coverage=ratio(_share(_total(in_pipeline["amount"]), gap)) if gap is not None and gap > 0 else None,
        forecast={"closed": cents(won_amount), "commit": cents(commit), "best_case": cents(best),
                  "pipeline": cents(best + by_category["pipeline"])},
        win_rate_value=ratio(_share(won_amount, won_amount + lost_amount)),
        velocity=velocity(t, scope, start, end, today),
    )
