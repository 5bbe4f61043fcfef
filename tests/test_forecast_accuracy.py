"""Forecast accuracy (README "Forecast accuracy"), on both databases: a hand-worked quarter (commit, best case and a
submitted call against the actual, A = 0 said in words), an independent pandas rebuild at generated points, the
stored snapshot read when there is one, and `metrics forecast_accuracy --format json` through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, update

import bot
from config import load_settings
from db.schema import bot_forecast_calls, bot_forecast_snapshots, reps
from errors import UserError
from metrics.accuracy_trail import trailing_accuracy, within_line
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.scopes import Scope
from scheduler.digest_content import DigestBuilder
from scheduler.forecast_snapshots import take_weekly_snapshots
from tests.asof_oracle import History, figures_at, in_window, money, open_pipeline
from tests.test_digest_content import message_text, person
from tests.test_forecast_snapshots import Q4, cli_env, ctx_for
from tests.test_metrics_asof import BASE, HALF_DAY, load, state

D = Decimal
AFTER_Q4 = date(2027, 1, 15)
MIDPOINT = datetime(2026, 11, 9, 6, tzinfo=UTC)  # Q4's middle day is Sunday Nov 15: that week's Monday 06:00 UTC
Q4_END = datetime(2027, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)

# (owner, created slot, [(slot after creation, (stage, amount, close day from Oct 1, category))]); a slot is 12 h
# from Sep 20 00:00 UTC, so slot 100 is Nov 8 00:00 and the midpoint falls between slots 100 and 101.
HAND = [
    ("Ann", 0, [(0, ("Negotiation", 1000, 70, None)), (140, ("Closed Won", 1000, 70, None))], None),  # commit, won
    ("Ann", 0, [(0, ("Proposal", 500, 80, None)), (150, ("Closed Lost", 500, 80, None))], None),  # best case, lost
    ("Ann", 0, [(0, ("Negotiation", 300, 60, None)), (130, ("Negotiation", 300, 111, None))], None),  # pushed out
    ("Ann", 110, [(0, ("Closed Won", 400, 61, None))], None),  # created after the midpoint, won
    ("Ann", 0, [(0, ("Closed Won", 200, 14, None))], None),  # won before the midpoint
    ("Bob", 0, [(0, ("Negotiation", 800, 50, None)), (120, ("Closed Lost", 800, 50, None))], None),  # A = 0
]


def accuracy(conn, scope: Scope, *, by=(), as_of=None, today=AFTER_Q4) -> list[dict]:
    return evaluate(conn, "forecast_accuracy", Q4, scope, by=by, today=today, as_of=as_of,
                    cache=ResultCache()).rows


@pytest.fixture
def calls_table(db):
    """`bot_forecast_calls`, where forecast calls are kept (scheduler/forecast_calls.py)."""
    return bot_forecast_calls


def test_accuracy_worked_by_hand(db, calls_table):
    ids = load(db, HAND)
    with db.engine.begin() as conn:
        for amount, day in (("1700.00", 3), ("1400.00", 10)):  # Nov 3 (in force at the midpoint), Nov 10 (after)
            conn.execute(calls_table.insert(), {
                "rep_id": ids["Ann"], "scope": "rep", "period_start": Q4.start, "period_end": Q4.end,
                "week_of": date(2026, 11, 2), "commit_amount": D(amount), "best_case_amount": D(amount),
                "submitted_at": datetime(2026, 11, day, 9, tzinfo=UTC), "late": False})
    with db.engine.connect() as conn:
        ann = accuracy(conn, Scope("rep", "Ann", rep_id=ids["Ann"]))[0]
        bob = accuracy(conn, Scope("rep", "Bob", rep_id=ids["Bob"]))[0]
        org = accuracy(conn, Scope("org", "org"))[0]
        tree = accuracy(conn, Scope("tree", "Mgr's team", rep_id=ids["Mgr"]))[0]
        by_owner = {r["owner"]: r for r in accuracy(conn, Scope("org", "org"), by="owner")}
    # Ann: F = 200 won + 1,000 + 300 commit = 1,500; best case + 500 = 2,000; A = 1,000 + 400 + 200 = 1,600
    assert (ann["forecast"], ann["best_case"], ann["actual"]) == (D("1500.00"), D("2000.00"), D("1600.00"))
    assert ann["value"] == D("0.9375") and ann["bias"] == D("-0.0625")  # 1 − 100/1,600
    assert ann["best_case_accuracy"] == D("0.7500") and ann["best_case_bias"] == D("0.2500")
    assert ann["call"] == D("1700.00") and ann["call_accuracy"] == D("0.9375") and ann["call_bias"] == D("0.0625")
    assert ann["as_of"] == MIDPOINT and "note" not in ann
    # Bob lost everything: A = 0, said in words, no division
    assert bob["forecast"] == D("800.00") and bob["actual"] == D("0.00")
    assert bob["value"] is None and bob["bias"] is None and "A = 0" in bob["note"]
    # the org: F = 1,500 + 800 = 2,300 against 1,600
    assert org["value"] == D("0.5625") and org["bias"] == D("0.4375") and org["call_accuracy"] is None
    assert tree["value"] == D("0.9375")  # Mgr's tree is Mgr (no deals) and Ann; Mgr made no call
    assert by_owner["Ann"]["call_accuracy"] == D("0.9375") and by_owner["Bob"]["value"] is None


def test_accuracy_reads_the_stored_snapshot_of_the_midpoint(db):
    ids = load(db, HAND)
    take_weekly_snapshots(ctx_for(db), MIDPOINT + timedelta(hours=1))
    t = bot_forecast_snapshots
    with db.engine.connect() as conn:
        rebuilt = accuracy(conn, Scope("rep", "Ann", rep_id=ids["Ann"]))[0]
    assert rebuilt["forecast"] == D("1500.00")  # the stored week says what the rebuild says
    with db.engine.begin() as conn:  # a stored figure is what the answer reads (here made different on purpose)
        conn.execute(update(t).where(t.c.rep_id == ids["Ann"], t.c.period_start == Q4.start)
                     .values(commit_amount=D("1200.00"), best_case_amount=D("1600.00")))
    with db.engine.connect() as conn:
        stored = accuracy(conn, Scope("rep", "Ann", rep_id=ids["Ann"]))[0]
    assert stored["forecast"] == D("1200.00") and stored["value"] == D("0.7500")
    assert stored["best_case_accuracy"] == D("1.0000")


def test_accuracy_of_an_unfinished_period_is_refused(db):
    load(db, HAND)
    with db.engine.connect() as conn, pytest.raises(UserError, match="finished period"):
        accuracy(conn, Scope("org", "org"), today=date(2026, 12, 1))


def pandas_accuracy(history: History, point: datetime, owners: set[int] | None) -> dict:
    """F (commit and best case at the point) and A (closed won at Q4's end) from the pandas states."""
    at_point, at_end = history.states(point), history.states(Q4_END)
    commit = figures_at(at_point, Q4.start, Q4.end, owners)["commit"]
    mine = at_point if owners is None else at_point[at_point["owner_id"].isin(owners)]
    pipe = open_pipeline(mine, Q4.start, Q4.end)
    best = commit + money(pipe[pipe["category"] == "best_case"]["amount"])
    ends = at_end if owners is None else at_end[at_end["owner_id"].isin(owners)]
    actual = money(ends[in_window(ends, Q4.start, Q4.end) & ends["is_won"]]["amount"])
    out = {"forecast": commit, "actual": actual, "best_case": best}
    if actual > 0:  # README: no accuracy when the actual is zero or negative
        out.update(value=(1 - abs(commit - actual) / actual).quantize(D("0.0001")),
                   bias=((commit - actual) / actual).quantize(D("0.0001")),
                   best_case_accuracy=(1 - abs(best - actual) / actual).quantize(D("0.0001")))
    else:
        out.update(value=None, bias=None, best_case_accuracy=None)
    return out


# deals whose history runs into the quarter: created in the first 40 days, changes up to 60 days after that
late_deal = st.tuples(st.sampled_from(["Ann", "Bob", "Mgr"]), st.integers(0, 80),
                      st.one_of(st.none(), st.lists(st.tuples(st.integers(0, 120), state), min_size=1, max_size=4)),
                      state)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(late_deal, max_size=10), point_slot=st.integers(0, 200))
def test_accuracy_matches_pandas(db, deals, point_slot):
    ids = load(db, deals)
    point = BASE + point_slot * HALF_DAY
    scopes = {"org": (Scope("org", "org"), None), "rep": (Scope("rep", "Ann", rep_id=ids["Ann"]), {ids["Ann"]}),
              "tree": (Scope("tree", "Mgr's team", rep_id=ids["Mgr"]), {ids["Mgr"], ids["Ann"]})}
    with db.engine.connect() as conn:
        history = History(conn)
        for name, (scope, owners) in scopes.items():
            row = accuracy(conn, scope, as_of=point)[0]
            expected = pandas_accuracy(history, point, owners)
            assert {k: row[k] for k in expected} == expected, name


def test_metrics_forecast_accuracy_json(db, monkeypatch, capsys):
    load(db, HAND)
    cli_env(db, monkeypatch)
    with time_machine.travel(datetime(2027, 1, 15, 12, tzinfo=UTC), tick=False):
        assert bot.main(["metrics", "forecast_accuracy", "--period", "last quarter", "--format", "json"]) == 0
        out = json.loads(capsys.readouterr().out, parse_float=Decimal)
        assert bot.main(["metrics", "forecast_accuracy", "--period", "last quarter", "--as-of", "2026-10-14",
                         "--format", "json"]) == 0
        early = json.loads(capsys.readouterr().out, parse_float=Decimal)
        assert bot.main(["metrics", "forecast_accuracy", "--period", "this quarter"]) == 1
        assert "finished period" in capsys.readouterr().err
    row = out["rows"][0]
    assert out["metric"] == "forecast_accuracy" and out["period"]["start"] == "2026-10-01"
    assert list(row)[:6] == ["value", "forecast", "actual", "bias", "best_case_accuracy", "call_accuracy"]
    assert (row["value"], row["forecast"], row["actual"], row["bias"]) == (
        D("0.5625"), 2300, 1600, D("0.4375"))
    # as of the end of Oct 14 (UTC): Ann's won 200 and commits 1,000 + 300, Bob's 800: the same 2,300
    assert early["rows"][0]["forecast"] == 2300 and early["rows"][0]["as_of"].startswith("2026-10-14T23:59:59")


def test_trailing_error_and_the_exec_digest_line(db):
    """Over the four quarters before Jan 15, 2027 only Q4 2026 had closed won: |2,300 − 1,600| / 1,600 = 43.75%."""
    load(db, HAND)
    with db.engine.begin() as conn:
        erin = conn.execute(insert(reps).returning(reps.c.id), {"external_id": "erin", "name": "Erin Exec",
                                                                "role": "exec", "email": "erin@example.com"})
        erin_id = erin.scalar_one()
    with db.engine.connect() as conn:
        trail = trailing_accuracy(conn, Scope("org", "org"), AFTER_Q4)
    assert [q.label for q, _ in trail.quarters] == [f"Q{n} FY2026" for n in (1, 2, 3, 4)]
    assert [row["actual"] for _, row in trail.quarters] == [D("0.00")] * 3 + [D("1600.00")]
    assert trail.mape == D("0.4375") and trail.within == D("0.4375")
    line = "Commit at mid-quarter has been within ±44% of actual over the last quarter"
    assert within_line(trail) == line
    digest = DigestBuilder(db.engine, load_settings({})).build(
        person(db.engine, erin_id), "exec_digest", AFTER_Q4, datetime(2027, 1, 15, 16, tzinfo=UTC),
        datetime(2027, 1, 8, 16, tzinfo=UTC))
    assert line in message_text(digest.message)
