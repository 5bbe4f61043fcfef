"""Signed requests into the real bot over HTTP; replies read back from the fake Slack."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from db.schema import opportunities, reps
from render.format import money, multiple, percent
from tests.fakeslack import (
    app_home_opened,
    app_mention,
    dm_message,
    post_block_action,
    post_event,
    post_slash_command,
    stale_timestamp,
)
from tests.slackbot import SECRET

SUBCOMMANDS = ["help", "pipeline", "quota", "forecast", "deals", "deal Acme platform", "stalled", "winrate", "cycle",
               "funnel", "leaderboard", "changes", "integrity", "digest", "settings"]


def ask(bot, user, text, name="r"):
    url = bot.fake.response_url(name)
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=url)
    assert status == 200
    return bot.fake.wait_for_messages(1, kind="response_url", timeout=10)[-1]


def all_text(message) -> str:
    parts = [message.text or ""]
    for block in message.blocks or []:
        parts.append(json.dumps(block))
    return "\n".join(parts)


def check_limits(message):
    blocks = message.blocks or []
    assert 0 < len(blocks) <= 50
    for raw in blocks:
        Block.parse(raw).validate_json()
        if raw["type"] == "section":
            assert len((raw.get("text") or {}).get("text", "")) <= 3000
            assert len(raw.get("fields", [])) <= 10
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150


def fields(message) -> dict[str, str]:
    """The figures of a reply's fields section, label → shown value."""
    out = {}
    for block in message.blocks or []:
        for field in block.get("fields", []):
            label, _, shown = field["text"].partition("\n")
            out[label.strip("*")] = shown
    return out


def test_rep_pipeline_figures_are_worked_out_by_hand(running_bot):
    """Ann's open pipeline this quarter (Q4 2026, the clock held at 1 Dec): Proposal 1000 (p50) closing 30 Nov and
    Negotiation 2000 (p80) closing 15 Dec; her Prospecting 4000 closes in January and her 700 is forecast as
    omitted. Weighted: 1000 × 0.5 + 2000 × 0.8 = 2100."""
    msg = ask(running_bot, "UANN", "pipeline")
    assert msg.response_type == "ephemeral"
    assert fields(msg) == {"Pipeline": money(Decimal("3000")), "Weighted": money(Decimal("2100")), "Open deals": "2"}
    text = all_text(msg)
    assert f"Proposal          {money(Decimal('1000'))}      1" in text
    assert f"Negotiation       {money(Decimal('2000'))}      1" in text
    check_limits(msg)


@pytest.mark.parametrize("user", ["UANN", "UMAX", "UERIN"])
def test_every_subcommand_replies_within_limits(running_bot, user):
    bot = running_bot
    for i, sub in enumerate(SUBCOMMANDS):
        bot.fake.reset()
        msg = ask(bot, user, sub, name=f"{user}-{i}")
        check_limits(msg)
        if sub.startswith("deal "):  # the card, with the CRM link built from the deal's id
            assert msg.blocks[0]["text"]["text"] == "Acme platform"
            assert "https://crm.example.com/opp-acme-platform" in all_text(msg)
        assert "error id" not in all_text(msg), (sub, all_text(msg))


def test_refusal_has_no_figures(running_bot):
    msg = ask(running_bot, "UANN", "pipeline Bob Rep")
    text = all_text(msg)
    assert "can't see" in text and "$" not in text


def test_unknown_slack_user_gets_a_sentence(running_bot):
    msg = ask(running_bot, "USTRANGER", "pipeline")
    assert "doesn't match anyone" in all_text(msg)


@pytest.mark.parametrize("forge", [{"secret": "wrong"}, {"signed": False}, {"timestamp": "stale"}])
def test_forged_unsigned_and_stale_requests_are_refused(running_bot, forge):
    bot = running_bot
    kwargs = dict(forge)
    secret = kwargs.pop("secret", SECRET)
    if kwargs.get("timestamp") == "stale":
        kwargs["timestamp"] = stale_timestamp()
    status, _ = post_slash_command(bot.url, secret, "pipeline", "UANN", response_url=bot.fake.response_url("x"),
                                   **kwargs)
    assert status == 401
    assert not bot.fake.messages()


def test_sql_looking_input_changes_nothing(running_bot):
    bot = running_bot
    with bot.deps.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(opportunities)).scalar_one()
    for i, text in enumerate(["pipeline '; DROP TABLE opportunities; --", "deal x' OR '1'='1",
                              "quota Robert'); DELETE FROM reps;--"]):
        bot.fake.reset()
        ask(bot, "UERIN", text, name=f"sql{i}")
    with bot.deps.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opportunities)).scalar_one() == before
        assert conn.execute(select(func.count()).select_from(reps)).scalar_one() == 7


def test_dm_question_is_answered_in_the_thread(running_bot):
    bot = running_bot
    event = dm_message("UANN", "how am I tracking to quota?")
    assert post_event(bot.url, SECRET, event).status == 200
    msg = bot.fake.wait_for_messages(1, kind="message", timeout=10)[-1]
    assert msg.thread_ts == event["ts"]
    assert "Quota attainment" in all_text(msg)


def test_mention_answers_only_the_asker(running_bot):
    bot = running_bot
    event = app_mention("UMAX", "<@UBOT> west team pipeline this quarter", channel="C9")
    assert post_event(bot.url, SECRET, event).status == 200
    msg = bot.fake.wait_for_messages(1, kind="ephemeral", timeout=10)[-1]
    assert msg.user == "UMAX" and msg.channel == "C9"
    assert not bot.fake.messages(kind="message")


def test_redelivered_event_is_answered_once(running_bot):
    bot = running_bot
    event = dm_message("UANN", "pipeline")
    post_event(bot.url, SECRET, event, event_id="Ev1")
    post_event(bot.url, SECRET, event, event_id="Ev1", retry_num=1)
    bot.fake.wait_for_messages(1, kind="message", timeout=10)
    import time

    time.sleep(0.5)
    assert len(bot.fake.messages(kind="message")) == 1


def test_share_button_posts_in_channel(running_bot):
    bot = running_bot
    url = bot.fake.response_url("share")
    status, _ = post_block_action(bot.url, SECRET, "UMAX", "sales_share", value="/sales pipeline",
                                  response_url=url, channel_id="C5", ephemeral=True)
    assert status == 200
    posted = bot.fake.wait_for_messages(1, kind="message", channel="C5", timeout=10)[-1]
    text = all_text(posted)
    assert "Open pipeline" in text and "UMAX" in text and "sales_share" not in text


def test_chart_goes_privately_to_the_asker(running_bot):
    bot = running_bot
    ask(bot, "UMAX", "pipeline chart", name="c")
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    uploads = bot.fake.uploads()
    assert uploads and uploads[0].is_png and uploads[0].length < 200_000
    assert uploads[0].channel_id.startswith("D")


def test_app_home_is_published(running_bot):
    bot = running_bot
    assert post_event(bot.url, SECRET, app_home_opened("UANN")).status == 200
    bot.fake.wait_for("views.publish", timeout=10)
    view = bot.fake.home_view("UANN")
    assert "Quota attainment" in json.dumps(view)


def test_rate_limited_reply_is_retried_and_sent_once(running_bot):
    bot = running_bot
    bot.fake.fail("chat.postMessage", status=429, retry_after=1, times=1)
    post_event(bot.url, SECRET, dm_message("UBOB", "pipeline"))
    bot.fake.wait_for_messages(1, kind="message", timeout=15)
    assert len(bot.fake.calls("chat.postMessage")) == 1
    assert len(bot.fake.attempts("chat.postMessage")) == 2


def test_healthz(running_bot):
    """Liveness only (the database is /readyz's business: an outage must not get the process restarted)."""
    with urllib.request.urlopen(running_bot.base_url + "/healthz", timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {"ok": True}


def test_forecast_reply_is_worked_out_by_hand(running_bot):
    """The org's Q4 forecast on 1 Dec (tests/test_metrics_kpis.py works the small org out): closed 3000 + 1000 +
    2000 + 5000 = 11000; commit + Ann's Negotiation 2000 = 13000; best case + her Proposal 1000 = 14000; pipeline +
    Bob's Prospecting 300 = 14300 (her 700 is omitted); quota the reps' 10000 + 5000 + 8000 (not Max's row)."""
    msg = ask(running_bot, "UERIN", "forecast")
    assert fields(msg) == {"Closed": money(Decimal("11000")), "Commit": money(Decimal("13000")),
                           "Best case": money(Decimal("14000")), "Pipeline": money(Decimal("14300")),
                           "Quota": money(Decimal("23000"))}
    # 13000 / 23000 = 0.565, 14000 / 23000 = 0.609
    assert f"Commit covers {percent(Decimal('0.5652'))} of quota; best case {percent(Decimal('0.6087'))}" in \
        all_text(msg)


# Q4 2026 on 1 Dec: 62 of 92 days gone (pace 0.6739). Max has a quota row of his own (18000): his tree's quota is
# that row, closed won Ann's 3000 and Bob's 1000 + 2000, open Ann's 1000 + 2000 and Bob's 300. Mia has none: her
# quota is Bob's 5000. The org sums the reps (10000 + 5000 + 8000) and never adds Max's row.
QUOTA_REPLIES = {
    "UMAX": ("0.3333", "6000", "18000", "12000", "0.275"),  # coverage 3300 / 12000
    "UMIA": ("0.6000", "3000", "5000", "2000", "0.15"),  # coverage 300 / 2000
    "UERIN": ("0.4783", "11000", "23000", "12000", "0.275"),  # coverage 3300 / 12000
}


@pytest.mark.parametrize("user", list(QUOTA_REPLIES))
def test_quota_reply_rolls_up_as_worked_out_by_hand(running_bot, user):
    attainment, won, quota, gap, coverage = (Decimal(x) for x in QUOTA_REPLIES[user])
    msg = ask(running_bot, user, "quota")
    assert fields(msg) == {"Attainment": percent(attainment), "Pace": percent(Decimal("0.6739")),
                           "Closed won": money(won), "Quota": money(quota), "Gap to quota": money(gap),
                           "Coverage": multiple(coverage)}


def test_deactivated_slack_user_gets_a_sentence(running_bot):
    running_bot.fake.add_user("UGONE", "ann.rep@example.com", "Ann Rep", deleted=True)
    msg = ask(running_bot, "UGONE", "pipeline")
    assert "deactivated" in all_text(msg) and "$" not in all_text(msg)


def test_chart_button_uploads_a_png(running_bot):
    bot = running_bot
    status, _ = post_block_action(bot.url, SECRET, "UMAX", "sales_chart", value="/sales forecast chart",
                                  response_url=bot.fake.response_url("chart"), channel_id="C5", ephemeral=True)
    assert status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    upload = bot.fake.uploads()[0]
    assert upload.is_png and upload.channel_id == "DUMAX"


def test_server_errors_are_retried_without_duplicates(running_bot):
    bot = running_bot
    bot.fake.fail("chat.postMessage", status=500, times=2)
    post_event(bot.url, SECRET, dm_message("UBOB", "quota"))
    bot.fake.wait_for_messages(1, kind="message", timeout=20)
    assert len(bot.fake.calls("chat.postMessage")) == 1
    assert len(bot.fake.attempts("chat.postMessage")) == 3
