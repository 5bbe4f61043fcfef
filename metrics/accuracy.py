"""Forecast accuracy for a finished period (DESIGN §4a): the forecast F at a point against the actual A.

F is the system's commit roll-up (closed + commit), its best-case roll-up (commit + best case) and, where one was
submitted by then, the person's forecast call, all as they stood at the point; A is the closed won of the period
as it stood at the period's end (the end of its last day, UTC). accuracy = 1 − |F − A| / A, bias = (F − A) / A;
with A = 0 both are undefined and the row says so.

The default point is the period's midpoint as the weekly snapshots see it: the snapshot moment (Monday 06:00 UTC,
metrics.forecast_snapshots) of the week holding the period's middle day. A stored snapshot of the scope's person
at that moment is read as it is; otherwise the figures are rebuilt from history (metrics.asof), the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Connection, column, inspect, select, table

from db.schema import bot_forecast_snapshots as snaps
from db.schema import reps
from errors import UserError
from i18n import _
from metrics.asof import as_of_query
from metrics.compile import DIM_PREFIX, Window, deal_query
from metrics.forecast_snapshots import week_moment
from metrics.model import as_decimal
from metrics.periods import Period, day_after_start, format_day
from metrics.scopes import Scope

MEASURES = ("won_amount", "commit_amount", "best_case_amount")
PLACES = Decimal("0.0001")
CENT = Decimal("0.01")
# Forecast calls live in `bot_forecast_calls` (scheduler.forecast_calls); read by name, so accuracy works with or
# without that table, and the metrics layer does not import the scheduler.
CALLS = table("bot_forecast_calls", column("rep_id"), column("scope"), column("period_start"),
              column("commit_amount"), column("submitted_at"))


def midpoint(period: Period) -> datetime:
    """The snapshot moment of the week holding the period's middle day."""
    middle = period.start + timedelta(days=(period.days - 1) // 2)
    return week_moment(datetime.combine(middle, time.max, tzinfo=UTC))


def period_end_moment(period: Period) -> datetime:
    return day_after_start(period.end) - timedelta(microseconds=1)


def weekly_moments(period: Period) -> list[datetime]:
    """The snapshot moments (Mondays 06:00 UTC) inside the period."""
    moment = week_moment(datetime.combine(period.end, time.max, tzinfo=UTC))
    out = []
    while moment.date() >= period.start:
        out.append(moment)
        moment -= timedelta(weeks=1)
    return out[::-1]


def ratio(forecast: Decimal | None, actual: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """(accuracy, bias) of a forecast against the actual; (None, None) without a forecast or when A ≤ 0 (a
    negative closed-won total — refunds, bad data — has no meaningful accuracy: 1 − |F − A| / A would exceed 1)."""
    if forecast is None or actual <= 0:
        return None, None
    bias = (forecast - actual) / actual
    return (1 - abs(bias)).quantize(PLACES), bias.quantize(PLACES)


def _roll_ups(sums: dict) -> tuple[Decimal, Decimal, Decimal]:
    """(closed won, commit roll-up, best-case roll-up) from the summed measures."""
    won = as_decimal(sums.get("won_amount") or 0)
    commit = won + as_decimal(sums.get("commit_amount") or 0)
    return won, commit, commit + as_decimal(sums.get("best_case_amount") or 0)


def stored_snapshot(conn: Connection, scope: Scope, period: Period, moment: datetime) -> dict | None:
    """The stored snapshot of the scope's person (a rep's own, a manager's tree) for the period at `moment`."""
    if scope.kind not in ("rep", "tree"):
        return None
    row = conn.execute(select(snaps.c.commit_amount, snaps.c.best_case_amount).where(
        snaps.c.rep_id == scope.rep_id, snaps.c.scope == scope.kind, snaps.c.period_start == period.start,
        snaps.c.taken_at == moment)).first()
    return None if row is None else {"commit": as_decimal(row.commit_amount),
                                     "best_case": as_decimal(row.best_case_amount)}


def latest_calls(conn: Connection, rep_ids: list[int], scope_kind: str, period: Period, moment: datetime
                 ) -> dict[int, Decimal]:
    """Each person's latest forecast call for the period submitted by `moment` (none without the calls table)."""
    if not rep_ids or not inspect(conn).has_table("bot_forecast_calls"):
        return {}
    rows = conn.execute(select(CALLS.c.rep_id, CALLS.c.commit_amount).where(
        CALLS.c.rep_id.in_(rep_ids), CALLS.c.scope == scope_kind, CALLS.c.period_start == period.start,
        CALLS.c.submitted_at <= moment).order_by(CALLS.c.submitted_at))
    return {r.rep_id: as_decimal(r.commit_amount) for r in rows}  # the last one wins


def _call_ids(conn: Connection, scope: Scope, dims: tuple[str, ...], keys: list[tuple]) -> dict[tuple, int]:
    """Which person's call stands beside each row: the scope's person, or each owner by name."""
    if not dims and scope.kind in ("rep", "tree"):
        return {(): scope.rep_id}
    if dims == ("owner",):
        names = [k[0] for k in keys]
        found = conn.execute(select(reps.c.name, reps.c.id).where(reps.c.name.in_(names))).all()
        counts = defaultdict(int)
        for name, _rep in found:
            counts[name] += 1
        return {(name,): rep_id for name, rep_id in found if counts[name] == 1}
    return {}


def run_accuracy(conn, ctx, period: Period, scope: Scope, dims, today, cache, run_query, moments=None):
    if moments and len(moments) > 1:
        raise UserError(_("Forecast accuracy is measured at one point: give one --as-of, not a trend."))
    if period.end >= today:
        raise UserError(_("Forecast accuracy is for a finished period, and {period} ends {date}: ask for last "
                          "quarter, or an earlier one.").format(period=period.label, date=format_day(period.end)))
    point = moments[0] if moments else midpoint(period)
    end = period_end_moment(period)
    snapshot = None if dims else stored_snapshot(conn, scope, period, point)
    wanted = (end,) if snapshot is not None else (point, end)
    query = as_of_query(conn, deal_query(ctx, MEASURES, Window(period.start, period.end, today), scope, dims), scope,
                        wanted)
    at: dict[tuple, dict] = defaultdict(dict)
    for row in run_query(conn, query, cache):
        moment = row.get("as_of", wanted[0])
        at[tuple(row.get(DIM_PREFIX + d) for d in dims)][moment] = row
    keys = list(at) or ([()] if not dims else [])
    call_ids = _call_ids(conn, scope, dims, keys)
    calls = latest_calls(conn, sorted(set(call_ids.values())), "rep" if dims else scope.kind, period, point)
    rows = []
    for key in keys:
        actual = _roll_ups(at[key].get(end, {}))[0]
        if snapshot is not None:
            commit, best = snapshot["commit"], snapshot["best_case"]
        else:
            _total, commit, best = _roll_ups(at[key].get(point, {}))
        call = calls.get(call_ids.get(key))
        acc, bias = ratio(commit, actual)
        best_acc, best_bias = ratio(best, actual)
        call_acc, call_bias = ratio(call, actual)
        row = dict(zip(dims, key, strict=True))
        row.update(value=acc, forecast=commit.quantize(CENT), actual=actual.quantize(CENT), bias=bias,
                   best_case_accuracy=best_acc, call_accuracy=call_acc, best_case=best.quantize(CENT),
                   best_case_bias=best_bias, call=None if call is None else call.quantize(CENT),
                   call_bias=call_bias, as_of=point, actual_as_of=end)
        if actual == 0:
            row["note"] = "no closed won in the period: accuracy and bias are undefined (A = 0)"
        elif actual < 0:
            row["note"] = "closed won in the period is negative: accuracy and bias are undefined (A < 0)"
        rows.append(row)
    return [query], rows
