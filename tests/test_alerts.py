"""The stalled-deal alert lifecycle end to end: nudges from the job, clicks and modal submissions as signed
requests to the real bot (slack-bolt over HTTP), Slack played by the fake. The clock is moved with time-machine
for the whole process (the bot, the fake and the jobs share it)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from db.schema import bot_alerts, opportunities
from render.nudges import SNOOZE_CALLBACK_ID, SNOOZE_DATE_ACTION, SNOOZE_DATE_BLOCK, SNOOZE_REASON_ACTION
from render.nudges import SNOOZE_REASON_BLOCK as REASON_BLOCK
from scheduler.alerts import escalated_alerts, refresh_alerts
from scheduler.context import JobContext
from scheduler.ledger import DeliveryLedger
from scheduler.nudges import run_nudges
from scheduler.sender import SlackSender
from tests.fakeslack import date_value, input_value, post_block_action, post_view_submission
from tests.slackbot import SECRET, TOKEN

MONDAY = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)  # 09:30 in New York (Ann), 14:30 in London (Bob)


def on(day: date, hour: int = 14, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock(small_org_clock):
    """The small org's clock moved on to MONDAY: one traveller, so `move_to` moves the clock the bot reads."""
    small_org_clock.move_to(MONDAY)
    return small_org_clock


@pytest.fixture
def bot(clock, running_bot):
    running_bot.ctx = JobContext(running_bot.deps.engine, running_bot.deps.settings,
                                 SlackSender(WebClient(token=TOKEN, base_url=running_bot.fake.api_url),
                                             per_channel_interval=0),
                                 DeliveryLedger(running_bot.deps.engine))
    running_bot.clock = clock
    return running_bot


def ann_deal(bot, amount: int) -> int:
    with bot.deps.engine.connect() as conn:
        return conn.execute(select(opportunities.c.id).where(opportunities.c.owner_id == bot.org["A"],
                                                             opportunities.c.amount == Decimal(amount))).scalar_one()


def statuses(bot, opp_id: int) -> set[str]:
    with bot.deps.engine.connect() as conn:
        return {r.status for r in conn.execute(select(bot_alerts.c.status)
                                               .where(bot_alerts.c.opportunity_id == opp_id))}


def alert_rows(bot, opp_id: int):
    with bot.deps.engine.connect() as conn:
        return conn.execute(select(bot_alerts).where(bot_alerts.c.opportunity_id == opp_id)).all()


def nudge_day(bot, now: datetime) -> dict:
    """Move the clock to `now`, refresh the alerts and run the nudge job."""
    bot.clock.move_to(now)
    refresh_alerts(bot.ctx, now)
    return run_nudges(bot.ctx, now)


def latest_dm(bot, user: str):
    found = [m for m in bot.fake.messages(kind="message") if m.channel == f"D{user}"]
    return found[-1] if found else None


def deals_in(message) -> set[int]:
    return {int(b["block_id"].split("-")[1]) for b in message.blocks or [] if b.get("block_id", "").startswith("deal-")}


def buttons_for(message, opp_id: int) -> dict[str, dict]:
    for block in message.blocks:
        if block.get("block_id") == f"nudge-{opp_id}":
            return {el["action_id"]: el for el in block["elements"]}
    raise AssertionError(f"no buttons for deal {opp_id}")


def deal_text(posted: dict, opp_id: int) -> str:
    return next(b["text"]["text"] for b in posted["blocks"] if b.get("block_id") == f"deal-{opp_id}")


def click(bot, user: str, message, opp_id: int, kind: str, channel: str = "DUANN"):
    button = buttons_for(message, opp_id)[f"sales_{kind}"]
    posted = bot.fake.posted(message.channel, message.ts)
    status, _ = post_block_action(bot.url, SECRET, user, button["action_id"], value=button["value"],
                                  message=posted, channel_id=channel)
    assert status == 200


def updates_of(bot, message) -> list:
    return [m for m in bot.fake.messages(kind="update") if m.channel == message.channel and m.ts == message.ts]


def test_snooze_7_days_hides_the_deal_until_the_date(bot):
    assert nudge_day(bot, MONDAY)["sent"] == 2  # Ann and Bob
    dm = latest_dm(bot, "UANN")
    acme = ann_deal(bot, 1000)
    assert acme in deals_in(dm)

    click(bot, "UANN", dm, acme, "snooze_7")
    bot.fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("ts") == dm.ts)
    assert statuses(bot, acme) == {"snoozed"}
    assert {r.snoozed_until for r in alert_rows(bot, acme)} == {date(2026, 12, 14)}
    after = bot.fake.posted(dm.channel, dm.ts)  # the same DM, updated in place
    assert "Snoozed until 14 Dec 2026" in deal_text(after, acme)
    assert not any(b.get("block_id") == f"nudge-{acme}" for b in after["blocks"])  # no buttons left on it

    for day in (date(2026, 12, 8), date(2026, 12, 11)):  # hidden on the days before the date
        nudge_day(bot, on(day))
        dm = latest_dm(bot, "UANN")
        assert acme not in deals_in(dm) and deals_in(dm)
        assert statuses(bot, acme) == {"snoozed"}

    nudge_day(bot, on(date(2026, 12, 14)))  # back on the date
    assert statuses(bot, acme) == {"open"}
    assert acme in deals_in(latest_dm(bot, "UANN"))


def test_snooze_with_a_date_and_reason_through_the_modal(bot):
    nudge_day(bot, MONDAY)
    dm = latest_dm(bot, "UANN")
    deal = ann_deal(bot, 2000)
    click(bot, "UANN", dm, deal, "snooze_custom")
    [opened] = bot.fake.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == SNOOZE_CALLBACK_ID
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds == {SNOOZE_DATE_BLOCK: "datepicker", REASON_BLOCK: "plain_text_input"}

    def submit(day: str | None, reason: str | None):
        values = {SNOOZE_DATE_BLOCK: {SNOOZE_DATE_ACTION: date_value(day)},
                  REASON_BLOCK: {SNOOZE_REASON_ACTION: input_value(reason)}}
        return post_view_submission(bot.url, SECRET, "UANN", SNOOZE_CALLBACK_ID, values,
                                    private_metadata=view["private_metadata"])

    # a date in the past and a missing reason go back to the modal as field errors
    bad = submit("2026-12-01", "")
    assert bad.status == 200 and bad.json()["response_action"] == "errors"
    assert set(bad.json()["errors"]) == {SNOOZE_DATE_BLOCK, REASON_BLOCK}
    assert statuses(bot, deal) == {"open"}

    ok = submit("2026-12-21", "Budget frozen until the new year")
    assert ok.status == 200 and not ok.body
    bot.fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("ts") == dm.ts)
    rows = alert_rows(bot, deal)
    assert {r.status for r in rows} == {"snoozed"}
    assert {(r.snoozed_until, r.snooze_reason) for r in rows} == {(date(2026, 12, 21),
                                                                   "Budget frozen until the new year")}
    assert "Budget frozen until the new year" in deal_text(bot.fake.posted(dm.channel, dm.ts), deal)

    nudge_day(bot, on(date(2026, 12, 18)))
    assert deal not in deals_in(latest_dm(bot, "UANN"))
    nudge_day(bot, on(date(2026, 12, 21)))
    assert deal in deals_in(latest_dm(bot, "UANN"))


def test_still_active_holds_until_the_deal_changes(bot):
    nudge_day(bot, MONDAY)
    dm = latest_dm(bot, "UANN")
    deal = ann_deal(bot, 4000)
    click(bot, "UANN", dm, deal, "still_active")
    bot.fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("ts") == dm.ts)
    assert statuses(bot, deal) == {"acknowledged"}
    assert all(r.acknowledged_state for r in alert_rows(bot, deal))
    assert "Marked still active" in deal_text(bot.fake.posted(dm.channel, dm.ts), deal)

    for day in (date(2026, 12, 8), date(2026, 12, 9)):  # nothing changed: it stays quiet
        nudge_day(bot, on(day))
        assert deal not in deals_in(latest_dm(bot, "UANN"))
        assert statuses(bot, deal) == {"acknowledged"}

    with bot.deps.engine.begin() as conn:  # the deal changes (amount), still stalled
        conn.execute(update(opportunities).where(opportunities.c.id == deal).values(amount=Decimal("4500")))
    bot.clock.move_to(on(date(2026, 12, 10)))
    refresh_alerts(bot.ctx, on(date(2026, 12, 10)))
    assert statuses(bot, deal) == {"open"}
    run_nudges(bot.ctx, on(date(2026, 12, 10)))
    assert deal in deals_in(latest_dm(bot, "UANN"))


def test_a_resolved_deal_updates_the_dm(bot):
    nudge_day(bot, MONDAY)
    dm = latest_dm(bot, "UANN")
    deal = ann_deal(bot, 2000)
    with bot.deps.engine.begin() as conn:  # won: no stalled rule fires on a closed deal
        conn.execute(update(opportunities).where(opportunities.c.id == deal)
                     .values(stage="Closed Won", closed_at=MONDAY))
    bot.clock.move_to(on(date(2026, 12, 7), 16))
    summary = refresh_alerts(bot.ctx, on(date(2026, 12, 7), 16))
    # the deal (created 5 Jan, in Negotiation since, no activity, closing 15 Dec) had tripped two rules:
    # no activity for 14+ days and stuck in stage for more than 30 days (no expected_days, too few won samples)
    assert (summary["resolved"], summary["messages_updated"]) == (2, 1)
    with bot.deps.engine.connect() as conn:
        resolved = {(r.rule, r.opportunity_id) for r in conn.execute(
            select(bot_alerts.c.rule, bot_alerts.c.opportunity_id).where(bot_alerts.c.status == "resolved"))}
    assert resolved == {("no_activity", deal), ("stuck_in_stage", deal)}
    [upd] = updates_of(bot, dm)  # chat.update on the original ts
    assert upd.ts == dm.ts
    text = deal_text(bot.fake.posted(dm.channel, dm.ts), deal)
    assert "No longer stalled" in text
    assert statuses(bot, deal) == {"resolved"}
    # the others still have their buttons
    others = deals_in(dm) - {deal}
    assert others and all(buttons_for(upd, o) for o in others)


def test_someone_elses_click_is_refused_politely(bot):
    nudge_day(bot, MONDAY)
    dm = latest_dm(bot, "UANN")
    deal = ann_deal(bot, 1000)
    for user in ("UBOB", "UOLLY"):  # a peer on another team, and ops: not Ann's manager chain
        click(bot, user, dm, deal, "snooze_30")
        note = bot.fake.wait_for_messages(1, kind="ephemeral", timeout=10)[-1]
        assert note.user == user and "Sorry" in note.text
        assert ("Ann Rep" in note.text) is (user == "UOLLY")  # only ops, who see every deal, are told whose it is
        bot.fake.reset()
    assert statuses(bot, deal) == {"open"}

    click(bot, "UMAX", dm, deal, "snooze_30")  # Ann's manager may
    bot.fake.wait_for("chat.update")
    assert statuses(bot, deal) == {"snoozed"}
    assert {r.snoozed_until for r in alert_rows(bot, deal)} == {date(2027, 1, 6)}  # 30 days, Max's calendar


def test_an_ignored_alert_escalates_to_the_managers_digest(bot):
    after = bot.deps.settings.escalate_after_days
    assert after == 3
    nudge_day(bot, MONDAY)  # Ann and Bob are told on Monday
    dm = latest_dm(bot, "UANN")
    snoozed = ann_deal(bot, 1000)
    click(bot, "UANN", dm, snoozed, "snooze_7")
    bot.fake.wait_for("chat.update")

    wednesday = on(date(2026, 12, 9))
    nudge_day(bot, wednesday)
    with bot.deps.engine.connect() as conn:
        assert escalated_alerts(conn, bot.org["M"], wednesday) == []

    thursday = on(date(2026, 12, 10))  # three days after the first nudge
    nudge_day(bot, thursday)
    with bot.deps.engine.connect() as conn:
        for_max = escalated_alerts(conn, bot.org["M"], thursday)
        for_mia = escalated_alerts(conn, bot.org["M2"], thursday)
        for_ann = escalated_alerts(conn, bot.org["A"], thursday)
    owners = {e.owner_name for e in for_max}
    assert owners == {"Ann Rep", "Bob Rep"}  # Max's tree: Ann directly, Bob under Mia
    assert {e.owner_name for e in for_mia} == {"Bob Rep"}
    assert for_ann == []
    assert snoozed not in {e.opportunity_id for e in for_max}  # snoozed is not ignored
    first = for_max[0]
    assert first.days_ignored == 3 and first.deal_name and first.rule_title and first.detail and first.record
    with pytest.raises(AttributeError):
        first.days_ignored = 4  # frozen
    # acting on it takes it off the manager's list
    click(bot, "UANN", latest_dm(bot, "UANN"), first.opportunity_id, "still_active")
    bot.fake.wait_for(lambda c: c.method == "chat.update" and json.dumps(c.params.get("blocks")).count(
        "Marked still active") >= 1)
    with bot.deps.engine.connect() as conn:
        assert first.opportunity_id not in {e.opportunity_id for e in escalated_alerts(conn, bot.org["M"], thursday)}


def test_buttons_on_a_deal_card_work_without_a_nudge(bot):
    """A `/sales deal` card carries the record id: the click creates the alert rows and confirms privately."""
    deal = ann_deal(bot, 700)
    with bot.deps.engine.connect() as conn:
        record = conn.execute(select(opportunities.c.external_id).where(opportunities.c.id == deal)).scalar_one()
    status, _ = post_block_action(bot.url, SECRET, "UANN", "sales_snooze_7.2", value=record, channel_id="DUANN")
    assert status == 200
    note = bot.fake.wait_for_messages(1, kind="ephemeral", timeout=10)[-1]
    assert "Snoozed" in note.text and "14 Dec 2026" in note.text
    assert statuses(bot, deal) == {"snoozed"}

