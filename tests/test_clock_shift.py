"""The test clock itself: TEST_CLOCK_SHIFT_DAYS really moves the session's clock (so CI's run a year ahead is not
a third run on today's date), and small_org_clock really holds the small org's moment."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from time_machine import escape_hatch

from tests.conftest import CLOCK_SHIFT_DAYS, SMALL_ORG_NOW

SHIFT_SECONDS = CLOCK_SHIFT_DAYS * 86_400


def wall_clock() -> float:
    """The real clock, read past time-machine (its escape hatch answers only while it is travelling)."""
    return escape_hatch.time.time() if escape_hatch.is_travelling() else time.time()


@pytest.mark.skipif(not CLOCK_SHIFT_DAYS, reason="the clock is shifted only when TEST_CLOCK_SHIFT_DAYS is set")
def test_the_session_clock_runs_the_asked_days_ahead_of_the_wall_clock():
    wall_before = wall_clock()
    now, today = time.time(), date.today()
    aware_now = datetime.now(UTC).timestamp()
    wall_after = wall_clock()
    assert wall_before + SHIFT_SECONDS - 1 <= now <= wall_after + SHIFT_SECONDS + 1
    assert wall_before + SHIFT_SECONDS - 1 <= aware_now <= wall_after + SHIFT_SECONDS + 1
    # two readings of the wall clock: they name the same day unless midnight fell between them
    assert today in {date.fromtimestamp(wall_before + SHIFT_SECONDS), date.fromtimestamp(wall_after + SHIFT_SECONDS)}


def test_small_org_clock_holds_the_small_orgs_moment_whatever_the_shift(small_org_clock):
    assert timedelta(0) <= datetime.now(UTC) - SMALL_ORG_NOW < timedelta(minutes=1)
    assert date.today() == SMALL_ORG_NOW.date()
