"""Forecast calls end to end (issue 13 item 5): the weekly reminder job, the modal opened from its button and from
`/sales call`, submissions through the real bot (signed requests, the fake Slack), history, late marking, the
manager's override, the `/sales calls` roll-up, permissions, and the digest lines.

Figures are worked out by hand from tests/orgs.py (Q4 2026):
  Ann  closed 3000 (won 10 Oct) + commit 2000 (Negotiation) = commit 5000; + best case 1000 (Proposal) = 6000;
       quota 10000.
  Bob  closed 3000 (1000 + 2000 won in Nov); nothing in commit or best case: commit 3000, best case 3000;
       quota 5000.
  Cat  closed 5000: commit 5000, best case 5000; quota 8000.
  Mia's team (Mia, Bob): commit 3000, best case 3000; quota 5000 (no row of her own: Bob's).
  Max's team (Max, Mia, Ann, Bob): commit 8000, best case 9000; quota 18000 (his own row).
  Org: commit 13000, best case 14000; quota 23000 (reps' rows).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from config import ConfigError, load_settings
from db.schema import bot_delivery_ledger, bot_forecast_calls, reps
from errors import UserError
from i18n import use_locale
from render.calls import (
    AMOUNT_ACTION,
    BEST_CASE_BLOCK,
    CALL_ACTION_ID,
    CALL_CALLBACK_ID,
    COMMIT_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
)
from scheduler.call_reminders import run_call_reminders
from scheduler.context import JobContext
from scheduler.digest_content import DigestBuilder, Person
from scheduler.forecast_calls import call_week, parse_amount
from scheduler.ledger import DeliveryLedger
from scheduler.sender import SlackSender
from tests.fakeslack import (
    dm_message,
    input_value,
    post_block_action,
    post_event,
    post_slash_command,
    post_view_submission,
)
from tests.slackbot import SECRET, TOKEN

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
ZONES = {"A": "America/New_York", "B": "Europe/London", "C": "Asia/Tokyo", "M": "America/Chicago",
         "M2": "Europe/Berlin"}
SLACK = {"A": "UANN", "B": "UBOB", "C": "UCAT", "M": "UMAX", "M2": "UMIA"}


def utc(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def bot(running_bot, small_org_clock):
    """The small org with everyone's zone set (Cat gets a Slack account in Tokyo), the clock on the Monday of the
    call week."""
    running_bot.fake.add_user("UCAT", "cat.rep@example.com", "Cat Rep", tz="Asia/Tokyo")
    with running_bot.deps.engine.begin() as conn:
        for key, tz in ZONES.items():
            conn.execute(update(reps).where(reps.c.id == running_bot.org[key]).values(timezone=tz))
    running_bot.ctx = JobContext(running_bot.deps.engine, running_bot.deps.settings,
                                 SlackSender(WebClient(token=TOKEN, base_url=running_bot.fake.api_url),
                                             per_channel_interval=0),
                                 DeliveryLedger(running_bot.deps.engine))
    running_bot.clock = small_org_clock
    small_org_clock.move_to(utc(MONDAY, 0, 30))
    return running_bot


def at(bot, when: datetime) -> None:
    bot.clock.move_to(when)


def dms(bot, user: str):
    return [m for m in bot.fake.messages(kind="message") if m.channel == f"D{user}"]


def shown(message) -> str:
    return "\n".join([message.text or "", json.dumps(message.blocks, ensure_ascii=False)])


def ask(bot, user: str, text: str):
    """The ephemeral reply to `/sales TEXT`: (the message, all it shows as one string)."""
    before = len(bot.fake.messages(kind="response_url"))
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=bot.fake.response_url(f"{user}-{before}"))
    assert status == 200
    msg = bot.fake.wait_for_messages(before + 1, kind="response_url", timeout=15)[-1]
    return msg, shown(msg)


def figure_fields(message) -> dict[str, str]:
    """The answer's key figures, label → value, as the message shows them."""
    out = {}
    for block in message.blocks:
        for field in block.get("fields", []) if block["type"] == "section" else []:
            label, _, value = field["text"].partition("\n")
            out[label.strip("*")] = value
    return out


def open_modal(bot, user: str) -> dict:
    """`/sales call` as `user`: the modal it opened."""
    before = len(bot.fake.calls("views.open"))
    status, _ = post_slash_command(bot.url, SECRET, "call", user)
    assert status == 200
    return bot.fake.wait_for("views.open", count=before + 1, timeout=15)[-1].params["view"]


def initial(view: dict, block_id: str) -> str:
    return next(b["element"]["initial_value"] for b in view["blocks"] if b.get("block_id") == block_id)


def form(commit: str, best: str, note: str | None = None) -> dict:
    return {COMMIT_BLOCK: {AMOUNT_ACTION: input_value(commit)}, BEST_CASE_BLOCK: {AMOUNT_ACTION: input_value(best)},
            NOTE_BLOCK: {NOTE_ACTION: input_value(note)}}


def submit(bot, user: str, commit: str, best: str, note: str | None = None, metadata: str | None = None):
    """Open the modal (unless forged `metadata` is given) and submit it; returns the reply to the submission."""
    meta = metadata if metadata is not None else open_modal(bot, user)["private_metadata"]
    return post_view_submission(bot.url, SECRET, user, CALL_CALLBACK_ID, form(commit, best, note),
                                private_metadata=meta)


def call_rows(bot, key: str):
    with bot.deps.engine.connect() as conn:
        return conn.execute(select(bot_forecast_calls).where(bot_forecast_calls.c.rep_id == bot.org[key])
                            .order_by(bot_forecast_calls.c.id)).all()


def confirmed(call) -> bool:
    return call.method == "chat.postMessage" and "Got it" in (call.params.get("text") or "")


def submitted(bot, user: str, key: str, commit: str, best: str, note: str | None = None) -> None:
    """Submit through the modal; the row is stored and the confirmation DM sent."""
    rows, confirmations = len(call_rows(bot, key)), len([c for c in bot.fake.calls() if confirmed(c)])
    reply = submit(bot, user, commit, best, note)
    assert reply.status == 200 and not reply.body, reply.body
    bot.fake.wait_for(confirmed, count=confirmations + 1, timeout=15)
    assert len(call_rows(bot, key)) == rows + 1


# ---------------------------------------------------------------------------------------------------------------
# the reminder


def test_one_reminder_per_caller_at_ten_on_their_own_monday(bot):
    # (UTC instant, who has had theirs by then): 10:00 Tokyo, Berlin, London, New York, Chicago
    steps = [(utc(MONDAY, 0, 55), set()), (utc(MONDAY, 1, 0), {"C"}), (utc(MONDAY, 8, 55), {"C"}),
             (utc(MONDAY, 9, 0), {"C", "M2"}), (utc(MONDAY, 10, 0), {"C", "M2", "B"}),
             (utc(MONDAY, 14, 55), {"C", "M2", "B"}), (utc(MONDAY, 15, 0), {"C", "M2", "B", "A"}),
             (utc(MONDAY, 16, 0), {"C", "M2", "B", "A", "M"}), (utc(MONDAY, 16, 5), {"C", "M2", "B", "A", "M"})]
    for now, expected in steps:
        at(bot, now)
        run_call_reminders(bot.ctx, now)
        got = {key for key, user in SLACK.items() if dms(bot, user)}
        assert got == expected, now
    for user in SLACK.values():  # once each, though the job ran again and again
        assert len(dms(bot, user)) == 1, user
    assert not dms(bot, "UERIN") and not dms(bot, "UOLLY")  # no quota: the exec and ops get none
    with bot.deps.engine.connect() as conn:
        keys = {(r.kind, r.recipient, r.period) for r in conn.execute(select(bot_delivery_ledger))}
    assert keys == {("forecast_call", str(bot.org[k]), "2026-12-07") for k in SLACK}

    ann = shown(dms(bot, "UANN")[0])
    assert "Tue, Dec 8, 17:00 EST" in ann and "Q4 FY2026" in ann  # the deadline, in her own zone
    assert "$5,000" in ann and "$6,000" in ann and "$10,000" in ann  # system commit, best case, quota
    assert "Tue, Dec 8, 17:00 GMT" in shown(dms(bot, "UBOB")[0])
    assert "Tue, Dec 8, 17:00 CET" in shown(dms(bot, "UMIA")[0])

    # the next Monday is a new week: one more each. At 16:05 UTC it is 01:05 on Tuesday in Tokyo: a reminder
    # that late waits out the quiet hours, so Cat's goes at her own 10:00 only
    next_monday = date(2026, 12, 14)
    at(bot, utc(next_monday, 16, 5))
    late = run_call_reminders(bot.ctx, utc(next_monday, 16, 5))
    assert (late["sent"], late["quiet"]) == (4, 1)
    at(bot, utc(next_monday, 1, 0))
    assert run_call_reminders(bot.ctx, utc(next_monday, 1, 0))["sent"] == 1
    assert all(len(dms(bot, user)) == 2 for user in SLACK.values())


def test_no_reminder_for_someone_who_already_called_this_week(bot):
    at(bot, utc(MONDAY, 13, 0))  # 08:00 in New York: Ann calls before her reminder
    submitted(bot, "UANN", "A", "4500", "6500")
    at(bot, utc(MONDAY, 15, 0))
    summary = run_call_reminders(bot.ctx, utc(MONDAY, 15, 0))
    # due at 15:00 UTC: Ann (10:00), Bob (15:00), Mia (16:00); Cat's Tuesday 00:00 is quiet; Max's 09:00 is early
    assert (summary["already_called"], summary["sent"], summary["quiet"]) == (1, 2, 1)
    assert [m.text for m in dms(bot, "UANN") if "forecast call" in (m.text or "").lower()] == []
    assert len(dms(bot, "UBOB")) == 1 and len(dms(bot, "UMIA")) == 1


# ---------------------------------------------------------------------------------------------------------------
# the modal


def click_call_button(bot, user: str, message) -> dict:
    """Click the "Submit my call" button of a posted message as `user`: the modal it opened."""
    button = next(el for b in message.blocks if b["type"] == "actions" for el in b["elements"]
                  if el["action_id"] == CALL_ACTION_ID)
    status, _ = post_block_action(bot.url, SECRET, user, CALL_ACTION_ID, value=button["value"],
                                  message=bot.fake.posted(message.channel, message.ts), channel_id=message.channel)
    assert status == 200
    return bot.fake.wait_for("views.open", timeout=15)[-1].params["view"]


def test_the_reminder_button_opens_the_modal_prefilled_with_the_system_roll_up(bot):
    at(bot, utc(MONDAY, 15, 0))
    run_call_reminders(bot.ctx, utc(MONDAY, 15, 0))
    view = click_call_button(bot, "UANN", dms(bot, "UANN")[0])
    assert view["callback_id"] == CALL_CALLBACK_ID
    assert Decimal(initial(view, COMMIT_BLOCK)) == Decimal("5000")
    assert Decimal(initial(view, BEST_CASE_BLOCK)) == Decimal("6000")


def test_a_manager_sees_the_team_figures_and_the_reps_calls(bot):
    at(bot, utc(MONDAY, 16, 0))
    submitted(bot, "UANN", "A", "4500", "6500")
    submitted(bot, "UBOB", "B", "2800", "3200")
    view = open_modal(bot, "UMAX")
    assert Decimal(initial(view, COMMIT_BLOCK)) == Decimal("8000")  # his team's system commit
    assert Decimal(initial(view, BEST_CASE_BLOCK)) == Decimal("9000")
    text = json.dumps(view["blocks"], ensure_ascii=False)
    # his reports: Ann (her call) and Mia (no call of her own: Bob's, rolled up) = 7300 / 9700
    assert "commit $7,300 · best case $9,700 (2 of 2 submitted)" in text
    assert "Ann Rep: commit $4,500 · best case $6,500" in text and "Mia Lead: commit $2,800" in text
    assert "$18,000" in text  # his quota


def test_asking_for_the_call_in_a_dm_gives_a_button_that_opens_the_modal(bot):
    at(bot, utc(MONDAY, 16, 0))
    event = dm_message("UMIA", "submit my call")
    assert post_event(bot.url, SECRET, event).status == 200
    reply = bot.fake.wait_for_messages(1, kind="message", timeout=15)[-1]
    assert reply.thread_ts == event["ts"]
    assert figure_fields(reply)["System commit"] == "$3K" and figure_fields(reply)["Quota"] == "$5K"
    view = click_call_button(bot, "UMIA", reply)
    assert (Decimal(initial(view, COMMIT_BLOCK)), Decimal(initial(view, BEST_CASE_BLOCK))) == (Decimal("3000"),
                                                                                             Decimal("3000"))


def test_call_settings_are_read_and_checked():
    settings = load_settings({"FORECAST_CALL_DAY": "wed", "FORECAST_CALL_TIME": "9:30",
                              "FORECAST_CALL_DEADLINE": "Friday 12:00"})
    assert (settings.forecast_call_day, settings.forecast_call_time) == (2, time(9, 30))
    assert (settings.forecast_call_deadline_day, settings.forecast_call_deadline_time) == (4, time(12, 0))
    defaults = load_settings({})
    assert (defaults.forecast_call_day, defaults.forecast_call_time, defaults.forecast_call_deadline_day,
            defaults.forecast_call_deadline_time) == (0, time(10, 0), 1, time(17, 0))
    for env in ({"FORECAST_CALL_DAY": "someday"}, {"FORECAST_CALL_TIME": "25:00"},
                {"FORECAST_CALL_DEADLINE": "Tuesday"}):
        with pytest.raises(ConfigError):
            load_settings(env)
    # a week opened on Wednesday 09:30 in Berlin closes on Friday 12:00 there (CET, UTC+1)
    week = call_week(settings, ZoneInfo("Europe/Berlin"), utc(date(2026, 12, 10), 8, 0))
    assert week.week_of == date(2026, 12, 9)
    assert (week.opens_at, week.deadline) == (utc(date(2026, 12, 9), 8, 30), utc(date(2026, 12, 11), 11, 0))


def test_slash_call_for_someone_without_a_quota_says_so(bot):
    msg, text = ask(bot, "UERIN", "call")
    assert "you have none" in text and "$" not in text
    assert not bot.fake.calls("views.open")


# ---------------------------------------------------------------------------------------------------------------
# submissions: history, late, bad input


def test_every_submission_is_kept_and_late_ones_are_marked(bot):
    at(bot, utc(MONDAY, 15, 30))
    submitted(bot, "UANN", "A", "4500", "6500", "Negotiation may slip")
    at(bot, utc(TUESDAY, 21, 30))  # 16:30 in New York: before her 17:00 deadline
    submitted(bot, "UANN", "A", "4,800", "6.6k")
    at(bot, utc(TUESDAY, 22, 30))  # 17:30 in New York: late
    submitted(bot, "UANN", "A", "$4,000.50", "6000")
    rows = call_rows(bot, "A")
    assert [(r.commit_amount, r.best_case_amount, r.late) for r in rows] == [
        (Decimal("4500.00"), Decimal("6500.00"), False), (Decimal("4800.00"), Decimal("6600.00"), False),
        (Decimal("4000.50"), Decimal("6000.00"), True)]
    assert {r.week_of for r in rows} == {MONDAY} and {r.scope for r in rows} == {"rep"}
    assert rows[0].note == "Negotiation may slip"
    assert {(r.system_commit, r.system_best_case) for r in rows} == {(Decimal("5000.00"), Decimal("6000.00"))}
    assert {r.submitted_by for r in rows} == {bot.org["A"]}
    confirmations = [c.params["text"] for c in bot.fake.calls("chat.postMessage") if "Got it" in c.params["text"]]
    assert "marked late" in confirmations[-1] and "marked late" not in confirmations[0]

    # Bob's 17:30 is late in London, where Ann's same instant was still early afternoon
    at(bot, utc(TUESDAY, 17, 30))
    submitted(bot, "UBOB", "B", "2800", "3200")
    assert call_rows(bot, "B")[-1].late is True

    _, text = ask(bot, "UANN", "calls me")
    assert "Every call this quarter (3)" in text
    history = text[text.index("Every call this quarter"):]
    assert history.index("$4,000.50") < history.index("$4,800") < history.index("$4,500")  # newest first
    assert history.count("late") == 1 and "Negotiation may slip" in history


def test_bad_amounts_go_back_to_the_modal_and_store_nothing(bot):
    at(bot, utc(MONDAY, 15, 30))
    for commit, best, field in (("lots", "6000", COMMIT_BLOCK), ("5000", "-1", BEST_CASE_BLOCK),
                                ("5000", "4000", BEST_CASE_BLOCK), ("5000.123", "6000", COMMIT_BLOCK)):
        reply = submit(bot, "UANN", commit, best)
        assert reply.status == 200 and reply.json()["response_action"] == "errors"
        assert field in reply.json()["errors"], (commit, best)
    assert call_rows(bot, "A") == []


# ---------------------------------------------------------------------------------------------------------------
# the roll-up, the override, permissions


def test_calls_roll_up_with_the_managers_override(bot):
    at(bot, utc(MONDAY, 16, 0))
    submitted(bot, "UANN", "A", "4500", "6500")
    submitted(bot, "UBOB", "B", "2800", "3200")
    _, text = ask(bot, "UMAX", "calls team")
    assert "Reps' calls rolled up: commit $7,300 · best case $9,700 (2 of 2 submitted)" in text
    assert "Not submitted this week (2 of 4): Max Manager, Mia Lead" in text

    submitted(bot, "UMIA", "M2", "3000", "3500")  # Mia's call for her team overrides Bob's roll-up
    [mia] = call_rows(bot, "M2")
    assert (mia.scope, mia.submitted_by) == ("tree", bot.org["M2"])
    assert (mia.system_commit, mia.system_best_case) == (Decimal("3000.00"), Decimal("3000.00"))
    _, text = ask(bot, "UMAX", "calls team")
    # Max's reps' calls: Mia's override 3000 / 3500 + Ann's 4500 / 6500
    assert "Reps' calls rolled up: commit $7,500 · best case $10,000 (2 of 2 submitted)" in text
    assert "Not submitted this week (1 of 4): Max Manager." in text
    assert "Team call for Mia Lead's team (overrides the reps' roll-up), set by Mia Lead on Mon, Dec 7, 10:00 CST: " \
           "commit $3,000 · best case $3,500." in text
    msg, text = ask(bot, "UMAX", "calls team")
    assert figure_fields(msg) == {"Calls: commit": "$7,500", "Calls: best case": "$10,000",
                                  "System commit": "$8,000", "System best case": "$9,000", "Quota": "$18,000"}

    at(bot, utc(MONDAY, 16, 0))
    submitted(bot, "UMAX", "M", "7000", "9500")  # Max's own call for his team: the team's number now
    msg, text = ask(bot, "UMAX", "calls team")
    assert "Team call for Max Manager's team (overrides the reps' roll-up), set by Max Manager on Mon, Dec 7, " \
           "10:00 CST: commit $7,000 · best case $9,500." in text
    assert figure_fields(msg)["Calls: commit"] == "$7,000" and figure_fields(msg)["Calls: best case"] == "$9,500"
    assert "Everyone has submitted this week (4 of 4)." in text

    _, text = ask(bot, "UERIN", "calls")  # the exec: everyone; Cat has not called
    assert "Not submitted this week (1 of 5): Cat Rep." in text
    for name in ("Ann Rep", "Bob Rep", "Cat Rep", "Max Manager", "Mia Lead"):
        assert name in text


def test_a_rep_cannot_read_another_reps_call_and_a_manager_only_their_tree(bot):
    at(bot, utc(MONDAY, 16, 0))
    submitted(bot, "UANN", "A", "4500", "6500")
    submitted(bot, "UBOB", "B", "2800", "3200")
    msg, text = ask(bot, "UANN", "calls Bob")
    assert "can't see" in text and "$" not in text
    msg, text = ask(bot, "UANN", "calls team")
    assert "$" not in text and "2,800" not in text
    _, text = ask(bot, "UMIA", "calls Ann")  # Ann is Max's, not Mia's
    assert "can't see" in text and "4,500" not in text
    _, text = ask(bot, "UMIA", "calls Bob")
    assert "$2,800" in text
    _, text = ask(bot, "UMIA", "calls team")
    assert "Ann Rep" not in text and "Cat Rep" not in text and "Bob Rep" in text


def test_forged_buttons_and_forms_are_refused_without_a_figure(bot):
    at(bot, utc(MONDAY, 16, 0))
    forged = json.dumps({"r": bot.org["A"]})
    status, _ = post_block_action(bot.url, SECRET, "UBOB", CALL_ACTION_ID, value=forged, channel_id="DUBOB",
                                  response_url=bot.fake.response_url("forged"))
    assert status == 200
    note = bot.fake.wait_for_messages(1, kind="response_url", timeout=15)[-1]
    assert "isn't yours" in note.text and "$" not in note.text
    assert not bot.fake.calls("views.open")

    metadata = json.dumps({"r": bot.org["A"], "q": "2026-10-01"})
    reply = submit(bot, "UBOB", "1", "2", metadata=metadata)
    assert reply.json()["response_action"] == "errors"
    assert "isn't yours" in reply.json()["errors"][COMMIT_BLOCK] and "$" not in reply.body
    for bad in ("not json", json.dumps({"r": "x"}), json.dumps({"r": bot.org["B"], "q": "2026-07-01"})):
        reply = submit(bot, "UBOB", "1", "2", metadata=bad)
        assert reply.json()["response_action"] == "errors", bad
    assert call_rows(bot, "A") == [] and call_rows(bot, "B") == []


# ---------------------------------------------------------------------------------------------------------------
# digests


def person(bot, key: str, name: str, role: str) -> Person:
    return Person(bot.org[key], name, None, role, ZoneInfo(ZONES.get(key, "America/Los_Angeles")))


def test_manager_digest_lists_missing_calls_and_exec_digest_compares_calls(bot):
    at(bot, utc(MONDAY, 16, 0))
    submitted(bot, "UANN", "A", "4500", "6500")
    now = utc(MONDAY, 16, 0)
    builder = DigestBuilder(bot.deps.engine, bot.deps.settings)
    digest = builder.build(person(bot, "M", "Max Manager", "manager"), "digest", MONDAY, now, utc(MONDAY, 0))
    assert digest.figures["missing_calls"] == ["Bob Rep", "Max Manager", "Mia Lead"]
    text = "\n".join(digest.answer.lines)
    assert "*Forecast calls* this week (due Tue, Dec 8, 17:00 CST): 1 of 4 submitted; missing: Bob Rep, " \
           "Max Manager, Mia Lead." in text

    submitted(bot, "UMIA", "M2", "3000", "3500")
    submitted(bot, "UCAT", "C", "5000", "5500")
    exec_digest = builder.build(person(bot, "E", "Erin Exec", "exec"), "exec_digest", MONDAY, now, utc(MONDAY, 0))
    text = "\n".join(exec_digest.answer.lines)
    # org: Max's team 7500 / 10000 (Mia 3000 / 3500 + Ann 4500 / 6500) + Cat 5000 / 5500
    assert ("• Org: calls $12,500 commit · $15,500 best case | system $13,000 commit · $14,000 best case | "
            "quota $23,000") in text
    assert ("• Cat Rep: calls $5,000 commit · $5,500 best case | system $5,000 commit · $5,000 best case | "
            "quota $8,000") in text
    assert ("• Max Manager's team: calls $7,500 commit · $10,000 best case | system $8,000 commit · $9,000 best case"
            " | quota $18,000") in text


def test_a_bad_amount_is_refused_in_the_askers_language(bot):
    """Ann speaks Italian: the modal's field error is Italian, and nothing is stored."""
    at(bot, utc(MONDAY, 15, 30))
    _, said = ask(bot, "UANN", "settings language it")
    assert "Italiano" in said
    for commit, error in (("abc", "Inserisci un importo come 125000"),
                          ("5000,1234", "Gli importi arrivano al massimo al centesimo."),
                          ("125,000", "Non capisco se 125,000 vuol dire 125 o 125000")):
        reply = submit(bot, "UANN", commit, "6000")
        assert reply.status == 200 and reply.json()["response_action"] == "errors"
        assert reply.json()["errors"][COMMIT_BLOCK].startswith(error), reply.json()
    assert call_rows(bot, "A") == []


@pytest.mark.parametrize(("locale", "typed", "amount"), [
    ("en", "125000", "125000"), ("en", "$12,500", "12500"), ("en", "12.5k", "12500"), ("en", "1.2m", "1200000"),
    ("en", "1,250,000.5", "1250000.50"), ("en", "125000.00", "125000"), ("en", "USD 4,000.50", "4000.50"),
    ("it", "125.000", "125000"), ("it", "1.250,50", "1250.50"), ("it", "€ 2,5k", "2500"), ("it", "1,2 mln", "1200000"),
    ("it", "125000.00", "125000"), ("it", "1.250.000", "1250000"), ("it", "125000 €", "125000"),
    ("id", "Rp125.000", "125000"), ("id", "1,5 jt", "1500000"), ("id", "500 rb", "500000"), ("id", "99,9", "99.90"),
])
def test_an_amount_is_read_the_way_the_asker_writes_numbers(locale, typed, amount):
    """The form is prefilled as 125000.00, which reads in every language; the rest follows the asker's CLDR marks."""
    with use_locale(locale):
        assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize(("locale", "typed"), [
    ("en", "125.000"), ("it", "125,000"), ("id", "125,000"),  # 125 or 125,000? never a guess
    ("en", "1.2.3"), ("it", "1,25,000"), ("en", "5000.125"), ("it", "-1"), ("en", "12 apples"),
])
def test_an_amount_that_could_be_read_two_ways_or_not_at_all_is_refused(locale, typed):
    with use_locale(locale), pytest.raises(UserError):
        parse_amount(typed)
