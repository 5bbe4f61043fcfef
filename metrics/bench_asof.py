"""Bench rows for the as-of questions (DESIGN §4a): the as-of pipeline four weeks ago, the waterfall from the
period's start to now, and a 13-point weekly pipeline trend, each for one rep, one team and the org, timed against
hand-written SQL that finds each deal's state by another road (a probe for its last history row per deal and
moment, where the layer reads the history once with a LEAD window)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import text

from metrics.evaluate import evaluate
from metrics.moments import end_of_day, trend_moments

_STATE = """SELECT l.id, l.owner_id, CASE WHEN l.hid IS NULL THEN o.stage ELSE h.stage END AS stage,
  CASE WHEN l.hid IS NULL THEN o.amount ELSE h.amount END AS amount,
  CASE WHEN l.hid IS NULL THEN o.close_date ELSE h.close_date END AS close_date,
  CASE WHEN l.hid IS NULL THEN o.forecast_category ELSE h.forecast_category END AS forecast_category,
  o.currency AS currency{extra}
FROM (SELECT o.id, o.owner_id{extra_inner}, (SELECT h.id FROM opportunity_history h WHERE h.opportunity_id = o.id
        AND h.changed_at <= {at} ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) AS hid
      FROM opportunities o{moments} WHERE (o.created_at IS NULL OR o.created_at <= {at}){scope}) l
JOIN opportunities o ON o.id = l.id LEFT JOIN opportunity_history h ON h.id = l.hid"""
AS_OF_QUESTIONS = ("as_of_pipeline", "waterfall", "trend_13_weekly")
_PIPE = "NOT s.is_closed AND COALESCE(x.forecast_category, s.forecast_category) <> 'omitted'"
_IN = "x.close_date BETWEEN :start AND :end"


def _x_amount(dialect: str, day: str, org_currency: str = "USD") -> str:
    """The state's amount in the org currency, written as the bench's own conversion (metrics.bench): a closed
    deal at its close date's rate, an open one at the rate of `day` (the moment's day)."""
    from metrics.bench import _org_amount

    sql = _org_amount(dialect, org_currency).replace("x.", "xr.").replace("exchange_rates x ", "exchange_rates xr ")
    for column in ("amount", "currency", "close_date"):
        sql = sql.replace(f"o.{column}", f"x.{column}")
    return sql.replace(":today", day)


def _convertible(dialect: str, day: str) -> str:
    """A deal counts unless its amount needs a rate there is not (the layer leaves it out, of counts too)."""
    return f"(x.amount IS NULL OR {_x_amount(dialect, day)} IS NOT NULL)"


def as_of_pipeline_sql(scope_sql: str, dialect: str = "sqlite") -> str:
    state = _STATE.format(at=":at", scope=scope_sql, moments="", extra="", extra_inner="")
    return (f"SELECT COUNT(*), COALESCE(SUM({_x_amount(dialect, ':day')}), 0) FROM ({state}) x "
            f"JOIN stages s ON s.name = x.stage WHERE {_IN} AND {_PIPE} AND {_convertible(dialect, ':day')}")


def trend_sql(scope_sql: str, points: int, dialect: str = "sqlite") -> str:
    day = "CAST(:day{k} AS DATE)" if dialect == "postgresql" else ":day{k}"
    moments = " UNION ALL ".join(f"SELECT {k} AS k, :at{k} AS at, {day.format(k=k)} AS day" for k in range(points))
    state = _STATE.format(at="m.at", scope=scope_sql, moments=f" CROSS JOIN ({moments}) m", extra=", l.k, l.day",
                          extra_inner=", m.k, m.day")
    return (f"SELECT x.k, COALESCE(SUM(CASE WHEN {_IN} AND {_PIPE} AND {_convertible(dialect, 'x.day')} "
            f"THEN {_x_amount(dialect, 'x.day')} END), 0) FROM ({state}) x "
            "JOIN stages s ON s.name = x.stage GROUP BY x.k ORDER BY x.k")


def waterfall_sql(scope_sql: str, dialect: str = "sqlite") -> str:
    """Each moment's states, flagged, joined per deal; an amount with no rate on its day counts as 0 there."""
    one, two = (_STATE.format(at=at, scope=scope_sql, moments="", extra="", extra_inner="") for at in (":at1", ":at2"))
    flags = ("SELECT x.id, COALESCE({amount}, 0) AS amount, "
             f"CASE WHEN {_IN} AND {_PIPE} THEN 1 ELSE 0 END AS pipe, "
             f"CASE WHEN {_IN} AND s.is_closed AND s.is_won THEN 1 ELSE 0 END AS won_in, "
             f"CASE WHEN {_IN} AND s.is_closed AND NOT s.is_won THEN 1 ELSE 0 END AS lost_in, "
             "CASE WHEN s.is_closed AND s.is_won THEN 1 ELSE 0 END AS won_any, "
             "CASE WHEN s.is_closed AND NOT s.is_won THEN 1 ELSE 0 END AS lost_any, "
             f"CASE WHEN {_IN} THEN 1 ELSE 0 END AS in_window FROM ({{}}) x JOIN stages s ON s.name = x.stage")
    per_deal = (f"SELECT b.amount AS a2, COALESCE(a.amount, 0) AS a1, CASE WHEN a.id IS NULL THEN 0 ELSE 1 END AS e1, "
                "COALESCE(a.pipe, 0) AS p1, b.pipe AS p2, "
                "CASE WHEN b.won_in = 1 AND COALESCE(a.won_any, 0) = 0 THEN 1 ELSE 0 END AS won, "
                "CASE WHEN b.lost_in = 1 AND COALESCE(a.lost_any, 0) = 0 THEN 1 ELSE 0 END AS lost, b.in_window "
                f"FROM ({flags.format(two, amount=_x_amount(dialect, ':day2'))}) b "
                f"LEFT JOIN ({flags.format(one, amount=_x_amount(dialect, ':day1'))}) a ON a.id = b.id")
    entered = "(d.p1 = 0 AND (d.p2 = 1 OR d.won = 1 OR d.lost = 1))"
    gone = "(d.p1 = 1 AND d.p2 = 0 AND d.won = 0 AND d.lost = 0)"
    sums = [
        "SUM(CASE WHEN d.p1 = 1 THEN d.a1 ELSE 0 END)",
        f"SUM(CASE WHEN {entered} AND d.e1 = 0 THEN d.a2 ELSE 0 END)",
        f"SUM(CASE WHEN {entered} AND d.e1 = 1 THEN d.a2 ELSE 0 END)",
        "SUM(CASE WHEN d.p1 = 1 AND d.a2 > d.a1 THEN d.a2 - d.a1 ELSE 0 END)",
        "SUM(CASE WHEN d.p1 = 1 AND d.a2 < d.a1 THEN d.a1 - d.a2 ELSE 0 END)",
        f"SUM(CASE WHEN {gone} AND d.in_window = 0 THEN d.a2 ELSE 0 END)",
        "SUM(CASE WHEN d.won = 1 THEN d.a2 ELSE 0 END)",
        "SUM(CASE WHEN d.lost = 1 THEN d.a2 ELSE 0 END)",
        f"SUM(CASE WHEN {gone} AND d.in_window = 1 THEN d.a2 ELSE 0 END)",
        "SUM(CASE WHEN d.p2 = 1 THEN d.a2 ELSE 0 END)",
    ]
    return f"SELECT {', '.join(f'COALESCE({x}, 0)' for x in sums)} FROM ({per_deal}) d"


def _stamp(moment: datetime, dialect: str):
    """A moment as the database compares it (SQLite: naive UTC text, as db.types.UTCDateTime stores it)."""
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else utc


def _day(moment: datetime, dialect: str):
    """The moment's day as given (its exchange-rate day), as the database compares dates."""
    return moment.date().isoformat() if dialect == "sqlite" else moment.date()


def _cents(values) -> list[Decimal]:
    return [Decimal(str(v)).quantize(Decimal("0.01")) for v in values]


def as_of_rows(conn, settings, period, today, scopes, scope_sql, params, runs, timed, p95, row_type) -> list:
    """BenchRows for the three as-of questions, answers compared to the cent."""
    from metrics.bench import NO_CACHE

    tz, dialect = settings.tz, conn.dialect.name
    now = datetime.now(UTC)
    four_weeks = end_of_day(today.fromordinal(today.toordinal() - 28), tz)
    points = trend_moments("weekly", 13, now, tz)
    first = min(datetime.combine(period.start, time.min, tzinfo=tz), now)
    second = min(now, end_of_day(period.end, tz))
    questions = {
        "as_of_pipeline": (four_weeks, lambda s: as_of_pipeline_sql(s, dialect),
                           {"at": _stamp(four_weeks, dialect), "day": _day(four_weeks, dialect)}),
        "waterfall": ((first, second), lambda s: waterfall_sql(s, dialect),
                      {"at1": _stamp(first, dialect), "at2": _stamp(second, dialect),
                       "day1": _day(first, dialect), "day2": _day(second, dialect)}),
        "trend_13_weekly": (points, lambda s: trend_sql(s, len(points), dialect),
                            {**{f"at{k}": _stamp(m, dialect) for k, m in enumerate(points)},
                             **{f"day{k}": _day(m, dialect) for k, m in enumerate(points)}}),
    }
    rows = []
    for name, (moments, sql_of, stamps) in questions.items():
        metric = "waterfall" if name == "waterfall" else "pipeline"
        for scope_name, scope in scopes.items():
            statement = text(sql_of(scope_sql[scope_name]))
            values = {**params, **stamps, "rep": scope.rep_id}

            def layer(metric=metric, scope=scope, moments=moments):
                result = evaluate(conn, metric, period, scope, today=today, cache=NO_CACHE, as_of=moments,
                                  fiscal_start_month=settings.fiscal_year_start_month)
                return _cents(r["value"] for r in result.rows)

            def hand(statement=statement, values=values, name=name):
                result = conn.execute(statement, values).all()
                if name == "waterfall":
                    return _cents(result[0])
                if name == "trend_13_weekly":
                    return _cents(r[1] for r in result)
                return _cents([result[0][1]])

            layer(), hand()
            lt, lv = timed(layer, runs)
            ht, hv = timed(hand, runs)
            difference = None if lv == hv else f"layer {lv}, hand-written SQL {hv}"
            rows.append(row_type(name, scope_name, statistics.median(lt), p95(lt), statistics.median(ht), p95(ht),
                                 statistics.median(lt) / max(statistics.median(ht), 1e-6),
                                 p95(lt) / max(p95(ht), 1e-6), difference is None, difference))
    return rows

