"""The pipeline waterfall: the identity start + created + pulled_in + increased − decreased − pushed_out − won −
lost − other_out = end to the cent on generated histories (both databases, several scopes and breakdowns), start and
end against the as-of pipeline rebuilt by pandas (tests/asof_oracle.py), won against the closed-won amount of the
period's deals closed between the moments, amounts in the org currency (deals in several currencies with dated
rates: open ones at each moment's rate, closed ones at their close date's), and every bucket on a hand-worked
history."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.scopes import Scope
from tests.asof_oracle import History, figures_at, in_window, money
from tests.test_metrics_asof import BASE, HALF_DAY, Q4, currencies, deal, load, rates, snapshot_cut

ZERO = Decimal("0.00")


def waterfall(conn, scope: Scope, moments, by=()) -> list[dict]:
    return evaluate(conn, "waterfall", Q4, scope, by=by, today=date(2026, 12, 1), as_of=moments,
                    cache=ResultCache()).rows


def identity_holds(rows: list[dict], by: tuple[str, ...]) -> dict:
    """Per group: the buckets, after checking the identity exactly."""
    groups: dict = defaultdict(dict)
    for r in rows:
        groups[tuple(r[d] for d in by)][r["bucket"]] = r["value"]
    for key, b in groups.items():
        moved = (b["start"] + b["created"] + b["pulled_in"] + b["increased"] - b["decreased"] - b["pushed_out"]
                 - b["won"] - b["lost"] - b["other_out"])
        assert moved == b["end"], (key, b)
        assert sum(r["signed"] for r in rows if tuple(r[d] for d in by) == key) == b["end"]
    return groups


def won_between(first: pd.DataFrame, second: pd.DataFrame, owners) -> Decimal:
    """The period's deals closed won between the moments: won with a close date in the period at the second,
    not won at the first."""
    won_before = set(first.loc[first["is_won"], "id"])
    done = second[in_window(second, Q4.start, Q4.end) & second["is_won"] & ~second["id"].isin(won_before)]
    if owners is not None:
        done = done[done["owner_id"].isin(owners)]
    return money(done["amount"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=12), slots=st.tuples(st.integers(0, 30), st.integers(0, 30)),
       currencies=currencies, rates=rates, cut=snapshot_cut)
def test_waterfall_identity_against_pandas(db, deals, slots, currencies, rates, cut):
    ids = load(db, deals, currencies, rates, cut)
    first, second = (BASE + s * HALF_DAY for s in sorted(slots))
    with db.engine.connect() as conn:
        history = History(conn)
        at1, at2 = history.states(first), history.states(second)
        scopes = {
            "org": (Scope("org", "org"), None),
            "rep": (Scope("rep", "Ann", rep_id=ids["Ann"]), {ids["Ann"]}),
            "tree": (Scope("tree", "Mgr's team", rep_id=ids["Mgr"]), {ids["Mgr"], ids["Ann"]}),
        }
        for name, (scope, owners) in scopes.items():
            buckets = identity_holds(waterfall(conn, scope, (first, second)), ())[()]
            assert buckets["start"] == figures_at(at1, Q4.start, Q4.end, owners)["pipeline"], name
            assert buckets["end"] == figures_at(at2, Q4.start, Q4.end, owners)["pipeline"], name
            assert buckets["won"] == won_between(at1, at2, owners), name
            assert buckets["increased"] >= 0 and buckets["decreased"] >= 0, name  # the others carry the amounts' signs
        for by in (("owner",), ("stage",), ("team", "forecast_category")):
            groups = identity_holds(waterfall(conn, Scope("org", "org"), (first, second), by), by)
            for bucket in ("start", "end", "won"):
                assert sum(g[bucket] for g in groups.values()) == \
                    sum((r["value"] for r in waterfall(conn, Scope("org", "org"), (first, second))
                         if r["bucket"] == bucket), ZERO), (by, bucket)


def test_every_bucket_by_hand(db):
    """Oct 1 00:00 → Nov 1 00:00, Q4. Each deal below says what it does and where its amount goes."""
    oct1, nov1 = datetime(2026, 10, 1, tzinfo=BASE.tzinfo), datetime(2026, 11, 1, tzinfo=BASE.tzinfo)
    day = 2  # half-day slots per day
    deals = [
        # in the pipeline throughout, 100 → 150: start 100, increased 50, end 150
        ("Ann", 0, [(0, ("Proposal", 100, 30, None)), (30 * day, ("Proposal", 150, 30, None))], None),
        # 200 → 120, then won Oct 20: start 200, decreased 80, won 120
        ("Ann", 0, [(0, ("Proposal", 200, 30, None)), (20 * day, ("Negotiation", 120, 30, None)),
                    (30 * day, ("Closed Won", 120, 19, None))], None),
        # lost Oct 25: start 300, lost 300
        ("Bob", 0, [(0, ("Proposal", 300, 40, None)), (35 * day, ("Closed Lost", 300, 24, None))], None),
        # close date moved to January: start 400, pushed_out 400
        ("Bob", 0, [(0, ("Proposal", 400, 40, None)), (35 * day, ("Proposal", 400, 100, None))], None),
        # forecast as omitted: start 500, other_out 500
        ("Bob", 0, [(0, ("Proposal", 500, 40, None)), (35 * day, ("Proposal", 500, 40, "omitted"))], None),
        # created Oct 5 (after the first moment): created 600, end 600
        ("Ann", 30, [(0, ("Prospecting", 600, 50, None))], None),
        # closing in January at the first moment, moved into Q4 since: pulled_in 700
        ("Ann", 0, [(0, ("Proposal", 700, 100, None)), (35 * day, ("Proposal", 700, 50, None))], None),
        # created Oct 5 and won Oct 20: created 1000, won 1000
        ("Bob", 30, [(0, ("Proposal", 1000, 50, None)), (15 * day, ("Closed Won", 1000, 19, None))], None),
    ]
    load(db, deals)
    with db.engine.connect() as conn:
        rows = waterfall(conn, Scope("org", "org"), (oct1, nov1))
    got = {r["bucket"]: r["value"] for r in rows}
    assert got == {"start": Decimal("1500.00"), "created": Decimal("1600.00"), "pulled_in": Decimal("700.00"),
                   "increased": Decimal("50.00"), "decreased": Decimal("80.00"), "pushed_out": Decimal("400.00"),
                   "won": Decimal("1120.00"), "lost": Decimal("300.00"), "other_out": Decimal("500.00"),
                   "end": Decimal("1450.00")}


def test_currencies_by_hand(db):
    """Oct 1 00:00 → Nov 1 00:00, Q4, USD org. EUR is 0.8 per USD through Oct 14 and 0.5 from Oct 15; CHF has no
    rate. An open EUR deal of 400 is 500.00 USD at the first moment and 800.00 at the second: increased 300.00.
    A EUR deal of 100 won Oct 10 converts at its close date's rate (125.00) at both. The CHF deal is left out."""
    oct1, nov1 = datetime(2026, 10, 1, tzinfo=BASE.tzinfo), datetime(2026, 11, 1, tzinfo=BASE.tzinfo)
    deals = [
        ("Ann", 0, [(0, ("Proposal", 400, 30, None))], None),
        ("Ann", 0, [(0, ("Proposal", 100, 30, None)), (40, ("Closed Won", 100, 9, None))], None),
        ("Bob", 0, [(0, ("Proposal", 700, 30, None))], None),
    ]
    rates = [("EUR", -30, "0.8", 43), ("EUR", 14, "0.5", None)]
    load(db, deals, ["EUR", "EUR", "CHF"], rates)
    with db.engine.connect() as conn:
        result = evaluate(conn, "waterfall", Q4, Scope("org", "org"), today=date(2026, 12, 1), as_of=(oct1, nov1),
                          cache=ResultCache())
    got = {r["bucket"]: r["value"] for r in result.rows}
    assert got == {"start": Decimal("625.00"), "created": ZERO, "pulled_in": ZERO, "increased": Decimal("300.00"),
                   "decreased": ZERO, "pushed_out": ZERO, "won": Decimal("125.00"), "lost": ZERO, "other_out": ZERO,
                   "end": Decimal("800.00")}
    assert result.left_out == 1
