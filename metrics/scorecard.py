"""Rep scorecards (DESIGN §4b): each rep's figures against the median of their team (the reps who share their
manager), and the bottleneck: the stage where the rep's stage-to-stage conversion falls furthest below the
team's median conversion, among stages the rep had at least BOTTLENECK_MIN_DEALS deals enter."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, case, select

from db.schema import opportunities, reps, stages
from i18n import N_, _, ngettext
from metrics.cache import ResultCache
from metrics.compile import DIM_PREFIX, END, START, Window, deal_from, params, scope_condition
from metrics.evaluate import _output_row, evaluate, evaluate_together, run_query
from metrics.model import DEAL_MEASURES, DIMENSIONS, FILTERS, METRICS, Ctx
from metrics.periods import Period, period_containing
from metrics.scopes import Scope

BOTTLENECK_MIN_DEALS = 3
DEAL_FIGURES = ("win_rate", "avg_deal_size", "cycle_days")  # read by one query
COACHING_REPS = 3
COACHING_DAYS = 90
ORG = Scope("org", "the whole org")
FIGURES = (("activities_per_week", N_("Activities / week"), "count"),
           ("pipeline_created", N_("Pipeline created"), "money"), ("win_rate", N_("Win rate"), "ratio"),
           ("avg_deal_size", N_("Avg deal size"), "money"), ("cycle_days", N_("Cycle (days)"), "days"),
           ("attainment", N_("Attainment (4 qtrs)"), "ratio"))


@dataclass
class Scorecard:
    rep_id: int
    name: str
    figures: dict[str, Decimal | None]
    conversion: dict[str, tuple[int, Decimal | None]]  # stage -> (entered, conversion)
    attainment_trend: list[tuple[str, Decimal | None]] = field(default_factory=list)
    bottleneck: tuple[str, Decimal, Decimal, int] | None = None  # stage, rep, team, deals entered

    def bottleneck_text(self, next_stage: dict[str, str]) -> str:
        if self.bottleneck is None:
            return _("no bottleneck: no stage below the team with enough deals")
        stage, mine, team, n = self.bottleneck
        return ngettext("{stage} → {next}: {mine} vs team {team}, {n} deal",
                        "{stage} → {next}: {mine} vs team {team}, {n} deals", n).format(
            stage=stage, next=next_stage.get(stage) or _("next stage"), mine=f"{mine * 100:.0f}%",
            team=f"{team * 100:.0f}%", n=n)


def team_of(conn: Connection, rep_id: int) -> tuple[list[tuple[int, str]], Scope]:
    """The rep and the reps who share their manager (role rep), by name, and a scope holding them (the manager's
    tree, for the grouped queries)."""
    manager = conn.execute(select(reps.c.manager_id).where(reps.c.id == rep_id)).scalar_one_or_none()
    query = select(reps.c.id, reps.c.name).where(reps.c.role == "rep").order_by(reps.c.name)
    if manager is None:
        return [(r.id, r.name) for r in conn.execute(query.where(reps.c.id == rep_id))], Scope("rep", "", rep_id=rep_id)
    members = [(r.id, r.name) for r in conn.execute(query.where(reps.c.manager_id == manager))]
    return members, Scope("tree", "team", rep_id=manager)


def median(values) -> Decimal | None:
    known = [v for v in values if v is not None]
    return Decimal(statistics.median(known)) if known else None


@dataclass
class TeamScorecards:
    cards: list[Scorecard]
    medians: dict[str, Decimal | None]
    conversion_medians: dict[str, Decimal | None]


def _by_rep(conn: Connection, metric: str, period: Period, scope: Scope, today, fiscal: int, cache
            ) -> dict[int, dict]:
    rows = evaluate(conn, metric, period, scope, by="rep_id", today=today, fiscal_start_month=fiscal,
                    cache=cache).rows
    return {r["rep_id"]: r for r in rows}


def last_four_quarters(period: Period, fiscal: int) -> list[Period]:
    """The quarter containing the period's end and the three before it, oldest first."""
    quarters = [period_containing(period.end, "quarter", fiscal)]
    while len(quarters) < 4:
        quarters.append(quarters[-1].previous())
    return quarters[::-1]


def attainment_by_quarter(conn: Connection, quarters: list[Period], scope: Scope, today, fiscal: int,
                          cache: ResultCache | None) -> list[tuple[str, dict[int, dict]]]:
    """Each quarter's attainment by rep, as `evaluate("attainment", quarter, by="rep_id")` gives it, with the
    closed won of all the quarters read by one query grouped by rep and quarter (one scan of the deals, not one a
    quarter); the quotas (a small table) are read a quarter at a time."""
    ctx = Ctx(conn.dialect.name, fiscal)
    quarter = case(*((opportunities.c.close_date <= q.end, k) for k, q in enumerate(quarters[:-1])),
                   else_=len(quarters) - 1)
    rep_id = DIMENSIONS["rep_id"].expr(ctx)
    won = (select(rep_id.label(DIM_PREFIX + "rep_id"), quarter.label("quarter"),
                  DEAL_MEASURES["won_amount"].column(ctx, True).label("won_amount"))
           .select_from(deal_from(("rep_id",)))
           .where(opportunities.c.close_date.between(START, END), FILTERS["won"](ctx)))
    cond = scope_condition(opportunities.c.owner_id, scope.kind)
    if cond is not None:
        won = won.where(cond)
    won = won.group_by(rep_id, quarter)
    window = Window(quarters[0].start, quarters[-1].end, today)
    won_by = {(r[DIM_PREFIX + "rep_id"], r["quarter"]): r["won_amount"]
              for r in run_query(conn, (won, params(window, scope)), cache)}
    metric = METRICS["attainment"]
    out = []
    for k, q in enumerate(quarters):
        quota = {r["rep_id"]: r["value"] for r in evaluate(conn, "quota", q, scope, by="rep_id", today=today,
                                                          fiscal_start_month=fiscal, cache=cache).rows}
        reps_seen = dict.fromkeys([*(rep for rep, kk in won_by if kk == k), *quota])
        out.append((q.label, {rep: _output_row(metric, {DIM_PREFIX + "rep_id": rep, "won_amount": won_by.get((rep, k)),
                                                          "quota": quota.get(rep)}, ("rep_id",), Decimal(0))
                              for rep in reps_seen}))
    return out


def scorecards(conn: Connection, members: list[tuple[int, str]], period: Period, today, fiscal: int,
               scope: Scope = ORG, cache: ResultCache | None = None) -> list[Scorecard]:
    """Each member's figures. Every metric is one query grouped by owner over `scope` (which must hold the
    members; narrower is faster), not a query per rep: about a dozen queries for a team of any size. `cache`:
    the result cache (None: the default one)."""
    def by_rep(metric: str, window: Period = period) -> dict[int, dict]:
        return _by_rep(conn, metric, window, scope, today, fiscal, cache)

    acts, created = by_rep("activities"), by_rep("pipeline_created")
    deal_figures = {m: {r["rep_id"]: r for r in rows} for m, rows in evaluate_together(
        conn, DEAL_FIGURES, period, scope, by="rep_id", today=today, fiscal_start_month=fiscal, cache=cache).items()}
    attainment = attainment_by_quarter(conn, last_four_quarters(period, fiscal), scope, today, fiscal, cache)
    conversion: dict[int, dict[str, tuple[int, Decimal | None]]] = {}
    for r in evaluate(conn, "conversion", period, scope, by="rep_id", today=today, fiscal_start_month=fiscal,
                      cache=cache).rows:
        conversion.setdefault(r["rep_id"], {})[r["stage"]] = (r["entered"], r["value"])
    cards = []
    for rep_id, name in members:
        trend = [(label, rows.get(rep_id, {}).get("value")) for label, rows in attainment]
        known = [a for _, a in trend if a is not None]
        figures = {"activities_per_week": acts[rep_id]["per_week"] if rep_id in acts else Decimal(0),
                   "pipeline_created": created[rep_id]["value"] if rep_id in created else Decimal("0.00"),
                   **{m: rows.get(rep_id, {}).get("value") for m, rows in deal_figures.items()},
                   "attainment": (sum(known) / len(known)).quantize(Decimal("0.0001")) if known else None}
        cards.append(Scorecard(rep_id, name, figures, conversion.get(rep_id, {}), trend))
    return cards


def team_scorecards(conn: Connection, members: list[tuple[int, str]], period: Period, today, fiscal: int,
                    scope: Scope = ORG, cache: ResultCache | None = None) -> TeamScorecards:
    cards = scorecards(conn, members, period, today, fiscal, scope, cache)
    medians = {key: median(c.figures[key] for c in cards) for key, _, _ in FIGURES}
    stages = {s for c in cards for s in c.conversion}
    conv = {s: median(c.conversion[s][1] for c in cards if s in c.conversion) for s in stages}
    for c in cards:
        gaps = [(c.conversion[s][1] - conv[s], s) for s in c.conversion
                if c.conversion[s][0] >= BOTTLENECK_MIN_DEALS and c.conversion[s][1] is not None
                and conv[s] is not None and c.conversion[s][1] < conv[s]]
        if gaps:
            _, stage = min(gaps)
            c.bottleneck = (stage, c.conversion[stage][1], conv[stage], c.conversion[stage][0])
    return TeamScorecards(cards, medians, conv)


def next_stages(conn: Connection) -> dict[str, str]:
    """Each open stage's next one (the last open stage's is the first won stage), for "Proposal → Negotiation"."""
    rows = conn.execute(select(stages.c.name, stages.c.is_closed, stages.c.is_won).order_by(stages.c.position)).all()
    names = [r.name for r in rows if not r.is_closed] + [r.name for r in rows if r.is_closed and r.is_won][:1]
    return {a: b for a, b in zip(names, names[1:], strict=False)}


def reps_in(conn: Connection, scope: Scope) -> list[tuple[int, str]]:
    """The reps (role rep) in scope, by name."""
    query = select(reps.c.id, reps.c.name).where(reps.c.role == "rep").order_by(reps.c.name, reps.c.id)
    ids = scope.owner_ids()
    return [(r.id, r.name) for r in conn.execute(query if ids is None else query.where(reps.c.id.in_(ids)))]


def coaching_period(today: date) -> Period:
    return Period(today - timedelta(days=COACHING_DAYS - 1), today, f"the last {COACHING_DAYS} days")


def coaching(conn: Connection, scope: Scope, today: date, fiscal: int, cache: ResultCache | None = None
             ) -> list[Scorecard]:
    """The manager digest's weekly coaching list: the reps of `scope` with a bottleneck against the scope's reps
    over the last COACHING_DAYS days, the furthest below the team first, at most COACHING_REPS."""
    team = team_scorecards(conn, reps_in(conn, scope), coaching_period(today), today, fiscal, scope, cache)
    stuck = [c for c in team.cards if c.bottleneck is not None]
    return sorted(stuck, key=lambda c: (c.bottleneck[1] - c.bottleneck[2], c.name))[:COACHING_REPS]
