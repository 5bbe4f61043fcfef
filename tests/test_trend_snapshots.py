"""Trends read the weekly snapshots where they hold the point and rebuild the rest from history
(metrics/trend_snapshots.py), on both databases: a snapshot-backed point equals the as-of rebuild of that week's
end; a point whose week moved between its end and the snapshot, or with no snapshot near, is rebuilt; deleting a
week's snapshots leaves a gap the rebuild fills with the same figures; a snapshot-backed point is read from the
stored row (a row changed by hand shows through); counts and the pipeline category come from the snapshot too,
and a row stored without them is rebuilt for the metrics that need them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, update

from db.schema import bot_forecast_snapshots as snaps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.moments import end_of_day
from metrics.scopes import Scope
from metrics.trend_snapshots import evaluate_trend
from scheduler.forecast_snapshots import take_weekly_snapshots
from tests.test_forecast_snapshots import MONDAYS, Q4, add_quotas, ctx_for
from tests.test_metrics_asof import load

TODAY = date(2026, 12, 1)
# the ends (UTC) of the Sundays Sep 27 .. Oct 18; snapshots are taken on the Mondays Sep 21 .. Oct 12, 06:00 UTC
POINTS = tuple(end_of_day(date(2026, 9, 27) + timedelta(weeks=k), UTC) for k in range(4))
DEALS = [
    # won at Oct 5 00:00: between the end of Oct 4 and that Monday's snapshot, so Oct 4 is rebuilt
    ("Ann", 0, [(0, ("Negotiation", 1000, 20, None)), (30, ("Closed Won", 1200, 25, None))], None),
    ("Ann", 4, [(0, ("Proposal", 400, 50, "commit"))], None),  # created Sep 22
    ("Bob", 0, None, ("Proposal", 250, 30, None)),
    # moved on Oct 15 12:00: after the last snapshot (Oct 12), before the end of Oct 18 (no snapshot is near)
    ("Mgr", 1, [(0, ("Prospecting", 700, 100, None)), (50, ("Qualification", 900, 5, None))], None),
]
METRICS = (("pipeline", "value"), ("pipeline", "open_count"), ("forecast", "value"), ("forecast", "closed"),
           ("forecast", "best_case"), ("forecast", "pipeline"), ("forecast", "quota"), ("attainment", "value"),
           ("weighted_pipeline", "value"), ("win_rate", "value"), ("win_rate", "won_count"),
           ("win_rate", "lost_count"), ("closed_won", "won_count"), ("cycle_days", "value"))


def trend(conn, name: str, scope: Scope) -> list[dict]:
    return evaluate_trend(conn, name, Q4, scope, POINTS, today=TODAY, cache=ResultCache()).rows


def rebuilt(conn, name: str, scope: Scope, moment: datetime) -> dict:
    return evaluate(conn, name, Q4, scope, today=TODAY, as_of=moment, cache=ResultCache()).rows[0]


def test_snapshot_points_equal_the_rebuild_and_gaps_are_filled(db):
    ids = load(db, DEALS)
    add_quotas(db, ids)
    for monday in MONDAYS:
        take_weekly_snapshots(ctx_for(db), monday + timedelta(minutes=1))
    ann, mgr = Scope("rep", "Ann", rep_id=ids["Ann"]), Scope("tree", "Mgr's team", rep_id=ids["Mgr"])
    with db.engine.connect() as conn:
        for scope in (ann, mgr):
            for name, key in METRICS:
                rows = trend(conn, name, scope)
                assert [r["as_of"] for r in rows] == list(POINTS)
                for row in rows:
                    assert row[key] == rebuilt(conn, name, scope, row["as_of"])[key], (scope.label, name, key)
                sources = [r["source"] for r in rows]
                # Mgr's deal moved on Oct 15: Mgr's tree is rebuilt at Oct 18, Ann's own figures did not move
                last = "snapshot" if scope is ann else "history"
                assert sources == (["history"] * 4 if name == "cycle_days" else
                                   ["snapshot", "history", "snapshot", last]), (scope.label, name)
        org = trend(conn, "pipeline", Scope("org", "org"))
        assert {r["source"] for r in org} == {"history"}  # snapshots are per person: the org is rebuilt

        before = trend(conn, "forecast", ann)
    with db.engine.begin() as conn:  # the week of Sep 28 was never taken: Sep 27 is a gap the rebuild fills
        conn.execute(delete(snaps).where(snaps.c.week_of == date(2026, 9, 28)))
        conn.execute(update(snaps).where(snaps.c.week_of == date(2026, 10, 12), snaps.c.rep_id == ids["Ann"],
                                         snaps.c.period_start == Q4.start).values(commit_amount=123456))
    with db.engine.connect() as conn:
        after = trend(conn, "forecast", ann)
    assert after[0]["source"] == "history" and after[0]["value"] == before[0]["value"]
    assert after[2]["source"] == "snapshot" and str(after[2]["value"]) == "123456.00"  # read from the row


def test_a_snapshot_row_without_counts_is_rebuilt_for_the_metrics_that_need_them(db):
    """A row stored before the counts were kept (NULL, as migration 0011 leaves old rows) still gives the money
    trends; the trends that need a count (open deals of pipeline and weighted pipeline, win rate) or the pipeline
    category (forecast) rebuild that point from history, with the same figures."""
    ids = load(db, DEALS)
    add_quotas(db, ids)
    for monday in MONDAYS:
        take_weekly_snapshots(ctx_for(db), monday + timedelta(minutes=1))
    ann = Scope("rep", "Ann", rep_id=ids["Ann"])
    with db.engine.begin() as conn:
        conn.execute(update(snaps).where(snaps.c.week_of == date(2026, 9, 28)).values(
            open_count=None, won_count=None, lost_count=None, pipeline_category_amount=None))
    with db.engine.connect() as conn:
        for name, source in (("attainment", "snapshot"), ("weighted_pipeline", "history"), ("pipeline", "history"),
                             ("win_rate", "history"), ("forecast", "history")):
            rows = trend(conn, name, ann)
            assert rows[0]["source"] == source, name
            assert rows[0]["value"] == rebuilt(conn, name, ann, POINTS[0])["value"], name
