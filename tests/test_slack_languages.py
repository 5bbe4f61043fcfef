"""The bot speaks each person's language through the real bot and the fake Slack: their `/sales settings language`
choice, else their Slack locale (users.info with include_locale), else DEFAULT_LOCALE; money, dates and the
sentences follow it (every subcommand in each language: tests/test_slack_every_language.py)."""

from __future__ import annotations

import json

import pytest

from config import ConfigError, load_settings
from tests.slackbot import USERS
from tests.test_slack_bot import ask, check_limits, fields

NB = "\u00a0"


def all_text(message) -> str:
    """The fallback text and the blocks, non-ASCII kept as it is (Indonesian and Italian)."""
    return "\n".join([message.text or "", *(json.dumps(b, ensure_ascii=False) for b in message.blocks or [])])


def speaks(bot, user: str, locale: str) -> None:
    """Give a workspace member a Slack locale (served by users.info only with include_locale, as Slack does)."""
    email, name, tz = USERS[user]
    bot.fake.add_user(user, email, name, tz=tz, locale=locale)


def test_the_slack_locale_chooses_the_language_and_the_number_format(running_bot):
    """Ann's pipeline (3,000 open, 2,100 weighted: worked out in test_slack_bot) in Italian, org currency USD:
    CLDR it writes '0K ¤' with a no-break space and the ISO code for a foreign currency."""
    speaks(running_bot, "UANN", "it-IT")
    msg = ask(running_bot, "UANN", "pipeline")
    shown = fields(msg)
    assert f"3K{NB}USD" in shown.values() and f"2,1K{NB}USD" in shown.values()
    assert "Condividi nel canale" in all_text(msg)
    check_limits(msg)


def test_settings_language_beats_the_slack_locale_and_auto_returns_to_it(running_bot):
    speaks(running_bot, "UANN", "it-IT")
    chosen = ask(running_bot, "UANN", "settings language id", name="set")
    assert "Mulai sekarang saya akan berbicara dalam Bahasa Indonesia dengan Anda." in all_text(chosen)
    assert "Pengaturan Anda" in all_text(chosen)
    running_bot.fake.reset()
    helped = ask(running_bot, "UANN", "help", name="help")
    assert "Yang bisa saya jawab" in all_text(helped)
    running_bot.fake.reset()
    back = ask(running_bot, "UANN", "settings language auto", name="auto")
    assert "D'ora in poi ti parlerò in Italiano." in all_text(back)


def test_a_wrong_language_gets_a_sentence_in_the_current_language(running_bot):
    msg = ask(running_bot, "UBOB", "settings language klingon")
    assert "Say `/sales settings language en`, `id` or `it`" in all_text(msg)


def test_without_a_setting_or_a_known_slack_locale_english_is_the_default(running_bot):
    speaks(running_bot, "UBOB", "fr-FR")  # a language the bot does not speak
    msg = ask(running_bot, "UBOB", "help")
    assert "What I can answer" in all_text(msg)


def test_default_locale_is_read_and_checked():
    assert load_settings({"DEFAULT_LOCALE": "it-IT"}).default_locale == "it"
    assert load_settings({}).default_locale == "en"
    with pytest.raises(ConfigError, match="DEFAULT_LOCALE"):
        load_settings({"DEFAULT_LOCALE": "fr"})
