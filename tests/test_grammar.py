from datetime import date

import pytest

from assistant.grammar import parse_request

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "intent", "scope", "period"),
    [
        ("/sales pipeline", "pipeline", "", None),
        ("/sales pipline q3", "pipeline", "", "Q3 FY2026"),
        ("q3 pipeline", "pipeline", "", "Q3 FY2026"),
        ("how am I tracking to quota?", "quota", "me", None),
        ("west team pipeline next quarter", "pipeline", "west team", "next quarter (Q1 FY2027)"),
        ("which of Dana's deals are stuck?", "stalled", "Dana", None),
        ("/sales quota team", "quota", "team", None),
        ("/sales leaderboard org last quarter", "leaderboard", "org", "last quarter (Q3 FY2026)"),
        ("/sales winrate dana@example.com", "winrate", "dana@example.com", None),
        ("/sales stalled <@U123ABC>", "stalled", "<@U123ABC>", None),
        ("<@UBOT> what's my win rate this year?", "winrate", "me", None),
        ("/sales", "help", "", None),
        ("/sales forcast", "forecast", "", None),
        ("/sales my team's quota", "quota", "team", None),
    ],
)
def test_parse(text, intent, scope, period):
    req = parse_request(text, TODAY)
    assert req.intent == intent
    assert req.scope_text == scope
    if period:
        assert req.period is not None and req.period.label == period


def test_typos_are_stated_back():
    req = parse_request("/sales pipline", TODAY)
    assert req.intent == "pipeline" and req.guessed and "pipline" in req.notes[0]
    assert not parse_request("/sales pipeline", TODAY).guessed


def test_options_and_breakdowns():
    req = parse_request("/sales pipeline by stage chart explain", TODAY)
    assert req.by == ("stage",) and req.options == {"chart", "explain"}
    assert parse_request("/sales winrate by ownr", TODAY).by == ("owner",)


def test_deal_keeps_its_name():
    req = parse_request("/sales deal Acme Corp - Upsell", TODAY)
    assert req.intent == "deal" and req.args == "Acme Corp - Upsell"


def test_nonsense_gets_help():
    assert parse_request("hello there", TODAY).intent == "help"
