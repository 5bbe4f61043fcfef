"""What the digests say: every figure equals the metrics layer's for the person's own scope; payloads fit Slack."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import insert, select

from config import load_settings
from db.schema import bot_alerts, bot_delivery_ledger, opportunities
from metrics.cache import ResultCache
from metrics.changes import changes_summary
from metrics.deals import open_deals_closing
from metrics.evaluate import evaluate
from metrics.scopes import Scope
from metrics.stalled import stalled_deals
from render.format import money, percent
from scheduler.digest_content import DigestBuilder, Person, floor_since, quarter_of
from scheduler.digests import run_digests
from scheduler.recipients import zone
from tests.factories import Factory, at
from tests.fakeslack import blockkit
from tests.test_digest_schedule import MON_AFTER_US, build_org, dm_posts, make_ctx, utc

NOW = utc(MON_AFTER_US, 16)  # Monday 9 March 2026, 16:00 UTC
SINCE = NOW - timedelta(days=1)


def person(engine, rep_id: int) -> Person:
    from metrics.scopes import viewer_by_id

    with engine.connect() as conn:
        v = viewer_by_id(conn, rep_id)
    return Person(v.rep_id, v.name, v.email, v.role, zone(v.timezone, "UTC"))


def message_text(message: dict) -> str:
    return message["text"] + "\n" + json.dumps(message["blocks"], ensure_ascii=False)


def check_payload(message: dict) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for raw in blocks:
        Block.parse(raw).validate_json()
    assert blockkit.message_errors(blocks) == []


@pytest.fixture
def org(db):
    ids = build_org(db.engine)
    f = Factory(db.engine)
    # changes in the last day: a new deal, a deal that advanced, one that slipped, one that closed won
    new = f.deal(ids["sam"], "Prospecting", 3000, date(2026, 3, 27), created=date(2026, 3, 9), name="Sam new")
    moved = f.deal(ids["bob"], "Qualification", 9000, date(2026, 3, 20), created=date(2026, 2, 2), name="Bob moved")
    f.history(moved, datetime(2026, 3, 9, 9, tzinfo=UTC), stage="Proposal", amount=Decimal(9000),
              close_date=date(2026, 3, 27))
    with db.engine.begin() as conn:
        conn.execute(opportunities.update().where(opportunities.c.id == moved)
                     .values(stage="Proposal", close_date=date(2026, 3, 27)))
    won = f.deal(ids["ann"], "Negotiation", 4000, date(2026, 3, 10), created=date(2026, 2, 2), name="Ann closing")
    f.history(won, datetime(2026, 3, 9, 10, tzinfo=UTC), stage="Closed Won", amount=Decimal(4000),
              close_date=date(2026, 3, 9))
    with db.engine.begin() as conn:
        conn.execute(opportunities.update().where(opportunities.c.id == won)
                     .values(stage="Closed Won", close_date=date(2026, 3, 9), closed_at=at(date(2026, 3, 9), 10)))
    ids.update(new=new, moved=moved, won=won)
    return ids


@pytest.mark.parametrize("who", ["lars", "berta", "sia"])
def test_manager_digest_figures_are_the_metrics_layers(db, org, who):
    settings = load_settings({})
    me = person(db.engine, org[who])
    digest = DigestBuilder(db.engine, settings).build(me, "digest", MON_AFTER_US, NOW, SINCE)
    today = MON_AFTER_US
    quarter = quarter_of(today, 1)
    scope = Scope("tree", f"{me.name}'s team", rep_id=me.rep_id)
    cache = ResultCache(0)
    with db.engine.connect() as conn:
        att = evaluate(conn, "attainment", quarter, scope, today=today, cache=cache).rows[0]
        coverage = evaluate(conn, "coverage", quarter, scope, today=today, cache=cache).value
        changes = changes_summary(conn, SINCE, period=quarter, scope=scope)
        from metrics.periods import parse_period

        closing_total = open_deals_closing(conn, scope, parse_period("this week", today), 100)[1]
        findings = stalled_deals(conn, today=today, now=NOW, settings=settings, owner_ids=scope.owner_ids())
    fig = digest.figures
    assert fig["attainment"] == att["value"] and fig["attainment"] is not None
    assert (fig["pace"], fig["closed_won"], fig["quota"]) == (att["pace"], att["won_amount"], att["quota"])
    assert fig["coverage"] == coverage
    assert fig["changes"] == {k: changes[k] for k in fig["changes"]}
    assert fig["closing_this_week"] == closing_total
    assert fig["stalled_deals"] == len({f.record_id for f in findings})
    text = message_text(digest.message)
    assert percent(att["value"]) in text and money(att["won_amount"]) in text
    check_payload(digest.message)
    assert digest.chart.kind == "attainment_pace" and digest.chart.target == att["quota"]


def test_batch_mode_gives_the_same_figures_as_scoped_calls(db, org):
    settings = load_settings({})
    single = DigestBuilder(db.engine, settings)
    batch = DigestBuilder(db.engine, settings, batch=True)
    for who in ("lars", "berta", "sia", "nora"):
        me = person(db.engine, org[who])
        a = single.build(me, "digest", MON_AFTER_US, NOW, SINCE).figures
        b = batch.build(me, "digest", MON_AFTER_US, NOW, SINCE).figures
        assert a == b, who
    berta = batch.build(person(db.engine, org["berta"]), "digest", MON_AFTER_US, NOW, SINCE).figures
    assert berta["changes"]["new"]["count"] == 1 and berta["changes"]["advanced"]["count"] == 1
    assert berta["changes"]["slipped"]["count"] == 1
    lars = batch.build(person(db.engine, org["lars"]), "digest", MON_AFTER_US, NOW, SINCE).figures
    assert lars["changes"]["won"] == {"count": 1, "amount": Decimal("4000.00")}


def test_a_manager_sees_only_their_own_tree(db, org):
    settings = load_settings({})
    builder = DigestBuilder(db.engine, settings)
    lars = message_text(builder.build(person(db.engine, org["lars"]), "digest", MON_AFTER_US, NOW, SINCE).message)
    berta = message_text(builder.build(person(db.engine, org["berta"]), "digest", MON_AFTER_US, NOW, SINCE).message)
    sia = message_text(builder.build(person(db.engine, org["sia"]), "digest", MON_AFTER_US, NOW, SINCE).message)
    assert "Ann big" in lars and "Ann Rep" in lars
    assert not any(name in lars for name in ("Bob", "Sam", "Sia"))
    assert "Sam open" in berta and "Sam Rep" in berta and "Bob Rep" in berta  # Sia's team is in Berta's tree
    assert "Ann" not in berta
    assert "Sam open" in sia and "Bob" not in sia


def test_since_is_the_previous_digest(db, org, fake_slack):
    """Monday's digest reports what changed since Friday's went out (not the last 24 hours)."""
    for uid, email in (("UBERTA", "berta.boss@example.com"),):
        fake_slack.add_user(uid, email, "Berta Boss", tz="Europe/Berlin")
    ctx = make_ctx(db.engine, fake_slack)
    friday = utc(date(2026, 3, 6), 7, 7)
    run_digests(ctx, friday, emails=["berta.boss@example.com"])
    with db.engine.connect() as conn:
        sent_at = conn.execute(select(bot_delivery_ledger.c.sent_at)
                               .where(bot_delivery_ledger.c.kind == "digest")).scalar_one()
    assert floor_since(sent_at) == utc(date(2026, 3, 6), 7, 5)
    f = Factory(db.engine)
    lost = f.deal(org["bob"], "Proposal", 2500, date(2026, 3, 30), created=date(2026, 2, 3), name="Bob lost")
    f.history(lost, datetime(2026, 3, 7, 11, tzinfo=UTC), stage="Closed Lost", amount=Decimal(2500),
              close_date=date(2026, 3, 7))
    with db.engine.begin() as conn:
        conn.execute(opportunities.update().where(opportunities.c.id == lost).values(stage="Closed Lost"))
    monday = run_digests(ctx, utc(MON_AFTER_US, 7, 5), emails=["berta.boss@example.com"])
    digest = monday["outcomes"][0].digest
    assert digest.since == utc(date(2026, 3, 6), 7, 5)
    assert digest.figures["changes"]["lost"]["count"] == 1  # Saturday's loss: after Friday's digest
    assert "since your last digest" in message_text(digest.message)
    assert len(dm_posts(fake_slack, "UBERTA")) == 2


def test_escalated_alerts_reach_the_managers_digest(db, org):
    with db.engine.begin() as conn:
        opp = conn.execute(select(opportunities.c.id).where(opportunities.c.name == "Ann big")).scalar_one()
        conn.execute(insert(bot_alerts).values(
            rule="no_activity", opportunity_id=opp, rep_id=org["ann"], status="open",
            detail="No activity for 58 days", first_seen=NOW - timedelta(days=10), last_seen=NOW,
            notified_at=NOW - timedelta(days=6), escalated_at=NOW - timedelta(days=3), updated_at=NOW))
    builder = DigestBuilder(db.engine, load_settings({}))
    lars = builder.build(person(db.engine, org["lars"]), "digest", MON_AFTER_US, NOW, SINCE)
    assert lars.figures["escalations"] == 1
    text = message_text(lars.message)
    assert "Escalated alerts" in text and "Ann big (Ann Rep)" in text and "ignored 6 days" in text
    berta = builder.build(person(db.engine, org["berta"]), "digest", MON_AFTER_US, NOW, SINCE)
    assert berta.figures["escalations"] == 0


def test_exec_digest_has_the_org_rollups_forecast_and_leaderboard(db, org):
    settings = load_settings({})
    erin = person(db.engine, org["erin"])
    digest = DigestBuilder(db.engine, settings).build(erin, "exec_digest", MON_AFTER_US, NOW,
                                                      NOW - timedelta(days=7))
    quarter = quarter_of(MON_AFTER_US, 1)
    org_scope = Scope("org", "the whole org")
    with db.engine.connect() as conn:
        fc = evaluate(conn, "forecast", quarter, org_scope, today=MON_AFTER_US, cache=ResultCache(0)).rows[0]
        board = evaluate(conn, "attainment", quarter, org_scope, by=("owner",), today=MON_AFTER_US,
                         cache=ResultCache(0)).rows
    assert digest.figures["forecast"] == {k: fc[k] for k in ("closed", "commit", "best_case", "pipeline", "quota")}
    ranked = sorted(board, key=lambda r: (r["value"] is None, -(r["value"] or 0), -(r["won_amount"] or 0)))
    assert digest.figures["leaderboard"] == [r["owner"] for r in ranked[:10]]
    assert set(digest.figures["teams"]) >= {"West", "EMEA", "APAC"}
    text = message_text(digest.message)
    assert "Weekly digest" in text and "Leaderboard" in text and "By team" in text
    check_payload(digest.message)
    assert digest.chart.kind == "forecast"


def test_a_huge_team_still_fits_in_one_message(db, fake_slack):
    """40 reps with long names, 150 deals closing this week, everything stalled: cut with "and N more"."""
    f = Factory(db.engine)
    boss = f.rep("Big Boss", role="manager", timezone="Europe/Berlin", slack_user_id="UBIG")
    fake_slack.add_user("UBIG", "big.boss@example.com", "Big Boss", tz="Europe/Berlin")
    long = "Ü" * 60 + " <b>&amp; *bold* _it_ `code`"
    for i in range(40):
        rep = f.rep(f"Rep {i:02d} {long}", manager=boss, email=f"r{i}@example.com", external_id=f"r{i}")
        for j in range(4):
            f.deal(rep, "Proposal", 1000 + i * 10 + j, date(2026, 3, 11), created=date(2026, 1, 2),
                   name=f"Deal {i}-{j} " + "x" * 250)
    ctx = make_ctx(db.engine, fake_slack)
    out = run_digests(ctx, utc(MON_AFTER_US, 9), emails=["big.boss@example.com"])
    assert out["sent"] == 1, out
    posted = dm_posts(fake_slack, "UBIG")[0]
    check_payload({"text": posted.text, "blocks": posted.blocks})
    text = json.dumps(posted.blocks, ensure_ascii=False)
    assert "more_" in text and "160 open deals" in text
    assert "<b>" not in text  # data is escaped: no markup from names
    for block in posted.blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_preview_through_slack_is_ephemeral_and_sends_nothing(running_bot):
    from tests.fakeslack import post_slash_command
    from tests.slackbot import SECRET

    bot = running_bot
    url = bot.fake.response_url("preview")
    status, _ = post_slash_command(bot.url, SECRET, "digest preview", "UMAX", response_url=url)
    assert status == 200
    reply = bot.fake.wait_for_messages(1, kind="response_url", timeout=15)[-1]
    assert reply.response_type == "ephemeral"
    text = json.dumps(reply.blocks)
    assert "Morning digest" in text and "Max Manager" in text and "Preview" in text
    check_payload({"text": reply.text, "blocks": reply.blocks})
    with bot.deps.engine.connect() as conn:
        assert conn.execute(select(bot_delivery_ledger)).first() is None
    assert not [m for m in bot.fake.messages(kind="message")]
