"""Trends read the weekly forecast snapshots where they hold the point, as-of rebuilds fill the gaps (DESIGN §4a:
"Snapshots are what the trend and accuracy answers read when they exist; as-of rebuilds fill any gap").

A trend point is a moment P (the end of a week or month, metrics.moments); a snapshot is taken at T, a Monday
06:00 UTC (metrics.forecast_snapshots). The snapshot stands for P when it is the same person's (a rep's own row for
a rep scope, the manager's tree row for a tree scope), of the same quarter, its T is the stored moment nearest P
(within a week), and nothing the figures depend on moved between P and T: no history row of a deal in scope and no
deal created in scope in (min(P, T), max(P, T)]. Then the deal states at P and at T are the same rows (metrics.asof
reads each deal's last history row at or before the moment) and the snapshot's figures are the rebuild's. The
snapshot converts open deals at the rate of its week and the rebuild at today's, so a scope holding deals in
another currency than the org's reads history only. A snapshot holds the money figures, the counts of open, won
and lost deals and the amount forecast as pipeline; metrics needing another measure (cycle days, lost amounts…)
and breakdowns read history only, and so does a point whose snapshot row was stored before the counts were kept
(they are NULL there until `forecast backfill` fills them).

Each row says where it came from: `source` is "snapshot" or "history".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, literal, or_, select, union_all

from db.schema import bot_forecast_snapshots as snaps
from db.schema import opportunity_history
from metrics.evaluate import MetricResult, _output_row, evaluate, in_currency, metric_definition
from metrics.model import Metric, as_decimal, o
from metrics.periods import Period
from metrics.scopes import Scope

NEAREST = timedelta(weeks=1)
# The raw measures a snapshot row gives (the names the compiled metric queries use).
FROM_SNAPSHOT = ("won_amount", "open_amount", "weighted_amount", "commit_amount", "best_case_amount",
                 "pipeline_category_amount", "open_count", "won_count", "lost_count")
# Kept since migration 0011: NULL in rows stored before it.
LATER = ("pipeline_category_amount", "open_count", "won_count", "lost_count")


def _raw(row) -> dict:
    """A snapshot row as the measures a compiled metric query returns (None where the row holds no count)."""
    won, commit, best = (as_decimal(row.closed_won), as_decimal(row.commit_amount), as_decimal(row.best_case_amount))
    raw = {"won_amount": won, "open_amount": as_decimal(row.pipeline_amount),
           "weighted_amount": as_decimal(row.weighted_amount), "commit_amount": commit - won,
           "best_case_amount": best - commit, "quota": None if row.quota is None else as_decimal(row.quota)}
    for name in LATER:
        value = getattr(row, name)
        raw[name] = None if value is None else (as_decimal(value) if name.endswith("amount") else int(value))
    return raw


def covered_metric(metric) -> bool:
    """Whether a snapshot holds every measure the metric needs."""
    return isinstance(metric, Metric) and set(metric.deal_measures) <= set(FROM_SNAPSHOT)


def _candidates(conn: Connection, scope: Scope, period: Period, moments: tuple[datetime, ...]) -> dict:
    """Each moment's nearest stored snapshot of the scope's person for the period (within a week), or none."""
    rows = conn.execute(select(snaps).where(
        snaps.c.rep_id == scope.rep_id, snaps.c.scope == scope.kind, snaps.c.period_start == period.start,
        snaps.c.period_end == period.end, snaps.c.taken_at >= min(moments) - NEAREST,
        snaps.c.taken_at <= max(moments) + NEAREST)).all()
    out = {}
    for moment in moments:
        near = [r for r in rows if abs(r.taken_at - moment) <= NEAREST]
        if near:
            out[moment] = min(near, key=lambda r: abs(r.taken_at - moment))
    return out


def _moved(conn: Connection, scope: Scope, spans: list[tuple[datetime, datetime]]) -> list[datetime]:
    """The instants in any (lo, hi] span at which a deal in scope changed or was created: one statement."""
    in_scope = o.c.owner_id.in_(scope.owner_ids())
    h = opportunity_history
    changed = select(h.c.changed_at.label("at")).where(
        or_(*(and_(h.c.changed_at > lo, h.c.changed_at <= hi) for lo, hi in spans)),
        h.c.opportunity_id.in_(select(o.c.id).where(in_scope)))
    created = select(o.c.created_at.label("at")).where(
        or_(*(and_(o.c.created_at > lo, o.c.created_at <= hi) for lo, hi in spans)), in_scope)
    return [r.at for r in conn.execute(union_all(changed, created))]


def _foreign_currency(conn: Connection, scope: Scope, org_currency: str) -> bool:
    query = select(func.count()).select_from(o).where(
        o.c.owner_id.in_(scope.owner_ids()), o.c.currency.is_not(None),
        func.upper(o.c.currency) != literal(org_currency.upper()))
    return conn.execute(query).scalar_one() > 0


def snapshot_points(conn: Connection, name: str, period: Period, scope: Scope, moments: tuple[datetime, ...],
                    org_currency: str = "USD") -> dict[datetime, dict]:
    """The moments a stored snapshot stands for (see the module docstring), each with its raw measures."""
    if scope.kind not in ("rep", "tree") or not covered_metric(metric_definition(name)):
        return {}
    found = _candidates(conn, scope, period, moments)
    if not found or _foreign_currency(conn, scope, org_currency):
        return {}
    spans = {m: (min(m, r.taken_at), max(m, r.taken_at)) for m, r in found.items()}
    moved = _moved(conn, scope, [s for s in spans.values() if s[0] < s[1]]) if any(
        lo < hi for lo, hi in spans.values()) else []
    needed = metric_definition(name).deal_measures
    out = {}
    for moment, row in found.items():
        lo, hi = spans[moment]
        raw = _raw(row)
        if not any(lo < at <= hi for at in moved) and all(raw[m] is not None for m in needed):
            out[moment] = raw
    return out


def evaluate_trend(conn: Connection, name: str, period: Period, scope: Scope, moments: tuple[datetime, ...], *,
                   by: tuple[str, ...] | str | None = (), today, fiscal_start_month: int = 1, cache=None,
                   org_currency: str = "USD", currency: str | None = None) -> MetricResult:
    """`evaluate(…, as_of=moments)` with the points a snapshot holds read from it, the rest rebuilt from history;
    rows in moment order, each with `as_of` and `source`."""
    kwargs = dict(today=today, fiscal_start_month=fiscal_start_month, cache=cache, org_currency=org_currency)
    from_snapshots = {} if by else snapshot_points(conn, name, period, scope, moments, org_currency)
    gaps = tuple(m for m in moments if m not in from_snapshots)
    rebuilt = evaluate(conn, name, period, scope, by=by, as_of=gaps if len(gaps) != 1 else gaps[0], **kwargs) \
        if gaps else None
    rows = []
    if rebuilt is not None:
        for row in rebuilt.rows:
            rows.append({"as_of": row.get("as_of", gaps[0]), **row, "source": "history"})
    metric = metric_definition(name)
    for moment, raw in from_snapshots.items():
        row = _output_row(metric, {**raw, "as_of": moment}, (), period.elapsed_fraction(moment.date()))
        rows.append({**row, "source": "snapshot"})
    rows.sort(key=lambda r: r["as_of"])
    if rebuilt is not None:
        result = replace(rebuilt, rows=rows, as_of=None)
    else:
        result = MetricResult(metric=metric.name, label=metric.label, fmt=metric.fmt,
                              description=metric.description, period=period, scope=scope, by=(), rows=rows,
                              dialect=conn.dialect, org_currency=org_currency, currency=org_currency)
    return in_currency(conn, result, currency, today)
