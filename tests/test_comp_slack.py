"""`/sales commission` and `/sales scorecard` through the real bot and the fake Slack, on the small org of
tests/orgs.py with a plans file loaded: a rep sees their own estimate and what their own deal would add, never
another rep's deal or scorecard; a manager gets their reps ranked. Figures are worked out by hand here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from metrics.comp_plans import store_version
from tests.factories import Factory
from tests.test_comp_payout import PLANS
from tests.test_permissions import SCOPE_REFUSAL, assert_refused, by_slash_command, shown


@pytest.fixture
def bot(running_bot):
    """The plan `AE` for every rep (tests/test_comp_payout.py): quarterly target incentive 30000, marginal bands
    0–50% at 0.5×, 50–100% at 1×, above at 1.5×; base rate = 30000 ÷ quota. Bob has an open deal of his own."""
    engine = running_bot.deps.engine
    Factory(engine).deal(running_bot.org["B"], "Negotiation", 900, date(2026, 12, 20), name="Globex expansion")
    with engine.begin() as conn:
        store_version(conn, PLANS.replace("MODE", "marginal"), "plans.yml", date(2026, 1, 1), datetime.now(UTC))
    return running_bot


def test_a_rep_sees_their_own_estimate(bot):
    text = by_slash_command(bot, "UANN", "commission")
    # Ann, Q4: 3000 closed won of a 10000 quota (30%), all in the first band: 3000 × 0.5 × 30000/10000 = 4500.
    # Her commit (Negotiation 2000) closing: 5000 (50%), still the first band: 5000 × 0.5 × 3 = 7500.
    assert "*Earned so far (estimate)*\\n$4.5K" in text
    assert "*If your commit closes (estimate)*\\n$7.5K" in text
    assert "*Attainment*\\n30%" in text
    assert "Every figure here is an estimate under your comp plan, not a payroll figure." in text
    # Bob's payout (1000 + 2000 of 5000: 2500 × 0.5 × 6 + 500 × 1 × 6 = 10500) and Cat's
    # (5000 of 8000: 4000 × 0.5 × 3.75 + 1000 × 3.75 = 11250) are not in it
    assert not shown(text, {Decimal(10500), Decimal(11250)}) and "$11.3K" not in text


def test_what_if_on_a_reps_own_deal_adds_the_difference_of_two_payouts(bot):
    text = by_slash_command(bot, "UANN", "commission what if Acme platform")
    rate = Decimal(30000) / Decimal(10000)
    before = Decimal(3000) * Decimal("0.5") * rate  # 3000 of 10000: the first band
    after = Decimal(4000) * Decimal("0.5") * rate  # with Acme platform's 1000: 4000 of 10000, still the first band
    assert (before, after) == (4500, 6000)
    assert f"Acme platform closing adds ${after - before:,.0f} (estimate), taking you to 40%." in text


def test_what_if_on_another_reps_deal_is_refused_without_a_figure(bot):
    text = by_slash_command(bot, "UANN", "commission what if Globex expansion")
    assert "I can't find a deal called “Globex expansion” among your deals." in text
    assert "900" not in text and "adds" not in text


def test_a_manager_gets_their_reps_ranked(bot):
    text = by_slash_command(bot, "UMAX", "scorecard")
    # Max's tree: Ann and Bob. Attainment over the last 4 quarters, the quarters with a quota only:
    # Bob 3000 / 5000 = 60% (Q4); Ann (0 / 9000 in Q3 + 3000 / 10000 in Q4) / 2 = 15%: Bob ranks first.
    # Win rate in Q4: Bob 2 won of 2 closed = 100%; Ann 1 won, 1 lost = 50%.
    assert "Scorecards · Max Manager's team" in text
    rows = [line.split() for line in text.split("\\n") if line.startswith(("Ann Rep", "Bob Rep", "Cat Rep"))]
    assert [row[:4] for row in rows] == [["Bob", "Rep", "60%", "100%"], ["Ann", "Rep", "15%", "50%"]]


def test_a_rep_cannot_see_another_reps_scorecard(bot):
    text = by_slash_command(bot, "UANN", "scorecard bob")
    assert_refused(text, SCOPE_REFUSAL, bot, {"B"})
    assert "%" not in text
