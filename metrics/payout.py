"""Payout estimates under the comp plans (DESIGN §4b): the tier arithmetic, and each rep's payout for a window.

Definitions (README "Compensation"):
- base rate = target incentive ÷ quota; a band covers attainment above `from` up to and including `to` (the first
  band includes 0).
- marginal: each credited dollar is paid base rate × the multiplier of the band its own position falls in
  (at exactly 100% every dollar sits at or below 1.0, so nothing is paid at the accelerator);
  retroactive: every credited dollar is paid base rate × the multiplier of the band the attainment falls in.
- cap: the tiered payout is at most cap × target incentive; SPIFFs come on top.
- the window's target incentive is the plan's, prorated by days when the window is not one plan period; a plan
  change inside the window prorates the same way: each plan pays its tiered payout on the window's whole
  attainment, weighted by the share of plan-period days it was in force. A SPIFF is paid under the plan in force
  on the deal's close date.
- credit is the metrics layer's closed won (amount of won deals with close date in the window), restricted to the
  plan's products when it names some.
Money stays Decimal; the one rounding is at the end, to cents, half-even.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from sqlalchemy import Connection, and_, case, func, select

from db.schema import opportunities, reps, stages
from i18n import N_
from metrics.comp_plans import Plan, PlanBook, Tier, version_for_window
from metrics.dialect import money_total
from metrics.model import FILTERS, ROW_EXPRESSIONS, Ctx
from metrics.periods import Period, period_containing

CENT = Decimal("0.01")
ZERO = Decimal(0)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


# --- the tier arithmetic (pure) --------------------------------------------------------------------------------

def band_index(tiers: tuple[Tier, ...], credited: Decimal, quota: Decimal) -> int:
    """The band the attainment credited ÷ quota falls in (compared without dividing)."""
    for i, tier in enumerate(tiers):
        if tier.upper is None or credited <= tier.upper * quota:
            return i
    return len(tiers) - 1


def multiplied_credit(plan: Plan, credited: Decimal, quota: Decimal) -> Decimal:
    """Σ credited dollars × their multiplier, capped at cap × quota; the tiered payout is this × base rate.
    Credit at or below zero earns nothing."""
    credited = max(credited, ZERO)
    if plan.tier_mode == "retroactive":
        total = plan.tiers[band_index(plan.tiers, credited, quota)].multiplier * credited
    else:
        total = ZERO
        for tier in plan.tiers:
            top = credited if tier.upper is None else min(credited, tier.upper * quota)
            total += tier.multiplier * max(ZERO, top - tier.lower * quota)
    if plan.cap is not None:
        total = min(total, plan.cap * quota)
    return total


def tiered_payout(plan: Plan, credited: Decimal, quota: Decimal, weight: Decimal = Decimal(1)) -> Decimal:
    """Unrounded: target incentive × weight × multiplied credit ÷ quota (one division)."""
    with localcontext() as ctx:
        ctx.prec = 50
        return plan.target_incentive * weight * multiplied_credit(plan, credited, quota) / quota


@dataclass(frozen=True)
class Band:
    """Where a rep stands: the band, what the next dollar pays, and how far the next band is."""

    index: int
    multiplier: Decimal
    next_dollar: Decimal  # what one more credited dollar pays (0 once capped)
    to_next_band: Decimal | None  # credit needed to reach the next band (None in the last)
    next_multiplier: Decimal | None
    capped: bool


def band_position(plan: Plan, credited: Decimal, quota: Decimal) -> Band:
    i = band_index(plan.tiers, max(credited, ZERO), quota)
    tier = plan.tiers[i]
    capped = plan.cap is not None and multiplied_credit(plan, credited, quota) >= plan.cap * quota
    rate = plan.target_incentive / quota
    if plan.tier_mode == "marginal" and tier.upper is not None and credited >= tier.upper * quota:
        i, tier = i + 1, plan.tiers[i + 1]  # exactly at the edge: the next dollar is already past it
    nxt = plan.tiers[i + 1] if i + 1 < len(plan.tiers) else None
    to_next = None if tier.upper is None else max(ZERO, tier.upper * quota - credited)
    return Band(i, tier.multiplier, ZERO if capped else cents(rate * tier.multiplier), to_next,
                nxt.multiplier if nxt else None, capped)


# --- a rep's payout for a window -------------------------------------------------------------------------------

@dataclass
class DealCredit:
    id: int
    name: str
    close_date: date
    amount: Decimal
    product: str | None
    source: str | None
    won: bool  # False: an open deal counted as if it closes (projection, what-if)
    spiff: Decimal = ZERO
    spiff_names: tuple[str, ...] = ()
    payout: Decimal = ZERO  # this deal's share of the tiered payout (statement), rounded
    count: int = 1  # more than one: a class of alike deals summed (deal_classes_for), not one deal


@dataclass
class RepPayout:
    rep_id: int
    name: str
    email: str | None
    role: str
    plans: list[str]
    credited: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    tiered: Decimal | None
    spiffs: Decimal
    value: Decimal | None  # tiered + spiffs, rounded to cents once
    note: str | None  # why there is no figure: no plan, no quota (an N_ message: translate where it is shown)
    deals: list[DealCredit] = field(default_factory=list)
    plan: Plan | None = None  # the plan in force on the window's last day considered (for band talk)


def plan_weights(book: PlanBook, email: str | None, role: str, start: date, end: date, fiscal: int
                 ) -> list[tuple[Plan, Decimal]]:
    """Each plan in force in [start, end] with its weight: Σ over its days of 1 ÷ (days of the plan period that
    day belongs to). One whole plan period under one plan weighs exactly 1."""
    cuts = sorted({start, *(d for d in book.change_days() if start < d <= end)})
    weights: dict[str, tuple[Plan, Decimal]] = {}
    for i, seg_start in enumerate(cuts):
        seg_end = cuts[i + 1] - timedelta(days=1) if i + 1 < len(cuts) else end
        plan = book.plan_for(email, role, seg_start)
        if plan is None:
            continue
        day = seg_start
        while day <= seg_end:
            period = period_containing(day, plan.period, fiscal)
            last = min(period.end, seg_end)
            share = Decimal((last - day).days + 1) / Decimal(period.days)
            old = weights.get(plan.name, (plan, ZERO))[1]
            weights[plan.name] = (plan, old + share)
            day = last + timedelta(days=1)
    return list(weights.values())


def deals_for(conn: Connection, rep_ids: list[int], start: date, end: date, which: str, today: date
              ) -> dict[int, list[DealCredit]]:
    """Won deals (the metrics layer's closed-won filter and amount) or open commit deals, by owner, with close
    date in [start, end]; amounts in the org currency (an open deal at `today`'s rate)."""
    ctx = Ctx(conn.dialect.name)
    o, s = opportunities, stages
    amount = ROW_EXPRESSIONS["amount"](ctx).label("amount")
    query = (select(o.c.id, o.c.name, o.c.owner_id, o.c.close_date, amount, o.c.product, o.c.source)
             .select_from(o.join(s, o.c.stage == s.c.name))
             .where(and_(FILTERS[which](ctx), o.c.close_date.between(start, end), o.c.owner_id.in_(rep_ids)))
             .order_by(o.c.close_date, o.c.id))
    out: dict[int, list[DealCredit]] = {r: [] for r in rep_ids}
    for row in conn.execute(query, {"rate_day": today}):
        out[row.owner_id].append(DealCredit(row.id, row.name, row.close_date, Decimal(str(row.amount or 0)),
                                            row.product, row.source, which == "won"))
    return out


def deal_classes_for(conn: Connection, rep_ids: list[int], start: date, end: date, which: str, today: date,
                     cuts: list[date]) -> dict[int, list[DealCredit]]:
    """What deals_for gives summed by class: by owner, plan segment (the close dates between two of `cuts`, the
    comp plans' change days, under which every person's plan stays the same), product and source (all a plan's
    credit and SPIFFs read), as DealCredit rows with the class's amount, count, first id and first close date.
    A payout from them is the payout from the deals (sums of the same amounts, a fixed SPIFF times the count);
    only the per-deal shares of a statement need the deals themselves. A VP's tree at 1,000,000 deals: about
    2,500 classes instead of 25,000 deals fetched and walked in Python."""
    ctx = Ctx(conn.dialect.name)
    o, s = opportunities, stages
    inside = sorted(d for d in cuts if start < d <= end)
    keys = [o.c.owner_id, o.c.product, o.c.source]
    if inside:
        keys.append(case(*((o.c.close_date >= d, i + 1) for i, d in reversed(list(enumerate(inside)))), else_=0))
    amount = money_total(ctx.dialect, func.sum(ROW_EXPRESSIONS["amount"](ctx)))
    query = (select(o.c.owner_id, func.min(o.c.id).label("id"), func.min(o.c.close_date).label("close_date"),
                    amount.label("amount"), func.count().label("deals"), o.c.product, o.c.source)
             .select_from(o.join(s, o.c.stage == s.c.name))
             .where(and_(FILTERS[which](ctx), o.c.close_date.between(start, end), o.c.owner_id.in_(rep_ids)))
             .group_by(*keys))
    out: dict[int, list[DealCredit]] = {r: [] for r in rep_ids}
    for row in conn.execute(query, {"rate_day": today}):
        total = ZERO if row.amount is None else Decimal(str(row.amount)).quantize(CENT)
        out[row.owner_id].append(DealCredit(row.id, "", row.close_date, total, row.product, row.source,
                                            which == "won", count=row.deals))
    return out


def compute_payout(book: PlanBook | None, person, quota: Decimal | None, deals: list[DealCredit], start: date,
                   end: date, fiscal: int, shares: bool = True) -> RepPayout:
    """One person's payout over [start, end] from their credited deals and quota (pure: no database).
    `shares`: each deal's share of the tiered payout too (a statement's; needs single deals, not classes)."""
    rep = RepPayout(person.id, person.name, person.email, person.role, [], None, quota, None, None, ZERO, None,
                    None, deals)
    weights = plan_weights(book, person.email, person.role, start, end, fiscal) if book else []
    if not weights:
        rep.note = N_("no comp plan") if book else N_("no comp plans are loaded")
        return rep
    rep.plans = [p.name for p, _ in weights]
    rep.plan = book.plan_for(person.email, person.role, end) or weights[-1][0]
    credited = {p.name: sum((d.amount for d in deals if p.credits(d.__dict__)), ZERO) for p, _ in weights}
    rep.credited = credited[rep.plan.name]
    spiffs = ZERO
    for d in deals:
        plan = book.plan_for(person.email, person.role, d.close_date)
        hits = [s for s in plan.spiffs if s.matches(d.__dict__)] if plan else []
        d.spiff = sum((s.bonus(d.amount, d.count) for s in hits), ZERO)
        d.spiff_names = tuple(s.name for s in hits)
        spiffs += d.spiff
    rep.spiffs = cents(spiffs)
    if quota is None or quota <= 0:
        rep.note = (N_("no quota for the period") if quota is None
                    else N_("zero quota: attainment cannot be computed"))
        return rep
    rep.attainment = rep.credited / quota
    tiered = sum((tiered_payout(p, credited[p.name], quota, w) for p, w in weights), ZERO)
    rep.tiered = cents(tiered)
    rep.value = cents(tiered + spiffs)
    if shares:
        _share_out(rep, weights, quota)
    return rep


def _share_out(rep: RepPayout, weights: list[tuple[Plan, Decimal]], quota: Decimal) -> None:
    """Each deal's share of the tiered payout: the payout with the deals up to it (close-date order) minus the
    payout with those before it, both rounded, so the shares add up to the rep's tiered payout exactly."""
    before, running = ZERO, {p.name: ZERO for p, _ in weights}
    for d in rep.deals:
        for p, _ in weights:
            if p.credits(d.__dict__):
                running[p.name] += d.amount
        now = cents(sum((tiered_payout(p, running[p.name], quota, w) for p, w in weights), ZERO))
        d.payout, before = now - before, now


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str | None
    role: str


def people(conn: Connection, ids: list[int] | None) -> list[Person]:
    query = select(reps.c.id, reps.c.name, reps.c.email, reps.c.role).order_by(reps.c.name, reps.c.id)
    if ids is not None:
        query = query.where(reps.c.id.in_(ids))
    return [Person(r.id, r.name, r.email, r.role) for r in conn.execute(query)]


def quotas_of(conn: Connection, everyone: list[Person], period: Period, today: date, fiscal: int,
              cache=None) -> dict[int, Decimal | None]:
    """Each person's quota for the period. The reps' come from one query grouped by rep (over the org: the quota
    table is small), not one query each; a manager's or exec's own quota row (their plan's) is read on its own,
    as is a lone rep's."""
    from metrics.evaluate import evaluate
    from metrics.scopes import Scope

    def one(scope: Scope, by: tuple[str, ...] = ()) -> list[dict]:
        return evaluate(conn, "quota", period, scope, by=by, today=today, fiscal_start_month=fiscal,
                        cache=cache).rows

    many = sum(p.role == "rep" for p in everyone) > 1
    grouped = {r["rep_id"]: r["value"] for r in one(Scope("org", "the whole org"), ("rep_id",))} if many else {}
    return {p.id: grouped.get(p.id) if many and p.role == "rep" else one(Scope("rep", "", rep_id=p.id))[0]["value"]
            for p in everyone}


def payouts(conn: Connection, period: Period, members: list[int] | None, *, today: date, fiscal: int = 1,
            projected: bool = False, extra: dict[int, list[DealCredit]] | None = None, cache=None,
            by_deal: bool = True) -> list[RepPayout]:
    """The payout of every person in `members` (None: everyone) who has a plan or is a rep, over the period.
    `projected` counts open commit deals closing in the period as won; `extra` adds deals (what-ifs); `cache` is
    the quota's result cache (None: the default one). `by_deal=False` gives the same payouts from the deals
    summed by class (deal_classes_for): RepPayout.deals then holds classes, and no deal's share is computed."""
    version = version_for_window(conn, period.end)
    book = version.book if version else None
    everyone = people(conn, members)
    if book is not None:
        everyone = [p for p in everyone if p.role == "rep"
                    or plan_weights(book, p.email, p.role, period.start, period.end, fiscal)]
    else:
        everyone = [p for p in everyone if p.role == "rep"]
    ids = [p.id for p in everyone]
    if by_deal:
        def fetch(which: str) -> dict[int, list[DealCredit]]:
            return deals_for(conn, ids, period.start, period.end, which, today)
    else:
        cuts = book.change_days() if book is not None else []

        def fetch(which: str) -> dict[int, list[DealCredit]]:
            return deal_classes_for(conn, ids, period.start, period.end, which, today, cuts)
    won = fetch("won")
    commit = fetch("open_commit") if projected else {}
    quota = quotas_of(conn, everyone, period, today, fiscal, cache)
    out = []
    for p in everyone:
        deals = won[p.id] + commit.get(p.id, []) + (extra or {}).get(p.id, [])
        deals.sort(key=lambda d: (d.close_date, d.id))
        out.append(compute_payout(book, p, quota[p.id], deals, period.start, period.end, fiscal, shares=by_deal))
    return out
