"""The stalled-deal nudge job, called directly with a chosen `now`, against the fake Slack."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlalchemy import func, insert, select, update

from config import load_settings
from db.engine import create_raw_engine
from db.schema import bot_alerts, bot_delivery_ledger, bot_nudge_items, bot_subscriptions, reps
from render.nudges import Nudge, NudgeDeal, NudgeReason, nudge_message, parse_button_value
from scheduler.context import JobContext
from scheduler.ledger import Delivery, DeliveryLedger
from scheduler.nudges import in_quiet_hours, nudge_due, quiet_window, run_nudges
from scheduler.sender import SlackSender
from tests.factories import Factory, at

MONDAY = date(2026, 12, 7)


def make_ctx(engine, fake, **settings_overrides) -> JobContext:
    settings = replace(load_settings({}), slack_bot_token="xoxb-test", slack_api_url=fake.api_url,
                       crm_url_template="https://crm.example.com/opp/{id}", **settings_overrides)
    client = WebClient(token="xoxb-test", base_url=fake.api_url)
    return JobContext(engine, settings, SlackSender(client, per_channel_interval=0), DeliveryLedger(engine))


def utc(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def stalled_deal(f: Factory, owner: int, amount, name: str, **kw) -> int:
    """Open, created in January, no activity since 1 Nov: trips no_activity and stuck_in_stage in December."""
    return f.deal(owner, kw.pop("stage", "Proposal"), amount, kw.pop("close_date", date(2027, 2, 26)), name=name,
                  last_activity_at=at(date(2026, 11, 1)), next_step="Call back", **kw)


@pytest.fixture
def org(db, fake_slack):
    f = Factory(db.engine)
    boss = f.rep("Max Manager", role="manager", timezone="America/Chicago", slack_user_id="UMAX")
    ann = f.rep("Ann Rep", manager=boss, timezone="America/New_York")  # Slack user found by email
    bob = f.rep("Bob Rep", manager=boss, timezone="Europe/London", slack_user_id="UBOB")
    lee = f.rep("Lee Leave", manager=boss, timezone="Europe/London", slack_user_id="ULEE", active=False)
    cat = f.rep("Cat Calm", manager=boss, timezone="Europe/London", slack_user_id="UCAT")
    fake_slack.add_user("UANN", "ann.rep@example.com", "Ann Rep", tz="America/New_York")
    fake_slack.add_user("UBOB", "bob.rep@example.com", "Bob Rep", tz="Europe/London")
    fake_slack.add_user("ULEE", "lee.leave@example.com", "Lee Leave", tz="Europe/London")
    fake_slack.add_user("UCAT", "cat.calm@example.com", "Cat Calm", tz="Europe/London")
    acme = f.account("Acme & Sons", segment="Enterprise")
    ann_deals = [stalled_deal(f, ann, 1000 * (i + 1), f"Ann deal {i + 1:02d}", account_id=acme) for i in range(13)]
    bob_deals = [stalled_deal(f, bob, 500, "Bob small"), stalled_deal(f, bob, 9000, "Bob big")]
    stalled_deal(f, lee, 7000, "Lee deal")
    f.deal(cat, "Proposal", 5000, date(2027, 1, 29), created=date(2026, 12, 1), name="Cat fresh",
           last_activity_at=at(date(2026, 12, 6)), next_step="Demo")
    return {"ann": ann, "bob": bob, "lee": lee, "cat": cat, "boss": boss, "ann_deals": ann_deals,
            "bob_deals": bob_deals}


def dms(fake, user: str):
    return [m for m in fake.messages(kind="message") if m.channel == f"D{user}"]


def check_limits(blocks):
    assert 0 < len(blocks) <= 50
    for raw in blocks:
        Block.parse(raw).validate_json()
        if raw["type"] == "section" and raw.get("text"):
            assert len(raw["text"]["text"]) <= 3000


def test_each_rep_is_nudged_in_their_own_morning(db, fake_slack, org):
    ctx = make_ctx(db.engine, fake_slack)
    early = run_nudges(ctx, utc(MONDAY, 8, 30))  # 08:30 London, 03:30 New York: nobody yet
    assert early["sent"] == 0 and not fake_slack.messages()

    london = run_nudges(ctx, utc(MONDAY, 9, 5))  # 09:05 London
    assert london["sent"] == 1
    assert len(dms(fake_slack, "UBOB")) == 1 and not dms(fake_slack, "UANN")

    new_york = run_nudges(ctx, utc(MONDAY, 14, 5))  # 09:05 New York; Bob had his today
    assert new_york["sent"] == 1 and new_york["already_sent"] >= 1
    assert len(dms(fake_slack, "UANN")) == 1 and len(dms(fake_slack, "UBOB")) == 1
    # the inactive rep (on leave) and the rep with nothing stalled get nothing; the manager owns no deal
    assert not dms(fake_slack, "ULEE") and not dms(fake_slack, "UCAT") and not dms(fake_slack, "UMAX")
    with db.engine.connect() as conn:
        keys = {(r.recipient, r.period) for r in conn.execute(select(bot_delivery_ledger)
                                                             .where(bot_delivery_ledger.c.kind == "nudge"))}
    assert keys == {(str(org["bob"]), "2026-12-07"), (str(org["ann"]), "2026-12-07")}


def test_weekends_and_quiet_hours_get_nothing(db, fake_slack, org):
    ctx = make_ctx(db.engine, fake_slack)
    with db.engine.begin() as conn:  # Ann (New York) had hers on Monday: Bob's evening is the subject here
        conn.execute(insert(bot_delivery_ledger).values(kind="nudge", recipient=str(org["ann"]), period="2026-12-07",
                                                        status="sent", attempts=1, created_at=utc(MONDAY, 14)))
    for now in (utc(date(2026, 12, 5), 14), utc(date(2026, 12, 6), 15),  # Saturday, Sunday
                utc(MONDAY, 20, 30), utc(MONDAY, 23, 59)):  # Bob's quiet hours
        assert run_nudges(ctx, now)["sent"] == 0, now
    assert not fake_slack.messages()

    # a quiet window over the morning: nothing until it ends
    quiet = make_ctx(db.engine, fake_slack, quiet_hours="08:00-10:30")
    assert run_nudges(quiet, utc(date(2026, 12, 8), 10, 0))["sent"] == 0
    assert run_nudges(quiet, utc(date(2026, 12, 8), 10, 30))["sent"] == 1
    assert len(dms(fake_slack, "UBOB")) == 1


def test_quiet_hours_and_send_time_rules():
    settings = load_settings({"QUIET_HOURS": "20:00-07:00"})
    window = quiet_window(settings)
    assert in_quiet_hours(datetime(2026, 12, 7, 21, 0).time(), window)
    assert in_quiet_hours(datetime(2026, 12, 7, 6, 59).time(), window)
    assert not in_quiet_hours(datetime(2026, 12, 7, 7, 0).time(), window)
    assert not nudge_due(datetime(2026, 12, 7, 8, 59), settings)
    assert nudge_due(datetime(2026, 12, 7, 9, 0), settings)
    assert not nudge_due(datetime(2026, 12, 12, 10, 0), settings)  # Saturday
    assert quiet_window(load_settings({"QUIET_HOURS": "off"})) is None


def test_one_nudge_a_day_even_when_the_job_runs_again(db, fake_slack, org):
    ctx = make_ctx(db.engine, fake_slack)
    first = run_nudges(ctx, utc(MONDAY, 14, 5))
    again = run_nudges(ctx, utc(MONDAY, 14, 5))
    later = run_nudges(ctx, utc(MONDAY, 18, 0))
    assert first["sent"] == 2 and again["sent"] == 0 and later["sent"] == 0
    assert len(dms(fake_slack, "UANN")) == 1 and len(dms(fake_slack, "UBOB")) == 1
    # the same key again (a replica that missed the run above): the ledger does not send it
    assert ctx.ledger.deliver(Delivery("nudge", str(org["ann"]), "2026-12-07"),
                              lambda k: pytest.fail("sent twice")) == "already_sent"
    tuesday = run_nudges(ctx, utc(date(2026, 12, 8), 14, 5))
    assert tuesday["sent"] == 2
    assert len(dms(fake_slack, "UANN")) == 2



def test_a_run_whose_claim_was_taken_over_meanwhile_does_not_send_it_too(db, fake_slack, org):
    """Run A claims the first nudge and stalls before posting it; a run ten minutes later takes the abandoned claim
    over and sends both nudges. A, going on, sends neither: its claim is gone and the other one is sent."""
    takeover: dict = {}

    def open_dm(params: dict, _call) -> dict:
        if not takeover:  # run A, between its claim and its post: run B goes first (deterministically, here)
            takeover["b"] = None
            later = replace(make_ctx(db.engine, fake_slack),  # the nudge job claims on the ledger's own clock
                            ledger=DeliveryLedger(db.engine, now=lambda: datetime.now(UTC) + timedelta(minutes=10)))
            takeover["b"] = run_nudges(later, utc(MONDAY, 14, 15))
        return {"channel": {"id": f"D{params['users']}"}}

    fake_slack.on("conversations.open", open_dm)
    first = run_nudges(make_ctx(db.engine, fake_slack), utc(MONDAY, 14, 5))
    assert takeover["b"]["sent"] == 2
    assert (first["sent"], first["busy"], first["already_sent"]) == (0, 1, 1)
    assert len(dms(fake_slack, "UANN")) == 1 and len(dms(fake_slack, "UBOB")) == 1
    with db.engine.connect() as conn:
        rows = conn.execute(select(bot_delivery_ledger.c.status, bot_delivery_ledger.c.attempts)
                            .where(bot_delivery_ledger.c.kind == "nudge")).all()
        items = conn.execute(select(func.count()).select_from(bot_nudge_items)).scalar_one()
    assert sorted(tuple(r) for r in rows) == [("sent", 1), ("sent", 2)]
    assert items == len(org["ann_deals"]) + len(org["bob_deals"])

def test_paused_nudges_are_not_sent(db, fake_slack, org):
    with db.engine.begin() as conn:
        conn.execute(insert(bot_subscriptions).values(rep_id=org["bob"], kind="nudge", enabled=True,
                                                      paused_until=date(2026, 12, 8), updated_at=utc(MONDAY, 0)))
    ctx = make_ctx(db.engine, fake_slack)
    assert run_nudges(ctx, utc(MONDAY, 14, 5))["sent"] == 1  # Ann only
    assert not dms(fake_slack, "UBOB")
    assert run_nudges(ctx, utc(date(2026, 12, 9), 14, 5))["sent"] == 2


def test_nudge_is_grouped_capped_at_ten_with_the_rest_counted(db, fake_slack, org):
    ctx = make_ctx(db.engine, fake_slack)
    run_nudges(ctx, utc(MONDAY, 14, 5))
    [msg] = dms(fake_slack, "UANN")
    check_limits(msg.blocks)
    text = json.dumps(msg.blocks)
    deal_sections = [b for b in msg.blocks if b.get("block_id", "").startswith("deal-")]
    assert len(deal_sections) == 10
    # biggest first: deals 13 … 4 shown, 3 … 1 counted
    shown = [b["text"]["text"] for b in deal_sections]
    assert "Ann deal 13" in shown[0] and "Ann deal 04" in shown[-1]
    assert "Ann deal 03" not in text
    assert "and 3 more stalled deals" in text
    assert msg.blocks[0]["type"] == "header" and "13 stalled deals need a look" in msg.blocks[0]["text"]["text"]
    # each deal: its reasons, and its buttons
    assert "No recent activity" in shown[0] and "Stuck in stage" in shown[0]
    assert "Acme &amp; Sons" in shown[0]
    actions = [b for b in msg.blocks if b["type"] == "actions"]
    assert len(actions) == 10
    ids = [el["action_id"] for el in actions[0]["elements"]]
    assert ids == ["sales_snooze_7", "sales_snooze_30", "sales_snooze_custom", "sales_still_active", "sales_open_crm"]
    crm = actions[0]["elements"][-1]
    assert crm["url"].startswith("https://crm.example.com/opp/")
    opp, period, _ = parse_button_value(actions[0]["elements"][0]["value"])
    assert opp == org["ann_deals"][12] and period == "2026-12-07"
    # the list is kept for later updates, and the escalation clock started for all 13
    with db.engine.connect() as conn:
        items = conn.execute(select(func.count()).select_from(bot_nudge_items)
                             .where(bot_nudge_items.c.rep_id == org["ann"])).scalar_one()
        notified = conn.execute(select(func.count(func.distinct(bot_alerts.c.opportunity_id)))
                                .where(bot_alerts.c.rep_id == org["ann"], bot_alerts.c.notified_at.is_not(None))
                                ).scalar_one()
    assert items == 13 and notified == 13


def test_oversized_data_still_fits_slack(db, fake_slack, org):
    f = Factory(db.engine)
    huge_account = f.account("&" * 300)  # at the column limits; every & becomes &amp; in mrkdwn
    for i in range(3):
        stalled_deal(f, org["bob"], Decimal("123456789012.34"), f"<!channel> {i}" + "&" * 280,
                     account_id=huge_account, stage="Negotiation")
    with db.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.id == org["bob"]).values(name="B" * 190))
    ctx = make_ctx(db.engine, fake_slack)
    result = run_nudges(ctx, utc(MONDAY, 9, 5))
    assert result["sent"] == 1 and result["failed"] == 0
    [msg] = dms(fake_slack, "UBOB")
    check_limits(msg.blocks)
    assert "<!channel>" not in json.dumps(msg.blocks)  # data cannot ping anyone


def test_nothing_stalled_means_no_message(db, fake_slack):
    f = Factory(db.engine)
    cat = f.rep("Cat Calm", timezone="Europe/London", slack_user_id="UCAT")
    dan = f.rep("Dan Done", timezone="Europe/London", slack_user_id="UDAN")
    fake_slack.add_user("UCAT", "cat.calm@example.com", "Cat Calm", tz="Europe/London")
    fake_slack.add_user("UDAN", "dan.done@example.com", "Dan Done", tz="Europe/London")
    # Cat's deal moved yesterday and entered its stage a week ago; Dan's only deal is won
    f.deal(cat, "Proposal", 5000, date(2027, 1, 29), created=date(2026, 12, 1), name="Cat fresh",
           last_activity_at=at(date(2026, 12, 6)), next_step="Demo")
    f.deal(dan, "Closed Won", 3000, date(2026, 11, 20), created=date(2026, 10, 1), closed_at=at(date(2026, 11, 20)))
    ctx = make_ctx(db.engine, fake_slack)
    result = run_nudges(ctx, utc(MONDAY, 14, 5))  # 14:05 in London: both are due
    assert (result["due"], result["sent"], result["no_alerts"]) == (0, 0, 2)
    assert fake_slack.calls() == []  # not even a Slack user lookup
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(bot_delivery_ledger)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(bot_nudge_items)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(bot_alerts)).scalar_one() == 0


def test_a_settled_list_reads_all_caught_up_and_a_long_one_is_capped():
    """What an updated DM shows once every deal it listed is settled; and the cap at ten deals."""
    settled = NudgeDeal(1, "opp-1", "Deal", None, "Proposal", Decimal(1000), None, (), "resolved")
    msg = nudge_message(Nudge("Ann", "2026-12-07", (settled,)))
    assert msg["blocks"][0]["text"]["text"] == "All caught up on stalled deals"
    assert not [b for b in msg["blocks"] if b["type"] == "actions"]
    deal = NudgeDeal(1, "opp-1", "Deal", None, "Proposal", Decimal(1000), None,
                     (NudgeReason("no_activity", "No recent activity", "no activity for 20 days"),))
    full = nudge_message(Nudge("Ann", "2026-12-07", tuple(replace(deal, opportunity_id=i) for i in range(12))))
    assert sum(1 for b in full["blocks"] if b["type"] == "actions") == 10
    assert "and 2 more" in json.dumps(full["blocks"])
    check_limits(full["blocks"])


@pytest.mark.parametrize("day", [MONDAY, date(2026, 12, 8), date(2026, 12, 9)])
def test_two_replicas_racing_send_one_nudge_per_rep(db, fake_slack, org, day):
    """Two replicas (each its own engine and Slack client) run the job on one database at the same moment: each
    rep gets exactly one DM. Slack answers the posts late, so a claim is still held while the other replica looks."""
    fake_slack.fail("chat.postMessage", status=None, delay=0.3, times=4)
    engines = [create_raw_engine(db.url) for _ in range(2)]
    replicas = [make_ctx(engine, fake_slack) for engine in engines]
    start = threading.Barrier(len(replicas))

    def run(ctx):
        start.wait()
        return run_nudges(ctx, utc(day, 14, 5))

    try:
        with ThreadPoolExecutor(len(replicas)) as pool:
            results = list(pool.map(run, replicas))
    finally:
        for engine in engines:
            engine.dispose()
    assert Counter(m.channel for m in fake_slack.messages(kind="message")) == {"DUANN": 1, "DUBOB": 1}
    assert sum(r["sent"] for r in results) == 2
    assert sum(r["failed"] for r in results) == 0
