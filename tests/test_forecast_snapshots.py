"""Weekly forecast snapshots (README "Forecast snapshots"), on both databases: the job twice in one week stores
once; a stored week equals an independent pandas rebuild of that Monday 06:00 UTC from the history rows
(tests/asof_oracle.py) and the as-of metrics for that moment; quotas prorated and rolled up by hand; the
backfill command fills the weeks and leaves stored ones alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

import bot
from config import load_settings
from db.schema import bot_forecast_snapshots, quotas
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.forecast_snapshots import backfill_moments, take_snapshots, week_moment
from metrics.periods import Period
from metrics.scopes import Scope
from scheduler.context import JobContext
from scheduler.forecast_snapshots import take_weekly_snapshots
from tests.asof_oracle import History, figures_at, in_window, money, open_pipeline
from tests.test_metrics_asof import deal, load

Q3 = Period(date(2026, 7, 1), date(2026, 9, 30), "Q3 FY2026", "quarter")
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
Q1 = Period(date(2027, 1, 1), date(2027, 3, 31), "Q1 FY2027", "quarter")
MONDAYS = [datetime(2026, 9, 21, 6, tzinfo=UTC) + timedelta(weeks=k) for k in range(4)]  # Sep 21 .. Oct 12
D = Decimal


def add_quotas(db, ids: dict[str, int]) -> None:
    """Ann 1,000 for Q4 and 1,500 for Q1; Bob three monthly rows in Q4; Mgr an own row for Q1 only."""
    rows = [("Ann", Q4.start, Q4.end, "1000.00"), ("Ann", Q1.start, Q1.end, "1500.00"),
            ("Bob", date(2026, 10, 1), date(2026, 10, 31), "333.33"),
            ("Bob", date(2026, 11, 1), date(2026, 11, 30), "333.33"),
            ("Bob", date(2026, 12, 1), date(2026, 12, 31), "333.34"),
            ("Mgr", Q1.start, Q1.end, "5000.00")]
    with db.engine.begin() as conn:
        conn.execute(delete(quotas))
        conn.execute(insert(quotas), [{"rep_id": ids[n], "period_start": s, "period_end": e, "amount": D(a)}
                                      for n, s, e, a in rows])


# worked by hand from add_quotas: a rep's own rows; Mgr's tree: their own row (Q1), else the reps' sum (Ann, Q4)
QUOTAS = {("Ann", Q4.start): D("1000.00"), ("Ann", Q1.start): D("1500.00"), ("Bob", Q4.start): D("1000.00"),
          ("Mgr", Q4.start): D("1000.00"), ("Mgr", Q1.start): D("5000.00")}


def ctx_for(db) -> JobContext:
    settings = load_settings({"DATABASE_URL": db.url, "DEFAULT_TIMEZONE": "UTC"})
    return JobContext(db.engine, settings, sender=None, ledger=None)


def cli_env(db, monkeypatch) -> None:
    """`bot.main` on this database, in UTC, calendar fiscal year."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "UTC")
    monkeypatch.delenv("FISCAL_YEAR_START_MONTH", raising=False)


def stored(conn) -> list[dict]:
    t = bot_forecast_snapshots
    return [dict(r) for r in conn.execute(select(t).order_by(t.c.week_of, t.c.rep_id, t.c.period_start)).mappings()]


def oracle_row(states, quarter: Period, owners: set[int]) -> dict:
    """The snapshot figures of `owners` in `quarter` from the pandas states, as the README defines them."""
    base = figures_at(states, quarter.start, quarter.end, owners)
    mine = states[states["owner_id"].isin(owners)]
    pipe = open_pipeline(mine, quarter.start, quarter.end)
    best = money(pipe[pipe["category"] == "best_case"]["amount"])
    assert money(mine[in_window(mine, quarter.start, quarter.end) & mine["is_won"]]["amount"]) == base["closed_won"]
    closed = mine[in_window(mine, quarter.start, quarter.end) & mine["is_closed"]]
    return {"closed_won": base["closed_won"], "commit_amount": base["commit"],
            "best_case_amount": base["commit"] + best, "pipeline_amount": base["pipeline"],
            "weighted_amount": base["weighted_pipeline"],
            "pipeline_category_amount": money(pipe[pipe["category"] == "pipeline"]["amount"]),
            "open_count": len(pipe), "won_count": int(closed["is_won"].sum()),
            "lost_count": int((~closed["is_won"]).sum())}


def test_week_moment_is_the_latest_monday_six_utc():
    assert week_moment(datetime(2026, 10, 12, 6, tzinfo=UTC)) == datetime(2026, 10, 12, 6, tzinfo=UTC)
    assert week_moment(datetime(2026, 10, 12, 5, 59, tzinfo=UTC)) == datetime(2026, 10, 5, 6, tzinfo=UTC)
    assert week_moment(datetime(2026, 10, 18, 23, tzinfo=UTC)) == datetime(2026, 10, 12, 6, tzinfo=UTC)
    # a zone ahead of UTC: Monday 07:00 in Berlin is still before 06:00 UTC
    berlin = datetime(2026, 10, 12, 7, tzinfo=ZoneInfo("Europe/Berlin"))
    assert week_moment(berlin) == datetime(2026, 10, 5, 6, tzinfo=UTC)


def test_backfill_moments_cover_whole_quarters():
    moments = backfill_moments(datetime(2026, 12, 1, 15, tzinfo=UTC), ZoneInfo("UTC"), 2)
    assert moments[0] == datetime(2026, 4, 6, 6, tzinfo=UTC)  # the first Monday of Q2
    assert moments[-1] == datetime(2026, 11, 30, 6, tzinfo=UTC)
    assert all(b - a == timedelta(weeks=1) for a, b in zip(moments, moments[1:], strict=False))


def test_the_job_twice_in_one_week_stores_once(db):
    ids = load(db, [("Ann", 0, [(0, ("Negotiation", 1000, 20, None))], None),
                    ("Bob", 0, None, ("Proposal", 250, 30, None))])
    add_quotas(db, ids)
    ctx = ctx_for(db)
    first = take_weekly_snapshots(ctx, datetime(2026, 10, 12, 6, 0, 3, tzinfo=UTC))
    with db.engine.connect() as conn:
        after_first = stored(conn)
    again = take_weekly_snapshots(ctx, datetime(2026, 10, 15, 9, tzinfo=UTC))  # Thursday, same week
    with db.engine.connect() as conn:
        after_again = stored(conn)
    assert first["rows"] == 6 and len(after_first) == 6  # Ann, Bob, Mgr × Q4, Q1
    assert again["rows"] == 0 and after_again == after_first
    assert {r["taken_at"] for r in after_first} == {datetime(2026, 10, 12, 6, tzinfo=UTC)}
    assert {r["source"] for r in after_first} == {"job"}
    by = {(r["rep_id"], r["period_start"]): r for r in after_first}
    assert by[(ids["Ann"], Q4.start)]["commit_amount"] == D("1000.00")
    assert by[(ids["Mgr"], Q4.start)]["scope"] == "tree" and by[(ids["Mgr"], Q4.start)]["commit_amount"] == D("1000.00")
    assert by[(ids["Bob"], Q4.start)]["best_case_amount"] == D("250.00")
    assert by[(ids["Bob"], Q4.start)]["commit_amount"] == D("0.00")
    nxt = take_weekly_snapshots(ctx, datetime(2026, 10, 19, 6, 30, tzinfo=UTC))
    assert nxt["rows"] == 6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=10))
def test_a_stored_week_equals_the_pandas_rebuild_of_its_monday(db, deals):
    ids = load(db, deals)
    add_quotas(db, ids)
    ctx = ctx_for(db)
    for monday in MONDAYS:
        take_weekly_snapshots(ctx, monday + timedelta(hours=2))
    names = {v: k for k, v in ids.items()}
    owners = {"Ann": {ids["Ann"]}, "Bob": {ids["Bob"]}, "Mgr": {ids["Mgr"], ids["Ann"]}}
    with db.engine.connect() as conn:
        rows, history = stored(conn), History(conn)
    assert len(rows) == len(MONDAYS) * 3 * 2
    for row in rows:
        quarter = next(q for q in (Q3, Q4, Q1) if q.start == row["period_start"])
        assert row["period_end"] == quarter.end
        assert row["week_of"] in {m.date() for m in MONDAYS} and row["taken_at"].date() == row["week_of"]
        name = names[row["rep_id"]]
        expected = oracle_row(history.states(row["taken_at"]), quarter, owners[name])
        assert {k: row[k] for k in expected} == expected, (name, quarter.label, row["week_of"])
        assert row["quota"] == QUOTAS.get((name, quarter.start)), (name, quarter.label)


def test_a_stored_week_equals_the_as_of_metrics_of_that_moment(db):
    ids = load(db, [("Ann", 0, [(0, ("Negotiation", 1000, 20, None)), (30, ("Closed Won", 1200, 25, None))], None),
                    ("Ann", 4, [(0, ("Proposal", 400, 50, "commit"))], None),
                    ("Bob", 0, None, ("Proposal", 250, 30, None)),
                    ("Mgr", 1, [(0, ("Prospecting", 700, 100, None)), (20, ("Qualification", 900, 5, None))], None)])
    add_quotas(db, ids)
    take_weekly_snapshots(ctx_for(db), MONDAYS[3] + timedelta(minutes=1))
    scopes = {ids["Ann"]: Scope("rep", "Ann", rep_id=ids["Ann"]), ids["Bob"]: Scope("rep", "Bob", rep_id=ids["Bob"]),
              ids["Mgr"]: Scope("tree", "Mgr's team", rep_id=ids["Mgr"])}
    with db.engine.connect() as conn:
        rows = stored(conn)
        for row in rows:
            quarter = Q4 if row["period_start"] == Q4.start else Q1

            def metric(name: str, key: str = "value", *, scope=scopes[row["rep_id"]], quarter=quarter,
                       moment=row["taken_at"]):
                return evaluate(conn, name, quarter, scope, today=date(2026, 12, 1), as_of=moment,
                                cache=ResultCache()).rows[0][key]
            assert row["closed_won"] == metric("forecast", "closed")
            assert row["commit_amount"] == metric("forecast", "commit")
            assert row["best_case_amount"] == metric("forecast", "best_case")
            assert row["pipeline_amount"] == metric("pipeline")
            assert row["weighted_amount"] == metric("weighted_pipeline")
            assert row["quota"] == metric("quota")
            assert_counts_as_of(row, metric)
    by = {(r["rep_id"], r["period_start"]): r for r in rows}
    # by hand, as of Oct 12 06:00: Ann's first deal won Oct 5 (created Sep 20 + 15 days) for 1,200 closing Oct 26
    assert by[(ids["Ann"], Q4.start)]["closed_won"] == D("1200.00")
    assert by[(ids["Ann"], Q4.start)]["commit_amount"] == D("1600.00")  # won 1,200 + the 400 forecast as commit
    # the tree (Mgr and Ann): Mgr's deal moved into Q4 at Qualification (900) on Sep 30; Ann's open 400
    assert by[(ids["Mgr"], Q4.start)]["commit_amount"] == D("1600.00")
    assert by[(ids["Mgr"], Q4.start)]["pipeline_amount"] == D("1300.00")


def assert_counts_as_of(row: dict, metric) -> None:
    """The row's counts and pipeline-category amount are the as-of metrics' of its moment."""
    assert row["open_count"] == metric("pipeline", "open_count")
    assert row["won_count"] == metric("closed_won", "won_count")
    assert row["lost_count"] == metric("closed_lost", "lost_count")
    assert row["pipeline_category_amount"] == metric("forecast", "pipeline") - metric("forecast", "best_case")


def test_a_backfilled_week_equals_the_as_of_metrics_for_its_counts_and_fills_rows_stored_without_them(db):
    """`forecast backfill` stores the counts (open, won, lost deals) and the amount forecast as pipeline as the
    as-of metrics give them at each week's Monday; a row stored before they were kept (NULL, as migration 0011
    leaves old rows) gets them filled, its money figures untouched, and a complete week is left alone."""
    ids = load(db, [("Ann", 0, [(0, ("Negotiation", 1000, 20, None)), (30, ("Closed Won", 1200, 25, None))], None),
                    ("Ann", 2, [(0, ("Proposal", 400, 50, "pipeline")), (10, ("Closed Lost", 400, 20, None))], None),
                    ("Bob", 0, None, ("Proposal", 250, 30, "pipeline")),
                    ("Mgr", 1, [(0, ("Prospecting", 700, 100, None))], None)])
    add_quotas(db, ids)
    tz, now = ZoneInfo("UTC"), datetime(2026, 10, 14, 12, tzinfo=UTC)
    moments = [m for m in backfill_moments(now, tz, 1) if m >= MONDAYS[0]]
    take_snapshots(db.engine, moments, tz, 1, source="backfill", now=now)
    t = bot_forecast_snapshots
    with db.engine.begin() as conn:
        before = stored(conn)
        conn.execute(update(t).where(t.c.week_of == MONDAYS[2].date(), t.c.rep_id == ids["Ann"])
                     .values(open_count=None, won_count=None, lost_count=None, pipeline_category_amount=None,
                             weighted_amount=D("1.00")))
    again = take_snapshots(db.engine, moments, tz, 1, source="backfill", now=now)
    assert (again["weeks"], again["rows"]) == (1, 0)  # the one week with rows lacking counts, nothing new
    scopes = {ids["Ann"]: Scope("rep", "Ann", rep_id=ids["Ann"]), ids["Bob"]: Scope("rep", "Bob", rep_id=ids["Bob"]),
              ids["Mgr"]: Scope("tree", "Mgr's team", rep_id=ids["Mgr"])}
    with db.engine.connect() as conn:
        rows = stored(conn)
        assert {r["source"] for r in rows} == {"backfill"} and len(rows) == len(moments) * 6
        for row in rows:
            quarter = next(q for q in (Q3, Q4, Q1) if q.start == row["period_start"])

            def metric(name: str, key: str = "value", *, scope=scopes[row["rep_id"]], quarter=quarter,
                       moment=row["taken_at"]):
                return evaluate(conn, name, quarter, scope, today=date(2026, 12, 1), as_of=moment,
                                cache=ResultCache()).rows[0][key]
            assert_counts_as_of(row, metric)
    filled = [r for r in rows if r["week_of"] == MONDAYS[2].date() and r["rep_id"] == ids["Ann"]]
    assert {r["weighted_amount"] for r in filled} == {D("1.00")}  # only the counts were filled
    assert [{k: v for k, v in r.items() if k != "weighted_amount"} for r in rows] == \
        [{k: v for k, v in r.items() if k != "weighted_amount"} for r in before]
    ann_q4 = {r["week_of"]: r for r in rows if r["rep_id"] == ids["Ann"] and r["period_start"] == Q4.start}
    # by hand: Ann's 400 deal (created Sep 21, forecast as pipeline) lost on Sep 26; her 1,000 won on Oct 5 00:00
    assert [(ann_q4[m.date()]["open_count"], ann_q4[m.date()]["won_count"], ann_q4[m.date()]["lost_count"],
             ann_q4[m.date()]["pipeline_category_amount"]) for m in MONDAYS] == [
        (2, 0, 0, D("400.00")), (1, 0, 1, D("0.00")), (0, 1, 1, D("0.00")), (0, 1, 1, D("0.00"))]


def test_backfill_command_fills_the_weeks_once(db, monkeypatch, capsys):
    ids = load(db, [("Ann", 0, [(0, ("Negotiation", 1000, 20, None))], None)])
    add_quotas(db, ids)
    cli_env(db, monkeypatch)
    with time_machine.travel(datetime(2026, 10, 20, 12, tzinfo=UTC), tick=False):
        take_weekly_snapshots(ctx_for(db), datetime(2026, 10, 19, 6, tzinfo=UTC))  # the job took this week
        assert bot.main(["forecast", "backfill", "--quarters", "1"]) == 0
        out = capsys.readouterr().out
        assert bot.main(["forecast", "backfill", "--quarters", "1"]) == 0
        again = capsys.readouterr().out
        assert bot.main(["forecast", "backfill", "--quarters", "0"]) == 1
        assert "--quarters is 1 to 40" in capsys.readouterr().err
    t = bot_forecast_snapshots
    with db.engine.connect() as conn:
        weeks = dict(conn.execute(select(t.c.week_of, func.count()).group_by(t.c.week_of)).all())
        sources = dict(conn.execute(select(t.c.week_of, t.c.source).distinct()).all())
    # Q3 from its first Monday (Jul 6) to Oct 19: 16 weeks, 3 people × 2 quarters each
    assert sorted(weeks) == [date(2026, 7, 6) + timedelta(weeks=k) for k in range(16)]
    assert set(weeks.values()) == {6}
    assert sources[date(2026, 10, 19)] == "job" and sources[date(2026, 7, 6)] == "backfill"
    assert "15 week(s) of 16" in out and "0 week(s) of 16" in again
