"""What the digests say: every figure as worked out by hand for the person's own scope; payloads fit Slack."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import insert, select

from config import load_settings
from db.schema import bot_alerts, bot_delivery_ledger, opportunities
from scheduler.digest_content import DigestBuilder, Person, floor_since
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


def changes(**kinds: tuple[int, int]) -> dict:
    """The digest's change counts and amounts: the kinds given, every other kind none."""
    return {k: {"count": kinds.get(k, (0, 0))[0], "amount": Decimal(kinds.get(k, (0, 0))[1])}
            for k in ("new", "advanced", "slipped", "pushed_out", "won", "lost")}


# Worked by hand from build_org and the `org` fixture. Q1 2026 is 1 Jan – 31 Mar (90 days); on Mon 9 Mar 68 days
# have passed, so pace = 68 / 90 = 0.7556. Nobody has a quota row of their own: a manager's quota is their reps'.
# Since Sun 8 Mar 16:00 UTC: "Sam new" was created (3000); "Bob moved" went Qualification → Proposal and its close
# date 20 → 27 Mar (advanced and slipped, 9000); "Ann closing" was won (4000).
# Stalled on 9 Mar (no activity recorded, so the created date counts; fewer than 20 won samples per stage, so 30
# days in a stage is the limit): "Ann big" 58 days idle and in Negotiation, "Bob open" 36 in Proposal, "Bob moved"
# 35 (its stage_entered_at is still 2 Feb), "Sam open" 27 days idle (14 is the limit); "Sam new" is a day old.
# Closing this week (Mon 9 – Sun 15 Mar), open: "Ann big" (12 Mar) and "Sam open" (13 Mar).
MANAGER_DIGESTS = {
    # Ann: won 15000 + 4000 of 50000; open 20000 ("Ann big")
    "lars": {"attainment": Decimal("0.3800"), "closed_won": Decimal("19000.00"), "quota": Decimal("50000.00"),
             "gap": Decimal("31000.00"), "coverage": Decimal("0.6452"),  # 20000 / 31000
             "changes": changes(won=(1, 4000)), "closing_this_week": 1, "stalled_per_rep": {"Ann Rep": 1},
             "text": ("38%", "$19K")},
    # Bob and Sam (Sia's rep): won 12000 + 7000 of 40000 + 30000; open 8000 + 9000 + 5000 + 3000
    "berta": {"attainment": Decimal("0.2714"), "closed_won": Decimal("19000.00"), "quota": Decimal("70000.00"),
              "gap": Decimal("51000.00"), "coverage": Decimal("0.4902"),  # 25000 / 51000
              "changes": changes(new=(1, 3000), advanced=(1, 9000), slipped=(1, 9000)), "closing_this_week": 1,
              "stalled_per_rep": {"Bob Rep": 2, "Sam Rep": 1}, "text": ("27%", "$19K")},
    # Sam: won 7000 of 30000; open 5000 + 3000
    "sia": {"attainment": Decimal("0.2333"), "closed_won": Decimal("7000.00"), "quota": Decimal("30000.00"),
            "gap": Decimal("23000.00"), "coverage": Decimal("0.3478"),  # 8000 / 23000
            "changes": changes(new=(1, 3000)), "closing_this_week": 1, "stalled_per_rep": {"Sam Rep": 1},
            "text": ("23%", "$7K")},
}


@pytest.mark.parametrize("who", list(MANAGER_DIGESTS))
def test_manager_digest_figures_are_worked_out_by_hand(db, org, who):
    want = MANAGER_DIGESTS[who]
    me = person(db.engine, org[who])
    digest = DigestBuilder(db.engine, load_settings({})).build(me, "digest", MON_AFTER_US, NOW, SINCE)
    fig = digest.figures
    assert fig["pace"] == Decimal("0.7556")
    for key in ("attainment", "closed_won", "quota", "gap", "coverage", "changes", "closing_this_week",
                "stalled_per_rep"):
        assert fig[key] == want[key], key
    assert fig["stalled_deals"] == sum(want["stalled_per_rep"].values())
    text = message_text(digest.message)
    assert all(shown in text for shown in want["text"])
    check_payload(digest.message)
    assert digest.chart.kind == "attainment_pace" and digest.chart.target == want["quota"]


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
    """Worked by hand for Q1 2026: won 15000 + 4000 (Ann), 12000 (Bob), 7000 (Sam) = 38000 of 50000 + 40000 + 30000;
    open by forecast category (the stage's): commit "Ann big" 20000; best case "Bob open" 8000 and "Bob moved"
    9000; pipeline "Sam open" 5000 and "Sam new" 3000. The week since Mon 2 Mar 16:00 UTC: the managers' day and
    nothing else (Bob's win on 2 Mar was recorded when the deal was created, in January)."""
    settings = load_settings({})
    erin = person(db.engine, org["erin"])
    digest = DigestBuilder(db.engine, settings).build(erin, "exec_digest", MON_AFTER_US, NOW,
                                                      NOW - timedelta(days=7))
    fig = digest.figures
    assert fig["forecast"] == {"closed": Decimal("38000.00"), "commit": Decimal("58000.00"),
                               "best_case": Decimal("75000.00"), "pipeline": Decimal("83000.00"),
                               "quota": Decimal("120000.00")}
    assert (fig["attainment"], fig["closed_won"], fig["gap"]) == (
        Decimal("0.3167"), Decimal("38000.00"), Decimal("82000.00"))  # 38000 / 120000
    # Ann 19000 / 50000, Bob 12000 / 40000, Sam 7000 / 30000
    assert fig["leaderboard"] == ["Ann Rep", "Bob Rep", "Sam Rep"]
    assert fig["teams"] == {"West": Decimal("0.3800"), "EMEA": Decimal("0.3000"), "APAC": Decimal("0.2333")}
    assert fig["changes"] == changes(new=(1, 3000), advanced=(1, 9000), slipped=(1, 9000), won=(1, 4000))
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
