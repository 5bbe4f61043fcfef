"""Data-integrity rules (DESIGN §4): records the sales database should not contain, for sales ops to fix.

``integrity_findings(conn, *, today, now=None, settings, owner_ids=None, rules=None, period_start=None,
period_end=None) -> list[Finding]`` runs the rules as SQL on the database (SQLite and PostgreSQL alike; dialect
differences live in metrics.dialect) and returns the findings sorted by rule, owner and record. ``owner_ids``
limits the findings to records owned by the scope's reps (a deal's owner, an account's owner, the rep
themself); benchmarks such as medians and percentiles are always org-wide.

"Open" means the deal's stage is not closed; "lost" means closed and not won. Rules (ids are stable; ``RULES``
maps them to titles):

``missing_amount``
    Amount NULL or zero on a deal past the first stage (its stage position is above the lowest position of any
    stage) that is open or won. Lost deals are exempt.
``past_close_date``
    Open deal whose close date is before ``today``.
``close_before_created``
    Close date before the UTC date the deal was created, or ``closed_at`` on an earlier UTC date than
    ``created_at``.
``probability_off_stage``
    ``probability`` set and more than 25 points away from its stage's default probability (any deal).
``forecast_category_mismatch``
    ``forecast_category`` set and inconsistent with the stage (see ``CATEGORY_RANK``):
    a closed deal must carry its closed stage's own category (Closed Won → ``closed``, Closed Lost →
    ``omitted``); an open deal may carry its stage's default category, any lower one (down to ``omitted``), or
    the one just above it (a Proposal deal, default ``best_case``, may be called ``commit``), but never two or
    more above it (``commit`` on a ``pipeline`` stage), never ``closed`` and never a value outside the five
    categories.
``owner_inactive``
    Open deal owned by a rep whose ``active`` is false.
``owner_unknown``
    Open deal with no owner (``owner_id`` NULL).
``duplicate_opportunity``
    Two deals of the same account (neither lost) with the same normalised name (lower case, punctuation
    removed, whitespace collapsed; not empty), or with the same amount and close date. One finding per
    duplicate other than the one with the lowest id, naming that first record.
``duplicate_account``
    Two accounts with the same normalised name; one finding per account other than the one with the lowest id.
``amount_outlier``
    Amount more than 10 × the median amount of its segment (the account's segment, else the owner's; deals with
    neither form one group) AND more than the org's 99th percentile of amounts (percentile_cont). Both
    benchmarks are over every deal with a positive amount, org-wide.
``late_stage_no_next_step``
    Open deal whose forecast category (its own, else the stage's) is ``commit`` or ``best_case``, or whose
    probability (its own, else the stage's) is 50 or more, with ``next_step`` NULL or blank.
``change_after_close``
    Closed deal with ``closed_at`` set and at least one history row changed on a later UTC day than it closed.
``rep_without_quota``
    Active person with role ``rep`` and no quota row overlapping the period: the fiscal quarter containing
    ``today`` (``settings.fiscal_year_start_month``), or ``period_start``..``period_end`` when given.
``negative_amount``
    Amount below zero (any deal).
``missing_exchange_rate``
    A deal with an amount in a currency other than the org currency (``settings.org_currency``) and no exchange
    rate valid on its day: the close date for a closed deal, ``today`` for an open one (metrics.currency). Such a
    deal is left out of every total until a rate exists.

Amounts (a finding's ``amount``, outliers) are in the org currency.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, and_, case, exists, func, literal, not_, or_, select

from config import Settings
from db.schema import accounts, opportunities, opportunity_history, quotas, reps, stages
from i18n import N_
from metrics import dialect as dl
from metrics.currency import Conversion, rate_day
from metrics.reasons import reason
from metrics.rules_common import (
    Finding,
    deal_rows,
    fiscal_quarter_bounds,
    fiscal_quarter_name,
    in_scope,
    make_finding,
    run_rules,
)

RULES: dict[str, str] = {
    "missing_amount": N_("Missing or zero amount"),
    "negative_amount": N_("Negative amount"),
    "past_close_date": N_("Open with close date in the past"),
    "close_before_created": N_("Close date before created date"),
    "probability_off_stage": N_("Probability far from stage default"),
    "forecast_category_mismatch": N_("Forecast category inconsistent with stage"),
    "owner_inactive": N_("Open deal owned by an inactive rep"),
    "owner_unknown": N_("Open deal with no owner"),
    "duplicate_opportunity": N_("Duplicate opportunity"),
    "duplicate_account": N_("Duplicate account"),
    "amount_outlier": N_("Amount outlier"),
    "late_stage_no_next_step": N_("Late-stage deal with no next step"),
    "change_after_close": N_("Changed after close"),
    "rep_without_quota": N_("Active rep without quota"),
    "missing_exchange_rate": N_("Deal currency with no exchange rate"),
}

PROBABILITY_TOLERANCE = 25
OUTLIER_SEGMENT_MULTIPLE = 10
OUTLIER_PERCENTILE = 0.99
LATE_STAGE_CATEGORIES = ("commit", "best_case")
LATE_STAGE_PROBABILITY = 50
# Open-deal forecast categories, lowest to highest. An open deal may sit at most one rank above its stage's
# default; `closed` is reserved for closed-won deals.
CATEGORY_RANK = {"omitted": 0, "pipeline": 1, "best_case": 2, "commit": 3, "closed": 4}

o = opportunities
s = stages
r = reps
a = accounts
h = opportunity_history


def _is_open():
    return not_(s.c.is_closed)


def _opp_findings(conn: Connection, rule: str, stmt, why) -> list[Finding]:
    """One finding per deal row; `why(row)` is its reason (metrics.reasons.reason)."""
    return [make_finding(rule, "opportunity", row, why(row), amount=row.amount) for row in conn.execute(stmt)]


# --- amounts -----------------------------------------------------------------------------------------------------

def missing_amount(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    first_position = select(func.min(s.c.position)).correlate(None).scalar_subquery()  # over every stage
    stmt = deal_rows(o.c.stage, owner_ids=owner_ids, convert=convert).where(
        or_(o.c.amount.is_(None), o.c.amount == 0),
        s.c.position > first_position,
        or_(_is_open(), s.c.is_won),
    )
    return _opp_findings(
        conn, "missing_amount", stmt,
        lambda row: reason("missing_amount.none" if row.amount is None else "missing_amount.zero", stage=row.stage),
    )


def negative_amount(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    stmt = deal_rows(owner_ids=owner_ids, convert=convert).where(o.c.amount < 0)
    return _opp_findings(conn, "negative_amount", stmt, lambda row: reason("negative_amount", amount=row.amount))


def amount_outlier(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    d = conn.dialect.name
    segment = func.coalesce(func.lower(func.coalesce(func.nullif(a.c.segment, ""), func.nullif(r.c.segment, ""))), "")
    # Amounts compared in the org currency (a deal with no exchange rate is in no population and no finding).
    amount = o.c.amount if convert is None else convert.amount()
    population = (
        select(amount.label("amount"), segment.label("seg"))
        .select_from(o.join(s, s.c.name == o.c.stage).outerjoin(a, a.c.id == o.c.account_id)
                     .outerjoin(r, r.c.id == o.c.owner_id))
        .where(amount > 0)
    )
    # Both thresholds are the segment's: an Enterprise-sized deal is no outlier, an SMB deal of that size is.
    medians = dl.percentile_subquery(d, "amount", 0.5, ["seg"], population, name="seg_median")
    p99s = dl.percentile_subquery(d, "amount", OUTLIER_PERCENTILE, ["seg"], population, name="seg_p99")
    stmt = (
        deal_rows(segment.label("seg"), medians.c.value.label("median"), p99s.c.value.label("p99"),
                  owner_ids=owner_ids, convert=convert)
        .join(medians, medians.c.seg == segment)
        .join(p99s, p99s.c.seg == segment)
        .where(amount > 0, amount > medians.c.value * OUTLIER_SEGMENT_MULTIPLE, amount > p99s.c.value)
    )

    def detail(row) -> dict[str, Any]:
        figures = {"amount": row.amount, "ratio": round(float(row.amount) / float(row.median), 1),
                   "median": _dec(row.median), "p99": _dec(row.p99)}
        if row.seg:
            return reason("amount_outlier.segment", segment=row.seg, **figures)
        return reason("amount_outlier.no_segment", **figures)

    return _opp_findings(conn, "amount_outlier", stmt, detail)


def _dec(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2)))


def missing_exchange_rate(conn: Connection, *, today: date, settings: Settings, convert: Any = None,
                          owner_ids: Any = None, **_: Any) -> list[Finding]:
    convert = convert or Conversion.of(conn, settings.org_currency, today)
    day = rate_day(s.c.is_closed, o.c.close_date, literal(today, Date))
    stmt = deal_rows(o.c.currency, o.c.amount.label("own_amount"), s.c.is_closed, day.label("day"),
                     owner_ids=owner_ids, convert=convert).where(convert.missing())

    def detail(row) -> dict[str, Any]:
        return reason("missing_exchange_rate.closed" if row.is_closed else "missing_exchange_rate.open",
                      amount=row.own_amount, currency=row.currency, org_currency=settings.org_currency, day=row.day)

    return [make_finding("missing_exchange_rate", "opportunity", row, detail(row)) for row in conn.execute(stmt)]


# --- dates -------------------------------------------------------------------------------------------------------

def past_close_date(conn: Connection, *, convert: Any = None, today: date, owner_ids: Any = None,
                    **_: Any) -> list[Finding]:
    d = conn.dialect.name
    days = dl.days_between(d, literal(today, Date), o.c.close_date)
    stmt = deal_rows(o.c.close_date, days.label("days"), owner_ids=owner_ids, convert=convert).where(
        _is_open(), o.c.close_date < today)
    return _opp_findings(
        conn, "past_close_date", stmt,
        lambda row: reason("past_close_date", close_date=row.close_date, days=row.days),
    )


def close_before_created(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    d = conn.dialect.name
    created = dl.to_date(d, o.c.created_at)
    closed = dl.to_date(d, o.c.closed_at)
    stmt = deal_rows(o.c.close_date, created.label("created"), closed.label("closed"), owner_ids=owner_ids,
                     convert=convert).where(or_(o.c.close_date < created, closed < created))

    def detail(row) -> dict[str, Any]:
        if row.close_date is not None and row.close_date < row.created:
            return reason("close_before_created.close_date", close_date=row.close_date, created=row.created)
        return reason("close_before_created.closed", closed=row.closed, created=row.created)

    return _opp_findings(conn, "close_before_created", stmt, detail)


def change_after_close(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    d = conn.dialect.name
    later = (
        select(h.c.opportunity_id, func.count().label("changes"), func.max(h.c.changed_at).label("latest"))
        .select_from(h.join(o, o.c.id == h.c.opportunity_id))
        .where(o.c.closed_at.is_not(None), dl.to_date(d, h.c.changed_at) > dl.to_date(d, o.c.closed_at),
               in_scope(o.c.owner_id, owner_ids))
        .group_by(h.c.opportunity_id)
        .subquery("after_close")
    )
    stmt = (
        deal_rows(o.c.closed_at, later.c.changes, later.c.latest, owner_ids=owner_ids, convert=convert)
        .join(later, later.c.opportunity_id == o.c.id)
        .where(s.c.is_closed)
    )
    return _opp_findings(
        conn, "change_after_close", stmt,
        lambda row: reason("change_after_close", changes=row.changes, closed=row.closed_at, latest=row.latest),
    )


# --- stage consistency -------------------------------------------------------------------------------------------

def probability_off_stage(conn: Connection, *, convert: Any = None, owner_ids: Any = None,
                          **_: Any) -> list[Finding]:
    stmt = deal_rows(o.c.stage, o.c.probability, s.c.probability.label("stage_probability"), owner_ids=owner_ids,
                     convert=convert).where(
        o.c.probability.is_not(None),
        func.abs(o.c.probability - s.c.probability) > PROBABILITY_TOLERANCE,
    )
    return _opp_findings(
        conn, "probability_off_stage", stmt,
        lambda row: reason("probability_off_stage", probability=row.probability, stage=row.stage,
                           points=abs(row.probability - row.stage_probability),
                           stage_probability=row.stage_probability),
    )


def _rank(category):
    return case(*((category == name, literal(rank)) for name, rank in CATEGORY_RANK.items()), else_=None)


def forecast_category_mismatch(conn: Connection, *, convert: Any = None, owner_ids: Any = None,
                               **_: Any) -> list[Finding]:
    deal_rank = _rank(o.c.forecast_category)
    stage_rank = _rank(s.c.forecast_category)
    closed_wrong = and_(s.c.is_closed, o.c.forecast_category != s.c.forecast_category)
    open_wrong = and_(
        _is_open(),
        or_(
            o.c.forecast_category == "closed",
            deal_rank.is_(None),
            deal_rank - func.coalesce(stage_rank, 0) >= 2,
        ),
    )
    stmt = deal_rows(
        o.c.stage, o.c.forecast_category, s.c.forecast_category.label("stage_category"), s.c.is_closed,
        owner_ids=owner_ids,
    ).where(o.c.forecast_category.is_not(None), or_(closed_wrong, open_wrong))

    def detail(row) -> dict[str, Any]:
        if row.is_closed:
            return reason("forecast_category_mismatch.closed", category=row.forecast_category, stage=row.stage,
                          stage_category=row.stage_category)
        if row.forecast_category == "closed":
            return reason("forecast_category_mismatch.closed_on_open", stage=row.stage)
        if row.forecast_category not in CATEGORY_RANK:
            return reason("forecast_category_mismatch.unknown", category=row.forecast_category,
                          categories=", ".join(CATEGORY_RANK))
        return reason("forecast_category_mismatch.too_high", category=row.forecast_category, stage=row.stage,
                      stage_category=row.stage_category)

    return _opp_findings(conn, "forecast_category_mismatch", stmt, detail)


def late_stage_no_next_step(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    category = func.coalesce(o.c.forecast_category, s.c.forecast_category)
    probability = func.coalesce(o.c.probability, s.c.probability)
    stmt = deal_rows(o.c.stage, category.label("category"), probability.label("prob"), owner_ids=owner_ids,
                     convert=convert).where(
        _is_open(),
        or_(category.in_(LATE_STAGE_CATEGORIES), probability >= LATE_STAGE_PROBABILITY),
        or_(o.c.next_step.is_(None), func.trim(o.c.next_step) == ""),
    )
    return _opp_findings(
        conn, "late_stage_no_next_step", stmt,
        lambda row: reason("late_stage_no_next_step", stage=row.stage, category=row.category, probability=row.prob),
    )


# --- ownership ---------------------------------------------------------------------------------------------------

def owner_inactive(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    stmt = deal_rows(owner_ids=owner_ids, convert=convert).where(_is_open(), o.c.owner_id.is_not(None),
                                                                 not_(r.c.active))
    return _opp_findings(conn, "owner_inactive", stmt,
                         lambda row: reason("owner_inactive", owner=row.owner_name))


def owner_unknown(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    if owner_ids is not None:  # a scope is a set of owners: an ownerless deal is in none
        return []
    stmt = deal_rows(owner_ids=None, convert=convert).where(_is_open(), o.c.owner_id.is_(None))
    return _opp_findings(conn, "owner_unknown", stmt, lambda row: reason("owner_unknown"))


def rep_without_quota(conn: Connection, *, convert: Any = None, today: date, settings: Settings, owner_ids: Any = None,
                      period_start: date | None = None, period_end: date | None = None, **_: Any) -> list[Finding]:
    if period_start is None or period_end is None:
        period_start, period_end = fiscal_quarter_bounds(today, settings.fiscal_year_start_month)
        why = reason("rep_without_quota.quarter", start=period_start, end=period_end,
                     quarter=fiscal_quarter_name(period_start, settings.fiscal_year_start_month))
    else:
        why = reason("rep_without_quota.period", start=period_start, end=period_end)
    has_quota = exists().where(
        quotas.c.rep_id == r.c.id, quotas.c.period_start <= period_end, quotas.c.period_end >= period_start
    )
    stmt = select(
        r.c.id, r.c.external_id, r.c.name, r.c.id.label("owner_id"), r.c.name.label("owner_name")
    ).where(r.c.active, r.c.role == "rep", not_(has_quota), in_scope(r.c.id, owner_ids))
    return [
        make_finding("rep_without_quota", "rep", row, why) for row in conn.execute(stmt)
    ]


# --- duplicates --------------------------------------------------------------------------------------------------

def _earlier(by_name, by_figures):
    """The lower of two nullable ids, portably (SQLite's scalar min() is NULL if either is)."""
    return case(
        (by_name.is_(None), by_figures),
        (by_figures.is_(None), by_name),
        (by_name <= by_figures, by_name),
        else_=by_figures,
    )


def duplicate_opportunity(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    # Window functions rather than a self-join: partitions sort in O(n log n) on both databases, where a join on a
    # computed name would compare every pair on SQLite.
    d = conn.dialect.name
    candidates = (
        select(o.c.id, o.c.account_id, o.c.name, o.c.amount, o.c.close_date)
        .where(o.c.account_id.is_not(None))
    )
    named = dl.normalised_names(d, candidates, alias="named_opps")
    has_figures = and_(named.c.amount.is_not(None), named.c.close_date.is_not(None))
    firsts = select(
        named.c.id,
        case((named.c.norm != "", func.min(named.c.id).over(partition_by=(named.c.account_id, named.c.norm))))
        .label("by_name"),
        case((has_figures, func.min(named.c.id).over(
            partition_by=(named.c.account_id, named.c.amount, named.c.close_date)))).label("by_figures"),
    ).subquery("dup_firsts")
    # An earlier record only: the first of each group is no duplicate of itself.
    by_name = case((firsts.c.by_name < firsts.c.id, firsts.c.by_name))
    by_figures = case((firsts.c.by_figures < firsts.c.id, firsts.c.by_figures))
    first_id = _earlier(by_name, by_figures)
    pairs = (
        select(firsts.c.id.label("dup_id"), first_id.label("first_id"), (by_name == first_id).label("by_name"))
        .where(first_id.is_not(None))
        .subquery("dup_pairs")
    )
    original = o.alias("original")
    stmt = (
        deal_rows(original.c.external_id.label("first_record"), original.c.name.label("first_name"),
               pairs.c.by_name, owner_ids=owner_ids, convert=convert)
        .join(pairs, pairs.c.dup_id == o.c.id)
        .join(original, original.c.id == pairs.c.first_id)
    )

    def detail(row) -> dict[str, Any]:
        return reason("duplicate_opportunity.name" if row.by_name else "duplicate_opportunity.figures",
                      first_record=row.first_record, first_name=row.first_name)

    return _opp_findings(conn, "duplicate_opportunity", stmt, detail)


def duplicate_account(conn: Connection, *, convert: Any = None, owner_ids: Any = None, **_: Any) -> list[Finding]:
    d = conn.dialect.name
    named = dl.normalised_names(d, select(a.c.id, a.c.name), alias="named_accounts")
    firsts = (
        select(named.c.id, func.min(named.c.id).over(partition_by=named.c.norm).label("first_id"))
        .where(named.c.norm != "")
        .subquery("acc_firsts")
    )
    original = a.alias("original")
    stmt = (
        select(a.c.id, a.c.external_id, a.c.name, a.c.owner_id, r.c.name.label("owner_name"),
               original.c.external_id.label("first_record"), original.c.name.label("first_name"))
        .select_from(a.join(firsts, and_(firsts.c.id == a.c.id, firsts.c.first_id < a.c.id))
                     .join(original, original.c.id == firsts.c.first_id)
                     .outerjoin(r, r.c.id == a.c.owner_id))
        .where(in_scope(a.c.owner_id, owner_ids))
    )
    return [
        make_finding("duplicate_account", "account", row,
                     reason("duplicate_account", first_record=row.first_record, first_name=row.first_name))
        for row in conn.execute(stmt)
    ]


RULE_FUNCTIONS = {
    "missing_amount": missing_amount,
    "negative_amount": negative_amount,
    "past_close_date": past_close_date,
    "close_before_created": close_before_created,
    "probability_off_stage": probability_off_stage,
    "forecast_category_mismatch": forecast_category_mismatch,
    "owner_inactive": owner_inactive,
    "owner_unknown": owner_unknown,
    "duplicate_opportunity": duplicate_opportunity,
    "duplicate_account": duplicate_account,
    "amount_outlier": amount_outlier,
    "late_stage_no_next_step": late_stage_no_next_step,
    "change_after_close": change_after_close,
    "rep_without_quota": rep_without_quota,
    "missing_exchange_rate": missing_exchange_rate,
}


def integrity_findings(
    conn: Connection,
    *,
    today: date,
    now: datetime | None = None,
    settings: Settings,
    owner_ids: Any = None,
    rules: Any = None,
    period_start: date | None = None,
    period_end: date | None = None,
) -> list[Finding]:
    """Every integrity finding (or only those of `rules`, a collection of rule ids), sorted."""
    return run_rules(RULES, RULE_FUNCTIONS, rules, conn, today=today, now=now, settings=settings,
                     owner_ids=owner_ids, period_start=period_start, period_end=period_end)
