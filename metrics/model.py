"""The semantic model: the deal relation, its dimensions, measures and metrics, declared as data.

A *measure* is an aggregation of a row expression under a filter (`sum(amount) where open`). A *metric* names
the measures it needs and how its value follows from them (the measure itself, a ratio, or a formula over
measures of several sources). `metrics.compile` turns a request into one GROUP BY query per source; pandas only
joins the per-source results and derives ratios.

Adding a metric is a declaration in METRICS; adding a dimension is one entry in DIMENSIONS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, not_
from sqlalchemy.sql.elements import ColumnElement

from db.schema import accounts, opportunities, reps, stages
from i18n import N_
from metrics import currency as money
from metrics import dialect as hooks

o = opportunities
s = stages
owner = reps.alias("owner")
mgr = reps.alias("mgr")
acct = accounts


@dataclass(frozen=True)
class Ctx:
    """What expressions may depend on: the dialect, the fiscal calendar and the org currency."""

    dialect: str
    fiscal_start_month: int = 1
    org_currency: str = "USD"


# --- row expressions -----------------------------------------------------------------------------------------

def probability(_: Ctx) -> ColumnElement:
    return func.coalesce(o.c.probability, s.c.probability)


def forecast_category(_: Ctx) -> ColumnElement:
    return func.coalesce(o.c.forecast_category, s.c.forecast_category)


def amount(ctx: Ctx) -> ColumnElement:
    """The deal's amount in the org currency (metrics.currency): every money measure reads this, not o.amount."""
    return money.org_amount(ctx.dialect, ctx.org_currency)


def weighted_amount(ctx: Ctx) -> ColumnElement:
    return amount(ctx) * probability(ctx) / 100


def cycle_days(ctx: Ctx) -> ColumnElement:
    return hooks.days_between(ctx.dialect, o.c.close_date, hooks.to_date(ctx.dialect, o.c.created_at))


ROW_EXPRESSIONS: dict[str, Callable[[Ctx], ColumnElement]] = {
    "amount": amount,
    "weighted_amount": weighted_amount,
    "cycle_days": cycle_days,
}

# --- filters -------------------------------------------------------------------------------------------------

FILTERS: dict[str, Callable[[Ctx], ColumnElement]] = {
    "open": lambda _: not_(s.c.is_closed),
    # Open pipeline leaves out deals forecast as omitted (DESIGN §4).
    "open_forecast": lambda ctx: and_(not_(s.c.is_closed), forecast_category(ctx) != "omitted"),
    "won": lambda _: and_(s.c.is_closed, s.c.is_won),
    "lost": lambda _: and_(s.c.is_closed, not_(s.c.is_won)),
    "closed": lambda _: s.c.is_closed,
    "open_commit": lambda ctx: and_(not_(s.c.is_closed), forecast_category(ctx) == "commit"),
    "open_best_case": lambda ctx: and_(not_(s.c.is_closed), forecast_category(ctx) == "best_case"),
    "open_pipeline": lambda ctx: and_(not_(s.c.is_closed), forecast_category(ctx) == "pipeline"),
}


@dataclass(frozen=True)
class Measure:
    name: str
    agg: str  # sum | count | avg | median
    expr: str | None  # a ROW_EXPRESSIONS key; None for count
    filter: str | None = None  # a FILTERS key
    money: bool = False

    def column(self, ctx: Ctx, filtered_in_where: bool = False) -> ColumnElement:
        """The aggregate; its filter becomes a CASE unless the query's WHERE already applies it. A deal whose
        amount has no exchange rate is left out of every measure (a sum leaves out its NULL by itself)."""
        cond = FILTERS[self.filter](ctx) if self.filter and not filtered_in_where else None
        if self.agg != "sum":
            known = money.rate_known(ctx.dialect, ctx.org_currency)
            cond = known if cond is None else and_(cond, known)
        if self.agg == "count":
            return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)
        expr = ROW_EXPRESSIONS[self.expr](ctx)
        if cond is not None:
            expr = case((cond, expr))
        if self.agg == "sum":
            total = func.sum(expr)
            return func.coalesce(hooks.money_total(ctx.dialect, total) if self.money else total, 0)
        if self.agg == "avg":
            return func.avg(expr)
        if self.agg == "median":
            return hooks.median(ctx.dialect, expr)
        raise ValueError(f"unknown aggregation {self.agg}")


# Deals the query read but left out for want of an exchange rate: every deal statement reports them.
MISSING_RATES = "missing_rate_count"


def missing_rate_count(ctx: Ctx) -> ColumnElement:
    return func.coalesce(func.sum(case((money.rate_missing(ctx.dialect, ctx.org_currency), 1), else_=0)), 0)


DEAL_MEASURES = {
    m.name: m
    for m in (
        Measure("open_amount", "sum", "amount", "open_forecast", money=True),
        Measure("open_count", "count", None, "open_forecast"),
        Measure("weighted_amount", "sum", "weighted_amount", "open_forecast", money=True),
        Measure("won_amount", "sum", "amount", "won", money=True),
        Measure("won_count", "count", None, "won"),
        Measure("lost_amount", "sum", "amount", "lost", money=True),
        Measure("lost_count", "count", None, "lost"),
        Measure("commit_amount", "sum", "amount", "open_commit", money=True),
        Measure("best_case_amount", "sum", "amount", "open_best_case", money=True),
        Measure("pipeline_category_amount", "sum", "amount", "open_pipeline", money=True),
        Measure("cycle_days_median", "median", "cycle_days", "won"),
        Measure("cycle_days_mean", "avg", "cycle_days", "won"),
    )
}

# --- dimensions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    name: str
    expr: Callable[[Ctx], ColumnElement]
    # the tables beyond deals and stages the expression reads ("owner", "mgr", "acct"): only those are joined,
    # since SQLite does not drop an unused LEFT JOIN (it cost a third of an org-wide query's time)
    joins: frozenset[str] = frozenset()
    deal_only: bool = False  # not meaningful for quotas (which belong to a rep, not a deal)
    sort: Callable[[Ctx], ColumnElement] | None = None
    # not offered to people: the owner's id, for callers that need one row per rep even when two share a name
    # (the scorecards, the payout table); accepted wherever `owner` is (metrics.evaluate.parse_dimensions)
    internal: bool = False

    @property
    def needs_manager(self) -> bool:
        return "mgr" in self.joins


_OWNER, _ACCT = frozenset({"owner"}), frozenset({"acct"})

DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("owner", lambda _: owner.c.name, _OWNER),
        Dimension("rep_id", lambda _: owner.c.id, _OWNER, internal=True),
        Dimension("manager", lambda _: mgr.c.name, frozenset({"owner", "mgr"})),
        Dimension("team", lambda _: owner.c.team, _OWNER),
        Dimension("region", lambda _: owner.c.region, _OWNER),
        Dimension("segment", lambda _: func.coalesce(acct.c.segment, owner.c.segment), _OWNER | _ACCT,
                  deal_only=True),
        Dimension("stage", lambda _: o.c.stage, deal_only=True, sort=lambda _: func.min(s.c.position)),
        Dimension("product", lambda _: o.c.product, deal_only=True),
        Dimension("industry", lambda _: acct.c.industry, _ACCT, deal_only=True),
        Dimension("loss_reason", lambda _: o.c.loss_reason, deal_only=True),  # the CRM's reason a deal was lost
        Dimension("source", lambda _: o.c.source, deal_only=True),  # where the deal came from (lead source)
        Dimension("forecast_category", forecast_category, deal_only=True),
        Dimension("day", lambda _: o.c.close_date, deal_only=True),
        Dimension("month", lambda ctx: hooks.month_label(ctx.dialect, o.c.close_date), deal_only=True),
        Dimension(
            "quarter",
            lambda ctx: hooks.fiscal_quarter_label(ctx.dialect, o.c.close_date, ctx.fiscal_start_month),
            deal_only=True,
        ),
    )
}
REP_DIMENSIONS = tuple(n for n, d in DIMENSIONS.items() if not d.deal_only and not d.internal)
PUBLIC_DIMENSIONS = tuple(n for n, d in DIMENSIONS.items() if not d.internal)

# --- metrics -------------------------------------------------------------------------------------------------


def as_decimal(value: Decimal | float | int) -> Decimal:
    """A database number as Decimal. SQLite returns money sums as floats (rounded to 6 places in SQL): they go
    through their shortest repr, so 20.01 is 20.01 and not Decimal(20.01) = 20.0100000000000015…, which tipped
    figures on a half cent (an average deal size of 10.005 said 10.01 on SQLite, 10.00 on PostgreSQL)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _ratio(num: Decimal | None, den: Decimal | None) -> Decimal | None:
    if num is None or den is None or den == 0:
        return None
    return as_decimal(num) / as_decimal(den)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    fmt: str  # money | ratio | count | days
    deal_measures: tuple[str, ...] = ()
    needs_quota: bool = False
    value: Callable[[dict], Decimal | None] | None = None
    extras: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = PUBLIC_DIMENSIONS


def _measure(name: str) -> Callable[[dict], Decimal | None]:
    return lambda row: row.get(name)


def _gap(row: dict) -> Decimal | None:
    if row.get("quota") is None:
        return None
    return as_decimal(row["quota"]) - as_decimal(row.get("won_amount") or 0)


def _coverage(row: dict) -> Decimal | None:
    gap = _gap(row)
    return _ratio(row.get("open_amount"), gap) if gap is not None and gap > 0 else None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("pipeline", N_("Open pipeline"), N_("Σ amount of open deals closing in the period; omitted excluded"),
               "money", ("open_amount", "open_count"), value=_measure("open_amount"), extras=("open_count",)),
        Metric("weighted_pipeline", N_("Weighted pipeline"), N_("Σ amount × probability / 100 of open pipeline deals"),
               "money", ("weighted_amount", "open_amount", "open_count"), value=_measure("weighted_amount"),
               extras=("open_amount", "open_count")),
        Metric("closed_won", N_("Closed won"), N_("Σ amount of deals won with close date in the period"),
               "money", ("won_amount", "won_count"), value=_measure("won_amount"), extras=("won_count",)),
        Metric("closed_lost", N_("Closed lost"), N_("Σ amount of deals lost with close date in the period"),
               "money", ("lost_amount", "lost_count"), value=_measure("lost_amount"), extras=("lost_count",)),
        Metric("quota", N_("Quota"), N_("quota for the period (prorated by days where quota periods overlap partly)"),
               "money", needs_quota=True, value=_measure("quota"), dimensions=REP_DIMENSIONS),
        Metric("attainment", N_("Quota attainment"), N_("closed won ÷ quota; pace = share of the period elapsed"),
               "ratio", ("won_amount",), needs_quota=True,
               value=lambda r: _ratio(r.get("won_amount"), r.get("quota")),
               extras=("won_amount", "quota", "pace"), dimensions=REP_DIMENSIONS),
        Metric("gap", N_("Gap to quota"), N_("quota − closed won"), "money", ("won_amount",), needs_quota=True,
               value=_gap, extras=("quota", "won_amount"), dimensions=REP_DIMENSIONS),
        Metric("coverage", N_("Pipeline coverage"), N_("open pipeline closing in the period ÷ gap to quota"),
               "ratio", ("open_amount", "won_amount"), needs_quota=True,
               value=lambda r: _coverage(r),
               extras=("open_amount", "quota", "won_amount"), dimensions=REP_DIMENSIONS),
        Metric("forecast", N_("Forecast roll-up"),
               N_("closed; commit = closed + commit; best case = commit + best case; pipeline = best case + pipeline"),
               "money", ("won_amount", "commit_amount", "best_case_amount", "pipeline_category_amount"),
               needs_quota=True, value=lambda r: r.get("commit"),
               extras=("closed", "commit", "best_case", "pipeline", "quota"), dimensions=REP_DIMENSIONS),
        Metric("win_rate", N_("Win rate"), N_("won ÷ (won + lost), by count, close date in the period"), "ratio",
               ("won_count", "lost_count"),
               value=lambda r: _ratio(r.get("won_count"), (r.get("won_count") or 0) + (r.get("lost_count") or 0)),
               extras=("won_count", "lost_count")),
        Metric("win_rate_value", N_("Win rate by value"), N_("won amount ÷ (won + lost amount)"), "ratio",
               ("won_amount", "lost_amount"),
               value=lambda r: _ratio(r.get("won_amount"),
                                      (r.get("won_amount") or 0) + (r.get("lost_amount") or 0)),
               extras=("won_amount", "lost_amount")),
        Metric("avg_deal_size", N_("Average deal size"), N_("Σ won amount ÷ count won"), "money",
               ("won_amount", "won_count"), value=lambda r: _ratio(r.get("won_amount"), r.get("won_count")),
               extras=("won_count",)),
        Metric("cycle_days", N_("Sales cycle (median)"), N_("median days from created to close, won deals"), "days",
               ("cycle_days_median", "won_count"), value=_measure("cycle_days_median"), extras=("won_count",)),
        Metric("cycle_days_mean", N_("Sales cycle (mean)"), N_("mean days from created to close, won deals"), "days",
               ("cycle_days_mean", "won_count"), value=_measure("cycle_days_mean"), extras=("won_count",)),
    )
}
