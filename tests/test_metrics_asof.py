"""Deal metrics as of a past moment against an independent pandas rebuild from the history rows
(tests/asof_oracle.py), on both databases: deals created after D, deals with no history row by D (or none at
all), several rows at the same instant and rows exactly at D, omitted forecasts, deals in several currencies with
dated rates (open ones at the moment's rate, closed at the close date's, none left out unconverted), for the org, a
rep, a manager's tree and a team label."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from db.schema import (
    DEFAULT_STAGES,
    bot_deal_spans,
    bot_settings,
    exchange_rates,
    opportunities,
    opportunity_history,
    reps,
)
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.history_snapshot import SNAPSHOT_KEY, refresh_history_snapshot, usable_watermark
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
# When the history snapshot (its deal spans) is taken: after that many history rows are written (the later rows and
# deals are newer than it: read from history, or as they stand when they have none), or never.
snapshot_cut = st.one_of(st.none(), st.integers(0, 10))


def load(db, deals, currencies=(), rates=(), cut: int | None = None) -> dict[str, int]:
    """The generated org: Mgr manages Ann (team East); Bob (team West) reports to nobody. Deal i is in
    currencies[i] (the org currency when there is none); `rates` as the strategy above. `cut`: the history snapshot
    is taken once that many history rows are written (or after the last, when there are fewer)."""
    written = 0

    def snapshot_due(conn) -> None:
        if cut is not None and written == cut:
            refresh_history_snapshot(conn, full=True)

    with db.engine.begin() as conn:
        for table in (opportunity_history, opportunities, reps, exchange_rates):
            conn.execute(delete(table))
        conn.execute(delete(bot_settings).where(bot_settings.c.key == SNAPSHOT_KEY))
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
                snapshot_due(conn)
                conn.execute(insert(opportunity_history), {"opportunity_id": opp,
                                                           "changed_at": created_at + slot * HALF_DAY,
                                                           **values(st_)})
                written += 1
        if cut is not None and written <= cut:
            written = cut
            snapshot_due(conn)
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
@given(deals=st.lists(deal, max_size=12), moment_slot=st.integers(0, 30), currencies=currencies, rates=rates,
       cut=snapshot_cut)
def test_as_of_matches_pandas_rebuild(db, deals, moment_slot, currencies, rates, cut):
    ids = load(db, deals, currencies, rates, cut)
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


@pytest.mark.parametrize("wide_share", [8, 10**6])
def test_as_of_across_the_snapshot_watermark(db, monkeypatch, wide_share):
    """The spans of the history snapshot and the history after it, read together: a deal with rows on both sides,
    one with all its rows after, one with none then and some after, one created after with none, one deleted.
    On PostgreSQL a tree or team is read like the org when it is wide (here it always is) and deal by deal when not
    (wide_share 10**6)."""
    monkeypatch.setattr("metrics.asof.WIDE_SHARE", wide_share)
    p, q = ("Prospecting", 100, 10, None), ("Proposal", 250, 10, "commit")
    w, lost = ("Closed Won", 300, 20, None), ("Closed Lost", 1000, 30, None)
    deals = [("Bob", 0, [(1, q)], q),                      # deleted after the snapshot
             ("Ann", 0, [(0, p), (4, q), (8, w)], w),     # row 1 before the snapshot; 2, 3 after
             ("Bob", 1, [(0, p), (6, lost)], lost),       # both rows after it
             ("Ann", 2, None, q),                          # no history: as it stands now
             ("Mgr", 3, [(0, q), (2, p)], p)]              # both rows after it, the second at the same instant +1
    ids = load(db, deals, cut=2)  # the watermark: the Ann deal's first row
    with db.engine.begin() as conn:
        late = conn.execute(insert(opportunities).returning(opportunities.c.id), {
            "external_id": "late", "name": "late", "owner_id": ids["Bob"], "created_at": BASE + 5 * HALF_DAY,
            **values(q)}).scalar_one()
        conn.execute(insert(opportunity_history), {"opportunity_id": late, "changed_at": BASE + 9 * HALF_DAY,
                                                   **values(p)})
        conn.execute(insert(opportunities), {"external_id": "bare", "name": "bare", "owner_id": ids["Ann"],
                                             "created_at": BASE + 3 * HALF_DAY, **values(w)})
        conn.execute(delete(opportunities).where(opportunities.c.external_id == "d0"))
    with db.engine.connect() as conn:
        assert usable_watermark(conn) is not None
        for slot in range(0, 14):
            moment = BASE + slot * HALF_DAY
            oracle = History(conn).states(moment)
            for scope, owners in ((Scope("org", "org"), None), (Scope("rep", "Ann", rep_id=ids["Ann"]), {ids["Ann"]}),
                                  (Scope("tree", "Mgr", rep_id=ids["Mgr"]), {ids["Mgr"], ids["Ann"]})):
                assert layer(conn, scope, moment) == figures_at(oracle, Q4.start, Q4.end, owners), (slot, scope)
            buckets = {r["bucket"]: r["value"] for r in evaluate(
                conn, "waterfall", Q4, Scope("tree", "Mgr", rep_id=ids["Mgr"]), today=date(2026, 12, 1),
                as_of=(BASE, moment), cache=ResultCache()).rows}
            assert buckets["end"] == figures_at(oracle, Q4.start, Q4.end, {ids["Mgr"], ids["Ann"]})["pipeline"]


def test_spans_after_an_incremental_refresh_equal_a_whole_rebuild(db):
    """New history for a deal with spans, for one without, and a new deal: the refresh recomputes those deals'
    spans, which then equal the spans a whole rebuild writes."""
    p, q, w = ("Prospecting", 100, 10, None), ("Proposal", 250, 10, "commit"), ("Closed Won", 300, 20, None)
    ids = load(db, [("Ann", 0, [(0, p), (4, q)], q), ("Bob", 1, None, p), ("Mgr", 2, [(1, p)], p)], cut=3)
    spans_of = select(bot_deal_spans).order_by(bot_deal_spans.c.opportunity_id, bot_deal_spans.c.valid_from)
    with db.engine.begin() as conn:
        deal = {r.external_id: r.id for r in conn.execute(select(opportunities.c.external_id, opportunities.c.id))}
        for external_id, slot, state_ in (("d0", 6, w), ("d0", 6, q), ("d1", 3, q), ("d2", 1, w)):
            conn.execute(insert(opportunity_history), {"opportunity_id": deal[external_id],
                                                       "changed_at": BASE + slot * HALF_DAY, **values(state_)})
        new = conn.execute(insert(opportunities).returning(opportunities.c.id), {
            "external_id": "new", "name": "new", "owner_id": ids["Bob"], "created_at": BASE, **values(p)}).scalar_one()
        conn.execute(insert(opportunity_history), {"opportunity_id": new, "changed_at": BASE, **values(p)})
        assert refresh_history_snapshot(conn)["mode"] == "incremental"
        incremental = conn.execute(spans_of).all()
        refresh_history_snapshot(conn, full=True)
        assert conn.execute(spans_of).all() == incremental
    # d0: 3 (its two rows at slot 6 tie: the first never holds), d1: 1, d2: 2 (a row dated before its first), new: 1
    assert len(incremental) == 3 + 1 + 2 + 1
