"""Scorecards on a constructed team where the bottleneck is known, figures against pandas, who may see whom."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from assistant.service import answer_text
from config import load_settings
from metrics.periods import Period
from metrics.scopes import viewer_by_email
from metrics.scorecard import team_scorecards
from tests.factories import Factory, at
from tests.oracles import read_tables

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
PATH = ("Prospecting", "Qualification", "Proposal", "Negotiation")


@pytest.fixture
def team(db, small_org_clock):
    """Three reps under one manager. Each deal enters Prospecting on Oct 5 and walks the path up to a stage; Rita's
    deals stall at Proposal (1 of 5 reach Negotiation: 20%) while Sam and Tom get 4 of 5 (80%) through."""
    f = Factory(db.engine)
    m = f.rep("Meg Boss", role="manager", team="North")
    ids = {n: f.rep(n, manager=m, team="North") for n in ("Rita Slow", "Sam Fast", "Tom Fast")}
    reach = {"Rita Slow": [3, 3, 3, 3, 4], "Sam Fast": [4, 4, 4, 4, 3], "Tom Fast": [4, 4, 4, 4, 3]}
    for name, tops in reach.items():
        for k, top in enumerate(tops):
            opp = f.deal(ids[name], PATH[top - 1], 1000 * (k + 1), date(2027, 1, 31), created=date(2026, 10, 5),
                         history=False)
            for step in range(top):
                f.history(opp, at(date(2026, 10, 5) + timedelta(days=step * 7)), stage=PATH[step])
    for rid in ids.values():
        for k in range(3):
            f.activity(None, rid, at(date(2026, 10, 6 + k)), kind="call")
    return ids


def test_the_bottleneck_is_the_stage_furthest_below_the_team(db, team):
    with db.engine.connect() as conn:
        result = team_scorecards(conn, [(i, n) for n, i in team.items()], Q4, date(2026, 12, 1), 1)
    rita = next(c for c in result.cards if c.name == "Rita Slow")
    # Proposal: Rita 1/5 = 20%; team median of (20%, 80%, 80%) = 80%; 5 deals entered
    assert rita.bottleneck == ("Proposal", Decimal("0.2"), Decimal("0.8"), 5)
    assert rita.bottleneck_text({"Proposal": "Negotiation"}) == "Proposal → Negotiation: 20% vs team 80%, 5 deals"
    assert all(c.bottleneck is None for c in result.cards if c.name != "Rita Slow")


def test_scorecard_figures_against_pandas(db, team):
    with db.engine.connect() as conn:
        result = team_scorecards(conn, [(i, n) for n, i in team.items()], Q4, date(2026, 12, 1), 1)
        deals = read_tables(conn).deals
    in_q4 = [Q4.start <= c.date() <= Q4.end for c in deals["created_at"]]
    created = {o: sum(g["amount"], Decimal(0))
               for o, g in deals[pd.Series(in_q4, index=deals.index)].groupby("owner_id")}
    for card in result.cards:
        assert card.figures["pipeline_created"] == created[card.rep_id]  # 1000+…+5000 = 15000 each
        assert card.figures["activities_per_week"] == (Decimal(3) / (Decimal(92) / 7)).quantize(Decimal("0.1"))
    assert result.medians["pipeline_created"] == Decimal(15000)


def test_who_sees_which_scorecard(db, team):
    settings = load_settings()
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)

    def ask(email, text):
        with db.engine.connect() as conn:
            viewer = viewer_by_email(conn, email)
        return answer_text(db.engine, viewer, text, settings=settings, now=now)

    assert ask("rita.slow@example.com", "/sales scorecard sam fast").kind == "refusal"
    own = ask("rita.slow@example.com", "/sales scorecard")
    assert own.title == "Scorecard · Rita Slow"
    assert own.figures[0].value == "Proposal → Negotiation: 20% vs team 80%, 5 deals"
    manager = ask("meg.boss@example.com", "/sales scorecard team")
    assert {r[0] for r in manager.table.rows} == {"Rita Slow", "Sam Fast", "Tom Fast"}
    rita = [r[4] for r in manager.table.rows if r[0] == "Rita Slow"]
    assert rita == ["Proposal → Negotiation: 20% vs team 80%, 5 deals"]


@pytest.mark.parametrize("tree", [False, True])
def test_attainment_trend_is_each_quarters_attainment(db, tree):
    """The scorecard's four quarters of attainment, read by one grouped query, are `evaluate`'s for each quarter
    (by rep, over the org or a manager's tree)."""
    from metrics.cache import ResultCache
    from metrics.evaluate import evaluate
    from metrics.scopes import Scope
    from metrics.scorecard import attainment_by_quarter, last_four_quarters
    from tests.orgs import build_small_org

    ids = build_small_org(db.engine)
    scope = Scope("tree", "Max's team", rep_id=ids["M"]) if tree else Scope("org", "org")
    today = date(2026, 11, 25)
    quarters = last_four_quarters(Q4, 1)
    with db.engine.connect() as conn:
        trend = attainment_by_quarter(conn, quarters, scope, today, 1, ResultCache(0))
        for (label, rows), q in zip(trend, quarters, strict=True):
            alone = {r["rep_id"]: r["value"] for r in evaluate(conn, "attainment", q, scope, by="rep_id",
                                                               today=today, cache=ResultCache(0)).rows}
            assert label == q.label
            assert {rep: r["value"] for rep, r in rows.items()} == alone
    assert any(v is not None for _, rows in trend for v in (r["value"] for r in rows.values()))
