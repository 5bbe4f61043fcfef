"""Digests and nudges across the autumn clock change, driven tick by tick like the scheduler drives them.

Clocks fall back in Europe on Sun 25 Oct 2026 (Berlin 03:00 CEST → 02:00 CET: 02:00–03:00 happens twice) and in
the US on Sun 1 Nov 2026 (New York 02:00 EDT → 01:00 EST: 01:00–02:00 happens twice). Both changes fall on a
Sunday, which gets no digest and no nudge, so a digest set inside the repeated hour must not go out that day and
must go out once, at the new UTC instant, on the next weekday. Egypt falls back on a Thursday (Thu 29 Oct 2026,
24:00 EEST → 23:00 EET: 23:00–24:00 happens twice), so a Cairo manager's 23:30 digest is a send inside the
repeated hour on a send day: it must go out once, at the first 23:30.

Every expected instant below is worked out by hand from the zones' offsets (EDT −4, EST −5, CEST +2, CET +1,
EEST +3, EET +2). The clock is frozen at each tick (time-machine), so the ledger's `sent_at` is the tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import insert, select

from db.schema import bot_delivery_ledger, bot_subscriptions
from scheduler.digest_schedule import Subscription, plan_slot, save_subscription_engine
from scheduler.digests import run_digests
from scheduler.nudges import run_nudges
from tests.factories import Factory, at
from tests.test_digest_schedule import BERLIN, NEW_YORK, dm_posts, make_ctx

BERLIN_CHANGE = date(2026, 10, 25)  # Sunday
US_CHANGE = date(2026, 11, 1)  # Sunday
CAIRO_CHANGE = date(2026, 10, 29)  # Thursday


def utc(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def ticks(start: datetime, end: datetime, minutes: int) -> Iterable[datetime]:
    t = start
    while t < end:
        yield t
        t += timedelta(minutes=minutes)


def drive(job: Callable[[datetime], dict], instants: Iterable[datetime]) -> None:
    """Run `job(now)` at each instant with the whole process's clock frozen there."""
    instants = list(instants)
    with time_machine.travel(instants[0], tick=False) as traveller:
        for now in instants:
            traveller.move_to(now)
            job(now)


def sent(engine, kind: str) -> list[tuple[str, str, datetime]]:
    """(recipient, period, sent_at in UTC to the minute) of every sent delivery of `kind`, in order. (The digest
    job's ledger runs on the job's `now` plus the seconds the run has taken: the minute is the tick's.)"""
    L = bot_delivery_ledger
    with engine.connect() as conn:
        rows = conn.execute(select(L.c.recipient, L.c.period, L.c.sent_at)
                            .where(L.c.kind == kind, L.c.status == "sent").order_by(L.c.sent_at)).all()
    return [(r.recipient, r.period, r.sent_at.astimezone(UTC).replace(second=0, microsecond=0)) for r in rows]


@pytest.fixture
def managers(db, fake_slack) -> dict[str, int]:
    """Three managers, each with one rep and an open deal: New York (digest at 01:30, inside the US repeated
    hour), Berlin (02:30, inside the EU repeated hour), Cairo (23:30, inside Egypt's); and two more at the
    default 08:00, in New York and Berlin."""
    f = Factory(db.engine)
    people = {}
    for key, name, zone in (("ny_night", "Nina Night", "America/New_York"),
                            ("berlin_night", "Bernd Nacht", "Europe/Berlin"),
                            ("cairo_night", "Camilia Layl", "Africa/Cairo"),
                            ("ny_morning", "Morgan Morning", "America/New_York"),
                            ("berlin_morning", "Greta Morgen", "Europe/Berlin")):
        user = "U" + key.upper().replace("_", "")
        boss = f.rep(name, role="manager", timezone=zone, slack_user_id=user)
        rep = f.rep(f"{name} Rep", manager=boss, timezone=zone)
        f.deal(rep, "Proposal", 1000, date(2026, 12, 15), created=date(2026, 10, 1))
        fake_slack.add_user(user, f"{name.lower().replace(' ', '.')}@example.com", name, tz=zone)
        people[key] = boss
    for key, at_time in (("ny_night", "01:30"), ("berlin_night", "02:30"), ("cairo_night", "23:30")):
        save_subscription_engine(db.engine, people[key], "digest", utc(date(2026, 10, 1), 12), send_time=at_time)
    return people


def test_a_digest_set_inside_the_repeated_hour_skips_the_sunday_and_keeps_its_local_time(db, fake_slack, managers):
    ctx = make_ctx(db.engine, fake_slack)
    # the fall-back Sunday is a weekend day in both repeated hours (both occurrences of 01:30 in New York)
    for now in (utc(US_CHANGE, 5, 30), utc(US_CHANGE, 6, 30)):
        assert plan_slot(1, "digest", NEW_YORK, Subscription(send_time="01:30"), ctx.settings, now).skip == "weekend"

    # every 10 minutes from Thu 22 Oct 00:00 UTC to Tue 3 Nov 12:00 UTC: both changes and the days around them
    drive(lambda now: run_digests(ctx, now, workers=1),
          ticks(utc(date(2026, 10, 22), 0), utc(date(2026, 11, 3), 12), 10))

    def instants(key: str) -> list[datetime]:
        return [s for recipient, _, s in sent(db.engine, "digest") if recipient == str(managers[key])]

    assert instants("ny_night") == [
        utc(date(2026, 10, 22), 5, 30), utc(date(2026, 10, 23), 5, 30),  # Thu, Fri 01:30 EDT
        utc(date(2026, 10, 26), 5, 30), utc(date(2026, 10, 27), 5, 30), utc(date(2026, 10, 28), 5, 30),
        utc(date(2026, 10, 29), 5, 30), utc(date(2026, 10, 30), 5, 30),
        utc(date(2026, 11, 2), 6, 30), utc(date(2026, 11, 3), 6, 30),  # Mon, Tue 01:30 EST
    ]
    assert instants("berlin_night") == [
        utc(date(2026, 10, 22), 0, 30), utc(date(2026, 10, 23), 0, 30),  # Thu, Fri 02:30 CEST
        utc(date(2026, 10, 26), 1, 30), utc(date(2026, 10, 27), 1, 30), utc(date(2026, 10, 28), 1, 30),
        utc(date(2026, 10, 29), 1, 30), utc(date(2026, 10, 30), 1, 30),  # 02:30 CET from Monday on
        utc(date(2026, 11, 2), 1, 30), utc(date(2026, 11, 3), 1, 30),
    ]
    # Thursday 29 Oct in Cairo: 23:30 happens twice; it went at the first (EEST), and not again at the second
    cairo = instants("cairo_night")
    assert utc(CAIRO_CHANGE, 20, 30) in cairo and utc(CAIRO_CHANGE, 21, 30) not in cairo
    assert cairo == [
        utc(date(2026, 10, 22), 20, 30), utc(date(2026, 10, 23), 20, 30),  # 23:30 EEST
        utc(date(2026, 10, 26), 20, 30), utc(date(2026, 10, 27), 20, 30), utc(date(2026, 10, 28), 20, 30),
        utc(CAIRO_CHANGE, 20, 30),
        utc(date(2026, 10, 30), 21, 30), utc(date(2026, 11, 2), 21, 30),  # 23:30 EET
    ]
    # one ledger row per local day, each for the day it was sent on, and one DM per row
    for key, user in (("ny_night", "UNYNIGHT"), ("berlin_night", "UBERLINNIGHT"), ("cairo_night", "UCAIRONIGHT")):
        rows = [(period, s) for recipient, period, s in sent(db.engine, "digest") if recipient == str(managers[key])]
        assert len({period for period, _ in rows}) == len(rows)
        assert len(dm_posts(fake_slack, user)) == len(rows)


def test_the_0800_digest_moves_by_an_hour_in_utc_on_the_first_weekday_after_the_change(db, fake_slack, managers):
    ctx = make_ctx(db.engine, fake_slack)
    keep = ["morgan.morning@example.com", "greta.morgen@example.com"]
    windows = [(utc(date(2026, 10, 23), 4), utc(date(2026, 10, 23), 14)),  # Friday before the EU change
               (utc(BERLIN_CHANGE, 0), utc(BERLIN_CHANGE + timedelta(days=1), 14)),  # Sun and Mon
               (utc(date(2026, 10, 30), 4), utc(date(2026, 10, 30), 14)),  # Friday before the US change
               (utc(US_CHANGE, 0), utc(US_CHANGE + timedelta(days=1), 14))]
    drive(lambda now: run_digests(ctx, now, emails=keep, workers=1),
          (t for start, end in windows for t in ticks(start, end, 5)))

    def instants(key: str) -> list[datetime]:
        return [s for recipient, _, s in sent(db.engine, "digest") if recipient == str(managers[key])]

    assert instants("ny_morning") == [utc(date(2026, 10, 23), 12), utc(date(2026, 10, 26), 12),  # 08:00 EDT
                                      utc(date(2026, 10, 30), 12), utc(date(2026, 11, 2), 13)]  # then EST
    assert instants("berlin_morning") == [utc(date(2026, 10, 23), 6), utc(date(2026, 10, 26), 7),  # CEST, CET
                                          utc(date(2026, 10, 30), 7), utc(date(2026, 11, 2), 7)]
    assert len(dm_posts(fake_slack, "UNYMORNING")) == 4 and len(dm_posts(fake_slack, "UBERLINMORNING")) == 4


@pytest.fixture
def reps_with_stalled_deals(db, fake_slack) -> dict[str, int]:
    """Reps in New York and Berlin with a deal stalled all autumn; a second New York rep chose 06:00 for the
    nudge, inside the default quiet hours (20:00–07:00)."""
    f = Factory(db.engine)
    out = {}
    for key, name, zone in (("ny", "Nell York", "America/New_York"), ("berlin", "Bea Spree", "Europe/Berlin"),
                            ("ny_early", "Ed Early", "America/New_York")):
        user = "U" + key.upper().replace("_", "")
        rep = f.rep(name, timezone=zone, slack_user_id=user)
        f.deal(rep, "Proposal", 5000, date(2027, 3, 31), created=date(2026, 6, 1), name=f"{name} deal",
               last_activity_at=at(date(2026, 8, 1)), next_step="Call")
        fake_slack.add_user(user, f"{name.lower().replace(' ', '.')}@example.com", name, tz=zone)
        out[key] = rep
    with db.engine.begin() as conn:
        conn.execute(insert(bot_subscriptions).values(rep_id=out["ny_early"], kind="nudge", enabled=True,
                                                      send_time="06:00", updated_at=utc(date(2026, 10, 1), 12)))
    return out


def test_nudges_go_once_a_local_weekday_and_never_in_quiet_hours_across_both_changes(db, fake_slack,
                                                                                     reps_with_stalled_deals):
    ctx = make_ctx(db.engine, fake_slack)
    # every 10 minutes from Fri 23 Oct to Tue 3 Nov 00:00 UTC (the nudge job's own period)
    drive(lambda now: run_nudges(ctx, now), ticks(utc(date(2026, 10, 23), 0), utc(date(2026, 11, 3), 0), 10))
    got = sent(db.engine, "nudge")
    rep = reps_with_stalled_deals

    def instants(key: str) -> list[datetime]:
        return [s for recipient, _, s in got if recipient == str(rep[key])]

    weekdays = [date(2026, 10, d) for d in (23, 26, 27, 28, 29, 30)] + [date(2026, 11, 2)]
    # 09:00 local: 13:00 UTC under EDT, 14:00 UTC under EST (from Monday 2 Nov)
    assert instants("ny") == [utc(d, 13) for d in weekdays[:-1]] + [utc(date(2026, 11, 2), 14)]
    # 09:00 local: 07:00 UTC under CEST (Friday 23 Oct), 08:00 UTC under CET (from Monday 26 Oct)
    assert instants("berlin") == [utc(weekdays[0], 7)] + [utc(d, 8) for d in weekdays[1:]]
    # asked for 06:00, inside quiet hours: held until they end at 07:00 local (11:00 UTC EDT, 12:00 UTC EST)
    assert instants("ny_early") == [utc(d, 11) for d in weekdays[:-1]] + [utc(date(2026, 11, 2), 12)]
    # one per local day, each on the local date it names
    zones = {str(rep["ny"]): NEW_YORK, str(rep["ny_early"]): NEW_YORK, str(rep["berlin"]): BERLIN}
    for recipient, period, s in got:
        local = s.astimezone(zones[recipient])
        assert local.date().isoformat() == period and 7 <= local.hour < 20
    assert len({(r, p) for r, p, _ in got}) == len(got)
    for user, key in (("UNY", "ny"), ("UBERLIN", "berlin"), ("UNYEARLY", "ny_early")):
        assert len(dm_posts(fake_slack, user)) == len(instants(key)) == 7
