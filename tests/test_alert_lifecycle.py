"""Stalled-deal alerts over days, end to end: the jobs run as the scheduler runs them (alerts, nudges, digests),
buttons are clicked through the real bot, and the manager's escalations are read from the real morning digest
the fake Slack received.

Ivy (a rep in Denver, under Max in Chicago) has one stalled deal with a single reason: its close date, 30 Nov
2026, has passed (activity and stage are recent enough for the other rules until after these tests end). The
small org's other reps are made inactive, so no one else is nudged and nothing else can escalate. Ivy's nudge
goes at 09:00 Denver (16:00 UTC); Max's digest at 08:00 Chicago (14:00 UTC). ESCALATE_AFTER_DAYS is 3, so an
alert nudged on Monday 16:00 UTC is not escalated by Thursday's digest (2 days 22 hours) and is in Friday's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from db.schema import bot_alerts, opportunities, reps
from scheduler.alerts import refresh_alerts
from scheduler.context import JobContext
from scheduler.digests import run_digests
from scheduler.ledger import DeliveryLedger
from scheduler.nudges import run_nudges
from scheduler.sender import SlackSender
from tests.factories import Factory, at
from tests.slackbot import TOKEN
from tests.test_alerts import click, deal_text, deals_in, latest_dm

MONDAY = date(2026, 12, 7)
DEAL = "Ivy Globex renewal"
ESCALATED_LINE = (f"• {DEAL} (Ivy Ignored) · $6K — Close date in the past: close date 30 Nov 2026 passed "
                  "{days} days ago and the deal is still open — ignored 3 days")


def on(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def ivy(running_bot, small_org_clock):
    bot = running_bot
    f = Factory(bot.deps.engine)
    ivy_id = f.rep("Ivy Ignored", manager=bot.org["M"], timezone="America/Denver", slack_user_id="UIVY")
    bot.fake.add_user("UIVY", "ivy.ignored@example.com", "Ivy Ignored", tz="America/Denver")
    bot.deal = f.deal(ivy_id, "Proposal", 6000, date(2026, 11, 30), created=date(2026, 11, 2), name=DEAL,
                      stage_entered_at=at(date(2026, 11, 28)), last_activity_at=at(date(2026, 12, 6)),
                      next_step="Chase the signature")
    with bot.deps.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.id.in_([bot.org["A"], bot.org["B"], bot.org["C"]]))
                     .values(active=False))
    bot.ivy = ivy_id
    bot.clock = small_org_clock
    bot.ctx = JobContext(bot.deps.engine, bot.deps.settings,
                         SlackSender(WebClient(token=TOKEN, base_url=bot.fake.api_url), per_channel_interval=0),
                         DeliveryLedger(bot.deps.engine))
    assert bot.deps.settings.escalate_after_days == 3
    return bot


def tick(bot, now: datetime) -> None:
    """What the scheduler does at `now`: the alert lifecycle, then the nudges and digests that are due."""
    bot.clock.move_to(now)
    refresh_alerts(bot.ctx, now)
    run_nudges(bot.ctx, now)
    run_digests(bot.ctx, now, emails=["max.manager@example.com"], workers=1)


def max_digest_lines(bot, day: date) -> list[str]:
    """The lines of Max's morning digest of `day`, as the fake Slack received it."""
    posts = [m for m in bot.fake.messages(kind="message") if m.channel == "DUMAX"
             and (m.metadata or {}).get("event_payload", {}).get("period") == day.isoformat()]
    assert len(posts) == 1, f"{len(posts)} digests for Max on {day}"
    return [line for b in posts[0].blocks if b["type"] == "section" and b.get("text")
            for line in b["text"]["text"].split("\n")]


def escalations_in(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith("*Escalated alerts*"))
    return lines[start:start + 1] + [line for line in lines[start + 1:] if line.startswith("• ")]


def ivy_nudges(bot) -> list:
    return [m for m in bot.fake.messages(kind="message") if m.channel == "DUIVY"]


def alert_row(bot):
    with bot.deps.engine.connect() as conn:
        (row,) = conn.execute(select(bot_alerts).where(bot_alerts.c.opportunity_id == bot.deal)).all()
    return row


def test_an_ignored_alert_escalates_into_the_managers_real_digest(ivy):
    bot = ivy
    tick(bot, on(MONDAY, 14))  # Max's Monday digest; Ivy's nudge is not due yet
    tick(bot, on(MONDAY, 16))  # Ivy's nudge
    assert [deals_in(m) for m in ivy_nudges(bot)] == [{bot.deal}]
    assert alert_row(bot).notified_at == on(MONDAY, 16)
    for day in range(1, 4):  # Tue, Wed, Thu: Max's digest at 14:00 UTC, then Ivy's nudge at 16:00
        d = MONDAY + timedelta(days=day)
        tick(bot, on(d, 14))
        assert escalations_in(max_digest_lines(bot, d)) == ["*Escalated alerts*: none."], d
        assert alert_row(bot).escalated_at is None
        tick(bot, on(d, 16))
    thursday = MONDAY + timedelta(days=3)
    assert alert_row(bot).escalated_at == on(thursday, 16)  # exactly three days after the nudge

    friday = MONDAY + timedelta(days=4)
    tick(bot, on(friday, 14))
    assert escalations_in(max_digest_lines(bot, friday)) == [
        "*Escalated alerts*: 1 stalled-deal alert your reps have not acted on",
        ESCALATED_LINE.format(days=11),
    ]
    row = alert_row(bot)
    assert (row.status, row.rule, row.escalated_at) == ("open", "past_close_date", on(thursday, 16))
    assert row.notified_at == on(MONDAY, 16)  # the daily nudges did not restart the clock
    assert len(ivy_nudges(bot)) == 4  # Mon–Thu; Friday's is due at 16:00


def test_a_snooze_that_expires_returns_the_alert_and_then_it_escalates(ivy):
    bot = ivy
    tick(bot, on(MONDAY, 16))
    [dm] = ivy_nudges(bot)
    click(bot, "UIVY", dm, bot.deal, "snooze_7", channel="DUIVY")
    bot.fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("ts") == dm.ts)
    row = alert_row(bot)
    assert (row.status, row.snoozed_until, row.acted_by) == ("snoozed", MONDAY + timedelta(days=7), bot.ivy)

    for day in range(1, 7):  # Tue … Sun: no nudge, nothing escalated
        d = MONDAY + timedelta(days=day)
        tick(bot, on(d, 14))
        if d.weekday() < 5:
            assert escalations_in(max_digest_lines(bot, d)) == ["*Escalated alerts*: none."], d
        tick(bot, on(d, 16))
    assert len(ivy_nudges(bot)) == 1 and alert_row(bot).status == "snoozed"

    back = MONDAY + timedelta(days=7)  # the snooze ends: open again, nudged again, the clock starts again
    tick(bot, on(back, 14))
    row = alert_row(bot)
    assert (row.status, row.snoozed_until, row.notified_at, row.escalated_at) == ("open", None, None, None)
    assert escalations_in(max_digest_lines(bot, back)) == ["*Escalated alerts*: none."]
    tick(bot, on(back, 16))
    assert deals_in(ivy_nudges(bot)[-1]) == {bot.deal} and len(ivy_nudges(bot)) == 2
    assert alert_row(bot).notified_at == on(back, 16)

    for day in range(1, 4):  # Tue 15 … Thu 17: under three days since Monday's nudge
        d = back + timedelta(days=day)
        tick(bot, on(d, 14))
        assert escalations_in(max_digest_lines(bot, d)) == ["*Escalated alerts*: none."], d
        tick(bot, on(d, 16))
    friday = back + timedelta(days=4)
    tick(bot, on(friday, 14))
    assert escalations_in(max_digest_lines(bot, friday))[1:] == [ESCALATED_LINE.format(days=18)]


def test_a_snoozed_deal_that_closes_resolves_and_is_never_nudged_or_escalated_again(ivy):
    bot = ivy
    tick(bot, on(MONDAY, 16))
    [dm] = ivy_nudges(bot)
    click(bot, "UIVY", dm, bot.deal, "snooze_30", channel="DUIVY")
    bot.fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("ts") == dm.ts)
    assert alert_row(bot).snoozed_until == date(2027, 1, 6)

    won = on(MONDAY + timedelta(days=2), 16)  # Wednesday: the deal is won
    with bot.deps.engine.begin() as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == bot.deal)
                     .values(stage="Closed Won", closed_at=won, close_date=won.date()))
    bot.clock.move_to(won + timedelta(minutes=15))
    summary = refresh_alerts(bot.ctx, won + timedelta(minutes=15))
    assert (summary["resolved"], summary["messages_updated"]) == (1, 1)
    row = alert_row(bot)
    assert (row.status, row.resolved_at, row.escalated_at) == ("resolved", won + timedelta(minutes=15), None)
    assert "No longer stalled" in deal_text(bot.fake.posted(dm.channel, dm.ts), bot.deal)

    # the days after, and the days after the snooze would have ended: no nudge, no escalation, still resolved
    for d in (date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 14), date(2027, 1, 6), date(2027, 1, 7),
              date(2027, 1, 8)):
        tick(bot, on(d, 14))
        assert escalations_in(max_digest_lines(bot, d)) == ["*Escalated alerts*: none."], d
        tick(bot, on(d, 16))
    assert len(ivy_nudges(bot)) == 1 and latest_dm(bot, "UIVY").ts == dm.ts
    assert alert_row(bot).status == "resolved"
