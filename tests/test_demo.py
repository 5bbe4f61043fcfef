"""The demo org generator (db/demo.py): realistic, deterministic, consistent, with planted problems at the
declared rates. Every check below recomputes what it needs from the database with plain SQL or pandas."""

from __future__ import annotations

import argparse
import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text

from config import Settings
from db.demo import (
    DEMO_LOGINS,
    PLANTED_RATES,
    build_demo,
    run_demo_command,
)
from db.engine import create_raw_engine, dispose_all, upgrade
from db.schema import (
    DEFAULT_STAGES,
    accounts,
    activities,
    bot_settings,
    exchange_rates,
    opportunities,
    opportunity_history,
    quotas,
    reps,
    stages,
)
from errors import UserError
from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD
from tests.factories import Factory

TODAY = date(2026, 11, 25)  # Q4 2026 with a calendar fiscal year: 2026-10-01..2026-12-31
Q_START, Q_END = date(2026, 10, 1), date(2026, 12, 31)
SIZE = {"seed": 7, "reps": 40, "deals": 2000}
STAGE = {s["name"]: s for s in DEFAULT_STAGES}


@pytest.fixture
def demo(db):
    summary = build_demo(db.engine, today=TODAY, progress=False, **SIZE)
    return db, summary


def _frame(conn, query) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _deals(conn) -> pd.DataFrame:
    o, a, r = opportunities, accounts, reps
    q = (
        select(o, a.c.segment.label("segment"), r.c.active.label("owner_active"))
        .select_from(o.join(a, a.c.id == o.c.account_id).outerjoin(r, r.c.id == o.c.owner_id))
        .order_by(o.c.id)
    )
    df = _frame(conn, q)
    df["position"] = df["stage"].map(lambda s: STAGE[s]["position"])
    df["is_open"] = ~df["stage"].map(lambda s: STAGE[s]["is_closed"])
    # amounts in the org currency, by this test's own reading of the rates: a closed deal at the rate valid on its
    # close date, an open one at today's; NaN when its currency has no rate then
    rates = _frame(conn, select(exchange_rates))

    def rate(row) -> float | None:
        if row.currency == "USD":
            return 1.0
        day = TODAY if row.is_open else row.close_date
        hit = rates[(rates.currency == row.currency) & (rates.valid_from <= day)
                    & (rates.valid_to.isna() | (rates.valid_to >= day))]
        return float(hit.rate.iloc[0]) if len(hit) == 1 else None

    df["rate"] = df.apply(rate, axis=1)
    df["amount_f"] = [None if a is None or pd.isna(r) else float(a) / r
                      for a, r in zip(df.amount, df.rate, strict=True)]
    df["amount_f"] = df["amount_f"].astype(float)
    df["no_rate"] = df.amount.notna() & df.rate.isna()
    return df


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[.,]", "", name.lower())).strip()


def _digest(engine) -> str:
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table in (reps, accounts, stages, opportunities, opportunity_history, activities, quotas):
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                h.update(repr(tuple(_canon(v) for v in row)).encode())
    return h.hexdigest()


def _canon(v):
    if isinstance(v, Decimal):
        return str(v.quantize(Decimal("0.01")))
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return v


# --- shape and consistency ----------------------------------------------------------------------------------


def test_builds_the_requested_org_with_consistent_deals(demo):
    db, summary = demo
    with db.engine.connect() as conn:
        deals = _deals(conn)
        hist = _frame(conn, select(opportunity_history).order_by(opportunity_history.c.id))
        acts = _frame(conn, select(activities.c.opportunity_id, activities.c.occurred_at))
        people = _frame(conn, select(reps))
    assert len(deals) == SIZE["deals"] == summary.deals
    assert len(people) == SIZE["reps"] == summary.people
    assert summary.history_rows == len(hist) and summary.activities == len(acts)

    # closed deals carry their close; open ones do not
    closed = deals[~deals.is_open]
    assert closed.close_date.notna().all() and closed.closed_at.notna().all()
    assert deals[deals.is_open].closed_at.isna().all()

    # the last history row (by time, then id) is the current row; the first is the creation
    hist = hist.sort_values(["opportunity_id", "changed_at", "id"])
    assert (hist.groupby("opportunity_id").id.apply(lambda s: s.is_monotonic_increasing)).all()
    last = hist.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    first = hist.groupby("opportunity_id").head(1).set_index("opportunity_id")
    cur = deals.set_index("id")
    assert set(last.index) == set(cur.index)
    for col in ("stage", "amount", "close_date", "probability", "forecast_category"):
        a, b = last[col].sort_index(), cur[col].sort_index()
        mismatch = ~((a == b) | (a.isna() & b.isna()))
        assert not mismatch.any(), (col, cur[mismatch].head())
    assert (first.stage == "Prospecting").all()
    assert (first.changed_at.sort_index() == cur.created_at.sort_index()).all()
    assert (last.changed_at.sort_index() == cur.updated_at.sort_index()).all()
    # consecutive rows differ: one row per change
    fields = ["stage", "amount", "close_date", "probability", "forecast_category"]
    prev = hist.groupby("opportunity_id")[fields].shift()
    same = ((hist[fields] == prev) | (hist[fields].isna() & prev.isna())).all(axis=1)
    assert not same[prev.stage.notna()].any()
    # history shows stage moves, pushed close dates and amount changes
    assert (hist.groupby("opportunity_id").stage.nunique() > 1).mean() > 0.4
    pushes = hist.groupby("opportunity_id").close_date.nunique()
    assert (pushes > 2).sum() > 50

    # last_activity_at is the latest activity
    latest = acts.groupby("opportunity_id").occurred_at.max()
    with_acts = cur.loc[latest.index]
    assert (with_acts.last_activity_at == latest).all()
    assert cur.drop(latest.index).last_activity_at.isna().all()
    assert (acts.occurred_at < datetime(2026, 11, 25, tzinfo=UTC)).all()

    # activities thin out on deals that die: per day of life, lost deals see fewer
    life = (closed.closed_at - closed.created_at).dt.total_seconds() / 86400
    per_day = acts.groupby("opportunity_id").size().reindex(closed.id).fillna(0).to_numpy() / life.clip(lower=1)
    won = (closed.stage == "Closed Won").to_numpy()
    assert per_day[won].mean() > 1.3 * per_day[~won].mean()


def test_org_is_realistic(demo):
    db, summary = demo
    with db.engine.connect() as conn:
        deals = _deals(conn)
        people = _frame(conn, select(reps))
        quota = _frame(conn, select(quotas))

    # one exec at the top, a tree at least exec -> VP -> first-line manager -> rep deep
    assert (people.role == "exec").sum() == 1
    assert people[people.manager_id.isna()].role.tolist() == ["exec"]
    parent = dict(zip(people.id, people.manager_id, strict=True))

    def depth(i):
        d = 0
        while pd.notna(parent[i]):
            i, d = int(parent[i]), d + 1
        return d

    depths = {int(i): depth(int(i)) for i in people.id}
    assert max(depths.values()) >= 3
    sellers = people[people.role == "rep"]
    assert all(depths[int(i)] >= 2 for i in sellers.id)
    assert (people.role == "ops").sum() >= 1
    assert (~sellers.active).sum() >= 1  # some reps have left
    assert people.team.notna().all() and sellers.region.notna().all()
    continents = {tz.split("/")[0] for tz in people.timezone}
    assert {"America", "Europe"} <= continents and continents & {"Asia", "Australia"}

    # the documented logins exist with the right roles
    by_email = people.set_index("email")
    assert by_email.loc[DEMO_LOGINS["exec"], "role"] == "exec"
    assert by_email.loc[DEMO_LOGINS["ops"], "role"] == "ops"
    assert by_email.loc[DEMO_LOGINS["manager"], "role"] == "manager"
    assert by_email.loc[DEMO_LOGINS["vp"], "role"] == "manager"
    rep = by_email.loc[DEMO_LOGINS["rep"]]
    assert rep.role == "rep" and rep.active
    assert rep.manager_id == by_email.loc[DEMO_LOGINS["manager"], "id"]
    assert summary.logins == DEMO_LOGINS

    # quotas: six calendar quarters; every active rep has this quarter's except the planted ones
    starts = sorted(quota.period_start.unique())
    assert starts[0] == date(2025, 10, 1) and starts[-1] == date(2027, 1, 1) and len(starts) == 6
    current = quota[(quota.period_start == Q_START) & (quota.period_end == Q_END)]
    active_sellers = set(sellers[sellers.active].id)
    missing = active_sellers - set(current.rep_id)
    assert len(missing) == summary.planted["rep_without_quota"] >= 1
    assert rep.id not in missing
    assert set(quota.rep_id) <= set(sellers.id)

    # a live quarter: deals open and closing this quarter and next, won and lost this quarter
    in_q = (deals.close_date >= Q_START) & (deals.close_date <= Q_END)
    assert (deals.is_open & in_q).sum() > 30
    assert (deals.is_open & (deals.close_date > Q_END)).sum() > 30
    assert ((deals.stage == "Closed Won") & in_q).sum() > 10
    assert ((deals.stage == "Closed Lost") & in_q).sum() > 10
    assert deals.probability.isna().mean() > 0.7 and deals.forecast_category.isna().mean() > 0.7

    # deal size by segment; win rates differ by rep
    clean = deals[deals.amount_f > 0]
    med = clean.groupby("segment").amount_f.median()
    assert med["SMB"] < med["Mid-Market"] < med["Enterprise"]
    closed = deals[~deals.is_open & deals.owner_id.notna()]
    by_rep = closed.groupby("owner_id").stage.agg(lambda s: (s == "Closed Won").mean())
    counts = closed.groupby("owner_id").size()
    rates = by_rep[counts >= 20]
    assert rates.max() - rates.min() > 0.1


def test_planted_problems_at_their_rates(demo):
    db, summary = demo
    with db.engine.connect() as conn:
        deals = _deals(conn)
        accts = _frame(conn, select(accounts.c.id, accounts.c.name))
        people = _frame(conn, select(reps.c.id, reps.c.role, reps.c.active))
        quota = _frame(conn, select(quotas))
        after_close = conn.execute(
            select(func.count(func.distinct(opportunity_history.c.opportunity_id)))
            .select_from(opportunity_history.join(opportunities,
                                                  opportunities.c.id == opportunity_history.c.opportunity_id))
            .where(opportunity_history.c.changed_at > opportunities.c.closed_at)
        ).scalar_one()

    open_ = deals[deals.is_open]
    closed = deals[~deals.is_open]
    created_day = deals.created_at.map(lambda t: t.date())
    stage_p = deals.stage.map(lambda s: STAGE[s]["probability"])
    stage_fc = deals.stage.map(lambda s: STAGE[s]["forecast_category"])
    name_groups = deals.groupby([deals.account_id, deals.name.map(_norm)]).size()
    amount_groups = deals[deals.amount.notna()].groupby(["account_id", "amount", "close_date"]).size()
    outliers = 0
    for _, seg in deals[deals.amount_f.notna()].groupby("segment"):
        med, p99 = seg.amount_f.median(), seg.amount_f.quantile(0.99)
        outliers += int(((seg.amount_f > 10 * med) & (seg.amount_f > p99)).sum())
    current_quota = set(quota[(quota.period_start <= TODAY) & (quota.period_end >= TODAY)].rep_id)
    active_sellers = people[(people.role == "rep") & people.active]
    late = open_[open_.stage.isin(["Proposal", "Negotiation"])]

    found = {  # rule -> (records that trip it, population)
        "missing_amount": (((deals.position > 1) & ((deals.amount_f == 0) | deals.amount.isna())).sum(),
                           (open_.position > 1).sum()),
        "past_close_date": ((open_.close_date < TODAY).sum(), len(open_)),
        "close_before_created": ((deals.close_date < created_day).sum(), len(closed)),
        "probability_off_stage": ((deals.probability.notna() & ((deals.probability - stage_p).abs() > 25)).sum(),
                            len(open_)),
        "forecast_category_mismatch": ((deals.forecast_category.notna() & (deals.forecast_category != stage_fc))
                                       .sum(), len(deals)),
        "owner_inactive": ((open_.owner_active == False).sum(), len(open_)),  # noqa: E712 - pandas mask
        "owner_unknown": (open_.owner_id.isna().sum(), len(open_)),
        "duplicate_opportunity": ((name_groups > 1).sum(), len(deals)),
        "duplicate_account": ((accts.groupby(accts.name.map(_norm)).size() > 1).sum(), len(accts)),
        "amount_outlier": (outliers, len(deals)),
        "late_stage_no_next_step": ((late.next_step.isna() | (late.next_step.str.strip() == "")).sum(),
                                    len(late)),
        "change_after_close": (after_close, len(closed)),
        "rep_without_quota": (len(set(active_sellers.id) - current_quota), len(active_sellers)),
        "negative_amount": ((deals.amount < 0).sum(), len(deals)),
        "missing_exchange_rate": (deals.no_rate.sum(), len(deals)),
    }
    assert set(found) == set(PLANTED_RATES)
    for rule, (count, population) in found.items():
        count, population = int(count), int(population)
        assert count == summary.planted[rule], (rule, count, summary.planted[rule])
        assert population == summary.populations[rule], (rule, population)
        expected = PLANTED_RATES[rule] * population
        assert abs(count - expected) <= max(1.0, 0.1 * expected), (rule, count, expected)
        assert count >= 1, rule
    # no accidental duplicates by account, amount and close date either
    assert (amount_groups > 1).sum() == 0


# --- determinism, refresh, refusal --------------------------------------------------------------------------


def test_same_seed_same_rows_on_every_backend(db, tmp_path):
    small = {"seed": 11, "reps": 20, "deals": 600}
    build_demo(db.engine, today=TODAY, **small)
    other = create_raw_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    try:
        build_demo(other, today=TODAY, **small)
        assert _digest(db.engine) == _digest(other)
        build_demo(other, today=TODAY, **{**small, "seed": 12})
        assert _digest(db.engine) != _digest(other)
    finally:
        other.dispose()
        dispose_all()


def test_refresh_replaces_the_demo(db):
    build_demo(db.engine, today=TODAY, seed=1, reps=30, deals=800)
    with db.engine.begin() as conn:
        conn.execute(insert(bot_settings).values(key="something", value="x", updated_at=datetime.now(UTC)))
    summary = build_demo(db.engine, today=TODAY, seed=2, reps=20, deals=300, after_load=SNAPSHOT_AFTER_LOAD)
    with db.engine.connect() as conn:
        count = lambda t: conn.execute(select(func.count()).select_from(t)).scalar_one()  # noqa: E731
        assert count(opportunities) == 300 and count(reps) == 20
        assert count(accounts) == summary.accounts
        assert count(opportunity_history) == summary.history_rows
        assert count(activities) == summary.activities
        assert count(quotas) == summary.quotas
        keys = conn.execute(select(bot_settings.c.key)).scalars().all()
        assert sorted(keys) == ["demo", "history_snapshot"]  # the old bot state is gone; the new snapshot's is there
        # new rows get fresh ids after the bulk load
        new_id = conn.execute(
            insert(reps).values(external_id="x-1", name="New Person", role="rep").returning(reps.c.id)
        ).scalar_one()
        assert new_id == 21


def test_postgres_tables_vacuumed_after_the_build(db):
    """Every page of the big tables is all-visible and the statistics count the rows: index-only scans read no
    table pages, with autovacuum off."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("VACUUM and the visibility map are PostgreSQL's")
    summary = build_demo(db.engine, today=TODAY, seed=3, reps=20, deals=300)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT relname, relpages, relallvisible, reltuples FROM pg_class "
                                 "WHERE relname IN ('opportunities', 'opportunity_history')")).all()
    state = {r.relname: (r.relallvisible == r.relpages > 0, int(r.reltuples)) for r in rows}
    assert state == {"opportunities": (True, 300), "opportunity_history": (True, summary.history_rows)}


def test_refuses_a_database_with_real_sales_data(db):
    f = Factory(db.engine)
    owner = f.rep("Real Person")
    f.deal(owner, "Proposal", 1000, date(2026, 12, 1))
    with pytest.raises(UserError, match="DATABASE_URL"):
        build_demo(db.engine, today=TODAY, seed=1, reps=20, deals=300)
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reps)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(opportunities)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(bot_settings)).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM stages")).scalar_one() == len(DEFAULT_STAGES)


def test_command_prints_counts_and_logins(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = argparse.Namespace(seed=3, reps=20, deals=400, no_progress=True)
    try:
        assert run_demo_command(args, Settings(database_url=url)) == 0
    finally:
        dispose_all()
    out = capsys.readouterr()
    assert "400 deals" in out.out and "20 people" in out.out
    for email in DEMO_LOGINS.values():
        assert f"console --as {email}" in out.out
    assert out.err == ""
    with pytest.raises(UserError, match="--reps"):
        run_demo_command(argparse.Namespace(seed=3, reps=2, deals=400, no_progress=True), Settings(database_url=url))


@pytest.mark.parametrize("people", [12, 40, 300, 1200])
def test_reps_who_left_handed_over_to_active_teammates(people):
    import numpy as np

    from db.demo import _plan_org

    org = _plan_org(np.random.default_rng([5, 0]), people, TODAY)
    left = np.flatnonzero(org.is_seller & ~org.active)
    assert len(left) >= 1 and org.n == people
    for i in left:
        j = org.replacement[i]
        assert org.active[j] and org.is_seller[j] and org.manager[j] == org.manager[i]
    assert set(org.manager[org.is_seller & org.active]) == set(org.manager[org.is_seller])
