"""Subcommands and scopes asked in Indonesian and Italian, mixed with English, read by the same grammar `bot.py
parse` uses (periods are still read in English words only)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.grammar import parse_request

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "intent", "scope", "name"),
    [
        ("/sales kuota", "quota", None, None),
        ("/sales kuota tim saya", "quota", "team", None),
        ("berapa pipeline saya?", "pipeline", "me", None),
        ("/sales prakiraan q3", "forecast", None, None),
        ("/sales macet Dana", "stalled", None, "Dana"),
        ("/sales peringkat tim", "leaderboard", "team", None),
        ("/sales siklus ytd", "cycle", None, None),
        ("/sales perubahan", "changes", None, None),
        ("/sales pengaturan", "settings", None, None),
        ("/sales bantuan", "help", None, None),
        ("/sales komisi", "commission", None, None),
        ("/sales previsione", "forecast", None, None),
        ("come sto andando rispetto alla quota?", "quota", None, None),
        ("/sales trattative bloccate di Marco", "stalled", None, "Marco"),
        ("mostrami le trattative bloccate", "stalled", None, None),
        ("/sales classifica team", "leaderboard", "team", None),
        ("/sales ciclo ytd", "cycle", None, None),
        ("/sales modifiche since last week", "changes", None, None),
        ("/sales impostazioni", "settings", None, None),
        ("/sales aiuto", "help", None, None),
        ("/sales provvigione", "commission", None, None),
        ("/sales trattativa Acme renewal", "deal", "default", None),
    ],
)
def test_indonesian_and_italian_subcommands_and_scopes(text, intent, scope, name):
    request = parse_request(text, TODAY)
    assert request.intent == intent
    assert request.scope_word == scope
    assert [n for n, _ in request.names] == ([name] if name else [])
    assert request.problem is None
