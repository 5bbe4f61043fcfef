"""Deal metrics as of a past moment against an independent pandas rebuild from the history rows
(tests/asof_oracle.py), on both databases: deals created after D, deals with no history row by D (or none at
all), several rows at the same instant and rows exactly at D, omitted forecasts, deals in several currencies with
dated rates (open ones at the moment's rate, closed at the close date's, none left out unconverted), for the org, a
rep, a manager's tree and a team label."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from db.schema import DEFAULT_STAGES, exchange_rates, opportunities, opportunity_history, reps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from tests.asof_oracle import History, figures_at

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
BASE = datetime(2026, 9, 20, tzinfo=UTC)
HALF_DAY = timedelta(hours=12)
STAGE_NAMES = [s["name"] for s in DEFAULT_STAGES]

# (stage, amount, close date offset from Oct 1, forecast category override)
state = st.tuples(st.sampled_from(STAGE_NAMES), st.sampled_from([100, 250, 300, 1000, -50]), st.integers(-20, 110),
                  st.sampled_from([None, None, None, "commit", "omitted"]))
# (owner, created slot, history: [(slot after creation, state)] or None for a deal loaded without history,
#  the current state when there is no history)
deal = st.tuples(st.sampled_from(["Ann", "Bob", "Mgr"]), st.integers(0, 16),
                 st.one_of(st.none(), st.lists(st.tuples(st.integers(0, 12), state), min_size=1, max_size=4)),
                 state)


# Deals' currencies (CHF never has a rate: its deals are left out) and dated rates: (currency, first day as an
# offset from Oct 1, rate, days it lasts or None for open-ended), around the moments and the close dates.
currencies = st.lists(st.sampled_from([None, "USD", "EUR", "EUR", "IDR", "CHF"]), max_size=12)
rates = st.lists(st.tuples(st.sampled_from(["EUR", "IDR"]), st.integers(-15, 20),
                           st.sampled_from(["0.9", "1.1", "0.925", "16000.5"]),
                           st.one_of(st.none(), st.integers(0, 40))),
                 max_size=4, unique_by=lambda r: (r[0], r[1]))


def load(db, deals, currencies=(), rates=()) -> dict[str, int]:
    """The generated org: Mgr manages Ann (team East); Bob (team West) reports to nobody. Deal i is in
    currencies[i] (the org currency when there is none); `rates` as the strategy above."""
    with db.engine.begin() as conn:
        for table in (opportunity_history, opportunities, reps, exchange_rates):
            conn.execute(delete(table))
        for currency, first, rate, days in rates:
            conn.execute(insert(exchange_rates), {
                "currency": currency, "rate": Decimal(rate), "valid_from": Q4.start + timedelta(days=first),
                "valid_to": None if days is None else Q4.start + timedelta(days=first + days)})
        ids: dict[str, int] = {}
        for name, team, manager in (("Mgr", "East", None), ("Ann", "East", "Mgr"), ("Bob", "West", None)):
            ids[name] = conn.execute(insert(reps).returning(reps.c.id), {
                "external_id": name, "name": name, "role": "manager" if name == "Mgr" else "rep", "team": team,
                "manager_id": ids.get(manager)}).scalar_one()
        for i, (owner, created, steps, plain) in enumerate(deals):
            created_at = BASE + created * HALF_DAY
            # the current row is the last history row: the latest slot, the last-inserted of a tie
            current = plain if steps is None else sorted(steps, key=lambda s: s[0])[-1][1]
            opp = conn.execute(insert(opportunities).returning(opportunities.c.id),
                               {"external_id": f"d{i}", "name": f"d{i}", "owner_id": ids[owner],
                                "created_at": created_at, "currency": currencies[i] if i < len(currencies) else None,
                                **values(current)}).scalar_one()
            for slot, st_ in steps or ():
                conn.execute(insert(opportunity_history), {"opportunity_id": opp,
                                                           "changed_at": created_at + slot * HALF_DAY,
                                                           **values(st_)})
    return ids


def values(s) -> dict:
    stage, amount, close, category = s
    return {"stage": stage, "amount": Decimal(amount), "close_date": Q4.start + timedelta(days=close),
            "forecast_category": category}


def layer(conn, scope: Scope, moment: datetime) -> dict[str, Decimal]:
    def one(metric: str, key: str = "value") -> Decimal:
        return evaluate(conn, metric, Q4, scope, today=date(2026, 12, 1), as_of=moment,
                        cache=ResultCache()).rows[0][key]
    return {"pipeline": one("pipeline"), "closed_won": one("closed_won"), "commit": one("forecast", "commit"),
            "weighted_pipeline": one("weighted_pipeline")}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=12), moment_slot=st.integers(0, 30), currencies=currencies, rates=rates)
def test_as_of_matches_pandas_rebuild(db, deals, moment_slot, currencies, rates):
    ids = load(db, deals, currencies, rates)
    moment = BASE + moment_slot * HALF_DAY  # on the half-day grid: rows exactly at D are common
    with db.engine.connect() as conn:
        oracle = History(conn).states(moment)
        scopes = {
            "org": (Scope("org", "org"), None),
            "rep": (Scope("rep", "Ann", rep_id=ids["Ann"]), {ids["Ann"]}),
            "tree": (Scope("tree", "Mgr's team", rep_id=ids["Mgr"]), {ids["Mgr"], ids["Ann"]}),
            "team": (Scope("team", "West", team="West"), {ids["Bob"]}),
        }
        for name, (scope, owners) in scopes.items():
            assert layer(conn, scope, moment) == figures_at(oracle, Q4.start, Q4.end, owners), name


def test_as_of_hand_worked(db):
    """One deal through its life, and the three edge cases the rules name, worked by hand."""
    oct1 = datetime(2026, 10, 1, tzinfo=UTC)
    deals = [
        # created Sep 20; 100 in Proposal; Oct 1 00:00 (exactly D) 300; Oct 3 won
        ("Ann", 0, [(0, ("Proposal", 100, 30, None)), (22, ("Proposal", 300, 30, None)),
                    (27, ("Closed Won", 300, 2, None))], None),
        # created after D
        ("Ann", 30, [(0, ("Negotiation", 1000, 40, None))], None),
        # created before D, no history at all: read as it stands (Negotiation 250)
        ("Bob", 2, None, ("Negotiation", 250, 50, None)),
        # created before D, first history row after D: read as it stands now (Closed Lost, not in the pipeline)
        ("Bob", 2, [(40, ("Closed Lost", 1000, 60, None))], None),
    ]
    load(db, deals)
    with db.engine.connect() as conn:
        at_d = layer(conn, Scope("org", "org"), oct1)
        later = layer(conn, Scope("org", "org"), oct1 + timedelta(days=3))
    assert at_d == {"pipeline": Decimal("550.00"), "closed_won": Decimal("0.00"),
                    "commit": Decimal("250.00"), "weighted_pipeline": Decimal("350.00")}
    assert later == {"pipeline": Decimal("250.00"), "closed_won": Decimal("300.00"),
                     "commit": Decimal("550.00"), "weighted_pipeline": Decimal("200.00")}
