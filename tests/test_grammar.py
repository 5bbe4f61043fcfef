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


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("pipeline between oct 1 and dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline from oct 1 to dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline oct 1 to dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline oct 1 - dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline oct 1..dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between 10/1 and 12/31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between 2026-10-01 and 2026-12-31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between oct and dec", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between nov 1 and today", date(2026, 11, 1), TODAY),
        ("pipeline between nov and feb", date(2026, 11, 1), date(2027, 2, 28)),
        ("pipeline dec 31 - jan 15", date(2026, 12, 31), date(2027, 1, 15)),
        ("deals between 50k and 100k closing between oct 1 and dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline until dec 31", TODAY, date(2026, 12, 31)),
        ("pipeline through 12/31", TODAY, date(2026, 12, 31)),
        ("pipeline till december", TODAY, date(2026, 12, 31)),
        ("deals closing by dec 31", TODAY, date(2026, 12, 31)),
        ("deals closing before dec 31", TODAY, date(2026, 12, 30)),
    ],
)
def test_a_range_of_days_is_read_whole(text, start, end):
    """Both ends of "between X and Y" / "X to Y" count; "until X" runs from today (as "by the end of the month")."""
    req = parse_request(text, TODAY)
    assert (req.period.start, req.period.end) == (start, end), req.period
    assert not req.unknown and not req.names and req.problem is None, (req.unknown, req.names, req.problem)


def test_amount_ranges_are_no_period():
    req = parse_request("deals between 50k and 100k", TODAY)
    assert req.period is None and (req.filters["amount_min"], req.filters["amount_max"]) == (50000, 100000)


@pytest.mark.parametrize(("text", "words"), [("pipeline between dec 31 and oct 1", "dec 31"),
                                            ("pipeline between oct 1 and feb 30", "feb 30"),
                                            ("pipeline until oct 1", "Oct 1, 2026")])
def test_a_backward_range_or_a_past_until_is_said(text, words):
    req = parse_request(text, TODAY)
    assert req.problem is not None and words in req.problem and req.period is None, req.problem


@pytest.mark.parametrize("text", ["pipeline by may", "pipeline by jan"])
def test_by_a_bare_short_month_name_is_no_deadline(text):
    """"by jan" may be a rep called Jan: no period is read from a bare short month name after "by"."""
    assert parse_request(text, TODAY).period is None
