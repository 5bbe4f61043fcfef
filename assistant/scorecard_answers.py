"""`/sales scorecard [rep|team]`: a rep against their team's median with the bottleneck stage named; a manager's
view ranks their reps, each with their bottleneck."""

from __future__ import annotations

from assistant.answer_parts import _context
from assistant.ask import Ask
from i18n import _
from metrics.scorecard import FIGURES, next_stages, reps_in, team_of, team_scorecards
from render.answers import Answer, ChartSpec, Column, Figure, Table
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
        team = team_scorecards(ask.conn, members, period, ask.today, ask.fiscal, team_scope, ask.cache)
        card = next(c for c in team.cards if c.rep_id == scope.rep_id)
        rows = [[_(label), shown(card.figures[key], fmt), shown(team.medians[key], fmt)]
                for key, label, fmt in FIGURES]
        table = Table([Column(_("figure")), Column(card.name), Column(_("team median"))], rows)
        trend = ", ".join(f"{label} {'-' if a is None else f'{a * 100:.0f}%'}" for label, a in card.attainment_trend)
        answer = Answer(kind="metric", title=_("Scorecard · {rep}").format(rep=card.name), table=table,
                        figures=[Figure(_("Bottleneck"), card.bottleneck_text(following), "text")],
                        lines=[_("Attainment, last 4 quarters: {trend}.").format(trend=trend),
                               _("Team: the {count} reps who share {rep}'s manager; figures are medians.").format(
                                   count=len(members), rep=card.name)],
                        context=_context(ask, period, scope))
        if "chart" in ask.request.options:
            answer.chart = ChartSpec("scorecard", _("Scorecard · {rep} vs team median").format(rep=card.name),
                                     [(_(label), (card.figures[key], team.medians[key])) for key, label, _f in FIGURES],
                                     extra={"rep": card.name,
                                            "formats": {_(label): fmt for _k, label, fmt in FIGURES}})
        return answer
    team = team_scorecards(ask.conn, reps_in(ask.conn, scope), period, ask.today, ask.fiscal, scope, ask.cache)
    ranked = sorted(team.cards, key=lambda c: (c.figures["attainment"] is None, -(c.figures["attainment"] or 0)))
    rows = [[c.name, c.figures["attainment"], c.figures["win_rate"], c.figures["pipeline_created"],
             c.bottleneck_text(following)] for c in ranked]
    table = Table([Column(_("rep")), Column(_("attainment (4 qtrs)"), "ratio"), Column(_("win rate"), "ratio"),
                   Column(_("pipeline created"), "money"), Column(_("bottleneck"))], rows)
    return Answer(kind="metric", title=_("Scorecards · {scope}").format(scope=scope.label), table=table,
                  context=_context(ask, period, scope))
