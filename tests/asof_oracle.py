"""An independent rebuild, in pandas, of each deal's state at past moments from the history rows (README "As of
a date"), and the figures the as-of, waterfall and trend tests compare the metrics layer with.

It reads the tables whole with plain SELECTs and never imports the metrics layer. The rules, as documented: a
deal's state at T is its last history row at or before T (rows at the same instant: the later-inserted wins); a
deal created after T does not exist; one created at or before T with no history row by then is taken as it
stands now. Amounts are in the org currency as the data stood at T: a closed deal at the rate valid on its close
date, an open one at the rate valid on T's day (T as given); amount ÷ rate, half-even to the cent per deal; None
when its currency has no rate that day (left out of every figure).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from sqlalchemy import Connection, select

from db.schema import exchange_rates, opportunities, opportunity_history, stages
from tests.oracles import ORG_CURRENCY, cents

FIELDS = ("stage", "amount", "close_date", "probability", "forecast_category")


def _frame(conn: Connection, table) -> pd.DataFrame:
    query = select(table).order_by(*table.primary_key.columns)
    df = pd.read_sql(query, conn, coerce_float=False)
    return df.astype(object).where(pd.notna(df), None)


class History:
    """The deals, their history and the stage list, read once."""

    def __init__(self, conn: Connection):
        self.deals = _frame(conn, opportunities)
        self.rows = _frame(conn, opportunity_history)
        self.stages = _frame(conn, stages).set_index("name")
        self.rates = _frame(conn, exchange_rates)

    def in_org_currency(self, amount, currency: str | None, day: date) -> Decimal | None:
        """The amount in the org currency at the rate of `currency` valid on `day` (of overlapping ranges, the one
        that started last); None when it has no rate that day."""
        if amount is None or currency in (None, ORG_CURRENCY):
            return amount
        if day is None:
            return None
        r = self.rates
        valid = [c == currency and f <= day and (t is None or t >= day)
                 for c, f, t in zip(r["currency"], r["valid_from"], r["valid_to"], strict=True)]
        hit = r[pd.Series(valid, index=r.index, dtype=bool)]
        if hit.empty:
            return None
        return cents(Fraction(amount) / Fraction(hit.sort_values("valid_from")["rate"].iloc[-1]))

    def states(self, moment: datetime) -> pd.DataFrame:
        """One row per deal that existed at `moment`: owner_id, the FIELDS as of then, and the stage's flags."""
        out = []
        for deal in self.deals.to_dict("records"):
            if deal["created_at"] is not None and deal["created_at"] > moment:
                continue
            mine = self.rows[self.rows["opportunity_id"] == deal["id"]]
            mine = mine[pd.Series([t <= moment for t in mine["changed_at"]], index=mine.index, dtype=bool)]
            # a stable sort by time keeps rows of the same instant in id (insertion) order: the last one wins
            mine = mine.assign(key=list(mine["changed_at"])).sort_values("key", kind="stable")
            source = mine.iloc[-1].to_dict() if len(mine) else deal
            state = {"id": deal["id"], "owner_id": deal["owner_id"], **{f: source[f] for f in FIELDS}}
            day = state["close_date"] if self.stages.at[state["stage"], "is_closed"] else moment.date()
            state["amount"] = self.in_org_currency(state["amount"], deal["currency"], day)
            out.append(state)
        df = pd.DataFrame(out, columns=["id", "owner_id", *FIELDS]).astype(object)
        df = df.where(pd.notna(df), None)
        st = self.stages
        df["is_closed"] = [bool(st.at[s, "is_closed"]) for s in df["stage"]]
        df["is_won"] = [bool(st.at[s, "is_closed"] and st.at[s, "is_won"]) for s in df["stage"]]
        df["category"] = [c if c is not None else st.at[s, "forecast_category"]
                          for c, s in zip(df["forecast_category"], df["stage"], strict=True)]
        df["prob"] = [p if p is not None else st.at[s, "probability"]
                      for p, s in zip(df["probability"], df["stage"], strict=True)]
        return df


def in_window(df: pd.DataFrame, start: date, end: date) -> pd.Series:
    return pd.Series([d is not None and start <= d <= end for d in df["close_date"]], index=df.index, dtype=bool)


def open_pipeline(df: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Open deals, not forecast as omitted, closing in the window."""
    mask = in_window(df, start, end) & ~df["is_closed"] & (df["category"] != "omitted")
    return df[mask]


def money(values) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal("0")).quantize(Decimal("0.01"))


def figures_at(df: pd.DataFrame, start: date, end: date, owners: set[int] | None) -> dict[str, Decimal]:
    """pipeline, closed_won, commit (closed + commit), weighted pipeline of the deals in `df` owned in scope."""
    if owners is not None:
        df = df[df["owner_id"].isin(owners)]
    pipe = open_pipeline(df, start, end)
    won = df[in_window(df, start, end) & df["is_won"]]
    commit = pipe[pipe["category"] == "commit"]
    weighted = sum((Decimal(str(a)) * Decimal(int(p)) / 100 for a, p in zip(pipe["amount"], pipe["prob"],
                                                                                  strict=True) if a is not None),
                   Decimal("0"))
    return {"pipeline": money(pipe["amount"]), "closed_won": money(won["amount"]),
            "commit": money(won["amount"]) + money(commit["amount"]),
            "weighted_pipeline": weighted.quantize(Decimal("0.01"))}



def _amount(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def waterfall_by_deal(first: pd.DataFrame, second: pd.DataFrame, start: date, end: date,
                      owners: set[int] | None) -> pd.DataFrame:
    """The waterfall's buckets deal by deal (README "Pipeline waterfall"), one row per deal that moves any, beside
    the deal's state at `second` (to group by). In the open pipeline at a moment: open, not omitted, closing in the
    window. A deal in it at the first moment: start, its amount change to increased or decreased and, if it left,
    its amount at the second to won or lost (closed in the window since), pushed_out (closing outside the window)
    or other_out. A deal that came in (in it at the second, or closed in the window since): created if it did not
    exist at the first moment, else pulled_in, then won or lost if it closed."""
    before = first.set_index("id")
    piped1 = set(open_pipeline(first, start, end)["id"])
    piped2 = set(open_pipeline(second, start, end)["id"])
    won1 = set(first.loc[first["is_won"], "id"])
    lost1 = set(first.loc[first["is_closed"] & ~first["is_won"], "id"])
    rows = []
    for state, inside in zip(second.to_dict("records"), in_window(second, start, end), strict=True):
        if owners is not None and state["owner_id"] not in owners:
            continue
        deal, a2 = state["id"], _amount(state["amount"])
        b = dict.fromkeys(("start", "created", "pulled_in", "increased", "decreased", "pushed_out", "won", "lost",
                           "other_out", "end"), Decimal(0))
        won = inside and state["is_won"] and deal not in won1
        lost = inside and state["is_closed"] and not state["is_won"] and deal not in lost1
        if deal in piped1:
            a1 = _amount(before.at[deal, "amount"])
            b["start"] = a1
            b["increased" if a2 >= a1 else "decreased"] = abs(a2 - a1)
            if deal not in piped2:
                b["won" if won else "lost" if lost else "pushed_out" if not inside else "other_out"] = a2
        elif deal in piped2 or won or lost:
            b["created" if deal not in before.index else "pulled_in"] = a2
            if won or lost:
                b["won" if won else "lost"] = a2
        if deal in piped2:
            b["end"] = a2
        if any(b.values()):
            rows.append({**state, **b})
    return pd.DataFrame(rows)
