"""Fair use through the real bot: a per-person limit answered with a polite sentence, and questions beyond the free
database slots waiting in a bounded queue, answered "busy, try again in a moment" when it is full or when their
wait reaches BUSY_WAIT_SECONDS."""

from __future__ import annotations

import time

import pytest

from handlers.reply import BUSY, RATE_LIMITED
from i18n import _, use_locale
from tests.fakeslack import post_slash_command
from tests.slackbot import SECRET, serve_bot
from tests.test_serving import samples, value
from tests.test_slack_languages import speaks

WAIT = 30  # seconds to wait for an event that must come (no timing is asserted)


@pytest.fixture
def bot_factory(db, fake_slack, small_org_clock):
    def make(**serving):
        return serve_bot(db, fake_slack, **serving)

    return make


def ask(bot, user: str, name: str, text: str = "pipeline") -> None:
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=bot.fake.response_url(name))
    assert status == 200  # acked whatever the answer will be


def reply_text(bot, name: str) -> str:
    bot.fake.wait_for(lambda c: c.method == "response_url" and c.name == name, timeout=WAIT)
    (message,) = [m for m in bot.fake.messages(kind="response_url") if m.url_name == name]
    return message.text or ""


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT}s for {what}"
        time.sleep(0.02)


def test_a_person_over_the_limit_is_told_politely_and_others_are_not_held_back(bot_factory):
    with bot_factory(rate_limit_per_minute=3) as bot:
        for i in range(3):
            ask(bot, "UANN", f"ann{i}")
            assert "in the last minute" not in reply_text(bot, f"ann{i}")
        ask(bot, "UANN", "ann-over")
        over = reply_text(bot, "ann-over")
        assert "You've asked me 3 things in the last minute" in over
        assert "Please wait a minute and ask again." in over
        assert "error id" not in over.lower()
        ask(bot, "UBOB", "bob")  # Bob has his own allowance
        assert "in the last minute" not in reply_text(bot, "bob")


def test_a_question_beyond_the_free_slots_and_the_queue_is_answered_busy(bot_factory):
    with bot_factory(answer_slots=1, busy_queue=1) as bot:
        bot.fake.fail("users.info", status=None, delay=WAIT, times=1)  # Ann's answer holds the only slot
        ask(bot, "UANN", "slow")
        bot.fake.wait_for("users.info", timeout=WAIT)
        ask(bot, "UBOB", "queued")
        wait_until(lambda: bot.deps.gate.waiting == 1, "Bob's question to wait in the queue")
        ask(bot, "UMAX", "turned-away")
        assert BUSY in reply_text(bot, "turned-away")
        # the queued question is answered once the slot is free, not turned away
        bot.fake.release_delays()
        assert BUSY not in reply_text(bot, "queued")
        assert BUSY not in reply_text(bot, "slow")


def test_a_queued_question_waits_at_most_busy_wait_seconds_then_hears_busy(bot_factory):
    with bot_factory(answer_slots=1, busy_queue=5, busy_wait_seconds=1) as bot:
        before = samples(bot.base_url)
        bot.fake.fail("users.info", status=None, delay=WAIT, times=1)  # Ann's answer holds the only slot
        ask(bot, "UANN", "slow")
        bot.fake.wait_for("users.info", timeout=WAIT)
        ask(bot, "UBOB", "waited")  # room in the queue, but the slot stays taken past BUSY_WAIT_SECONDS
        assert BUSY in reply_text(bot, "waited")
        assert bot.deps.gate.waiting == 0 and bot.deps.gate.running == 1  # it left the queue; Ann still runs
        bot.fake.release_delays()
        assert BUSY not in reply_text(bot, "slow")
        ask(bot, "UBOB", "again")  # the slot is free again: Bob is answered
        assert BUSY not in reply_text(bot, "again")
        after = samples(bot.base_url)
    grown = {(name, outcome): value(after, name, **labels) - value(before, name, **labels)
             for name, outcome, labels in (
                 ("salesbot_requests_total", "busy", {"subcommand": "pipeline", "outcome": "busy"}),
                 ("salesbot_requests_total", "ok", {"subcommand": "pipeline", "outcome": "ok"}),
                 ("salesbot_fair_use_refusals_total", "busy", {"reason": "busy"}))}
    assert grown == {("salesbot_requests_total", "busy"): 1, ("salesbot_requests_total", "ok"): 2,
                     ("salesbot_fair_use_refusals_total", "busy"): 1}


def said_in(lang: str, message: str, **values) -> str:
    with use_locale(lang):
        return _(message).format(**values)


def test_a_refusal_is_said_in_the_persons_language(bot_factory):
    """Ann (Slack locale it-IT) is told the limit in Italian: from the memory of her last answer, and on a replica
    that has not answered her (the memory cleared) from her stored Slack locale. Max chose Indonesian; turned away
    busy, he hears it in Indonesian; Bob, never answered and turned away busy, hears DEFAULT_LOCALE's English."""
    with bot_factory(rate_limit_per_minute=2, answer_slots=1, busy_queue=0) as bot:
        speaks(bot, "UANN", "it-IT")
        ask(bot, "UANN", "ann1")
        assert "Pipeline" in reply_text(bot, "ann1")
        ask(bot, "UANN", "ann2")
        reply_text(bot, "ann2")
        ask(bot, "UANN", "ann-over")
        assert said_in("it", RATE_LIMITED, limit=2) in reply_text(bot, "ann-over")
        bot.deps.languages.clear()
        ask(bot, "UANN", "ann-elsewhere")
        assert said_in("it", RATE_LIMITED, limit=2) in reply_text(bot, "ann-elsewhere")

        ask(bot, "UMAX", "max-lang", "settings language id")
        reply_text(bot, "max-lang")
        bot.fake.fail("users.info", status=None, delay=WAIT, times=1)  # Olly's answer holds the only slot
        ask(bot, "UOLLY", "slow")
        bot.fake.wait_for("users.info", timeout=WAIT)
        ask(bot, "UMAX", "max-busy")
        assert said_in("id", BUSY) in reply_text(bot, "max-busy")
        ask(bot, "UBOB", "bob-busy")
        assert said_in("en", BUSY) in reply_text(bot, "bob-busy")
        bot.fake.release_delays()
        reply_text(bot, "slow")
    assert said_in("it", BUSY) != said_in("id", BUSY) != BUSY
