"""Rep scorecards (DESIGN §4b): each rep's figures against the median of their team (the reps who share their
manager), and the bottleneck: the stage where the rep's stage-to-stage conversion falls furthest below the
team's median conversion, among stages the rep had at least BOTTLENECK_MIN_DEALS deals enter."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, select

from db.schema import reps
from metrics.evaluate import evaluate
from metrics.periods import Period, period_containing
from metrics.scopes import Scope

BOTTLENECK_MIN_DEALS = 3
FIGURES = (("activities_per_week", "Activities / week", "count"), ("pipeline_created", "Pipeline created", "money"),
           ("win_rate", "Win rate", "ratio"), ("avg_deal_size", "Avg deal size", "money"),
           ("cycle_days", "Cycle (days)", "days"), ("attainment", "Attainment (4 qtrs)", "ratio"))


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
            return "no bottleneck: no stage below the team with enough deals"
        stage, mine, team, n = self.bottleneck
        return (f"{stage} → {next_stage.get(stage, 'next stage')}: {mine * 100:.0f}% vs team {team * 100:.0f}%, "
                f"{n} deals")


def team_of(conn: Connection, rep_id: int) -> list[tuple[int, str]]:
    """The rep and the reps who share their manager (role rep), by name."""
    manager = conn.execute(select(reps.c.manager_id).where(reps.c.id == rep_id)).scalar_one_or_none()
    query = select(reps.c.id, reps.c.name).where(reps.c.role == "rep").order_by(reps.c.name)
    query = query.where(reps.c.manager_id == manager) if manager is not None else query.where(reps.c.id == rep_id)
    return [(r.id, r.name) for r in conn.execute(query)]


def _value(conn, metric: str, period: Period, rep_id: int, today, fiscal) -> Decimal | None:
    return evaluate(conn, metric, period, Scope("rep", "", rep_id=rep_id), today=today,
                    fiscal_start_month=fiscal).value


def scorecard(conn: Connection, rep_id: int, name: str, period: Period, today, fiscal: int) -> Scorecard:
    def value(metric):
        return _value(conn, metric, period, rep_id, today, fiscal)

    scope = Scope("rep", name, rep_id=rep_id)
    acts = evaluate(conn, "activities", period, scope, today=today, fiscal_start_month=fiscal).rows
    quarters, trend = [], []
    q = period_containing(period.end, "quarter", fiscal)
    for _ in range(4):
        quarters.append(q)
        q = q.previous()
    for q in reversed(quarters):
        trend.append((q.label, _value(conn, "attainment", q, rep_id, today, fiscal)))
    known = [a for _, a in trend if a is not None]
    conversion = {r["stage"]: (r["entered"], r["value"]) for r in
                  evaluate(conn, "conversion", period, scope, today=today, fiscal_start_month=fiscal).rows}
    figures = {"activities_per_week": acts[0]["per_week"] if acts else Decimal(0),
               "pipeline_created": value("pipeline_created"), "win_rate": value("win_rate"),
               "avg_deal_size": value("avg_deal_size"), "cycle_days": value("cycle_days"),
               "attainment": (sum(known) / len(known)).quantize(Decimal("0.0001")) if known else None}
    return Scorecard(rep_id, name, figures, conversion, trend)


def median(values) -> Decimal | None:
    known = [v for v in values if v is not None]
    return Decimal(statistics.median(known)) if known else None


@dataclass
class TeamScorecards:
    cards: list[Scorecard]
    medians: dict[str, Decimal | None]
    conversion_medians: dict[str, Decimal | None]


def team_scorecards(conn: Connection, members: list[tuple[int, str]], period: Period, today, fiscal: int
                    ) -> TeamScorecards:
    cards = [scorecard(conn, rid, name, period, today, fiscal) for rid, name in members]
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
