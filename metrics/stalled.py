"""Stalled deals (DESIGN §4): open deals that have stopped moving, each finding naming its reason.

``stalled_deals(conn, *, today, now=None, settings, owner_ids=None, rules=None, cache=None) -> list[Finding]``
runs every rule below (or those named in ``rules``) as SQL on the database (SQLite and PostgreSQL alike, dialect
differences in metrics.dialect) and returns the findings sorted by rule (in ``RULES`` order), owner name and
record. A deal may trip several rules, one finding each. Only open deals (stage not closed) are considered;
``owner_ids`` limits the findings to deals owned by the scope's reps (benchmarks stay org-wide). ``cache`` (a
``metrics.cache.ResultCache``) keeps the org-wide won-deal benchmarks of ``stuck_in_stage`` between calls.
Each rule is also a function of its own name with the same keyword arguments.

Rules (ids are stable; ``RULES`` maps them to titles):

``no_activity``
    The deal's last activity is N or more whole days before ``today``. Last activity is
    ``opportunities.last_activity_at``, else the latest ``activities`` row of the deal, else its ``created_at``
    (dates in UTC). N is ``settings.stalled_days_by_segment[segment]`` when the deal's segment (its account's
    segment, else its owner's; compared in lower case) is listed there, else
    ``settings.stalled_no_activity_days`` (default 14). With N = 14: 13 days → no finding, 14 or 15 → finding.

``stuck_in_stage``
    Days in the current stage (``today`` − the date the deal entered it) above a threshold. Entered =
    ``stage_entered_at``, else the earliest history row of the deal's latest run of rows in the current stage
    (the last change *to* this stage), else ``created_at``. The threshold is the stage's ``expected_days`` when
    set; else the 75th percentile (percentile_cont) of days spent in that stage by won deals, when there are at
    least 20 such samples; else 30 days. A sample is, in a won deal's history (rows with a stage, ordered by
    changed_at), the days from a row that changed the stage to this one until the next row that changed it
    again. Strictly above: 30 days in stage with threshold 30 is no finding, 31 is.

``past_close_date``
    Close date before ``today``.

``close_date_pushed``
    The close date was pushed later two or more times within 90 days of ``now``: history rows with a close
    date whose close date is later than the previous history row's (with a close date) of the same deal, counted
    when ``changed_at`` ≥ ``now`` − 90 days. ``now`` defaults to the end of ``today`` in the org time zone, so
    the window is the 90 calendar days ending today.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, Float, and_, case, cast, func, literal, not_, or_, select

from config import Settings
from db.schema import accounts, activities, opportunities, opportunity_history, reps, stages
from metrics import dialect as dl
from metrics.rules_common import (
    Finding,
    deal_rows,
    deal_segment,
    default_now,
    in_scope,
    make_finding,
    plural,
    run_rules,
    segment_threshold,
)

RULES: dict[str, str] = {
    "no_activity": "No recent activity",
    "stuck_in_stage": "Stuck in stage",
    "past_close_date": "Close date in the past",
    "close_date_pushed": "Close date pushed repeatedly",
}

STUCK_PERCENTILE = 0.75
# The won-deal stage benchmarks are org-wide history (about 1.5 s at 1,000,000 deals on PostgreSQL) and move
# slowly, so a cache keeps them for an hour even while deals change.
BENCHMARK_TTL_SECONDS = 3600
STUCK_MIN_SAMPLES = 20
STUCK_DEFAULT_DAYS = 30
PUSH_WINDOW_DAYS = 90
PUSH_MIN_COUNT = 2

o = opportunities
s = stages
r = reps
a = accounts
h = opportunity_history


def _open_deals(*cols, owner_ids: Any):
    """SELECT deal identity + cols FROM open deals (with stage, owner and account joined) in scope."""
    return deal_rows(*cols, owner_ids=owner_ids).where(not_(s.c.is_closed))


def no_activity(conn: Connection, *, today: date, settings: Settings, owner_ids: Any = None, **_: Any) -> list[Finding]:
    d = conn.dialect.name
    latest_activity = (
        select(func.max(activities.c.occurred_at)).where(activities.c.opportunity_id == o.c.id).scalar_subquery()
    )
    last = func.coalesce(o.c.last_activity_at, latest_activity, o.c.created_at)
    source = case(
        (o.c.last_activity_at.is_not(None), "activity"),
        (latest_activity.is_not(None), "activity"),
        else_="created",
    )
    segment = deal_segment()
    threshold = segment_threshold(segment, settings.stalled_no_activity_days, settings.stalled_days_by_segment)
    days = dl.days_between(d, literal(today, Date), dl.to_date(d, last))
    sub = _open_deals(
        dl.to_date(d, last).label("last_date"), days.label("days"), threshold.label("threshold"),
        segment.label("segment"), source.label("source"), owner_ids=owner_ids,
    ).subquery()
    rows = conn.execute(select(sub).where(sub.c.days >= sub.c.threshold)).all()
    out = []
    for row in rows:
        limit = f"threshold {row.threshold} days"
        if row.segment and row.segment in {k.lower() for k in settings.stalled_days_by_segment}:
            limit += f" for {row.segment}"
        since = "since it was created" if row.source == "created" else "since the last one"
        detail = f"no activity for {plural(row.days, 'day')} ({since} on {row.last_date}; {limit})"
        out.append(make_finding("no_activity", "opportunity", row, detail, amount=row.amount))
    return out


# --- stuck_in_stage --------------------------------------------------------------------------------------------

def _won_stage_samples(d: str):
    """SELECT stage, days: time spent in each stage by won deals, one row per visit that ended (from history)."""
    won = o.alias("won")
    won_stage = s.alias("won_stage")
    order = (h.c.changed_at, h.c.id)
    rows = (
        select(
            h.c.opportunity_id, h.c.id, h.c.changed_at, h.c.stage,
            func.lag(h.c.stage).over(partition_by=h.c.opportunity_id, order_by=order).label("prev_stage"),
        )
        .select_from(h.join(won, won.c.id == h.c.opportunity_id).join(won_stage, won_stage.c.name == won.c.stage))
        .where(won_stage.c.is_won, h.c.stage.is_not(None))
        .subquery("won_rows")
    )
    entries = (
        select(rows.c.opportunity_id, rows.c.id, rows.c.changed_at, rows.c.stage)
        .where(or_(rows.c.prev_stage.is_(None), rows.c.prev_stage != rows.c.stage))
        .subquery("won_entries")
    )
    visits = select(
        entries.c.stage,
        entries.c.changed_at,
        func.lead(entries.c.changed_at)
        .over(partition_by=entries.c.opportunity_id, order_by=(entries.c.changed_at, entries.c.id))
        .label("left_at"),
    ).subquery("won_visits")
    return select(
        visits.c.stage,
        dl.days_between(d, dl.to_date(d, visits.c.left_at), dl.to_date(d, visits.c.changed_at)).label("days"),
    ).where(visits.c.left_at.is_not(None))


def won_stage_percentiles(conn: Connection, fraction: float = STUCK_PERCENTILE,
                          cache: Any = None) -> dict[str, tuple[float, int]]:
    """{stage: (percentile of days in stage for won deals, samples)}: the benchmark stuck_in_stage uses.

    `cache` (a metrics.cache.ResultCache) reuses the answer for BENCHMARK_TTL_SECONDS: the benchmark is org-wide
    and the dearest part of the stalled rules, so a per-rep request need not recompute it.
    """
    d = conn.dialect.name
    pct = dl.percentile_subquery(d, "days", fraction, ["stage"], _won_stage_samples(d), name="won_pct")
    query = select(pct.c.stage, pct.c.value, pct.c.n)
    if cache is not None:
        rows = cache.fetch(conn, query, ttl=BENCHMARK_TTL_SECONDS, versioned=False)
    else:
        rows = [r._mapping for r in conn.execute(query)]
    return {row["stage"]: (row["value"], row["n"]) for row in rows}


def _entered_stage_at():
    """When the deal entered its current stage: stage_entered_at, else from history, else created_at."""
    prior = h.alias("h_prior")
    run = h.alias("h_run")
    last_other = (
        select(func.max(prior.c.changed_at))
        .where(prior.c.opportunity_id == o.c.id, prior.c.stage.is_not(None), prior.c.stage != o.c.stage)
        .correlate(o)  # two levels down: auto-correlation only reaches the enclosing SELECT
        .scalar_subquery()
    )
    from_history = (
        select(func.min(run.c.changed_at))
        .where(run.c.opportunity_id == o.c.id, run.c.stage == o.c.stage,
               or_(last_other.is_(None), run.c.changed_at > last_other))
        .correlate(o)
        .scalar_subquery()
    )
    return func.coalesce(o.c.stage_entered_at, from_history, o.c.created_at)


def stuck_in_stage(conn: Connection, *, today: date, settings: Settings, owner_ids: Any = None,
                   benchmarks: dict[str, tuple[float, int]] | None = None, **_: Any) -> list[Finding]:
    """`benchmarks` (from won_stage_percentiles) saves recomputing them; by default they are a subquery."""
    d = conn.dialect.name
    pct = None
    if benchmarks is None:
        pct = dl.percentile_subquery(d, "days", STUCK_PERCENTILE, ["stage"], _won_stage_samples(d), name="won_pct")
        pct_value, pct_n = pct.c.value, pct.c.n
    elif benchmarks:
        ordered = sorted(benchmarks.items())
        pct_value = case(*((s.c.name == stage, literal(float(v))) for stage, (v, _n) in ordered), else_=None)
        pct_n = case(*((s.c.name == stage, literal(int(n))) for stage, (_v, n) in ordered), else_=literal(0))
    else:
        pct_value, pct_n = literal(None, Float), literal(0)
    entered = dl.to_date(d, _entered_stage_at())
    days = dl.days_between(d, literal(today, Date), entered)
    use_pct = and_(s.c.expected_days.is_(None), func.coalesce(pct_n, 0) >= STUCK_MIN_SAMPLES)
    basis = case((s.c.expected_days.is_not(None), "expected"), (use_pct, "percentile"), else_="default")
    threshold = case(
        (s.c.expected_days.is_not(None), cast(s.c.expected_days, Float)),
        (use_pct, pct_value),
        else_=literal(float(STUCK_DEFAULT_DAYS)),
    )
    base = _open_deals(
        o.c.stage, entered.label("entered"), days.label("days"), threshold.label("threshold"),
        basis.label("basis"), pct_n.label("samples"), owner_ids=owner_ids,
    )
    if pct is not None:
        base = base.join_from(s, pct, pct.c.stage == s.c.name, isouter=True)
    sub = base.subquery()
    rows = conn.execute(select(sub).where(sub.c.days > sub.c.threshold)).all()
    out = []
    for row in rows:
        if row.basis == "expected":
            why = f"above the stage's expected {plural(int(row.threshold), 'day')}"
        elif row.basis == "percentile":
            why = (f"above the 75th percentile for won deals, {row.threshold:.1f} days "
                   f"from {row.samples} samples")
        else:
            why = f"above the default {STUCK_DEFAULT_DAYS} days"
        detail = f"in {row.stage} for {plural(row.days, 'day')} since {row.entered} ({why})"
        out.append(make_finding("stuck_in_stage", "opportunity", row, detail, amount=row.amount))
    return out


# --- past_close_date -------------------------------------------------------------------------------------------

def past_close_date(conn: Connection, *, today: date, owner_ids: Any = None, **_: Any) -> list[Finding]:
    d = conn.dialect.name
    days = dl.days_between(d, literal(today, Date), o.c.close_date)
    stmt = _open_deals(o.c.close_date, days.label("days"), owner_ids=owner_ids).where(o.c.close_date < today)
    return [
        make_finding("past_close_date", "opportunity", row,
                     f"close date {row.close_date} passed {plural(row.days, 'day')} ago and the deal is still open",
                     amount=row.amount)
        for row in conn.execute(stmt)
    ]


# --- close_date_pushed -----------------------------------------------------------------------------------------

def close_date_pushed(conn: Connection, *, today: date, now: datetime | None = None, settings: Settings,
                      owner_ids: Any = None, **_: Any) -> list[Finding]:
    now = now or default_now(today, settings)
    since = now - timedelta(days=PUSH_WINDOW_DAYS)
    recent = (
        select(h.c.id).where(h.c.opportunity_id == o.c.id, h.c.changed_at >= since, h.c.close_date.is_not(None))
        .exists()
    )
    candidates = (
        select(o.c.id).join(s, s.c.name == o.c.stage)
        .where(not_(s.c.is_closed), in_scope(o.c.owner_id, owner_ids), recent)
        .subquery("candidates")
    )
    dated = (
        select(
            h.c.opportunity_id, h.c.changed_at, h.c.close_date,
            func.lag(h.c.close_date, type_=Date)
            .over(partition_by=h.c.opportunity_id, order_by=(h.c.changed_at, h.c.id))
            .label("prev_close"),
        )
        .select_from(candidates.join(h, h.c.opportunity_id == candidates.c.id))
        .where(h.c.close_date.is_not(None))
        .subquery("dated")
    )
    pushes = (
        select(
            dated.c.opportunity_id,
            func.count().label("pushes"),
            func.min(dated.c.prev_close).label("first_from"),
            func.max(dated.c.close_date).label("last_to"),
        )
        .where(dated.c.close_date > dated.c.prev_close, dated.c.changed_at >= since)
        .group_by(dated.c.opportunity_id)
        .having(func.count() >= PUSH_MIN_COUNT)
        .subquery("pushes")
    )
    stmt = (
        _open_deals(pushes.c.pushes, pushes.c.first_from, pushes.c.last_to, owner_ids=owner_ids)
        .join_from(o, pushes, pushes.c.opportunity_id == o.c.id)
    )
    return [
        make_finding(
            "close_date_pushed", "opportunity", row,
            f"close date pushed later {plural(row.pushes, 'time')} in the last {PUSH_WINDOW_DAYS} days "
            f"(from {row.first_from} to {row.last_to})",
            amount=row.amount,
        )
        for row in conn.execute(stmt)
    ]


RULE_FUNCTIONS = {
    "no_activity": no_activity,
    "stuck_in_stage": stuck_in_stage,
    "past_close_date": past_close_date,
    "close_date_pushed": close_date_pushed,
}


def stalled_deals(
    conn: Connection,
    *,
    today: date,
    now: datetime | None = None,
    settings: Settings,
    owner_ids: Any = None,
    rules: Any = None,
    cache: Any = None,
) -> list[Finding]:
    """Every stalled-deal finding (or only those of `rules`, a collection of rule ids), sorted.

    `cache` (a metrics.cache.ResultCache) keeps the org-wide won-deal stage benchmarks between calls.
    """
    extra: dict[str, Any] = {}
    if cache is not None and (rules is None or "stuck_in_stage" in set(rules)):
        extra["benchmarks"] = won_stage_percentiles(conn, cache=cache)
    return run_rules(RULES, RULE_FUNCTIONS, rules, conn, today=today, now=now, settings=settings,
                     owner_ids=owner_ids, **extra)
