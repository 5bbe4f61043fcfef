"""Every subcommand, asked in the asker's own words (English, Indonesian, Italian), answered through the real bot
and the fake Slack for a rep, a manager and an exec: read as that subcommand, answered in that language (never an
error id, never "I can't answer that yet"), inside Block Kit's limits. One bot serves every question; the default
run asks each subcommand once per language with the roles taking turns, the `slow` one every role in every language."""

from __future__ import annotations

import time
from datetime import date

import pytest

from assistant.grammar import parse_request
from i18n import _, use_locale
from tests.fakeslack import post_slash_command
from tests.slackbot import SECRET
from tests.test_slack_bot import check_limits
from tests.test_slack_languages import all_text, speaks

LOCALES = {"en": "en-US", "id": "id-ID", "it": "it-IT"}
ASKERS = {"rep": "UANN", "manager": "UMAX", "exec": "UERIN"}
# subcommand → the words a person asks it with, per language (mixed with English as people type).
QUESTIONS: dict[str, dict[str, str]] = {
    "help": {"en": "help", "id": "bantuan", "it": "aiuto"},
    "pipeline": {"en": "pipeline this quarter", "id": "pipeline kuartal ini", "it": "pipeline questo trimestre"},
    "quota": {"en": "how am I tracking to quota?", "id": "kuota tim saya bulan ini",
              "it": "come sto andando rispetto alla quota?"},
    "forecast": {"en": "forecast next quarter", "id": "prakiraan kuartal depan", "it": "previsione trimestre prossimo"},
    "deals": {"en": "deals closing this month", "id": "deal saya yang closing bulan ini",
              "it": "le mie trattative del mese prossimo"},
    "deal": {"en": "deal Acme platform", "id": "deal Acme platform", "it": "trattativa Acme platform"},
    "stalled": {"en": "which deals are stuck?", "id": "deal macet", "it": "trattative bloccate"},
    "winrate": {"en": "win rate this year", "id": "tingkat kemenangan tahun ini", "it": "tasso di vittoria quest'anno"},
    "cycle": {"en": "sales cycle this year", "id": "siklus penjualan tahun lalu", "it": "ciclo di vendita quest'anno"},
    "funnel": {"en": "funnel this year", "id": "konversi tahun ini", "it": "conversione quest'anno"},
    "leaderboard": {"en": "leaderboard", "id": "peringkat kuartal ini", "it": "classifica del trimestre"},
    "changes": {"en": "what changed since monday", "id": "perubahan sejak Senin", "it": "cosa è cambiato da lunedì"},
    "integrity": {"en": "integrity", "id": "kualitas data", "it": "qualità dei dati"},
    "call": {"en": "call", "id": "call", "it": "call"},
    "calls": {"en": "calls", "id": "calls tim", "it": "calls squadra"},
    "digest": {"en": "digest", "id": "digest", "it": "digest"},
    "settings": {"en": "settings", "id": "pengaturan", "it": "impostazioni"},
    "commission": {"en": "commission", "id": "komisi saya", "it": "provvigione"},
    "scorecard": {"en": "scorecard", "id": "scorecard tim saya", "it": "scorecard della squadra"},
    "status": {"en": "status", "id": "status sinkronisasi", "it": "stato della sincronizzazione"},
    "waterfall": {"en": "waterfall this quarter", "id": "waterfall pipeline kuartal ini",
                  "it": "waterfall della pipeline questo trimestre"},
    "trend": {"en": "trend pipeline", "id": "trend pipeline saya", "it": "trend della mia pipeline"},
    "accuracy": {"en": "forecast accuracy", "id": "accuracy forecast saya", "it": "accuracy del forecast"},
}
ERROR_ID = ("error id", "id kesalahan", "id errore")


def test_every_subcommand_has_its_words_in_each_language():
    from assistant.vocabulary import SUBCOMMANDS

    assert set(QUESTIONS) == set(SUBCOMMANDS)
    for intent, asked in QUESTIONS.items():
        for lang, text in asked.items():
            with use_locale(lang):
                request = parse_request(f"/sales {text}", date(2026, 12, 1))
            assert request.intent == intent and not request.unknown, (lang, text, request)


def _answer(bot, user: str, text: str, name: str) -> dict | None:
    """The reply to `/sales TEXT`: the response_url message, or None when the command opened a modal instead."""
    modals = len(bot.fake.calls("views.open"))
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=bot.fake.response_url(name))
    assert status == 200
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # this command's own answer (a chart sent privately adds a short note on the same URL after it)
        if replies := [m for m in bot.fake.messages(kind="response_url") if m.url_name == name and m.blocks]:
            return replies[0]
        if len(bot.fake.calls("views.open")) > modals:
            return None
        time.sleep(0.02)
    raise AssertionError(f"no answer to {text!r}")


def test_every_subcommand_is_answered_in_each_language_by_each_role_in_turn(running_bot):
    """The default run: every subcommand in every language, each asked by the rep, the manager or the exec in turn
    (so each role asks each subcommand in one of the three languages)."""
    roles = list(ASKERS)
    for k, lang in enumerate(sorted(LOCALES)):
        _ask_all(running_bot, lang, {intent: roles[(i + k) % 3] for i, intent in enumerate(QUESTIONS)})


@pytest.mark.slow
@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_every_subcommand_is_answered_in_each_language_by_every_role(running_bot, lang):
    for role in ASKERS:
        _ask_all(running_bot, lang, dict.fromkeys(QUESTIONS, role))


def _ask_all(bot, lang: str, who: dict[str, str]) -> None:
    """Each subcommand asked in `lang`'s words by the role `who` names for it: answered, in `lang`, within limits."""
    for role, user in ASKERS.items():  # the setting, not the Slack locale: the bot caches what users.info said
        speaks(bot, user, LOCALES[lang])
        assert _answer(bot, user, f"settings language {lang}", f"{lang}-{role}-language") is not None
    with use_locale(lang):
        cannot, shared = _("I can't answer that yet"), _("Share in channel")
    for intent, role in who.items():
        user, asked = ASKERS[role], QUESTIONS[intent]
        msg = _answer(bot, user, asked[lang], f"{lang}-{role}-{intent}")
        if msg is None:
            assert intent == "call"  # the forecast-call modal, for someone with a quota
            continue
        assert msg.blocks, (lang, role, intent, msg)
        check_limits(msg)
        text = all_text(msg)
        assert not any(marker in text.lower() for marker in ERROR_ID), (lang, role, intent, text)
        assert cannot not in text, (lang, role, intent, text)
        if lang != "en":
            assert "Share in channel" not in text, (lang, role, intent, text)
        if intent == "pipeline":
            assert shared in text, (lang, role, text)

