from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from db.schema import DEFAULT_STAGES, opportunities, opportunity_history, reps
from metrics.changes import KINDS, changed_deal_count, changes_overview, changes_since, changes_summary
from metrics.periods import Period
from metrics.scopes import Scope
from tests.factories import Factory, at

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
SINCE = at(date(2026, 11, 20))
NOV1 = date(2026, 11, 1)


def build(db):
    f = Factory(db.engine)
    ann, bob = f.rep("Ann Rep"), f.rep("Bob Rep")

    def deal(owner, name, steps, created=NOV1):
        """steps: [(day, stage, amount, close_date)], the last one is the current state."""
        _, stage, amount, close = steps[-1]
        opp = f.deal(owner, stage, amount, close, created=created, name=name, history=False)
        for day, stg, amt, cl in steps:
            f.history(opp, at(day), stage=stg, amount=Decimal(amt), close_date=cl)
        return opp

    deal(ann, "advanced", [(NOV1, "Prospecting", 100, date(2026, 12, 10)),
                           (date(2026, 11, 22), "Proposal", 100, date(2026, 12, 10))])
    deal(ann, "slipped out", [(NOV1, "Proposal", 200, date(2026, 11, 30)),
                              (date(2026, 11, 23), "Proposal", 200, date(2027, 1, 15))])
    deal(ann, "won", [(NOV1, "Negotiation", 300, date(2026, 12, 1)),
                      (date(2026, 11, 24), "Closed Won", 300, date(2026, 11, 24))])
    deal(ann, "new", [(date(2026, 11, 22), "Prospecting", 50, date(2026, 12, 20))], created=date(2026, 11, 22))
    deal(bob, "bigger", [(NOV1, "Proposal", 400, date(2026, 12, 5)),
                         (date(2026, 11, 21), "Proposal", 500, date(2026, 12, 5))])
    deal(bob, "unchanged", [(NOV1, "Proposal", 1000, date(2026, 12, 5))])
    deal(bob, "lost before", [(NOV1, "Proposal", 70, date(2026, 11, 10)),
                              (date(2026, 11, 10), "Closed Lost", 70, date(2026, 11, 10))])
    deal(bob, "lost", [(NOV1, "Proposal", 80, date(2026, 12, 5)),
                       (date(2026, 11, 21), "Closed Lost", 80, date(2026, 11, 21))])
    return ann, bob


def test_changes_since_lists_each_kind(db):
    build(db)
    with db.engine.connect() as conn:
        changes = {c.name: c.kinds for c in changes_since(conn, SINCE, period=Q4, scope=Scope("org", "org"))}
    assert changes == {
        "advanced": ("advanced",),
        "slipped out": ("slipped", "pushed_out"),
        "won": ("won",),
        "new": ("new",),
        "bigger": ("amount_up",),
        "lost": ("lost",),
    }


def test_changes_summary_totals_and_scope(db):
    ann, _ = build(db)
    with db.engine.connect() as conn:
        total = changes_summary(conn, SINCE, period=Q4, scope=Scope("org", "org"))
        mine = changes_summary(conn, SINCE, period=Q4, scope=Scope("rep", "Ann", rep_id=ann))
    assert total["won"] == {"count": 1, "amount": Decimal("300.00")}
    assert total["lost"] == {"count": 1, "amount": Decimal("80.00")}
    assert total["amount_up"]["count"] == 1 and total["amount_down"]["count"] == 0
    assert mine["amount_up"]["count"] == 0 and mine["lost"]["count"] == 0
    assert mine["pushed_out"] == {"count": 1, "amount": Decimal("200.00")}


def test_changes_overview_is_the_list_the_summary_and_the_count_at_once(db):
    """One statement gives what changes_since (cut at the limit), changes_summary and changed_deal_count give."""
    ann, _ = build(db)
    with db.engine.connect() as conn:
        for scope in (Scope("org", "org"), Scope("rep", "Ann", rep_id=ann)):
            for limit in (2, 500):
                found = changes_overview(conn, SINCE, period=Q4, scope=scope, limit=limit)
                assert found.changes == changes_since(conn, SINCE, period=Q4, scope=scope, limit=limit)
                assert found.summary == changes_summary(conn, SINCE, period=Q4, scope=scope)
                assert found.total_deals == changed_deal_count(conn, SINCE, period=Q4, scope=scope)
        assert changes_overview(conn, SINCE, period=Q4, scope=Scope("org", "org"), limit=2).total_deals == 6
        empty = changes_overview(conn, at(date(2027, 1, 1)), period=Q4, scope=Scope("org", "org"), limit=2)
    assert empty.changes == [] and empty.total_deals == 0
    assert empty.summary == {k: {"count": 0, "amount": Decimal("0.00")} for k in KINDS}


STAGES = {s["name"]: s for s in DEFAULT_STAGES}
step = st.tuples(st.integers(0, 8), st.integers(0, 1), st.sampled_from(list(STAGES)),
                 st.sampled_from([100, 200, 300]), st.integers(-30, 120))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(st.tuples(st.sampled_from(["Ann", "Bob"]), st.lists(step, min_size=1, max_size=5)),
                      max_size=12))
def test_changes_summary_matches_pandas(db, deals):
    """Each deal's state at D (its last row at or before D, ties broken by insertion order) against its current
    row, by pandas, for the org and for one rep; a coarse clock (two instants a day) makes rows share timestamps
    often."""
    base, since = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 5, 1, tzinfo=UTC)
    with db.engine.begin() as conn:
        for table in (opportunity_history, opportunities, reps):
            conn.execute(delete(table))
        owners = {n: conn.execute(insert(reps).returning(reps.c.id), {"external_id": n, "name": n, "role": "rep"})
                  .scalar_one() for n in ("Ann", "Bob")}
        rows = []
        for i, (owner, steps) in enumerate(deals):
            steps = sorted(steps, key=lambda x: (x[0], x[1]))
            times = [base + timedelta(days=day, hours=slot) for day, slot, *_ in steps]
            _, _, stage, amount, close = steps[-1]
            opp = conn.execute(insert(opportunities).returning(opportunities.c.id), {
                "external_id": f"d{i}", "name": f"d{i}", "owner_id": owners[owner], "stage": stage,
                "amount": Decimal(amount), "close_date": Q4.start + timedelta(days=close), "created_at": times[0],
            }).scalar_one()
            for t, (_, _, stg, amt, cl) in zip(times, steps, strict=True):
                conn.execute(insert(opportunity_history), {"opportunity_id": opp, "changed_at": t, "stage": stg,
                                                           "amount": Decimal(amt),
                                                           "close_date": Q4.start + timedelta(days=cl)})
                rows.append({"deal": opp, "owner": owner, "t": t, "stage": stg, "amount": amt,
                             "close": Q4.start + timedelta(days=cl), "created": times[0]})
    df = pd.DataFrame(rows, columns=["deal", "owner", "t", "stage", "amount", "close", "created"])

    def expected(owner=None) -> dict:
        out = {k: {"count": 0, "amount": Decimal("0.00")} for k in KINDS}
        for _deal, g in df.groupby("deal", sort=False):  # rows in insertion order: a stable sort keeps ties so
            g = g.sort_values("t", kind="stable")
            if (owner and g["owner"].iloc[0] != owner) or not (g["t"] > since).any():
                continue
            now, at_d = g.iloc[-1], g[g["t"] <= since]
            then = at_d.iloc[-1] if len(at_d) else None
            new = g["created"].iloc[0] > since
            was_open = then is not None and not STAGES[then["stage"]]["is_closed"]
            is_open = not STAGES[now["stage"]]["is_closed"]
            won_now = STAGES[now["stage"]]["is_closed"] and STAGES[now["stage"]]["is_won"]
            lost_now = STAGES[now["stage"]]["is_closed"] and not STAGES[now["stage"]]["is_won"]
            kinds = {
                "new": new, "won": (was_open or new) and won_now, "lost": (was_open or new) and lost_now,
                "advanced": was_open and is_open
                and STAGES[now["stage"]]["position"] > STAGES[then["stage"]]["position"],
                "slipped": was_open and is_open and now["close"] > then["close"],
                "pushed_out": was_open and Q4.start <= then["close"] <= Q4.end and now["close"] > Q4.end,
                "amount_up": was_open and is_open and now["amount"] > then["amount"],
                "amount_down": was_open and is_open and now["amount"] < then["amount"],
            }
            for kind, hit in kinds.items():
                if hit:
                    out[kind]["count"] += 1
                    out[kind]["amount"] += Decimal(int(now["amount"]))
        return out

    with db.engine.connect() as conn:
        assert changes_summary(conn, since, period=Q4, scope=Scope("org", "org")) == expected()
        assert changes_overview(conn, since, period=Q4, scope=Scope("org", "org"), limit=3).summary == expected()
        assert changes_summary(conn, since, period=Q4, scope=Scope("rep", "Ann", rep_id=owners["Ann"])) == \
            expected("Ann")
