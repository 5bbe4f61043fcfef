"""Trends: a metric as of the end of each of the last N weeks or months, against the pandas rebuild at each point
(tests/asof_oracle.py), and `python bot.py metrics … --as-of D`, `--trend weekly --points 13` and
`metrics waterfall --format json` on the small org."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from db.schema import quotas
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.moments import end_of_day, trend_moments
from metrics.scopes import Scope
from tests.asof_oracle import History, figures_at
from tests.factories import Factory
from tests.test_cli import as_json, cli, metrics  # noqa: F401  (the CLI fixtures)
from tests.test_metrics_asof import BASE, HALF_DAY, Q4, deal, load, snapshot_cut


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=10), slots=st.lists(st.integers(0, 30), min_size=2, max_size=5, unique=True),
       cut=snapshot_cut)
def test_trend_points_match_pandas(db, deals, slots, cut):
    ids = load(db, deals, cut=cut)
    with db.engine.begin() as conn:
        conn.execute(insert(quotas), {"rep_id": ids["Ann"], "period_start": Q4.start, "period_end": Q4.end,
                                      "amount": Decimal("2000")})
    moments = tuple(BASE + s * HALF_DAY for s in sorted(slots))
    ann = Scope("rep", "Ann", rep_id=ids["Ann"])
    with db.engine.connect() as conn:
        history = History(conn)

        def trend(metric: str, scope: Scope) -> list[dict]:
            rows = evaluate(conn, metric, Q4, scope, today=date(2026, 12, 1), as_of=moments,
                            cache=ResultCache()).rows
            assert [r["as_of"] for r in rows] == list(moments)
            return rows

        pipeline, forecast = trend("pipeline", Scope("org", "org")), trend("forecast", ann)
        attainment = trend("attainment", ann)
        for i, moment in enumerate(moments):
            states = history.states(moment)
            org, mine = figures_at(states, Q4.start, Q4.end, None), figures_at(states, Q4.start, Q4.end,
                                                                               {ids["Ann"]})
            assert pipeline[i]["value"] == org["pipeline"]
            assert forecast[i]["value"] == mine["commit"] and forecast[i]["quota"] == Decimal("2000.00")
            assert attainment[i]["value"] == (mine["closed_won"] / 2000).quantize(Decimal("0.0001"))


def test_trend_moments_are_week_and_month_ends():
    tz = ZoneInfo("America/New_York")
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday
    weekly = trend_moments("weekly", 3, now, tz)
    assert weekly == (end_of_day(date(2026, 11, 22), tz), end_of_day(date(2026, 11, 29), tz), now)
    monthly = trend_moments("monthly", 3, now, tz)
    assert monthly == (end_of_day(date(2026, 10, 31), tz), end_of_day(date(2026, 11, 30), tz), now)


def test_cli_as_of_trend_and_waterfall(db, metrics):  # noqa: F811  (the fixture imported above)
    """The small org (tests/orgs.py) as it stood at the end of Oct 1 and at the end of each of the last 13 weeks,
    against the pandas rebuild; the waterfall's JSON rows."""
    Factory(db.engine).deal(metrics.org["A"], "Proposal", 5000, date(2026, 12, 15), created=date(2026, 11, 10))
    code, out, err = metrics("metrics", "pipeline", "--as-of", "2026-10-01", "--period", "this quarter",
                             "--format", "json")
    assert code == 0, err
    doc = as_json(out)
    oct1 = end_of_day(date(2026, 10, 1), UTC)
    with db.engine.connect() as conn:
        history = History(conn)
        assert doc["rows"][0]["value"] == figures_at(history.states(oct1), Q4.start, Q4.end, None)["pipeline"]
        assert datetime.fromisoformat(doc["as_of"]) == oct1

        code, out, err = metrics("metrics", "pipeline", "--trend", "weekly", "--points", "13", "--format", "json")
        assert code == 0, err
        rows = as_json(out)["rows"]
        assert len(rows) == 13
        for row in rows:
            at = datetime.fromisoformat(row["as_of"])
            assert row["value"] == figures_at(history.states(at), Q4.start, Q4.end, None)["pipeline"], at
        assert len({r["value"] for r in rows}) == 2  # the deal created on Nov 10 is there from that week on

    code, out, err = metrics("metrics", "waterfall", "--format", "json")
    assert code == 0, err
    buckets = {r["bucket"]: Decimal(str(r["value"])) for r in as_json(out)["rows"]}
    assert list(buckets) == ["start", "created", "pulled_in", "increased", "decreased", "pushed_out", "won", "lost",
                             "other_out", "end"]
    assert buckets["start"] + buckets["created"] + buckets["pulled_in"] + buckets["increased"] - \
        buckets["decreased"] - buckets["pushed_out"] - buckets["won"] - buckets["lost"] - buckets["other_out"] == \
        buckets["end"]

    code, out, err = metrics("metrics", "pipeline", "--as-of", "2027-03-01")
    assert code == 1 and "future" in err and "Traceback" not in err
