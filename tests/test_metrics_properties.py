"""Property tests: the metrics layer agrees with a straightforward pandas computation over the same rows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from db.schema import DEFAULT_STAGES, opportunities, opportunity_history, quotas, reps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from tests.factories import at

TODAY = date(2026, 11, 25)
PERIOD = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
STAGE = {s["name"]: s for s in DEFAULT_STAGES}
OWNERS = ["Ann", "Bob", "Cat"]

deal = st.fixed_dictionaries(
    {
        "owner": st.sampled_from(OWNERS),
        "stage": st.sampled_from(list(STAGE)),
        "amount": st.one_of(st.none(), st.decimals(min_value=0, max_value=10**7, places=2,
                                                    allow_nan=False, allow_infinity=False)),
        "close_offset": st.integers(-150, 150),
        "cycle": st.integers(0, 400),
        "probability": st.one_of(st.none(), st.integers(0, 100)),
        "forecast_category": st.one_of(st.none(), st.sampled_from(["pipeline", "best_case", "commit", "omitted"])),
    }
)


def load(db, deals):
    with db.engine.begin() as conn:
        for table in (opportunity_history, opportunities, quotas, reps):
            conn.execute(delete(table))
        ids = {}
        for name in OWNERS:
            ids[name] = conn.execute(insert(reps).returning(reps.c.id),
                                     {"external_id": name, "name": name, "role": "rep"}).scalar_one()
        rows = []
        for i, d in enumerate(deals):
            close = TODAY + timedelta(days=d["close_offset"])
            rows.append({"external_id": f"o{i}", "name": f"o{i}", "owner_id": ids[d["owner"]], "stage": d["stage"],
                         "amount": d["amount"], "close_date": close,
                         "created_at": at(close - timedelta(days=d["cycle"])),
                         "probability": d["probability"], "forecast_category": d["forecast_category"]})
        if rows:
            conn.execute(insert(opportunities), rows)


def expected(deals) -> dict:
    df = pd.DataFrame(deals, columns=["owner", "stage", "amount", "close_offset", "cycle", "probability",
                                      "forecast_category"], dtype=object)
    df["close"] = df["close_offset"].map(lambda n: TODAY + timedelta(days=int(n)))
    df = df[(df["close"] >= PERIOD.start) & (df["close"] <= PERIOD.end)]
    df["is_closed"] = pd.Series([bool(STAGE[s]["is_closed"]) for s in df["stage"]], index=df.index, dtype=bool)
    df["is_won"] = pd.Series([bool(STAGE[s]["is_won"]) for s in df["stage"]], index=df.index, dtype=bool)
    df["prob"] = [p if p is not None and not pd.isna(p) else STAGE[s]["probability"]
                  for p, s in zip(df["probability"], df["stage"], strict=True)]
    df["fc"] = [f if isinstance(f, str) else STAGE[s]["forecast_category"]
                for f, s in zip(df["forecast_category"], df["stage"], strict=True)]
    amt = df["amount"].map(lambda a: Decimal(0) if a is None or pd.isna(a) else Decimal(a))
    open_ = ~df["is_closed"] & pd.Series([f != "omitted" for f in df["fc"]], index=df.index, dtype=bool)
    won = df["is_closed"] & df["is_won"]
    lost = df["is_closed"] & ~df["is_won"]
    weighted = sum((a * p / 100 for a, p in zip(amt[open_], df["prob"][open_], strict=True)), Decimal(0))
    won_n, lost_n = int(won.sum()), int(lost.sum())
    won_amt = sum(amt[won], Decimal(0))
    cycles = df["cycle"][won].astype(float)
    return {
        "pipeline": sum(amt[open_], Decimal(0)),
        "weighted_pipeline": weighted,
        "closed_won": won_amt,
        "closed_lost": sum(amt[lost], Decimal(0)),
        "win_rate": Decimal(won_n) / (won_n + lost_n) if won_n + lost_n else None,
        "avg_deal_size": won_amt / won_n if won_n else None,
        "cycle_days": Decimal(str(cycles.median())) if won_n else None,
        "cycle_days_mean": Decimal(int(cycles.sum())) / won_n if won_n else None,
        "by_owner": {o: sum(amt[open_ & pd.Series([w == o for w in df["owner"]], index=df.index, dtype=bool)],
                            Decimal(0)) for o in OWNERS},
    }


def rounded(want, places: str):
    """The exact figure rounded as the layer documents (half-even, to `places`); None stays None."""
    return None if want is None else Decimal(want).quantize(Decimal(places))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=25))
def test_kpis_match_pandas(db, deals):
    load(db, deals)
    want = expected(deals)
    org = Scope("org", "org")
    with db.engine.connect() as conn:
        def got(name, **kw):
            return evaluate(conn, name, PERIOD, org, today=TODAY, cache=ResultCache(0), **kw)

        for name in ("pipeline", "weighted_pipeline", "closed_won", "closed_lost", "avg_deal_size"):
            assert got(name).value == rounded(want[name], "0.01"), name  # money: exact to the cent
        assert got("win_rate").value == rounded(want["win_rate"], "0.0001")
        assert got("cycle_days").value == rounded(want["cycle_days"], "0.1")
        assert got("cycle_days_mean").value == rounded(want["cycle_days_mean"], "0.1")
        by_owner = {r["owner"]: r["value"] for r in got("pipeline", by="owner").rows}
        for owner, amount in want["by_owner"].items():
            if owner in by_owner:
                assert by_owner[owner] == amount.quantize(Decimal("0.01"))
            else:
                assert amount == 0


history = st.lists(
    st.lists(st.tuples(st.sampled_from(list(STAGE)), st.integers(0, 200)), min_size=1, max_size=6),
    max_size=15,
)


def expected_conversion(deals, start, end) -> dict:
    rows = []
    for d, steps in enumerate(deals):
        for i, (stage, day) in enumerate(sorted(steps, key=lambda x: x[1])):
            rows.append({"deal": d, "stage": stage, "t": day * 10 + i})
    df = pd.DataFrame(rows, columns=["deal", "stage", "t"])
    out: dict = {}
    for (deal_id, stage), g in df.groupby(["deal", "stage"]):
        info = STAGE[stage]
        first = g["t"].min()
        if info["is_closed"] or not (start <= first < end):
            continue
        later = df[(df["deal"] == deal_id) & (df["t"] >= first)]
        reached = any(STAGE[s]["position"] > info["position"] and not (STAGE[s]["is_closed"] and not STAGE[s]["is_won"])
                      for s in later["stage"])
        entered, advanced = out.get(stage, (0, 0))
        out[stage] = (entered + 1, advanced + int(reached))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=history)
def test_conversion_matches_pandas(db, deals):
    """Stage conversion from history against a plain pandas walk over the same rows."""
    from datetime import UTC, datetime

    base = datetime(2026, 7, 1, tzinfo=UTC)
    load(db, [])
    with db.engine.begin() as conn:
        rep = conn.execute(select(reps.c.id)).scalar()
        for d, steps in enumerate(deals):
            last = sorted(steps, key=lambda x: x[1])[-1][0]
            opp = conn.execute(insert(opportunities).returning(opportunities.c.id),
                               {"external_id": f"h{d}", "name": f"h{d}", "owner_id": rep, "stage": last}).scalar_one()
            for i, (stage, day) in enumerate(sorted(steps, key=lambda x: x[1])):
                # a minute per position keeps same-day rows in order, as t = day*10 + i does in pandas
                conn.execute(insert(opportunity_history), {"opportunity_id": opp, "stage": stage,
                                                           "changed_at": base + timedelta(days=day, minutes=i)})
    period = Period(date(2026, 8, 1), date(2026, 9, 30), "Aug–Sep", None)
    start, end = 31 * 10, 92 * 10  # day 31 (Aug 1) to day 92 (Oct 1), in pandas t units
    with db.engine.connect() as conn:
        rows = evaluate(conn, "conversion", period, Scope("org", "org"), today=TODAY, cache=ResultCache(0)).rows
    got = {r["stage"]: (r["entered"], r["advanced"]) for r in rows}
    assert got == expected_conversion(deals, start, end)


quota_rows = st.lists(
    st.tuples(st.sampled_from(OWNERS), st.integers(-200, 200), st.integers(0, 180),
              st.decimals(min_value=1, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)),
    max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=15), quota_list=quota_rows)
def test_quota_and_attainment_by_owner_match_pandas(db, deals, quota_list):
    """Quota prorated by overlapping days and attainment per rep, against pandas over the same rows."""
    load(db, deals)
    with db.engine.begin() as conn:
        ids = dict(conn.execute(select(reps.c.name, reps.c.id)).all())
        inserted = {}
        for owner, offset, length, amount in quota_list:
            start = PERIOD.start + timedelta(days=offset)
            key = (owner, start, start + timedelta(days=length))
            if key in inserted:
                continue
            inserted[key] = amount
            conn.execute(insert(quotas), {"rep_id": ids[owner], "period_start": key[1], "period_end": key[2],
                                          "amount": amount})
    q = pd.DataFrame([(o, s, e, a) for (o, s, e), a in inserted.items()], columns=["owner", "start", "end", "amount"])
    want_quota: dict = {}
    for row in q.itertuples():
        lo, hi = max(row.start, PERIOD.start), min(row.end, PERIOD.end)
        if lo > hi:
            continue
        share = row.amount * ((hi - lo).days + 1) / ((row.end - row.start).days + 1)
        want_quota[row.owner] = want_quota.get(row.owner, Decimal(0)) + share
    won = expected_won_by_owner(deals)
    with db.engine.connect() as conn:
        rows = evaluate(conn, "attainment", PERIOD, Scope("org", "org"), by="owner", today=TODAY,
                        cache=ResultCache(0)).rows
    got = {r["owner"]: r for r in rows}
    for owner, quota in want_quota.items():
        quota = quota.quantize(Decimal("0.01"))  # a prorated quota is money: whole cents
        assert got[owner]["quota"] == quota, owner
        if quota == 0:
            assert got[owner]["value"] is None
            continue
        assert got[owner]["value"] == rounded(won.get(owner, Decimal(0)) / quota, "0.0001"), owner


def expected_won_by_owner(deals) -> dict:
    out: dict = {}
    for d in deals:
        close = TODAY + timedelta(days=d["close_offset"])
        if PERIOD.start <= close <= PERIOD.end and STAGE[d["stage"]]["is_won"]:
            out[d["owner"]] = out.get(d["owner"], Decimal(0)) + (d["amount"] or Decimal(0))
    return out
