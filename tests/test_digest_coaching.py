"""The manager digest's weekly coaching section: on Mondays only, at most three reps, each with their bottleneck
stage against the team; absent when no rep has one. Figures worked out by hand on a constructed team."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from config import load_settings
from metrics.scopes import viewer_by_email
from scheduler.digests import preview_digest
from tests.factories import Factory, at

MONDAY = datetime(2026, 11, 30, 15, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)
PATH = ("Prospecting", "Qualification", "Proposal", "Negotiation")
HEAD = ("*Coaching this week*: stage conversion over the last 90 days, against the median of your reps")


def build_team(engine, advanced_past_proposal: dict[str, int], deals: int = 5) -> None:
    """Meg Boss manages the reps named; each rep has `deals` deals that enter Prospecting on Oct 5 and walk a
    stage a week up to Proposal; `advanced_past_proposal[rep]` of them then reach Negotiation."""
    f = Factory(engine)
    meg = f.rep("Meg Boss", role="manager", team="North")
    for name, advanced in advanced_past_proposal.items():
        rep = f.rep(name, manager=meg, team="North")
        for k in range(deals if advanced < 5 else 5):
            top = 4 if k < advanced else 3
            opp = f.deal(rep, PATH[top - 1], 1000, date(2027, 1, 31), created=date(2026, 10, 5), history=False)
            for step in range(top):
                f.history(opp, at(date(2026, 10, 5) + timedelta(days=step * 7)), stage=PATH[step])


def digest_at(db, when: datetime):
    """Meg's digest as it would be sent at `when` (the clock held there: her local today)."""
    with time_machine.travel(when, tick=False):
        with db.engine.connect() as conn:
            viewer = viewer_by_email(conn, "meg.boss@example.com")
        return preview_digest(db.engine, load_settings(), viewer, datetime.now(UTC))


def coaching_lines(digest) -> list[str]:
    lines = digest.answer.lines
    if HEAD not in lines:
        return []
    start = lines.index(HEAD)
    return lines[start:lines.index("", start) if "" in lines[start:] else len(lines)]


# Proposal → Negotiation per rep: Ada 0/5, Ben 1/5, Cy 2/5, Dee 3/5, and four reps 5/5: the team median of
# (0, 20, 40, 60, 100, 100, 100, 100)% is (60 + 100) / 2 = 80%. Four reps are below it; the three furthest below
# are named, furthest first. Prospecting and Qualification convert 100% for everyone; no Negotiation deal moves on,
# so everyone with Negotiation deals is at the team median (0%) there.
TEAM = {"Ada Zero": 0, "Ben One": 1, "Cy Two": 2, "Dee Three": 3, "Eve Five": 5, "Fay Five": 5, "Gus Five": 5,
        "Hal Five": 5}


def test_monday_names_the_three_reps_furthest_below_the_team(db):
    build_team(db.engine, TEAM)
    digest = digest_at(db, MONDAY)
    assert coaching_lines(digest) == [
        HEAD,
        "• Ada Zero — Proposal → Negotiation: 0% vs team 80%, 5 deals",
        "• Ben One — Proposal → Negotiation: 20% vs team 80%, 5 deals",
        "• Cy Two — Proposal → Negotiation: 40% vs team 80%, 5 deals",
    ]
    assert digest.figures["coaching"] == ["Ada Zero", "Ben One", "Cy Two"]


def test_no_coaching_on_a_tuesday(db):
    build_team(db.engine, TEAM)
    digest = digest_at(db, TUESDAY)
    assert digest.figures["coaching"] == []
    assert not any("Coaching" in line for line in digest.answer.lines)


@pytest.mark.parametrize(("team", "deals"), [
    ({"Eve Five": 5, "Fay Five": 5, "Gus Five": 5}, 5),  # nobody below the team
    ({"Ada Zero": 0, "Eve Five": 5, "Fay Five": 5}, 2),  # Ada is below, but 2 deals entered Proposal: too few
])
def test_absent_when_no_rep_has_a_bottleneck(db, team, deals):
    build_team(db.engine, team, deals)
    digest = digest_at(db, MONDAY)
    assert digest.figures["coaching"] == []
    assert not any("Coaching" in line for line in digest.answer.lines)
