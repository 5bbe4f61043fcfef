"""The metrics layer against pandas (tests/oracles.py) for the figures built on quota and on several windows:
gap, coverage, the forecast roll-up, velocity, win rate by value and the manager quota roll-up, for the whole org,
every manager's tree (managers of managers too), every team label and single reps.

Two orgs: the demo generator's (fixed seed and `today`, realistic sizes and shapes) with managers' own quota rows
added, and small random orgs from hypothesis (cent amounts, odd quota periods, nested managers with and without a
row of their own). Money is compared exactly; ratios at the layer's documented 4 places.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from db.demo import build_demo
from db.schema import DEFAULT_STAGES, opportunities, opportunity_history, quotas, reps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from tests.factories import Factory, at
from tests.oracles import SalesTables, ScopeSpec, figures, read_tables, tree_members

TODAY = date(2026, 11, 25)
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
PERIODS = {
    "quarter": Q4,
    "month": Period(date(2026, 11, 1), date(2026, 11, 30), "Nov 2026", "month"),
    "across quarters": Period(date(2026, 9, 15), date(2026, 10, 20), "Sep 15 – Oct 20", None),
    "future quarter": Period(date(2027, 1, 1), date(2027, 3, 31), "Q1 FY2027", "quarter"),
}


def layer(conn, scope: Scope, period: Period) -> dict:
    """The same figures as tests.oracles.figures, from the metrics layer."""

    def run(name):
        return evaluate(conn, name, period, scope, today=TODAY, cache=ResultCache(0))

    att = run("attainment").rows[0]
    forecast = run("forecast").rows[0]
    pipeline = run("pipeline").rows[0]
    return {
        "pipeline": pipeline["value"], "open_count": pipeline["open_count"], "won_amount": att["won_amount"],
        "quota": att["quota"], "attainment": att["value"], "gap": run("gap").value,
        "coverage": run("coverage").value,
        "forecast": {k: forecast[k] for k in ("closed", "commit", "best_case", "pipeline")},
        "forecast_quota": forecast["quota"], "win_rate_value": run("win_rate_value").value,
        "velocity": run("velocity").value,
    }


def oracle(t: SalesTables, spec: ScopeSpec, period: Period) -> dict:
    f = figures(t, spec, period.start, period.end, TODAY)
    return {
        "pipeline": f.pipeline, "open_count": f.open_count, "won_amount": f.won_amount, "quota": f.quota,
        "attainment": f.attainment, "gap": f.gap, "coverage": f.coverage, "forecast": f.forecast,
        "forecast_quota": f.quota, "win_rate_value": f.win_rate_value, "velocity": f.velocity,
    }


def scopes_of(t: SalesTables) -> list[tuple[Scope, ScopeSpec]]:
    """The org, every manager's or exec's tree, every team label and every rep."""
    out = [(Scope("org", "org"), ScopeSpec("org"))]
    for person in t.reps.itertuples():
        if person.role in ("manager", "exec"):
            out.append((Scope("tree", person.name, rep_id=person.id), ScopeSpec("tree", rep_id=person.id)))
        if person.role == "rep":
            out.append((Scope("rep", person.name, rep_id=person.id), ScopeSpec("rep", rep_id=person.id)))
    for team in sorted({x for x in t.reps["team"] if x}):
        out.append((Scope("team", team, team=team), ScopeSpec("team", team=team)))
    return out


def assert_layer_matches_pandas(db, period: Period, scopes=None) -> int:
    with db.engine.connect() as conn:
        t = read_tables(conn, TODAY)
        checked = 0
        for scope, spec in scopes or scopes_of(t):
            assert layer(conn, scope, period) == oracle(t, spec, period), (scope, period.label)
            checked += 1
    return checked


# --- the demo org ------------------------------------------------------------------------------------------------


@pytest.fixture
def demo_org(db) -> dict[str, int]:
    """The demo org (30 people: an exec, three regional managers over one first-line manager each, reps), with
    an own quota row for one manager of managers (this quarter) and one first-line manager (Nov–Jan, 92 days)."""
    build_demo(db.engine, seed=7, reps=30, deals=800, today=TODAY)
    with db.engine.connect() as conn:
        people = read_tables(conn, TODAY).reps
    managers = people[people["role"] == "manager"]
    first_line = managers[managers["id"].isin(set(people.loc[people["role"] == "rep", "manager_id"]))]
    over_managers = managers[managers["id"].isin(set(first_line["manager_id"]))]
    assert len(first_line) >= 2 and len(over_managers) >= 2
    carrying_over = int(over_managers["id"].iloc[0])
    carrying_line = int(first_line.loc[first_line["manager_id"] != carrying_over, "id"].iloc[0])
    f = Factory(db.engine)
    f.quota(carrying_over, date(2026, 10, 1), date(2026, 12, 31), 250000)
    f.quota(carrying_line, date(2026, 11, 1), date(2027, 1, 31), 92000)
    parent = int(first_line.loc[first_line["id"] == carrying_line, "manager_id"].iloc[0])
    return {"over": carrying_over, "line": carrying_line, "line_parent": parent, "exec": int(
        people.loc[people["role"] == "exec", "id"].iloc[0])}


def test_managers_own_rows_and_their_teams_sums(db, demo_org):
    """The manager roll-up by hand: a manager's own row wins (prorated: 61 of the row's 92 days fall in Q4);
    the manager above a carrying manager, and the exec, sum their reps and never add a manager's row."""
    with db.engine.connect() as conn:
        t = read_tables(conn, TODAY)

        def quota(rep_id):
            return evaluate(conn, "quota", Q4, Scope("tree", "t", rep_id=rep_id), today=TODAY,
                            cache=ResultCache(0)).value

        assert quota(demo_org["over"]) == Decimal("250000.00")
        assert quota(demo_org["line"]) == Decimal("61000.00")  # 92000 × 61 / 92
        q = t.quotas
        role = dict(zip(t.reps["id"], t.reps["role"], strict=True))
        in_q4 = q[(q["period_start"] <= Q4.end) & (q["period_end"] >= Q4.start)]
        demo_quarters = in_q4[[role[r] == "rep" for r in in_q4["rep_id"]]]
        assert set(demo_quarters["period_start"]) == {Q4.start}  # whole quarters: no proration for reps
        assert quota(demo_org["exec"]) == sum(demo_quarters["amount"])
        parent_reps = tree_members(t.reps, demo_org["line_parent"]) & set(t.reps.loc[t.reps["role"] == "rep", "id"])
        assert quota(demo_org["line_parent"]) == sum(
            demo_quarters.loc[demo_quarters["rep_id"].isin(parent_reps), "amount"])


@pytest.mark.slow
def test_demo_org_figures_match_pandas_at_every_scope(db, demo_org):
    """A quarter, a month, a window across two quarters (every quota prorated) and a future quarter (velocity's
    history ends today)."""
    for period in PERIODS.values():
        checked = assert_layer_matches_pandas(db, period)
        assert checked >= 30  # org, the trees, the reps, the team labels


# --- random small orgs -------------------------------------------------------------------------------------------

STAGES = [s["name"] for s in DEFAULT_STAGES]
TEAMS = ["West", "East", None]
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2, allow_nan=False,
                    allow_infinity=False)
person = st.fixed_dictionaries({
    "role": st.sampled_from(["rep", "rep", "manager"]),
    "manager": st.integers(0, 10),  # an index into the people before this one (taken modulo), 0 = the exec
    "team": st.sampled_from(TEAMS),
})
quota_row = st.tuples(st.integers(0, 7), st.integers(-120, 120), st.integers(0, 150), money)
deal = st.fixed_dictionaries({
    "owner": st.integers(0, 7),
    "stage": st.sampled_from(STAGES),
    "amount": st.one_of(st.none(), money),
    "close_offset": st.integers(-150, 60),  # mostly inside Q4 or the velocity's trailing year
    "cycle": st.one_of(st.integers(0, 300), st.integers(0, 300), st.none()),  # None: no created_at
    "probability": st.one_of(st.none(), st.integers(0, 100)),
    "forecast_category": st.one_of(st.none(), st.sampled_from(["pipeline", "best_case", "commit", "omitted"])),
})


def load_org(db, people: list[dict], quota_rows: list[tuple], deals: list[dict]) -> None:
    """An exec (person 0) over `people`, each managed by an earlier person; quota rows and deals by person index."""
    with db.engine.begin() as conn:
        for table in (opportunity_history, opportunities, quotas, reps):
            conn.execute(delete(table))
        ids = [conn.execute(insert(reps).returning(reps.c.id), {"external_id": "p0", "name": "Exec", "role": "exec"})
               .scalar_one()]
        for i, p in enumerate(people, start=1):
            ids.append(conn.execute(insert(reps).returning(reps.c.id), {
                "external_id": f"p{i}", "name": f"Person {i}", "role": p["role"], "team": p["team"],
                "manager_id": ids[p["manager"] % i]}).scalar_one())
        seen = set()
        for who, offset, length, amount in quota_rows:
            start = Q4.start + timedelta(days=offset)
            key = (ids[who % len(ids)], start, start + timedelta(days=length))
            if key not in seen:
                seen.add(key)
                conn.execute(insert(quotas), {"rep_id": key[0], "period_start": key[1], "period_end": key[2],
                                              "amount": amount})
        for i, d in enumerate(deals):
            close = TODAY + timedelta(days=d["close_offset"])
            conn.execute(insert(opportunities), {
                "external_id": f"o{i}", "name": f"o{i}", "owner_id": ids[d["owner"] % len(ids)],
                "stage": d["stage"], "amount": d["amount"], "close_date": close,
                "created_at": None if d["cycle"] is None else at(close - timedelta(days=d["cycle"])),
                "probability": d["probability"], "forecast_category": d["forecast_category"]})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(person, min_size=1, max_size=6), quota_rows=st.lists(quota_row, max_size=8),
       deals=st.lists(deal, max_size=20))
def test_random_orgs_match_pandas_at_every_scope(db, people, quota_rows, deals):
    load_org(db, people, quota_rows, deals)
    assert_layer_matches_pandas(db, Q4)


def test_a_figure_on_a_half_cent_rounds_as_exact_arithmetic_does(db):
    """Won 10.00 and 10.01: the average deal size is 10.005, which rounds half-even to 10.00 on both databases.
    SQLite sums money in binary floats, and 20.01 read as Decimal(20.01) is 20.0100000000000015…, which said
    10.01 (hypothesis found it)."""
    f = Factory(db.engine)
    ann = f.rep("Ann Rep")
    for amount in ("10.00", "10.01"):
        f.deal(ann, "Closed Won", amount, date(2026, 11, 2), created=date(2026, 10, 2))
    with db.engine.connect() as conn:
        got = evaluate(conn, "avg_deal_size", Q4, Scope("org", "org"), today=TODAY, cache=ResultCache(0)).value
    assert got == Decimal("10.00")
