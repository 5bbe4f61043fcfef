"""`/sales scorecard [rep|team]`: a rep against their team's median with the bottleneck stage named; a manager's
view ranks their reps, each with their bottleneck."""

from __future__ import annotations

from assistant.answer_parts import _context
from assistant.answers import Answer, ChartSpec, Column, Figure, Table
from assistant.ask import Ask
from metrics.scorecard import FIGURES, next_stages, reps_in, team_of, team_scorecards
from render.format import money_short, percent


def shown(value, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "money":
        return money_short(value)
    if fmt == "ratio":
        return percent(value)
    return f"{value:,.1f}"


def scorecard(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    following = next_stages(ask.conn)
    if scope.kind == "rep":
        members, team_scope = team_of(ask.conn, scope.rep_id)
        team = team_scorecards(ask.conn, members, period, ask.today, ask.fiscal, team_scope)
        card = next(c for c in team.cards if c.rep_id == scope.rep_id)
        rows = [[label, shown(card.figures[key], fmt), shown(team.medians[key], fmt)] for key, label, fmt in FIGURES]
        table = Table([Column("figure"), Column(card.name), Column("team median")], rows)
        trend = ", ".join(f"{label} {'-' if a is None else f'{a * 100:.0f}%'}" for label, a in card.attainment_trend)
        answer = Answer(kind="metric", title=f"Scorecard · {card.name}", table=table,
                        figures=[Figure("Bottleneck", card.bottleneck_text(following), "text")],
                        lines=[f"Attainment, last 4 quarters: {trend}.",
                               f"Team: the {len(members)} reps who share {card.name}'s manager; figures are medians."],
                        context=_context(ask, period, scope))
        if "chart" in ask.request.options:
            answer.chart = ChartSpec("scorecard", f"Scorecard · {card.name} vs team median",
                                     [(label, (card.figures[key], team.medians[key])) for key, label, _ in FIGURES],
                                     extra={"rep": card.name, "formats": {label: fmt for _, label, fmt in FIGURES}})
        return answer
    team = team_scorecards(ask.conn, reps_in(ask.conn, scope), period, ask.today, ask.fiscal, scope)
    ranked = sorted(team.cards, key=lambda c: (c.figures["attainment"] is None, -(c.figures["attainment"] or 0)))
    rows = [[c.name, c.figures["attainment"], c.figures["win_rate"], c.figures["pipeline_created"],
             c.bottleneck_text(following)] for c in ranked]
    table = Table([Column("rep"), Column("attainment (4 qtrs)", "ratio"), Column("win rate", "ratio"),
                   Column("pipeline created", "money"), Column("bottleneck")], rows)
    return Answer(kind="metric", title=f"Scorecards · {scope.label}", table=table,
                  context=_context(ask, period, scope))
