"""Stalled deals (DESIGN §4): open deals that have stopped moving, each finding naming its reason.

``stalled_deals(conn, *, today, now=None, settings, owner_ids=None, rules=None, cache=None) -> list[Finding]``
runs every rule below (or those named in ``rules``) as SQL on the database (SQLite and PostgreSQL alike, dialect
differences in metrics.dialect) and returns the findings sorted by rule (in ``RULES`` order), owner name and
record. A deal may trip several rules, one finding each. Only open deals (stage not closed) are considered;
``owner_ids`` limits the findings to deals owned by the scope's reps (benchmarks stay org-wide). The org-wide
won-deal benchmarks of ``stuck_in_stage`` come from the history snapshot (metrics.history_snapshot, refreshed
every 15 minutes), else from ``cache`` (a ``metrics.cache.ResultCache``), else from a subquery.
``stalled_overview`` gives what an answer shows: the first findings and the totals.
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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)

from config import Settings
from db.schema import accounts, activities, bot_close_date_pushes, opportunities, opportunity_history, reps, stages
from i18n import N_
from metrics import dialect as dl
from metrics.currency import Conversion
from metrics.history_snapshot import changed_since, close_date_pushes, usable_state, usable_watermark
from metrics.reasons import reason
from metrics.rules_common import (
    Finding,
    deal_rows,
    deal_segment,
    default_now,
    in_scope,
    make_finding,
    run_rules,
    segment_threshold,
    sort_findings,
)
from metrics.scopes import is_wide
from metrics.stage_benchmarks import STUCK_PERCENTILE, won_stage_percentiles, won_stage_samples

RULES: dict[str, str] = {
    "no_activity": N_("No recent activity"),
    "stuck_in_stage": N_("Stuck in stage"),
    "past_close_date": N_("Close date in the past"),
    "close_date_pushed": N_("Close date pushed repeatedly"),
}

STUCK_MIN_SAMPLES = 20
STUCK_DEFAULT_DAYS = 30
PUSH_WINDOW_DAYS = 90
PUSH_MIN_COUNT = 2

o = opportunities
s = stages
r = reps
a = accounts
h = opportunity_history


def _open_deals(*cols, owner_ids: Any, deal_ids: Any = None, open_stages: Any = None, convert: Any = None):
    """SELECT deal identity + cols FROM open deals (with stage, owner and account joined) in scope (and among
    `deal_ids`, when given). `open_stages` (the open stages' names; given org-wide and for a wide scope, see
    _open_stage_hint) repeats the open-stage condition as values the planner can estimate: through the join alone
    PostgreSQL takes two thirds of all deals for open and scans them all (past_close_date at 1,000,000 deals:
    0.2 s instead of 10 ms)."""
    query = deal_rows(*cols, owner_ids=owner_ids, convert=convert).where(not_(s.c.is_closed))
    if open_stages is not None and deal_ids is None:
        query = query.where(o.c.stage.in_(list(open_stages)))
    return query if deal_ids is None else query.where(o.c.id.in_(list(deal_ids)))


def open_stage_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(s.c.name).where(not_(s.c.is_closed)).order_by(s.c.name)).scalars())


def _open_stage_hint(conn: Connection, owner_ids: Any) -> list[str] | None:
    """The open stages' names for _open_deals when the scope is read like the org (the org, or a list of ids wider
    than metrics.scopes.WIDE_SCOPE_SHARE); None for a narrower scope, whose owner index is the one to use and
    whom the names would lead the planner away from (a rep's no_activity at 1,000,000 deals: 1.6 -> 8 ms)."""
    if owner_ids is None or (isinstance(owner_ids, list | tuple | set) and is_wide(conn, list(owner_ids))):
        return open_stage_names(conn)
    return None


def _no_activity_query(d: str, *, today: date, settings: Settings, owner_ids: Any = None, deal_ids: Any = None,
                       open_stages: Any = None, convert: Any = None, **_: Any) -> Select:
    latest_activity = (
        select(func.max(activities.c.occurred_at)).where(activities.c.opportunity_id == o.c.id).scalar_subquery()
    )
    last = func.coalesce(o.c.last_activity_at, latest_activity, o.c.created_at)
    source = case(
        (o.c.last_activity_at.is_not(None), "activity"),
        (latest_activity.is_not(None), "activity"),
        else_="created",
    )
    # Without per-segment thresholds the segment is neither compared nor shown: no column of accounts is then
    # named and PostgreSQL drops the outer join to it (a VP at 1,000,000 deals: a hash of all 250,000
    # accounts, ~0.25 s, for nothing).
    segment = deal_segment() if settings.stalled_days_by_segment else literal(None, String)
    threshold = segment_threshold(segment, settings.stalled_no_activity_days, settings.stalled_days_by_segment)
    days = dl.days_between(d, literal(today, Date), dl.to_date(d, last))
    sub = _open_deals(
        dl.to_date(d, last).label("last_date"), days.label("days"), threshold.label("threshold"),
        segment.label("segment"), source.label("source"), owner_ids=owner_ids, deal_ids=deal_ids,
        open_stages=open_stages, convert=convert,
    ).subquery()
    return select(sub).where(sub.c.days >= sub.c.threshold)


def _no_activity_finding(row: Any, settings: Settings) -> Finding:
    code = "no_activity.created" if row.source == "created" else "no_activity.activity"
    figures = {"days": row.days, "last_date": row.last_date, "threshold": row.threshold}
    if row.segment and row.segment in {k.lower() for k in settings.stalled_days_by_segment}:
        why = reason(code + "_segment", segment=row.segment, **figures)
    else:
        why = reason(code, **figures)
    return make_finding("no_activity", "opportunity", row, why, amount=row.amount)


# --- stuck_in_stage --------------------------------------------------------------------------------------------

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


def _stuck_in_stage_query(d: str, *, today: date, owner_ids: Any = None, deal_ids: Any = None,
                          open_stages: Any = None, benchmarks: dict[str, tuple[float, int]] | None = None,
                          convert: Any = None, **_: Any) -> Select:
    """`benchmarks` (from won_stage_percentiles) saves recomputing them; by default they are a subquery."""
    pct = None
    if benchmarks is None:
        pct = dl.percentile_subquery(d, "days", STUCK_PERCENTILE, ["stage"], won_stage_samples(d), name="won_pct")
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
        basis.label("basis"), pct_n.label("samples"), owner_ids=owner_ids, deal_ids=deal_ids,
        open_stages=open_stages, convert=convert,
    )
    if pct is not None:
        base = base.join_from(s, pct, pct.c.stage == s.c.name, isouter=True)
    sub = base.subquery()
    return select(sub).where(sub.c.days > sub.c.threshold)


def _stuck_in_stage_finding(row: Any, _settings: Settings) -> Finding:
    where = {"stage": row.stage, "days": row.days, "entered": row.entered}
    if row.basis == "expected":
        why = reason("stuck_in_stage.expected", threshold=int(row.threshold), **where)
    elif row.basis == "percentile":
        why = reason("stuck_in_stage.percentile", threshold=round(float(row.threshold), 1), samples=row.samples,
                     **where)
    else:
        why = reason("stuck_in_stage.default", threshold=STUCK_DEFAULT_DAYS, **where)
    return make_finding("stuck_in_stage", "opportunity", row, why, amount=row.amount)


# --- past_close_date -------------------------------------------------------------------------------------------

def _past_close_date_query(d: str, *, today: date, owner_ids: Any = None, deal_ids: Any = None,
                           open_stages: Any = None, convert: Any = None, **_: Any) -> Select:
    days = dl.days_between(d, literal(today, Date), o.c.close_date)
    return (_open_deals(o.c.close_date, days.label("days"), owner_ids=owner_ids, deal_ids=deal_ids,
                        open_stages=open_stages, convert=convert)
            .where(o.c.close_date < today))


def _past_close_date_finding(row: Any, _settings: Settings) -> Finding:
    return make_finding("past_close_date", "opportunity", row,
                        reason("stalled_past_close_date", close_date=row.close_date, days=row.days),
                        amount=row.amount)


# --- close_date_pushed -----------------------------------------------------------------------------------------

def _close_date_pushed_query(d: str, *, today: date, now: datetime | None = None, settings: Settings,
                             owner_ids: Any = None, deal_ids: Any = None, watermark: int | None = None,
                             open_stages: Any = None, convert: Any = None, **_: Any) -> Select:
    """With a history snapshot (`watermark`, metrics.history_snapshot) the pushes of deals without newer history
    are read from it and only the others come from a window over history; without one, every open deal in scope
    with a dated history row in the window is walked."""
    now = now or default_now(today, settings)
    since = now - timedelta(days=PUSH_WINDOW_DAYS)
    open_in_scope = (
        select(o.c.id).join(s, s.c.name == o.c.stage)
        .where(not_(s.c.is_closed), in_scope(o.c.owner_id, owner_ids),
               true() if deal_ids is None else o.c.id.in_(list(deal_ids)))
    )
    if watermark is None:
        recent = (select(h.c.id).where(h.c.opportunity_id == o.c.id, h.c.changed_at >= since,
                                       h.c.close_date.is_not(None)).exists())
        live_deals = open_in_scope.where(recent)
    else:
        live_deals = open_in_scope.where(o.c.id.in_(changed_since(watermark)))
    live = close_date_pushes(live_deals).subquery("live")
    parts = [select(live.c.opportunity_id, live.c.from_date, live.c.to_date).where(live.c.changed_at >= since)]
    if watermark is not None:
        cp = bot_close_date_pushes
        snap = select(cp.c.opportunity_id, cp.c.from_date, cp.c.to_date).where(
            cp.c.changed_at >= since, cp.c.opportunity_id.not_in(changed_since(watermark)))
        if owner_ids is not None or deal_ids is not None:
            snap = snap.where(cp.c.opportunity_id.in_(open_in_scope))
        parts.append(snap)
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("push_rows")
    pushes = (
        select(rows.c.opportunity_id, func.count().label("pushes"), func.min(rows.c.from_date).label("first_from"),
               func.max(rows.c.to_date).label("last_to"))
        .group_by(rows.c.opportunity_id)
        .having(func.count() >= PUSH_MIN_COUNT)
        .subquery("pushes")
    )
    return (
        _open_deals(pushes.c.pushes, pushes.c.first_from, pushes.c.last_to, owner_ids=owner_ids,
                    open_stages=open_stages, convert=convert)
        .join_from(o, pushes, pushes.c.opportunity_id == o.c.id)
    )


def _close_date_pushed_finding(row: Any, _settings: Settings) -> Finding:
    return make_finding(
        "close_date_pushed", "opportunity", row,
        reason("close_date_pushed", pushes=row.pushes, window=PUSH_WINDOW_DAYS, first_from=row.first_from,
               last_to=row.last_to),
        amount=row.amount,
    )


# --- running the rules -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A rule as a query (deal identity columns, then its own) and a function turning a result row into a
    Finding. Query builders take the dialect name and the rule keywords (today, now, settings, owner_ids,
    deal_ids, open_stages, watermark, benchmarks) and ignore those they do not use."""

    query: Callable[..., Select]
    finding: Callable[[Any, Settings], Finding]

    def __call__(self, conn: Connection, **kw: Any) -> list[Finding]:
        if "watermark" not in kw:
            kw["watermark"] = usable_watermark(conn)
        if "open_stages" not in kw:
            kw["open_stages"] = _open_stage_hint(conn, kw.get("owner_ids"))
        return [self.finding(row, kw["settings"]) for row in conn.execute(self.query(conn.dialect.name, **kw))]


RULE_FUNCTIONS: dict[str, Rule] = {
    "no_activity": Rule(_no_activity_query, _no_activity_finding),
    "stuck_in_stage": Rule(_stuck_in_stage_query, _stuck_in_stage_finding),
    "past_close_date": Rule(_past_close_date_query, _past_close_date_finding),
    "close_date_pushed": Rule(_close_date_pushed_query, _close_date_pushed_finding),
}
no_activity = RULE_FUNCTIONS["no_activity"]
stuck_in_stage = RULE_FUNCTIONS["stuck_in_stage"]
past_close_date = RULE_FUNCTIONS["past_close_date"]
close_date_pushed = RULE_FUNCTIONS["close_date_pushed"]


def _rule_kw(conn: Connection, cache: Any, benchmarks_wanted: bool, owner_ids: Any) -> dict[str, Any]:
    """What the rules read from the database before they run: the open stages, the history snapshot's watermark,
    and the won-deal benchmarks (the snapshot's, else the cache's, else none: stuck_in_stage then computes them
    in its own query)."""
    state = usable_state(conn)
    out: dict[str, Any] = {"watermark": None if state is None else state.through,
                           "open_stages": _open_stage_hint(conn, owner_ids)}
    if benchmarks_wanted:
        if state is not None and state.benchmarks is not None:
            out["benchmarks"] = state.benchmarks
        elif cache is not None:
            out["benchmarks"] = won_stage_percentiles(conn, cache=cache)
    return out


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
    extra = _rule_kw(conn, cache, rules is None or "stuck_in_stage" in set(rules), owner_ids)
    return run_rules(RULES, RULE_FUNCTIONS, rules, conn, today=today, now=now, settings=settings,
                     owner_ids=owner_ids, **extra)


@dataclass(frozen=True)
class StalledOverview:
    """What an answer shows: the first findings in stalled_deals' order, and the totals over all of them."""

    findings: list[Finding]
    total_findings: int
    total_deals: int


def stalled_overview(conn: Connection, *, today: date, now: datetime | None = None, settings: Settings,
                     owner_ids: Any = None, limit: int, cache: Any = None) -> StalledOverview:
    """The first `limit` findings (as stalled_deals orders them) and the totals, without building every finding.

    One statement ranks the findings of every rule by their sort keys and counts them (findings, and distinct
    deals through a row number per deal); only the `limit` findings shown are then fetched whole. Org-wide at
    1,000,000 deals that is ~90,000 findings the database counts instead of sentences Python builds.
    """
    kw: dict[str, Any] = {"today": today, "now": now, "settings": settings, "owner_ids": owner_ids,
                          "convert": Conversion.of(conn, settings.org_currency, today),
                          **_rule_kw(conn, cache, True, owner_ids)}
    d = conn.dialect.name
    names = list(RULE_FUNCTIONS)
    parts = []
    for index, rule in enumerate(RULE_FUNCTIONS.values()):
        sub = rule.query(d, **kw).subquery()
        parts.append(select(literal(index).label("rule_index"), sub.c.id, sub.c.owner_name, sub.c.external_id))
    found = union_all(*parts).subquery("found")
    numbered = select(
        found, func.row_number().over(partition_by=found.c.id, order_by=found.c.rule_index).label("nth")
    ).subquery("numbered")
    ranked = (
        select(numbered.c.rule_index, numbered.c.id, func.count().over().label("findings"),
               func.sum(case((numbered.c.nth == 1, 1), else_=0)).over().label("deals"))
        .order_by(numbered.c.rule_index, numbered.c.owner_name.is_(None),
                  dl.codepoint_order(d, func.coalesce(numbered.c.owner_name, "")),
                  dl.codepoint_order(d, numbered.c.external_id), numbered.c.id)
        .limit(limit)
    )
    shown = conn.execute(ranked).all()
    findings: list[Finding] = []
    for index, name in enumerate(names):
        ids = [row.id for row in shown if row.rule_index == index]
        if ids:
            findings.extend(RULE_FUNCTIONS[name](conn, **{**kw, "deal_ids": ids}))
    total, deals = (int(shown[0].findings), int(shown[0].deals)) if shown else (0, 0)
    return StalledOverview(sort_findings(findings, RULES), total, deals)
