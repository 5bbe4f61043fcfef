"""Follow-ups in a DM or a thread, and "Which Dana?" buttons, through the real bot and the fake Slack.

The small org (tests/orgs.py) gets, here only, two reps called Dana under Max Manager, and two managers whose
teams carry the same label. Their deals (worked by hand; today is 2026-12-01, Q4 = Oct 1 – Dec 31, Q3 = Jul 1 –
Sep 30; pipeline = open deals closing in the period, weighted by stage probability: Prospecting 10%, Proposal 50%,
Negotiation 80%):

    Dana Lee   Proposal    6,000  closes 2026-12-10   (Q4: pipeline $6K, weighted $3K)
               Negotiation 1,500  closes 2026-09-20   (Q3: pipeline $1.5K, weighted $1.2K)
               Closed Won  2,500  closed 2026-08-15
    Dana Park  Proposal    4,200  closes 2026-11-20   (Q4: pipeline $4.2K, weighted $2.1K)
               Prospecting   800  closes 2026-09-05   (Q3: pipeline $800, weighted $80)
    Ned Rep (under Nora North, team label "Enterprise")  Proposal 900 closes 2026-12-20   (Q4: $900)
    Sam South (team label "Enterprise", no deals)
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from handlers.app import build_app, serve_http, web_client
from handlers.deps import BotDeps
from metrics.cache import ResultCache
from tests.factories import Factory
from tests.fakeslack import dm_message, post_block_action, post_event, post_slash_command
from tests.fakeslack.incoming import app_mention
from tests.slackbot import SECRET


@pytest.fixture
def bot(running_bot):
    f = Factory(running_bot.deps.engine)
    org = running_bot.org
    lee = f.rep("Dana Lee", manager=org["M"])
    park = f.rep("Dana Park", manager=org["M2"])
    f.deal(lee, "Proposal", 6000, date(2026, 12, 10))
    f.deal(lee, "Negotiation", 1500, date(2026, 9, 20))
    f.deal(lee, "Closed Won", 2500, date(2026, 8, 15), created=date(2026, 7, 1))
    f.deal(park, "Proposal", 4200, date(2026, 11, 20))
    f.deal(park, "Prospecting", 800, date(2026, 9, 5))
    nora = f.rep("Nora North", role="manager", manager=org["E"], team="Enterprise")
    f.rep("Sam South", role="manager", manager=org["E"], team="Enterprise")
    ned = f.rep("Ned Rep", manager=nora)
    f.deal(ned, "Proposal", 900, date(2026, 12, 20))
    return running_bot


def figures(message) -> dict[str, str]:
    """The answer's key figures as shown: {"Pipeline": "$6K", …}."""
    out = {}
    for block in message.blocks or []:
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            out[label.strip("*")] = value
    return out


def context_text(message) -> str:
    return " ".join(el.get("text", "") for b in message.blocks or [] if b["type"] == "context"
                    for el in b["elements"])


def all_text(message) -> str:
    return (message.text or "") + json.dumps(message.blocks or [])


def buttons(message, prefix: str = "sales_pick") -> list[dict]:
    return [el for b in message.blocks or [] if b["type"] == "actions" for el in b["elements"]
            if el["action_id"].startswith(prefix)]


def dm(bot, user: str, text: str, *, url: str | None = None):
    """Send a DM (to `url`: the bot, or another replica) and return the bot's reply."""
    before = len(bot.fake.messages(kind="message"))
    assert post_event(url or bot.url, SECRET, dm_message(user, text)).status == 200
    return bot.fake.wait_for_messages(before + 1, kind="message", timeout=15)[before]


def click(bot, user: str, element: dict, message, name: str, *, value: str | None = None):
    url = bot.fake.response_url(name)
    where = {"message": {"ts": message.ts}} if message.kind == "message" else {"ephemeral": True}
    assert post_block_action(bot.url, SECRET, user, element["action_id"], value or element["value"],
                             response_url=url, channel_id=message.channel or "C1", **where).status == 200
    bot.fake.wait_for(lambda c: c.method == "response_url" and c.name == name, timeout=15)
    return [m for m in bot.fake.messages(kind="response_url") if m.url_name == name][-1]


def test_a_dm_conversation_with_three_follow_ups(bot):
    first = dm(bot, "UMAX", "what's the pipeline for Dana Lee this quarter?")
    assert (figures(first)["Pipeline"], figures(first)["Weighted"], figures(first)["Open deals"]) == ("$6K", "$3K", "1")
    assert "I read this as" not in context_text(first)

    second = dm(bot, "UMAX", "and last quarter?")
    assert (figures(second)["Pipeline"], figures(second)["Weighted"]) == ("$1.5K", "$1.2K")
    assert "I read this as: pipeline, Dana Lee, last quarter" in context_text(second)

    third = dm(bot, "UMAX", "what about Dana Park?")
    assert (figures(third)["Pipeline"], figures(third)["Weighted"]) == ("$800", "$80")
    assert "I read this as: pipeline, Dana Park, last quarter" in context_text(third)

    fourth = dm(bot, "UMAX", "vs last year")
    # Dana Park in Q3 2026 ($800) against all of 2025 (no deals): the comparison, read as the whole question
    assert "I read this as: pipeline, Dana Park, last quarter (Q3 FY2026), vs last year" in context_text(fourth)
    assert (figures(fourth)["last quarter (Q3 FY2026)"], figures(fourth)["last year (FY2025)"]) == ("$800", "$0")

    fresh = dm(bot, "UMAX", "pipeline for Ann this quarter")  # a complete question: not a follow-up
    assert figures(fresh)["Pipeline"] == "$3K"  # Ann: Proposal 1,000 + Negotiation 2,000 closing in Q4
    assert "I read this as" not in context_text(fresh)


def test_breakdown_chart_and_filter_follow_ups(bot):
    dm(bot, "UMAX", "deals closing this quarter")
    only = dm(bot, "UMAX", "only Negotiation")
    # Max's tree, open deals closing in Q4: Ann's Negotiation 2,000 is the only one in Negotiation
    assert "Negotiation" in all_text(only) and "$2K" in all_text(only)
    for other in ("$6K", "$4.2K", "$1K", "$300"):
        assert other not in all_text(only)
    assert "only Negotiation" in context_text(only)

    dm(bot, "UMAX", "pipeline for Dana Park this quarter")
    staged = dm(bot, "UMAX", "by stage")
    assert "I read this as: pipeline, Dana Park, this quarter" in context_text(staged)
    assert re.search(r"Proposal\s+\$4\.2K", all_text(staged))
    uploads = len(bot.fake.uploads())
    charted = dm(bot, "UMAX", "show as a chart")
    assert "chart" in context_text(charted)
    bot.fake.wait_for("files.completeUploadExternal", count=1, timeout=15)
    assert len(bot.fake.uploads()) == uploads + 1


def test_same_for_a_team_and_the_period_stays(bot):
    dm(bot, "UMAX", "pipeline for Dana Lee last quarter")
    team = dm(bot, "UMAX", "same for the west team")
    # the West team (Max, Mia, Ann, Bob) has no open deal closing in Q3
    assert "I read this as: pipeline, the West team, last quarter" in context_text(team)
    assert figures(team)["Pipeline"] == "$0"


def test_a_follow_up_after_fifteen_minutes_is_a_new_question(bot, small_org_clock):
    dm(bot, "UMAX", "pipeline for Dana Lee this quarter")
    small_org_clock.shift(timedelta(minutes=14))
    kept = dm(bot, "UMAX", "and last quarter?")
    assert figures(kept)["Pipeline"] == "$1.5K"
    small_org_clock.shift(timedelta(minutes=16))
    late = dm(bot, "UMAX", "what about Dana Park?")
    assert late.blocks[0]["text"]["text"] == "I can't answer that yet"  # a name alone, with no question before it
    assert "I read this as: pipeline" not in context_text(late)
    assert "$800" not in all_text(late) and "$4.2K" not in all_text(late)


def test_conversations_are_per_person_and_the_slash_command_has_none(bot):
    dm(bot, "UMAX", "pipeline for Dana Lee this quarter")
    other = dm(bot, "UERIN", "and last quarter?")  # Erin's DM has no question yet
    assert "$1.5K" not in all_text(other) and "I read this as: pipeline" not in context_text(other)
    url = bot.fake.response_url("slash")
    assert post_slash_command(bot.url, SECRET, "and last quarter?", "UMAX", channel_id="DUMAX",
                              response_url=url).status == 200
    slash = bot.fake.wait_for_messages(1, kind="response_url", timeout=15)[-1]
    assert "$1.5K" not in all_text(slash) and "I read this as: pipeline" not in context_text(slash)


def test_two_bot_processes_share_the_conversation(bot):
    deps = BotDeps(bot.deps.engine, bot.deps.settings, ResultCache(0))
    second = serve_http(build_app(deps, web_client(bot.deps.settings)), deps, 0, host="127.0.0.1")
    try:
        dm(bot, "UMAX", "pipeline for Dana Park this quarter")
        answer = dm(bot, "UMAX", "and last quarter?", url=f"http://127.0.0.1:{second.server_address[1]}/slack/events")
        assert figures(answer)["Pipeline"] == "$800"
        assert "I read this as: pipeline, Dana Park, last quarter" in context_text(answer)
    finally:
        second.shutdown()
        second.server_close()


def test_a_mention_thread_is_a_conversation(bot):
    root = app_mention("UMAX", "pipeline for Dana Lee this quarter", channel="C7")
    assert post_event(bot.url, SECRET, root).status == 200
    bot.fake.wait_for_messages(1, kind="ephemeral", timeout=15)
    follow = app_mention("UMAX", "and last quarter?", channel="C7", thread_ts=root["ts"])
    assert post_event(bot.url, SECRET, follow).status == 200
    answer = bot.fake.wait_for_messages(2, kind="ephemeral", timeout=15)[-1]
    assert figures(answer)["Pipeline"] == "$1.5K"
    elsewhere = app_mention("UMAX", "and last quarter?", channel="C7")  # a new thread: no question yet
    assert post_event(bot.url, SECRET, elsewhere).status == 200
    assert "$1.5K" not in all_text(bot.fake.wait_for_messages(3, kind="ephemeral", timeout=15)[-1])


def test_an_ambiguous_name_asks_which_with_buttons_and_a_click_answers(bot):
    dm(bot, "UMAX", "pipeline for Dana Lee last quarter")
    which = dm(bot, "UMAX", "what about Dana?")
    assert which.blocks[0]["text"]["text"] == "Which Dana?"
    picks = buttons(which)
    assert [b["text"]["text"] for b in picks] == ["Dana Lee", "Dana Park"]
    assert "$" not in all_text(which)

    answer = click(bot, "UMAX", picks[1], which, "pick-park")
    assert answer.replace_original is True
    # the question asked: pipeline, last quarter, for the person picked
    assert (figures(answer)["Pipeline"], figures(answer)["Weighted"]) == ("$800", "$80")
    # the pick is the conversation's question now
    follow = dm(bot, "UMAX", "and this quarter?")
    assert figures(follow)["Pipeline"] == "$4.2K"
    assert "I read this as: pipeline, Dana Park, this quarter" in context_text(follow)


def test_a_new_question_with_an_ambiguous_name_asks_too(bot):
    url = bot.fake.response_url("ask")
    assert post_slash_command(bot.url, SECRET, "pipeline dana this quarter", "UERIN", response_url=url).status == 200
    which = bot.fake.wait_for_messages(1, kind="response_url", timeout=15)[-1]
    picks = buttons(which)
    assert [b["text"]["text"] for b in picks] == ["Dana Lee", "Dana Park"]
    answer = click(bot, "UERIN", picks[0], which, "pick-lee")
    assert figures(answer)["Pipeline"] == "$6K"


def test_a_forged_pick_is_refused_without_a_figure(bot):
    which = dm(bot, "UMAX", "pipeline for dana this quarter")
    lee = buttons(which)[0]
    # a rep clicking Max's button: Dana Lee is not Ann's to see
    refused = click(bot, "UANN", lee, which, "forged-ann")
    assert refused.replace_original is False
    assert "can't see" in all_text(refused) and "$" not in all_text(refused)
    # Max with the value edited to name Cat Rep (Erin's, not in Max's tree)
    forged = lee["value"].replace("dana.lee@example.com", "cat.rep@example.com")
    assert forged != lee["value"]
    refused = click(bot, "UMAX", lee, which, "forged-max", value=forged)
    assert "can't see" in all_text(refused) and "$" not in all_text(refused)
    # and a value that is not a question at all gets a sentence
    broken = click(bot, "UMAX", lee, which, "broken", value=lee["value"][:40])
    assert "couldn't read that button" in all_text(broken)


def test_only_the_people_the_asker_may_see_are_offered(bot):
    # Mia's tree holds Bob and Dana Park, not Dana Lee: one button, for Dana Park
    which = dm(bot, "UMIA", "pipeline for dana this quarter")
    assert [b["text"]["text"] for b in buttons(which)] == ["Dana Park"]
    # a rep sees neither: the sentence, no buttons, no figure
    ann = dm(bot, "UANN", "pipeline for dana this quarter")
    assert not buttons(ann) and "$" not in all_text(ann) and "Dana Lee" in all_text(ann)


def test_an_ambiguous_team_label_asks_which_team(bot):
    which = dm(bot, "UERIN", "pipeline Enterprise this quarter")
    picks = buttons(which)
    assert [b["text"]["text"] for b in picks] == ["Nora North's team", "Sam South's team"]
    answer = click(bot, "UERIN", picks[0], which, "pick-nora")
    assert figures(answer)["Pipeline"] == "$900"


def test_more_than_five_people_get_a_sentence(bot):
    f = Factory(bot.deps.engine)
    for surname in ("Ames", "Bell", "Cole", "Dunn"):
        f.rep(f"Dana {surname}", manager=bot.org["M"])
    which = dm(bot, "UMAX", "pipeline for dana this quarter")
    assert not buttons(which)
    assert "6 people or teams match “dana”" in all_text(which).replace("\\u201c", "“").replace("\\u201d", "”")


def test_the_buttons_of_a_follow_up_answer_re_ask_the_whole_question(bot):
    dm(bot, "UMAX", "pipeline for Dana Lee this quarter")
    answer = dm(bot, "UMAX", "and last quarter?")
    share = buttons(answer, "sales_share")[0]
    before = len(bot.fake.messages(kind="message"))
    url = bot.fake.response_url("share")
    assert post_block_action(bot.url, SECRET, "UMAX", "sales_share", share["value"], response_url=url,
                             message={"ts": answer.ts}, channel_id="C5").status == 200
    shared = bot.fake.wait_for_messages(before + 1, kind="message", timeout=15)[before]
    assert shared.channel == "C5" and figures(shared)["Pipeline"] == "$1.5K"  # Dana Lee, Q3: not the fragment
    # the chart button: the same question with a chart, privately
    chart = buttons(answer, "sales_chart")[0]
    assert post_block_action(bot.url, SECRET, "UMAX", "sales_chart", chart["value"],
                             response_url=bot.fake.response_url("chart"), message={"ts": answer.ts},
                             channel_id="DUMAX").status == 200
    upload = bot.fake.wait_for("files.completeUploadExternal", count=1, timeout=15)[-1]
    assert "Q3 FY2026" in json.dumps(upload.params)


def test_the_person_compared_with_can_be_the_ambiguous_one(bot):
    which = dm(bot, "UMAX", "win rate Ann vs dana this quarter")
    picks = buttons(which)
    assert which.blocks[0]["text"]["text"] == "Which dana?"
    assert [b["text"]["text"] for b in picks] == ["Dana Lee", "Dana Park"]
    answer = click(bot, "UMAX", picks[0], which, "pick-compare")
    # Ann in Q4: won 3,000 and lost 500, 1 of 2 closed = 50%; Dana Lee closed nothing in Q4
    text = all_text(answer)
    assert "Ann Rep" in text and "Dana Lee" in text and "50%" in text
