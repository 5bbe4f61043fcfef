"""Who may see what, on every surface of the real bot (slack-bolt over HTTP, Slack played by the fake).

A rep sees only their own figures, a manager their own tree, execs and ops everything; integrity findings are for
execs and ops. A refusal is a sentence saying why, with no figure in it: the figures it must not show are worked
out here from the small org's rows (tests/orgs.py). Button values and a modal's private_metadata come back from
the client, so they are forged here too: the bot checks them against the person who clicked, and a refused click
changes nothing in the database.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.schema import bot_alerts, opportunities, quotas
from metrics.stalled import stalled_deals
from render.nudges import SNOOZE_CALLBACK_ID, SNOOZE_DATE_BLOCK
from scheduler.alerts import sync_alerts
from tests.fakeslack import (
    app_home_opened,
    app_mention,
    dm_message,
    post_block_action,
    post_event,
    post_slash_command,
    post_view_submission,
)
from tests.slackbot import SECRET, snooze_form

WON, LOST = "Closed Won", "Closed Lost"
SCOPE_REFUSAL = "You can't see"
INTEGRITY_REFUSAL = "Data-integrity findings are for sales ops and execs"
SNOOZE_REFUSAL = "isn't yours or your team's"
REP_NAMES = {"A": "Ann Rep", "B": "Bob Rep", "C": "Cat Rep"}
# Whose figures a question names, and who asks it without being allowed to (the org: tests/orgs.py).
OUT_OF_SCOPE = [
    ("UANN", "pipeline bob", {"B"}),  # a rep asks about another rep
    ("UANN", "quota Cat Rep", {"C"}),
    ("UANN", "pipeline org", {"B", "C"}),
    ("UANN", "stalled bob", {"B"}),
    ("UMIA", "pipeline cat", {"C"}),  # a manager asks outside their tree (Cat reports to Erin)
    ("UMIA", "quota Ann Rep", {"A"}),  # ... and about a peer's report (Ann reports to Max, Mia's manager)
    ("UMIA", "leaderboard org", {"A", "C"}),
]


# --- the figures a reply must not show -------------------------------------------------------------------------

def amounts_of(bot, owners: set[str]) -> set[Decimal]:
    """Every amount that could stand for these reps' figures: each deal, each rep's open / won / all-deal totals,
    their quotas, and the same totals over all of them together."""
    ids = {bot.org[o] for o in owners}
    with bot.deps.engine.connect() as conn:
        deals = conn.execute(select(opportunities.c.owner_id, opportunities.c.stage, opportunities.c.amount)
                             .where(opportunities.c.owner_id.in_(ids))).all()
        quota_rows = conn.execute(select(quotas.c.rep_id, quotas.c.amount).where(quotas.c.rep_id.in_(ids))).all()
    found: set[Decimal] = {d.amount for d in deals} | {q.amount for q in quota_rows}
    for group in [{i} for i in ids] + [ids]:
        mine = [d for d in deals if d.owner_id in group]
        found.add(sum((d.amount for d in mine if d.stage not in (WON, LOST)), Decimal(0)))
        found.add(sum((d.amount for d in mine if d.stage == WON), Decimal(0)))
        found.add(sum((d.amount for d in mine), Decimal(0)))
        found.add(sum((q.amount for q in quota_rows if q.rep_id in group), Decimal(0)))
    return {a for a in found if a}


def spellings(amount: Decimal) -> set[str]:
    """How an amount can be written in a reply: $300, $1,000, $1,000.00, 1,000 and the compact $1K, $3.3K."""
    whole = amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount
    out = {f"${whole:,}", f"${amount:,.2f}"}
    if amount >= 1000:
        thousands = (amount / 1000).normalize()
        out |= {f"{whole:,}", f"${thousands:f}K", f"${amount / 1000:.1f}K"}
    return out


def shown(text: str, amounts: set[Decimal]) -> set[str]:
    return {s for a in amounts for s in spellings(a) if s in text}


def text_of(message) -> str:
    return "\n".join([message.text or ""] + [json.dumps(b, ensure_ascii=False) for b in message.blocks or []])


def assert_refused(text: str, why: str, bot, hidden: set[str]) -> None:
    assert why in text, text
    assert "$" not in text, text
    assert not shown(text, amounts_of(bot, hidden)), text


# --- asking on each surface ------------------------------------------------------------------------------------

def by_slash_command(bot, user: str, text: str) -> str:
    bot.fake.reset()
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=bot.fake.response_url("cmd"))
    assert status == 200
    return text_of(bot.fake.wait_for_messages(1, kind="response_url", timeout=10)[-1])


def by_dm(bot, user: str, text: str) -> str:
    bot.fake.reset()
    event = dm_message(user, text)
    assert post_event(bot.url, SECRET, event).status == 200
    reply = bot.fake.wait_for_messages(1, kind="message", timeout=10)[-1]
    assert reply.channel == f"D{user}" and reply.thread_ts == event["ts"]
    return text_of(reply)


def by_mention(bot, user: str, text: str) -> str:
    bot.fake.reset()
    assert post_event(bot.url, SECRET, app_mention(user, text, channel="C9")).status == 200
    reply = bot.fake.wait_for_messages(1, kind="ephemeral", timeout=10)[-1]
    assert reply.user == user and not bot.fake.messages(kind="message")
    return text_of(reply)


SURFACES = {"slash command": by_slash_command, "DM": by_dm, "@mention": by_mention}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_out_of_scope_questions_are_refused_without_figures(running_bot, surface):
    ask = SURFACES[surface]
    for user, question, hidden in OUT_OF_SCOPE:
        text = ask(running_bot, user, question)
        assert_refused(text, SCOPE_REFUSAL, running_bot, hidden)


@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_same_questions_are_answered_for_someone_allowed(running_bot, surface):
    """The control: the figures the refusals must not show are found when they are shown (Bob's open deal is
    $300; Cat's quota is $8K; the org's Q4 open pipeline is Ann's $1K + $2K + Bob's $300 = $3.3K)."""
    ask = SURFACES[surface]
    for user, question, expected in [("UMAX", "pipeline bob", "$300"), ("UMIA", "pipeline bob", "$300"),
                                     ("UERIN", "quota Cat Rep", "$8K"), ("UOLLY", "pipeline org", "$3.3K")]:
        text = ask(running_bot, user, question)
        assert SCOPE_REFUSAL not in text
        assert expected in text, (user, question, text)


def test_another_reps_deal_card_is_not_found(running_bot):
    """`/sales deal` looks only among the deals the asker may see: Bob's deal, by name or by CRM id, is not there
    for Ann, and is for Mia, his manager."""
    bot = running_bot
    deal = bob_deal(bot)
    for key in (deal.name, deal.external_id):
        text = by_slash_command(bot, "UANN", f"deal {key}")
        assert_refused(text, "among the deals you can see", bot, {"B"})
        assert "Bob" not in text
        assert "$300" in by_slash_command(bot, "UMIA", f"deal {key}")


# --- App Home --------------------------------------------------------------------------------------------------

def home_of(bot, user: str) -> str:
    bot.fake.reset()
    assert post_event(bot.url, SECRET, app_home_opened(user)).status == 200
    bot.fake.wait_for("views.publish", timeout=15)
    return json.dumps(bot.fake.home_view(user), ensure_ascii=False)


@pytest.mark.parametrize(("user", "own", "others", "expected"), [
    ("UANN", {"A"}, {"B", "C"}, ["Ann Rep", "$10K", "$3K"]),  # Ann's Q4 quota; her open Q4 pipeline, $1K + $2K
    ("UMIA", {"B"}, {"A", "C"}, ["Mia Lead's team", "$5K", "$300"]),  # Bob's quota; his open deal
])
def test_app_home_shows_only_the_viewers_own_figures(running_bot, user, own, others, expected):
    text = home_of(running_bot, user)
    for figure in expected:
        assert figure in text, (figure, text)
    hidden = amounts_of(running_bot, others) - amounts_of(running_bot, own)
    assert not shown(text, hidden), text
    for key in others:
        assert REP_NAMES[key] not in text


def test_app_home_of_someone_unknown_says_why_and_shows_nothing(running_bot):
    text = home_of(running_bot, "USTRANGER")
    assert "doesn't match anyone" in text and "$" not in text


# --- forged button values --------------------------------------------------------------------------------------

def click(bot, user: str, action_id: str, value: str, channel: str = "C5") -> str:
    """A click on a button of an ephemeral reply; returns the private note it got back."""
    bot.fake.reset()
    status, _ = post_block_action(bot.url, SECRET, user, action_id, value=value,
                                  response_url=bot.fake.response_url("click"), channel_id=channel, ephemeral=True)
    assert status == 200
    reply = bot.fake.wait_for_messages(1, kind="response_url", timeout=15)[-1]
    assert reply.response_type == "ephemeral"
    return text_of(reply)


@pytest.mark.parametrize(("user", "value", "why", "hidden"), [
    ("UANN", "/sales pipeline bob", SCOPE_REFUSAL, {"B"}),
    ("UANN", "/sales quota org", SCOPE_REFUSAL, {"B", "C"}),
    ("UMIA", "/sales quota cat", SCOPE_REFUSAL, {"C"}),
    ("UANN", "/sales integrity", INTEGRITY_REFUSAL, {"B", "C"}),
    ("UMAX", "/sales integrity", INTEGRITY_REFUSAL, {"B", "C"}),
])
def test_a_forged_share_button_is_asked_again_as_the_clicker_and_refused(running_bot, user, value, why, hidden):
    text = click(running_bot, user, "sales_share", value)
    assert_refused(text, why, running_bot, hidden)
    assert not running_bot.fake.calls("chat.postMessage")  # nothing went to the channel


@pytest.mark.parametrize(("user", "value", "why", "hidden"), [
    ("UANN", "/sales pipeline bob chart", SCOPE_REFUSAL, {"B"}),
    ("UMIA", "/sales forecast cat chart", SCOPE_REFUSAL, {"C"}),
    ("UANN", "/sales leaderboard org chart", SCOPE_REFUSAL, {"B", "C"}),
])
def test_a_forged_chart_button_is_refused_with_a_sentence_and_no_chart(running_bot, user, value, why, hidden):
    text = click(running_bot, user, "sales_chart", value)
    assert_refused(text, why, running_bot, hidden)
    assert not running_bot.fake.calls("files.getUploadURLExternal")
    assert not running_bot.fake.uploads()


def test_share_and_chart_buttons_work_for_the_asker(running_bot):
    """The control: the same buttons, with values the clicker may ask, post and upload."""
    bot = running_bot
    bot.fake.reset()
    post_block_action(bot.url, SECRET, "UMAX", "sales_share", value="/sales pipeline bob",
                      response_url=bot.fake.response_url("share"), channel_id="C5", ephemeral=True)
    posted = bot.fake.wait_for_messages(1, kind="message", channel="C5", timeout=10)[-1]
    assert "$300" in text_of(posted)
    bot.fake.reset()
    post_block_action(bot.url, SECRET, "UANN", "sales_chart", value="/sales pipeline chart",
                      response_url=bot.fake.response_url("chart"), channel_id="C5", ephemeral=True)
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    assert bot.fake.uploads()[0].channel_id == "DUANN"


# --- integrity findings ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["UERIN", "UOLLY"])
def test_execs_and_ops_see_integrity_findings(running_bot, user):
    text = by_slash_command(running_bot, user, "integrity")
    assert "Data-integrity findings" in text and "*Findings*" in text
    assert INTEGRITY_REFUSAL not in text


@pytest.mark.parametrize("user", ["UANN", "UBOB", "UMAX", "UMIA"])
def test_reps_and_managers_are_refused_integrity_findings(running_bot, user):
    for ask in SURFACES.values():
        text = ask(running_bot, user, "integrity")
        assert_refused(text, INTEGRITY_REFUSAL, running_bot, {"A", "B", "C"})
        assert "*Findings*" not in text


# --- snoozing another rep's deal -------------------------------------------------------------------------------

def bob_deal(bot):
    with bot.deps.engine.connect() as conn:
        return conn.execute(select(opportunities.c.id, opportunities.c.external_id, opportunities.c.name)
                            .where(opportunities.c.owner_id == bot.org["B"],
                                   opportunities.c.stage.not_in([WON, LOST]))).one()


def record_alerts(bot) -> None:
    """What the refresh job would do: the stalled deals' alerts, open (Bob's deal is one of them)."""
    now = datetime.now(UTC)
    with bot.deps.engine.connect() as conn:
        findings = stalled_deals(conn, today=now.date(), now=now, settings=bot.deps.settings)
    assert any(f.owner_id == bot.org["B"] for f in findings)
    sync_alerts(bot.deps.engine, findings, now, bot.deps.settings)


def alert_rows(bot) -> list[tuple]:
    with bot.deps.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(bot_alerts)).all())


def assert_snooze_refused(text: str, bot) -> None:
    """Refused without a figure, and without naming Bob's deal or Bob."""
    assert_refused(text, SNOOZE_REFUSAL, bot, {"B"})
    assert bob_deal(bot).name not in text and "Bob" not in text


@pytest.mark.parametrize("alerts_recorded", [True, False], ids=["alerts recorded", "no alerts yet"])
def test_ann_cannot_snooze_or_acknowledge_bobs_deal_with_a_forged_button(running_bot, alerts_recorded):
    bot = running_bot
    deal = bob_deal(bot)
    if alerts_recorded:
        record_alerts(bot)
    before = alert_rows(bot)
    nudge_value = json.dumps({"o": deal.id, "p": "2026-12-01"})
    for action_id, value in [("sales_snooze_7", nudge_value), ("sales_snooze_30.1", nudge_value),
                             ("sales_still_active", nudge_value), ("sales_snooze_7.2", deal.external_id),
                             ("sales_still_active.3", deal.external_id), ("sales_snooze_custom", nudge_value),
                             ("sales_snooze_custom.4", deal.external_id)]:
        text = click(bot, "UANN", action_id, value, channel="DUANN")
        assert_snooze_refused(text, bot)
        assert not bot.fake.calls("views.open") and not bot.fake.calls("chat.update")
        assert alert_rows(bot) == before, action_id


def submit_snooze(bot, user: str, opportunity_id: int):
    until = datetime.now(UTC).date() + timedelta(days=10)
    meta = json.dumps({"o": opportunity_id, "p": None})
    status, body = post_view_submission(bot.url, SECRET, user, SNOOZE_CALLBACK_ID, snooze_form(until), meta)
    assert status == 200
    return json.loads(body) if body else None


def test_a_forged_private_metadata_cannot_snooze_another_reps_deal(running_bot):
    bot = running_bot
    record_alerts(bot)
    before = alert_rows(bot)
    answer = submit_snooze(bot, "UANN", bob_deal(bot).id)
    assert answer["response_action"] == "errors"
    assert_snooze_refused(answer["errors"][SNOOZE_DATE_BLOCK], bot)
    assert alert_rows(bot) == before


def test_the_modal_snoozes_a_deal_of_someone_in_your_tree(running_bot):
    """The control: the same submission from Mia (Bob's manager) snoozes Bob's deal."""
    bot = running_bot
    record_alerts(bot)
    deal = bob_deal(bot)
    assert submit_snooze(bot, "UMIA", deal.id) is None  # a plain ack closes the modal

    def actions_on_the_deal() -> set[tuple]:
        with bot.deps.engine.connect() as conn:
            return {tuple(r) for r in conn.execute(select(bot_alerts.c.status, bot_alerts.c.acted_by)
                                                   .where(bot_alerts.c.opportunity_id == deal.id))}

    deadline = time.monotonic() + 10  # the ack goes back first; the snooze is written right after it
    while actions_on_the_deal() != {("snoozed", bot.org["M2"])} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert actions_on_the_deal() == {("snoozed", bot.org["M2"])}
