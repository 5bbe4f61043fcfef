"""`/sales` when Slack's response_url fails: the real bot retries it (handlers.reply.respond_reliably) and the
answer arrives exactly once; when it never works, the answer reaches the asker another way, still only once."""

from __future__ import annotations

import time

from tests.fakeslack import post_slash_command
from tests.slackbot import SECRET


def ask(bot, name: str, channel_id: str = "C1") -> None:
    url = bot.fake.response_url(name)
    status, _ = post_slash_command(bot.url, SECRET, "pipeline", "UANN", channel_id=channel_id, response_url=url)
    assert status == 200


def replies(bot, name: str) -> list:
    return [m for m in bot.fake.messages(kind="response_url") if m.url_name == name]


def attempts(bot, name: str) -> list:
    return [c for c in bot.fake.attempts("response_url") if c.name == name]


def settle(bot, seconds: float = 1.0) -> None:
    """Give a wrongly repeated post time to arrive before counting."""
    time.sleep(seconds)


def test_a_5xx_from_the_response_url_is_retried_and_the_answer_arrives_once(running_bot):
    bot = running_bot
    bot.fake.fail("response_url", status=503, times=1)
    ask(bot, "flaky")
    [reply] = bot.fake.wait_for_messages(1, kind="response_url", timeout=15)
    settle(bot)
    assert [c.injected for c in attempts(bot, "flaky")] == ["http 503", None]
    assert len(replies(bot, "flaky")) == 1
    assert reply.response_type == "ephemeral" and "Pipeline" in (reply.text or "") + str(reply.blocks)
    assert not bot.fake.messages(kind="message")  # no fallback when the retry worked


def test_a_429_is_retried_after_retry_after(running_bot):
    bot = running_bot
    bot.fake.fail("response_url", status=429, retry_after=1, times=1)
    ask(bot, "limited")
    bot.fake.wait_for_messages(1, kind="response_url", timeout=15)
    first, second = attempts(bot, "limited")
    assert first.injected == "http 429" and second.time - first.time >= 1.0
    settle(bot)
    assert len(replies(bot, "limited")) == 1


def test_a_dropped_connection_is_retried_like_a_5xx(running_bot):
    bot = running_bot
    bot.fake.fail("response_url", disconnect=True, times=1)
    ask(bot, "dropped")
    bot.fake.wait_for_messages(1, kind="response_url", timeout=15)
    settle(bot)
    assert len(attempts(bot, "dropped")) == 2 and len(replies(bot, "dropped")) == 1


def test_a_response_url_that_never_works_falls_back_to_a_private_message_once(running_bot):
    bot = running_bot
    bot.fake.fail("response_url", status=500, times=100)
    ask(bot, "down")
    [fallback] = bot.fake.wait_for_messages(1, kind="ephemeral", timeout=30)
    settle(bot)
    assert len(attempts(bot, "down")) == 4 and replies(bot, "down") == []
    # the same answer, still only for the asker: ephemeral in the channel they asked in
    assert (fallback.channel, fallback.user) == ("C1", "UANN")
    assert "Pipeline" in (fallback.text or "") + str(fallback.blocks)
    assert len(bot.fake.messages(kind="ephemeral")) == 1 and not bot.fake.messages(kind="message")
